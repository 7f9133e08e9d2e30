import Foundation
import Testing
@testable import Inventory

/// Paths and helpers shared by the inventory tests.
enum Support {
    /// The package root, found from this file's location so tests run from any directory.
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func fixturePath(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil),
                               "fixture \(name) is missing")
        return url.path
    }

    /// A fresh directory under the system temp dir, removed by the caller with `removeItem`.
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "inventory-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The messages `parse` throws for `yaml`, as printed (`FILE:LINE:COLUMN: message`).
    static func errors(_ yaml: String, path: String = "inv.yaml", environment: [String: String] = ["HOME": "/home/op"]) -> [String] {
        do {
            _ = try InventoryLoader.parse(yaml: yaml, path: path, environment: environment)
            return []
        } catch let error as InventoryError {
            return error.diagnostics.map(\.description)
        } catch {
            return ["unexpected error type: \(error)"]
        }
    }

    /// The errors `load` throws for a fixture file, with the fixture's directory stripped from paths.
    static func fixtureErrors(_ name: String) throws -> [String] {
        let path = try fixturePath(name)
        do {
            _ = try InventoryLoader.load(path: path, environment: ["HOME": "/home/op"])
            return []
        } catch let error as InventoryError {
            return error.diagnostics.map { $0.description.replacingOccurrences(of: path, with: name) }
        }
    }

    /// Minimal valid inventory text with `service` spliced into the `services:` mapping (indented by 2).
    static func inventory(service: String) -> String {
        "version: 1\nservices:\n" + service.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
    }
}
