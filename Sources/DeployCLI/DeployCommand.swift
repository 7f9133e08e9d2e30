import ArgumentParser
import Commands
import Foundation
import Inventory
import Plan
import Engine

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

    @Option(help: "Branch, tag or commit to deploy (default: each service's branch).", transform: refArgument)
    var ref: GitRef?

    @Option(help: "Services rolled out at once (named services: 1, in the order given; --all: 4).")
    var parallel: Int?

    @Flag(help: "Print the plan that would run, touch nothing.")
    var dryRun = false

    @Option(name: .customLong("plan"), help: ArgumentHelp("Run the plan `plan --out FILE` saved, exactly; refused (exit 65) when it "
                                                          + "is stale.", valueName: "file"))
    var savedPlan: String?

    @OptionGroup var lockWait: LockWaitOption

    @OptionGroup var capacity: CapacityOption

    @OptionGroup var hostKeys: HostKeyOptions

    public init() {}

    public func validate() throws {
        if savedPlan != nil && (!selection.services.isEmpty || selection.all || !selection.hosts.isEmpty || ref != nil
                                || policy.batch != nil || policy.noBake || dryRun) {
            throw ValidationError("--plan FILE runs the saved plan as it is: give no services, --all, --host, --ref, --batch, --no-bake or --dry-run with it")
        }
        if let parallel {
            if parallel < 1 { throw ValidationError("--parallel must be at least 1") }
            // It sets how many services roll out at once: with one service it would silently mean nothing.
            if !selection.all && selection.services.count < 2 && savedPlan == nil {
                throw ValidationError("--parallel sets how many services roll out at once; use it with --all or several services")
            }
        }
    }

    public func run() async throws {
        if let savedPlan {
            let inventory = try global.loadInventory()
            let (plan, record) = try SavedPlan.load(savedPlan, inventory: inventory, inventoryPath: global.inventoryPath)
            try await SavedPlan.checkHosts(plan, file: savedPlan, factory: hostKeys.factory)
            // As the request it was made of would run: --all 4 services at once, named ones one after another.
            try await RolloutRunner(global: global, inventory: inventory, plan: plan, factory: hostKeys.factory,
                                    parallel: parallel ?? (record.all ? 4 : 1), lockWait: lockWait.duration,
                                allowBelowCapacity: capacity.allowBelowCapacity).run()
            return
        }
        if !selection.all && selection.services.isEmpty {
            // Bare `openclaw-deploy`: what there is to deploy, and how. `deploy` with no service, or deploy's options
            // without one, is a usage error. An inventory that is there but invalid says so, as everywhere.
            let exists = FileManager.default.fileExists(atPath: global.inventoryPath)
            let inventory = exists ? try global.loadInventory() : nil
            let options = ref != nil || dryRun || parallel != nil || !selection.hosts.isEmpty || policy.batch != nil || policy.noBake
                || lockWait.lockWait != nil || capacity.allowBelowCapacity
            if CommandLine.arguments.dropFirst().first != "deploy" && !options {
                LineOutput.standardOutput.write(Self.firstContact(inventory, path: global.inventoryPath))
                return
            }
            throw SelectionError.noServicesChosen(known: inventory?.services.map(\.name) ?? [])
        }
        let inventory = try global.loadInventory()
        let plan = Planner.plan(try selection.select(from: inventory), ref: ref, overrides: policy.overrides,
                                gateway: inventory.gateway)
        if dryRun {
            switch global.format {
            case .json: LineOutput.standardOutput.write(plan.jsonDocument)
            case .text: LineOutput.standardOutput.write(TextFit.wrappedLines(PlanRenderer(color: global.useColor).render(plan),
                                                                              width: global.textWidth))
            }
            return
        }
        let factory = hostKeys.factory
        try await RolloutRunner(global: global, inventory: inventory, plan: plan, factory: factory,
                                parallel: parallel ?? (selection.all ? 4 : 1), lockWait: lockWait.duration,
                                allowBelowCapacity: capacity.allowBelowCapacity).run()
    }
}

extension DeployCommand {
    /// What bare `openclaw-deploy` prints: the inventory's services, one a line, and the commands to start with.
    static func firstContact(_ inventory: Inventory?, path: String) -> String {
        var lines: [String] = []
        if let inventory {
            let width = inventory.services.map(\.name.count).max() ?? 0
            // A long path is shortened in the middle, like any long value, so that the line fits too.
            lines.append("Services in \(TextFit.shortened(path, to: 80 - "Services in :".count)):")
            for service in inventory.services {
                let hosts = "\(service.hosts.count) host\(service.hosts.count == 1 ? "" : "s")"
                let facts = "  " + service.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  tier \(service.tier) · \(hosts)"
                // The description is what gives way on a narrow line: cut at its end, the facts kept whole.
                guard let about = service.description.map(VisibleText.escaped), facts.count + 3 < 80 else {
                    lines.append(TextFit.shortened(facts, to: 80))
                    continue
                }
                let room = 80 - facts.count - 3
                lines.append(facts + " · " + (about.count <= room ? about : String(about.prefix(room - 1)) + "…"))
            }
        } else {
            lines.append("No inventory at \(path) (set it with -i PATH or OPENCLAW_INVENTORY).")
        }
        lines += [
            "",
            "  openclaw-deploy plan SERVICE       what a deploy would do",
            "  openclaw-deploy SERVICE            deploy it",
            "  openclaw-deploy status SERVICE     each host's revision and health",
            "  openclaw-deploy rollback SERVICE   undo the last deploy",
            "  openclaw-deploy --help             every command",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
