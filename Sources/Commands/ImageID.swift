/// A container image's ID as an engine prints it: hex digits, with docker's `sha256:` in front. Checked before
/// it is sent back to a host.
public struct ImageID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: String

    public init?(_ text: String) {
        let hex = text.hasPrefix("sha256:") ? text.dropFirst(7) : Substring(text)
        guard (12...64).contains(hex.count), hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        value = text
    }

    /// The first 12 hex digits, as engines show IDs.
    public var short: String {
        String((value.hasPrefix("sha256:") ? value.dropFirst(7) : Substring(value)).prefix(12))
    }

    public var description: String { value }

    public static func < (a: ImageID, b: ImageID) -> Bool { a.value < b.value }
}
