import Commands
import Engine
import Plan
/// One container of a compose project as its engine reports it (`HostCommands.containerStates`).
public struct ContainerState: Sendable, Equatable {
    public var name: String
    /// The engine's word: `running`, `exited`, `created`, `restarting`, `paused`, `dead`.
    public var state: String
    public var exitCode: Int
    public var restarts: Int
    /// The engine's health when the image defines a HEALTHCHECK (`healthy`, `unhealthy`, `starting`), else nil.
    public var health: String?

    public init(name: String, state: String, exitCode: Int = 0, restarts: Int = 0, health: String? = nil) {
        self.name = name
        self.state = state
        self.exitCode = exitCode
        self.restarts = restarts
        self.health = health
    }

    /// Running, and not unhealthy by its own HEALTHCHECK.
    public var isUp: Bool { state == "running" && health != "unhealthy" }

    /// In words, for a note under `status`: `exited with 1 after 3 restarts`, `running but unhealthy`.
    public var summary: String {
        var words = state == "exited" ? "exited with \(exitCode)" : state
        if let health, state == "running" { words += health == "unhealthy" ? " but unhealthy" : " (\(health))" }
        if restarts > 0 { words += " after \(restarts) restart\(restarts == 1 ? "" : "s")" }
        return words
    }

    /// Parses `name|state|exit code|restarts|health` lines; other lines (an engine's warnings) are skipped.
    /// Docker names start with `/`, podman's do not: both come out without it.
    public static func parse(_ output: String) -> [ContainerState] {
        output.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5, !fields[0].isEmpty, let exitCode = Int(fields[2]), let restarts = Int(fields[3]) else { return nil }
            let name = fields[0].hasPrefix("/") ? String(fields[0].dropFirst()) : fields[0]
            return ContainerState(name: name, state: fields[1], exitCode: exitCode, restarts: restarts,
                                  health: fields[4].isEmpty ? nil : fields[4])
        }
    }
}
