import ArgumentParser
import Foundation
import Gateway
import Inventory

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
        discussion: "Prints every problem at once as FILE:LINE:COLUMN: message on stderr and exits 65; exits 0 when valid."
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let inventory = try global.loadInventory()
        if inventory.gateway != nil {
            _ = try GatewayRenderer.render(inventory: inventory)
        }
        let hosts = inventory.services.reduce(0) { $0 + $1.hosts.count }
        let text: String
        switch global.format {
        case .json:
            text = "{\"valid\":true,\"inventory\":\(jsonString(inventory.sourcePath)),\"services\":\(inventory.services.count),"
                + "\"hosts\":\(hosts),\"gateway\":\(inventory.gateway != nil)}\n"
        case .text:
            let gateway = inventory.gateway.map { ", gateway \($0.host.name)" } ?? ""
            text = "\(inventory.sourcePath): valid, \(inventory.services.count) service\(inventory.services.count == 1 ? "" : "s"), "
                + "\(hosts) host\(hosts == 1 ? "" : "s")\(gateway)\n"
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
