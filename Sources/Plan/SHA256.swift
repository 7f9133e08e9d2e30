import CCrypto

/// SHA-256 from libcrypto: the environment digest a host is compared by, and a saved plan's inventory digest.
public enum SHA256 {
    /// The digest of `text`'s UTF-8 bytes, as 64 lower-case hex digits (what `sha256sum` prints).
    public static func hex(_ text: String) -> String { hex(bytes: Array(text.utf8)) }

    /// The digest of `bytes`, as 64 lower-case hex digits.
    public static func hex(bytes: [UInt8]) -> String {
        var out = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { openclaw_sha256(input.baseAddress, input.count, $0.baseAddress) }
        }
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: out.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] }, as: UTF8.self)
    }
}
