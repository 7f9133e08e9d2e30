import ArgumentParser
import Foundation
import Gateway
import Inventory
import Rollout

/// `inventory check`: validate the inventory and the gateway template it names, touching no host.
struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Work with the inventory file.",
        subcommands: [InventoryCheckCommand.self]
    )
}

struct InventoryCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the inventory (and the gateway template it names) without touching any host.",
        discussion: "Prints every problem at once as FILE:LINE:COLUMN: message on stderr and exits 65; exits 0 when valid. "
            + "With --secrets it also reads every secret (from_env, from_file, from_command) and names each one that "
            + "cannot be read; their values are never printed."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Also read every secret the inventory names (values are never printed).")
    var secrets = false

    func run() async throws {
        let inventory = try global.loadInventory()
        if inventory.gateway != nil {
            _ = try GatewayRenderer.render(inventory: inventory)
        }
        var secretCount: Int?
        if secrets {
            let sources = SecretResolver.sources(of: inventory.services.flatMap(\.hosts))
            secretCount = try await SecretResolver.resolve(sources, directory: inventory.directory).count
        }
        let hosts = inventory.services.reduce(0) { $0 + $1.hosts.count }
        let text: String
        switch global.format {
        case .json:
            text = "{\"valid\":true,\"inventory\":\(jsonString(inventory.sourcePath)),\"services\":\(inventory.services.count),"
                + "\"hosts\":\(hosts),\"gateway\":\(inventory.gateway != nil)"
                + (secretCount.map { ",\"secrets_read\":\($0)" } ?? "") + "}\n"
        case .text:
            let gateway = inventory.gateway.map { ", gateway \($0.host.name)" } ?? ""
            let read = secretCount.map { ", \($0) secret\($0 == 1 ? "" : "s") read" } ?? ""
            text = "\(inventory.sourcePath): valid, \(inventory.services.count) service\(inventory.services.count == 1 ? "" : "s"), "
                + "\(hosts) host\(hosts == 1 ? "" : "s")\(gateway)\(read)\n"
        }
        LineOutput.standardOutput.write(text)
    }

    private func jsonString(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
