import ExitCategories
/// A branch, tag or commit name that is safe to hand to git on a remote host: it passes `GitRefRule`.
/// The inventory's `repo.branch` and `--ref` are both parsed into one, once, and passed on typed.
public struct GitRef: Sendable, Equatable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let value: String

    public init(validating text: String) throws(RefusedRef) {
        if let reason = GitRefRule.problem(with: text) { throw RefusedRef(ref: text, reason: reason) }
        value = text
    }

    /// For refs written in code; an invalid literal is a programming error.
    public init(stringLiteral text: String) {
        precondition(GitRefRule.problem(with: text) == nil, "invalid ref literal \(text)")
        value = text
    }

    public var description: String { value }

    /// The commit this ref names by itself, when it is a full commit id.
    public var commitID: CommitID? { CommitID(value) }

    /// 4 to 40 hex digits: may name a commit directly.
    public var isHexSHA: Bool {
        (4...40).contains(value.utf8.count) && value.utf8.allSatisfy { CommitID.isLowerHex($0) || (65...70).contains($0) }
    }
}

/// A full commit id: 40 lowercase hex digits, as `git rev-parse` prints it. The only form a checkout takes.
public struct CommitID: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let value: String

    /// Nil unless `text` is exactly 40 lowercase hex digits.
    public init?(_ text: String) {
        guard text.utf8.count == 40, text.utf8.allSatisfy(CommitID.isLowerHex) else { return nil }
        value = text
    }

    public var description: String { value }

    /// The short form for people.
    public var short: String { value.shortSHA }

    static func isLowerHex(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (97...102).contains(byte)
    }
}

/// A ref the rule refuses (`--ref`, `rollback --to`): a usage error.
public struct RefusedRef: Error, Sendable, Equatable, CategorizedError {
    public var ref: String
    public var reason: String

    public init(ref: String, reason: String) {
        self.ref = ref
        self.reason = reason
    }

    public var category: ExitCategory { .usage }

    public var description: String {
        "refusing ref \(QuotedText.quoted(ref)): \(reason). Give a branch, a tag or a commit SHA."
    }
}

extension String {
    /// A commit id for people: its first 12 hex digits (what every table, event and message shows).
    public var shortSHA: String { String(prefix(12)) }
}
