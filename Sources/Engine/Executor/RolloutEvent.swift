import Commands
import Foundation
import Inventory
import Plan

/// One thing that happened during a rollout, as reporters (text or JSON Lines) see it.
public struct RolloutEvent: Sendable, Equatable {
    public var time: Date
    public var service: String
    /// The host the event is about; nil for service-wide events.
    public var host: String?
    public var payload: Payload

    public init(time: Date = Date(), service: String, host: String? = nil, payload: Payload) {
        self.time = time
        self.service = service
        self.host = host
        self.payload = payload
    }

    public enum Payload: Sendable, Equatable {
        case deployStarted(DeployStarted)
        case hostStarted(batch: Int, revision: CommitID?)
        case step(StepReport)
        case healthProbe(HealthProbeReport)
        case hostSucceeded(HostOutcome)
        case hostFailed(HostFailure)
        case hostRolledBack(HostOutcome)
        case deployFinished(ServiceOutcome)
        /// What a failed host said, so the cause is on the screen: the health URL's last answer, its compose logs.
        case diagnostics(FailureDiagnostics)
        /// A remote step began (its `step` event follows when it ends). Text output uses it to show a long step
        /// is alive; JSON Lines output leaves it out.
        case stepStarted(step: StepKind, phase: StepPhase)
        /// `--lock-wait`: a host's lock is held by another live rollout, and this one waits (holding no lock).
        case lockWait(LockWaitReport)
        /// One reading of the traffic judge during a canary's bake or the watch (a service's event, on no host).
        case trafficSample(TrafficSample)
    }

    /// The SPEC's event name (`deploy_started`, `host_started`, …).
    public var name: String {
        switch payload {
        case .deployStarted: return "deploy_started"
        case .hostStarted: return "host_started"
        case .step: return "step"
        case .healthProbe: return "health_probe"
        case .hostSucceeded: return "host_succeeded"
        case .hostFailed: return "host_failed"
        case .hostRolledBack: return "host_rolled_back"
        case .deployFinished: return "deploy_finished"
        case .diagnostics: return "diagnostics"
        case .stepStarted: return "step_started"
        case .lockWait: return "lock_wait"
        case .trafficSample: return "traffic_sample"
        }
    }
}

/// One check of a lock this rollout waits for: who holds it (`first`: the first time it is seen, so a reporter names
/// the holder once), how long it has waited and how long it will still wait.
public struct LockWaitReport: Sendable, Equatable {
    public var holder: String
    public var first: Bool
    public var waited: Duration
    public var left: Duration
}

public struct DeployStarted: Sendable, Equatable {
    public var action: RolloutAction
    public var deployID: String
    /// The ref as asked for (`main`, a tag, a SHA); for a rollback from history, the revision found there.
    public var ref: String?
    public var tier: String
    public var batches: [[String]]
    public var canary: Bool
    public var bakeSeconds: Int64
    /// What each host's gate applies (one value when they agree).
    public var healthyAfter: HostValues<Int>
}

/// One remote step of one host, reported when it ends.
public struct StepReport: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable {
        case ok
        case failed
    }

    /// `lock`, `preflight`, `current_revision`, `fetch`, `resolve`, `checkout`, `compose_up`,
    /// `health_gate`, `bake`, `history`, `unlock`, `lock_refresh`.
    public var step: StepKind
    public var phase: StepPhase
    public var status: Status
    public var elapsed: Duration
    /// A short result (`revision 1a2b3c4`) or the reason it failed.
    public var detail: String?
    /// The step went to the host in the same round trip (one script) as the step reported before it: `elapsed` is
    /// that round trip's time, already counted there.
    public var together: Bool

    public init(step: StepKind, phase: StepPhase = .rollout, status: Status, elapsed: Duration, detail: String? = nil,
                together: Bool = false) {
        self.step = step
        self.phase = phase
        self.status = status
        self.elapsed = elapsed
        self.detail = detail
        self.together = together
    }
}

/// One answer (or non-answer) of the health URL while a gate waits.
public struct HealthProbeReport: Sendable, Equatable {
    public var phase: StepPhase
    public var attempt: Int
    /// HTTP status of the answer; nil when no answer came (`error` says why).
    public var status: Int?
    public var error: String?
    public var consecutive: Int
    public var needed: Int
    public var timeLeft: Duration
}

public struct HostFailure: Sendable, Equatable {
    public var step: StepName
    public var reason: String
    /// Whether the host had been changed when it failed (and so must be put back).
    public var changed: Bool
}

/// Receives every event of a rollout, in order per host. Called from many tasks: implementations
/// serialize their own output.
public protocol RolloutEventSink: Sendable {
    func emit(_ event: RolloutEvent)
}

/// Text a failed host gave, shown as it came (control characters are escaped by the text reporter).
public struct FailureDiagnostics: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The start of the body of the health URL's last answer.
        case healthBody = "health_body"
        /// The last lines of the compose project's logs.
        case composeLogs = "compose_logs"
    }

    public var kind: Kind
    /// What the text is, for people: `last health answer: HTTP 404, first 500 bytes of its body`.
    public var title: String
    public var text: String

    public init(kind: Kind, title: String, text: String) {
        self.kind = kind
        self.title = title
        self.text = text
    }

    /// Bytes of a health answer's body shown.
    public static let bodyBytes = 500

    /// The first `bytes` bytes of `text` (never splitting a character).
    public static func prefix(_ text: String, bytes: Int) -> (text: String, cut: Bool) {
        let utf8 = Array(text.utf8)
        guard utf8.count > bytes else { return (text, false) }
        var end = bytes
        // Back off continuation bytes (10xxxxxx): the cut falls before the character they belong to.
        while end > 0, utf8[end] & 0xC0 == 0x80 { end -= 1 }
        return (String(decoding: utf8[..<end], as: UTF8.self), true)
    }
}
