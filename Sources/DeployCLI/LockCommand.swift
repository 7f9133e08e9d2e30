import ArgumentParser
import Commands
import Inventory
import Plan
import Engine
import Fleet

/// `lock status|release SERVICE [--force]`.
public struct LockCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "See or remove a service's rollout lock.",
        subcommands: [LockStatusCommand.self, LockReleaseCommand.self]
    )

    public init() {}
}

struct LockStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Who holds the service's lock on each host, since when, for what, and whether it is stale.",
        usage: "openclaw-deploy lock status <service> [--host <name>]... [opts]"
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var selection: OneServiceOptions

    func run() async throws {
        let inventory = try global.loadInventory()
        let chosen = try selection.select(from: inventory)
        let service = chosen.service
        let rows = await FleetInspector(factory: SSHTransportFactory(acceptNewHostKeys: false))
            .status(of: chosen.hosts.map { (service: service, host: $0) })
        switch global.format {
        case .json:
            LineOutput.standardOutput.write(JSONValue.object([
                ("version", .int(1)), ("service", .string(service.name)),
                ("hosts", .array(rows.map { row in
                    .object([("host", .string(row.host)), ("reachable", .bool(row.reachable)), ("error", .optional(row.error)),
                             ("lock", row.lock.map { LockJSON.owner($0, stale: row.lockStale) } ?? .null)])
                })),
            ]).pretty)
        case .text:
            var lines = [["HOST", "LOCK"]]
            for row in rows {
                let lock = !row.reachable ? "unknown: \(row.error ?? "unreachable")"
                    : row.lock.map { "held by \($0.description)" + ($0.expires.map { ", expires \($0)" } ?? "")
                        + (row.lockStale.map { " — STALE: \($0)" } ?? "") } ?? "free"
                lines.append([row.host, lock])
            }
            LineOutput.standardOutput.write(TextTable.render(lines, palette: Palette(enabled: global.useColor), width: global.textWidth))
        }
        // Every host's row names why it could not be read: the exit code only summarises it.
        if rows.contains(where: { !$0.reachable }) { throw ReportedOutcome(category: .unreachable) }
    }
}

struct LockReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Remove the service's lock where it is stale; with --force, whoever holds it.",
        usage: "openclaw-deploy lock release <service> [--host <name>]... [--force] [opts]"
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var selection: OneServiceOptions

    @Flag(help: "Remove a lock that is not stale too (only when its rollout is surely gone).")
    var force = false

    func run() async throws {
        let inventory = try global.loadInventory()
        let chosen = try selection.select(from: inventory)
        let service = chosen.service
        let results = await FleetInspector(factory: SSHTransportFactory(acceptNewHostKeys: false))
            .releaseLocks(of: service, hosts: chosen.hosts, force: force)
        switch global.format {
        case .json:
            LineOutput.standardOutput.write(JSONValue.object([
                ("version", .int(1)), ("service", .string(service.name)),
                ("hosts", .array(results.map { r in
                    .object([("host", .string(r.host)), ("outcome", .string(r.outcome.rawValue)),
                             ("holder", r.holder.map { LockJSON.owner($0, stale: r.stale) } ?? .null), ("error", .optional(r.error))])
                })),
            ]).pretty)
        case .text:
            for r in results {
                let holder = r.holder.map { " (held by \($0.description)\(r.stale.map { "; stale: \($0)" } ?? ""))" } ?? ""
                let text: String
                switch r.outcome {
                case .released: text = "released" + holder
                case .notLocked: text = "not locked"
                case .keptLive: text = "kept" + holder + ": not stale; use --force to remove it"
                case .failed: text = "could not be read or removed: \(r.error ?? "")"
                }
                LineOutput.standardOutput.write("\(service.name) \(r.host): \(VisibleText.escaped(text))\n")
            }
        }
        // Each host's line says why it failed: the exit code only summarises it.
        if results.contains(where: { $0.outcome == .failed }) { throw ReportedOutcome(category: .unreachable) }
        if let kept = results.first(where: { $0.outcome == .keptLive }) {
            throw RolloutError.lockLive(service: service.name, host: kept.host, holder: kept.holder)
        }
    }
}
