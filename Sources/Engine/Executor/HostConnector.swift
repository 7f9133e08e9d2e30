import Inventory
import Plan

/// Opens one connection per host, a bounded number at once. How fast starts go and how a start that
/// sshd dropped is retried is the transport's one policy (the SSH layer's `ConnectionStartLimiter` and
/// `SSHConnection.connect`), not decided again here.
package struct HostConnector {
    let factory: any TransportFactory
    package let options: ExecutorOptions

    package init(factory: any TransportFactory, options: ExecutorOptions) {
        self.factory = factory
        self.options = options
    }

    /// Connects to every host. Either all connections are returned, or none (the ones made are closed) and
    /// `UnreachableHosts` names every host that failed, in host-name order.
    func connectAll(_ hosts: [ServiceHost]) async throws -> [String: any Transport] {
        let results = await BoundedConcurrency.map(hosts, limit: options.maxConcurrentConnects) { host -> Result<any Transport, Error> in
            do { return .success(try await connect(host.endpoint)) } catch { return .failure(error) }
        }
        var connected: [String: any Transport] = [:]
        var failures: [String: Error] = [:]
        for (host, result) in zip(hosts, results) {
            switch result {
            case .success(let transport)?: connected[host.name] = transport
            case .failure(let error)?: failures[host.name] = error
            case nil: break
            }
        }
        let failed = hosts.compactMap { host in failures[host.name].map { (host: host.name, error: $0) } }
        if !failed.isEmpty {
            for transport in connected.values { await transport.close() }
            throw UnreachableHosts(failures: failed)
        }
        return connected
    }

    package func connect(_ host: Endpoint) async throws -> any Transport {
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
