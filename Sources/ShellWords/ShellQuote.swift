/// Quoting for POSIX shells: the one place a word becomes shell text, for the commands sent to hosts (`RemoteCommand`),
/// the SSH layer's `timeout` wrapper and the hints printed for operators.
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
        var bytes: [UInt8] = []
        quote(s, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Single-quotes `s` whatever it holds: the shell reads it as one plain word, never as syntax. Byte by byte, as
    /// the shell reads it: an apostrophe followed by a combining mark is one Swift `Character` but still a quote.
    public static func quoteAlways(_ s: String) -> String {
        var bytes: [UInt8] = []
        singleQuoted(s.utf8, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `quote`, appended to `bytes`.
    public static func quote(_ s: String, into bytes: inout [UInt8]) {
        var s = s
        s.withUTF8 { utf8 in
            var plain = !utf8.isEmpty
            for byte in utf8 where !safe[Int(byte)] { plain = false; break }
            if plain { bytes.append(contentsOf: utf8); return }
            singleQuoted(utf8, into: &bytes)
        }
    }

    /// `bytes` in single quotes, each apostrophe written as `'\''`: the one escaping both `quote` and `quoteAlways` use.
    private static func singleQuoted(_ utf8: some Collection<UInt8>, into bytes: inout [UInt8]) {
        bytes.reserveCapacity(bytes.count + utf8.count + 8)
        bytes.append(UInt8(ascii: "'"))
        for byte in utf8 {
            if byte == UInt8(ascii: "'") {
                bytes += [UInt8(ascii: "'"), UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "'")]
            } else {
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "'"))
    }

    /// Like `quote`, but a leading `~` or `~/` stays outside the quotes as `"$HOME"` so the remote
    /// shell expands it to the login user's home.
    public static func quotePath(_ p: String) -> String {
        var bytes: [UInt8] = []
        quotePath(p, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `quotePath`, appended to `bytes`.
    public static func quotePath(_ p: String, into bytes: inout [UInt8]) {
        if p == "~" { bytes += "\"$HOME\"".utf8; return }
        if p.hasPrefix("~/") {
            bytes += "\"$HOME\"/".utf8
            let rest = String(p.dropFirst(2))
            if !rest.isEmpty { quote(rest, into: &bytes) }
            return
        }
        quote(p, into: &bytes)
    }
}
