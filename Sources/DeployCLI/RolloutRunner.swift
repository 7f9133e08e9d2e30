import Commands
import ExitCategories
import Foundation
import Gateway
import Inventory
import Plan
import Engine

/// What `deploy` and `rollback` share: run the plan through the executor with reporters, Ctrl-C
/// handling and the gateway's rotation, then exit with the SPEC's code.
struct RolloutRunner {
    let global: GlobalOptions
    let inventory: Inventory
    let plan: Plan
    let factory: any TransportFactory
    let parallel: Int
    /// `--lock-wait`: how long to wait for a lock another live rollout holds.
    var lockWait: Duration = .zero
    /// `--allow-below-capacity`.
    var allowBelowCapacity = false

    /// Runs the rollout and throws the most serious failure (mapped to its exit code in one place),
    /// or returns when every service succeeded or needed no change.
    func run() async throws {
        // Every secret is read before any host is contacted: a missing one is exit 65 with nothing touched.
        let secrets = try await plan.readSecrets(inventory)
        let stop = StopSignal()
        let monitor = RolloutMonitor()
        let reporter = makeReporter()
        var options = ExecutorOptions()
        options.parallelServices = parallel
        options.lockWait = lockWait
        options.allowBelowCapacity = allowBelowCapacity
        let gateway: (any GatewayHook)? = try plan.gateway.map { try GatewayDrainer(inventory: inventory, plan: $0, factory: factory) }
        let executor = Executor(factory: factory, sink: reporter, stop: stop, monitor: monitor, options: options, gateway: gateway,
                                secrets: secrets, hookDirectory: inventory.directory)

        let interrupts = InterruptHandling(stop: stop, monitor: monitor)
        let plan = plan
        let task = Task { await executor.run(plan) }
        interrupts.install(onAbort: { task.cancel() }, lastWords: { reporter.abandon(monitor) })
        let report = await task.value
        interrupts.uninstall()
        reporter.finish(report)
        if report.services.contains(where: \.aborted) {
            LineOutput.standardError.write(InterruptHandling.abortReport(monitor))
        }
        if let error = RolloutExit.mostSerious(report) { throw error }
    }

    private func makeReporter() -> any EventReporter {
        switch global.format {
        case .json:
            return JSONLinesEventReporter()
        case .text:
            return TextEventReporter(color: global.useColor,
                                     hostNames: plan.services.flatMap { $0.batches.flatMap { $0.map(\.name) } },
                                     serviceNames: plan.services.map(\.service.name), width: global.textWidth)
        }
    }
}

/// Rollout outcomes as exit codes: the worst service decides.
enum RolloutExit {
    /// The failure to exit with, nil for 0. A rollback that failed comes first (a person must look),
    /// then a failed rollout, then an unreachable host, then a held lock.
    static func mostSerious(_ report: RolloutReport) -> (any CategorizedError)? {
        let errors = report.services.compactMap(\.error)
        guard let error = errors.min(by: { rank($0.category) < rank($1.category) }) else { return nil }
        // Several services went wrong: one error line names every one of them, the exit is the worst's.
        if errors.count > 1 { return ServicesFailed(category: error.category, errors: errors, total: report.services.count) }
        return error
    }

    /// How serious a category is, most first: a switch, so a category added later cannot be left out (a stale
    /// saved plan's exit 65 once was, and its run exited 0).
    static func rank(_ category: ExitCategory) -> Int {
        switch category {
        case .needsAttention: 0
        case .failed: 1
        case .invalidInventory: 2
        case .unreachable: 3
        case .lockHeld: 4
        case .usage: 5
        }
    }

    /// The exit code one service's outcome alone would give.
    static func code(for outcome: ServiceOutcome) -> Int32 {
        guard let error = outcome.error else { return ExitStatus.success.rawValue }
        return ExitStatus.of(error.category).rawValue
    }
}

/// More than one service of a rollout did not succeed: each is named with its own error.
struct ServicesFailed: CategorizedError {
    var category: ExitCategory
    var errors: [RolloutError]
    var total: Int
    var description: String {
        "\(errors.count) of \(total) services did not succeed:\n" + errors.map { "  " + $0.description }.joined(separator: "\n")
    }
}
