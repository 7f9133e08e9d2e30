import ArgumentParser
import Foundation
import Rollout

/// `plan`: the dry run. Offline by default, so CI can print and diff it; `--check` looks at the hosts.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what a deploy would do, host by host, without changing anything.",
        discussion: "Offline: no host is contacted, and the target commit shows as <sha of REMOTE/REF> until a deploy resolves it."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Services to plan, in this order.")
    var services: [String] = []

    @Flag(help: "Plan every service of the inventory.")
    var all = false

    @Option(help: "Branch, tag or commit to deploy (default: each service's branch).")
    var ref: String?

    @Option(name: .customLong("host"), help: ArgumentHelp("Only this host (repeatable).", valueName: "name"))
    var hosts: [String] = []

    func validate() throws {
        if all && !services.isEmpty { throw ValidationError("Give service names or --all, not both.") }
    }

    func run() async throws {
        let inventory = try global.loadInventory()
        let plan = try Planner.plan(inventory: inventory, services: services, all: all, ref: ref, hosts: hosts)
        switch global.format {
        case .json: plan.writeJSON { FileHandle.standardOutput.write(Data($0)) }
        case .text: FileHandle.standardOutput.write(Data(PlanRenderer(color: global.useColor).render(plan).utf8))
        }
    }
}
