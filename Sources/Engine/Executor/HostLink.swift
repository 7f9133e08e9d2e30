import Commands
import Inventory
import Plan

/// A host's one connection for the whole rollout, shared by its steps, its health probes and its lock refreshes
/// (their channels run at once), and re-opened only if it breaks: the host must still be put back and unlocked
/// afterwards.
actor HostLink: Transport {
    private let host: ServiceHost
    private let connector: HostConnector
    private var link: SharedConnection<any Transport>

    /// `connection` nil: the first call connects.
    init(host: ServiceHost, connector: HostConnector, connection: (any Transport)? = nil) {
        self.host = host
        self.connector = connector
        self.link = connection.map { SharedConnection($0) } ?? SharedConnection()
    }

    func run(_ command: String, input: String?, timeout: Duration) async throws -> CommandResult {
        try await onConnection { try await $0.run(command, input: input, timeout: timeout) }
    }

    func runReads(_ script: ReadScript, timeout: Duration) async throws -> [String: CommandResult] {
        try await onConnection { try await $0.runReads(script, timeout: timeout) }
    }

    /// Runs `body` on the connection; one that broke is dropped, so the next call reconnects. (A command past its
    /// deadline was stopped on the host and its channel closed: the connection goes on.)
    private func onConnection<T: Sendable>(_ body: (any Transport) async throws -> T) async throws -> T {
        let (connection, made) = try await usable()
        do {
            return try await body(connection)
        } catch let error as TransportError {
            if case .lost = error { await drop(made) }
            throw error
        }
    }

    func httpGet(_ url: HealthURL, timeout: Duration) async throws -> HTTPResponse {
        let (connection, made) = try await usable()
        do {
            return try await connection.httpGet(url, timeout: timeout)
        } catch let error as TransportError {
            if case .lost = error { await drop(made) }
            throw error
        }
    }

    func close() async {
        if let connection = try? await link.take()?.value { await connection.close() }
    }

    private func usable() async throws -> (any Transport, Int) {
        let connector = connector, endpoint = host.endpoint
        let (task, made) = link.claim { try await connector.connect(endpoint) }
        do {
            return (try await task.value, made)
        } catch {
            _ = link.forget(made)
            throw error
        }
    }

    private func drop(_ made: Int) async {
        if let connection = try? await link.forget(made)?.value { await connection.close() }
    }
}
