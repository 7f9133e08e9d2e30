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
}
