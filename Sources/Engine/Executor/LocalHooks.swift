import Foundation
import Inventory
import Plan

/// The service's local hooks (`before`, `after`): argv run on the operator's machine in the inventory's
/// directory, under the command timeout, with the rollout's `OPENCLAW_*` variables. Each is reported as a
/// service-wide step.
struct LocalHooks {
    let plan: ServicePlan
    let context: RunContext
    let deployID: String

    enum Kind: String {
        case before, after
    }

    /// Runs the hook of `kind` if the service has one. Returns the failure, if any.
    func run(_ kind: Kind, ref: String?, sha: CommitID?, result: DeployResult? = nil) async -> StepFailure? {
        let hooks = plan.service.hooks
        guard let argv = kind == .before ? hooks.before : hooks.after, let executable = argv.first else { return nil }
        // The operator's environment without what `from_env` reads: a hook never sees the service's secrets.
        var environment = context.secrets.localEnvironment()
        environment["OPENCLAW_SERVICE"] = plan.service.name
        environment["OPENCLAW_ACTION"] = plan.action.rawValue
        environment["OPENCLAW_REF"] = ref ?? ""
        environment["OPENCLAW_SHA"] = sha?.value ?? ""
        environment["OPENCLAW_HOSTS"] = plan.hosts.map(\.host.name).joined(separator: ",")
        environment["OPENCLAW_DEPLOY_ID"] = deployID
        environment["OPENCLAW_OPERATOR"] = context.options.operatorName
        if let result { environment["OPENCLAW_RESULT"] = result.rawValue }
        let timeout = plan.hosts.first?.host.ssh.commandTimeout ?? .seconds(600)
        let clock = ContinuousClock()
        let start = clock.now
        let failure: String?
        var detail: String?
        do {
            let output = try await ChildProcess.capture(executable, Array(argv.dropFirst()), directory: context.hookDirectory,
                                                        environment: environment, timeout: timeout)
            detail = [output.stdout, output.stderr].compactMap { $0.split(whereSeparator: \.isNewline).last.map(String.init) }.last
            // Past 64 KiB a stream is counted, not kept: the line shown is then not its last, and that is said.
            let dropped = output.stdoutDropped + output.stderrDropped
            if dropped > 0 { detail = (detail ?? "") + " (\(dropped) more bytes of output not kept)" }
            failure = output.status == 0 ? nil : "exit status \(output.status)" + (detail.map { ": \($0)" } ?? "")
        } catch {
            failure = String(describing: error)
        }
        let elapsed = start.duration(to: clock.now)
        let name: StepKind = kind == .before ? .hookBefore : .hookAfter
        let step = StepReport(step: name, status: failure == nil ? .ok : .failed, elapsed: elapsed,
                              detail: failure ?? detail)
        context.sink.emit(RolloutEvent(service: plan.service.name, payload: .step(step)))
        return failure.map { StepFailure(step: name, reason: $0) }
    }
}
