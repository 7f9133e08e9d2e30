import Commands
import Foundation
import Inventory
import Plan
import Synchronization

/// A local child process started with `posix_spawn` and managed by its PID: the hooks and `from_command`
/// secrets run through it, and so do the test harness's daemons.
///
/// Foundation's `Process` is not used: it learns of a child's exit from a socket the child inherits, and
/// daemons such as sshd close inherited descriptors at start, after which Foundation blocks in `waitpid` on
/// the live daemon and never reaps any other child again.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// The exit status once the child was reaped; reaping happens under this lock, so a PID is never signalled
    /// after it was reaped (it may belong to another process by then).
    private let status = Mutex<Int32?>(nil)

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
    ///
    /// The child starts with an empty signal mask and every signal at its default disposition, whatever the
    /// spawning thread had blocked or this process ignores (SIGPIPE, the signals the interrupt handler waits
    /// for): otherwise a hook could not be stopped by SIGTERM, nor could what it starts. With
    /// `newProcessGroup` it leads a process group of its own, so the whole tree it starts can be signalled.
    public static func spawn(_ executable: String, _ arguments: [String], directory: String? = nil,
                             environment: [String: String]? = nil, stdin: Stream = .null,
                             stdout: Stream = .null, stderr: Stream = .null,
                             newProcessGroup: Bool = false) throws -> ChildProcess {
        if let directory {
            // Glibc's chdir spawn action is not visible to Swift; env(1) changes directory, then execs
            // (searching PATH for a bare name, resolving a relative path against the new directory).
            return try spawn("/usr/bin/env", ["-C", directory, "--", executable] + arguments, environment: environment,
                             stdin: stdin, stdout: stdout, stderr: stderr, newProcessGroup: newProcessGroup)
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
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var everySignal = sigset_t()
        sigfillset(&everySignal)
        sigdelset(&everySignal, SIGKILL)
        sigdelset(&everySignal, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &everySignal)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            env.forEach { free($0) }
        }
        var pid: pid_t = 0
        // posix_spawnp searches PATH for a bare name; a name with `/` is used as given (after the chdir).
        var rc = posix_spawnp(&pid, executable, &actions, &attributes, argv, env)
        // A script just written can be "busy" for a moment: a child another thread forked meanwhile may still
        // hold its write descriptor until that child execs. Try again briefly, as Go's os/exec does.
        var tries = 0
        while rc == ETXTBSY && tries < 100 {
            usleep(10_000)
            tries += 1
            rc = posix_spawnp(&pid, executable, &actions, &attributes, argv, env)
        }
        guard rc == 0 else { throw Failed(description: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        if newProcessGroup { _ = runningGroups.withLock { $0.insert(pid) } }
        return ChildProcess(pid: pid, leadsGroup: newProcessGroup)
    }

    /// Process groups whose leader has not been reaped yet: what a forced exit must not leave running.
    private static let runningGroups = Mutex<Set<pid_t>>([])

    /// SIGKILL to every process group a child of this process leads and that has not ended: the process is about
    /// to exit without waiting for them (a second Ctrl-C whose rollout did not come back in time).
    public static func killRunningGroups() {
        for group in runningGroups.withLock({ $0 }) { kill(-group, SIGKILL) }
    }

    /// Whether the child leads a process group of its own (its group id is its pid).
    public let leadsGroup: Bool

    private init(pid: pid_t, leadsGroup: Bool) {
        self.pid = pid
        self.leadsGroup = leadsGroup
    }

    /// Reaps the child if it ended; true while it runs.
    public var isRunning: Bool { status.withLock { reap(blocking: false, &$0) == nil } }

    /// Exit status (128 + signal number when a signal ended it), once ended.
    public var exitStatus: Int32? { status.withLock { reap(blocking: false, &$0) } }

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
        status.withLock {
            if reap(blocking: false, &$0) == nil { kill(pid, signal) }
        }
    }

    /// SIGTERM, then SIGKILL if it is still there after 2 s; reaps it.
    public func stop() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if wait(timeout: .seconds(2)) != nil { return }
        kill(pid, SIGKILL)
        _ = status.withLock { reap(blocking: true, &$0) }
    }

    /// Ends the child's whole process group (it must lead one): SIGTERM to every member, then SIGKILL to
    /// whatever is left after `grace`; reaps the child. Background processes it left are stopped too.
    public func stopGroup(grace: Duration = .seconds(5)) {
        precondition(leadsGroup, "stopGroup needs a child started with newProcessGroup")
        kill(-pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            _ = exitStatus
            // ESRCH: no process is left in the group (the leader, once reaped, counts no more).
            if kill(-pid, 0) != 0 && errno == ESRCH { break }
            usleep(10_000)
        }
        kill(-pid, SIGKILL)
        _ = status.withLock { reap(blocking: true, &$0) }
        // SIGKILL is sent, not yet acted on: wait (at most 1 s) until the group has no member left, so that none is
        // still running when this returns. A member killed but not yet reaped by its new parent still counts; where
        // nothing reaps orphans (this process as PID 1 of a container), the wait runs its whole second.
        let gone = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < gone, kill(-pid, 0) == 0 { usleep(2_000) }
    }

    deinit { stop() }

    private func reap(blocking: Bool, _ status: inout Int32?) -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
        guard result == pid else { return result < 0 ? -1 : nil }
        if leadsGroup { _ = Self.runningGroups.withLock { $0.remove(pid) } }
        let signal = raw & 0x7f
        status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        return status
    }
}

/// What a local command printed, and how it ended. Each stream keeps at most the bytes `capture` was asked to
/// keep (64 KiB by default); what came after is counted, not kept.
public struct LocalOutput: Sendable {
    public var status: Int32
    public var stdoutBytes: [UInt8]
    public var stderrBytes: [UInt8]
    /// Bytes the command wrote past the kept ones, per stream.
    public var stdoutDropped: Int
    public var stderrDropped: Int

    public init(status: Int32, stdout: [UInt8], stderr: [UInt8], stdoutDropped: Int = 0, stderrDropped: Int = 0) {
        self.status = status
        self.stdoutBytes = stdout
        self.stderrBytes = stderr
        self.stdoutDropped = stdoutDropped
        self.stderrDropped = stderrDropped
    }

    /// Standard output as text (bytes that are not UTF-8 shown as U+FFFD).
    public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    public var stderr: String { String(decoding: stderrBytes, as: UTF8.self) }
}

extension ChildProcess {
    /// Bytes of each stream a local command keeps by default (SPEC "Local processes").
    public static let keptOutputBytes = 64 * 1024

    /// Runs a command to completion and returns its status and output, whatever the status. Blocks the
    /// calling thread.
    ///
    /// The command leads a process group of its own, with default signal handling. It has ended when its
    /// process exits: a background process it left behind may keep the output open, but is not waited for.
    /// Past `timeout` (or once `cancelled` says so) the whole group is stopped (SIGTERM, then SIGKILL 5 s
    /// later) and `Failed` is thrown. At most `keep` bytes of each stream are kept, the rest counted.
    public static func capture(_ executable: String, _ arguments: [String], directory: String? = nil,
                               environment: [String: String]? = nil, timeout: Duration, keep: Int = keptOutputBytes,
                               cancelled: @Sendable () -> Bool = { false }) throws -> LocalOutput {
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
                              stdout: .descriptor(outPipe[1]), stderr: .descriptor(errPipe[1]), newProcessGroup: true)
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
        var streams = [CappedBuffer(keep: keep), CappedBuffer(keep: keep)]
        var open = [true, true]
        var buffer = [UInt8](repeating: 0, count: 65536)
        /// Reads what is ready on the open streams, waiting at most `wait` ms; false when nothing was.
        func readReady(wait: Int32) -> Bool {
            var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
            for index in 0..<2 where !open[index] { fds[index].fd = -1 }
            guard poll(&fds, 2, wait) > 0 else { return false }
            for index in 0..<2 where open[index] && fds[index].revents != 0 {
                let count = read(fds[index].fd, &buffer, buffer.count)
                if count > 0 { streams[index].append(buffer[0..<count]) } else if count == 0 || errno != EINTR { open[index] = false }
            }
            return true
        }
        var status: Int32?
        while status == nil {
            if ContinuousClock.now >= deadline || cancelled() {
                child.stopGroup()
                let reason = cancelled() ? "was stopped" : "ran past \(formatDuration(timeout)) and was stopped"
                throw Failed(description: "\(executable) \(reason)", timedOut: !cancelled())
            }
            if open.contains(true) {
                _ = readReady(wait: 20)
            } else {
                usleep(5_000)
            }
            status = child.exitStatus
        }
        // The process ended: take what it wrote that is still to be read, but never wait for a background
        // process that holds the streams open, nor keep reading one that goes on writing (at most 100 ms).
        let drainUntil = ContinuousClock.now + .milliseconds(100)
        while open.contains(true), ContinuousClock.now < drainUntil, readReady(wait: 0) {}
        return LocalOutput(status: status!, stdout: streams[0].bytes, stderr: streams[1].bytes,
                           stdoutDropped: streams[0].dropped, stderrDropped: streams[1].dropped)
    }

    /// `capture` on a thread of its own, so waiting never holds one of the few threads of Swift's
    /// cooperative pool. Cancelling the calling task stops the command's process group.
    public static func capture(_ executable: String, _ arguments: [String], directory: String? = nil,
                               environment: [String: String]? = nil, timeout: Duration,
                               keep: Int = keptOutputBytes) async throws -> LocalOutput {
        let cancelled = CancelFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(with: Result {
                        try capture(executable, arguments, directory: directory, environment: environment, timeout: timeout,
                                    keep: keep, cancelled: { cancelled.isSet }) as LocalOutput
                    })
                }
            }
        } onCancel: {
            cancelled.set()
        }
    }
}

/// Bytes kept up to a limit; the rest only counted.
struct CappedBuffer {
    let keep: Int
    var bytes: [UInt8] = []
    var dropped = 0

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        let room = max(0, keep - bytes.count)
        bytes += chunk.prefix(room)
        dropped += max(0, chunk.count - room)
    }
}

/// Set once, from any thread.
final class CancelFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
