import Inventory

/// A host's one connection for the whole rollout, re-opened only if it breaks: a transport drops its
/// connection when a command outlives its deadline or the link fails, and the host must still be put
/// back and unlocked afterwards.
actor HostLink: Transport {
    private let host: ServiceHost
    private let connector: HostConnector
    private var current: (any Transport)?
    /// Counts connections made, so a failure drops only the connection it happened on.
    private var generation = 0

    /// `connection` nil: the first call connects.
    init(host: ServiceHost, connector: HostConnector, connection: (any Transport)? = nil) {
        self.host = host
        self.connector = connector
        self.current = connection
    }

    func run(_ command: String, input: String?, timeout: Duration) async throws -> CommandResult {
        try await onConnection { try await $0.run(command, input: input, timeout: timeout) }
    }

    func runReads(_ script: ReadScript, timeout: Duration) async throws -> [String: CommandResult] {
        try await onConnection { try await $0.runReads(script, timeout: timeout) }
    }

    /// Runs `body` on the connection; one that timed out or broke is dropped, so the next call reconnects.
    private func onConnection<T: Sendable>(_ body: (any Transport) async throws -> T) async throws -> T {
        let (connection, made) = try await usable()
        do {
            return try await body(connection)
        } catch let error as TransportError {
            switch error {
            case .timedOut, .lost: await drop(made)
            case .connectFailed, .connectionRefused: break
            }
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
        if let current { await current.close() }
        current = nil
    }

    private func usable() async throws -> (any Transport, Int) {
        if let current { return (current, generation) }
        let fresh = try await connector.connect(host.endpoint)
        current = fresh
        generation += 1
        return (fresh, generation)
    }

    private func drop(_ made: Int) async {
        guard made == generation, let connection = current else { return }
        current = nil
        await connection.close()
    }
}
