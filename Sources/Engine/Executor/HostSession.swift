import Commands
import Inventory
import Plan

/// A step that did not succeed on a host, in words for the operator.
struct StepFailure: Error, Sendable {
    var step: StepName
    var reason: String

    init(step: StepKind, phase: StepPhase = .rollout, reason: String) {
        self.step = StepName(step, phase)
        self.reason = reason
    }
}

/// One host's connection and its plan: every step of that host runs through here, with the plan's own
/// command (late values filled in), and every step is reported as an event when it ends.
package struct HostSession: Sendable {
    let service: String
    let plan: HostPlan
    let transport: any Transport
    let sink: any RolloutEventSink
    /// The run's secret values, for host text cut short before it is reported.
    let redactor: Redactor

    var host: ServiceHost { plan.host }

    init(service: String, plan: HostPlan, sink: any RolloutEventSink, redactor: Redactor = .none, transport: any Transport) {
        self.service = service
        self.plan = plan
        self.transport = transport
        self.sink = sink
        self.redactor = redactor
    }

    /// Runs the plan's `step` under the host's command timeout (or `timeout`), and reports it. `input` is the
    /// step's stdin, for a step whose plan says it reads one.
    /// A non-zero exit, a timeout or a lost connection throws `StepFailure`; task cancellation is rethrown.
    @discardableResult
    func run(_ step: PlannedStep, _ values: [LateValue: String] = [:], input: String? = nil, phase: StepPhase = .rollout,
             timeout: Duration? = nil, okDetail: (CommandResult) -> String? = { _ in nil }) async throws -> CommandResult {
        let name = step.kind
        // A cancelled rollout (a second Ctrl-C) starts no new remote command.
        try Task.checkCancellation()
        let clock = ContinuousClock()
        let start = clock.now
        emit(.stepStarted(step: name, phase: phase))
        let result: CommandResult
        do {
            result = try await transport.run(try Self.line(step, values), input: input, timeout: timeout ?? host.ssh.commandTimeout)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let reason = String(describing: error)
            report(name, phase, .failed, start.duration(to: clock.now), reason)
            throw StepFailure(step: name, phase: phase, reason: reason)
        }
        let elapsed = start.duration(to: clock.now)
        guard result.succeeded else {
            let reason = Self.reason(of: result)
            report(name, phase, .failed, elapsed, reason)
            throw StepFailure(step: name, phase: phase, reason: reason)
        }
        report(name, phase, .ok, elapsed, okDetail(result))
        return result
    }

    /// Runs `steps` (consecutive steps of the plan's `sentTogether`) as one script, in one round trip, under the
    /// host's command timeout (one remote command, one bound). Each step is reported as it would be alone (with the
    /// round trip's time), except those in `unreported`, which the caller reports once it can say what they found.
    /// The first step that fails, or whose result did not come back, throws `StepFailure` and the later ones never
    /// ran; a script that timed out or lost its connection fails at its first step, the reason naming them all.
    func runTogether(_ steps: [PlannedStep], _ values: [LateValue: String] = [:], unreported: Set<StepKind> = [],
                     okDetail: (StepKind, CommandResult) -> String? = { _, _ in nil }) async throws -> (results: [StepKind: CommandResult], elapsed: Duration) {
        guard let first = steps.first else { return ([:], .zero) }
        try Task.checkCancellation()
        let clock = ContinuousClock()
        let start = clock.now
        emit(.stepStarted(step: first.kind, phase: .rollout))
        let script: ReadScript
        let reads: [String: CommandResult]
        do {
            script = ReadScript(try steps.map { step in
                guard let command = step.command else {
                    throw StepFailure(step: step.kind, reason: "internal error: the plan's \(step.kind.rawValue) step has no command")
                }
                return ReadScript.Section(step.kind.rawValue, try command.filled(values))
            }, stopsAtFailure: true)
            reads = try await transport.runReads(script, timeout: host.ssh.commandTimeout)
        } catch is CancellationError {
            throw CancellationError()
        } catch let failure as StepFailure {
            report(failure.step.kind, .rollout, .failed, start.duration(to: clock.now), failure.reason)
            throw failure
        } catch {
            let names = steps.map(\.kind.rawValue).joined(separator: ", ")
            // The script itself is no news to the operator: say which steps it carried instead.
            let reason: String
            if case TransportError.timedOut(let host, _, let after)? = error as? TransportError {
                reason = "\(host): the steps sent together (\(names)) did not finish within \(after) and were stopped"
            } else {
                reason = "\(error) (while running the steps sent together: \(names))"
            }
            report(first.kind, .rollout, .failed, start.duration(to: clock.now), reason)
            throw StepFailure(step: first.kind, reason: reason)
        }
        let elapsed = start.duration(to: clock.now)
        var results: [StepKind: CommandResult] = [:]
        for (index, step) in steps.enumerated() {
            let name = step.kind
            let together = index > 0
            guard let result = reads[name.rawValue] else {
                let reason = "its result did not come back from the host (the script's output was cut short)"
                report(name, .rollout, .failed, elapsed, reason, together: together)
                throw StepFailure(step: name, reason: reason)
            }
            guard result.succeeded else {
                let reason = Self.reason(of: result)
                report(name, .rollout, .failed, elapsed, reason, together: together)
                throw StepFailure(step: name, reason: reason)
            }
            results[step.kind] = result
            if !unreported.contains(step.kind) { report(name, .rollout, .ok, elapsed, okDetail(step.kind, result), together: together) }
        }
        return (results, elapsed)
    }

    /// Runs a step whose exit status the caller interprets (lock commands), without reporting it.
    func runQuietly(_ step: PlannedStep, _ values: [LateValue: String], timeout: Duration) async throws -> CommandResult {
        if Task.isCancelled { throw CancellationError() }
        let line = try Self.line(step, values)
        return try await transport.run(line, timeout: timeout)
    }

    /// The plan's command line for `step`, late values filled in.
    static func line(_ step: PlannedStep, _ values: [LateValue: String]) throws -> String {
        guard let command = step.command else {
            throw StepFailure(step: step.kind, reason: "internal error: the plan's \(step.kind.rawValue) step has no command")
        }
        return try command.filled(values).rendered
    }

    func report(_ step: StepKind, _ phase: StepPhase, _ status: StepReport.Status, _ elapsed: Duration, _ detail: String?,
                together: Bool = false) {
        emit(.step(StepReport(step: step, phase: phase, status: status, elapsed: elapsed, detail: detail, together: together)))
    }

    func emit(_ payload: RolloutEvent.Payload) {
        sink.emit(RolloutEvent(service: service, host: host.name, payload: payload))
    }

    /// The last line the command wrote to stderr (or stdout), which is where our remote scripts and
    /// git put the reason, plus how it ended.
    package static func reason(of result: CommandResult) -> String {
        let text = [result.stderr, result.stdout]
            .map { $0.split(whereSeparator: \.isNewline).last.map(String.init) ?? "" }
            .first { !$0.isEmpty }
        let ending = result.signal.map { "killed by SIG\($0)" } ?? "exit status \(result.exitStatus)"
        if let text { return "\(text) (\(ending))" }
        return ending
    }
}

extension String {
    /// First line, trimmed: what a command like `git rev-parse` prints.
    package var firstLine: String {
        String((split(whereSeparator: \.isNewline).first ?? "").drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension HostPlan {
    /// The forward step of `kind`, which the rollout needs: its absence is a defect of the plan, reported
    /// as a failed step rather than papered over with a command built here.
    func required(_ kind: StepKind) throws -> PlannedStep {
        guard let step = step(kind) else { throw StepFailure(step: kind, reason: "internal error: the plan has no \(kind.rawValue) step") }
        return step
    }

    func requiredPutBack(_ kind: StepKind) throws -> PlannedStep {
        guard let step = putBackStep(kind) else {
            throw StepFailure(step: kind, phase: .putBack, reason: "internal error: the plan has no put-back \(kind.rawValue) step")
        }
        return step
    }
}
