/// Quoting of user-given text inside messages: control characters are shown escaped.
public enum QuotedText {
    public static func quoted(_ text: String) -> String {
        "\"" + VisibleText.escaped(text) + "\""
    }
}

/// Text from the inventory or from hosts (descriptions, lock holders, history fields, command output)
/// as a terminal may show it: control characters escaped (`\n`, `\r`, `\t`, `\x1b`), so such text can
/// neither move the cursor nor recolour or clear the screen.
public enum VisibleText {
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar):
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" : "") + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// C0 controls, DEL and the C1 controls (0x80-0x9F, which some terminals read as escape sequences).
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
