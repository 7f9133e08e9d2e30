import CLibSSH2
import Foundation

/// The deadline of the current operation passed while libssh2 waited on the socket.
struct DeadlineReached: Error {}

/// One libssh2 session on a non-blocking socket. Not thread-safe: once open it is used only on its session
/// loop's thread. Every call that would block waits with `poll` on the directions libssh2 asks for, so
/// nothing waits past the deadline of the operation.
final class SessionCore: @unchecked Sendable {
    let session: OpaquePointer
    let socket: Int32
    let endpoint: String
    private(set) var isReleased = false
    /// A channel open was abandoned mid-way: the channels already open may finish, then the session is dropped.
    var opensNoChannels = false
    /// Why the session was given up on, when it broke.
    var lostReason: String?

    init(socket: Int32, endpoint: String) throws {
        guard LibSSH2.initialized, let session = openclaw_session_init() else {
            Glibc.close(socket)
            throw SSHError.handshakeFailed(endpoint: endpoint, reason: "libssh2 could not be initialised")
        }
        libssh2_session_set_blocking(session, 0)
        self.session = session
        self.socket = socket
        self.endpoint = endpoint
    }

    deinit { discard() }

    /// Repeats `step` while libssh2 says it would block. Returns libssh2's final return code.
    func retrying(until deadline: Deadline, _ step: () -> Int32) throws -> Int32 {
        while true {
            let rc = step()
            if rc != LIBSSH2_ERROR_EAGAIN { return rc }
            try waitSocket(until: deadline)
        }
    }

    /// Like `retrying`, for calls that return a pointer and report "would block" through last_errno.
    func retryingPointer<T>(until deadline: Deadline, _ step: () -> T?) throws -> T? {
        while true {
            if let value = step() { return value }
            guard libssh2_session_last_errno(session) == LIBSSH2_ERROR_EAGAIN else { return nil }
            try waitSocket(until: deadline)
        }
    }

    /// Waits until the socket is ready in the directions libssh2 is blocked on, or throws at the deadline.
    func waitSocket(until deadline: Deadline) throws {
        let directions = libssh2_session_block_directions(session)
        var events: Int32 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int32(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int32(POLLOUT) }
        // With no direction recorded, data may already be buffered inside libssh2: look again soon.
        let timeout = events == 0 ? min(deadline.pollMilliseconds, 5) : deadline.pollMilliseconds
        if events == 0 { events = Int32(POLLIN) }
        if deadline.hasPassed { throw DeadlineReached() }
        // The kernel clears QUICKACK after use; without it loopback exchanges stall on delayed ACKs.
        openclaw_set_quickack(socket)
        var entry = pollfd(fd: socket, events: Int16(events), revents: 0)
        let ready = poll(&entry, 1, timeout)
        if ready == 0, deadline.hasPassed { throw DeadlineReached() }
    }

    var lastError: (code: Int32, message: String) { LibSSH2.lastError(session) }

    /// Ends the session politely, waiting at most a second for the peer.
    func close() {
        guard !isReleased else { return }
        libssh2_session_set_timeout(session, 1000)
        libssh2_session_set_blocking(session, 1)
        _ = openclaw_session_disconnect(session, "closed by openclaw-deploy")
        release()
    }

    /// Drops the session without talking to the peer any more (after a deadline or a broken connection).
    func discard() {
        guard !isReleased else { return }
        shutdown(socket, Int32(SHUT_RDWR))
        release()
    }

    private func release() {
        isReleased = true
        libssh2_session_free(session)
        Glibc.close(socket)
    }
}
