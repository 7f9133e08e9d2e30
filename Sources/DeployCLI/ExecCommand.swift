import ArgumentParser
import Commands
import Foundation
import Inventory
import Plan
import Engine
import Fleet

/// `exec SERVICE [--host NAME]... [--parallel N] -- COMMAND [ARG...]`: one argv on every targeted host.
public struct ExecCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run one command in the checkout of every host of a service, with the service's environment.",
        usage: "openclaw-deploy exec <service> [--host <name>]... -- <command> [<arg>...]",
        discussion: "The words after -- are sent quoted, each as one argument (no remote shell syntax). Each host's "
            + "output lines are prefixed with its host (stderr's on stderr), then its exit status. Exits 0 when every "
            + "host's command exited 0, 1 when one did not, 4 when a host could not be reached. --format json prints "
            + "{\"version\":1,\"hosts\":[{\"host\",\"exit_status\",\"stdout\",\"stderr\"}]}."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var hostKeys: HostKeyOptions

    @OptionGroup var selection: OneServiceOptions

    @Option(help: "Hosts the command runs on at once.")
    var parallel = 16

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    public init() {}

    public func validate() throws {
        if parallel < 1 { throw ValidationError("--parallel must be at least 1") }
        if command.isEmpty { throw ValidationError("give the command after --, e.g. `exec \(selection.service) -- git rev-parse HEAD`") }
        if command[0].isEmpty { throw ValidationError("the command after -- is empty") }
    }

    public func run() async throws {
        let inventory = try global.loadInventory()
        let chosen = try selection.select(from: inventory)
        let outcomes = await FleetInspector(factory: hostKeys.factory)
            .exec(command, service: chosen.service, hosts: chosen.hosts, parallel: parallel)
        switch global.format {
        case .json:
            LineOutput.standardOutput.write(JSONValue.object([("version", .int(1)), ("hosts", .array(outcomes.map { outcome in
                .object([("host", .string(outcome.host)), ("exit_status", outcome.exitStatus.map { .int(Int64($0)) } ?? .null),
                         ("stdout", .string(outcome.stdout)), ("stderr", .string(outcome.stderr)), ("error", .optional(outcome.error))])
            }))]).pretty)
        case .text:
            let printer = HostLinePrinter(hosts: outcomes.map(\.host), format: .text)
            for outcome in outcomes {
                let prefix = printer.prefix(outcome.host)
                LineOutput.standardOutput.write(printer.prefixedLines(outcome.host, outcome.stdout))
                LineOutput.standardError.write(printer.prefixedLines(outcome.host, outcome.stderr))
                let end: String
                if !outcome.reachable {
                    end = "unreachable: \((outcome.error ?? "").droppingHostPrefix(outcome.host))"
                } else if let error = outcome.error {
                    end = "failed: \(error)"
                } else if let signal = outcome.signal {
                    end = "killed by SIG\(signal)"
                } else {
                    end = "exit \(outcome.exitStatus ?? -1)"
                }
                LineOutput.standardOutput.write(String(prefix.dropLast(2)) + VisibleText.escaped(end) + "\n")
            }
        }
        let unreachable = outcomes.filter { !$0.reachable }
        if !unreachable.isEmpty { throw HostsUnreachable(service: chosen.service.name, hosts: unreachable.map(\.host)) }
        let failed = outcomes.filter { !$0.succeeded }
        if !failed.isEmpty { throw CommandFailedOnHosts(what: "the command", problems: failed.map(LogsCommand.problem)) }
    }
}
