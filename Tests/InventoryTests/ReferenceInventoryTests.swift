import Foundation
import Testing
@testable import Inventory

@Suite("The reference inventory, inventory/openclaw.yaml")
struct ReferenceInventoryTests {
    /// Loads the reference file in place when the gateway template exists; otherwise a copy next to a placeholder
    /// template in a temp dir, so the test does not depend on the order files are written in.
    private func loadReference() throws -> Inventory {
        let root = Support.repositoryRoot
        let yamlPath = root + "/inventory/openclaw.yaml"
        if FileManager.default.fileExists(atPath: root + "/templates/nginx-gateway.conf.mustache") {
            return try InventoryLoader.load(path: yamlPath, environment: ["HOME": "/home/op"])
        }
        let temp = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: temp) }
        try FileManager.default.createDirectory(atPath: temp + "/inventory", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: temp + "/templates", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: yamlPath, toPath: temp + "/inventory/openclaw.yaml")
        try Data().write(to: URL(fileURLWithPath: temp + "/templates/nginx-gateway.conf.mustache"))
        return try InventoryLoader.load(path: temp + "/inventory/openclaw.yaml", environment: ["HOME": "/home/op"])
    }

    @Test func loadsWithTheFourServices() throws {
        let inventory = try loadReference()
        #expect(inventory.services.map(\.name) == ["content", "customer-service", "internal-tools", "trading"])
        #expect(inventory.services.map(\.tier) == ["99", "99.9", "95", "99.99"])
        #expect(inventory.services.map { $0.hosts.count } == [2, 2, 2, 3])
        #expect(inventory.services.map { $0.route?.prefix } == ["/api/content/", "/api/customer/", "/api/internal/", "/api/trading/"])
    }

    @Test func sandboxInventoryLoads() throws {
        let path = Support.repositoryRoot + "/inventory/sandbox.yaml"
        try #require(FileManager.default.fileExists(atPath: path), "inventory/sandbox.yaml is part of the repository")
        let inventory = try InventoryLoader.load(path: path, environment: ["HOME": "/home/op"])
        #expect(inventory.services.count >= 1)
        #expect(inventory.services.allSatisfy { !$0.hosts.isEmpty })
    }

    @Test func referenceServicesCarryTheirSettings() throws {
        let inventory = try loadReference()
        let customer = try #require(inventory.service(named: "customer-service"))
        #expect(customer.size == ResourceSize(vcpu: 4, memoryBytes: 8 << 30, memoryText: "8GiB"))
        #expect(customer.channels == ["whatsapp", "telegram"])
        #expect(customer.hosts.map(\.address) == ["203.0.113.10", "203.0.113.11"])
        let trading = try #require(inventory.service(named: "trading"))
        #expect(trading.policy.canary)
        #expect(trading.hosts.allSatisfy { $0.health.timeout == .seconds(120) && $0.health.healthyAfter == 5 })
        let internalTools = try #require(inventory.service(named: "internal-tools"))
        #expect(internalTools.channels == ["discord"])
        #expect(internalTools.hosts.map(\.ssh.port) == [22, 2222])
        #expect(internalTools.hosts.allSatisfy { $0.stateDir == "~/.openclaw-deploy/internal-tools" })
        let gateway = try #require(inventory.gateway)
        #expect(gateway.host.address == "203.0.113.5")
        #expect(gateway.configPath == "/etc/nginx/conf.d/openclaw.conf")
        #expect(gateway.templatePath.hasSuffix("/templates/nginx-gateway.conf.mustache"))
    }
}
