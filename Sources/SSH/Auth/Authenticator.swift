import CLibSSH2
import Foundation

/// Public-key authentication with a key file or ssh-agent, with failures that say what was tried.
struct Authenticator {
    static let passphraseVariable = "OPENCLAW_SSH_PASSPHRASE"
    static let rsaHint = "The key is RSA: this client can sign only with ssh-rsa (SHA-1), which OpenSSH 8.8 and later "
        + "refuse by default. Create an ed25519 key (`ssh-keygen -t ed25519`) and add its .pub to the host's authorized_keys"

    let core: SessionCore
    let configuration: SSHConfiguration
    let deadline: Deadline

    func authenticate() throws {
        let user = configuration.user
        let methods = try serverMethods()
        if libssh2_userauth_authenticated(core.session) != 0 { return }
        guard methods.contains("publickey") else {
            throw SSHError.authenticationFailed(endpoint: core.endpoint, user: user, tried: [], serverAccepts: methods,
                                                hint: "The server does not offer public-key authentication, the only kind this tool uses")
        }
        switch configuration.authentication {
        case .privateKey(let path): try withKeyFile(path, serverMethods: methods)
        case .agent: try withAgent(serverMethods: methods)
        }
    }

    private func serverMethods() throws -> [String] {
        let user = configuration.user
        let list = try core.retryingPointer(until: deadline) {
            libssh2_userauth_list(core.session, user, UInt32(user.utf8.count))
        }
        if let list { return String(cString: list).split(separator: ",").map(String.init) }
        if libssh2_userauth_authenticated(core.session) != 0 { return [] }
        throw SSHError.connectionLost(endpoint: core.endpoint, reason: "while asking for authentication methods: \(core.lastError.message)")
    }

    private func withKeyFile(_ path: String, serverMethods: [String]) throws {
        let info = try PrivateKeyInfo.read(path: path)
        let passphrase = configuration.environment[Self.passphraseVariable]
        if info.encrypted, passphrase == nil || passphrase == "" {
            throw SSHError.privateKeyUnusable(path: path, reason: "it is protected by a passphrase; set \(Self.passphraseVariable) in the environment")
        }
        let user = configuration.user
        let rc = try core.retrying(until: deadline) {
            openclaw_userauth_publickey_fromfile(core.session, user, UInt32(user.utf8.count), path, info.encrypted ? passphrase : nil)
        }
        if rc == 0 { return }
        let described = "key file \(path) (\([info.type, info.fingerprint].compactMap { $0 }.joined(separator: " ")))"
        switch rc {
        case LIBSSH2_ERROR_FILE, LIBSSH2_ERROR_KEYFILE_AUTH_FAILED:
            let reason = info.encrypted ? "the passphrase in \(Self.passphraseVariable) does not open it" : "libssh2 cannot read this key format (\(core.lastError.message))"
            throw SSHError.privateKeyUnusable(path: path, reason: reason)
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
            throw SSHError.authenticationFailed(endpoint: core.endpoint, user: user, tried: ["publickey with \(described): refused"],
                                                serverAccepts: serverMethods, hint: hint(forKeyType: info.type))
        default:
            throw failure(rc, during: "public-key authentication with \(described)")
        }
    }

    private func withAgent(serverMethods: [String]) throws {
        guard let socketPath = configuration.environment["SSH_AUTH_SOCK"], !socketPath.isEmpty else {
            throw SSHError.agentUnavailable(endpoint: core.endpoint, reason: "SSH_AUTH_SOCK is not set; start ssh-agent and `ssh-add` a key, or set `identity` for the host")
        }
        guard let agent = libssh2_agent_init(core.session) else {
            throw SSHError.agentUnavailable(endpoint: core.endpoint, reason: "libssh2 could not create an agent client")
        }
        defer { libssh2_agent_free(agent) }
        libssh2_agent_set_identity_path(agent, socketPath)
        guard libssh2_agent_connect(agent) == 0 else {
            throw SSHError.agentUnavailable(endpoint: core.endpoint, reason: "cannot reach the agent at \(socketPath) (SSH_AUTH_SOCK)")
        }
        defer { libssh2_agent_disconnect(agent) }
        guard libssh2_agent_list_identities(agent) == 0 else {
            throw SSHError.agentUnavailable(endpoint: core.endpoint, reason: "the agent at \(socketPath) did not list its keys")
        }
        let user = configuration.user
        var tried: [String] = []
        var sawRSA = false
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        // Stops at the first key the server takes: sshd counts every offered key against MaxAuthTries.
        for _ in 0..<64 {
            var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
            let next = libssh2_agent_get_identity(agent, &identity, previous)
            guard next == 0, let identity else { break }
            previous = identity
            let blob = Array(UnsafeBufferPointer(start: identity.pointee.blob, count: identity.pointee.blob_len))
            let type = SSHWire.keyType(ofBlob: blob) ?? "unknown"
            sawRSA = sawRSA || type == "ssh-rsa"
            let comment = identity.pointee.comment.map { String(cString: $0) } ?? ""
            let rc = try core.retrying(until: deadline) { libssh2_agent_userauth(agent, user, identity) }
            if rc == 0 { return }
            tried.append("agent key \(type) \(Digest.fingerprint(ofKeyBlob: blob))\(comment.isEmpty ? "" : " (\(comment))"): refused")
            guard rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED else {
                throw failure(rc, during: "authentication with agent key \(type)")
            }
        }
        if tried.isEmpty {
            throw SSHError.agentUnavailable(endpoint: core.endpoint, reason: "the agent at \(socketPath) holds no keys; `ssh-add` one")
        }
        throw SSHError.authenticationFailed(endpoint: core.endpoint, user: user, tried: tried, serverAccepts: serverMethods,
                                            hint: sawRSA ? Self.rsaHint : nil)
    }

    private func hint(forKeyType type: String?) -> String? {
        type == "ssh-rsa" ? Self.rsaHint
            : "Check that the matching .pub is in ~\(configuration.user)/.ssh/authorized_keys on the host"
    }

    private func failure(_ rc: Int32, during what: String) -> SSHError {
        .connectionLost(endpoint: core.endpoint, reason: "\(what): \(core.lastError.message) (\(rc))")
    }
}
