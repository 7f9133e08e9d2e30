import Inventory

/// The locked part of a service's rollout: preflight on every host, one target commit, batches, and
/// putting every updated host back when one fails or the operator stops.
struct BatchRunner {
    let plan: ServicePlan
    let context: RunContext
    /// Sessions in host-name order.
    let sessions: [HostSession]
    let history: HistoryBook

    private var service: String { plan.service.name }
    /// Only a service with several hosts is drained: with one host there is nothing to send traffic to.
    private var gateway: (any GatewayHook)? { plan.service.hosts.count > 1 ? context.gateway : nil }

    func run(state run: inout RunState) async throws {
        // Nothing changes anywhere until every host has passed its preflight.
        let previous: [String: CommitID]
        do {
            previous = try await prepare()
        } catch let failure as HostStepFailure {
            run.outcomes[failure.host] = HostOutcome(host: failure.host, result: .failed, failedStep: failure.step, reason: failure.reason)
            run.error = .stepFailed(service: service, host: failure.host, step: failure.step, reason: failure.reason)
            return
        }
        for (host, revision) in previous {
            run.outcomes[host]?.from = revision.value
            run.outcomes[host]?.revision = revision.value
        }

        guard let first = plan.batches.first?.first, let firstSession = session(first.name) else { return }
        let target: CommitID
        do {
            target = try await resolveTarget(on: firstSession, state: &run)
        } catch let failure as StepFailure {
            run.outcomes[first.name]?.result = .failed
            run.outcomes[first.name]?.failedStep = failure.step
            run.outcomes[first.name]?.reason = failure.reason
            run.error = .stepFailed(service: service, host: first.name, step: failure.step, reason: failure.reason)
            return
        } catch let error as RolloutError {
            run.error = error
            return
        }
        run.sha = target.value

        if let failure = await LocalHooks(plan: plan, context: context, deployID: history.deployID).run(.before, ref: run.ref, sha: run.sha) {
            run.error = .hookFailed(service: service, hook: "before", reason: failure.reason)
            return
        }

        var updated: [String] = []
        for (index, batch) in plan.batches.enumerated() {
            if context.stop.isRequested { run.stopped = true; break }
            let results = try await runBatch(batch, index: index, target: target, previous: previous,
                                             fetched: index == 0 ? first.name : nil)
            for result in results { run.outcomes[result.host] = result }
            updated += results.filter { $0.result == .succeeded }.map(\.host)
            if let failed = results.first(where: { [HostResult.failed, .rolledBack, .rollbackFailed].contains($0.result) }) {
                run.error = .hostFailed(service: service, host: failed.host, step: failed.failedStep ?? "rollout",
                                        reason: failed.reason ?? "failed")
                break
            }
            if results.contains(where: { $0.result == .cancelled }) { run.stopped = true; break }
            if index == 0, plan.policy.canary, plan.batches.count > 1, plan.policy.bake > .zero {
                if let problem = try await bake(batch) {
                    if problem.reason == nil { run.stopped = true } else {
                        run.error = .hostFailed(service: service, host: problem.host, step: "bake", reason: problem.reason!)
                        run.outcomes[problem.host]?.failedStep = "bake"
                        run.outcomes[problem.host]?.reason = problem.reason
                    }
                    break
                }
            }
        }
        if context.stop.isRequested && run.error == nil { run.stopped = true }
        // A lost lease puts nothing back: another rollout may own the hosts now.
        if context.stop.leaseLost == nil && (run.error != nil || run.stopped) {
            for outcome in try await putBack(updated, from: target, previous: previous) {
                let failure = run.outcomes[outcome.host]
                run.outcomes[outcome.host] = outcome
                run.outcomes[outcome.host]?.failedStep = failure?.failedStep
                run.outcomes[outcome.host]?.reason = failure?.reason ?? outcome.reason
            }
        }
    }

    private func session(_ host: String) -> HostSession? { sessions.first { $0.host.name == host } }

    /// The host's final record, at once; a host left changed after the lease was lost keeps only its
    /// `started` record, which `history` shows as interrupted.
    private func finishHistory(_ session: HostSession, _ outcome: HostOutcome) async {
        guard outcome.result != .interrupted else { return }
        await history.finished(session, outcome, target: nil)
    }

    /// Preflight and current revision on every host, in parallel; the first failure in host order wins.
    private func prepare() async throws -> [String: CommitID] {
        let results = try await withThrowingTaskGroup(of: (String, Result<CommitID, StepFailure>).self) { group in
            for session in sessions {
                group.addTask {
                    do {
                        // A host below its declared size is a warning on the step line, never silent.
                        try await session.run(try session.plan.required(.preflight), okDetail: {
                            HostResources.parse($0.stdout)?.shortfall(against: plan.service.size).map { "warning: \($0)" }
                        })
                        let output = try await session.run(try session.plan.required(.currentRevision),
                                                           okDetail: { "at \($0.stdout.firstLine.shortSHA)" }).stdout.firstLine
                        guard let revision = CommitID(output) else {
                            throw StepFailure(step: "current_revision", reason: "git rev-parse HEAD printed \"\(output)\"")
                        }
                        return (session.host.name, .success(revision))
                    } catch let failure as StepFailure {
                        return (session.host.name, .failure(failure))
                    }
                }
            }
            var all: [String: Result<CommitID, StepFailure>] = [:]
            for try await (host, result) in group { all[host] = result }
            return all
        }
        var revisions: [String: CommitID] = [:]
        for session in sessions {
            switch results[session.host.name]! {
            case .success(let revision):
                revisions[session.host.name] = revision
                context.monitor.set(service: service, host: session.host.name, .untouched(revision: revision.value))
            case .failure(let failure):
                throw HostStepFailure(host: session.host.name, step: failure.step, reason: failure.reason)
            }
        }
        return revisions
    }

    /// The one commit for every host: the plan's ref resolved on the first host, or (rollback without
    /// `--to`) the revision the hosts' history names, checked on the first host.
    private func resolveTarget(on first: HostSession, state run: inout RunState) async throws -> CommitID {
        var values: [LateValue: String] = [:]
        if case .history = plan.target.source {
            let commit = try await commitFromHistory()
            run.ref = commit.value
            history.ref = commit.value
            values[.targetCommit] = commit.value
        }
        try await first.run(try first.plan.required(.fetch))
        let label = run.ref ?? "the target"
        let output = try await first.run(try first.plan.required(.resolve), values,
                                         okDetail: { "\(label) is \($0.stdout.firstLine)" }).stdout.firstLine
        guard let commit = CommitID(output) else {
            throw StepFailure(step: "resolve", reason: "\(label) did not resolve to a commit (got \"\(output)\")")
        }
        if let known = plan.target.commit, known != commit {
            throw StepFailure(step: "resolve", reason: "\(label) resolved to \(commit.value), not to the planned \(known.value)")
        }
        return commit
    }

    /// Reads every host's history with the plan's step; the revision before the newest deploy that changed a host.
    private func commitFromHistory() async throws -> CommitID {
        var records: [HistoryRecord] = []
        for session in sessions {
            do {
                let output = try await session.run(try session.plan.required(.readHistory))
                records += HistoryLog.parse(output.stdout)
            } catch let failure as StepFailure {
                throw RolloutError.stepFailed(service: service, host: session.host.name, step: failure.step, reason: failure.reason)
            }
        }
        guard let revision = HistoryLog.revisionBeforeLastChange(records), let commit = CommitID(revision) else {
            throw RolloutError.noPreviousRevision(service: service)
        }
        return commit
    }

    /// Every host of the batch at once; every one is waited for and reported.
    private func runBatch(_ batch: [ServiceHost], index: Int, target: CommitID, previous: [String: CommitID],
                          fetched: String?) async throws -> [HostOutcome] {
        try await withThrowingTaskGroup(of: HostOutcome.self) { group in
            for host in batch {
                let rollout = HostRollout(session: session(host.name)!, stop: context.stop, monitor: context.monitor, gateway: gateway,
                                          history: history, secrets: context.secrets)
                let from = previous[host.name]!
                group.addTask {
                    let outcome = try await rollout.deploy(batch: index + 1, to: target, from: from, fetched: host.name == fetched)
                    await finishHistory(rollout.session, outcome)
                    return outcome
                }
            }
            var results: [HostOutcome] = []
            for try await result in group { results.append(result) }
            return results.sorted { $0.host < $1.host }
        }
    }

    /// Watches the canary batch for the tier's bake time. Returns the first host that failed (with a
    /// reason) or stopped (nil reason), or nil when every host stayed healthy.
    private func bake(_ batch: [ServiceHost]) async throws -> (host: String, reason: String?)? {
        let bakeTime = plan.policy.bake
        let problems = try await withThrowingTaskGroup(of: (String, HealthGateResult).self) { group in
            for host in batch {
                let hostSession = self.session(host.name)!
                group.addTask { (host.name, try await HealthGate(session: hostSession, stop: context.stop).bake(for: bakeTime)) }
            }
            var found: [(String, HealthGateResult)] = []
            for try await result in group where result.1 != .passed { found.append(result) }
            return found.sorted { $0.0 < $1.0 }
        }
        guard let (host, result) = problems.first else { return nil }
        if case .failed(let reason) = result { return (host, reason) }
        return (host, nil)
    }

    /// Puts updated hosts back, the most recently updated first, a bounded number at once.
    private func putBack(_ updated: [String], from target: CommitID, previous: [String: CommitID]) async throws -> [HostOutcome] {
        var results: [HostOutcome] = []
        let width = max(1, context.options.maxConcurrentPutBacks)
        let order = Array(updated.reversed())
        for start in stride(from: 0, to: order.count, by: width) {
            let chunk = order[start..<min(start + width, order.count)]
            results += try await withThrowingTaskGroup(of: HostOutcome.self) { group in
                for name in chunk {
                    let rollout = HostRollout(session: session(name)!, stop: context.stop, monitor: context.monitor, gateway: gateway,
                                              history: history, secrets: context.secrets)
                    let to = previous[name]!
                    group.addTask {
                        // Putting a host back matters more than its record: it goes back even if the record fails.
                        try? await history.started(rollout.session, from: to.value, to: target.value)
                        // A host that succeeded ran its env step: its environment goes back too.
                        let outcome = try await rollout.putBack(to: to, from: target, restoringEnvironment: true)
                        await finishHistory(rollout.session, outcome)
                        return outcome
                    }
                }
                var chunkResults: [HostOutcome] = []
                for try await result in group { chunkResults.append(result) }
                return chunkResults
            }
        }
        return results
    }
}

struct HostStepFailure: Error {
    var host: String
    var step: String
    var reason: String
}
