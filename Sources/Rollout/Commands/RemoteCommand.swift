import Foundation

/// A command for a remote POSIX shell, held as argv tokens and rendered in exactly one place.
public struct RemoteCommand: Sendable, Equatable, CustomStringConvertible {
    public enum Token: Sendable, Equatable {
        /// An argument, always single-quoted unless it is plainly safe.
        case arg(String)
        /// A path that may start with `~/`: the home part is expanded by the remote shell, the rest quoted.
        case path(String)
        /// Shell syntax written by this tool itself (`&&`, `>`, `||`, `2>&1`). Never user input.
        case raw(String)
        /// A value known only when the command runs (a lock token, the target SHA), printed as
        /// `<name>` in plans. A command holding one is for reading, never for running.
        case placeholder(String)
    }

    public var tokens: [Token]

    public init(_ tokens: [Token]) { self.tokens = tokens }

    /// Plain argv: every element is an argument.
    public init(argv: [String]) { self.tokens = argv.map(Token.arg) }

    public var description: String { rendered }

    /// False when a placeholder stands in for a value only known at run time.
    public var isRunnable: Bool {
        !tokens.contains { if case .placeholder = $0 { return true } else { return false } }
    }

    /// The command line a remote `sh -c` receives.
    public var rendered: String {
        tokens.map { token in
            switch token {
            case .arg(let s): return ShellQuote.quote(s)
            case .path(let p): return ShellQuote.quotePath(p)
            case .raw(let r): return r
            case .placeholder(let name): return "<" + name + ">"
            }
        }.joined(separator: " ")
    }
}

public enum ShellQuote {
    private static let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_+=:,./-")

    /// Quotes one argument for a POSIX shell. Safe words pass unchanged; everything else is wrapped
    /// in single quotes, with embedded single quotes written as `'\''`.
    public static func quote(_ s: String) -> String {
        if !s.isEmpty, s.allSatisfy({ safe.contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Like `quote`, but a leading `~` or `~/` stays outside the quotes as `"$HOME"` so the remote
    /// shell expands it to the login user's home.
    public static func quotePath(_ p: String) -> String {
        if p == "~" { return "\"$HOME\"" }
        if p.hasPrefix("~/") {
            let rest = String(p.dropFirst(2))
            return rest.isEmpty ? "\"$HOME\"/" : "\"$HOME\"/" + quote(rest)
        }
        return quote(p)
    }
}
