import Foundation

/// A real OpenSSH `sshd` on a free loopback port, with its own host key, an authorized user key and
/// its own home directory, started and stopped by PID.
///
/// Run as root, it runs in a private mount namespace with its home bound over `/root`: the login shell
/// then reads no `~/.bashrc` of this machine (root's runs `pyenv init`, which costs ~120 ms per command
/// and deadlocks on its rehash lock under parallel sessions), and every server has its own `~`.
public final class SSHDServer: @unchecked Sendable {
    public let directory: String
    public let host = "127.0.0.1"
    public let port: Int
    /// The login user: whoever runs the tests.
    public let user: String
    /// What `~` is for sessions of this server.
    public let home: String
    public let hostKey: SSHKeyPair
    /// Authorized at start; more can be added with `authorize`.
    public let userKey: SSHKeyPair
    public let authorizedKeysPath: String
    public let logPath: String
    private let process: ChildProcess

    public var pid: Int32 { process.pid }
    /// The known_hosts line that trusts this server: `[127.0.0.1]:PORT ssh-ed25519 AAAA…`.
    public var knownHostsLine: String { "[\(host)]:\(port) \(hostKey.publicKey)" }

    public struct Options: Sendable {
        /// Extra `sshd_config` lines, such as `MaxStartups 2:100:2`.
        public var extraConfig: [String]
        public var hostKeyType: String

        public init(extraConfig: [String] = [], hostKeyType: String = "ed25519") {
            self.extraConfig = extraConfig
            self.hostKeyType = hostKeyType
        }
    }

    /// Starts sshd and waits (at most 10 s) until it accepts connections.
    public static func start(_ options: Options = Options(), name: String = "sshd") throws -> SSHDServer {
        let directory = try TemporaryDirectory.make(prefix: name)
        let home = directory + "/home"
        try FileManager.default.createDirectory(atPath: home + "/.ssh", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let hostKey = try SSHKeyPair.generate(type: options.hostKeyType, at: directory + "/ssh_host_key", comment: "host")
        let userKey = try SSHKeyPair.generate(at: directory + "/id_ed25519", comment: "user")
        let authorized = directory + "/authorized_keys"
        try (userKey.publicKeyLine + "\n").write(toFile: authorized, atomically: true, encoding: .utf8)

        var lastProblem = ""
        for _ in 0..<3 {
            let port = try LoopbackPort.free()
            let config = directory + "/sshd_config"
            try configText(port: port, directory: directory, hostKey: hostKey, authorized: authorized, extra: options.extraConfig)
                .write(toFile: config, atomically: true, encoding: .utf8)
            let log = directory + "/sshd.log"
            let process = try launch(config: config, home: home, log: log)
            if waitListening(port: port, process: process, log: log) {
                return SSHDServer(directory: directory, port: port, home: home, hostKey: hostKey, userKey: userKey,
                                  authorized: authorized, log: log, process: process)
            }
            process.stop()
            lastProblem = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        }
        throw TestCommand.Failed(description: "sshd did not start: \(lastProblem)")
    }

    private init(directory: String, port: Int, home: String, hostKey: SSHKeyPair, userKey: SSHKeyPair,
                 authorized: String, log: String, process: ChildProcess) {
        self.directory = directory
        self.port = port
        self.user = ProcessInfo.processInfo.userName
        self.home = home
        self.hostKey = hostKey
        self.userKey = userKey
        self.authorizedKeysPath = authorized
        self.logPath = log
        self.process = process
    }

    /// Stops sshd and removes its directory.
    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops sshd by its PID (sessions it forked end with their connections).
    public func stop() {
        process.stop()
    }

    /// Adds a public key line to authorized_keys.
    public func authorize(_ key: SSHKeyPair) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: authorizedKeysPath))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((key.publicKeyLine + "\n").utf8))
    }

    /// Writes a known_hosts file that trusts this server (plus `extraLines` before it) and returns its path.
    @discardableResult
    public func writeKnownHosts(to path: String, extraLines: [String] = []) throws -> String {
        try ((extraLines + [knownHostsLine]).joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private static func configText(port: Int, directory: String, hostKey: SSHKeyPair, authorized: String, extra: [String]) -> String {
        ([
            "Port \(port)",
            "ListenAddress 127.0.0.1",
            "HostKey \(hostKey.privateKeyPath)",
            "PidFile \(directory)/sshd.pid",
            "AuthorizedKeysFile \(authorized)",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "AllowTcpForwarding yes",
            "PrintMotd no",
            "LogLevel INFO",
        ] + extra).joined(separator: "\n") + "\n"
    }

    private static func launch(config: String, home: String, log: String) throws -> ChildProcess {
        if getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") {
            // unshare and sh both exec, so the PID is sshd's own.
            return try ChildProcess.spawn("/usr/bin/unshare", [
                "--mount", "--propagation", "private", "/bin/sh", "-c",
                "mount --bind \"$1\" /root && exec /usr/sbin/sshd -D -e -f \"$2\"", "sh", home, config,
            ], stderr: .file(log))
        }
        return try ChildProcess.spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], stderr: .file(log))
    }

    /// Waits until this sshd says it listens on `port`. A connection that succeeds is not proof enough: the
    /// port was free when chosen, and another test's server may have taken it while this sshd failed to bind.
    private static func waitListening(port: Int, process: ChildProcess, log: String) -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        let listening = "Server listening on 127.0.0.1 port \(port)."
        while ContinuousClock.now < deadline, process.isRunning {
            if (try? String(contentsOfFile: log, encoding: .utf8))?.contains(listening) == true, process.isRunning { return true }
            usleep(10_000)
        }
        return false
    }
}

public enum TemporaryDirectory {
    /// A new directory under the system temp dir, named `openclaw-<prefix>-XXXXXX`.
    public static func make(prefix: String) throws -> String {
        var template = Array((NSTemporaryDirectory() + "/openclaw-\(prefix)-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestCommand.Failed(description: "mkdtemp failed: \(errno)") }
        return String(cString: made)
    }
}
