/// Quoting of user-given text inside messages: control characters are shown escaped.
public enum QuotedText {
    public static func quoted(_ text: String) -> String {
        "\"" + VisibleText.escaped(text) + "\""
    }
}

/// Text from the inventory or from hosts (descriptions, lock holders, history fields, command output)
/// as a terminal may show it: control characters escaped (`\n`, `\r`, `\t`, `\x1b`, `\x9b`), so such text
/// can neither move the cursor nor recolour or clear the screen; bidirectional overrides and line or
/// paragraph separators escaped too (`\u202e`), so text cannot be shown in another order than it has.
public enum VisibleText {
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar):
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" : "") + hex
            case _ where isUnsafe(scalar):
                out += "\\u" + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Characters never shown as they are: controls, bidirectional embeddings, overrides and isolates
    /// (U+202A–U+202E, U+2066–U+2069), and the line and paragraph separators (U+2028, U+2029).
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        isControl(scalar) || (0x2028...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }

    /// C0 controls, DEL and the C1 controls (0x80-0x9F, which some terminals read as escape sequences).
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
