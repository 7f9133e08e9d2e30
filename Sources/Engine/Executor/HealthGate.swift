import Inventory
import Plan

/// How a health gate (or a bake) ended.
enum HealthGateResult: Sendable, Equatable {
    case passed
    case failed(String)
    /// The operator asked to stop while it waited.
    case stopped
}

/// Asks the host's health URL, through the host's own connection, until it has answered 2xx
/// `healthy_after` times in a row, or `timeout` has passed: the plan's gate for the host, as shown.
struct HealthGate {
    let session: HostSession
    let stop: StopSignal

    private var health: GatePolicy { session.plan.gate }

    /// The gate. In the rollout phase a stop request ends the wait (the host is then put back); while
    /// putting a host back only task cancellation does.
    func run(phase: StepPhase) async throws -> HealthGateResult {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: health.timeout)
        let needed = max(1, health.healthyAfter)
        let interruptible = phase == .rollout
        var attempt = 0
        var consecutive = 0
        var lastAnswer = "no answer"
        var lastBody: (status: Int, body: String)?
        func finish(_ result: HealthGateResult) -> HealthGateResult {
            let elapsed = start.duration(to: clock.now)
            switch result {
            case .passed:
                session.report(.healthGate, phase, .ok, elapsed, "\(needed) consecutive 2xx after \(attempt) probe\(attempt == 1 ? "" : "s")")
            case .failed(let reason):
                session.report(.healthGate, phase, .failed, elapsed, reason)
                if let lastBody { session.emit(.diagnostics(Self.bodyDiagnostics(status: lastBody.status, body: session.redactor.redact(lastBody.body)))) }
            case .stopped:
                session.report(.healthGate, phase, .failed, elapsed, "stopped by the operator while waiting")
            }
            return result
        }
        while true {
            if stop.shouldStop(interruptible: interruptible) { return finish(.stopped) }
            try Task.checkCancellation()
            attempt += 1
            let answer = await probe(timeout: Self.probeTimeout(left: clock.now.duration(to: deadline)))
            if let status = answer.status, (200..<300).contains(status) {
                consecutive += 1
            } else {
                consecutive = 0
            }
            lastAnswer = answer.status.map { "HTTP \($0)" } ?? answer.error ?? "no answer"
            lastBody = answer.status.map { ($0, answer.body) }
            let left = clock.now.duration(to: deadline)
            session.emit(.healthProbe(HealthProbeReport(
                phase: phase, attempt: attempt, status: answer.status, error: answer.error,
                consecutive: consecutive, needed: needed, timeLeft: max(left, .zero))))
            if consecutive >= needed { return finish(.passed) }
            if left < health.interval {
                return finish(.failed("no \(needed) consecutive 2xx from \(health.url) within \(formatDuration(health.timeout)); last answer: \(lastAnswer)"))
            }
            if try await !stop.sleep(for: health.interval, interruptible: interruptible) { return finish(.stopped) }
        }
    }

    /// Watches a canary for `duration`: every probe, one per interval, must answer 2xx.
    func bake(for duration: Duration) async throws -> HealthGateResult {
        let clock = ContinuousClock()
        let start = clock.now
        let end = start.advanced(by: duration)
        var attempt = 0
        while clock.now < end {
            if try await !stop.sleep(for: min(health.interval, clock.now.duration(to: end)), interruptible: true) {
                session.report(.bake, .rollout, .failed, start.duration(to: clock.now), "stopped by the operator while baking")
                return .stopped
            }
            attempt += 1
            let answer = await probe(timeout: Self.probeTimeout(left: health.interval))
            // Cancelled (another host or the traffic failed first): not this host's failure.
            if Task.isCancelled { return .stopped }
            session.emit(.healthProbe(HealthProbeReport(
                phase: .rollout, attempt: attempt, status: answer.status, error: answer.error,
                consecutive: answer.healthy ? attempt : 0, needed: attempt, timeLeft: max(clock.now.duration(to: end), .zero))))
            if !answer.healthy {
                let reason = "health failed while baking: " + (answer.status.map { "HTTP \($0)" } ?? answer.error ?? "no answer")
                session.report(.bake, .rollout, .failed, start.duration(to: clock.now), reason)
                return .failed(reason)
            }
        }
        session.report(.bake, .rollout, .ok, start.duration(to: clock.now), "healthy for \(formatDuration(duration))")
        return .passed
    }

    /// Watches a changed host for `duration` after the last batch, one probe per interval: `needed` unhealthy answers
    /// in a row fail it. A stop request ends the watch early (`.stopped`; the caller keeps the new revision).
    func watch(for duration: Duration, failuresInARow needed: Int) async throws -> HealthGateResult {
        let clock = ContinuousClock()
        let start = clock.now
        let end = start.advanced(by: duration)
        var attempt = 0
        var failures = 0
        while clock.now < end {
            if try await !stop.sleep(for: min(health.interval, clock.now.duration(to: end)), interruptible: true) { return .stopped }
            attempt += 1
            let answer = await probe(timeout: Self.probeTimeout(left: health.interval))
            if Task.isCancelled { return .stopped }
            guard !answer.healthy else {
                failures = 0
                continue
            }
            failures += 1
            if failures >= max(1, needed) {
                let last = answer.status.map { "HTTP \($0)" } ?? answer.error ?? "no answer"
                let reason = "\(failures) unhealthy answer\(failures == 1 ? "" : "s") in a row while watching, "
                    + "\(formatDuration(start.duration(to: clock.now))) after the last batch; last answer: \(last)"
                session.report(.watch, .rollout, .failed, start.duration(to: clock.now), reason)
                if let status = answer.status {
                    session.emit(.diagnostics(Self.bodyDiagnostics(status: status, body: session.redactor.redact(answer.body))))
                }
                return .failed(reason)
            }
        }
        session.report(.watch, .rollout, .ok, start.duration(to: clock.now),
                       "healthy for \(formatDuration(duration)) (\(attempt) probe\(attempt == 1 ? "" : "s"))")
        return .passed
    }

    struct Answer {
        var status: Int?
        var error: String?
        var body = ""
        var healthy: Bool { status.map { (200..<300).contains($0) } ?? false }
    }

    /// One GET of the health URL; never throws (a refused or timed-out probe is an unhealthy answer).
    func probe(timeout: Duration) async -> Answer {
        do {
            let response = try await session.transport.httpGet(health.url, timeout: timeout)
            return Answer(status: response.status, error: nil, body: response.body)
        } catch {
            return Answer(status: nil, error: String(describing: error))
        }
    }

    /// The start of the last answer's body, for the operator to read why the host is unhealthy (`body` already
    /// redacted: a cut could leave part of a secret).
    static func bodyDiagnostics(status: Int, body: String) -> FailureDiagnostics {
        let (text, cut) = FailureDiagnostics.prefix(body, bytes: FailureDiagnostics.bodyBytes)
        let size = cut ? "first \(FailureDiagnostics.bodyBytes) of \(body.utf8.count) bytes" : "\(body.utf8.count) bytes"
        return FailureDiagnostics(kind: .healthBody, title: "last health answer: HTTP \(status), body (\(size))", text: text)
    }

    static func probeTimeout(left: Duration) -> Duration {
        min(.seconds(5), max(left, .milliseconds(200)))
    }
}
