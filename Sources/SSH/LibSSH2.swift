import CLibSSH2

/// Process-wide libssh2 state and error reading.
enum LibSSH2 {
    /// `libssh2_init` must run once before any thread uses libssh2; a global initializer runs exactly once.
    static let initialized: Bool = libssh2_init(0) == 0

    /// The code and message libssh2 recorded for the last failed call on `session`.
    static func lastError(_ session: OpaquePointer) -> (code: Int32, message: String) {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        guard let message, length > 0 else { return (code, "libssh2 error \(code)") }
        let bytes = UnsafeRawBufferPointer(start: message, count: Int(length))
        return (code, String(decoding: bytes, as: UTF8.self))
    }
}
