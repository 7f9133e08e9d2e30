import Commands
import Foundation
import Inventory
import Plan

/// One host's part of a rollout, after the locks and preflight: fetch, no-change check, checkout,
/// compose up, health gate; and putting the host back on its previous revision when that fails. Every
/// command is the host plan's own step.
struct HostRollout {
    let session: HostSession
    /// The host's one state: every move below is a move of it.
    let track: HostTrack
    let stop: StopSignal
    /// The API gateway, for services with more than one host: the host leaves rotation while it changes.
    let gateway: (any GatewayHook)?
    let history: HistoryBook
    let secrets: Secrets

    private var name: String { session.host.name }
    private var plan: HostPlan { session.plan }
    private var gate: HealthGate { HealthGate(session: session, stop: stop) }

    /// Moves the host from `previous` to `target`, after it answered the plan's steps before a change (fetched,
    /// and read `environment`). A failure after the host changed puts it back.
    func deploy(batch: Int, to target: CommitID, from previous: CommitID) async throws {
        track.started(batch: batch, target: target)
        let environment: String
        do {
            environment = try plan.env.rendered(secrets: secrets, values: [.targetCommit: target.value])
        } catch let incomplete {
            track.reportEnvironment("not compared: the environment could not be written out")
            track.fail(StepName(.env), incomplete.description)
            return
        }
        let sameEnvironment = runsEnvironment(environment, onTarget: previous == target)
        if stop.isRequested { return track.cancel(stopReason) }
        if sameEnvironment, await gate.probe(timeout: HealthGate.probeTimeout(left: plan.gate.timeout)).healthy {
            return track.unchanged()
        }
        if stop.isRequested { return track.cancel(stopReason) }

        do {
            try await drain()
            // Written ahead: a host whose `started` record cannot be written is not changed.
            try await history.started(session, from: previous, to: target)
        } catch let failure as StepFailure {
            return track.fail(failure.step, failure.reason)
        }
        if stop.leaseLost != nil { return track.cancel(stopReason) }
        track.changing()
        let failure: StepFailure
        // The environment before this rollout is put back only once the env step replaced it.
        var environmentWritten = false
        do {
            try await session.run(try plan.required(.checkout), [.targetCommit: target.value], okDetail: { _ in "now at \(target.short)" })
            try haltIfLeaseLost()
            try await session.run(try plan.required(.env), input: environment,
                                  okDetail: { _ in
                let variables = plan.env.entries.count, secrets = plan.env.secretNames.count
                return "\(variables) variable\(variables == 1 ? "" : "s"), \(secrets) secret\(secrets == 1 ? "" : "s")"
            })
            environmentWritten = true
            try haltIfLeaseLost()
            if let beforeUp = plan.step(.beforeUp) {
                try await session.run(beforeUp)
                try haltIfLeaseLost()
            }
            try await session.run(try plan.required(.composeUp))
            switch try await gate.run(phase: .rollout) {
            case .passed:
                // Back in rotation first: `host_succeeded` is the host's last word.
                await restore(.rollout)
                return track.succeeded()
            case .failed(let reason): failure = StepFailure(step: .healthGate, reason: reason)
            case .stopped: failure = StepFailure(step: .healthGate, reason: stopReason)
            }
        } catch let stepFailure as StepFailure {
            failure = stepFailure
        }
        track.fail(failure.step, failure.reason)
        if let lost = stop.leaseLost { return track.leftChanged(at: failure.step, lost) }
        await showFailureLogs()
        try await putBack(to: previous, from: target, restoringEnvironment: environmentWritten)
    }

    /// The plan's put-back branch: checks out `previous`, puts back the environment in force before (when
    /// this rollout replaced it), runs compose up and the health gate again. Ends as `rolled_back` when the
    /// host is healthy there, `rollback_failed` otherwise.
    func putBack(to previous: CommitID, from current: CommitID, restoringEnvironment: Bool) async throws {
        track.puttingBack()
        var problem: StepFailure?
        do {
            // A host updated in an earlier batch is back in rotation: take it out again first. If that
            // fails the host is put back all the same; a stale upstream is better than a broken host.
            try haltIfLeaseLost()
            try? await drain(phase: .putBack)
            try haltIfLeaseLost()
            // What it finished is kept as it goes: a second Ctrl-C stops it between steps, and says how far it got.
            try await session.run(try plan.requiredPutBack(.checkout), [.previousCommit: previous.value], phase: .putBack,
                                  okDetail: { _ in "now at \(previous.short)" })
            track.putBackStepDone(.checkout)
            try haltIfLeaseLost()
            if restoringEnvironment {
                try await session.run(try plan.requiredPutBack(.envRestore), phase: .putBack)
                track.putBackStepDone(.envRestore)
                try haltIfLeaseLost()
            }
            try await session.run(try plan.requiredPutBack(.composeUp), phase: .putBack)
            track.putBackStepDone(.composeUp)
            if case .failed(let reason) = try await gate.run(phase: .putBack) {
                problem = StepFailure(step: .healthGate, reason: reason)
            }
        } catch let failure as StepFailure {
            problem = failure
        }
        if let lost = stop.leaseLost, let problem {
            return track.leftChanged(at: StepName(problem.step.kind, .putBack), lost)
        }
        if let problem {
            let why = "putting it back on \(previous.short) failed at \(problem.step.kind.rawValue): \(problem.reason)"
            return track.rollbackFailed(StepName(problem.step.kind, .putBack), why)
        }
        await restore(.putBack)
        track.rolledBack()
    }
}

extension HostRollout {
    private var stopReason: String { stop.leaseLost.map { "stopped: \($0)" } ?? "stopped by the operator" }

    /// Whether the host is on the target and its `<state>/env` is `environment` (by SHA-256, read on the host with the
    /// plan's `env_digest` step, which is reported here: what it found means something only against the target).
    private func runsEnvironment(_ environment: String, onTarget: Bool) -> Bool {
        guard let read = track.environment else { return false }
        let same = read.digest == EnvFile.digest(ofRendered: environment)
        track.reportEnvironment(!onTarget ? "not compared: the host changes revision"
            : same ? "same environment" : "the environment differs: it changes")
        return onTarget && same
    }

    /// The plan's `failure_logs` step: the last lines of the compose logs of a host that failed after it changed,
    /// shown before it is put back (which replaces the containers that wrote them). Reading them never fails the
    /// host; a read that fails is said instead.
    private func showFailureLogs() async {
        guard let step = plan.putBackStep(.failureLogs) else { return }
        let title = "compose logs (last \(HostCommands.failureLogLines) lines of each container)"
        let text: String
        do {
            let result = try await session.runQuietly(step, [:], timeout: min(plan.host.ssh.commandTimeout, .seconds(30)))
            text = result.succeeded ? result.stdout : result.stdout + "(\(HostSession.reason(of: result)))\n"
        } catch is CancellationError {
            return
        } catch {
            text = "(could not read them: \(error))\n"
        }
        session.emit(.diagnostics(FailureDiagnostics(kind: .composeLogs, title: title, text: text)))
    }

    /// A lost lease means another rollout may own the host now: change nothing more on it.
    private func haltIfLeaseLost() throws {
        if let lost = stop.leaseLost { throw StepFailure(step: .lockRefresh, reason: lost) }
    }

    /// Takes the host out of the gateway's rotation; a failure stops the host before it changes.
    func drain(phase: StepPhase = .rollout) async throws {
        guard let gateway else { return }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let detail = try await gateway.drain(service: session.service, host: name)
            session.report(.gatewayDrain, phase, .ok, start.duration(to: clock.now), detail)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let reason = String(describing: error)
            session.report(.gatewayDrain, phase, .failed, start.duration(to: clock.now), reason)
            throw StepFailure(step: .gatewayDrain, reason: reason)
        }
    }

    /// Puts the host back into rotation; a failure is reported and does not change the host's result.
    func restore(_ phase: StepPhase) async {
        guard let gateway else { return }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let detail = try await gateway.restore(service: session.service, host: name)
            session.report(.gatewayRestore, phase, .ok, start.duration(to: clock.now), detail)
        } catch {
            session.report(.gatewayRestore, phase, .failed, start.duration(to: clock.now), String(describing: error))
        }
    }
}
