import ArgumentParser
import Foundation

public struct RootCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "openclaw-deploy",
        abstract: "Health-gated rollouts of OpenClaw services over SSH.",
        discussion: "`openclaw-deploy SERVICE...` is short for `openclaw-deploy deploy SERVICE...`.",
        version: ToolVersion.line,
        subcommands: [
            DeployCommand.self,
            PlanCommand.self,
            RollbackCommand.self,
            StatusCommand.self,
            SetupCommand.self,
            HistoryCommand.self,
            LogsCommand.self,
            ExecCommand.self,
            LockCommand.self,
            InventoryCommand.self,
            GatewayCommand.self,
            MaintenanceCommand.self,
            PruneCommand.self,
        ],
        defaultSubcommand: DeployCommand.self
    )

    public init() {}

    /// Parses the command line, runs the chosen command and exits with the SPEC's code. Errors are
    /// printed once, by `ExitStatus.report`.
    public static func runAndExit(_ arguments: [String]? = nil) async -> Never {
        // A closed stdout or a dropped SSH socket must show up as a failed write, not kill the process
        // with locks held and hosts half-changed.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try await asyncParseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Foundation.exit(ExitStatus.success.rawValue)
        } catch {
            Foundation.exit(ExitStatus.report(error))
        }
    }
}
