import CLibSSH2
import Foundation
import Synchronization

/// What one `advance` of a task did.
enum TaskProgress {
    /// Something happened (bytes moved, a phase ended): the loop goes round again before it waits.
    case moved
    /// Nothing can happen until the socket is ready or the task's `wakeAt` passes.
    case blocked
    /// Blocked in the middle of sending a packet: the same call must be repeated before any other call sends.
    case sending
    /// The task has handed over its result; the loop forgets it.
    case done
}

/// A piece of work on the channels of one session: a command, an HTTP request. Advanced by its session's loop,
/// on the loop's thread only, with non-blocking libssh2 calls; it never waits itself.
protocol SessionTask: AnyObject, Sendable {
    /// The latest moment the loop must advance it again (its deadline, the end of a grace), if any.
    var wakeAt: ContinuousClock.Instant? { get }
    /// Goes as far as it can without blocking.
    func advance(_ loop: SessionLoop) -> TaskProgress
    /// The session is gone (broken, closed): end now with `error`, touching no libssh2 state.
    func abandon(_ error: SSHError)
}

/// Runs every channel of one SSH session at once, on one thread of its own: each round advances every task as
/// far as it goes without blocking, then waits in `poll` for the socket, a new task, a cancellation or the next
/// deadline. So a lock refresh or a health request never waits behind a long command on the same connection, and
/// a cancelled task's command is stopped on the host while the others go on.
///
/// libssh2 keeps some state per session rather than per channel, and the loop orders tasks around it: one request
/// that waits for its answer at a time (a channel open, then a command's exec: libssh2 1.10 takes another channel's
/// answer as a failure of its own), and a packet it could only half send must be finished by the same call before
/// any other call sends (the task that left it is the only one advanced until it is through).
final class SessionLoop: @unchecked Sendable {
    let core: SessionCore
    var endpoint: String { core.endpoint }
    private let keepaliveInterval: Duration

    private struct Inbox {
        var arrived: [any SessionTask] = []
        /// nil: running. Otherwise how to end: politely (`close`) or at once.
        var closing: Bool? = nil
        var closed: [CheckedContinuation<Void, Never>] = []
        var finished = false
    }
    private let inbox = Mutex(Inbox())
    /// Readable end and writable end of the pipe that wakes the loop from `poll`.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let usableFlag = Atomic<Bool>(true)

    // Touched on the loop's thread only.
    private var active: [any SessionTask] = []
    /// The task whose request (a channel open, an exec) waits for its answer.
    private var opener: ObjectIdentifier?
    /// Channels open now. sshd allows 10 sessions per connection (`MaxSessions`); the last two are kept for the
    /// commands that stop cancelled ones.
    private var channelsOpen = 0
    static let channelLimit = 8
    static let channelsKeptForStops = 2
    private var sender: ObjectIdentifier?
    private var nextKeepalive: ContinuousClock.Instant

    init(core: SessionCore, keepaliveInterval: Duration) {
        self.core = core
        self.keepaliveInterval = keepaliveInterval
        var fds: [Int32] = [0, 0]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
        } else {
            fds = [-1, -1]
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        nextKeepalive = .now + keepaliveInterval
    }

    deinit {
        if wakeRead >= 0 { Glibc.close(wakeRead) }
        if wakeWrite >= 0 { Glibc.close(wakeWrite) }
    }

    /// Starts the loop's thread. It keeps the loop alive until the session ends.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "openclaw-deploy.ssh.\(core.endpoint)"
        thread.stackSize = 512 << 10
        thread.start()
    }

    /// False once the session ended or was left unable to open channels.
    var isUsable: Bool { usableFlag.load(ordering: .acquiring) }

    /// Hands `task` to the loop; it ends at once with `closed` when the session is over.
    func submit(_ task: any SessionTask) {
        let refused = inbox.withLock { inbox -> Bool in
            if inbox.finished || inbox.closing != nil { return true }
            inbox.arrived.append(task)
            return false
        }
        if refused { task.abandon(.closed(endpoint: endpoint)); return }
        wake()
    }

    /// Makes the loop look at its tasks again now (a task was cancelled).
    func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    /// Ends the session: tasks still running end with `closed`, then the server is told goodbye (at most a second).
    func close() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let over = inbox.withLock { inbox -> Bool in
                if inbox.finished { return true }
                if inbox.closing == nil { inbox.closing = true }
                inbox.closed.append(done)
                return false
            }
            if over { done.resume() } else { wake() }
        }
    }

    /// Ends the session without a goodbye and without waiting (its owner is gone).
    func discardSoon() {
        inbox.withLock { inbox in if inbox.closing == nil { inbox.closing = false } }
        wake()
    }

    // MARK: For tasks, on the loop's thread

    enum OpenOutcome {
        /// Another task's open is under way: advance again later.
        case busy
        /// This task's open is under way.
        case pending
        case opened(OpaquePointer)
        case failed(LibSSH2Failure)
    }

    /// Drives a channel open for `task`: one open at a time per session (libssh2 keeps its state in the session),
    /// and no more than `channelLimit` channels at once (`stopping`: the command that stops another may use the
    /// channels kept for it).
    /// With `thenRequest`, the task keeps its turn after the open until it calls `requestAnswered`.
    func open(for task: any SessionTask, stopping: Bool = false, thenRequest: Bool = false, _ open: () -> OpaquePointer?) -> OpenOutcome {
        let me = ObjectIdentifier(task)
        if let opener, opener != me { return .busy }
        if opener == nil, channelsOpen >= Self.channelLimit + (stopping ? Self.channelsKeptForStops : 0) { return .busy }
        if core.opensNoChannels {
            return .failed(LibSSH2Failure(code: LIBSSH2_ERROR_CHANNEL_FAILURE, message: "the connection opens no more channels"))
        }
        opener = me
        if let channel = open() {
            if !thenRequest { opener = nil }
            channelsOpen += 1
            return .opened(channel)
        }
        if libssh2_session_last_errno(core.session) == LIBSSH2_ERROR_EAGAIN { return .pending }
        opener = nil
        let error = core.lastError
        return .failed(LibSSH2Failure(code: error.code, message: error.message))
    }

    /// After a call that would block: `.sending` when libssh2 is stuck sending a packet (the same call must go on
    /// before any other sends), else `fallback` (the call waits for an answer, and other tasks may go on).
    /// A data write that would block is always `.sending`: libssh2 may have sent part of its packet without saying.
    func sendingOr(_ fallback: TaskProgress) -> TaskProgress {
        libssh2_session_block_directions(core.session) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 ? .sending : fallback
    }

    /// A task freed the channel it opened.
    func channelFreed() {
        channelsOpen -= 1
    }

    /// The request `task` made after its open has its answer: the next task may open or ask.
    func requestAnswered(by task: any SessionTask) {
        if opener == ObjectIdentifier(task) { opener = nil }
    }

    /// Whether `task`'s channel open is under way.
    func isOpening(_ task: any SessionTask) -> Bool { opener == ObjectIdentifier(task) }

    /// A task whose channel open was still pending at its deadline gives up on it. libssh2 would finish that open
    /// on the session's next one, so the session opens no more channels: the ones open finish, then it is dropped.
    func abandonPendingOpen(by task: any SessionTask) {
        guard opener == ObjectIdentifier(task) else { return }
        core.opensNoChannels = true
        usableFlag.store(false, ordering: .releasing)
    }

    /// Starts `task` from within the loop (a task's helper, such as the command that stops a cancelled one).
    func adopt(_ task: any SessionTask) {
        active.append(task)
    }

    /// The session cannot be trusted any more (a read or write failed, a close did not complete): every task ends
    /// with `connectionLost`.
    func fail(_ reason: String) {
        if core.lostReason == nil { core.lostReason = reason }
        core.discard()
        usableFlag.store(false, ordering: .releasing)
    }

    // MARK: The loop

    private func run() {
        while true {
            let (arrived, closing) = inbox.withLock { inbox -> ([any SessionTask], Bool?) in
                defer { inbox.arrived = [] }
                return (inbox.arrived, inbox.closing)
            }
            active += arrived
            if closing != nil || core.isReleased { break }
            if core.opensNoChannels, active.isEmpty {
                // Nothing left that could use it.
                core.discard()
                break
            }
            if round() { continue }
            if core.isReleased { continue }
            sendKeepaliveIfDue()
            wait()
        }
        finish()
    }

    /// Advances the tasks once; true when any of them moved.
    private func round() -> Bool {
        var moved = false
        var index = 0
        while index < active.count, !core.isReleased {
            let task = active[index]
            let id = ObjectIdentifier(task)
            // A half-sent packet belongs to one task: only it may be advanced until it is through.
            if let sender, sender != id { index += 1; continue }
            let progress = task.advance(self)
            if progress == .sending {
                sender = id
            } else if sender == id {
                sender = nil
            }
            switch progress {
            case .done:
                if opener == id { opener = nil }
                if sender == id { sender = nil }
                active.remove(at: index)
                moved = true
            case .moved:
                moved = true
                index += 1
            case .blocked, .sending:
                index += 1
            }
        }
        return moved
    }

    private func sendKeepaliveIfDue() {
        guard keepaliveInterval > .zero, sender == nil, ContinuousClock.now >= nextKeepalive else { return }
        var next: Int32 = 0
        _ = libssh2_keepalive_send(core.session, &next)
        nextKeepalive = .now + .seconds(max(1, Int(next)))
    }

    /// Waits for the socket (when a task waits on it), the wake pipe, or the earliest time a task or a keepalive is due.
    private func wait() {
        let now = ContinuousClock.now
        var until = now + .seconds(1)
        if keepaliveInterval > .zero { until = min(until, nextKeepalive) }
        for task in active { if let at = task.wakeAt { until = min(until, at) } }
        let left = until - now
        let milliseconds = left <= .zero ? 0
            : Int32(clamping: left.components.seconds * 1000 + (left.components.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
        var entries = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        if !active.isEmpty {
            let directions = libssh2_session_block_directions(core.session)
            var events = Int32(POLLIN)
            if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int32(POLLOUT) }
            // The kernel clears QUICKACK after use; without it loopback exchanges stall on delayed ACKs.
            openclaw_set_quickack(core.socket)
            entries.append(pollfd(fd: core.socket, events: Int16(events), revents: 0))
        }
        _ = poll(&entries, nfds_t(entries.count), milliseconds)
        if entries[0].revents != 0 {
            var drain = [UInt8](repeating: 0, count: 64)
            while Glibc.read(wakeRead, &drain, drain.count) > 0 {}
        }
    }

    /// Ends every task still running and the session, then lets `close` callers go on.
    private func finish() {
        let polite = inbox.withLock { inbox -> Bool in
            inbox.finished = true
            active += inbox.arrived
            inbox.arrived = []
            return inbox.closing ?? false
        }
        let error: SSHError = core.isReleased && !polite
            ? .connectionLost(endpoint: endpoint, reason: core.lostReason ?? "the connection broke")
            : .closed(endpoint: endpoint)
        for task in active { task.abandon(error) }
        active = []
        usableFlag.store(false, ordering: .releasing)
        if polite { core.close() } else { core.discard() }
        let waiting = inbox.withLock { inbox -> [CheckedContinuation<Void, Never>] in
            defer { inbox.closed = [] }
            return inbox.closed
        }
        for waiter in waiting { waiter.resume() }
    }
}

/// libssh2's refusal of a channel open, in its own words.
struct LibSSH2Failure: Error {
    let code: Int32
    let message: String
}
