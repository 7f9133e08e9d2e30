import Inventory
import Rollout

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
        return try await changingSharedSet { shared in
            if shared[service, default: []].contains(host) {
                drained[service, default: []].insert(host)
                return (nil, "already out of \(upstream.name)")
            }
            let inRotation = upstream.hosts.filter { !shared[service, default: []].contains($0) }
            guard inRotation.contains(where: { $0 != host }) else {
                return (nil, "kept in \(upstream.name): no other host of \(service) is in rotation")
            }
            shared[service, default: []].insert(host)
            return ({ self.drained[service, default: []].insert(host) }, "marked down in \(upstream.name)")
        }
    }

    public func restore(service: String, host: String) async throws -> String {
        guard let upstream = routedService(service) else { return "not behind the gateway" }
        guard drained[service, default: []].contains(host) else { return "in \(upstream.name)" }
        return try await changingSharedSet { shared in
            Self.remove(host, of: service, from: &shared)
            return ({ Self.remove(host, of: service, from: &self.drained) }, "back in \(upstream.name)")
        }
    }

    public func finish() async -> [String] {
        var problems: [String] = []
        if drained.values.contains(where: { !$0.isEmpty }) {
            let mine = drained
            let names = mine.sorted { $0.key < $1.key }.flatMap { service, hosts in hosts.sorted().map { "\(service)/\($0)" } }
            do {
                _ = try await changingSharedSet { shared in
                    for (service, hosts) in mine { for host in hosts { Self.remove(host, of: service, from: &shared) } }
                    return ({ self.drained = [:] }, "")
                }
            } catch {
                problems.append("gateway: could not put \(names.joined(separator: ", ")) back in rotation: \(error)")
            }
        }
        if let deployer = try? await connection.take()?.value { await deployer.close() }
        return problems
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

    /// Under the gateway's drain lock: reads the shared drained set, lets `change` edit it, and when the set
    /// changed, writes it and puts the config rendered from it in force (the file goes back if that fails).
    /// `change` returns what to do to this run's own record once the gateway has the change, and the step's
    /// note. Nothing is changed when `change` returns no commit action.
    private func changingSharedSet(
        _ change: (inout [String: Set<String>]) -> (commit: (() -> Void)?, note: String)
    ) async throws -> String {
        let deployer = try await connected()
        try await takeLock(deployer)
        do {
            let before = try await readShared(deployer)
            var shared = before
            let (commit, note) = change(&shared)
            var notes = [note]
            if let commit, shared != before {
                try await run(deployer, plan.writeDrained, [.drainedSet: GatewayCommands.drainedText(shared)],
                              step: "writing \(deployer.commands.drainedPath)")
                do {
                    let config = try GatewayRenderer.render(inventory: inventory, drained: shared)
                    _ = try? await deployer.transport.run(try plan.touchDrainLock.command.filled([.drainToken: token]).rendered,
                                                          timeout: timeout)
                    let uploads = try GatewayCommands.chunks(of: config).enumerated().map { index, chunk in
                        try (index == 0 ? plan.uploadConfig : plan.appendConfig).command.filled([.configChunk: chunk])
                    }
                    let install = try plan.installConfig.command.filled([.configBytes: String(config.utf8.count)])
                    if let installed = try await deployer.install(uploads: uploads, then: install) {
                        notes.append(installed)
                    }
                } catch {
                    _ = try? await run(deployer, plan.writeDrained, [.drainedSet: GatewayCommands.drainedText(before)],
                                       step: "restoring the drained set")
                    throw error
                }
                commit()
            } else {
                commit?()
            }
            await releaseLock(deployer)
            return notes.filter { !$0.isEmpty }.joined(separator: "; ")
        } catch {
            await releaseLock(deployer)
            throw error
        }
    }

    private var timeout: Duration { plan.host.ssh.commandTimeout }

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

    /// Waits (bounded) while another rollout changes the gateway.
    private func takeLock(_ deployer: GatewayDeployer) async throws {
        let deadline = ContinuousClock.now + lockWait
        let take = try plan.drainLock.command.filled([.drainToken: token]).rendered
        while true {
            let result = try await deployer.transport.run(take, timeout: timeout)
            if result.succeeded { return }
            guard result.exitStatus == GatewayCommands.drainLockHeld, result.signal == nil else {
                throw GatewayError.remoteStepFailed(host: plan.host.name, step: "taking \(deployer.commands.drainLockPath)",
                                                    detail: GatewayDeployer.lastLine(result))
            }
            guard ContinuousClock.now < deadline else {
                throw GatewayError.remoteStepFailed(host: plan.host.name, step: "taking \(deployer.commands.drainLockPath)",
                                                    detail: "another rollout held it for \(formatDuration(lockWait))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    private func releaseLock(_ deployer: GatewayDeployer) async {
        guard let release = try? plan.drainUnlock.command.filled([.drainToken: token]).rendered else { return }
        _ = try? await deployer.transport.run(release, timeout: timeout)
    }

    private func readShared(_ deployer: GatewayDeployer) async throws -> [String: Set<String>] {
        let result = try await run(deployer, plan.readDrained, [:], step: "reading \(deployer.commands.drainedPath)")
        return GatewayCommands.parseDrained(result.stdout)
    }

    /// Runs the plan's `step` with `values` filled in; a failure names `what` it was doing.
    @discardableResult
    private func run(_ deployer: GatewayDeployer, _ step: GatewayStep, _ values: [LateValue: String], step what: String) async throws -> CommandResult {
        let result = try await deployer.transport.run(try step.command.filled(values).rendered, timeout: timeout)
        guard result.succeeded else {
            throw GatewayError.remoteStepFailed(host: plan.host.name, step: what, detail: GatewayDeployer.lastLine(result))
        }
        return result
    }
}

extension GatewayDeployer {
    func close() async { await transport.close() }
}
