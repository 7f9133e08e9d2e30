import Commands
import Engine
import Inventory
import Plan

/// How one host ended `logs` or `exec`.
public struct HostCommandOutcome: Sendable, Equatable {
    public var host: String
    /// False when no connection could be opened (`error` says why); nothing ran there.
    public var reachable: Bool
    /// The command's exit status; nil when it did not end by itself (timed out, connection lost: `error`).
    public var exitStatus: Int32?
    public var signal: String?
    /// The command's output, for `exec` (`logs` streams it instead and leaves these empty).
    public var stdout: String
    public var stderr: String
    public var error: String?
    /// The command ran past its deadline and was stopped (for a stopped `logs --follow`: it did not end in time).
    public var timedOut = false

    public init(host: String, reachable: Bool, exitStatus: Int32? = nil, signal: String? = nil, stdout: String = "",
                stderr: String = "", error: String? = nil) {
        self.host = host
        self.reachable = reachable
        self.exitStatus = exitStatus
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.error = error
    }

    /// Reached, and the command exited 0.
    public var succeeded: Bool { reachable && exitStatus == 0 && signal == nil && error == nil }
}

/// What `logs` asks of each host.
public struct LogsRequest: Sendable, Equatable {
    public var tail: Int
    public var since: Duration?
    public var follow: Bool

    public init(tail: Int, since: Duration?, follow: Bool) {
        self.tail = tail
        self.since = since
        self.follow = follow
    }

    /// How long `--follow` may stream before the host stops it (the command has a deadline like every other).
    public static let followLimit: Duration = .seconds(12 * 3600)
}

extension FleetInspector {
    /// Each host's compose logs, handed to `output` as they arrive; a host that cannot be reached is handed to
    /// `unreachable` at once while the others go on. With `request.follow` it streams until the calling task is
    /// cancelled (each host's follower is then stopped on the host) or `LogsRequest.followLimit` passes.
    public func logs(of service: Service, hosts: [ServiceHost], _ request: LogsRequest,
                     output: @escaping @Sendable (_ host: String, OutputChunk) -> Void,
                     unreachable: @escaping @Sendable (_ host: String, _ reason: String) -> Void) async -> [HostCommandOutcome] {
        await forEach(hosts.map { (service, $0) }) { service, host, transport, connectError in
            guard let transport else {
                let reason = connectError ?? "could not connect"
                unreachable(host.name, reason)
                return HostCommandOutcome(host: host.name, reachable: false, error: reason)
            }
            let command = HostCommands(service: service.name, host: host)
                .composeLogs(tail: request.tail, since: request.since, follow: request.follow)
            let timeout = request.follow ? LogsRequest.followLimit : host.ssh.commandTimeout
            do {
                let result = try await transport.stream(command.rendered, timeout: timeout, untilStopped: request.follow) { chunk in
                    output(host.name, chunk)
                }
                return HostCommandOutcome(host: host.name, reachable: true, exitStatus: result.exitStatus, signal: result.signal)
            } catch {
                var outcome = HostCommandOutcome(host: host.name, reachable: true, error: String(describing: error))
                if case .timedOut = error as? TransportError { outcome.timedOut = true }
                return outcome
            }
        }
    }

    /// Runs `argv` in the checkout of every host, with the service's environment, at most `parallel` hosts at
    /// once, under each host's `command_timeout`; returns each host's output and exit status in the hosts' order.
    public func exec(_ argv: [String], service: Service, hosts: [ServiceHost], parallel: Int) async -> [HostCommandOutcome] {
        await forEach(hosts.map { (service, $0) }, limit: parallel) { service, host, transport, connectError in
            guard let transport else {
                return HostCommandOutcome(host: host.name, reachable: false, error: connectError ?? "could not connect")
            }
            let command = HostCommands(service: service.name, host: host).exec(argv)
            do {
                let result = try await transport.run(command.rendered, timeout: host.ssh.commandTimeout)
                return HostCommandOutcome(host: host.name, reachable: true, exitStatus: result.exitStatus, signal: result.signal,
                                          stdout: result.stdout, stderr: result.stderr)
            } catch {
                return HostCommandOutcome(host: host.name, reachable: true, error: String(describing: error))
            }
        }
    }
}
