import Foundation
@_exported import Engine

/// Runs a short local command to completion, with a deadline.
public enum TestCommand {
    public typealias Failed = ChildProcess.Failed
    public typealias Output = LocalOutput

    /// Returns stdout; throws with stderr when the command fails or outlives `timeout`.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           timeout: Duration = .seconds(30)) throws -> String {
        let output = try capture(executable, arguments, environment: environment, timeout: timeout)
        guard output.status == 0 else {
            throw Failed(description: "\(executable) \(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr)")
        }
        return output.stdout
    }

    /// Runs the command and returns its status and output, whatever the status; in `directory` when given.
    public static func capture(_ executable: String, _ arguments: [String], directory: String? = nil,
                               environment: [String: String]? = nil, timeout: Duration = .seconds(30)) throws -> Output {
        try ChildProcess.capture(executable, arguments, directory: directory, environment: environment, timeout: timeout, keep: .max)
    }
}

/// A local command a test acts on while it runs (signals it, reads its output so far), then waits for.
/// Output goes to temp files rather than pipes, so nothing has to drain it while the test does other things.
public final class RunningCommand: @unchecked Sendable {
    public let executable: String
    public let arguments: [String]
    private let child: ChildProcess
    private let outPath: String
    private let errPath: String

    /// Starts `executable`; with `environment` nil it inherits this process's environment.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        self.executable = executable
        self.arguments = arguments
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("running-\(UUID().uuidString)").path
        outPath = base + ".out"
        errPath = base + ".err"
        do {
            child = try ChildProcess.spawn(executable, arguments, environment: environment, stdout: .file(outPath), stderr: .file(errPath))
        } catch {
            [outPath, errPath].forEach { try? FileManager.default.removeItem(atPath: $0) }
            throw error
        }
    }

    public var pid: pid_t { child.pid }
    public var isRunning: Bool { child.isRunning }
    public func signal(_ signal: Int32) { child.signal(signal) }

    /// Output written so far.
    public var stdout: String { Self.read(outPath) }
    public var stderr: String { Self.read(errPath) }

    /// Waits for the end at most `timeout`. Past it, stops the command (TERM, then KILL) and throws, with its
    /// output so far. The status is 128 + signal number when a signal ended the command.
    public func wait(timeout: Duration) throws -> TestCommand.Output {
        defer { removeFiles() }
        guard let status = child.wait(timeout: timeout) else {
            child.stop()
            throw TestCommand.Failed(description: "\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout); "
                + "output so far:\n\(stdout)\(stderr)", timedOut: true)
        }
        return TestCommand.Output(status: status, stdout: Array(stdout.utf8), stderr: Array(stderr.utf8))
    }

    deinit {
        child.stop()
        removeFiles()
    }

    private func removeFiles() {
        [outPath, errPath].forEach { try? FileManager.default.removeItem(atPath: $0) }
    }

    private static func read(_ path: String) -> String {
        // Decoded leniently: the command may be in the middle of writing a multi-byte character.
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

/// Runs blocking work on a thread of its own, so waiting for local processes never holds one of the few
/// threads of Swift's cooperative pool (one per core: a blocked one stalls every other test's async work).
public func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

extension TestCommand {
    /// `run`, off the cooperative pool.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           timeout: Duration = .seconds(30)) async throws -> String {
        try await offPool { try run(executable, arguments, environment: environment, timeout: timeout) }
    }
}

extension SSHDServer {
    /// `start`, off the cooperative pool.
    public static func start(_ options: Options = Options(), name: String = "sshd") async throws -> SSHDServer {
        try await offPool { try start(options, name: name) }
    }
}

extension SSHKeyPair {
    /// `generate`, off the cooperative pool.
    public static func generate(type: String = "ed25519", at path: String, passphrase: String = "", comment: String = "test") async throws -> SSHKeyPair {
        try await offPool { try generate(type: type, at: path, passphrase: passphrase, comment: comment) }
    }
}

extension SSHDAgent {
    /// `start`, off the cooperative pool.
    public static func start(in directory: String) async throws -> SSHDAgent {
        try await offPool { try start(in: directory) }
    }

    /// `add`, off the cooperative pool.
    public func add(_ key: SSHKeyPair) async throws {
        try await offPool { try self.add(key) }
    }
}
