import Inventory

/// A branch, tag or commit name that is safe to hand to git on a remote host: it passes
/// `GitRefRule` (the rule the inventory applies to `repo.branch` too). A hex SHA passes the same rule.
public struct GitRef: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let value: String

    public init(validating text: String) throws {
        if let reason = GitRefRule.problem(with: text) {
            throw RolloutError.invalidRef(ref: text, reason: reason)
        }
        value = text
    }

    public var description: String { value }

    /// 40 lowercase hex digits: a full commit id, the only form `checkout` takes.
    public var isFullSHA: Bool { GitRef.isFullSHA(value) }

    /// Whether `text` is a full commit id (40 lowercase hex digits), as `git rev-parse` prints it.
    public static func isFullSHA(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy(isLowerHex)
    }

    /// 4 to 40 hex digits: may name a commit directly.
    var isHexSHA: Bool {
        (4...40).contains(value.utf8.count) && value.utf8.allSatisfy { GitRef.isLowerHex($0) || (65...70).contains($0) }
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (97...102).contains(byte)
    }
}
