import Yams

/// The keys of one YAML mapping that passed the allowed-keys check, with their nodes.
struct MappingFields {
    /// Where the mapping starts, for "missing key" messages.
    let mark: Mark?
    /// Dotted path of the mapping (`services.trading.health`), for messages.
    let path: String
    private(set) var entries: [(key: String, keyNode: Node, value: Node)] = []

    init(mark: Mark?, path: String) {
        self.mark = mark
        self.path = path
    }

    subscript(key: String) -> Node? {
        entries.first { $0.key == key }?.value
    }

    func keyMark(_ key: String) -> Mark? {
        entries.first { $0.key == key }?.keyNode.mark
    }

    func has(_ key: String) -> Bool { self[key] != nil }

    /// Path of a key inside this mapping.
    func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    fileprivate mutating func add(_ key: String, _ keyNode: Node, _ value: Node) {
        if !has(key) { entries.append((key, keyNode, value)) }
    }
}

extension NodeReader {
    /// Reads a mapping whose keys must be among `allowed`. Unknown keys are reported with the closest allowed
    /// one; `<<: *anchor` merge keys contribute the keys not written explicitly. `nothing` reads as an empty mapping.
    func mapping(_ node: Node, _ path: String, allowed: [String]) -> MappingFields? {
        var fields = MappingFields(mark: node.mark, path: path)
        if isNull(node) { return fields }
        guard case .mapping(let mapping) = node else {
            let what = path.isEmpty ? "the inventory must be a mapping with `version: 1` and `services:`" : "`\(path)` must be a mapping (`key: value` lines)"
            error(at: node.mark, "\(what), found \(describe(node))")
            return nil
        }
        var merged: [(Node, Node)] = []
        for (keyNode, value) in mapping {
            if case .scalar(let key) = keyNode, key.string == "<<", key.style == .plain {
                merged += mergeSources(value, path)
                continue
            }
            guard let key = mappingKey(keyNode, path) else { continue }
            guard allowed.contains(key) else {
                reportUnknownKey(key, at: keyNode.mark, in: path, allowed: allowed)
                continue
            }
            fields.add(key, keyNode, value)
        }
        for (keyNode, value) in merged {
            guard case .scalar(let key) = keyNode, allowed.contains(key.string) else { continue }
            fields.add(key.string, keyNode, value)
        }
        return fields
    }

    /// Reads a mapping from names the user chooses (services, tiers) to their values.
    func namedEntries(_ node: Node, _ path: String) -> [(name: String, keyNode: Node, value: Node)] {
        if isNull(node) { return [] }
        guard case .mapping(let mapping) = node else {
            error(at: node.mark, "`\(path)` must be a mapping from names to settings, found \(describe(node))")
            return []
        }
        var entries: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            if case .scalar(let key) = keyNode, key.string == "<<", key.style == .plain {
                error(at: keyNode.mark, "`\(path)` cannot use a `<<` merge key; write each entry out")
                continue
            }
            if let key = mappingKey(keyNode, path) { entries.append((key, keyNode, value)) }
        }
        return entries
    }

    /// The text of a mapping key, or nil (reported) for keys that are lists, mappings or repeated.
    private func mappingKey(_ keyNode: Node, _ path: String) -> String? {
        guard case .scalar(let key) = keyNode else {
            error(at: keyNode.mark, "a key in `\(path.isEmpty ? "the inventory" : path)` must be a plain word, found \(describe(keyNode))")
            return nil
        }
        if let mark = keyNode.mark, let repeated = repeatedKeys[Position(mark)] {
            if reportedRepeats.insert(Position(mark)).inserted {
                error(at: mark, repeatedKeyMessage(repeated.name, in: path, first: repeated.first))
            }
            return nil
        }
        return key.string
    }

    func repeatedKeyMessage(_ key: String, in path: String, first: Position) -> String {
        switch path {
        case "services": return "service `\(key)` is defined twice (first at \(first)); service names must be unique"
        case "tiers": return "tier `\(key)` is defined twice (first at \(first)); keep one"
        case "": return "key `\(key)` appears twice at the top level (first at \(first)); keep one"
        default: return "key `\(key)` appears twice in `\(path)` (first at \(first)); keep one"
        }
    }

    private func mergeSources(_ value: Node, _ path: String) -> [(Node, Node)] {
        switch value {
        case .mapping(let mapping): return Array(mapping)
        case .sequence(let sequence) where sequence.allSatisfy({ if case .mapping = $0 { true } else { false } }):
            return sequence.flatMap { node -> [(Node, Node)] in
                if case .mapping(let mapping) = node { return Array(mapping) }
                return []
            }
        default:
            error(at: value.mark, "the `<<` merge key in `\(path.isEmpty ? "the inventory" : path)` needs a mapping (`<<: *name`), found \(describe(value))")
            return []
        }
    }

    private func reportUnknownKey(_ key: String, at mark: Mark?, in path: String, allowed: [String]) {
        let place = path.isEmpty ? "at the top level" : "in `\(path)`"
        let suggestion = closestMatch(to: key, among: allowed).map { " (did you mean `\($0)`?)" } ?? ""
        let list = allowed.sorted().map { "`\($0)`" }.joined(separator: ", ")
        error(at: mark, "unknown key \(quoted(key)) \(place)\(suggestion); allowed keys: \(list)")
    }

    /// Reports `key` as missing from `fields`, at the mapping's start.
    func missing(_ key: String, in fields: MappingFields, _ explanation: String) {
        let owner = fields.path.isEmpty ? "the inventory" : "`\(fields.path)`"
        error(at: fields.mark, "\(owner) is missing `\(key)` (\(explanation))")
    }
}
