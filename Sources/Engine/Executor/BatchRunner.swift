import Commands
import Inventory
import Plan

/// The locked part of a service's rollout: preflight on every host, one target commit, batches, and
/// putting every updated host back when one fails or the operator stops.
struct BatchRunner {
    let plan: ServicePlan
    let context: RunContext
    /// Sessions in host-name order.
    let sessions: [HostSession]
    /// Each host's one state, by host name.
    let tracks: [String: HostTrack]
    let history: HistoryBook

    private var service: String { plan.service.name }
    /// Only a service with several hosts is drained: with one host there is nothing to send traffic to.
    private var gateway: (any GatewayHook)? { plan.service.hosts.count > 1 ? context.gateway : nil }

    func run(state run: inout RunState) async throws {
        // Nothing changes anywhere until every host has answered what the plan sends before a change (preflight,
        // current revision, fetch, ...) and the target is known.
        guard plan.batches.first?.first != nil else { return }
        let target: CommitID
        do {
            target = try await prepare(state: &run)
        } catch let failed as HostStepFailures {
            // Every host that failed is named, each with its own step and reason, not only the first.
            for failure in failed.failures { tracks[failure.host]?.fail(StepName(failure.step), failure.reason) }
            run.error = .stepFailed(service: service, failures: failed.failures.map {
                FailedStep(host: $0.host, step: StepName($0.step), reason: $0.reason)
            })
            return
        } catch let error as RolloutError {
            run.error = error
            return
        }
        run.sha = target

        if let failure = await LocalHooks(plan: plan, context: context, deployID: history.deployID).run(.before, ref: run.ref, sha: run.sha) {
            reportUncompared("not compared: the before hook failed")
            run.error = .hookFailed(service: service, hook: "before", reason: failure.reason)
            return
        }

        let traffic = await startTraffic()
        var updated: [String] = []
        // Batches as planned, except that the capacity floor may hold hosts of one back for a batch of their own.
        var pending = plan.batches
        var index = -1
        while !pending.isEmpty {
            index += 1
            if context.stop.isRequested { run.stopped = true; break }
            var batch = pending.removeFirst()
            switch await capacity(for: batch, changed: updated) {
            case .success(let admitted):
                let waiting = batch.filter { host in !admitted.contains { $0.name == host.name } }
                if !waiting.isEmpty { pending.insert(waiting, at: 0) }
                batch = admitted
            case .failure(let floor):
                run.error = .belowCapacity(floor)
            }
            if run.error != nil { break }
            let results = try await runBatch(batch, index: index, target: target)
            updated += results.filter { $0.result == .succeeded }.map(\.host)
            // Every host of the batch that failed is named, not only the first.
            let failed = results.filter { [HostResult.failed, .rolledBack, .rollbackFailed].contains($0.result) }
            if !failed.isEmpty {
                // Each failed itself (a host put back in its own batch failed first), so each names its step.
                run.error = .hostFailed(service: service, failures: failed.compactMap { outcome in
                    outcome.failedStep.map { FailedStep(host: outcome.host, step: $0, reason: outcome.reason ?? "failed") }
                })
                break
            }
            if results.contains(where: { $0.result == .cancelled }) { run.stopped = true; break }
            if index == 0, plan.policy.canary, !pending.isEmpty, plan.policy.bake > .zero {
                if let problem = try await bake(batch, traffic: traffic, changed: updated) {
                    switch problem {
                    case .stopped:
                        run.stopped = true
                    case .health(let host, let reason):
                        run.error = .hostFailed(service: service, host: host, step: StepName(.bake), reason: reason)
                        tracks[host]?.fail(StepName(.bake), reason)
                    case .traffic(let reason):
                        failTraffic(updated, reason: "traffic during the bake: " + reason, state: &run)
                    }
                    break
                }
            }
        }
        let neverStarted = Set(sessions.map(\.host.name).filter { tracks[$0]?.outcome.result == .notStarted })
        reportUncompared("not compared: the host did not start", only: neverStarted)
        if run.error == nil, !run.stopped, !context.stop.isRequested, plan.policy.watch > .zero, !updated.isEmpty {
            try await watch(updated, traffic: traffic, state: &run)
        }
        if context.stop.isRequested && run.error == nil && !run.watchCutShort { run.stopped = true }
        // A lost lease puts nothing back: another rollout may own the hosts now. Neither does the capacity floor:
        // a put back would take yet more hosts out of rotation.
        var atFloor = false
        if case .belowCapacity = run.error { atFloor = true }
        if context.stop.leaseLost == nil && !atFloor && (run.error != nil || run.stopped) {
            try await putBack(updated, from: target)
        }
    }

    private func session(_ host: String) -> HostSession? { sessions.first { $0.host.name == host } }

    /// The hosts of `batch` that may change now without the healthy hosts in rotation falling below `min_healthy`,
    /// from one health probe of every host of the rollout; the floor's verdict when not one may. Every host is
    /// admitted when the floor is 0 or `--allow-below-capacity` was given (then nothing is probed).
    private func capacity(for batch: [ServiceHost], changed: [String]) async -> Result<[ServiceHost], BelowCapacity> {
        let floor = plan.policy.minHealthy
        let total = sessions.count
        guard floor.required(of: total) > 0 else { return .success(batch) }
        let clock = ContinuousClock()
        let start = clock.now
        if context.options.allowBelowCapacity {
            report(.capacity, .ok, .zero, "not enforced (--allow-below-capacity); min_healthy \(floor) would keep "
                + "\(floor.required(of: total)) of \(total) healthy")
            return .success(batch)
        }
        let stop = context.stop
        let answers = await BoundedConcurrency.map(sessions, limit: max(1, context.options.maxConcurrentConnects)) { session in
            (session.host.name, await HealthGate(session: session, stop: stop).probe(timeout: HealthGate.probeTimeout(left: .seconds(5))).healthy)
        }
        let healthy = Set(answers.compactMap { $0 }.filter(\.1).map(\.0))
        let names = batch.map(\.name)
        let decision = CapacityFloor.admit(batch: names, healthy: healthy, total: total, floor: floor)
        let summary = "\(healthy.count) of \(total) healthy, at least \(decision.required) \(decision.required == 1 ? "stays" : "stay") "
            + "in rotation (min_healthy \(floor))"
        guard !decision.admitted.isEmpty else {
            report(.capacity, .failed, start.duration(to: clock.now), summary + "; \(names.joined(separator: ", ")) cannot change now")
            return .failure(BelowCapacity(service: service, healthy: sessions.map(\.host.name).filter(healthy.contains), total: total,
                                          required: decision.required, floor: floor, blocked: names, changed: changed))
        }
        let held = decision.deferred.isEmpty ? "" : "; \(decision.deferred.joined(separator: ", ")) wait\(decision.deferred.count == 1 ? "s" : "") for a batch of \(decision.deferred.count == 1 ? "its" : "their") own"
        report(.capacity, .ok, start.duration(to: clock.now), summary + held)
        return .success(batch.filter { decision.admitted.contains($0.name) })
    }

    /// After the last batch, with the locks still held: every changed host probed at its interval for the policy's
    /// `watch`. A host with `healthy_after` unhealthy answers in a row fails the rollout (every changed host is then
    /// put back, newest first, like any failure); a Ctrl-C ends the watch and the new revision stays.
    private func watch(_ updated: [String], traffic: TrafficWindow?, state run: inout RunState) async throws {
        let duration = plan.policy.watch
        let clock = ContinuousClock()
        let start = clock.now
        report(.watch, .ok, .zero, "watching \(updated.joined(separator: ", ")) for \(formatDuration(duration)) "
            + "(Ctrl-C ends the watch and keeps the new revision)")
        let stop = context.stop
        let watched = updated.compactMap(session)
        // Likewise: from here on, every changed host is in rotation on the new revision.
        try? await traffic?.windowBegins()
        // The first host (or traffic verdict) that fails ends the others' watch (cancelled, they count as stopped).
        let failure = await withTaskGroup(of: Problem?.self) { group -> Problem? in
            for hostSession in watched {
                group.addTask {
                    let result = try? await HealthGate(session: hostSession, stop: stop)
                        .watch(for: duration, failuresInARow: hostSession.plan.gate.healthyAfter)
                    if case .failed(let reason) = result { return .health(host: hostSession.host.name, reason: reason) }
                    return nil
                }
            }
            if let traffic {
                group.addTask { await judgeTraffic(traffic, changed: updated, during: .watch, for: duration).map(Problem.traffic) }
            }
            var first: Problem?
            for await problem in group {
                if let problem, first == nil {
                    first = problem
                    group.cancelAll()
                }
            }
            return first
        }
        // A second Ctrl-C cancels the rollout's task: that is not a watch cut short.
        try Task.checkCancellation()
        switch failure {
        case .health(let host, let reason):
            run.error = .hostFailed(service: service, host: host, step: StepName(.watch), reason: reason)
            tracks[host]?.fail(StepName(.watch), reason)
        case .traffic(let reason):
            failTraffic(updated, reason: "traffic during the watch: " + reason, state: &run)
        case .stopped, nil:
            if stop.isRequested, stop.leaseLost == nil {
                run.watchCutShort = true
                report(.watch, .ok, start.duration(to: clock.now), "cut short by the operator after "
                    + "\(formatDuration(start.duration(to: clock.now))) of \(formatDuration(duration)); the new revision stays")
            }
        }
    }

    /// What ended a bake or the watch early.
    enum Problem: Sendable {
        /// A host's health failed.
        case health(host: String, reason: String)
        /// The traffic judge's verdict failed the changed hosts.
        case traffic(String)
        /// The operator stopped it.
        case stopped
    }

    /// When the rollout judges its traffic: the gateway's access log read once (the requests before the rollout,
    /// and where the log ends) and said so; nil otherwise, or when the log cannot be read (said as a warning: the
    /// rollout goes on without the judge, like a service the gateway does not route).
    private func startTraffic() async -> TrafficWindow? {
        // Every routed service's, one host too (the gateway drains only several): its own connection to the gateway.
        guard plan.judgesTraffic, let gateway = context.gateway, let thresholds = plan.policy.traffic else { return nil }
        let window = TrafficWindow(service: service, gateway: gateway, thresholds: thresholds, hosts: Set(plan.service.hosts.map(\.name)))
        let clock = ContinuousClock()
        let start = clock.now
        do {
            guard try await window.start() else { return nil }
            let during = [plan.policy.canary && plan.policy.bake > .zero && plan.batches.count > 1 ? "the canary's bake" : nil,
                          plan.policy.watch > .zero ? "the watch" : nil].compactMap { $0 }.joined(separator: " and ")
            report(.traffic, .ok, start.duration(to: clock.now), "judging requests through the gateway during \(during): \(thresholds)")
            return window
        } catch {
            report(.traffic, .ok, start.duration(to: clock.now), "warning: traffic not judged: \(error)")
            return nil
        }
    }

    /// Samples the traffic once a probe interval for `duration` (until then, or a stop, or cancelled), each reading a
    /// `traffic_sample` event; returns the first failing verdict's reason.
    private func judgeTraffic(_ window: TrafficWindow, changed: [String], during step: StepKind, for duration: Duration) async -> String? {
        let interval = sessions.first?.plan.gate.interval ?? .seconds(1)
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: duration)
        while clock.now < end {
            guard (try? await context.stop.sleep(for: min(interval, clock.now.duration(to: end)), interruptible: true)) == true else { return nil }
            let sample = await window.sample(changed: Set(changed), step: step)
            if Task.isCancelled { return nil }
            context.sink.emit(RolloutEvent(service: service, payload: .trafficSample(sample)))
            if sample.readError == nil, case .failed(let reason) = sample.verdict.outcome { return reason }
        }
        return nil
    }

    /// A failing traffic verdict (its `traffic_sample` already said so) fails every changed host with it (each is then
    /// put back).
    private func failTraffic(_ changed: [String], reason: String, state run: inout RunState) {
        let step = StepName(.traffic)
        for host in changed { tracks[host]?.fail(step, reason) }
        run.error = .hostFailed(service: service, failures: changed.map { FailedStep(host: $0, step: step, reason: reason) })
    }

    /// A step of the service's, on no host.
    private func report(_ step: StepKind, _ status: StepReport.Status, _ elapsed: Duration, _ detail: String) {
        context.sink.emit(RolloutEvent(service: service, payload: .step(StepReport(step: step, status: status, elapsed: elapsed, detail: detail))))
    }

    /// The host's final record, at once; a host left changed after the lease was lost keeps only its
    /// `started` record, which `history` shows as interrupted.
    private func finishHistory(_ session: HostSession) async {
        guard let outcome = tracks[session.host.name]?.outcome, outcome.result != .interrupted else { return }
        await history.finished(session, outcome, target: nil)
    }

    /// Sends every host the plan's steps before a change, as its `sentTogether` groups, all hosts at once (the
    /// first failure in host order wins), and finds the target: the plan's ref resolved on the first host, or
    /// (rollback without `--to`) the revision the hosts' history names, checked on the first host. Each host's track
    /// keeps what it answered (its revision, its `env_digest`).
    private func prepare(state run: inout RunState) async throws -> CommitID {
        do {
            return try await ask(state: &run)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // Nothing changed anywhere: the hosts that read their environment say it was not compared.
            reportUncompared("not compared: the rollout stopped before any host changed")
            throw error
        }
    }

    /// `prepare`'s work; each host's track keeps its `env_digest` answer as it comes.
    private func ask(state run: inout RunState) async throws -> CommitID {
        let first = plan.batches[0][0]
        var answers: [String: [StepKind: CommandResult]] = [:]
        var values: [LateValue: String] = [:]
        let rounds = sessions.map(\.plan.sentTogether.count).max() ?? 0
        for round in 0..<rounds {
            if round > 0, case .history = plan.target.source {
                let commit = try commitFromHistory(answers)
                run.ref = commit.value
                history.ref = commit.value
                values[.targetCommit] = commit.value
            }
            let label = run.ref ?? "the target"
            let size = plan.service.size
            let results = await withTaskGroup(of: (String, Result<([StepKind: CommandResult], Duration), StepFailure>).self) { group in
                for session in sessions where round < session.plan.sentTogether.count {
                    let steps = session.plan.steps(session.plan.sentTogether[round])
                    group.addTask { [values] in
                        do {
                            let answer = try await session.runTogether(steps, values, unreported: [.envDigest]) { kind, result in
                                switch kind {
                                // A host below its declared size is a warning on the step line, never silent.
                                case .preflight: HostResources.parse(result.stdout)?.shortfall(against: size).map { "warning: \($0)" }
                                case .currentRevision: "at \(result.stdout.firstLine.shortSHA)"
                                case .resolve: "\(label) is \(result.stdout.firstLine)"
                                default: nil
                                }
                            }
                            return (session.host.name, .success(answer))
                        } catch let failure as StepFailure {
                            return (session.host.name, .failure(failure))
                        } catch {
                            return (session.host.name, .failure(StepFailure(step: steps.first?.kind ?? .preflight, reason: "stopped")))
                        }
                    }
                }
                var all: [String: Result<([StepKind: CommandResult], Duration), StepFailure>] = [:]
                for await (host, result) in group { all[host] = result }
                return all
            }
            if Task.isCancelled { throw CancellationError() }
            var failures: [HostStepFailure] = []
            for session in sessions {
                switch results[session.host.name] {
                case .success(let (answer, elapsed)):
                    answers[session.host.name, default: [:]].merge(answer) { $1 }
                    if let digest = answer[.envDigest] {
                        tracks[session.host.name]?.environmentRead(EnvironmentRead(digest: digest.stdout.split(separator: " ").first.map(String.init),
                                                                                 elapsed: elapsed))
                    }
                case .failure(let step):
                    failures.append(HostStepFailure(host: session.host.name, step: step.step.kind, reason: step.reason))
                case nil:
                    break
                }
            }
            if !failures.isEmpty { throw HostStepFailures(failures: failures) }
        }
        var previous: [String: CommitID] = [:]
        for session in sessions {
            let output = answers[session.host.name]?[.currentRevision]?.stdout.firstLine ?? ""
            guard let revision = CommitID(output) else {
                throw HostStepFailures(HostStepFailure(host: session.host.name, step: .currentRevision,
                                                       reason: "git rev-parse HEAD printed \"\(output)\""))
            }
            previous[session.host.name] = revision
        }
        for (host, revision) in previous { tracks[host]?.reached(revision) }
        // A saved plan runs only on hosts still where it saw them.
        let moved = sessions.compactMap { session -> MovedHost? in
            let name = session.host.name
            guard let recorded = plan.recordedRevisions[name], let found = previous[name], found != recorded else { return nil }
            return MovedHost(host: name, recorded: recorded, found: found)
        }
        if !moved.isEmpty { throw RolloutError.planStale(service: service, moved: moved) }
        let label = run.ref ?? "the target"
        let output = answers[first.name]?[.resolve]?.stdout.firstLine ?? ""
        guard let commit = CommitID(output) else {
            throw HostStepFailures(HostStepFailure(host: first.name, step: .resolve, reason: "\(label) did not resolve to a commit (got \"\(output)\")"))
        }
        if let known = plan.target.commit, known != commit, !plan.recordedRevisions.isEmpty {
            // A saved plan made for another commit of the ref: stale, not a failed step.
            throw RolloutError.planTargetMoved(service: service, ref: label, planned: known, found: commit)
        }
        if let known = plan.target.commit, known != commit {
            throw HostStepFailures(HostStepFailure(host: first.name, step: .resolve,
                                                   reason: "\(label) resolved to \(commit.value), not to the planned \(known.value)"))
        }
        return commit
    }

    /// Reports the `env_digest` step of hosts whose rollout will not compare it (it ran; the events say so, and why).
    private func reportUncompared(_ why: String, only hosts: Set<String>? = nil) {
        for session in sessions where hosts?.contains(session.host.name) ?? true {
            tracks[session.host.name]?.reportEnvironment(why)
        }
    }

    /// The revision before the newest deploy that changed a host, from every host's `read_history` answer.
    private func commitFromHistory(_ answers: [String: [StepKind: CommandResult]]) throws -> CommitID {
        let records = sessions.flatMap { HistoryLog.parse(answers[$0.host.name]?[.readHistory]?.stdout ?? "") }
        guard let undone = HistoryLog.deployToUndo(records), let commit = undone.from.flatMap(CommitID.init) else {
            throw RolloutError.noPreviousRevision(service: service)
        }
        // Before anything changes, the operator reads which deploy this undoes and where it goes.
        context.sink.emit(RolloutEvent(service: service, payload: .step(StepReport(
            step: .rollbackTarget, status: .ok, elapsed: .zero,
            detail: "undoing \(undone.undoneDescription): back to \(commit.short)"))))
        return commit
    }

    /// Every host of the batch at once; every one is waited for and reported. Their rows, in host order.
    private func runBatch(_ batch: [ServiceHost], index: Int, target: CommitID) async throws -> [HostOutcome] {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for host in batch {
                let rollout = hostRollout(host.name)
                guard let from = rollout.track.previous else { continue }
                group.addTask {
                    try await rollout.deploy(batch: index + 1, to: target, from: from)
                    await finishHistory(rollout.session)
                }
            }
            try await group.waitForAll()
        }
        return batch.compactMap { tracks[$0.name]?.outcome }.sorted { $0.host < $1.host }
    }

    private func hostRollout(_ name: String) -> HostRollout {
        HostRollout(session: session(name)!, track: tracks[name]!, stop: context.stop, gateway: gateway, history: history,
                    secrets: context.secrets)
    }

    /// Watches the canary batch for the tier's bake time, and judges its traffic meanwhile. Returns what ended it
    /// early (the first failure to come, a host's health or the traffic verdict, which cancels the others; else a
    /// stop), or nil when every host stayed healthy and the traffic passed (or could not be judged).
    private func bake(_ batch: [ServiceHost], traffic: TrafficWindow?, changed: [String]) async throws -> Problem? {
        let bakeTime = plan.policy.bake
        let stop = context.stop
        // The traffic judged is what the gateway logged from here on: the canary is back in rotation on the new revision.
        try? await traffic?.windowBegins()
        let problems = await withTaskGroup(of: (String, Problem?).self) { group in
            for host in batch {
                let hostSession = self.session(host.name)!
                group.addTask {
                    // Cancelled (another host or the traffic failed): stopped, which the first problem outranks.
                    switch (try? await HealthGate(session: hostSession, stop: stop).bake(for: bakeTime)) ?? .stopped {
                    case .passed: (host.name, nil)
                    case .failed(let reason): (host.name, .health(host: host.name, reason: reason))
                    case .stopped: (host.name, .stopped)
                    }
                }
            }
            if let traffic {
                group.addTask { ("", await judgeTraffic(traffic, changed: changed, during: .bake, for: bakeTime).map(Problem.traffic)) }
            }
            var found: [(String, Problem)] = []
            for await (host, problem) in group {
                guard let problem else { continue }
                // A failure ends the others' bake; their cancellation (stopped) is not theirs to report.
                if case .stopped = problem, !found.isEmpty { continue }
                if case .stopped = problem {} else { group.cancelAll() }
                found.append((host, problem))
            }
            return found
        }
        try Task.checkCancellation()
        // In arrival order: the first failure is the cause; the others were cancelled by it.
        return problems.first { if case .stopped = $0.1 { false } else { true } }?.1 ?? problems.first?.1
    }

    /// Puts updated hosts back, the most recently updated first, a bounded number at once.
    private func putBack(_ updated: [String], from target: CommitID) async throws {
        // Newest first, and never more at once than the capacity floor lets leave rotation (one at a time when it
        // keeps all but one).
        let total = sessions.count
        let width = max(1, min(context.options.maxConcurrentPutBacks, total - plan.policy.minHealthy.required(of: total)))
        let order = Array(updated.reversed())
        for start in stride(from: 0, to: order.count, by: width) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for name in order[start..<min(start + width, order.count)] {
                    let rollout = hostRollout(name)
                    guard let to = rollout.track.previous else { continue }
                    group.addTask {
                        // Putting a host back matters more than its record: it goes back even if the record fails.
                        try? await history.started(rollout.session, from: to, to: target)
                        // A host that succeeded ran its env step: its environment goes back too.
                        try await rollout.putBack(to: to, from: target, restoringEnvironment: true)
                        await finishHistory(rollout.session)
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}

/// A host's `env_digest` answer: the first word `sha256sum` printed (nil when the host has no environment file yet)
/// and the round trip that brought it.
struct EnvironmentRead: Sendable {
    var digest: String?
    var elapsed: Duration
}

struct HostStepFailure: Error {
    var host: String
    var step: StepKind
    var reason: String
}

/// Hosts that failed before anything changed, in host order: every one is reported.
struct HostStepFailures: Error {
    var failures: [HostStepFailure]

    init(failures: [HostStepFailure]) { self.failures = failures }
    init(_ one: HostStepFailure) { failures = [one] }
}
