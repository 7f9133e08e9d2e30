import Inventory

/// Where a rollout's target comes from.
public enum RolloutTarget: Sendable, Equatable {
    /// The plan's ref (`--ref`, `--to`, or the service's branch).
    case planned
    /// The revision before the service's last successful deploy, from the hosts' history.
    case previousSuccessfulDeploy
}

/// The locked part of a service's rollout: preflight on every host, one target commit, batches, and
/// putting every updated host back when one fails or the operator stops.
struct BatchRunner {
    let plan: ServicePlan
    let action: RolloutAction
    let target: RolloutTarget
    let context: RunContext
    /// Sessions in host-name order.
    let sessions: [HostSession]

    private var service: String { plan.service.name }
    /// Only a service with several hosts is drained: with one host there is nothing to send traffic to.
    private var gateway: (any GatewayHook)? { plan.service.hosts.count > 1 ? context.gateway : nil }

    func run(state run: inout RunState) async throws {
        let planned = Dictionary(uniqueKeysWithValues: sessions.map { session in
            (session.host.name, PlannedCommands(hostPlan: plan.hostSteps.first { $0.host.name == session.host.name },
                                                commands: session.commands, plannedSHA: plan.target.sha))
        })
        // Nothing changes anywhere until every host has passed its preflight.
        let previous: [String: String]
        do {
            previous = try await prepare(planned)
        } catch let failure as HostStepFailure {
            run.outcomes[failure.host] = HostOutcome(host: failure.host, result: .failed, failedStep: failure.step, reason: failure.reason)
            run.error = .stepFailed(service: service, host: failure.host, step: failure.step, reason: failure.reason)
            return
        }
        for (host, revision) in previous {
            run.outcomes[host]?.from = revision
            run.outcomes[host]?.revision = revision
        }

        guard let first = plan.batches.first?.first, let firstSession = sessions.first(where: { $0.host.name == first.name }) else { return }
        let sha: String
        do {
            let ref = try await targetRef(state: &run)
            run.ref = ref.value
            try await firstSession.run("fetch", planned[first.name]!.fetch)
            let resolved = try await firstSession.run("resolve", firstSession.commands.resolve(ref),
                                                      okDetail: { "\(ref.value) is \($0.stdout.firstLine)" }).stdout.firstLine
            guard Self.isFullSHA(resolved) else {
                throw StepFailure(step: "resolve", reason: "\(ref.value) did not resolve to a commit (got \"\(resolved)\")")
            }
            sha = resolved
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
        run.sha = sha

        var updated: [String] = []
        for (index, batch) in plan.batches.enumerated() {
            if context.stop.isRequested { run.stopped = true; break }
            let results = try await runBatch(batch, index: index, sha: sha, previous: previous, planned: planned,
                                             fetched: index == 0 ? first.name : nil)
            for result in results { run.outcomes[result.host] = result }
            updated += results.filter { $0.result == .succeeded }.map(\.host)
            if let failed = results.first(where: { [HostResult.failed, .rolledBack, .rollbackFailed].contains($0.result) }) {
                run.error = .hostFailed(service: service, host: failed.host, step: failed.failedStep ?? "rollout",
                                        reason: failed.reason ?? "failed")
                break
            }
            if results.contains(where: { $0.result == .cancelled }) { run.stopped = true; break }
            if index == 0, plan.service.policy.canary, plan.batches.count > 1, plan.service.policy.bake > .zero {
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
        if run.error != nil || run.stopped {
            for outcome in try await putBack(updated, sha: sha, previous: previous) {
                let failure = run.outcomes[outcome.host]
                run.outcomes[outcome.host] = outcome
                run.outcomes[outcome.host]?.failedStep = failure?.failedStep
                run.outcomes[outcome.host]?.reason = failure?.reason ?? outcome.reason
            }
        }
    }

    /// Preflight and current revision on every host, in parallel; the first failure in host order wins.
    private func prepare(_ planned: [String: PlannedCommands]) async throws -> [String: String] {
        let results = try await withThrowingTaskGroup(of: (String, Result<String, StepFailure>).self) { group in
            for session in sessions {
                let commands = planned[session.host.name]!
                group.addTask {
                    do {
                        try await session.run("preflight", commands.preflight)
                        let revision = try await session.run("current_revision", commands.currentRevision,
                                                             okDetail: { "at \($0.stdout.firstLine.shortSHA)" }).stdout.firstLine
                        guard Self.isFullSHA(revision) else {
                            throw StepFailure(step: "current_revision", reason: "git rev-parse HEAD printed \"\(revision)\"")
                        }
                        return (session.host.name, .success(revision))
                    } catch let failure as StepFailure {
                        return (session.host.name, .failure(failure))
                    }
                }
            }
            var all: [String: Result<String, StepFailure>] = [:]
            for try await (host, result) in group { all[host] = result }
            return all
        }
        var revisions: [String: String] = [:]
        for session in sessions {
            switch results[session.host.name]! {
            case .success(let revision):
                revisions[session.host.name] = revision
                context.monitor.set(service: service, host: session.host.name, .untouched(revision: revision))
            case .failure(let failure):
                throw HostStepFailure(host: session.host.name, step: failure.step, reason: failure.reason)
            }
        }
        return revisions
    }

    /// The ref to resolve: the plan's, or (rollback without `--to`) the one history names.
    private func targetRef(state run: inout RunState) async throws -> GitRef {
        guard target == .previousSuccessfulDeploy else { return plan.target.ref }
        var records: [HistoryRecord] = []
        for session in sessions {
            do {
                let output = try await session.run("history", session.commands.historyRead(limit: nil))
                records += HistoryLog.parse(output.stdout)
            } catch let failure as StepFailure {
                throw RolloutError.stepFailed(service: service, host: session.host.name, step: failure.step, reason: failure.reason)
            }
        }
        guard let revision = HistoryLog.revisionBeforeLastDeploy(records), let ref = try? GitRef(validating: revision) else {
            throw RolloutError.noPreviousRevision(service: service)
        }
        return ref
    }

    /// Every host of the batch at once; every one is waited for and reported.
    private func runBatch(_ batch: [ServiceHost], index: Int, sha: String, previous: [String: String],
                          planned: [String: PlannedCommands], fetched: String?) async throws -> [HostOutcome] {
        try await withThrowingTaskGroup(of: HostOutcome.self) { group in
            for host in batch {
                let session = sessions.first { $0.host.name == host.name }!
                let rollout = HostRollout(session: session, stop: context.stop, monitor: context.monitor, planned: planned[host.name]!,
                                          gateway: gateway)
                let from = previous[host.name]!
                group.addTask {
                    try await rollout.deploy(batch: index + 1, to: sha, from: from, fetched: host.name == fetched)
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
        let bakeTime = plan.service.policy.bake
        let problems = try await withThrowingTaskGroup(of: (String, HealthGateResult).self) { group in
            for host in batch {
                let session = sessions.first { $0.host.name == host.name }!
                group.addTask { (host.name, try await HealthGate(session: session, stop: context.stop).bake(for: bakeTime)) }
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
    private func putBack(_ updated: [String], sha: String, previous: [String: String]) async throws -> [HostOutcome] {
        var results: [HostOutcome] = []
        let width = max(1, context.options.maxConcurrentPutBacks)
        let order = Array(updated.reversed())
        for start in stride(from: 0, to: order.count, by: width) {
            let chunk = order[start..<min(start + width, order.count)]
            results += try await withThrowingTaskGroup(of: HostOutcome.self) { group in
                for name in chunk {
                    let session = sessions.first { $0.host.name == name }!
                    let rollout = HostRollout(session: session, stop: context.stop, monitor: context.monitor,
                                              planned: PlannedCommands(hostPlan: nil, commands: session.commands, plannedSHA: nil),
                                              gateway: gateway)
                    let to = previous[name]!
                    group.addTask { try await rollout.putBack(to: to, from: sha) }
                }
                var chunkResults: [HostOutcome] = []
                for try await result in group { chunkResults.append(result) }
                return chunkResults
            }
        }
        return results
    }

    static func isFullSHA(_ s: String) -> Bool {
        s.count == 40 && s.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}

struct HostStepFailure: Error {
    var host: String
    var step: String
    var reason: String
}
