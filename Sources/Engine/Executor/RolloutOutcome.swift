import Commands
import Foundation
import Inventory
import Plan

/// How one host ended a rollout. The first four are the SPEC's results; the others say why a host
/// did not change.
public enum HostResult: String, Sendable, Equatable {
    case succeeded
    case noChange = "no_change"
    case rolledBack = "rolled_back"
    case rollbackFailed = "rollback_failed"
    /// Failed before anything on it changed.
    case failed
    /// Stopped by Ctrl-C before anything on it changed.
    case cancelled
    /// Never started: an earlier host failed or the rollout was stopped.
    case notStarted = "not_started"
    /// Changed, then left as it was: the rollout lost its lock (another rollout may own the host now), or a
    /// second Ctrl-C stopped it at once. Not verified, not put back.
    case interrupted
}

/// The result of a whole service's rollout, as `deploy_finished` carries it.
public enum DeployResult: String, Sendable, Equatable {
    case succeeded
    case noChange = "no_change"
    /// The rollout did not complete: some host had changed, and every host that changed is back on its
    /// previous revision and healthy.
    case rolledBack = "rolled_back"
    /// The rollout stopped before any host changed: a lock held, a host unreachable, a failed preflight or
    /// `before` hook, a ref that does not resolve, a lost lock, an operator's stop. Nothing was put back
    /// because nothing had changed.
    case stopped
    /// Some host is not known to be healthy on its previous revision: a person must look.
    case rollbackFailed = "rollback_failed"
}

public struct HostOutcome: Sendable, Equatable {
    public var host: String
    public var result: HostResult
    /// Revision before the rollout (nil when the host was never reached).
    public var from: CommitID?
    /// Revision the rollout aimed for.
    public var to: CommitID?
    /// Revision the host was left on, as far as the tool knows.
    public var revision: CommitID?
    /// Step that failed on this host, and why.
    public var failedStep: StepName?
    public var reason: String?
    public var elapsed: Duration

    public init(host: String, result: HostResult, from: CommitID? = nil, to: CommitID? = nil, revision: CommitID? = nil,
                failedStep: StepName? = nil, reason: String? = nil, elapsed: Duration = .zero) {
        self.host = host
        self.result = result
        self.from = from
        self.to = to
        self.revision = revision
        self.failedStep = failedStep
        self.reason = reason
        self.elapsed = elapsed
    }
}

public struct ServiceOutcome: Sendable, Equatable {
    public var service: String
    public var action: RolloutAction
    public var deployID: String
    public var ref: String?
    /// The one commit every host was sent to; nil when the rollout stopped before resolving it.
    public var sha: CommitID?
    public var result: DeployResult
    /// Why the rollout did not succeed; nil on success and no_change.
    public var error: RolloutError?
    /// Every targeted host, in host-name order.
    public var hosts: [HostOutcome]
    public var elapsed: Duration
    /// Locks that could not be released (the host was lost); `lock release --force` clears them.
    public var locksLeft: [String]
    /// Whether a second Ctrl-C stopped the rollout at once.
    public var aborted: Bool
    /// Whether a Ctrl-C ended the watch after the last batch (the new revision stayed).
    public var watchCutShort = false
}

/// Every service of one `deploy`/`rollback` run.
public struct RolloutReport: Sendable, Equatable {
    public var services: [ServiceOutcome]
    /// What went wrong putting hosts back into the gateway's rotation at the end, one line each.
    public var gatewayProblems: [String]

    public init(services: [ServiceOutcome], gatewayProblems: [String] = []) {
        self.services = services
        self.gatewayProblems = gatewayProblems
    }
}
