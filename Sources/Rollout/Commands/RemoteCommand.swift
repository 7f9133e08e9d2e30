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
        var line = ""
        for (index, token) in tokens.enumerated() {
            if index > 0 { line.append(" ") }
            switch token {
            case .arg(let s): line.append(ShellQuote.quote(s))
            case .path(let p): line.append(ShellQuote.quotePath(p))
            case .raw(let r): line.append(r)
            case .placeholder(let name): line.append("<" + name + ">")
            }
        }
        return line
    }
}

public enum ShellQuote {
    /// Bytes that never need quoting: `A-Z a-z 0-9 @ % _ + = : , . / -`.
    private static let safe: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_+=:,./-".utf8 { table[Int(byte)] = true }
        return table
    }()

    /// Quotes one argument for a POSIX shell. Safe words pass unchanged; everything else is wrapped
    /// in single quotes, with embedded single quotes written as `'\''`.
    public static func quote(_ s: String) -> String {
        if !s.isEmpty, s.utf8.allSatisfy({ safe[Int($0)] }) { return s }
        var bytes: [UInt8] = [UInt8(ascii: "'")]
        bytes.reserveCapacity(s.utf8.count + 8)
        for byte in s.utf8 {
            if byte == UInt8(ascii: "'") {
                bytes += Array("'\\''".utf8)
            } else {
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "'"))
        return String(decoding: bytes, as: UTF8.self)
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
