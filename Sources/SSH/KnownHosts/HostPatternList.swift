import Foundation

/// The host field of a known_hosts line: comma-separated patterns (`*`, `?`, `!negation`) or one
/// hashed name (`|1|salt|hash`, HMAC-SHA1 of the name keyed with the salt).
enum HostPatternList: Sendable, Equatable {
    case patterns([String])
    case hashed(salt: [UInt8], hash: [UInt8])

    /// Whether `name` (`host` or `[host]:port`, lower-case) is covered, as OpenSSH decides it:
    /// at least one pattern matches and no negated one does.
    func matches(_ name: String) -> Bool {
        switch self {
        case .hashed(let salt, let hash):
            return Digest.hmacSHA1(key: salt, data: Array(name.utf8)) == hash
        case .patterns(let patterns):
            var matched = false
            for pattern in patterns {
                if pattern.hasPrefix("!") {
                    if Self.glob(Array(pattern.utf8.dropFirst()), Array(name.utf8)) { return false }
                } else if Self.glob(Array(pattern.utf8), Array(name.utf8)) {
                    matched = true
                }
            }
            return matched
        }
    }

    /// `*` matches any run of bytes, `?` any one byte. Iterative, with one backtrack point, so it is
    /// linear-ish and cannot recurse deeply on a hostile pattern.
    static func glob(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        var p = 0, t = 0
        var starP = -1, starT = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                starP = p
                starT = t
                p += 1
            } else if starP >= 0 {
                p = starP + 1
                starT += 1
                t = starT
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}
