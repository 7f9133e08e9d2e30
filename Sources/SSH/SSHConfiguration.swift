import Foundation

/// Everything needed to open one SSH connection.
public struct SSHConfiguration: Sendable {
    /// IPv4 or IPv6 literal, or a name resolved on this machine.
    public var host: String
    public var port: Int
    public var user: String
    public var authentication: SSHAuthentication
    /// OpenSSH known_hosts file on this machine (already `~`-expanded).
    public var knownHostsPath: String
    public var hostKeyPolicy: HostKeyPolicy
    /// Bound on TCP connect, SSH handshake and authentication together (per attempt).
    public var connectTimeout: Duration
    /// How often an idle connection sends a keepalive; zero turns keepalives off.
    public var keepaliveInterval: Duration
    /// Bytes of stdout and of stderr kept per command (and of an HTTP body); the rest is cut with a marker.
    public var outputLimit: Int
    /// Where `OPENCLAW_SSH_PASSPHRASE` and `SSH_AUTH_SOCK` are read from: the process environment by default.
    public var environment: [String: String]

    public init(host: String, port: Int = 22, user: String, authentication: SSHAuthentication, knownHostsPath: String,
                hostKeyPolicy: HostKeyPolicy = .strict, connectTimeout: Duration = .seconds(10),
                keepaliveInterval: Duration = .seconds(15), outputLimit: Int = 4 << 20,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.host = host
        self.port = port
        self.user = user
        self.authentication = authentication
        self.knownHostsPath = knownHostsPath
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.keepaliveInterval = keepaliveInterval
        self.outputLimit = outputLimit
        self.environment = environment
    }

    /// The name known_hosts uses for this endpoint: `host`, or `[host]:port` off port 22.
    public var knownHostsName: String {
        let lower = host.lowercased()
        return port == 22 ? lower : "[\(lower)]:\(port)"
    }

    /// How messages name the endpoint: `host:port`, with IPv6 literals in brackets.
    public var endpoint: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

public enum SSHAuthentication: Sendable, Equatable {
    /// A private key file; a passphrase, if the key has one, comes from `OPENCLAW_SSH_PASSPHRASE`.
    case privateKey(path: String)
    /// The identities of the ssh-agent at `SSH_AUTH_SOCK`.
    case agent
}

public enum HostKeyPolicy: Sendable, Equatable {
    /// Unknown and changed keys are refused.
    case strict
    /// An unknown key is appended to known_hosts; a changed key is still refused.
    case acceptNew
}

/// The key a server proved it holds.
public struct SSHHostKey: Sendable, Equatable {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, …
    public var type: String
    /// `SHA256:…` as OpenSSH prints it.
    public var fingerprint: String
    /// True when this connection appended the key to known_hosts (accept-new, the host was unknown).
    public var added: Bool

    public init(type: String, fingerprint: String, added: Bool = false) {
        self.type = type
        self.fingerprint = fingerprint
        self.added = added
    }
}

public struct SSHCommandResult: Sendable, Equatable {
    public var exitStatus: Int32
    /// Signal name without `SIG` (`KILL`) when a signal ended the command; `exitStatus` is then 128 + its number.
    public var signal: String?
    public var stdout: String
    public var stderr: String
    /// Bytes the command wrote, including any that were cut.
    public var stdoutBytes: Int
    public var stderrBytes: Int
    /// True when output past `outputLimit` was dropped; the kept text then ends with a marker line.
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool

    public init(exitStatus: Int32, signal: String? = nil, stdout: String, stderr: String, stdoutBytes: Int, stderrBytes: Int,
                stdoutTruncated: Bool = false, stderrTruncated: Bool = false) {
        self.exitStatus = exitStatus
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutBytes = stdoutBytes
        self.stderrBytes = stderrBytes
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
    }
}

public struct SSHHTTPHeader: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public struct SSHHTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [SSHHTTPHeader]
    public var body: String
    public var bodyTruncated: Bool

    public init(status: Int, headers: [SSHHTTPHeader], body: String, bodyTruncated: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyTruncated = bodyTruncated
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// An HTTP GET of `http://host:port/path` made from the remote host, through the connection.
public struct SSHHTTPRequest: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var path: String
    public var timeout: Duration
    /// Nil: the connection's output limit.
    public var bodyLimit: Int?

    public init(host: String, port: Int, path: String, timeout: Duration, bodyLimit: Int? = nil) {
        self.host = host
        self.port = port
        self.path = path
        self.timeout = timeout
        self.bodyLimit = bodyLimit
    }
}
