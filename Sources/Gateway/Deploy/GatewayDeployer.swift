import Commands
import Inventory
import Plan
import Engine

/// Puts a rendered config in force on the gateway host over one connection: upload beside `config_path`,
/// atomic swap, `nginx -t`, reload. On any failure the config that was in force stays in force.
public struct GatewayDeployer: Sendable {
    public let gateway: GatewaySettings
    public let commands: GatewayCommands
    let transport: any Transport

    public enum Outcome: Sendable, Equatable {
        /// The gateway already had exactly this config; nothing was touched.
        case unchanged
        /// The config is in force; `note` says anything worth knowing (old workers still finishing).
        case installed(note: String?)
    }

    public init(gateway: GatewaySettings, transport: any Transport) {
        self.gateway = gateway
        self.commands = GatewayCommands(configPath: gateway.configPath)
        self.transport = transport
    }

    private var host: String { gateway.host.name }
    private var timeout: Duration { gateway.host.ssh.commandTimeout }

    /// `gateway deploy`: the replaced config is kept for `gateway rollback`.
    public func deploy(_ config: String) async throws -> Outcome {
        if try await read(commands.readCurrent(), step: "reading the config in force") == config { return .unchanged }
        return .installed(note: try await install(config, keepPrevious: true, settleSeconds: GatewayCommands.settleSeconds))
    }

    /// `gateway rollback`: the kept config goes back in force, and the one it replaces is kept in turn.
    public func rollback() async throws -> Outcome {
        guard let previous = try await read(commands.readPrevious(), step: "reading the previous config") else {
            throw GatewayError.noPreviousConfig(host: host, path: commands.previousPath)
        }
        return try await deploy(previous)
    }

    /// Installs `config` (upload, swap, test, reload). `settleSeconds` bounds the wait for the old nginx workers
    /// to finish the requests they hold, which a drain needs before its host changes.
    public func install(_ config: String, keepPrevious: Bool, settleSeconds: Int) async throws -> String? {
        try await install(uploads: commands.upload(config),
                          then: commands.install(expectedBytes: .arg(String(config.utf8.count)), keepPrevious: keepPrevious,
                                                 settleSeconds: settleSeconds))
    }

    /// Runs `uploads` (the config's pieces, in order), then `install` (swap, test, reload, settle), and says what
    /// failed in the words of `GatewayCommands.InstallStatus`.
    func install(uploads: [RemoteCommand], then install: RemoteCommand) async throws -> String? {
        for command in uploads {
            let result = try await transport.run(command.rendered, timeout: timeout)
            guard result.succeeded else {
                throw GatewayError.remoteStepFailed(host: host, step: "uploading to \(commands.incomingPath)",
                                                    detail: Self.lastLine(result))
            }
        }
        let result = try await transport.run(install.rendered, timeout: timeout)
        if result.succeeded {
            let note = result.stdout.trimmingTrailingNewlines
            return note.isEmpty ? nil : note
        }
        let output = (result.stderr + result.stdout).trimmingTrailingNewlines
        switch GatewayCommands.InstallStatus(rawValue: result.exitStatus) {
        case .uploadIncomplete:
            throw GatewayError.remoteStepFailed(host: host, step: "uploading to \(commands.incomingPath)", detail: output)
        case .backupFailed:
            throw GatewayError.remoteStepFailed(host: host, step: "copying \(gateway.configPath) to \(commands.backupPath)",
                                                detail: Self.lastLine(result))
        case .swapFailed:
            throw GatewayError.remoteStepFailed(host: host, step: "moving the new config to \(gateway.configPath)",
                                                detail: Self.lastLine(result))
        case .configRejected: throw GatewayError.configRejected(host: host, output: output)
        case .reloadFailed: throw GatewayError.reloadFailed(host: host, output: output)
        case nil: throw GatewayError.remoteStepFailed(host: host, step: "installing the config", detail: Self.lastLine(result))
        }
    }

    /// The shared state as it is now, read without the drain lock (what `status` shows).
    public func readState() async throws -> GatewayState {
        GatewayState.parse(try await read(commands.readState(), step: "reading the gateway's state beside \(gateway.configPath)") ?? "")
    }

    /// The file's content, or nil when the command says it does not exist (exit 3).
    private func read(_ command: RemoteCommand, step: String) async throws -> String? {
        let result = try await transport.run(command.rendered, timeout: timeout)
        if result.exitStatus == 3, result.signal == nil { return nil }
        guard result.succeeded else {
            throw GatewayError.remoteStepFailed(host: host, step: step, detail: Self.lastLine(result))
        }
        return result.stdout
    }

    static func lastLine(_ result: CommandResult) -> String {
        let line = [result.stderr, result.stdout]
            .compactMap { $0.split(whereSeparator: \.isNewline).last.map(String.init) }
            .first { !$0.isEmpty }
        let ending = result.signal.map { "killed by SIG\($0)" } ?? "exit status \(result.exitStatus)"
        return line.map { "\($0) (\(ending))" } ?? ending
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var text = self
        while text.last?.isNewline == true { text.removeLast() }
        return text
    }
}
