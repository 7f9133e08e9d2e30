import Commands
import Inventory
import Plan
import Engine

/// Changes the gateway's shared state (`GatewayState`: hosts out of rotation, services in maintenance) the one safe
/// way, with the commands of a `GatewayPlan` and no others: take the drain lock (waiting, bounded, while another
/// change holds it), read the state, apply the change, write back the file it altered, render the config from the
/// whole state and put it in force, release the lock. When the config cannot be put in force, the file goes back to
/// what was read, so the state on the host always describes the config in force.
///
/// Used by the rollout's `GatewayDrainer`, by `maintenance on|off` and by `gateway deploy` (which renders from the
/// state too, so it never puts a drained host back or ends a maintenance).
public struct GatewayStateEditor: Sendable {
    let inventory: Inventory
    let plan: GatewayPlan
    let deployer: GatewayDeployer
    /// This editor's token on the drain lock.
    let token: String
    /// How long to wait while another change holds the lock (changes hold it for seconds).
    let lockWait: Duration

    public init(inventory: Inventory, plan: GatewayPlan, deployer: GatewayDeployer, token: String = randomHex(bytes: 8),
                lockWait: Duration = .seconds(60)) {
        self.inventory = inventory
        self.plan = plan
        self.deployer = deployer
        self.token = token
        self.lockWait = lockWait
    }

    /// Runs `body` with the state as read under the drain lock; the lock is released however `body` ends.
    public func locked<Result: Sendable>(_ body: @Sendable (GatewayState) async throws -> Result) async throws -> Result {
        try await takeLock()
        do {
            let result = try await body(try readState())
            await releaseLock()
            return result
        } catch {
            await releaseLock()
            throw error
        }
    }

    /// Applies `edit` to the state under the lock. When the state changed, writes the altered file(s) and puts the
    /// config rendered from the new state in force; returns what `edit` returned and the install's note.
    public func change<Result: Sendable>(
        _ edit: @Sendable @escaping (inout GatewayState) -> Result
    ) async throws -> (result: Result, note: String?) {
        try await locked { before in
            var state = before
            let result = edit(&state)
            guard state != before else { return (result, nil) }
            try await write(state, over: before)
            do {
                let config = try GatewayRenderer.render(inventory: inventory, state: state)
                _ = try? await deployer.transport.run(try plan.touchDrainLock.command.filled([.drainToken: token]).rendered,
                                                      timeout: timeout)
                let uploads = try GatewayCommands.chunks(of: config).enumerated().map { index, chunk in
                    try (index == 0 ? plan.uploadConfig : plan.appendConfig).command.filled([.configChunk: chunk])
                }
                let install = try plan.installConfig.command.filled([.configBytes: String(config.utf8.count)])
                return (result, try await deployer.install(uploads: uploads, then: install))
            } catch {
                try? await write(before, over: state)
                throw error
            }
        }
    }

    /// Writes the parts of `state` that differ from `old`.
    private func write(_ state: GatewayState, over old: GatewayState) async throws {
        if state.drained != old.drained {
            try await run(plan.writeDrained, [.drainedSet: GatewayState.drainedText(state.drained)],
                          step: "writing \(deployer.commands.drainedPath)")
        }
        if state.maintenance != old.maintenance {
            try await run(plan.writeMaintenance, [.maintenanceSet: GatewayState.maintenanceText(state.maintenance)],
                          step: "writing \(deployer.commands.maintenancePath)")
        }
    }

    private var timeout: Duration { plan.host.ssh.commandTimeout }

    /// Waits (bounded) while another change holds the lock.
    private func takeLock() async throws {
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
                                                    detail: "another change held it for \(formatDuration(lockWait))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    private func releaseLock() async {
        guard let release = try? plan.drainUnlock.command.filled([.drainToken: token]).rendered else { return }
        _ = try? await deployer.transport.run(release, timeout: timeout)
    }

    private func readState() async throws -> GatewayState {
        let result = try await run(plan.readDrained, [:], step: "reading the gateway's state beside \(plan.configPath)")
        return GatewayState.parse(result.stdout)
    }

    /// Runs the plan's `step` with `values` filled in; a failure names `what` it was doing.
    @discardableResult
    private func run(_ step: GatewayStep, _ values: [LateValue: String], step what: String) async throws -> CommandResult {
        let result = try await deployer.transport.run(try step.command.filled(values).rendered, timeout: timeout)
        guard result.succeeded else {
            throw GatewayError.remoteStepFailed(host: plan.host.name, step: what, detail: GatewayDeployer.lastLine(result))
        }
        return result
    }
}
