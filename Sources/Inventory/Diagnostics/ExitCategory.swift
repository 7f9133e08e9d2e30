/// What kind of failure an error is, in the SPEC's terms; the command line maps each to its exit code
/// in one place. Every error the tool reports adopts `CategorizedError`.
public enum ExitCategory: Sendable, Equatable {
    /// The request itself is wrong: an unknown option, service or host, a refused ref (64).
    case usage
    /// The inventory (or a file it names) is invalid (65).
    case invalidInventory
    /// A rollout or a check failed, and every touched host is back where it was (1).
    case failed
    /// Some host is not known to be healthy on its previous revision: a person must look (2).
    case needsAttention
    /// Another rollout holds a lock (3).
    case lockHeld
    /// A host could not be reached, authenticated or verified; nothing changed (4).
    case unreachable
}

/// An error that knows its category; its `description` is the sentence a person reads.
public protocol CategorizedError: Error, CustomStringConvertible {
    var category: ExitCategory { get }
}

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
