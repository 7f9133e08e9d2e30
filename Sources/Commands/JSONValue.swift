import Foundation

/// A JSON value with object keys kept in the order given, printed compactly (JSON Lines, the records written to
/// hosts) or indented (the CLI's documents). For output small enough to build as a tree; a plan is written by
/// `JSONWriter` straight into bytes.
public indirect enum JSONValue: Sendable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null

    public static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }

    /// ISO-8601 UTC with milliseconds.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    public var compact: String {
        var out = ""
        write(into: &out, indent: nil)
        return out
    }

    /// Two-space indented with a final newline: the form of documents (`status`, `history`).
    public var pretty: String {
        var out = ""
        write(into: &out, indent: "")
        return out + "\n"
    }

    private func write(into out: inout String, indent: String?) {
        let inner = indent.map { $0 + "  " }
        let newline = inner == nil ? "" : "\n"
        switch self {
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{" + newline
            for (i, (key, value)) in members.enumerated() {
                out += inner ?? ""
                Self.writeString(key, into: &out)
                out += inner == nil ? ":" : ": "
                value.write(into: &out, indent: inner)
                if i < members.count - 1 { out += "," }
                out += newline
            }
            out += (indent ?? "") + "}"
        case .array(let elements):
            if elements.isEmpty { out += "[]"; return }
            out += "[" + newline
            for (i, value) in elements.enumerated() {
                out += inner ?? ""
                value.write(into: &out, indent: inner)
                if i < elements.count - 1 { out += "," }
                out += newline
            }
            out += (indent ?? "") + "]"
        case .string(let s): Self.writeString(s, into: &out)
        case .int(let n): out += String(n)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        }
    }

    /// Strings are escaped by `JSONWriter`, the tool's one JSON writer: every JSON form escapes alike.
    private static func writeString(_ s: String, into out: inout String) { out += JSONWriter.quoted(s) }
}
