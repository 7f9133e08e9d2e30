import Foundation

/// A key pair written by `ssh-keygen`.
public struct SSHKeyPair: Sendable {
    public var privateKeyPath: String
    public var publicKeyPath: String { privateKeyPath + ".pub" }
    /// `ssh-ed25519 AAAA… comment`, as in the .pub file.
    public var publicKeyLine: String
    /// `ssh-ed25519 AAAA…` without the comment, as known_hosts wants it.
    public var publicKey: String {
        publicKeyLine.split(separator: " ").prefix(2).joined(separator: " ")
    }

    /// Generates a key with `ssh-keygen` (`type` is `ed25519`, `ecdsa` or `rsa`).
    public static func generate(type: String = "ed25519", at path: String, passphrase: String = "", comment: String = "test") throws -> SSHKeyPair {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".pub")
        var arguments = ["-q", "-t", type, "-N", passphrase, "-C", comment, "-f", path]
        if type == "rsa" { arguments += ["-b", "2048"] }
        try TestCommand.run("/usr/bin/ssh-keygen", arguments)
        let line = try String(contentsOfFile: path + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return SSHKeyPair(privateKeyPath: path, publicKeyLine: line)
    }
}

/// A real `ssh-agent` on a socket of its own, stopped by PID.
public final class SSHDAgent: @unchecked Sendable {
    public let socketPath: String
    private let process: ChildProcess

    public static func start(in directory: String) throws -> SSHDAgent {
        let socketPath = directory + "/agent.sock"
        try? FileManager.default.removeItem(atPath: socketPath)
        let process = try ChildProcess.spawn("/usr/bin/ssh-agent", ["-D", "-a", socketPath])
        let agent = SSHDAgent(socketPath: socketPath, process: process)
        let deadline = ContinuousClock.now + .seconds(5)
        while !FileManager.default.fileExists(atPath: socketPath) {
            guard ContinuousClock.now < deadline, process.isRunning else {
                agent.stop()
                throw TestCommand.Failed(description: "ssh-agent did not create \(socketPath)")
            }
            usleep(5_000)
        }
        return agent
    }

    private init(socketPath: String, process: ChildProcess) {
        self.socketPath = socketPath
        self.process = process
    }

    /// `ssh-add` of a key without passphrase.
    public func add(_ key: SSHKeyPair) throws {
        var environment = ProcessInfo.processInfo.environment
        environment["SSH_AUTH_SOCK"] = socketPath
        try TestCommand.run("/usr/bin/ssh-add", ["-q", key.privateKeyPath], environment: environment)
    }

    public func stop() {
        process.stop()
    }

    deinit { stop() }
}
