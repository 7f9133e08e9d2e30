import ArgumentParser
import Commands
import Inventory
import Plan
import Engine
import Fleet

/// `rollback SERVICE [--to REV]`: put a service back on the revision before the newest deploy that changed a host.
public struct RollbackCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Put a service back on the revision before the newest deploy that changed a host (from history), or on --to.",
        usage: "openclaw-deploy rollback <service> [--to <rev>] [--host <name>]... [opts]",
        discussion: "That deploy is the newest one that succeeded on a host or was interrupted after it started changing one; "
            + "deploys that were rolled back, failed or changed nothing are skipped. Runs like a deploy: the same locks, "
            + "preflight, batches and health gates; a host that fails is put back where it was."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var selection: OneServiceOptions

    @Option(help: "Revision (commit, tag or branch) to go to instead of the one history names.", transform: refArgument)
    var to: GitRef?

    @OptionGroup var policy: PolicyOverrideOptions

    @Flag(help: "Connect read-only, take no lock, read history, and show each host's revision and the target; change nothing.")
    var dryRun = false

    @OptionGroup var lockWait: LockWaitOption

    @OptionGroup var capacity: CapacityOption

    @OptionGroup var hostKeys: HostKeyOptions

    public init() {}

    public func run() async throws {
        let inventory = try global.loadInventory()
        let chosen = try selection.select(from: inventory)
        let ref = to
        let plan = Planner.plan([chosen], action: .rollback, ref: ref, overrides: policy.overrides, gateway: inventory.gateway)
        let factory = hostKeys.factory
        guard dryRun else {
            try await RolloutRunner(global: global, inventory: inventory, plan: plan, factory: factory, parallel: 1, lockWait: lockWait.duration,
                                allowBelowCapacity: capacity.allowBelowCapacity).run()
            return
        }
        let report = await PlanCheck.run(plan, factory: factory, secrets: try await plan.readSecrets(inventory))
        switch global.format {
        case .json:
            // The plan document, with the target the hosts' history (or --to) names.
            let resolved = report.services.first?.sha.map { [chosen.service.name: $0] } ?? [:]
            LineOutput.standardOutput.write(Planner.plan([chosen], action: .rollback, ref: ref, resolved: resolved,
                                                         overrides: policy.overrides, gateway: inventory.gateway).jsonDocument)
        case .text:
            LineOutput.standardOutput.write(TextFit.wrappedLines(PlanCheckRenderer(color: global.useColor).render(report),
                                                                 width: global.textWidth))
        }
        // A dry run reports; it fails only when a host cannot be reached (SPEC: exit 0).
        if report.hasUnreachableHosts { throw ReportedOutcome(category: .unreachable) }
    }
}
