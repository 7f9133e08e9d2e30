import Foundation
import Inventory

/// A local child process started with `posix_spawn` and managed by its PID: the hooks and `from_command`
/// secrets run through it, and so do the test harness's daemons.
///
/// Foundation's `Process` is not used: it learns of a child's exit from a socket the child inherits, and
/// daemons such as sshd close inherited descriptors at start, after which Foundation blocks in `waitpid` on
/// the live daemon and never reaps any other child again.
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

    public struct Failed: Error, CustomStringConvertible, Sendable {
        public var description: String
        /// The command ran past its deadline (and was stopped), rather than failing to start or exiting non-zero.
        public var timedOut = false

        public init(description: String, timedOut: Bool = false) {
            self.description = description
            self.timedOut = timedOut
        }
    }

    /// Starts `executable` (a path, or a name looked up in `PATH`) in `directory` (default: this process's).
    public static func spawn(_ executable: String, _ arguments: [String], directory: String? = nil,
                             environment: [String: String]? = nil, stdin: Stream = .null,
                             stdout: Stream = .null, stderr: Stream = .null) throws -> ChildProcess {
        if let directory {
            // Glibc's chdir spawn action is not visible to Swift; env(1) changes directory, then execs
            // (searching PATH for a bare name, resolving a relative path against the new directory).
            return try spawn("/usr/bin/env", ["-C", directory, "--", executable] + arguments, environment: environment,
                             stdin: stdin, stdout: stdout, stderr: stderr)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, stream) in [(Int32(0), stdin), (Int32(1), stdout), (Int32(2), stderr)] {
            switch stream {
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case .file(let path):
                if fd == 0 {
                    posix_spawn_file_actions_addopen(&actions, fd, path, O_RDONLY, 0)
                } else {
                    posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                }
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
        // posix_spawnp searches PATH for a bare name; a name with `/` is used as given (after the chdir).
        var rc = posix_spawnp(&pid, executable, &actions, nil, argv, env)
        // A script just written can be "busy" for a moment: a child another thread forked meanwhile may still
        // hold its write descriptor until that child execs. Try again briefly, as Go's os/exec does.
        var tries = 0
        while rc == ETXTBSY && tries < 100 {
            usleep(10_000)
            tries += 1
            rc = posix_spawnp(&pid, executable, &actions, nil, argv, env)
        }
        guard rc == 0 else { throw Failed(description: "cannot start \(executable): \(String(cString: strerror(rc)))") }
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

/// What a local command printed, and how it ended.
public struct LocalOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

extension ChildProcess {
    /// Runs a command to completion and returns its status and output, whatever the status. Past `timeout` the
    /// command is stopped (TERM, then KILL) and `Failed` is thrown with `timedOut`. Blocks the calling thread.
    public static func capture(_ executable: String, _ arguments: [String], directory: String? = nil,
                               environment: [String: String]? = nil, timeout: Duration) throws -> LocalOutput {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        // Socket pairs rather than pipes: they can be created close-on-exec atomically, so no other child
        // spawned meanwhile inherits them and holds the end-of-file back.
        let kind = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, kind, 0, &outPipe) == 0 else { throw Failed(description: "socketpair: \(errno)") }
        guard socketpair(AF_UNIX, kind, 0, &errPipe) == 0 else {
            outPipe.forEach { close($0) }
            throw Failed(description: "socketpair: \(errno)")
        }
        let child: ChildProcess
        do {
            child = try spawn(executable, arguments, directory: directory, environment: environment,
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
            throw Failed(description: "\(executable) ran past \(formatDuration(timeout)) and was stopped", timedOut: true)
        }
        return LocalOutput(status: status, stdout: String(decoding: collected[0], as: UTF8.self),
                           stderr: String(decoding: collected[1], as: UTF8.self))
    }

    /// `capture` on a thread of its own, so waiting never holds one of the few threads of Swift's
    /// cooperative pool.
    public static func capture(_ executable: String, _ arguments: [String], directory: String? = nil,
                               environment: [String: String]? = nil, timeout: Duration) async throws -> LocalOutput {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    try capture(executable, arguments, directory: directory, environment: environment, timeout: timeout) as LocalOutput
                })
            }
        }
    }
}
