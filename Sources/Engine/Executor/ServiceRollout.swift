import Commands
import Foundation
import Inventory
import Plan

/// Everything the services of one run share.
struct RunContext: Sendable {
    let factory: any TransportFactory
    let sink: any RolloutEventSink
    let stop: StopSignal
    let monitor: RolloutMonitor
    let options: ExecutorOptions
    let gateway: (any GatewayHook)?
    let secrets: Secrets
    let hookDirectory: String?
    /// Every secret value, for text cut short before it leaves (a health body, a history reason): redacted
    /// before the cut, so no part of a value is left at it.
    var redactor: Redactor { secrets.redactor }

    /// The context of one service: its own stop signal, which an operator's stop reaches and which the
    /// loss of that service's lease trips without stopping the others.
    func forService() -> RunContext {
        RunContext(factory: factory, sink: sink, stop: StopSignal(parent: stop), monitor: monitor, options: options, gateway: gateway,
                   secrets: secrets, hookDirectory: hookDirectory)
    }
}

/// One service's rollout from connecting to releasing its locks: the SPEC's "One host's rollout",
/// over all targeted hosts of the service, batch by batch.
struct ServiceRollout {
    let plan: ServicePlan
    let context: RunContext

    var service: String { plan.service.name }
    var action: RolloutAction { plan.action }
    /// Targeted hosts in host-name order: the lock order.
    var hosts: [ServiceHost] { plan.hosts.map(\.host) }

    func run() async -> ServiceOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        let deployID = Self.newID()
        var run = RunState()
        run.ref = plan.target.ref?.value
        let tracks = Dictionary(uniqueKeysWithValues: context.monitor.register(service: service, hosts: hosts.map(\.name), sink: context.sink)
            .map { ($0.host, $0) })
        emit(.deployStarted(DeployStarted(
            action: action, deployID: deployID, ref: run.ref, tier: plan.service.tier,
            batches: plan.batches.map { $0.map(\.name) }, canary: plan.policy.canary,
            bakeSeconds: plan.policy.bake.wholeSeconds, healthyAfter: plan.healthyAfter)))

        do {
            let connector = HostConnector(factory: context.factory, options: context.options)
            let transports = try await connector.connectAll(hosts)
            let sessions = plan.hosts.map { hostPlan in
                HostSession(service: service, plan: hostPlan, sink: context.sink, redactor: context.redactor,
                            transport: HostLink(host: hostPlan.host, connector: connector, connection: transports[hostPlan.host.name]!))
            }
            await runConnected(sessions, tracks: tracks, deployID: deployID, state: &run)
            for session in sessions { await session.transport.close() }
        } catch let unreachable as UnreachableHosts {
            // Every host that could not be reached is named on its own row, with its reason.
            for (host, error) in unreachable.failures {
                tracks[host]?.fail(StepName(.connect), String(describing: error).droppingHostPrefix(host))
            }
            run.error = .unreachable(service: service, reason: unreachable.description,
                                     hint: unreachable.allConnectFailures ? rollbackHint(without: unreachable.hosts) : nil)
        } catch is CancellationError {
            run.aborted = true
        } catch {
            run.error = .unreachable(service: service, reason: String(describing: error))
        }
        return await finish(&run, tracks: hosts.compactMap { tracks[$0.name] }, deployID: deployID, elapsed: start.duration(to: clock.now))
    }

    /// Locks, does the work (writing history ahead of each change), unlocks.
    private func runConnected(_ sessions: [HostSession], tracks: [String: HostTrack], deployID: String,
                              state run: inout RunState) async {
        let owner = LockSet.owner(options: context.options, target: "\(action.rawValue) \(run.ref ?? "previous revision")", token: deployID)
        let locks = LockSet(sessions: sessions, owner: owner, options: context.options)
        let lease = Lease(stop: context.stop)
        let history = HistoryBook(deployID: deployID, service: service, action: action, options: context.options, lease: lease,
                                  redactor: context.redactor)
        history.ref = run.ref
        let taken: [HostSession]
        do {
            taken = try await locks.acquire(stop: context.stop)
        } catch let error as RolloutError {
            run.error = error
            // A lock that could not be taken (not one held by another rollout) is that host's failure, on its row.
            if case .stepFailed(_, let failures) = error {
                for failure in failures { tracks[failure.host]?.fail(failure.step, failure.reason) }
            }
            return
        } catch {
            run.aborted = true
            return
        }
        // Refreshes share each host's one connection: its channels run at once, so a refresh never waits behind a
        // compose build that outlasts the lock's lifetime.
        let refresher = locks.startRefreshing(taken, lease: lease)
        do {
            // Stopped at once, the refresher starts no new refresh either (it is a task of its own).
            try await withTaskCancellationHandler {
                try await BatchRunner(plan: plan, context: context, sessions: sessions, tracks: tracks, history: history).run(state: &run)
            } onCancel: {
                refresher.cancel()
            }
        } catch {
            run.aborted = true
        }
        refresher.cancel()
        await refresher.value
        if !run.aborted {
            await finishHistory(sessions, tracks, history, state: run)
        }
        // A lock taken over is someone else's now; one that only could not be refreshed is still ours and is
        // released like the others (unlock acts only while our token holds it).
        run.locksLeft = await locks.release(taken.filter { !lease.isTakenOver($0.host.name) })
    }

    /// Final records of the hosts whose part ended without one (a failed preflight, a stop before they
    /// started); hosts that never started and hosts left changed after the lease was lost get none.
    private func finishHistory(_ sessions: [HostSession], _ tracks: [String: HostTrack], _ history: HistoryBook, state run: RunState) async {
        await withTaskGroup(of: Void.self) { group in
            for session in sessions where !history.hasFinished(session.host.name) {
                guard let outcome = tracks[session.host.name]?.outcome, outcome.result != .notStarted, outcome.result != .interrupted else { continue }
                group.addTask { await history.finished(session, outcome, target: run.sha?.value ?? run.ref) }
            }
        }
    }

    private func finish(_ run: inout RunState, tracks: [HostTrack], deployID: String, elapsed: Duration) async -> ServiceOutcome {
        // Stopped at once, a host caught changing or being put back is interrupted, as its track last saw it.
        let outcomes = tracks.map { run.aborted ? $0.outcomeAfterAbort : $0.outcome }
        // Stopped at once, a host left on the new revision was not put back either: the service is half on it.
        let attention = outcomes.filter { $0.result == .rollbackFailed || (run.aborted && $0.result == .succeeded) }.map(\.host)
            + (run.aborted ? tracks.filter { $0.state.needsAttention }.map(\.host) : [])
        let result: DeployResult
        var error = run.error
        if let lost = context.stop.leaseLost {
            // Stopped at once, nothing put back: hosts that changed are not known to be where they were.
            let changed = outcomes.filter { [.succeeded, .interrupted, .rollbackFailed].contains($0.result) }.map(\.host)
            result = changed.isEmpty ? .stopped : .rollbackFailed
            error = .leaseLost(service: service, reason: lost, changed: changed)
        } else if !attention.isEmpty {
            result = .rollbackFailed
            error = .rollbackIncomplete(service: service, hosts: Array(Set(attention)).sorted(),
                                        cause: run.error?.whatFailed ?? (run.aborted ? "stopped at once by a second Ctrl-C" : "a host failed"))
        } else if run.error != nil || run.aborted || run.stopped {
            // `rolled_back` only when some host changed and was put back; otherwise the rollout stopped before.
            result = outcomes.contains { $0.result == .rolledBack } ? .rolledBack : .stopped
            if error == nil { error = .stoppedByOperator(service: service) }
        } else if outcomes.allSatisfy({ $0.result == .noChange }) {
            result = .noChange
        } else {
            result = .succeeded
        }
        // The `after` hook sees the result; its own failure is reported as its step and changes nothing. A second
        // Ctrl-C wants out at once, so it is skipped then.
        if !run.aborted {
            _ = await LocalHooks(plan: plan, context: context, deployID: deployID).run(.after, ref: run.ref, sha: run.sha, result: result)
        }
        let outcome = ServiceOutcome(service: service, action: action, deployID: deployID, ref: run.ref, sha: run.sha,
                                     result: result, error: error, hosts: outcomes, elapsed: elapsed,
                                     locksLeft: run.locksLeft, aborted: run.aborted, watchCutShort: run.watchCutShort)
        emit(.deployFinished(outcome))
        return outcome
    }

    /// A rollback waits for no one: say how to roll back the hosts that can be reached.
    private func rollbackHint(without down: [String]) -> String? {
        guard action == .rollback else { return nil }
        let others = hosts.map(\.name).filter { !down.contains($0) }
        guard !others.isEmpty else { return nil }
        return "To roll back the other hosts now: `openclaw-deploy rollback \(service) "
            + others.map { "--host \($0)" }.joined(separator: " ") + "`."
    }

    private func emit(_ payload: RolloutEvent.Payload) {
        context.sink.emit(RolloutEvent(service: service, payload: payload))
    }

    /// A random id naming this rollout in locks and history.
    static func newID() -> String {
        randomHex(bytes: 6)
    }
}

/// What a service's rollout has found out so far.
struct RunState {
    var ref: String?
    var sha: CommitID?
    var error: RolloutError?
    /// The first Ctrl-C stopped the rollout (hosts were put back).
    var stopped = false
    /// A second Ctrl-C cancelled it at once.
    var aborted = false
    /// A Ctrl-C ended the watch after the last batch: the new revision stays.
    var watchCutShort = false
    var locksLeft: [String] = []
}

extension String {
    /// A reason that starts with its host's name (`cs-1: could not connect: …`), where the host is named already
    /// (its own row, its own prefix): `could not connect: …`.
    public func droppingHostPrefix(_ host: String) -> String {
        hasPrefix(host + ": ") ? String(dropFirst(host.count + 2)) : self
    }
}
