import Foundation

/// Where a host stands at this moment of a rollout, as far as the tool knows.
public enum HostState: Sendable, Equatable {
    /// Not reached yet.
    case waiting
    /// Reached; nothing on it changed. Its revision, when known.
    case untouched(revision: String?)
    /// Being moved from one revision to another (checkout, compose up or health gate running).
    case changing(from: String, to: String)
    /// On the new revision and healthy.
    case onTarget(String)
    /// Being put back on its previous revision; `done` are the put-back steps it finished (`checkout`, …).
    case puttingBack(to: String, done: [StepKind] = [])
    /// Back on its previous revision and healthy.
    case onPrevious(String)
    /// Not known to be healthy on any revision: a person must look.
    case unknown(String)

    /// Whether the host may be neither on its old revision nor healthy if the rollout stops here.
    public var needsAttention: Bool {
        switch self {
        case .changing, .puttingBack, .unknown: return true
        case .waiting, .untouched, .onTarget, .onPrevious: return false
        }
    }

    /// On the rollout's target: a success, unless the rollout was stopped at once (then a host left changed).
    public var isOnTarget: Bool {
        if case .onTarget = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .waiting: return "not started, unchanged"
        case .untouched(let revision): return "unchanged" + (revision.map { " on \($0.shortSHA)" } ?? "")
        case .changing(let from, let to): return "was being changed from \(from.shortSHA) to \(to.shortSHA): revision and health unknown"
        case .onTarget(let sha): return "on \(sha.shortSHA), healthy"
        case .puttingBack(let to, let done):
            guard let last = done.last else { return "was being put back on \(to.shortSHA), no step of it done: revision and health unknown" }
            let revision = done.contains(.checkout) ? "checked out \(to.shortSHA)" : "revision unknown"
            return "was being put back on \(to.shortSHA), stopped after \(last.rawValue): \(revision), health unknown"
        case .onPrevious(let sha): return "back on \(sha.shortSHA), healthy"
        case .unknown(let why): return "not known to be healthy: \(why)"
        }
    }
}

extension HostState {
    /// What a host's row says when a second Ctrl-C stopped the rollout at once in this state: `outcome` (the row so
    /// far) brought up to what the monitor last saw. `target` is the commit the rollout aimed for, if known.
    public func outcomeAfterAbort(_ outcome: HostOutcome, target sha: String?) -> HostOutcome {
        var outcome = outcome
        let stopped = "stopped at once by a second Ctrl-C"
        switch self {
        case .waiting, .untouched: break
        case .onTarget(let revision):
            outcome.result = .succeeded
            outcome.revision = revision
        case .onPrevious(let revision):
            outcome.result = .rolledBack
            outcome.revision = revision
        case .changing(let from, let to):
            outcome = HostOutcome(host: outcome.host, result: .interrupted, from: from, to: to, revision: nil,
                                  reason: "\(stopped); \(description)")
        case .puttingBack(let previous, let done):
            outcome.result = .interrupted
            outcome.to = outcome.to ?? sha
            // What it last saw: a checkout that finished put the previous revision in place.
            outcome.revision = done.contains(.checkout) ? previous : nil
            outcome.reason = "\(stopped); \(description)"
        case .unknown:
            outcome.result = .interrupted
            outcome.to = outcome.to ?? sha
            outcome.revision = nil
            outcome.reason = "\(stopped); \(description)"
        }
        return outcome
    }
}

/// The live state of every host of a run, readable at any moment (a second Ctrl-C prints it).
public final class RolloutMonitor: @unchecked Sendable {
    private let lock = NSLock()
    private var states: [String: [(host: String, state: HostState)]] = [:]
    private var order: [String] = []

    public init() {}

    func register(service: String, hosts: [String]) {
        lock.lock()
        defer { lock.unlock() }
        if states[service] == nil { order.append(service) }
        states[service] = hosts.map { ($0, HostState.waiting) }
    }

    func set(service: String, host: String, _ state: HostState) {
        lock.lock()
        defer { lock.unlock() }
        guard let index = states[service]?.firstIndex(where: { $0.host == host }) else { return }
        states[service]?[index].state = state
    }

    /// `service`'s outcome when the rollout did not come back after a second Ctrl-C (the process is about to exit):
    /// each host as the monitor last saw it, the result as the rollout's own end would have decided it for a stop
    /// at once, and every host's lock possibly left. `started` is what `deploy_started` said.
    public func abandonedOutcome(_ started: DeployStarted, service: String, elapsed: Duration) -> ServiceOutcome {
        let rows = snapshot().filter { $0.service == service }
        let hosts = rows.map { $0.state.outcomeAfterAbort(HostOutcome(host: $0.host, result: .notStarted), target: nil) }
            .sorted { $0.host < $1.host }
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
        lock.lock()
        defer { lock.unlock() }
        return order.flatMap { service in (states[service] ?? []).map { (service, $0.host, $0.state) } }
    }
}
