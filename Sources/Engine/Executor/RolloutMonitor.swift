import Commands
import Foundation
import Inventory
import Plan
import Synchronization

/// Where a host stands at this moment of a rollout, as far as the tool knows: the one state each host moves
/// through (`HostTrack`), from which its row in `deploy_finished`, its events and what a second Ctrl-C prints
/// are all derived.
public enum HostState: Sendable, Equatable {
    /// Not reached yet.
    case waiting
    /// Reached; nothing on it changed. Its revision, once it answered.
    case untouched(revision: CommitID?)
    /// Failed before anything on it changed.
    case failed(revision: CommitID?)
    /// Stopped (Ctrl-C, a lost lease) before anything on it changed.
    case cancelled(revision: CommitID?)
    /// Already on the target with the same environment, and healthy: left as it was.
    case noChange(CommitID)
    /// Being moved from `previous` to `target` (checkout, env, compose up or health gate running).
    case changing(previous: CommitID, target: CommitID)
    /// On the new revision and healthy.
    case onTarget(previous: CommitID, target: CommitID)
    /// Being put back on `previous`; `done` are the put-back steps it finished (`checkout`, …).
    case puttingBack(previous: CommitID, target: CommitID, done: [StepKind])
    /// Back on its previous revision and healthy.
    case onPrevious(previous: CommitID, target: CommitID)
    /// Not known to be healthy on any revision (putting it back failed): a person must look.
    case unknown(previous: CommitID, target: CommitID, why: String)
    /// Changed, then left as it was: the lease was lost, so it is neither verified nor put back.
    case leftChanged(previous: CommitID, target: CommitID, why: String)

    /// Whether the host may be neither on its old revision nor healthy if the rollout stops here.
    public var needsAttention: Bool {
        switch self {
        case .changing, .puttingBack, .unknown, .leftChanged: return true
        case .waiting, .untouched, .failed, .cancelled, .noChange, .onTarget, .onPrevious: return false
        }
    }

    /// On the rollout's target: a success, unless the rollout was stopped at once (then a host left changed).
    public var isOnTarget: Bool {
        if case .onTarget = self { return true }
        return false
    }

    /// Whether anything on the host changed (and so it must be put back on a failure).
    var changed: Bool {
        switch self {
        case .waiting, .untouched, .failed, .cancelled, .noChange: return false
        case .changing, .onTarget, .puttingBack, .onPrevious, .unknown, .leftChanged: return true
        }
    }

    public var description: String {
        switch self {
        case .waiting: return "not started, unchanged"
        case .untouched(let revision), .failed(let revision), .cancelled(let revision):
            return "unchanged" + (revision.map { " on \($0.short)" } ?? "")
        case .noChange(let revision): return "on \(revision.short), healthy, unchanged"
        case .changing(let from, let to): return "was being changed from \(from.short) to \(to.short): revision and health unknown"
        case .onTarget(_, let sha): return "on \(sha.short), healthy"
        case .puttingBack(let to, _, let done):
            guard let last = done.last else { return "was being put back on \(to.short), no step of it done: revision and health unknown" }
            let revision = done.contains(.checkout) ? "checked out \(to.short)" : "revision unknown"
            return "was being put back on \(to.short), stopped after \(last.rawValue): \(revision), health unknown"
        case .onPrevious(let sha, _): return "back on \(sha.short), healthy"
        case .unknown(_, _, let why), .leftChanged(_, _, let why): return "not known to be healthy: \(why)"
        }
    }
}

/// One host's rollout as a state machine. Every move the engine makes on a host is a call here, which checks it
/// against the state, keeps the new state and reports the event the move stands for: each event is reported in
/// this one place. A move that does not fit the state (a success of a host that is not changing) changes nothing
/// and reports nothing. The host's row (`outcome`) is derived from the state, also after a second Ctrl-C stopped the
/// rollout at once.
public final class HostTrack: Sendable {
    public let service: String
    public let host: String
    private let sink: any RolloutEventSink
    private let record = Mutex(Record())

    private struct Record {
        var state: HostState = .waiting
        /// The first failure on the host, and why; the row keeps it after the host is put back.
        var failedStep: StepName?
        var reason: String?
        /// The commit the host is sent to, once its batch started.
        var target: CommitID?
        var since: ContinuousClock.Instant?
        var elapsed: Duration = .zero
        /// The host's `env_digest` answer, until it is told.
        var environment: EnvironmentRead?
    }

    init(service: String, host: String, sink: any RolloutEventSink) {
        self.service = service
        self.host = host
        self.sink = sink
    }

    public var state: HostState { record.withLock { $0.state } }

    /// The revision the host was on before the rollout, once it answered.
    var previous: CommitID? {
        switch state {
        case .waiting: return nil
        case .untouched(let revision), .failed(let revision), .cancelled(let revision): return revision
        case .noChange(let revision): return revision
        case .changing(let previous, _), .onTarget(let previous, _), .puttingBack(let previous, _, _), .onPrevious(let previous, _),
             .unknown(let previous, _, _), .leftChanged(let previous, _, _): return previous
        }
    }

    // MARK: The environment digest

    /// The host's `env_digest` answer, as the steps before a change brought it.
    var environment: EnvironmentRead? { record.withLock { $0.environment } }

    func environmentRead(_ read: EnvironmentRead) {
        record.withLock { $0.environment = read }
    }

    /// Tells the `env_digest` step, once: what comparing it found, or why it was not compared. Its time is the time of
    /// the script it ran in (told with that script's first step).
    func reportEnvironment(_ detail: String) {
        guard let read = record.withLock({ record -> EnvironmentRead? in
            defer { record.environment = nil }
            return record.environment
        }) else { return }
        emit(.step(StepReport(step: .envDigest, phase: .rollout, status: .ok, elapsed: read.elapsed, detail: detail, together: true)))
    }

    // MARK: Moves

    /// The host answered what the plan asks before a change: it is on `revision`.
    func reached(_ revision: CommitID) {
        record.withLock { if case .waiting = $0.state { $0.state = .untouched(revision: revision) } }
    }

    /// Its batch starts: it is sent to `target` (`host_started`).
    func started(batch: Int, target: CommitID) {
        let revision = record.withLock { record -> CommitID?? in
            guard case .untouched(let revision) = record.state, record.target == nil else { return nil }
            record.target = target
            record.since = .now
            return revision
        }
        if let revision { emit(.hostStarted(batch: batch, revision: revision)) }
    }

    /// A step failed. Before any change the host ends `failed`; after one (on the way or on the target), the failure
    /// is kept for its row and the host waits to be put back (`host_failed` either way). The first failure is the
    /// host's cause; a host that already ended (failed, put back, left) takes no other.
    func fail(_ step: StepName, _ reason: String) {
        let changed = record.withLock { record -> Bool? in
            switch record.state {
            case .waiting, .untouched:
                record.state = .failed(revision: Self.revision(before: record.state))
                Self.end(&record)
            case .changing, .onTarget:
                break
            case .failed, .cancelled, .noChange, .puttingBack, .onPrevious, .unknown, .leftChanged:
                return nil
            }
            record.failedStep = record.failedStep ?? step
            record.reason = record.reason ?? reason
            return record.state.changed
        }
        if let changed { emit(.hostFailed(HostFailure(step: step, reason: reason, changed: changed))) }
    }

    /// Stopped before anything on it changed (no event: the run's end says why).
    func cancel(_ reason: String) {
        record.withLock { record in
            guard !record.state.changed else { return }
            record.state = .cancelled(revision: Self.revision(before: record.state))
            record.reason = reason
            Self.end(&record)
        }
    }

    /// Already on the target with the same environment, and healthy (`host_succeeded`).
    func unchanged() {
        let outcome = record.withLock { record -> HostOutcome? in
            guard case .untouched(let revision?) = record.state else { return nil }
            record.state = .noChange(revision)
            Self.end(&record)
            return Self.outcome(record, host: host)
        }
        if let outcome { emit(.hostSucceeded(outcome)) }
    }

    /// Its `started` record is written: the host is about to change.
    func changing() {
        record.withLock { record in
            guard case .untouched(let previous?) = record.state, let target = record.target else { return }
            record.state = .changing(previous: previous, target: target)
        }
    }

    /// On the target and healthy (`host_succeeded`).
    func succeeded() {
        let outcome = record.withLock { record -> HostOutcome? in
            guard case .changing(let previous, let target) = record.state else { return nil }
            record.state = .onTarget(previous: previous, target: target)
            Self.end(&record)
            return Self.outcome(record, host: host)
        }
        if let outcome { emit(.hostSucceeded(outcome)) }
    }

    /// Its put back begins (a host that had ended on the target is timed from here).
    func puttingBack() {
        record.withLock { record in
            switch record.state {
            case .onTarget(let previous, let target):
                record.since = .now
                record.state = .puttingBack(previous: previous, target: target, done: [])
            case .changing(let previous, let target):
                record.state = .puttingBack(previous: previous, target: target, done: [])
            default: break
            }
        }
    }

    /// One step of its put back finished (a second Ctrl-C says how far it got).
    func putBackStepDone(_ step: StepKind) {
        record.withLock { record in
            if case .puttingBack(let previous, let target, let done) = record.state {
                record.state = .puttingBack(previous: previous, target: target, done: done + [step])
            }
        }
    }

    /// Back on its previous revision and healthy (`host_rolled_back`).
    func rolledBack() {
        let outcome = record.withLock { record -> HostOutcome? in
            guard case .puttingBack(let previous, let target, _) = record.state else { return nil }
            record.state = .onPrevious(previous: previous, target: target)
            Self.end(&record)
            return Self.outcome(record, host: host)
        }
        if let outcome { emit(.hostRolledBack(outcome)) }
    }

    /// Putting it back failed at `step` (`host_failed`): a person must look.
    func rollbackFailed(_ step: StepName, _ why: String) {
        let moved = record.withLock { record -> Bool in
            guard case .puttingBack(let previous, let target, _) = record.state else { return false }
            record.state = .unknown(previous: previous, target: target, why: why)
            if record.failedStep == nil {
                record.failedStep = step
                record.reason = why
            }
            Self.end(&record)
            return true
        }
        if moved { emit(.hostFailed(HostFailure(step: step, reason: why, changed: true))) }
    }

    /// The lease was lost while it was changed: left as it is, neither verified nor put back. `step` is the step it
    /// was at, when the loss stopped one.
    func leftChanged(at step: StepName?, _ lost: String) {
        record.withLock { record in
            let why = "left as it was, neither verified nor put back: \(lost)"
            switch record.state {
            case .changing(let previous, let target), .onTarget(let previous, let target), .puttingBack(let previous, let target, _):
                record.state = .leftChanged(previous: previous, target: target, why: why)
            default: return
            }
            record.failedStep = record.failedStep ?? step
            record.reason = why
            Self.end(&record)
        }
    }

    // MARK: The row

    /// The host's row as the rollout ends.
    public var outcome: HostOutcome { record.withLock { Self.outcome($0, host: host) } }

    /// The host's row when a second Ctrl-C stopped the rollout at once: a host caught while changing or being put
    /// back is `interrupted`, with what was last seen of it.
    public var outcomeAfterAbort: HostOutcome {
        record.withLock { record in
            var outcome = Self.outcome(record, host: host)
            let stopped = "stopped at once by a second Ctrl-C; \(record.state.description)"
            switch record.state {
            case .changing, .unknown:
                outcome.result = .interrupted
                outcome.revision = nil
                outcome.reason = stopped
            case .puttingBack(let previous, _, let done):
                outcome.result = .interrupted
                // What it last saw: a checkout that finished put the previous revision in place.
                outcome.revision = done.contains(.checkout) ? previous : nil
                outcome.reason = stopped
            default: break
            }
            return outcome
        }
    }

    private static func outcome(_ record: Record, host: String) -> HostOutcome {
        let result: HostResult
        var from: CommitID?
        var revision: CommitID?
        var reason = record.reason
        switch record.state {
        case .waiting:
            result = .notStarted
        case .untouched(let previous):
            (result, from, revision) = (.notStarted, previous, previous)
        case .failed(let previous):
            (result, from, revision) = (.failed, previous, previous)
        case .cancelled(let previous):
            (result, from, revision) = (.cancelled, previous, previous)
        case .noChange(let previous):
            (result, from, revision) = (.noChange, previous, previous)
        case .changing(let previous, _):
            // Only while it runs (or after a second Ctrl-C): not where it ends on its own.
            (result, from, revision) = (.interrupted, previous, nil)
        case .onTarget(let previous, let target):
            (result, from, revision) = (.succeeded, previous, target)
        case .puttingBack(let previous, _, _):
            (result, from, revision) = (.interrupted, previous, nil)
        case .onPrevious(let previous, _):
            (result, from, revision) = (.rolledBack, previous, previous)
        case .unknown(let previous, _, _):
            (result, from, revision) = (.rollbackFailed, previous, nil)
        case .leftChanged(let previous, _, let why):
            (result, from, revision) = (.interrupted, previous, nil)
            reason = why
        }
        let target: CommitID? = if case .untouched = record.state { nil } else { record.target }
        return HostOutcome(host: host, result: result, from: from, to: target, revision: revision,
                           failedStep: result == .cancelled ? nil : record.failedStep, reason: reason, elapsed: record.elapsed)
    }

    private static func revision(before state: HostState) -> CommitID? {
        if case .untouched(let revision) = state { return revision }
        return nil
    }

    private static func end(_ record: inout Record) {
        if let since = record.since { record.elapsed = since.duration(to: .now) }
    }

    private func emit(_ payload: RolloutEvent.Payload) {
        sink.emit(RolloutEvent(service: service, host: host, payload: payload))
    }
}

/// The live state of every host of a run, readable at any moment (a second Ctrl-C prints it): each host's
/// `HostTrack`.
public final class RolloutMonitor: Sendable {
    private let tracks = Mutex<[(service: String, tracks: [HostTrack])]>([])

    public init() {}

    /// A track for each of `hosts` (in that order), reporting to `sink`.
    func register(service: String, hosts: [String], sink: any RolloutEventSink) -> [HostTrack] {
        let made = hosts.map { HostTrack(service: service, host: $0, sink: sink) }
        tracks.withLock { all in
            all.removeAll { $0.service == service }
            all.append((service, made))
        }
        return made
    }

    /// `service`'s outcome when the rollout did not come back after a second Ctrl-C (the process is about to exit):
    /// each host as its track last saw it, the result as the rollout's own end would have decided it for a stop
    /// at once, and every host's lock possibly left. `started` is what `deploy_started` said.
    public func abandonedOutcome(_ started: DeployStarted, service: String, elapsed: Duration) -> ServiceOutcome {
        let rows = tracks.withLock { all in all.first { $0.service == service }?.tracks ?? [] }
        let hosts = rows.map(\.outcomeAfterAbort).sorted { $0.host < $1.host }
        let attention = rows.filter { $0.state.needsAttention }.map(\.host)
            + hosts.filter { $0.result == .succeeded || $0.result == .interrupted }.map(\.host)
        let result: DeployResult
        let error: RolloutError
        if attention.isEmpty {
            result = hosts.contains { $0.result == .rolledBack } ? .rolledBack : .stopped
            error = .stoppedByOperator(service: service)
        } else {
            result = .rollbackFailed
            error = .rollbackIncomplete(service: service, hosts: Array(Set(attention)).sorted(),
                                        cause: "stopped at once by a second Ctrl-C; the rollout did not come back in time")
        }
        return ServiceOutcome(service: service, action: started.action, deployID: started.deployID, ref: started.ref, sha: nil,
                              result: result, error: error, hosts: hosts, elapsed: elapsed,
                              locksLeft: rows.map(\.host).sorted(), aborted: true)
    }

    /// Every host of every service, in the order services started and hosts are named.
    public func snapshot() -> [(service: String, host: String, state: HostState)] {
        tracks.withLock { all in all.flatMap { entry in entry.tracks.map { (entry.service, $0.host, $0.state) } } }
    }
}
