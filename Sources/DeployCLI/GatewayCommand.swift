import ArgumentParser
import Commands
import ExitCategories
import Foundation
import Gateway
import Inventory
import Plan
import Engine

/// `gateway render|deploy|rollback`: the nginx API gateway's config, from the same inventory as the rollouts.
public struct GatewayCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Render, deploy or roll back the nginx API gateway's config.",
        subcommands: [GatewayRenderCommand.self, GatewayDeployCommand.self, GatewayRollbackCommand.self]
    )

    public init() {}
}

struct GatewayRenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Print the gateway's nginx config rendered from the inventory and its template (touches no host).",
        usage: "openclaw-deploy gateway render [--output <file>] [opts]",
        discussion: "The same inventory always gives the same bytes. Services without a route are left out, with a note."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Write the config to this file (replaced atomically) instead of stdout.", valueName: "file"))
    var output: String?

    func run() async throws {
        let inventory = try global.loadInventory()
        let config = try GatewayRenderer.render(inventory: inventory)
        let layout = try GatewayLayout(inventory: inventory)
        if let output {
            do {
                try Data(config.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                throw OutputFileError(path: output, reason: error.localizedDescription)
            }
        }
        switch global.format {
        case .json:
            LineOutput.standardOutput.write(Self.document(layout, inventory: inventory, config: config, output: output).pretty)
        case .text:
            for skipped in layout.unrouted {
                LineOutput.standardError.write("note: \(skipped.service): \(skipped.reason)\n")
            }
            if let output {
                LineOutput.standardOutput.write("wrote \(output) (\(layout.upstreams.count) upstreams)\n")
            } else {
                LineOutput.standardOutput.write(config)
            }
        }
    }

    static func document(_ layout: GatewayLayout, inventory: Inventory, config: String, output: String?) -> JSONValue {
        .object([
            ("version", .int(1)),
            ("gateway", .optional(inventory.gateway?.host.name)),
            ("config_path", .optional(inventory.gateway?.configPath)),
            ("output", .optional(output)),
            ("upstreams", .array(layout.upstreams.map { upstream in
                .object([
                    ("name", .string(upstream.name)), ("service", .string(upstream.service)), ("prefix", .string(upstream.prefix)),
                    ("servers", .array(upstream.servers.map { server in
                        .object([("host", .string(server.host)), ("address", .string(server.address)),
                                 ("port", .int(Int64(server.port))), ("down", .bool(server.down))])
                    })),
                ])
            })),
            ("unrouted", .array(layout.unrouted.map { .object([("service", .string($0.service)), ("reason", .string($0.reason))]) })),
            ("config", .string(config)),
        ])
    }
}

struct GatewayDeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Put the rendered config in force on the gateway host.",
        usage: "openclaw-deploy gateway deploy [--accept-new-host-keys] [opts]",
        discussion: """
            Uploads it beside config_path, swaps it in atomically, runs `nginx -t` and reloads nginx. If the test or the \
            reload fails, the previous file is put back and stays in force (exit 1). The replaced config is kept for \
            `gateway rollback`. Nothing changes when the gateway already has exactly this config.
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var hostKeys: HostKeyOptions

    func run() async throws {
        let inventory = try global.loadInventory()
        // Rendered here first, so a template or inventory problem stops before any connection.
        _ = try GatewayRenderer.render(inventory: inventory)
        try await GatewayConnection.with(inventory, hostKeys: hostKeys, global: global, action: "deploy") { deployer, editor in
            // From the state on the gateway host, under its lock: a drained host stays out, a maintenance stays on.
            try await editor.locked { state in try await deployer.deploy(try GatewayRenderer.render(inventory: inventory, state: state)) }
        }
    }
}

struct GatewayRollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Put back the config that was in force before the last `gateway deploy`.",
        usage: "openclaw-deploy gateway rollback [--accept-new-host-keys] [opts]",
        discussion: "Tested and reloaded like a deploy; the config it replaces is kept in turn, so a second rollback undoes the first."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var hostKeys: HostKeyOptions

    func run() async throws {
        let inventory = try global.loadInventory()
        try await GatewayConnection.with(inventory, hostKeys: hostKeys, global: global, action: "rollback") { deployer, editor in
            try await editor.locked { _ in try await deployer.rollback() }
        }
    }
}

/// One SSH connection to the gateway host for the length of a command, and the report of what it did.
enum GatewayConnection {
    static func with(_ inventory: Inventory, hostKeys: HostKeyOptions, global: GlobalOptions, action: String,
                     _ body: (GatewayDeployer, GatewayStateEditor) async throws -> GatewayDeployer.Outcome) async throws {
        guard let gateway = inventory.gateway else { throw GatewayError.noGatewaySection(inventory: inventory.sourcePath) }
        let transport = try await hostKeys.factory.open(gateway.host)
        let deployer = GatewayDeployer(gateway: gateway, transport: transport)
        let editor = GatewayStateEditor(inventory: inventory, plan: Planner.gatewayPlan(gateway: gateway, services: []),
                                        deployer: deployer)
        let outcome: GatewayDeployer.Outcome
        do {
            outcome = try await body(deployer, editor)
        } catch {
            await transport.close()
            throw error
        }
        await transport.close()
        let (result, note): (String, String?) = switch outcome {
        case .unchanged: ("unchanged", nil)
        case .installed(let note): ("installed", note)
        }
        switch global.format {
        case .json:
            LineOutput.standardOutput.write(JSONValue.object([
                ("action", .string(action)), ("gateway", .string(gateway.host.name)), ("config_path", .string(gateway.configPath)),
                ("result", .string(result)), ("note", .optional(note)),
            ]).compact + "\n")
        case .text:
            let what = outcome == .unchanged
                ? "already has this config; nothing changed"
                : "\(gateway.configPath) is in force (nginx -t passed, reloaded); the replaced config is kept for `gateway rollback`"
            LineOutput.standardOutput.write("gateway \(gateway.host.name): \(what)\n" + (note.map { "note: \($0)\n" } ?? ""))
        }
    }
}

/// A file the command was asked to write (`gateway render --output`, `plan --out`) could not be written.
struct OutputFileError: CategorizedError {
    var path: String
    var reason: String
    var category: ExitCategory { .failed }
    var description: String { "cannot write \(path): \(reason)" }
}
