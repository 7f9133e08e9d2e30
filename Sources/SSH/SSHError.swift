import ShellWords

/// Failures of the SSH layer, each described in the words a person reads: what failed, where, what to do.
public enum SSHError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotResolve(endpoint: String, reason: String)
    case cannotConnect(endpoint: String, reason: String)
    /// `stage` is `TCP connect`, `SSH handshake` or `authentication`.
    case connectTimedOut(endpoint: String, stage: String, after: Duration)
    case handshakeFailed(endpoint: String, reason: String)
    case knownHostsUnreadable(path: String, reason: String)
    case knownHostsMalformed(path: String, line: Int, reason: String)
    case unknownHostKey(name: String, key: SSHHostKey, knownHostsPath: String)
    case hostKeyChanged(name: String, offered: SSHHostKey, known: [KnownHostKey], knownHostsPath: String)
    case hostKeyRevoked(name: String, key: SSHHostKey, knownHostsPath: String, line: Int)
    case cannotRecordHostKey(path: String, reason: String)
    case authenticationFailed(endpoint: String, user: String, tried: [String], serverAccepts: [String], hint: String?)
    case privateKeyUnusable(path: String, reason: String)
    case agentUnavailable(endpoint: String, reason: String)
    case commandTimedOut(endpoint: String, command: String, after: Duration)
    case httpTimedOut(endpoint: String, url: String, after: Duration)
    /// The HTTP target refused the TCP connection on the remote host.
    case targetRefused(endpoint: String, target: String)
    case channelFailed(endpoint: String, reason: String)
    case invalidHTTPResponse(endpoint: String, url: String, reason: String)
    case connectionLost(endpoint: String, reason: String)
    case closed(endpoint: String)
    case startQueueTimedOut(endpoint: String, after: Duration)

    /// One known_hosts entry for the host, as shown when its key changed.
    public struct KnownHostKey: Sendable, Equatable {
        public var type: String
        public var fingerprint: String
        public var line: Int
    }

    /// True for failures before a connection was usable (reach, verify, authenticate): nothing ran on the host.
    public var isConnectFailure: Bool {
        switch self {
        case .cannotResolve, .cannotConnect, .connectTimedOut, .handshakeFailed, .knownHostsUnreadable,
             .knownHostsMalformed, .unknownHostKey, .hostKeyChanged, .hostKeyRevoked, .cannotRecordHostKey,
             .authenticationFailed, .privateKeyUnusable, .agentUnavailable, .startQueueTimedOut:
            return true
        case .commandTimedOut, .httpTimedOut, .targetRefused, .channelFailed, .invalidHTTPResponse,
             .connectionLost, .closed:
            return false
        }
    }

    public var description: String {
        switch self {
        case .cannotResolve(let endpoint, let reason):
            return "cannot resolve \(endpoint): \(reason); check the host's address in the inventory"
        case .cannotConnect(let endpoint, let reason):
            return "cannot connect to \(endpoint): \(reason); check that sshd runs there and the port is right"
        case .connectTimedOut(let endpoint, let stage, let after):
            return "\(endpoint): \(stage) did not finish within \(after); the host or network may be down, or it is not an SSH server"
        case .handshakeFailed(let endpoint, let reason):
            return "\(endpoint): SSH handshake failed: \(reason)"
        case .knownHostsUnreadable(let path, let reason):
            return "cannot read known_hosts file \(path): \(reason)"
        case .knownHostsMalformed(let path, let line, let reason):
            return "\(path):\(line): cannot parse this known_hosts line (\(reason)); fix or delete the line — "
                + "no host is trusted while it is there, because it could be a @revoked entry"
        case .unknownHostKey(let name, let key, let path):
            return "host key of \(name) is unknown: it offered \(key.type) \(key.fingerprint), which is not in \(path). "
                + "Compare the fingerprint with the host's own (`ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on it); "
                + "then trust it with `\(Self.keyscanCommand(name: name, keyType: key.type, knownHosts: path))` "
                + "or connect once with accept-new host keys (--accept-new-host-keys)"
        case .hostKeyChanged(let name, let offered, let known, let path):
            let held = known.map { "\($0.type) \($0.fingerprint) (\(path):\($0.line))" }.joined(separator: ", ")
            return "HOST KEY CHANGED for \(name): it offered \(offered.type) \(offered.fingerprint), but known_hosts holds \(held). "
                + "Someone may be intercepting the connection, or the host was reinstalled; refused. If the change is "
                + "expected, remove the old entry (`ssh-keygen -R '\(name)' -f \(path)`) and trust the new key"
        case .hostKeyRevoked(let name, let key, let path, let line):
            return "host key of \(name) (\(key.type) \(key.fingerprint)) is marked @revoked in \(path):\(line); refused"
        case .cannotRecordHostKey(let path, let reason):
            return "cannot add the host key to \(path): \(reason)"
        case .authenticationFailed(let endpoint, let user, let tried, let accepts, let hint):
            let triedText = tried.isEmpty ? "nothing the server accepts" : tried.joined(separator: "; ")
            var text = "\(endpoint): authentication as user \(user) failed; tried \(triedText); "
                + "the server accepts: \(accepts.isEmpty ? "(none listed)" : accepts.joined(separator: ","))"
            if let hint { text += ". \(hint)" }
            return text
        case .privateKeyUnusable(let path, let reason):
            return "private key \(path) cannot be used: \(reason)"
        case .agentUnavailable(let endpoint, let reason):
            return "\(endpoint): cannot authenticate with ssh-agent: \(reason)"
        case .commandTimedOut(let endpoint, let command, let after):
            return "\(endpoint): command ran past its \(after) deadline and was stopped on the host: \(command)"
        case .httpTimedOut(let endpoint, let url, let after):
            return "\(endpoint): HTTP GET \(url) on the host got no full answer within \(after)"
        case .targetRefused(let endpoint, let target):
            return "\(endpoint): connection refused by \(target) on the host (nothing listens there)"
        case .channelFailed(let endpoint, let reason):
            return "\(endpoint): SSH channel failed: \(reason)"
        case .invalidHTTPResponse(let endpoint, let url, let reason):
            return "\(endpoint): HTTP GET \(url) on the host got an invalid answer: \(reason)"
        case .connectionLost(let endpoint, let reason):
            return "\(endpoint): SSH connection lost: \(reason)"
        case .closed(let endpoint):
            return "\(endpoint): SSH connection already closed"
        case .startQueueTimedOut(let endpoint, let after):
            return "\(endpoint): waited \(after) for a free connection slot; too many connections are starting at once"
        }
    }

    /// A shell line that appends the host's key of `keyType` to `knownHosts`, as printed: ssh-keyscan takes its
    /// options before the host (`-t TYPE [-p PORT] HOST`) and names types without the `ssh-` wire prefix.
    static func keyscanCommand(name: String, keyType: String, knownHosts: String) -> String {
        var target = name
        var port: Substring?
        if name.hasPrefix("["), let close = name.lastIndex(of: "]") {
            target = String(name[name.index(after: name.startIndex)..<close])
            port = name[name.index(after: close)...].dropFirst()
        }
        let type: String
        switch keyType {
        case "ssh-ed25519": type = "ed25519"
        case "ssh-rsa", "rsa-sha2-256", "rsa-sha2-512": type = "rsa"
        case "ssh-dss": type = "dsa"
        case let other where other.hasPrefix("ecdsa-sha2-"): type = "ecdsa"
        case "sk-ssh-ed25519@openssh.com": type = "ed25519-sk"
        case let other where other.hasPrefix("sk-ecdsa-sha2-"): type = "ecdsa-sk"
        default: type = keyType
        }
        return "ssh-keyscan -t \(ShellQuote.quote(type))" + (port.map { " -p \($0)" } ?? "") + " \(ShellQuote.quote(target)) >> \(ShellQuote.quote(knownHosts))"
    }

}
