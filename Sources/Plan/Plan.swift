import Commands
import Inventory

/// What a rollout will do, service by service: printed by `plan`, run by `deploy` and `rollback`.
public struct Plan: Sendable {
    public var services: [ServicePlan]
    /// The gateway host's steps, when a service of the plan is drained there while its hosts change.
    public var gateway: GatewayPlan?

    public init(services: [ServicePlan], gateway: GatewayPlan? = nil) {
        self.services = services
        self.gateway = gateway
    }
}

public struct ServicePlan: Sendable {
    public var service: Service
    public var action: RolloutAction
    public var target: PlanTarget
    /// The tier's policy with this run's overrides applied: the one the rollout follows.
    public var policy: TierPolicy
    /// Hosts changed together; for canary tiers the first batch is the canary alone.
    public var batches: [[ServiceHost]]
    /// One entry per targeted host, in host-name order: the lock order.
    public var hosts: [HostPlan]
    /// A saved plan's record of each host's revision when `plan --check --out` made it: a deploy of the plan stops
    /// before any change (exit 65) when a host is somewhere else now. Empty: nothing recorded.
    public var recordedRevisions: [String: CommitID] = [:]

    public init(service: Service, action: RolloutAction = .deploy, target: PlanTarget, policy: TierPolicy,
                batches: [[ServiceHost]], hosts: [HostPlan]) {
        self.service = service
        self.action = action
        self.target = target
        self.policy = policy
        self.batches = batches
        self.hosts = hosts
    }

    public func host(named name: String) -> HostPlan? { hosts.first { $0.host.name == name } }

    /// Whether the rollout judges the changed hosts' real requests through the gateway (set by `Planner` when the
    /// inventory has a gateway and `trafficJudgeable` holds).
    public var judgesTraffic = false

    /// Given a gateway: `rollout.traffic` is on, the gateway routes the service, and there is a canary's bake or a
    /// watch to judge in.
    package var trafficJudgeable: Bool {
        guard policy.traffic != nil, service.route != nil else { return false }
        return (policy.canary && policy.bake > .zero && batches.count > 1) || policy.watch > .zero
    }

    /// The `healthy_after` the gates apply: one value, or each host's when they differ.
    public var healthyAfter: HostValues<Int> { HostValues(hosts.map { ($0.host.name, $0.gate.healthyAfter) }) }
}

/// A value per host, shown once when every host has the same.
public struct HostValues<Value: Sendable & Equatable>: Sendable, Equatable {
    public var byHost: [(host: String, value: Value)]

    public init(_ byHost: [(String, Value)]) { self.byHost = byHost.map { (host: $0.0, value: $0.1) } }

    /// The value every host has, nil when they differ.
    public var uniform: Value? {
        guard let first = byHost.first?.value, byHost.allSatisfy({ $0.value == first }) else { return nil }
        return first
    }

    public static func == (a: HostValues, b: HostValues) -> Bool {
        a.byHost.map(\.host) == b.byHost.map(\.host) && a.byHost.map(\.value) == b.byHost.map(\.value)
    }
}

/// Where the target commit comes from, and the commit once it is known.
public struct PlanTarget: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// A branch, tag or commit (`--ref`, `--to`, or the service's branch), resolved once on the first host.
        case ref(GitRef)
        /// `rollback` without `--to`: the revision before the newest deploy that changed a host, from history.
        case history
    }

    public var source: Source
    /// Nil until known: offline plans show `<target>` in its place.
    public var commit: CommitID?

    public init(source: Source, commit: CommitID?) {
        self.source = source
        self.commit = commit
    }

    public var ref: GitRef? {
        if case .ref(let ref) = source { return ref }
        return nil
    }
}

/// What the health gate of a host applies: the host's own `health` settings, tier defaults filled in.
public struct GatePolicy: Sendable, Equatable {
    public var url: HealthURL
    public var healthyAfter: Int
    public var timeout: Duration
    public var interval: Duration

    public init(url: HealthURL, healthyAfter: Int, timeout: Duration, interval: Duration) {
        self.url = url
        self.healthyAfter = healthyAfter
        self.timeout = timeout
        self.interval = interval
    }
}

/// Every step of one host, in the order they run. The executor takes its commands from here and from
/// nowhere else.
public struct HostPlan: Sendable {
    public var host: ServiceHost
    /// Forward steps, in order: lock, preflight, current revision, (read history), fetch, (resolve), history
    /// started, checkout, compose up, health gate, history, unlock.
    public var steps: [PlannedStep]
    /// Run periodically while the rollout holds the lock.
    public var lockRefresh: PlannedStep
    /// Run on a host that failed after it changed (or that must be undone): back to `<previous>`.
    public var putBack: [PlannedStep]
    public var gate: GatePolicy
    /// What `<state>/env` holds after this host changes: the `env` step's input.
    public var env: EnvFile
    /// Consecutive forward steps sent to the host as one script, in one round trip (`ReadScript` with
    /// `stopsAtFailure`): each step framed, run in the plan's order, stopping at the first that fails.
    public var sentTogether: [[StepKind]]

    public init(host: ServiceHost, steps: [PlannedStep], lockRefresh: PlannedStep, putBack: [PlannedStep], gate: GatePolicy,
                env: EnvFile, sentTogether: [[StepKind]]) {
        self.host = host
        self.steps = steps
        self.lockRefresh = lockRefresh
        self.putBack = putBack
        self.gate = gate
        self.env = env
        self.sentTogether = sentTogether
    }

    /// The steps of `kinds` in plan order, as `sentTogether` sends them.
    public func steps(_ kinds: [StepKind]) -> [PlannedStep] { steps.filter { kinds.contains($0.kind) } }

    /// The forward step of `kind`; nil when this host's plan has none (only the first host resolves).
    public func step(_ kind: StepKind) -> PlannedStep? { steps.first { $0.kind == kind } }

    /// The put-back step of `kind`.
    public func putBackStep(_ kind: StepKind) -> PlannedStep? { putBack.first { $0.kind == kind } }
}

/// One step of a plan: what runs, named by its kind, with a line for people. A host's own steps
/// (`PlannedStep`) and the gateway host's (`GatewayStep`) are this one type; they differ in their kinds and
/// in whether the command may be missing (the health gate of a host is an HTTP request, not a command).
public struct Step<Kind: Sendable & RawRepresentable, Command: Sendable>: Sendable where Kind.RawValue == String {
    public var kind: Kind
    /// The exact remote command, late values as `<label>`.
    public var command: Command
    /// One line for people: what the step does and why.
    public var summary: String
    /// What the command reads on stdin; nil: nothing.
    public var input: StepInput?

    public init(kind: Kind, command: Command, summary: String, input: StepInput? = nil) {
        self.kind = kind
        self.command = command
        self.summary = summary
        self.input = input
    }
}

/// A step of one host's plan; its command is nil for the health gate, which is an HTTP request through the connection.
public typealias PlannedStep = Step<StepKind, RemoteCommand?>

/// A step's stdin: how secrets reach a host without appearing on a command line.
public enum StepInput: String, Sendable {
    /// The host's `EnvFile`, rendered with the secrets' values when the step runs.
    case envFile = "env_file"
}

public enum StepKind: String, Sendable, CaseIterable {
    case lock, preflight
    case currentRevision = "current_revision"
    case readHistory = "read_history"
    case fetch, resolve, checkout
    /// The digest of the environment the host runs with, compared when it is already on the target.
    case envDigest = "env_digest"
    /// Writes `<state>/env`; in the put-back branch `envRestore` puts the one before back.
    case env
    case envRestore = "env_restore"
    case beforeUp = "before_up"
    case composeUp = "compose_up"
    case healthGate = "health_gate"
    /// The `started` history record, written before the host changes.
    case historyStarted = "history_started"
    case history, unlock
    case lockRefresh = "lock_refresh"
    /// The last lines of the compose logs, read (and shown) when a host failed after it changed.
    case failureLogs = "failure_logs"

    // Steps of a rollout that are not a command of the host's own plan.
    /// Making the host's SSH connection.
    case connect
    /// The service's local hooks (`hooks.before`, `hooks.after`), run on this machine.
    case hookBefore = "hook_before"
    case hookAfter = "hook_after"
    /// The canary's bake: its health watched for the tier's `bake` after its gate passed.
    case bake
    /// Taking the host out of the gateway's rotation, and putting it back (the plan's `GatewayPlan`).
    case gatewayDrain = "gateway_drain"
    case gatewayRestore = "gateway_restore"
    /// A rollback's note, before anything changes, of the deploy it undoes (a service's step, on no host).
    case rollbackTarget = "rollback_target"
    /// Before a batch: every host probed, and the batch shrunk so that `min_healthy` healthy hosts stay in rotation
    /// (a service's step, on no host).
    case capacity
    /// After the last batch: every changed host probed for `rollout.watch`; reported per host, and for the service when
    /// it starts or is cut short.
    case watch
    /// The changed hosts' real requests through the gateway judged against the unchanged ones' during a canary's bake
    /// and the watch (a service's step, on no host; a failing verdict fails each changed host with it).
    case traffic
}

/// A step as a failure names it: its kind, and the branch it failed in (`put_back_checkout` for the put back's
/// checkout).
public struct StepName: Sendable, Equatable, CustomStringConvertible {
    public var kind: StepKind
    public var phase: StepPhase

    public init(_ kind: StepKind, _ phase: StepPhase = .rollout) {
        self.kind = kind
        self.phase = phase
    }

    public var description: String { phase == .putBack ? "put_back_" + kind.rawValue : kind.rawValue }
}

/// What a rollout does: put a new revision on hosts, or put an earlier one back on demand.
public enum RolloutAction: String, Sendable, Equatable {
    case deploy
    case rollback
}

/// Which part of a host's rollout a step belongs to: going forward, or putting the host back.
public enum StepPhase: String, Sendable, Equatable {
    case rollout
    case putBack = "put_back"
}
