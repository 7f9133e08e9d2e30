import Commands
import Inventory
import Plan
import Engine

/// Drains hosts from the gateway during a rollout by rendering the config with them marked `down` and putting it
/// in force the safe way (upload, swap, `nginx -t`, reload), with the commands of the plan's `GatewayPlan` and no
/// others.
///
/// The drained set lives on the gateway host (`GatewayCommands.drainedPath`), shared by every rollout through
/// it: each change takes the gateway's drain lock, reads the set, changes only its own host, renders from the
/// whole set and installs, so a rollout of one service never puts another rollout's drained host back. One actor
/// per run serializes the changes of services rolled out in parallel by this process.
///
/// A host is drained only when another host of its service stays in rotation: draining the last one would turn
/// a short restart into an outage, so a service rolled out all at once (or on a single host) is not drained.
public actor GatewayDrainer: GatewayHook {
    let inventory: Inventory
    let plan: GatewayPlan
    let factory: any TransportFactory
    /// How long to wait for another rollout's change to the gateway (it holds the lock for seconds).
    let lockWait: Duration
    /// The hosts this run drained (what `finish` puts back).
    private var drained: [String: Set<String>] = [:]
    /// The gateway host's connection, made once for every service of the run (two services draining at once wait
    /// for the same connect).
    private var connection = SharedConnection<GatewayDeployer>()
    private let token = randomHex(bytes: 8)
    /// By service, the upstream addresses the gateway host resolved its hosts' names to (`10.0.0.5:8080` → host).
    private var resolvedUpstreams: [String: [String: String]] = [:]

    /// Fails at once (before any host changes) when the inventory has no gateway or its template does not render.
    public init(inventory: Inventory, plan: GatewayPlan, factory: any TransportFactory, lockWait: Duration = .seconds(60)) throws {
        guard inventory.gateway != nil else { throw GatewayError.noGatewaySection(inventory: inventory.sourcePath) }
        _ = try GatewayRenderer.render(inventory: inventory)
        self.inventory = inventory
        self.plan = plan
        self.factory = factory
        self.lockWait = lockWait
    }

    /// A drainer for every service of the inventory the gateway drains (what a plan of them all would hold).
    public init(inventory: Inventory, factory: any TransportFactory, settleSeconds: Int = GatewayCommands.settleSeconds,
                lockWait: Duration = .seconds(60)) throws {
        guard let gateway = inventory.gateway else { throw GatewayError.noGatewaySection(inventory: inventory.sourcePath) }
        let plan = Planner.gatewayPlan(gateway: gateway, services: Planner.drainedServices(inventory.services),
                                       settleSeconds: settleSeconds)
        try self.init(inventory: inventory, plan: plan, factory: factory, lockWait: lockWait)
    }

    /// Hosts this run has out of rotation, by service.
    public var drainedHosts: [String: Set<String>] { drained }

    public func drain(service: String, host: String) async throws -> String {
        guard let upstream = routedService(service) else { return "not behind the gateway" }
        enum Decision: Sendable { case alreadyOut, keptIn, markedDown }
        let hosts = upstream.hosts
        let (decision, note) = try await editor().change { shared -> Decision in
            let down = shared.drained[service, default: []]
            if down.contains(host) { return .alreadyOut }
            guard hosts.contains(where: { $0 != host && !down.contains($0) }) else { return .keptIn }
            shared.drained[service, default: []].insert(host)
            return .markedDown
        }
        switch decision {
        case .alreadyOut:
            drained[service, default: []].insert(host)
            return "already out of \(upstream.name)"
        case .keptIn:
            return "kept in \(upstream.name): no other host of \(service) is in rotation"
        case .markedDown:
            drained[service, default: []].insert(host)
            return Self.joined("marked down in \(upstream.name)", note)
        }
    }

    public func restore(service: String, host: String) async throws -> String {
        guard let upstream = routedService(service) else { return "not behind the gateway" }
        guard drained[service, default: []].contains(host) else { return "in \(upstream.name)" }
        let (_, note) = try await editor().change { shared in Self.remove(host, of: service, from: &shared.drained) }
        Self.remove(host, of: service, from: &drained)
        return Self.joined("back in \(upstream.name)", note)
    }

    public func finish() async -> [String] {
        var problems: [String] = []
        if drained.values.contains(where: { !$0.isEmpty }) {
            let mine = drained
            let names = mine.sorted { $0.key < $1.key }.flatMap { service, hosts in hosts.sorted().map { "\(service)/\($0)" } }
            do {
                _ = try await editor().change { shared in
                    for (service, hosts) in mine { for host in hosts { Self.remove(host, of: service, from: &shared.drained) } }
                }
                drained = [:]
            } catch {
                problems.append("gateway: could not put \(names.joined(separator: ", ")) back in rotation: \(error)")
            }
        }
        if let deployer = try? await connection.take()?.value { await deployer.close() }
        return problems
    }

    public func readTraffic(service: String, from offset: Int64) async throws -> TrafficReading? {
        guard let step = plan.readTraffic[service], let routed = inventory.service(named: service), let route = routed.route else { return nil }
        // Hosts given by address are known as nginx logs them; hosts given by name, by what the gateway host resolved
        // them to on the first read.
        let literal = Dictionary(routed.hosts.filter { GatewayPlan.isAddressLiteral($0.address) }.compactMap { host in
            (try? GatewayLayout.nginxAddress(host.address, service: service)).map { ("\($0):\(route.port)", host.name) }
        }, uniquingKeysWith: { first, _ in first })
        let command = try step.command.filled([.logOffset: String(offset)]).rendered
        // A read is one short round trip; one that hangs must not hold the bake or the watch for a command timeout.
        let result = try await connected().transport.run(command, timeout: min(plan.host.ssh.commandTimeout, .seconds(30)))
        guard result.succeeded, let (reading, resolved) = TrafficReading.parse(
            result.stdout, hosts: routed.hosts.map { ($0.name, $0.address) }, port: route.port,
            known: literal.merging(resolvedUpstreams[service] ?? [:]) { first, _ in first }) else {
            throw GatewayError.remoteStepFailed(host: plan.host.name, step: "reading \(inventory.gateway?.accessLogPath ?? "the access log")",
                                                detail: result.succeeded ? "it printed no `<size> <end>` line" : GatewayDeployer.lastLine(result))
        }
        if !resolved.isEmpty { resolvedUpstreams[service, default: [:]].merge(resolved) { $1 } }
        return reading
    }

    private static func joined(_ what: String, _ note: String?) -> String {
        [what, note].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "; ")
    }

    private static func remove(_ host: String, of service: String, from set: inout [String: Set<String>]) {
        set[service]?.remove(host)
        if set[service]?.isEmpty == true { set[service] = nil }
    }

    private struct RoutedService {
        var name: String
        var hosts: [String]
    }

    /// The upstream of a service the plan drains at the gateway, else nil.
    private func routedService(_ name: String) -> RoutedService? {
        guard plan.services.contains(name), let service = inventory.service(named: name) else { return nil }
        return RoutedService(name: GatewayLayout.upstreamName(name), hosts: service.hosts.map(\.name))
    }

    /// The editor of the gateway's shared state, over this run's one connection and with this run's token.
    private func editor() async throws -> GatewayStateEditor {
        GatewayStateEditor(inventory: inventory, plan: plan, deployer: try await connected(), token: token, lockWait: lockWait)
    }

    private func connected() async throws -> GatewayDeployer {
        guard let gateway = inventory.gateway else { throw GatewayError.noGatewaySection(inventory: inventory.sourcePath) }
        let factory = factory
        let (task, made) = connection.claim { GatewayDeployer(gateway: gateway, transport: try await factory.connect(to: gateway.host)) }
        do {
            return try await task.value
        } catch {
            _ = connection.forget(made)
            throw error
        }
    }

}

extension GatewayDeployer {
    func close() async { await transport.close() }
}
