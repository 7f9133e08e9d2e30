/// The one rule for a branch, tag or commit name that is handed to git on a remote host, shared by the
/// inventory (`repo.branch`, `repo.remote`) and by `--ref` on the command line, so that whatever the
/// inventory accepts a deploy accepts too.
///
/// Accepted: what `git check-ref-format --allow-onelevel` accepts, and in addition only characters
/// that never need shell quoting (`A-Z a-z 0-9 . _ / - @ % + = ,`), so a ref can neither start an
/// option (`-x`, `--upload-pack=x`) nor carry shell syntax (`a;b`, `$(x)`).
public enum GitRefRule {
    private static let allowedBytes = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-@%+=,".utf8)

    /// Why `text` is refused, or nil when it is a usable ref.
    public static func problem(with text: String) -> String? {
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
