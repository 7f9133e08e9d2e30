import Foundation
import Inventory

/// Shell completion of service and host names, read from the inventory the command line names (`-i`/`--inventory`,
/// else `$OPENCLAW_INVENTORY`, else the default path). Completion never prints an error: an inventory that cannot
/// be read completes nothing.
enum InventoryCompletion {
    /// The inventory path among the words typed so far.
    static func inventoryPath(in words: [String]) -> String {
        var explicit: String?
        for (index, word) in words.enumerated() {
            if (word == "-i" || word == "--inventory"), index + 1 < words.count {
                explicit = words[index + 1]
            } else if word.hasPrefix("--inventory=") {
                explicit = String(word.dropFirst("--inventory=".count))
            }
        }
        return InventoryLoader.path(explicit: explicit.map { NSString(string: $0).expandingTildeInPath })
    }

    static func inventory(_ words: [String]) -> Inventory? {
        try? InventoryLoader.load(path: inventoryPath(in: words))
    }

    @Sendable static func services(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        (inventory(words)?.services.map(\.name) ?? []).filter { $0.hasPrefix(prefix) }
    }

    /// Host names of the services named on the command line (of every service when none is).
    @Sendable static func hosts(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        guard let inventory = inventory(words) else { return [] }
        let named = inventory.services.filter { words.contains($0.name) }
        let services = named.isEmpty ? inventory.services : named
        return services.flatMap { $0.hosts.map(\.name) }.filter { $0.hasPrefix(prefix) }
    }
}

/// The tool's version, as `--version` prints it.
public enum ToolVersion {
    public static let number = "0.9.0"
    public static let line = "openclaw-deploy \(number)"
}
