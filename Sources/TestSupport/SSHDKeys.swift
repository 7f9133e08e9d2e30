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

/// Runs a short local command to completion, with a deadline.
public enum TestCommand {
    public struct Failed: Error, CustomStringConvertible {
        public var description: String
    }

    /// Returns stdout; throws with stderr when the command fails or outlives `timeout`.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           timeout: Duration = .seconds(30)) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read before waiting: a full pipe would otherwise stall the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        group.enter()
        DispatchQueue.global().async { outData = output.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData = errors.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { usleep(2_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            _ = group.wait(timeout: .now() + 2)
            throw Failed(description: "\(executable) \(arguments.joined(separator: " ")) ran past \(timeout)")
        }
        _ = group.wait(timeout: .now() + 5)
        guard process.terminationStatus == 0 else {
            throw Failed(description: "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
                + String(decoding: errData, as: UTF8.self))
        }
        return String(decoding: outData, as: UTF8.self)
    }
}

/// A real `ssh-agent` on a socket of its own, stopped by PID.
public final class SSHDAgent: @unchecked Sendable {
    public let socketPath: String
    private let process: Process

    public static func start(in directory: String) throws -> SSHDAgent {
        let socketPath = directory + "/agent.sock"
        try? FileManager.default.removeItem(atPath: socketPath)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-agent")
        process.arguments = ["-D", "-a", socketPath]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
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

    private init(socketPath: String, process: Process) {
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
        ProcessStopper.stop(process)
    }

    deinit { stop() }
}

enum ProcessStopper {
    /// SIGTERM, then SIGKILL if the process is still there after 2 s.
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(2)
        while process.isRunning, ContinuousClock.now < deadline { usleep(2_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
