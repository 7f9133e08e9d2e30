import Foundation

/// Decides whether a server's host key is trusted, following OpenSSH's known_hosts rules, and records
/// new keys when the policy allows it.
struct HostKeyVerifier {
    let knownHosts: KnownHostsFile

    enum Verdict: Equatable {
        case trusted
        case unknown
        case changed([SSHError.KnownHostKey])
        case revoked(line: Int)
    }

    /// Key types known_hosts holds for `name`, in file order: the algorithms to ask the server for first.
    func knownKeyTypes(for name: String) -> [String] {
        var types: [String] = []
        for entry in knownHosts.entries where entry.marker == .none && entry.hosts.matches(name) {
            if !types.contains(entry.keyType) { types.append(entry.keyType) }
        }
        return types
    }

    func verdict(name: String, keyBlob: [UInt8]) -> Verdict {
        Self.verdict(entries: knownHosts.entries, name: name, keyBlob: keyBlob)
    }

    private static func verdict(entries: [KnownHostsEntry], name: String, keyBlob: [UInt8]) -> Verdict {
        if let revoked = entries.first(where: { $0.marker == .revoked && $0.keyBlob == keyBlob && $0.hosts.matches(name) }) {
            return .revoked(line: revoked.line)
        }
        let forHost = entries.filter { $0.marker == .none && $0.hosts.matches(name) }
        if forHost.contains(where: { $0.keyBlob == keyBlob }) { return .trusted }
        // Any other key for this host means the host's identity changed: with the algorithm
        // preference taken from known_hosts, a host that still had its old key would have shown it.
        if !forHost.isEmpty {
            return .changed(forHost.map {
                SSHError.KnownHostKey(type: $0.keyType, fingerprint: Digest.fingerprint(ofKeyBlob: $0.keyBlob), line: $0.line)
            })
        }
        return .unknown
    }

    /// Checks the key and, under accept-new, records an unknown one (then returns true). Throws the refusal otherwise.
    @discardableResult
    func verify(name: String, keyBlob: [UInt8], policy: HostKeyPolicy) throws -> Bool {
        let key = SSHHostKey(type: SSHWire.keyType(ofBlob: keyBlob) ?? "unknown", fingerprint: Digest.fingerprint(ofKeyBlob: keyBlob))
        var current = verdict(name: name, keyBlob: keyBlob)
        if current == .unknown, policy == .acceptNew {
            let line = "\(name) \(key.type) \(Data(keyBlob).base64EncodedString())"
            // Re-decided under the file lock: another connection may have added a key for this host meanwhile.
            current = try KnownHostsAppender(path: knownHosts.path).append(line: line) { file in
                Self.verdict(entries: file.entries, name: name, keyBlob: keyBlob)
            }
            if current == .unknown { return true }
        }
        switch current {
        case .trusted: return false
        case .unknown: throw SSHError.unknownHostKey(name: name, key: key, knownHostsPath: knownHosts.path)
        case .changed(let known):
            throw SSHError.hostKeyChanged(name: name, offered: key, known: known, knownHostsPath: knownHosts.path)
        case .revoked(let line):
            throw SSHError.hostKeyRevoked(name: name, key: key, knownHostsPath: knownHosts.path, line: line)
        }
    }
}
