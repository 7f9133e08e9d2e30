import CLibSSH2
import Foundation

/// The server closed the connection before the handshake finished, as sshd does to starts past its
/// `MaxStartups`: worth another try.
struct DroppedStart: Error {
    let error: SSHError
}

/// Opens an authenticated session: TCP connect, handshake, host-key check, authentication, keepalive.
/// All of it within one deadline.
enum SessionOpener {
    /// Host-key algorithms OpenSSH prefers, first: the order used for hosts known_hosts does not name.
    private static let defaultHostKeyOrder = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"]

    static func open(_ configuration: SSHConfiguration) throws -> (SessionCore, SSHHostKey) {
        let verifier = HostKeyVerifier(knownHosts: try KnownHostsFile.load(path: configuration.knownHostsPath))
        let endpoint = configuration.endpoint
        let deadline = Deadline(after: configuration.connectTimeout)
        let socket = try TCPConnector.connect(host: configuration.host, port: configuration.port, deadline: deadline, endpoint: endpoint)
        let core = try SessionCore(socket: socket, endpoint: endpoint)
        do {
            preferHostKeyTypes(verifier.knownKeyTypes(for: configuration.knownHostsName), core: core)
            try handshake(core, deadline: deadline)
            let key = try hostKey(core)
            let added = try verifier.verify(name: configuration.knownHostsName, keyBlob: key, policy: configuration.hostKeyPolicy)
            do {
                try Authenticator(core: core, configuration: configuration, deadline: deadline).authenticate()
            } catch is DeadlineReached {
                throw SSHError.connectTimedOut(endpoint: endpoint, stage: "authentication", after: deadline.elapsed)
            }
            // Configured only now: set before the handshake, it breaks the handshake.
            let interval = configuration.keepaliveInterval.components.seconds
            if interval > 0 { libssh2_keepalive_config(core.session, 1, UInt32(clamping: interval)) }
            return (core, SSHHostKey(type: SSHWire.keyType(ofBlob: key) ?? "unknown", fingerprint: Digest.fingerprint(ofKeyBlob: key),
                                     added: added))
        } catch {
            core.discard()
            throw error
        }
    }

    /// Asks first for the algorithms known_hosts holds for the host: otherwise a host known only by its
    /// ed25519 key could present ECDSA and look unknown or changed.
    private static func preferHostKeyTypes(_ known: [String], core: SessionCore) {
        var algorithms: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        let count = libssh2_session_supported_algs(core.session, LIBSSH2_METHOD_HOSTKEY, &algorithms)
        guard count > 0, let algorithms else { return }
        defer { libssh2_free(core.session, algorithms) }
        let supported = (0..<Int(count)).compactMap { algorithms[$0].map { String(cString: $0) } }
        var order = known.filter(supported.contains)
        for name in defaultHostKeyOrder + supported where supported.contains(name) && !order.contains(name) {
            order.append(name)
        }
        _ = libssh2_session_method_pref(core.session, LIBSSH2_METHOD_HOSTKEY, order.joined(separator: ","))
    }

    private static func handshake(_ core: SessionCore, deadline: Deadline) throws {
        let rc: Int32
        do {
            rc = try core.retrying(until: deadline) { libssh2_session_handshake(core.session, core.socket) }
        } catch is DeadlineReached {
            throw SSHError.connectTimedOut(endpoint: core.endpoint, stage: "SSH handshake", after: deadline.elapsed)
        }
        guard rc != 0 else { return }
        let message = core.lastError.message
        switch rc {
        case LIBSSH2_ERROR_BANNER_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_SEND:
            throw DroppedStart(error: .handshakeFailed(endpoint: core.endpoint, reason:
                "the server closed the connection (\(message)); it may be refusing new connections (sshd MaxStartups) or not be an SSH server"))
        case LIBSSH2_ERROR_KEX_FAILURE:
            throw SSHError.handshakeFailed(endpoint: core.endpoint, reason: "no common key-exchange or host-key algorithm (\(message))")
        default:
            throw SSHError.handshakeFailed(endpoint: core.endpoint, reason: "\(message) (\(rc))")
        }
    }

    private static func hostKey(_ core: SessionCore) throws -> [UInt8] {
        var length = 0
        var type: Int32 = 0
        guard let key = libssh2_session_hostkey(core.session, &length, &type), length > 0 else {
            throw SSHError.handshakeFailed(endpoint: core.endpoint, reason: "the server sent no host key")
        }
        return key.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }
}
