import CLibSSH2

/// Opening and closing channels on a non-blocking session.
extension SessionCore {
    /// Opens a channel with `open`, retrying while libssh2 would block. Nil with libssh2's error when refused.
    func openChannel(until deadline: Deadline, _ open: () -> OpaquePointer?) throws -> Result<OpaquePointer, LibSSH2Failure> {
        if let channel = try retryingPointer(until: deadline, open) { return .success(channel) }
        let error = lastError
        return .failure(LibSSH2Failure(code: error.code, message: error.message))
    }

    /// Closes and frees a channel. Exit status and signal are only reliable after this close handshake.
    func close(channel: OpaquePointer, until deadline: Deadline) throws {
        _ = try retrying(until: deadline) { libssh2_channel_close(channel) }
        _ = try retrying(until: deadline) { libssh2_channel_wait_closed(channel) }
    }

    func free(channel: OpaquePointer, until deadline: Deadline) throws {
        _ = try retrying(until: deadline) { libssh2_channel_free(channel) }
    }
}

struct LibSSH2Failure: Error {
    let code: Int32
    let message: String
}
