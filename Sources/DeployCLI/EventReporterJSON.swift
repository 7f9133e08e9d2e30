import Commands
import Foundation
import Plan
import Synchronization
import Engine

/// `--format json` for deploy and rollback: one JSON object per line per event, each with `event`,
/// `time`, `service` and (where one applies) `host`, then the event's own fields.
final class JSONLinesEventReporter: EventReporter, Sendable {
    private let out: LineOutput
    /// Services whose `deploy_started` went out and whose `deploy_finished` has not, with when they started: a
    /// stream always ends each of them, even when the process exits without the rollout's own end. Once `closed`
    /// (the stream was ended for the process's exit), the rollout's late events are dropped, so nothing follows a
    /// service's last `deploy_finished`.
    private struct Stream {
        var open: [String: (started: DeployStarted, at: ContinuousClock.Instant)] = [:]
        var closed = false
    }
    private let stream = Mutex(Stream())

    init(out: LineOutput = .standardOutput) {
        self.out = out
    }

    func emit(_ event: RolloutEvent) {
        // The `step` event at its end carries everything about a step; its start would only add a line per step.
        if case .stepStarted = event.payload { return }
        let line = Self.line(event)
        // Checked and written under one lock: the end `abandon` writes is the last line of each service.
        stream.withLock { stream in
            guard !stream.closed else { return }
            switch event.payload {
            case .deployStarted(let started): stream.open[event.service] = (started, .now)
            case .deployFinished: stream.open.removeValue(forKey: event.service)
            default: break
            }
            out.write(line)
        }
    }

    func finish(_ report: RolloutReport) {}

    func abandon(_ monitor: RolloutMonitor) {
        stream.withLock { stream in
            for (service, entry) in stream.open.sorted(by: { $0.key < $1.key }) {
                let outcome = monitor.abandonedOutcome(entry.started, service: service, elapsed: .now - entry.at)
                out.write(Self.line(RolloutEvent(service: service, payload: .deployFinished(outcome))))
            }
            stream.open = [:]
            stream.closed = true
        }
    }

    /// One event as its JSON line.
    static func line(_ event: RolloutEvent) -> String { JSONValue.object(fields(of: event)).compact + "\n" }

    static func fields(of event: RolloutEvent) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [
            ("event", .string(event.name)),
            ("time", .string(JSONValue.timestamp(event.time))),
            ("service", .string(event.service)),
        ]
        if let host = event.host { fields.append(("host", .string(host))) }
        switch event.payload {
        case .deployStarted(let s):
            fields += [("action", .string(s.action.rawValue)), ("deploy_id", .string(s.deployID)), ("ref", .optional(s.ref)),
                       ("tier", .string(s.tier)),
                       ("batches", .array(s.batches.map { .array($0.map(JSONValue.string)) })),
                       ("canary", .bool(s.canary)), ("bake_seconds", .int(s.bakeSeconds)), ("healthy_after", Self.hostValues(s.healthyAfter))]
        case .hostStarted(let batch, let revision):
            fields += [("batch", .int(Int64(batch))), ("revision", .optional(revision?.value))]
        case .step(let step):
            fields += [("step", .string(step.step.rawValue)), ("phase", .string(step.phase.rawValue)), ("status", .string(step.status.rawValue)),
                       ("elapsed_ms", .int(step.elapsed.milliseconds)), ("detail", .optional(step.detail)),
                       ("together", .bool(step.together))]
        case .healthProbe(let p):
            fields += [("phase", .string(p.phase.rawValue)), ("attempt", .int(Int64(p.attempt))),
                       ("status", p.status.map { .int(Int64($0)) } ?? .null), ("error", .optional(p.error)),
                       ("consecutive", .int(Int64(p.consecutive))), ("needed", .int(Int64(p.needed))),
                       ("time_left_ms", .int(p.timeLeft.milliseconds))]
        case .hostSucceeded(let outcome), .hostRolledBack(let outcome):
            fields += hostFields(outcome)
        case .hostFailed(let failure):
            fields += [("step", .string(failure.step.description)), ("reason", .string(failure.reason)), ("changed", .bool(failure.changed))]
        case .stepStarted(let step, let phase):
            fields += [("step", .string(step.rawValue)), ("phase", .string(phase.rawValue))]
        case .trafficSample(let sample):
            func side(_ side: TrafficSide) -> JSONValue {
                .object([("requests", .int(Int64(side.requests))), ("errors_5xx", .int(Int64(side.errors))),
                         ("p95_ms", .int(Int64((side.p95 * 1000).rounded())))])
            }
            fields += [("step", .string(sample.step.rawValue)), ("changed_hosts", .array(sample.changedHosts.map(JSONValue.string))),
                       ("changed", side(sample.verdict.changed)), ("baseline", side(sample.verdict.baseline)),
                       ("baseline_from", .string(sample.baselineFrom.rawValue)), ("verdict", .string(sample.verdict.word)),
                       ("detail", .optional(sample.verdict.reason)), ("read_error", .optional(sample.readError))]
        case .lockWait(let wait):
            fields += [("holder", .string(wait.holder)), ("waited_ms", .int(wait.waited.milliseconds)),
                       ("left_ms", .int(wait.left.milliseconds))]
        case .diagnostics(let diagnostics):
            fields += [("kind", .string(diagnostics.kind.rawValue)), ("title", .string(diagnostics.title)), ("text", .string(diagnostics.text))]
        case .deployFinished(let outcome):
            fields += [("action", .string(outcome.action.rawValue)), ("deploy_id", .string(outcome.deployID)),
                       ("result", .string(outcome.result.rawValue)), ("exit_code", .int(Int64(RolloutExit.code(for: outcome)))),
                       ("ref", .optional(outcome.ref)), ("sha", .optional(outcome.sha?.value)),
                       ("error", .optional(outcome.error?.description)), ("elapsed_ms", .int(outcome.elapsed.milliseconds)),
                       ("hosts", .array(outcome.hosts.map { .object([("host", .string($0.host))] + hostFields($0)) })),
                       ("locks_left", .array(outcome.locksLeft.map(JSONValue.string))), ("aborted", .bool(outcome.aborted)),
                       ("watch_cut_short", .bool(outcome.watchCutShort))]
        }
        return fields
    }

    /// One number when every host agrees, else an object of each host's value (as in the plan document).
    static func hostValues(_ values: HostValues<Int>) -> JSONValue {
        if let uniform = values.uniform { return .int(Int64(uniform)) }
        return .object(values.byHost.map { ($0.host, .int(Int64($0.value))) })
    }

    static func hostFields(_ outcome: HostOutcome) -> [(String, JSONValue)] {
        [("result", .string(outcome.result.rawValue)), ("from", .optional(outcome.from?.value)), ("to", .optional(outcome.to?.value)),
         ("revision", .optional(outcome.revision?.value)), ("failed_step", .optional(outcome.failedStep?.description)),
         ("reason", .optional(outcome.reason)), ("elapsed_ms", .int(outcome.elapsed.milliseconds))]
    }
}
