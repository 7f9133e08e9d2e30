import ArgumentParser
import Inventory
import Rollout

/// `deploy SERVICE... | --all`: roll services out, each by its own tier's policy.
public struct DeployCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Roll out services: lock, preflight, one commit for every host, batches, health gates, put back on failure.",
        discussion: "`openclaw-deploy SERVICE...` is short for `openclaw-deploy deploy SERVICE...`."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var selection: ServiceSelectionOptions

    @OptionGroup var policy: PolicyOverrideOptions

    @Option(help: "Branch, tag or commit to deploy (default: each service's branch).")
    var ref: String?

    @Option(help: "Services rolled out at once, with --all or several services (default: 4).")
    var parallel: Int?

    @Flag(help: "Print the plan that would run, touch nothing.")
    var dryRun = false

    @OptionGroup var hostKeys: HostKeyOptions

    public init() {}

    public func validate() throws {
        if !selection.all && selection.services.isEmpty { throw ValidationError("name at least one service, or pass --all") }
        if let parallel {
            if parallel < 1 { throw ValidationError("--parallel must be at least 1") }
            // It sets how many services roll out at once: with one service it would silently mean nothing.
            if !selection.all && selection.services.count < 2 {
                throw ValidationError("--parallel sets how many services roll out at once; use it with --all or several services")
            }
        }
    }

    public func run() async throws {
        let inventory = try global.loadInventory()
        let plan = Planner.plan(try selection.select(from: inventory), ref: try parseRef(ref), overrides: policy.overrides)
        if dryRun {
            switch global.format {
            case .json: LineOutput.standardOutput.write(plan.jsonDocument)
            case .text: LineOutput.standardOutput.write(PlanRenderer(color: global.useColor).render(plan))
            }
            return
        }
        let factory = hostKeys.factory
        try await RolloutRunner(global: global, inventory: inventory, plan: plan, factory: factory, parallel: parallel ?? 4).run()
    }
}
