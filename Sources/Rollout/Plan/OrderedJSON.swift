/// A JSON value whose object keys keep the order they were given in, printed the same way every
/// time: plans are diffed byte for byte by CI.
indirect enum OrderedJSON {
    case object([(String, OrderedJSON)])
    case array([OrderedJSON])
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null

    /// Two-space indented, one key or element per line, `\n` at the end.
    var pretty: String {
        var out = ""
        write(into: &out, indent: "")
        out.append("\n")
        return out
    }

    private func write(into out: inout String, indent: String) {
        switch self {
        case .object(let members):
            guard !members.isEmpty else { out.append("{}"); return }
            let inner = indent + "  "
            out.append("{\n")
            for (index, (key, value)) in members.enumerated() {
                out.append(inner)
                OrderedJSON.writeString(key, into: &out)
                out.append(": ")
                value.write(into: &out, indent: inner)
                out.append(index == members.count - 1 ? "\n" : ",\n")
            }
            out.append(indent)
            out.append("}")
        case .array(let elements):
            guard !elements.isEmpty else { out.append("[]"); return }
            let inner = indent + "  "
            out.append("[\n")
            for (index, value) in elements.enumerated() {
                out.append(inner)
                value.write(into: &out, indent: inner)
                out.append(index == elements.count - 1 ? "\n" : ",\n")
            }
            out.append(indent)
            out.append("]")
        case .string(let s): OrderedJSON.writeString(s, into: &out)
        case .int(let n): out.append(String(n))
        case .bool(let b): out.append(b ? "true" : "false")
        case .null: out.append("null")
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out.append("\"")
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append("\"")
    }
}
