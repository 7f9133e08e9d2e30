import Foundation

/// A child process started with `posix_spawn` and managed by its PID.
///
/// Foundation's `Process` is not used for daemons here: it learns of a child's exit from a socket the
/// child inherits, and sshd and ssh-agent close inherited descriptors at start, after which Foundation
/// blocks in `waitpid` on the live daemon and never reaps any other child again.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Where a standard stream of the child goes.
    public enum Stream {
        case null
        case file(String)
        case descriptor(Int32)
    }

    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                             stdout: Stream = .null, stderr: Stream = .null) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (fd, stream) in [(Int32(1), stdout), (Int32(2), stderr)] {
            switch stream {
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .file(let path): posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            case .descriptor(let source): posix_spawn_file_actions_adddup2(&actions, source, fd)
            }
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            env.forEach { free($0) }
        }
        var pid: pid_t = 0
        var rc = posix_spawn(&pid, executable, &actions, nil, argv, env)
        // A script just written can be "busy" for a moment: a child another thread forked meanwhile may still
        // hold its write descriptor until that child execs. Try again briefly, as Go's os/exec does.
        var tries = 0
        while rc == ETXTBSY && tries < 100 {
            usleep(10_000)
            tries += 1
            rc = posix_spawn(&pid, executable, &actions, nil, argv, env)
        }
        guard rc == 0 else { throw TestCommand.Failed(description: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        return ChildProcess(pid: pid)
    }

    private init(pid: pid_t) { self.pid = pid }

    /// Reaps the child if it ended; true while it runs.
    public var isRunning: Bool { lock.withLock { reap(blocking: false) == nil } }

    /// Exit status (128 + signal number when a signal ended it), once ended.
    public var exitStatus: Int32? { lock.withLock { reap(blocking: false) } }

    /// Waits for the end at most `timeout`; nil if it still runs.
    public func wait(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = exitStatus { return status }
            usleep(2_000)
        }
        return exitStatus
    }

    /// Sends `signal` unless the child has been reaped (its PID may belong to another process by then).
    public func signal(_ signal: Int32) {
        lock.withLock {
            if reap(blocking: false) == nil { kill(pid, signal) }
        }
    }

    /// SIGTERM, then SIGKILL if it is still there after 2 s; reaps it.
    public func stop() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if wait(timeout: .seconds(2)) != nil { return }
        kill(pid, SIGKILL)
        _ = lock.withLock { reap(blocking: true) }
    }

    deinit { stop() }

    private func reap(blocking: Bool) -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
        guard result == pid else { return result < 0 ? -1 : nil }
        let signal = raw & 0x7f
        status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        return status
    }
}

/// Runs a short local command to completion, with a deadline.
public enum TestCommand {
    public struct Failed: Error, CustomStringConvertible {
        public var description: String
        /// The command ran past its deadline (and was stopped), rather than failing to start or exiting non-zero.
        public var timedOut = false
    }

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

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
        if let directory {
            // posix_spawn has no chdir action Swift can call here; env(1) changes directory, then execs.
            return try capture("/usr/bin/env", ["-C", directory, executable] + arguments, environment: environment, timeout: timeout)
        }
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        // Socket pairs rather than pipes: they can be created close-on-exec atomically, so no other child
        // spawned meanwhile inherits them and holds the end-of-file back.
        let kind = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, kind, 0, &outPipe) == 0, socketpair(AF_UNIX, kind, 0, &errPipe) == 0 else {
            throw Failed(description: "socketpair: \(errno)")
        }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(executable, arguments, environment: environment,
                                           stdout: .descriptor(outPipe[1]), stderr: .descriptor(errPipe[1]))
        } catch {
            (outPipe + errPipe).forEach { close($0) }
            throw error
        }
        close(outPipe[1])
        close(errPipe[1])
        defer {
            close(outPipe[0])
            close(errPipe[0])
        }
        let deadline = ContinuousClock.now + timeout
        var collected: [[UInt8]] = [[], []]
        var open = [true, true]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open.contains(true), ContinuousClock.now < deadline {
            var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
            for index in 0..<2 where !open[index] { fds[index].fd = -1 }
            guard poll(&fds, 2, 50) >= 0 || errno == EINTR else { break }
            for index in 0..<2 where open[index] && fds[index].revents != 0 {
                let count = read(fds[index].fd, &buffer, buffer.count)
                if count > 0 { collected[index] += buffer[0..<count] } else { open[index] = false }
            }
        }
        guard let status = child.wait(timeout: max(deadline - ContinuousClock.now, .milliseconds(100))) else {
            child.stop()
            throw Failed(description: "\(executable) \(arguments.joined(separator: " ")) ran past \(timeout)", timedOut: true)
        }
        return Output(status: status, stdout: String(decoding: collected[0], as: UTF8.self), stderr: String(decoding: collected[1], as: UTF8.self))
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
        return TestCommand.Output(status: status, stdout: stdout, stderr: stderr)
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
