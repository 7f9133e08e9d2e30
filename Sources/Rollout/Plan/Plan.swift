import Inventory

/// What a rollout will do, service by service: printed by `plan`, run by `deploy`.
public struct Plan: Sendable {
    public var services: [ServicePlan]

    public init(services: [ServicePlan]) { self.services = services }
}

public struct ServicePlan: Sendable {
    public var service: Service
    public var target: PlanTarget
    /// Hosts changed together; for canary tiers the first batch is the canary alone.
    public var batches: [[ServiceHost]]
    /// One entry per targeted host, in host-name order.
    public var hostSteps: [HostPlan]

    public init(service: Service, target: PlanTarget, batches: [[ServiceHost]], hostSteps: [HostPlan]) {
        self.service = service
        self.target = target
        self.batches = batches
        self.hostSteps = hostSteps
    }
}

/// The ref to deploy and, once known, the commit it names. The same commit goes to every host.
public struct PlanTarget: Sendable, Equatable {
    public var ref: GitRef
    /// Full commit id; nil while offline (the plan then shows `<sha of REMOTE/REF>` in its place).
    public var sha: String?

    public init(ref: GitRef, sha: String?) {
        self.ref = ref
        self.sha = sha
    }
}

public struct HostPlan: Sendable {
    public var host: ServiceHost
    public var steps: [PlannedStep]

    public init(host: ServiceHost, steps: [PlannedStep]) {
        self.host = host
        self.steps = steps
    }
}

public struct PlannedStep: Sendable {
    public var kind: StepKind
    /// The exact remote command; nil for the health gate, which is an HTTP request through the connection.
    public var command: RemoteCommand?
    /// One line for people: what the step does and why.
    public var summary: String

    public init(kind: StepKind, command: RemoteCommand?, summary: String) {
        self.kind = kind
        self.command = command
        self.summary = summary
    }
}

public enum StepKind: String, Sendable, CaseIterable {
    case lock, preflight
    case currentRevision = "current_revision"
    case fetch, resolve, checkout
    case composeUp = "compose_up"
    case healthGate = "health_gate"
    case history, unlock
}
