import Yams

/// Walks a composed YAML tree, turning values into typed ones and recording every problem with its position
/// instead of stopping at the first.
final class NodeReader {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []
    /// Keys that repeated an earlier key in the same mapping: their position, name and the first one's position.
    /// The YAML text was patched so these parse; they are reported (and skipped) when their mapping is read.
    var repeatedKeys: [Position: (name: String, first: Position)] = [:]
    /// The repeated keys already reported (a mapping reached through an alias is read more than once).
    var reportedRepeats: Set<Position> = []
    /// Local files named so far, with where (see `Inventory.localFiles`).
    var localFiles: [LocalFileReference] = []

    init(file: String) {
        self.file = file
    }

    func error(at mark: Mark?, _ message: String) {
        error(at: mark.map(Position.init) ?? Position(line: 1, column: 1), message)
    }

    func error(at position: Position, _ message: String) {
        diagnostics.append(Diagnostic(file: file, line: position.line, column: position.column, message: message))
    }

    func fileError(_ message: String) {
        diagnostics.append(.fileLevel(file, message))
    }

    /// Takes over what `child` (a reader of part of the same file, on another thread) found, after what this one has.
    /// A repeated key several readers met through an alias is reported by each in the same words at the same
    /// place, which `InventoryLoader.presented` keeps once.
    func absorb(_ child: NodeReader) {
        diagnostics += child.diagnostics
        localFiles += child.localFiles
        reportedRepeats.formUnion(child.reportedRepeats)
    }

    // MARK: Scalars

    /// A non-empty text value. Numbers and booleans are accepted as their text (`tier: 99.9`).
    func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            error(at: node.mark, "`\(path)` must be a string, found \(describe(node))")
            return nil
        }
        guard !scalar.string.isEmpty else {
            error(at: node.mark, "`\(path)` is empty; write a value or remove the key")
            return nil
        }
        return scalar.string
    }

    /// A text value that also passes `rule` (one of `RemoteValueRules`).
    func string(_ node: Node, _ path: String, rule: (String) -> String?) -> String? {
        guard let text = string(node, path) else { return nil }
        if let problem = rule(text) {
            error(at: node.mark, "`\(path)`: \(quoted(text)) is not allowed: \(problem)")
            return nil
        }
        return text
    }

    func int(_ node: Node, _ path: String, in range: ClosedRange<Int>) -> Int? {
        let expected = range.upperBound == Int.max
            ? "a whole number of at least \(range.lowerBound)"
            : "a whole number from \(range.lowerBound) to \(range.upperBound)"
        guard case .scalar(let scalar) = node, !isNull(node),
              scalar.string.allSatisfy({ $0.isASCII && $0.isNumber }), scalar.string.count <= 18,
              let value = Int(scalar.string), range.contains(value) else {
            error(at: node.mark, "`\(path)` must be \(expected), found \(describe(node))")
            return nil
        }
        return value
    }

    func bool(_ node: Node, _ path: String) -> Bool? {
        if case .scalar(let scalar) = node {
            switch scalar.string {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        error(at: node.mark, "`\(path)` must be `true` or `false`, found \(describe(node))")
        return nil
    }

    func duration(_ node: Node, _ path: String) -> Duration? {
        guard let text = string(node, path) else { return nil }
        guard let value = parseDuration(text) else {
            error(at: node.mark, "`\(path)`: \(quoted(text)) is not a duration; write a whole number and a unit: `500ms`, `10s`, `2m`, `1h` (or combined from the largest unit down, `1m30s`)")
            return nil
        }
        return value
    }

    /// Memory size in bytes, with the text as written.
    func size(_ node: Node, _ path: String) -> (bytes: UInt64, text: String)? {
        guard let text = string(node, path) else { return nil }
        guard let bytes = parseSize(text) else {
            let hint = ["KB": "KiB", "MB": "MiB", "GB": "GiB", "TB": "TiB", "K": "KiB", "M": "MiB", "G": "GiB", "T": "TiB"]
                .first { text.hasSuffix($0.key) && parseSize(String(text.dropLast($0.key.count)) + $0.value) != nil }
                .map { " (did you mean \(quoted(String(text.dropLast($0.key.count)) + $0.value))?)" } ?? ""
            error(at: node.mark, "`\(path)`: \(quoted(text)) is not a size\(hint); write a whole number and a binary unit: `512MiB`, `8GiB` (units: KiB, MiB, GiB, TiB)")
            return nil
        }
        return (bytes, text)
    }

    /// A list of texts; `nothing` counts as an empty list.
    func stringList(_ node: Node, _ path: String, rule: (String) -> String? = RemoteValueRules.noControlCharacters) -> [String]? {
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            error(at: node.mark, "`\(path)` must be a list, found \(describe(node))")
            return nil
        }
        var values: [String] = []
        var valid = true
        for (index, item) in sequence.enumerated() {
            if let text = string(item, "\(path)[\(index)]", rule: rule) { values.append(text) } else { valid = false }
        }
        return valid ? values : nil
    }

    /// The items of a list, or nil (reported) when the node is something else.
    func list(_ node: Node, _ path: String) -> [Node]? {
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            error(at: node.mark, "`\(path)` must be a list, found \(describe(node))")
            return nil
        }
        return Array(sequence)
    }

    // MARK: Describing values in messages

    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// What a node is, for "found ..." in messages.
    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar): return isNull(node) ? "nothing" : quoted(scalar.string)
        }
    }
}

/// A value shown in a message: back-quoted, control characters escaped, long values shortened, so a message
/// always stays on one line.
func quoted(_ text: String) -> String {
    var shown = ""
    for scalar in text.unicodeScalars.prefix(60) {
        if scalar.value < 0x20 || scalar.value == 0x7F {
            shown += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
            shown.unicodeScalars.append(scalar)
        }
    }
    if text.unicodeScalars.count > 60 { shown += "…" }
    return "`\(shown)`"
}

/// A 1-based line and column.
struct Position: Hashable, Comparable, CustomStringConvertible {
    var line: Int
    var column: Int

    init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    init(_ mark: Mark) {
        self.init(line: mark.line, column: mark.column)
    }

    static func < (a: Position, b: Position) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }

    var description: String { "\(line):\(column)" }
}
