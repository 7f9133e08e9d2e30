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

    @Flag(name: .customLong("no-color"), help: "No colors in text output (also when NO_COLOR is set, TERM is dumb or output is not a terminal).")
    public var noColor = false

    @Flag(help: "Keep long lines whole on a terminal too: no wrapping, no values shortened in the middle.")
    public var wide = false

    public init() {}

    public func validate() throws {
        // Error messages are printed after the command is gone: they fit the same width.
        TextFit.wide.withLock { $0 = wide }
    }

    /// Columns text output fits (nil: no limit).
    public var textWidth: Int? { TextFit.width(wide: wide) }

    /// The inventory path after `-i`, `OPENCLAW_INVENTORY` and the default are considered.
    public var inventoryPath: String { InventoryLoader.path(explicit: inventory) }

    /// Reads and validates the inventory; throws `InventoryError` with every problem found.
    public func loadInventory() throws -> Inventory {
        try InventoryLoader.load(path: inventoryPath)
    }

    /// Colors only for a terminal, and never when asked not to (https://no-color.org).
    public var useColor: Bool {
        if noColor { return false }
        let environment = ProcessInfo.processInfo.environment
        if let value = environment["NO_COLOR"], !value.isEmpty { return false }
        // A terminal that says it cannot show colours (`TERM=dumb`: editors' shells, some CI logs).
        if environment["TERM"] == "dumb" { return false }
        return isatty(STDOUT_FILENO) == 1
    }
}

public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}

/// `--accept-new-host-keys`, for every command that connects to hosts.
struct HostKeyOptions: ParsableArguments {
    @Flag(help: "Add an unknown host key to known_hosts and print it with its fingerprint; a changed key is always refused.")
    var acceptNewHostKeys = false

    /// Connections with this host-key policy.
    var factory: SSHTransportFactory { SSHTransportFactory(acceptNewHostKeys: acceptNewHostKeys) }
}
