import Inventory

/// Opens one connection per host, a bounded number at once. How fast starts go and how a start that
/// sshd dropped is retried is the transport's one policy (the SSH layer's `ConnectionStartLimiter` and
/// `SSHConnection.connect`), not decided again here.
struct HostConnector {
    let factory: any TransportFactory
    let options: ExecutorOptions

    /// Connects to every host, a bounded number at once and started in host order, handing each host's connection
    /// (or why there is none) to `arrivals` as soon as it is made.
    func connectEach(_ hosts: [ServiceHost], into arrivals: ConnectionArrivals) async {
        await withTaskGroup(of: (String, Result<any Transport, any Error>).self) { group in
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
                await arrivals.arrived(name, result)
                addNext()
            }
        }
        await arrivals.finished()
    }

    func connect(_ host: Endpoint) async throws -> any Transport {
        try await factory.connect(to: host)
    }
}

/// Hosts of a service that could not be connected to, each with its reason.
struct UnreachableHosts: Error, CustomStringConvertible {
    var failures: [(host: String, error: Error)]

    var hosts: [String] { failures.map(\.host) }

    /// Whether every failure is a failed connection (exit 4), rather than something else going wrong.
    var allConnectFailures: Bool {
        failures.allSatisfy { if case .connectFailed? = $0.error as? TransportError { return true } else { return false } }
    }

    var description: String { failures.map { String(describing: $0.error) }.joined(separator: "; ") }
}

/// The connections of a rollout's hosts as they are made: a host's first step waits for its own connection only,
/// so the locks, taken one host after another, start while later hosts are still connecting.
actor ConnectionArrivals {
    private var results: [String: Result<any Transport, any Error>] = [:]
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var claimed: Set<String> = []
    private var done = false
    private var whenDone: [CheckedContinuation<Void, Never>] = []

    func arrived(_ host: String, _ result: Result<any Transport, any Error>) {
        results[host] = result
        for waiter in waiting.removeValue(forKey: host) ?? [] { waiter.resume() }
    }

    func finished() {
        done = true
        for waiter in whenDone { waiter.resume() }
        whenDone = []
    }

    /// How connecting to `host` ended, once it has.
    func outcome(_ host: String) async -> Result<any Transport, any Error> {
        if results[host] == nil { await withCheckedContinuation { waiting[host, default: []].append($0) } }
        return results[host]!
    }

    /// `host`'s connection, once made; the caller owns it from then on (closes it).
    func claim(_ host: String) async -> Result<any Transport, any Error> {
        let result = await outcome(host)
        claimed.insert(host)
        return result
    }

    /// Every host that could not be connected to, in the order of `hosts`, once every attempt has ended.
    func unreachable(in hosts: [String]) async -> UnreachableHosts? {
        await allDone()
        let failed = hosts.compactMap { host -> (host: String, error: any Error)? in
            if case .failure(let error)? = results[host] { return (host, error) }
            return nil
        }
        return failed.isEmpty ? nil : UnreachableHosts(failures: failed)
    }

    /// Closes the connections no one claimed, once every attempt has ended.
    func closeUnclaimed() async {
        await allDone()
        for (host, result) in results where !claimed.contains(host) {
            claimed.insert(host)
            if case .success(let transport) = result { await transport.close() }
        }
    }

    private func allDone() async {
        if !done { await withCheckedContinuation { whenDone.append($0) } }
    }
}
