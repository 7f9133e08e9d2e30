/// Rules for values that end up on a remote command line or in a generated config. Each returns nil when the
/// value is acceptable, or the reason it is not (a sentence fragment that follows "`value` is not allowed: ").
public enum RemoteValueRules {
    /// Service, host and gateway host names.
    public static func name(_ text: String) -> String? {
        matches(text, first: lowercaseAndDigits, rest: lowercaseAndDigits.union(["-"]), maxLength: 63)
            ? nil : "names use lowercase letters, digits and `-`, start with a letter or digit, and have at most 63 characters"
    }

    /// Compose project names, as compose itself requires.
    static func composeProject(_ text: String) -> String? {
        matches(text, first: lowercaseAndDigits, rest: lowercaseAndDigits.union(["-", "_"]), maxLength: 63)
            ? nil : "compose project names use lowercase letters, digits, `-` and `_`, and start with a letter or digit"
    }

    /// The SSH login name.
    static func user(_ text: String) -> String? {
        let letters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_".unicodeScalars)
        return matches(text, first: letters, rest: letters.union(["-", "."]), maxLength: 32)
            ? nil : "user names use letters, digits, `_`, `-` and `.`, do not start with `-` or `.`, and have at most 32 characters"
    }

    /// A git branch or remote name: the same rule as every ref handed to git (`GitRefRule`).
    static func gitRef(_ text: String) -> String? {
        noControlCharacters(text) ?? GitRefRule.problem(with: text)
    }

    /// A path on the remote host: absolute, or under the login user's home (`~/...`).
    static func remotePath(_ text: String, allowHome: Bool = true) -> String? {
        if let problem = noControlCharacters(text) { return problem }
        if text.hasPrefix("/") || (allowHome && (text.hasPrefix("~/") || text == "~")) { return nil }
        return allowHome ? "it must be absolute (`/...`) or start with `~/`" : "it must be absolute (start with `/`)"
    }

    /// A compose file name, relative to the checkout or absolute.
    static func composeFile(_ text: String) -> String? {
        if let problem = noControlCharacters(text) { return problem }
        if text.isEmpty { return "it is empty" }
        return text.hasPrefix("-") ? "it may not start with `-`" : nil
    }

    /// Longest text passed to a remote shell as one argument (paths, compose file, `up_args` items).
    static let maxArgumentBytes = 1024

    /// Any text passed to a remote shell as one (quoted) argument: no control characters, bounded length.
    static func noControlCharacters(_ text: String) -> String? {
        if text.unicodeScalars.contains(where: VisibleText.isUnsafe) {
            // Bidirectional overrides and line separators are format controls: they too could hide what a value says.
            return "it may not contain NUL, newlines or other control characters"
        }
        if text.utf8.count > maxArgumentBytes { return "it is \(text.utf8.count) bytes long; at most \(maxArgumentBytes) are allowed" }
        return nil
    }

    /// A repository `git clone` takes: `https://…`, `ssh://…`, `user@host:path`, `file://…` or a path on the host.
    /// One word (no spaces) that git could not read as an option.
    static func repositoryURL(_ text: String) -> String? {
        if let problem = noControlCharacters(text) { return problem }
        if text.hasPrefix("-") { return "it may not start with `-`" }
        if text.contains(where: \.isWhitespace) { return "it may not contain spaces" }
        return nil
    }

    /// One skill or channel: delivered in a comma-separated variable, so without commas.
    static func listItem(_ text: String) -> String? {
        noControlCharacters(text) ?? (text.contains(",") ? "it may not contain a comma (the list reaches hosts comma-separated)" : nil)
    }

    /// A gateway route prefix; it is written into the nginx config, so only URL-path characters are allowed.
    static func routePrefix(_ text: String) -> String? {
        guard text.hasPrefix("/"), text.hasSuffix("/") else { return "it must start and end with `/`, e.g. `/api/customer/`" }
        if text.utf8.count > 256 { return "it is \(text.utf8.count) characters long; at most 256 are allowed" }
        let allowed = lowercaseAndDigits.union(Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ/-_.".unicodeScalars))
        return text.unicodeScalars.allSatisfy(allowed.contains) && !text.contains("//")
            ? nil : "only letters, digits, `-`, `_`, `.` and single `/` are allowed"
    }

    private static let lowercaseAndDigits = Set("abcdefghijklmnopqrstuvwxyz0123456789".unicodeScalars)

    private static func matches(_ text: String, first: Set<Unicode.Scalar>, rest: Set<Unicode.Scalar>, maxLength: Int) -> Bool {
        let scalars = text.unicodeScalars
        guard let head = scalars.first, first.contains(head), scalars.count <= maxLength else { return false }
        return scalars.dropFirst().allSatisfy(rest.contains)
    }
}
