import Foundation
import Inventory
import Plan

/// Runs a `Plan` — the very one `plan` prints — against real hosts through a `TransportFactory`.
/// Services run in parallel (at most `parallelServices` at once), each by its own tier's policy.
public struct Executor: Sendable {
    public let factory: any TransportFactory
    public let sink: any RolloutEventSink
    public let stop: StopSignal
    public let monitor: RolloutMonitor
    public let options: ExecutorOptions
    /// The API gateway's rotation, when the inventory has a gateway.
    public let gateway: (any GatewayHook)?
    /// The secret values the plan's environments name, resolved before any host was contacted.
    public let secrets: Secrets
    /// Where local hooks run: the inventory's directory.
    public let hookDirectory: String?

    public init(factory: any TransportFactory, sink: any RolloutEventSink, stop: StopSignal = StopSignal(),
                monitor: RolloutMonitor = RolloutMonitor(), options: ExecutorOptions = ExecutorOptions(),
                gateway: (any GatewayHook)? = nil, secrets: Secrets = Secrets(), hookDirectory: String? = nil) {
        self.gateway = gateway
        self.secrets = secrets
        self.hookDirectory = hookDirectory
        self.factory = factory
        self.sink = sink
        self.stop = stop
        self.monitor = monitor
        self.options = options
    }

    /// Rolls out every service of the plan and reports each one's outcome, in plan order.
    /// Never throws: every failure is an outcome. Cancelling the calling task stops at once.
    public func run(_ plan: Plan) async -> RolloutReport {
        // Every event leaves redacted, before a reporter fits its texts to a terminal.
        let context = RunContext(factory: factory, sink: RedactingSink(inner: sink, redactor: secrets.redactor), stop: stop,
                                 monitor: monitor, options: options, gateway: gateway, secrets: secrets, hookDirectory: hookDirectory)
        let services = plan.services
        let width = max(1, options.parallelServices)
        let stop = stop
        let done = await BoundedConcurrency.map(services, limit: width, startsMore: { !stop.isRequested }) { service in
            await ServiceRollout(plan: service, context: context.forService()).run()
        }
        // A service a stop request kept from starting is reported as stopped, with nothing changed.
        let outcomes = services.indices.map { done[$0] ?? Self.notStarted(services[$0]) }
        // Stopped at once (a second Ctrl-C): no new remote command, not even the gateway's; a host it drained
        // stays out of rotation until the next rollout or `gateway deploy`.
        let gatewayProblems = Task.isCancelled ? [] : await gateway?.finish() ?? []
        return RolloutReport(services: outcomes, gatewayProblems: gatewayProblems)
    }

    static func notStarted(_ plan: ServicePlan) -> ServiceOutcome {
        let hosts = plan.hosts.map { HostOutcome(host: $0.host.name, result: .notStarted) }
        return ServiceOutcome(service: plan.service.name, action: plan.action, deployID: "", ref: plan.target.ref?.value, sha: nil,
                              result: .stopped, error: .stoppedByOperator(service: plan.service.name), hosts: hosts,
                              elapsed: .zero, locksLeft: [], aborted: false)
    }
}
