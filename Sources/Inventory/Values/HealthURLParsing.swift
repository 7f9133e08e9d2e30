import Foundation

extension HealthURL {
    /// Parses `http://HOST:PORT/PATH`. HOST is an IPv4 address, a DNS name or a bracketed IPv6 address;
    /// PORT is required; PATH defaults to `/`. Throws the reason as a sentence fragment.
    public static func parse(_ text: String) throws(HealthURLProblem) -> HealthURL {
        guard text.hasPrefix("http://") else {
            if text.hasPrefix("https://") {
                throw HealthURLProblem("https is not supported (the probe is plain HTTP through the SSH connection)")
            }
            throw HealthURLProblem("it must start with `http://`")
        }
        let afterScheme = text.dropFirst("http://".count)
        let authority = afterScheme.prefix { $0 != "/" }
        let path = afterScheme.isEmpty ? "/" : String(afterScheme.dropFirst(authority.count))
        if authority.isEmpty { throw HealthURLProblem("the host and port are missing") }
        if authority.contains("@") { throw HealthURLProblem("user names and passwords are not allowed") }

        let host: Substring
        let portText: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw HealthURLProblem("the IPv6 address has no closing `]`") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let afterHost = authority[authority.index(after: close)...]
            guard afterHost.hasPrefix(":") else { throw HealthURLProblem("the port is missing") }
            portText = afterHost.dropFirst()
            guard !host.isEmpty, host.contains(":"),
                  host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw HealthURLProblem("`\(host)` is not an IPv6 address")
            }
        } else {
            guard let colon = authority.lastIndex(of: ":") else { throw HealthURLProblem("the port is missing") }
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
            if host.isEmpty { throw HealthURLProblem("the host is missing") }
            guard isValidHostName(String(host)) else {
                throw HealthURLProblem(host.contains(":")
                    ? "an IPv6 address must be written in brackets, e.g. `http://[::1]:8080/health`"
                    : "`\(host)` is not a host name or IP address")
            }
        }
        guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText), (1...65535).contains(port) else {
            throw HealthURLProblem(portText.isEmpty ? "the port is missing" : "the port must be a number from 1 to 65535")
        }
        guard !path.contains("#"), path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw HealthURLProblem("the path may not contain spaces, control characters, non-ASCII characters or `#`")
        }
        return HealthURL(host: String(host), port: port, path: path.isEmpty ? "/" : path)
    }
}

/// Why a text is not a health URL.
public struct HealthURLProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// An IPv4 address in dotted-quad form, or a DNS name: labels of 1 to 63 letters, digits and `-` (not at
/// either end of a label), at most 253 characters, whose last label is not all digits (so `256.1.1.1`
/// or `1.2.3` is neither a name nor an address).
func isValidHostName(_ text: String) -> Bool {
    if isIPv4(text) { return true }
    guard !text.isEmpty, text.utf8.count <= 253 else { return false }
    let labels = text.split(separator: ".", omittingEmptySubsequences: false)
    for label in labels {
        guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-",
              label.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-") }) else { return false }
    }
    return !(labels.last ?? "").allSatisfy(\.isNumber)
}

/// Four decimal numbers 0-255, dot-separated, without leading zeros.
func isIPv4(_ text: String) -> Bool {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts.allSatisfy { part in
        (1...3).contains(part.count) && part.allSatisfy { $0.isASCII && $0.isNumber } && Int(part)! <= 255
            && !(part.count > 1 && part.hasPrefix("0"))
    }
}

/// An IPv6 address as `inet_pton` reads it (unbracketed, no zone).
func isIPv6(_ text: String) -> Bool {
    guard text.contains(":"), text.utf8.count <= 45 else { return false }
    var address = in6_addr()
    return inet_pton(AF_INET6, text, &address) == 1
}

/// A host address as the inventory accepts it: a DNS name, an IPv4 address or an IPv6 address (unbracketed).
func isValidAddress(_ text: String) -> Bool {
    isValidHostName(text) || isIPv6(text)
}
