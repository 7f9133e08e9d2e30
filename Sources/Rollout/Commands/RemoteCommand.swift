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
        /// A value known only when the rollout runs (a lock token, the target commit), printed as
        /// `<label>` in plans and filled in, quoted as an argument, by `filled(_:)` before it runs.
        case late(LateValue, label: String)
    }

    public var tokens: [Token]

    public init(_ tokens: [Token]) { self.tokens = tokens }

    /// Plain argv: every element is an argument.
    public init(argv: [String]) { self.tokens = argv.map(Token.arg) }

    public var description: String { rendered }

    /// The late values this command needs before it can run.
    public var lateValues: Set<LateValue> {
        Set(tokens.compactMap { if case .late(let value, _) = $0 { return value } else { return nil } })
    }

    /// The command with every late value filled in. Throws when one is missing: a plan step is never
    /// run with a hole in it.
    public func filled(_ values: [LateValue: String]) throws(MissingLateValue) -> RemoteCommand {
        var tokens = tokens
        for index in tokens.indices {
            guard case .late(let value, let label) = tokens[index] else { continue }
            guard let text = values[value] else { throw MissingLateValue(value: value, label: label) }
            tokens[index] = .arg(text)
        }
        return RemoteCommand(tokens)
    }

    /// The command line a remote `sh -c` receives (with `<label>` where a late value is not filled in).
    public var rendered: String {
        var line = ""
        for (index, token) in tokens.enumerated() {
            if index > 0 { line.append(" ") }
            switch token {
            case .arg(let s): line.append(ShellQuote.quote(s))
            case .path(let p): line.append(ShellQuote.quotePath(p))
            case .raw(let r): line.append(r)
            case .late(_, let label): line.append("<" + label + ">")
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

/// The values a plan cannot know before the rollout runs.
public enum LateValue: String, Sendable, Hashable, CaseIterable {
    /// The lock holder's owner.json line (written by lock and refreshed by the periodic refresh).
    case lockOwner = "owner"
    /// The rollout's lock token (refresh and unlock act only while it holds the lock).
    case lockToken = "token"
    /// The commit the target ref resolved to, once, for every host.
    case targetCommit = "target"
    /// The commit a host ran before this rollout (what a put back returns to).
    case previousCommit = "previous"
    /// One history record, as a JSON line.
    case historyRecord = "record"
}

/// A plan step was about to run with a late value nobody filled in: a defect, reported as such.
public struct MissingLateValue: Error, Sendable, CustomStringConvertible {
    public var value: LateValue
    public var label: String
    public var description: String { "internal error: the step's <\(label)> was not filled in before it ran" }
}
