/// Failures of planning and rolling out, each described in the words a person reads.
import Commands
import ExitCategories
import Inventory
import Plan

public enum RolloutError: Error, Sendable, Equatable, CategorizedError {
    /// Another rollout holds the service lock on a host; nothing was changed (exit 3).
    case lockHeld(service: String, host: String, holder: LockHolder?, stale: LockHolder.Staleness?)
    /// A host could not be reached, authenticated or verified before anything changed (exit 4). For a
    /// rollback, `hint` says how to roll back the hosts that can be reached.
    case unreachable(service: String, reason: String, hint: String? = nil)
    /// Steps failed before anything changed, on one host or on several (each named with its step and reason;
    /// exit 1).
    case stepFailed(service: String, failures: [FailedStep])
    /// The local `before` hook failed: no host was changed.
    case hookFailed(service: String, hook: String, reason: String)
    /// Hosts failed their rollout (every one of a batch that failed is named); they and every host already updated
    /// were put back (exit 1).
    case hostFailed(service: String, failures: [FailedStep])
    /// A saved plan's hosts are no longer where `plan --check --out` saw them: each host that moved, with the
    /// revision the plan recorded and the one it runs now. Nothing was changed (exit 65).
    case planStale(service: String, moved: [MovedHost])
    /// A saved plan's ref resolves to another commit than the one the plan was made for (exit 65).
    case planTargetMoved(service: String, ref: String, planned: CommitID, found: CommitID)
    /// A rollback without `--to` found no successful deploy in the hosts' history (exit 1).
    case noPreviousRevision(service: String)
    /// The operator stopped the rollout and every touched host was put back (exit 1).
    case stoppedByOperator(service: String)
    /// Some host is not known to be healthy on its previous revision (exit 2).
    case rollbackIncomplete(service: String, hosts: [String], cause: String)
    /// `lock release` without `--force` met a lock that is not stale (exit 3).
    case lockLive(service: String, host: String, holder: LockHolder?)
    /// The rollout lost its lock (released by force, taken over, or not refreshable in time) and stopped at
    /// once, putting nothing back. `changed` are the hosts it had changed (exit 2 when there are any, else 1).
    case leaseLost(service: String, reason: String, changed: [String])
    /// Not one more host could change without the healthy hosts in rotation falling below `min_healthy`: the rollout
    /// stopped before the batch, changing nothing more (exit 1).
    case belowCapacity(BelowCapacity)

    /// One host that failed its rollout.
    public static func hostFailed(service: String, host: String, step: StepName, reason: String) -> RolloutError {
        .hostFailed(service: service, failures: [FailedStep(host: host, step: step, reason: reason)])
    }

    /// A step that failed on one host before anything changed.
    public static func stepFailed(service: String, host: String, step: StepName, reason: String) -> RolloutError {
        .stepFailed(service: service, failures: [FailedStep(host: host, step: step, reason: reason)])
    }

    public var category: ExitCategory {
        switch self {
        case .lockHeld, .lockLive: return .lockHeld
        case .unreachable: return .unreachable
        case .stepFailed, .hookFailed, .hostFailed, .noPreviousRevision, .stoppedByOperator, .belowCapacity: return .failed
        case .planStale, .planTargetMoved: return .invalidInventory
        case .rollbackIncomplete: return .needsAttention
        case .leaseLost(_, _, let changed): return changed.isEmpty ? .failed : .needsAttention
        }
    }

    /// What went wrong, without what it left behind: the cause a longer message (a put back that failed too)
    /// builds on, so the two never contradict each other.
    public var whatFailed: String {
        switch self {
        case .stepFailed(_, let failures):
            return failures.map { "\($0.host) failed\($0.at): \($0.reason)" }.joined(separator: "; ")
        case .hostFailed(_, let failures):
            return failures.map { "\($0.host) failed\($0.at): \($0.reason)" }.joined(separator: "; ")
        case .hookFailed(_, let hook, let reason): return "the \(hook) hook failed: \(reason)"
        case .stoppedByOperator: return "stopped by the operator"
        default: return description
        }
    }

    public var description: String {
        switch self {
        case .lockHeld(let service, let host, let holder, let stale):
            let who = holder?.description ?? "a holder whose owner.json is missing"
            let next = stale.map { "The lock is stale: \($0). Run `openclaw-deploy lock release \(service)` to remove it." }
                ?? "Wait for that rollout to finish, or see `openclaw-deploy lock status \(service)`."
            return "\(service): the lock on \(host) is held by \(who); nothing was changed. \(next)"
        case .unreachable(let service, let reason, let hint):
            return "\(service): \(reason); nothing was changed. Check the address, the SSH key and known_hosts." + (hint.map { " \($0)" } ?? "")
        case .stepFailed(let service, let failures):
            return "\(service): " + failures.map { "\($0.step) failed on \($0.host): \($0.reason)" }.joined(separator: "; ")
                + "; no host was changed."
        case .hookFailed(let service, let hook, let reason):
            return "\(service): the \(hook) hook failed: \(reason); no host was changed."
        case .hostFailed(let service, let failures):
            return "\(service): " + failures.map { "\($0.host) failed\($0.at): \($0.reason)" }.joined(separator: "; ")
                + "; every host that was changed is back on its previous revision."
        case .planStale(let service, let moved):
            return "\(service): the saved plan is stale: " + moved.map { "\($0.host) was on \($0.recorded.short) when it was saved "
                + "and is on \($0.found.short) now" }.joined(separator: "; ")
                + "; nothing was changed. Make the plan again (plan --check --out FILE) and review it."
        case .planTargetMoved(let service, let ref, let planned, let found):
            return "\(service): the saved plan is stale: \(ref) was \(planned.short) when it was saved and is \(found.short) now; "
                + "nothing was changed. Make the plan again (plan --check --out FILE) and review it."
        case .noPreviousRevision(let service):
            return "\(service): the hosts' history has no successful deploy to roll back from; give the revision with --to REV."
        case .stoppedByOperator(let service):
            return "\(service): stopped by the operator; every host that was changed is back on its previous revision."
        case .rollbackIncomplete(let service, let hosts, let cause):
            return "\(service): \(cause); \(hosts.joined(separator: ", ")) \(hosts.count == 1 ? "is" : "are") not known to be healthy "
                + "on the previous revision. Look at \(hosts.count == 1 ? "it" : "them") now (openclaw-deploy status \(service))."
        case .lockLive(let service, let host, let holder):
            let who = (holder?.description ?? "a holder whose owner.json is missing") + (holder?.expires.map { ", expiring \($0)" } ?? "")
            return "\(service): the lock on \(host) is held by \(who) and is not stale, so it was kept. "
                + "If you are sure that rollout is gone, run `openclaw-deploy lock release \(service) --force`."
        case .leaseLost(let service, let reason, let changed):
            let state = changed.isEmpty
                ? "no host had changed yet, so nothing is left half-done"
                : "\(changed.joined(separator: ", ")) had changed and \(changed.count == 1 ? "was" : "were") left as \(changed.count == 1 ? "it was" : "they were"), "
                    + "not verified and not put back; look at \(changed.count == 1 ? "it" : "them") (openclaw-deploy status \(service))"
            return "\(service): the rollout lost its lock and stopped at once: \(reason); \(state)."
        case .belowCapacity(let floor):
            return floor.description
        }
    }
}


/// Why a rollout stopped at its capacity floor.
public struct BelowCapacity: Error, Sendable, Equatable, CustomStringConvertible {
    public var service: String
    /// The hosts that answered their health URL, of `total` probed.
    public var healthy: [String]
    public var total: Int
    /// Healthy hosts that must stay in rotation, and the setting it comes from.
    public var required: Int
    public var floor: MinHealthy
    /// The batch's hosts that could not change.
    public var blocked: [String]
    /// Hosts this rollout had already changed (left on the new revision: putting them back would take more away).
    public var changed: [String]

    public init(service: String, healthy: [String], total: Int, required: Int, floor: MinHealthy, blocked: [String], changed: [String]) {
        self.service = service
        self.healthy = healthy
        self.total = total
        self.required = required
        self.floor = floor
        self.blocked = blocked
        self.changed = changed
    }

    public var description: String {
        let left = changed.isEmpty ? "no host was changed"
            : "\(changed.joined(separator: ", ")) \(changed.count == 1 ? "stays" : "stay") on the new revision and nothing more was changed"
        return "\(service): stopped at the capacity floor: \(healthy.count) of \(total) host\(total == 1 ? " is" : "s are") healthy "
            + "and at least \(required) must stay healthy in rotation (min_healthy: \(floor)), so \(blocked.joined(separator: ", ")) "
            + "cannot change now; \(left). Bring the unhealthy hosts back (openclaw-deploy status \(service)), or run again with "
            + "--allow-below-capacity to go below the floor for that run."
    }
}

/// A host whose revision is not the one a saved plan recorded for it.
public struct MovedHost: Sendable, Equatable {
    public var host: String
    public var recorded: CommitID
    public var found: CommitID

    public init(host: String, recorded: CommitID, found: CommitID) {
        self.host = host
        self.recorded = recorded
        self.found = found
    }
}

/// A step that failed on a host before anything changed.
public struct FailedStep: Sendable, Equatable {
    public var host: String
    public var step: StepName
    public var reason: String

    /// ` at compose_up`.
    var at: String { " at \(step)" }

    public init(host: String, step: StepName, reason: String) {
        self.host = host
        self.step = step
        self.reason = reason
    }
}
