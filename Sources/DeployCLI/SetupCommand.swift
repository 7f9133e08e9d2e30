import ArgumentParser
import Commands
import ExitCategories
import Inventory
import Plan
import Engine
import Fleet

/// `setup SERVICE [--host NAME]... [--dry-run]`: hosts made ready for their first deploy (SPEC "Preparing a host").
public struct SetupCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Make hosts ready for their first deploy: check SSH, git, compose and the engine; clone repo.url; create the state directory.",
        usage: "openclaw-deploy setup <service> [--host <name>]... [--dry-run] [opts]",
        discussion: "Idempotent: a host that is ready is left as it is. Each check is a line saying what is there, or "
            + "what is missing and how to fix it. Exits 0 when every host is ready, 1 when one is not, 4 when one "
            + "cannot be reached. --dry-run changes nothing and says what it would do."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var hostKeys: HostKeyOptions

    @OptionGroup var selection: OneServiceOptions

    @Flag(help: "Check only: clone nothing, create nothing.")
    var dryRun = false

    public init() {}

    public func run() async throws {
        let inventory = try global.loadInventory()
        let chosen = try selection.select(from: inventory)
        let reports = await FleetInspector(factory: hostKeys.factory).setup(chosen.service, hosts: chosen.hosts, dryRun: dryRun)
        switch global.format {
        case .json:
            LineOutput.standardOutput.write(JSONValue.object([("version", .int(1)), ("service", .string(chosen.service.name)),
                ("hosts", .array(reports.map { report in
                    .object([("host", .string(report.host)), ("reachable", .bool(report.reachable)), ("ready", .bool(report.ready)),
                             ("checks", .array(report.checks.map { check in
                                 .object([("check", .string(check.check)), ("ok", .bool(check.ok)), ("changed", .bool(check.changed)),
                                          ("detail", .string(check.detail))])
                             }))])
                }))]).pretty)
        case .text:
            let palette = Palette(enabled: global.useColor)
            let hostWidth = reports.map(\.host.count).max() ?? 0
            var lines: [String] = []
            for report in reports {
                for check in report.checks {
                    let status = check.ok ? palette.green("ok     ") : palette.red(report.reachable ? "MISSING" : "FAILED ")
                    lines += TextFit.wrapped(report.host.padding(toLength: hostWidth, withPad: " ", startingAt: 0) + "  "
                        + check.check.padding(toLength: 8, withPad: " ", startingAt: 0) + "  " + status + "  "
                        + VisibleText.escaped(check.detail), width: global.textWidth, indent: String(repeating: " ", count: hostWidth + 21))
                }
            }
            let ready = reports.filter(\.ready).count
            lines.append("\n\(ready) of \(reports.count) host\(reports.count == 1 ? "" : "s") ready"
                + (dryRun ? " (dry run: nothing was changed)" : ""))
            LineOutput.standardOutput.write(lines.joined(separator: "\n") + "\n")
        }
        let unreachable = reports.filter { !$0.reachable }
        if !unreachable.isEmpty { throw HostsNotReady(service: chosen.service.name, reports: unreachable, category: .unreachable) }
        let notReady = reports.filter { !$0.ready }
        if !notReady.isEmpty { throw HostsNotReady(service: chosen.service.name, reports: notReady, category: .failed) }
    }
}

/// Hosts that `setup` could not make ready, each with the checks that did not pass.
struct HostsNotReady: CategorizedError {
    var service: String
    var reports: [HostSetupReport]
    var category: ExitCategory
    var description: String {
        "\(service): " + reports.map { report in
            "\(report.host) is not ready (\(report.checks.filter { !$0.ok }.map(\.check).joined(separator: ", ")))"
        }.joined(separator: "; ")
    }
}
