/// A branch, tag or commit name that is safe to hand to git on a remote host.
///
/// Accepted: what `git check-ref-format --allow-onelevel` accepts, or a hex SHA of 4 to 40 digits, and
/// in addition only characters that never need shell quoting (`A-Z a-z 0-9 . _ / - @ % + = ,`), so a
/// ref can neither start an option (`-x`, `--upload-pack=x`) nor carry shell syntax (`a;b`, `$(x)`).
public struct GitRef: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let value: String

    public init(validating text: String) throws {
        if let reason = GitRef.problem(with: text) {
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

    private static let allowedBytes = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-@%+=,".utf8)

    /// Why `text` is refused, or nil when it is a usable ref.
    static func problem(with text: String) -> String? {
        if text.isEmpty { return "it is empty" }
        if text.utf8.count > 255 { return "it is longer than 255 characters" }
        if text.hasPrefix("-") { return "it starts with \"-\" and would be read as an option" }
        if let bad = text.unicodeScalars.first(where: { !$0.isASCII || !allowedBytes.contains(UInt8($0.value)) }) {
            let shown = bad.value < 0x20 || bad.value == 0x7F ? "a control character" : "\"\(bad)\""
            return "it contains \(shown); allowed are letters, digits and . _ / - @ % + = ,"
        }
        if text == "@" { return "\"@\" alone is not a ref" }
        if text.contains("..") { return "it contains \"..\"" }
        if text.contains("@{") { return "it contains \"@{\"" }
        if text.hasPrefix("/") || text.hasSuffix("/") || text.contains("//") {
            return "it starts or ends with \"/\" or contains \"//\""
        }
        if text.hasSuffix(".") { return "it ends with \".\"" }
        for component in text.split(separator: "/") {
            if component.hasPrefix(".") { return "a part of it starts with \".\"" }
            if component.hasSuffix(".lock") { return "a part of it ends with \".lock\"" }
        }
        return nil
    }
}
