import Inventory
import Rollout

/// Drains hosts from the gateway during a rollout by rendering the config with them marked `down` and putting it
/// in force the safe way (upload, swap, `nginx -t`, reload). One actor per run serializes the gateway changes of
/// services rolled out in parallel; the drained set is the whole truth of what the gateway should have down.
///
/// A host is drained only when another host of its service stays in rotation: draining the last one would turn
/// a short restart into an outage, so a service rolled out all at once (or on a single host) is not drained.
public actor GatewayDrainer: GatewayHook {
    let inventory: Inventory
    let gateway: GatewaySettings
    let factory: any TransportFactory
    /// Bound on waiting for old nginx workers to finish their requests after a drain.
    let settleSeconds: Int
    private var drained: [String: Set<String>] = [:]
    private var deployer: GatewayDeployer?

    /// Fails at once (before any host changes) when the inventory has no gateway or its template does not render.
    public init(inventory: Inventory, factory: any TransportFactory, settleSeconds: Int = GatewayDeployer.settleSeconds) throws {
        guard let gateway = inventory.gateway else { throw GatewayError.noGatewaySection(inventory: inventory.sourcePath) }
        _ = try GatewayRenderer.render(inventory: inventory)
        self.inventory = inventory
        self.gateway = gateway
        self.factory = factory
        self.settleSeconds = settleSeconds
    }

    /// Hosts currently out of rotation, by service.
    public var drainedHosts: [String: Set<String>] { drained }

    public func drain(service: String, host: String) async throws -> String {
        guard let upstream = routedService(service) else { return "not behind the gateway" }
        if drained[service, default: []].contains(host) { return "already out of \(upstream.name)" }
        let inRotation = upstream.hosts.filter { !drained[service, default: []].contains($0) }
        guard inRotation.contains(where: { $0 != host }) else {
            return "kept in \(upstream.name): no other host of \(service) is in rotation"
        }
        drained[service, default: []].insert(host)
        do {
            let note = try await apply(settleSeconds: settleSeconds)
            return ["marked down in \(upstream.name)", note].compactMap { $0 }.joined(separator: "; ")
        } catch {
            remove(host, of: service)
            throw error
        }
    }

    public func restore(service: String, host: String) async throws -> String {
        guard let upstream = routedService(service) else { return "not behind the gateway" }
        guard drained[service, default: []].contains(host) else { return "in \(upstream.name)" }
        remove(host, of: service)
        do {
            _ = try await apply(settleSeconds: settleSeconds)
            return "back in \(upstream.name)"
        } catch {
            drained[service, default: []].insert(host)
            throw error
        }
    }

    public func finish() async -> [String] {
        var problems: [String] = []
        if drained.values.contains(where: { !$0.isEmpty }) {
            let names = drained.sorted { $0.key < $1.key }.flatMap { service, hosts in hosts.sorted().map { "\(service)/\($0)" } }
            drained = [:]
            do {
                _ = try await apply(settleSeconds: settleSeconds)
            } catch {
                problems.append("gateway: could not put \(names.joined(separator: ", ")) back in rotation: \(error)")
            }
        }
        if let deployer {
            await deployer.close()
            self.deployer = nil
        }
        return problems
    }

    private func remove(_ host: String, of service: String) {
        drained[service]?.remove(host)
        if drained[service]?.isEmpty == true { drained[service] = nil }
    }

    private struct RoutedService {
        var name: String
        var hosts: [String]
    }

    /// The upstream of a service the gateway routes to on more than one host, else nil.
    private func routedService(_ name: String) -> RoutedService? {
        guard let service = inventory.service(named: name), service.route != nil, service.hosts.count > 1 else { return nil }
        return RoutedService(name: GatewayLayout.upstreamName(name), hosts: service.hosts.map(\.name))
    }

    private func apply(settleSeconds: Int) async throws -> String? {
        let config = try GatewayRenderer.render(inventory: inventory, drained: drained)
        if deployer == nil {
            deployer = GatewayDeployer(gateway: gateway, transport: try await factory.connect(to: gateway.host))
        }
        return try await deployer!.install(config, keepPrevious: false, settleSeconds: settleSeconds)
    }
}

extension GatewayDeployer {
    func close() async { await transport.close() }
}
