import Foundation
import Yams

/// Reads an inventory file into the validated model, or throws an `InventoryError` listing every problem.
public enum InventoryLoader {
    /// Where the inventory is looked for when neither `-i/--inventory` nor `OPENCLAW_INVENTORY` says otherwise.
    public static let defaultPath = "inventory/openclaw.yaml"

    /// The path to use: the explicit option, else `OPENCLAW_INVENTORY`, else `defaultPath`.
    public static func path(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["OPENCLAW_INVENTORY"], !fromEnvironment.isEmpty { return fromEnvironment }
        return defaultPath
    }

    /// An inventory is a few kilobytes; anything this large is the wrong file.
    static let maxFileSize = 10 << 20

    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Inventory {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InventoryError(diagnostics: [.fileLevel(path, "no such file; pass the inventory with -i/--inventory PATH or set OPENCLAW_INVENTORY")])
        }
        guard !isDirectory.boolValue else {
            throw InventoryError(diagnostics: [.fileLevel(path, "is a directory; pass the inventory file itself, e.g. \(defaultPath)")])
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw InventoryError(diagnostics: [.fileLevel(path, "cannot read the file (\(error.localizedDescription)); check its permissions")])
        }
        guard data.count <= maxFileSize else {
            throw InventoryError(diagnostics: [.fileLevel(path, "the file is larger than 10 MiB, which no inventory is; check the path")])
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            let position = firstInvalidUTF8(in: data)
            throw InventoryError(diagnostics: [Diagnostic(file: path, line: position.line, column: position.column,
                                                          message: "the file is not valid UTF-8 text; save it as UTF-8")])
        }
        return try parse(yaml: text, path: path, environment: environment)
    }

    /// Parses inventory text. `path` is used in messages and to resolve relative local paths (templates, keys);
    /// `environment` supplies `HOME` for `~`, falling back to the process environment.
    public static func parse(yaml: String, path: String, environment: [String: String] = [:]) throws -> Inventory {
        let reader = NodeReader(file: path)
        let localPaths = LocalPaths(inventoryPath: path, environment: environment)
        // Editors on some systems start UTF-8 files with a byte order mark, which libyaml would read as content.
        let text = yaml.hasPrefix("\u{FEFF}") ? String(yaml.dropFirst()) : yaml
        let root = YAMLSource.compose(text, reader: reader)
        if let root, !reader.isNull(root) {
            if var inventory = read(root, reader: reader, localPaths: localPaths, path: path), reader.diagnostics.isEmpty {
                // A setting reached through an alias is read more than once: keep each place once.
                var seen = Set<String>()
                inventory.localFiles = reader.localFiles.filter { seen.insert("\($0.line):\($0.column)").inserted }
                return inventory
            }
        } else if reader.diagnostics.isEmpty {
            reader.fileError("the inventory is empty; start it with `version: 1` and a `services:` mapping")
        }
        throw InventoryError(diagnostics: presented(reader.diagnostics, file: path))
    }

    static let topLevelKeys = ["version", "defaults", "tiers", "services", "gateway"]

    private static func read(_ root: Node, reader: NodeReader, localPaths: LocalPaths, path: String) -> Inventory? {
        guard let fields = reader.mapping(root, "", allowed: topLevelKeys) else { return nil }
        if let node = fields["version"] {
            if node.scalar?.string != "1" {
                reader.error(at: node.mark, "`version` must be `1`, the only inventory format this tool reads; found \(reader.describe(node))")
            }
        } else {
            reader.missing("version", in: fields, "add `version: 1` as the first line")
        }
        var defaults = SettingsLayer()
        var defaultRollout = RolloutLayer()
        if let node = fields["defaults"],
           let defaultFields = reader.mapping(node, "defaults", allowed: ["ssh", "compose", "repo", "health", "state_dir", "env", "hooks", "rollout"]) {
            defaults = reader.settingsLayer(defaultFields, localPaths: localPaths)
            if let rollout = defaultFields["rollout"] { defaultRollout = reader.rolloutLayer(rollout, defaultFields.path("rollout")) ?? RolloutLayer() }
        }
        let tiers = reader.tiers(fields["tiers"])
        var services: [Service] = []
        if let node = fields["services"] {
            if reader.isNull(node) || node.mapping?.isEmpty == true {
                reader.error(at: node.mark, "`services` is empty; add at least one service")
            }
            let context = ServiceContext(defaults: defaults, defaultRollout: defaultRollout, tiers: tiers.policies, tierRollout: tiers.rollout,
                                         brokenTiers: tiers.broken, localPaths: localPaths)
            services = reader.services(node, context: context)
        } else {
            reader.missing("services", in: fields, "a mapping from service names to their settings")
        }
        let gateway = fields["gateway"].flatMap { reader.gateway($0, defaults: defaults, localPaths: localPaths) }
        reader.reportUnvisitedRepeatedKeys()
        return Inventory(sourcePath: path, version: 1, tiers: tiers.policies, services: services, gateway: gateway)
    }

    /// File-level problems first, then by position; exact repeats (a mapping read through two aliases) once;
    /// at most 100, so a wrong file does not flood the terminal.
    private static func presented(_ diagnostics: [Diagnostic], file: String) -> [Diagnostic] {
        var seen = Set<String>()
        let unique = diagnostics.filter { seen.insert($0.description).inserted }
        let sorted = unique.enumerated().sorted { a, b in
            (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
        }.map(\.element)
        guard sorted.count > 100 else { return sorted }
        return Array(sorted.prefix(100)) + [.fileLevel(file, "\(sorted.count - 100) more problems not shown; fix the ones above first")]
    }

    /// Line and column (in Unicode scalars) of the first byte that is not part of valid UTF-8.
    private static func firstInvalidUTF8(in data: Data) -> (line: Int, column: Int) {
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = data.makeIterator()
        var line = 1, column = 1
        while case .valid(let encoded) = parser.parseScalar(from: &bytes) {
            if Unicode.UTF8.decode(encoded) == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}

extension NodeReader {
    /// Repeated keys in parts of the file no reader looked at (e.g. under an unknown key) are still reported.
    func reportUnvisitedRepeatedKeys() {
        for (position, repeated) in repeatedKeys.sorted(by: { $0.key < $1.key }) where !reportedRepeats.contains(position) {
            error(at: position, "key `\(repeated.name)` appears twice in one mapping (first at \(repeated.first)); keep one")
        }
    }
}
