import Commands
import Foundation
import Inventory
import Plan
import Engine
import SSH

/// Opens `SSHTransport`s from inventory settings: key file or ssh-agent, known_hosts, timeouts.
public struct SSHTransportFactory: TransportFactory {
    /// Under `--accept-new-host-keys` an unknown host key is added to known_hosts; a changed one never is.
    public let acceptNewHostKeys: Bool
    /// Source of `OPENCLAW_SSH_PASSPHRASE` and `SSH_AUTH_SOCK`.
    public let environment: [String: String]

    public init(acceptNewHostKeys: Bool = false, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.acceptNewHostKeys = acceptNewHostKeys
        self.environment = environment
    }

    public func connect(to endpoint: Endpoint) async throws -> any Transport {
        try await open(endpoint)
    }

    /// A connection to `endpoint` (a service's host or the gateway). Throws `TransportError.connectFailed`
    /// when the host cannot be reached, verified or logged in to.
    public func open(_ endpoint: Endpoint) async throws -> SSHTransport {
        let configuration = configuration(address: endpoint.address, ssh: endpoint.ssh)
        let transport = SSHTransport(name: endpoint.name, configuration: configuration)
        try await transport.open()
        // Trust on first use is said out loud, key and fingerprint, so the operator can compare it with the host's.
        if let key = await transport.hostKey, key.added {
            LineOutput.standardError.write(VisibleText.escaped(
                "\(endpoint.name): added its host key to \(configuration.knownHostsPath) (--accept-new-host-keys): "
                    + "\(configuration.knownHostsName) \(key.type) \(key.fingerprint)") + "\n")
        }
        return transport
    }

    func configuration(address: String, ssh: SSHSettings) -> SSHConfiguration {
        SSHConfiguration(host: address, port: ssh.port, user: ssh.user,
                         authentication: ssh.identity.map { .privateKey(path: $0) } ?? .agent,
                         knownHostsPath: ssh.knownHosts, hostKeyPolicy: acceptNewHostKeys ? .acceptNew : .strict,
                         connectTimeout: ssh.connectTimeout, environment: environment)
    }
}

/// One host's SSH connection as the rollout sees it: its commands, streams and requests run at once on channels of
/// the one connection. A command that runs past its deadline, or whose task is cancelled, is stopped on the host
/// and its channel closed; a connection that broke is replaced on the next call, so a host can still be put back.
public actor SSHTransport: Transport {
    public nonisolated let name: String
    private let configuration: SSHConfiguration
    private var link = SharedConnection<SSHConnection>()
    private var closed = false

    init(name: String, configuration: SSHConfiguration) {
        self.name = name
        self.configuration = configuration
    }

    /// The host key the server proved, once connected.
    public var hostKey: SSHHostKey? {
        get async { try? await link.existing?.value.hostKey }
    }

    func open() async throws {
        _ = try await usableConnection()
    }

    public func run(_ command: String, input: String?, timeout: Duration) async throws -> CommandResult {
        let connection = try await usableConnection()
        do {
            let result = try await connection.run(command, input: Array((input ?? "").utf8), timeout: timeout)
            return CommandResult(exitStatus: result.exitStatus, signal: result.signal, stdout: result.stdout, stderr: result.stderr)
        } catch let error as SSHError {
            throw translate(error, operation: command, timeout: timeout)
        }
    }

    public func stream(_ command: String, timeout: Duration, untilStopped: Bool,
                       output: @escaping @Sendable (OutputChunk) -> Void) async throws -> CommandResult {
        let connection = try await usableConnection()
        do {
            let result = try await connection.stream(command, timeout: timeout, untilStopped: untilStopped) { isStderr, bytes in
                output(OutputChunk(isStderr: isStderr, bytes: bytes))
            }
            return CommandResult(exitStatus: result.exitStatus, signal: result.signal)
        } catch let error as SSHError {
            throw translate(error, operation: command, timeout: timeout)
        }
    }

    /// The one place a health URL is split into what the SSH layer asks for.
    public func httpGet(_ url: HealthURL, timeout: Duration) async throws -> HTTPResponse {
        let connection = try await usableConnection()
        do {
            let response = try await connection.httpGet(host: url.host, port: url.port, path: url.path, timeout: timeout)
            return HTTPResponse(status: response.status, headers: response.headers.map { ($0.name, $0.value) }, body: response.body)
        } catch let error as SSHError {
            throw translate(error, operation: "GET \(url)", timeout: timeout)
        }
    }

    /// The read script and the health request at once, on two channels of the one connection.
    public func runReads(_ script: ReadScript, timeout: Duration, alongside url: HealthURL, httpTimeout: Duration)
        async throws -> (reads: [String: CommandResult], response: Result<HTTPResponse, any Error>) {
        let connection = try await usableConnection()
        let command = script.command.rendered
        let request = SSHHTTPRequest(host: url.host, port: url.port, path: url.path, timeout: httpTimeout)
        do {
            let (result, response) = try await connection.run(command, timeout: timeout, alongside: request)
            let reads = script.parse(result.stdout)
            switch response {
            case .success(let answer):
                return (reads, .success(HTTPResponse(status: answer.status, headers: answer.headers.map { ($0.name, $0.value) }, body: answer.body)))
            case .failure(let error):
                return (reads, .failure(translate(error, operation: "GET \(url)", timeout: httpTimeout)))
            }
        } catch let error as SSHError {
            throw translate(error, operation: command, timeout: timeout)
        }
    }

    public func close() async {
        closed = true
        await (try? await link.take()?.value)?.close()
    }

    /// The connection, made once for concurrent callers; one that broke (or can open no more channels) is replaced.
    private func usableConnection() async throws -> SSHConnection {
        guard !closed else { throw TransportError.lost(host: name, reason: "the connection was closed") }
        let configuration = configuration
        var (task, made) = link.claim { try await SSHConnection.connect(configuration) }
        if let connection = try? await task.value, !connection.isUsable {
            _ = link.forget(made)
            (task, made) = link.claim { try await SSHConnection.connect(configuration) }
        }
        do {
            return try await task.value
        } catch let error as SSHError {
            _ = link.forget(made)
            throw error.isConnectFailure ? TransportError.connectFailed(host: name, reason: error.description)
                : TransportError.lost(host: name, reason: error.description)
        } catch {
            _ = link.forget(made)
            throw error
        }
    }

    private func translate(_ error: SSHError, operation: String, timeout: Duration) -> TransportError {
        switch error {
        case .commandTimedOut, .httpTimedOut: return .timedOut(host: name, command: operation, after: timeout)
        case .targetRefused(_, let target): return .connectionRefused(host: name, target: target)
        default:
            return error.isConnectFailure ? .connectFailed(host: name, reason: error.description)
                : .lost(host: name, reason: error.description)
        }
    }
}
