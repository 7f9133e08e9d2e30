import ArgumentParser
import Commands
import ExitCategories
import Foundation
import Inventory
import Plan
import Engine
import Fleet
import Synchronization

/// `logs SERVICE [--host NAME]... [--tail N] [--since DURATION] [--follow]`: each host's compose logs, every
/// line prefixed with its host.
public struct LogsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Each host's compose logs, every line prefixed with its host. Changes nothing.",
        usage: "openclaw-deploy logs <service> [--host <name>]... [--tail <n>] [--follow]",
        discussion: "With --follow, streams until Ctrl-C (each host's follower is stopped on the host). A host that "
            + "cannot be reached is reported at once and the others are still shown; the exit is then 4. The exit is 1 "
            + "when a host's compose logs command failed. --format json prints one JSON object per line: {\"host\",\"line\"}."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var hostKeys: HostKeyOptions

    @OptionGroup var selection: OneServiceOptions

    @Option(help: "Lines of each container to show from the end of its log.")
    var tail = 100

    @Option(help: ArgumentHelp("Only lines of the last DURATION (30s, 10m, 2h).", valueName: "duration"))
    var since: String?

    @Flag(name: [.customShort("f"), .long], help: "Keep streaming new lines until Ctrl-C.")
    var follow = false

    public init() {}

    public func validate() throws {
        if tail < 0 { throw ValidationError("--tail must be 0 or more") }
        if let since, parseDuration(since) == nil {
            throw ValidationError("--since \(QuotedText.quoted(since)) is not a duration; write it like 30s, 10m or 2h")
        }
    }

    public func run() async throws {
        let inventory = try global.loadInventory()
        let chosen = try selection.select(from: inventory)
        let request = LogsRequest(tail: tail, since: since.flatMap(parseDuration), follow: follow)
        // What a host's compose cannot do is refused before any host is contacted, naming the runtime.
        if request.since != nil, let lacking = chosen.hosts.first(where: { !$0.compose.frontEnd.logsSince }) {
            throw RuntimeLacks(feature: "logs --since", runtime: lacking.compose.frontEnd.spokenName, host: lacking.name,
                               instead: "use --tail N, or compose.command `docker compose` (Compose v2) on the host")
        }
        let inspector = FleetInspector(factory: hostKeys.factory)
        let stopping = StopBox()
        let printer = HostLinePrinter(hosts: chosen.hosts.map(\.name), format: global.format) {
            // Nobody reads the output any more (`logs --follow | head`): stop as Ctrl-C does.
            stopping.stop()
        }
        let task = Task {
            await inspector.logs(of: chosen.service, hosts: chosen.hosts, request, output: { host, chunk in
                printer.take(host, chunk)
            }, unreachable: { host, reason in
                LineOutput.standardError.write(VisibleText.escaped("\(host): unreachable: \(reason.droppingHostPrefix(host))") + "\n")
            })
        }
        stopping.set { task.cancel() }
        let interrupts = StopOnSignal { stopping.stop() }
        let outcomes = await task.value
        let stopped = stopping.stopped
        interrupts.uninstall()
        for outcome in outcomes { printer.flush(outcome.host) }
        try Self.conclude(outcomes, service: chosen.service.name, stoppedByOperator: stopped)
    }

    /// The exit: 4 when a host was unreachable, 1 when a host's logs command failed, else 0. After a stop
    /// (Ctrl-C, or the reader gone) a follower that ended because of it is not a failure: its script ends with
    /// 143 when its group was stopped, or it did not end within the grace and timed out.
    static func conclude(_ outcomes: [HostCommandOutcome], service: String, stoppedByOperator: Bool) throws {
        let unreachable = outcomes.filter { !$0.reachable }
        if !unreachable.isEmpty {
            throw HostsUnreachable(service: service, hosts: unreachable.map(\.host))
        }
        let failed = outcomes.filter { outcome in
            if outcome.succeeded { return false }
            let endedByStop = outcome.exitStatus == 143 || outcome.timedOut
            return !(stoppedByOperator && endedByStop)
        }
        if !failed.isEmpty {
            throw CommandFailedOnHosts(what: "compose logs", problems: failed.map(Self.problem))
        }
    }

    static func problem(_ outcome: HostCommandOutcome) -> String {
        if let error = outcome.error { return error }
        if let signal = outcome.signal { return "\(outcome.host): killed by SIG\(signal)" }
        return "\(outcome.host): exit status \(outcome.exitStatus ?? -1)"
    }
}

/// Some hosts could not be reached; the others' output was shown.
struct HostsUnreachable: CategorizedError {
    var service: String
    var hosts: [String]
    var category: ExitCategory { .unreachable }
    var description: String {
        "\(service): \(hosts.joined(separator: ", ")) could not be reached (see above); the other hosts' output is shown"
    }
}

/// The command ended badly on some hosts (each named, with its status).
struct CommandFailedOnHosts: CategorizedError {
    var what: String
    var problems: [String]
    var category: ExitCategory { .failed }
    var description: String { "\(what) failed on \(problems.count == 1 ? "a host" : "\(problems.count) hosts"): " + problems.joined(separator: "; ") }
}

/// Ctrl-C, SIGTERM or SIGHUP while a read-only command streams: the first one stops it cleanly (`onStop`), a
/// second one ends the process at once.
final class StopOnSignal: Sendable {
    private struct State {
        var count = 0
        var route: Int?
    }
    private let state = Mutex(State())

    init(onStop: @escaping @Sendable () -> Void) {
        let id = SignalRouter.shared.push { [weak self] in
            guard let self else { return }
            let seen = state.withLock { state -> Int in
                state.count += 1
                return state.count
            }
            if seen == 1 { onStop() } else { exit(130) }
        }
        state.withLock { $0.route = id }
    }

    var received: Bool { state.withLock { $0.count > 0 } }

    func uninstall() {
        if let id = state.withLock({ $0.route }) { SignalRouter.shared.remove(id) }
    }
}

/// The one way `logs` stops: set once, from a signal handler or the output's reader going away.
final class StopBox: Sendable {
    private struct State {
        var action: (@Sendable () -> Void)?
        var requested = false
    }
    private let state = Mutex(State())

    /// What stopping does; if a stop came before, it runs at once.
    func set(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            state.action = action
            return state.requested
        }
        if now { action() }
    }

    func stop() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            state.requested = true
            return state.action
        }
        action?()
    }

    var stopped: Bool { state.withLock { $0.requested } }
}

/// A command the runtime of a host cannot carry out: refused before any host is contacted (SPEC "Runtimes").
struct RuntimeLacks: CategorizedError {
    var feature: String
    var runtime: String
    var host: String
    var instead: String
    var category: ExitCategory { .usage }
    var description: String { "\(feature) is not available with \(runtime) (the compose command of \(host)); \(instead). No host was contacted." }
}
