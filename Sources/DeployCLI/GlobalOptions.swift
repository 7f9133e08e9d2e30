import ArgumentParser
import Foundation
import Inventory

/// Options every command takes: which inventory, and how to print.
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(name: [.customShort("i"), .long], help: ArgumentHelp(
        "Inventory file (default: $OPENCLAW_INVENTORY, else \(InventoryLoader.defaultPath)).", valueName: "path"))
    public var inventory: String?

    @Option(help: "Output for people (text) or for machines (json).")
    public var format: OutputFormat = .text

    @Flag(name: .customLong("no-color"), help: "No colors in text output (also when NO_COLOR is set or output is not a terminal).")
    public var noColor = false

    public init() {}

    /// The inventory path after `-i`, `OPENCLAW_INVENTORY` and the default are considered.
    public var inventoryPath: String { InventoryLoader.path(explicit: inventory) }

    /// Reads and validates the inventory; throws `InventoryError` with every problem found.
    public func loadInventory() throws -> Inventory {
        try InventoryLoader.load(path: inventoryPath)
    }

    /// Colors only for a terminal, and never when asked not to (https://no-color.org).
    public var useColor: Bool {
        if noColor { return false }
        if let value = ProcessInfo.processInfo.environment["NO_COLOR"], !value.isEmpty { return false }
        return isatty(STDOUT_FILENO) == 1
    }
}

public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}
