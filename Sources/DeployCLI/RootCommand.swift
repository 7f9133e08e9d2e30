import ArgumentParser

public struct RootCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "openclaw-deploy",
        abstract: "Health-gated rollouts of OpenClaw services over SSH."
    )
    public init() {}
}
