import ArgumentParser
import Inventory
import Rollout

/// `rollback SERVICE [--to REV]`: put a service back on the revision before its last successful deploy.
public struct RollbackCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Put a service back on the revision before its last successful deploy (from history), or on --to.",
        discussion: "Runs like a deploy: the same locks, preflight, batches and health gates; a host that fails is put back where it was."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var selection: OneServiceOptions

    @Option(help: "Revision (commit, tag or branch) to go to instead of the one history names.")
    var to: String?

    @Flag(help: "Add an unknown host key to known_hosts (a changed key is always refused).")
    var acceptNewHostKeys = false

    public init() {}

    public func run() async throws {
        let inventory = try global.loadInventory()
        let plan = Planner.plan([try selection.select(from: inventory)], action: .rollback, ref: try parseRef(to))
        let factory = SSHTransportFactory(acceptNewHostKeys: acceptNewHostKeys)
        try await RolloutRunner(global: global, inventory: inventory, plan: plan, factory: factory, parallel: 1).run()
    }
}
