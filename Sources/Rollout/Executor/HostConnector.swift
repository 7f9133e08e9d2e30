import Inventory

/// Hands out start times for new connections, `spacing` apart, across every service of a run.
actor ConnectionThrottle {
    private let spacing: Duration
    private var nextStart = ContinuousClock.now

    init(spacing: Duration) { self.spacing = spacing }

    /// Reserves the next free start time; the caller sleeps until it.
    func reserve() -> ContinuousClock.Instant {
        let now = ContinuousClock.now
        let start = max(now, nextStart)
        nextStart = start.advanced(by: spacing)
        return start
    }
}

/// Opens one connection per host, at a bounded rate, retrying a start that sshd dropped.
struct HostConnector {
    let factory: any TransportFactory
    let throttle: ConnectionThrottle
    let options: ExecutorOptions

    /// Connects to every host. Either all connections are returned, or none (the ones made are closed)
    /// and the first failure in host-name order is thrown.
    func connectAll(_ hosts: [ServiceHost]) async throws -> [String: any Transport] {
        var connected: [String: any Transport] = [:]
        var failures: [String: Error] = [:]
        await withTaskGroup(of: (String, Result<any Transport, Error>).self) { group in
            var next = 0
            func addNext() {
                guard next < hosts.count else { return }
                let host = hosts[next]
                next += 1
                group.addTask {
                    do { return (host.name, .success(try await connect(host.endpoint))) } catch { return (host.name, .failure(error)) }
                }
            }
            for _ in 0..<max(1, options.maxConcurrentConnects) { addNext() }
            while let (name, result) = await group.next() {
                switch result {
                case .success(let transport): connected[name] = transport
                case .failure(let error): failures[name] = error
                }
                addNext()
            }
        }
        if let first = hosts.first(where: { failures[$0.name] != nil }), let error = failures[first.name] {
            for transport in connected.values { await transport.close() }
            throw error
        }
        return connected
    }

    func connect(_ host: Endpoint) async throws -> any Transport {
        var attempt = 1
        while true {
            try await ContinuousClock().sleep(until: await throttle.reserve())
            do {
                return try await factory.connect(to: host)
            } catch let error as TransportError {
                // A dropped start (sshd's MaxStartups, a reset) is worth another try; a refused key,
                // a failed login or an unknown host key is not.
                guard case .lost = error, attempt < options.connectAttempts else { throw error }
                attempt += 1
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }
}
