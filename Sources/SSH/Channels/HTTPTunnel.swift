import CLibSSH2
import Foundation

/// HTTP GET through a direct-tcpip channel: the request leaves from the remote host itself, so the
/// target port need not be reachable from here.
struct HTTPTunnel {
    let core: SessionCore

    /// With `keepingSessionOnPendingOpen`, a tunnel whose open is still pending at the deadline leaves the session up
    /// for the channels already open (it marks it `opensNoChannels`; the caller drops it once they are done).
    func get(host: String, port: Int, path: String, timeout: Duration, bodyLimit: Int,
             keepingSessionOnPendingOpen: Bool = false) throws -> SSHHTTPResponse {
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let url = "http://\(authority)\(path)"
        guard path.hasPrefix("/"), !path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
            throw SSHError.invalidHTTPResponse(endpoint: core.endpoint, url: url, reason: "the path must start with / and hold no spaces or line breaks")
        }
        let deadline = Deadline(after: timeout)
        var channel: OpaquePointer?
        do {
            let opened: OpaquePointer
            switch try core.openChannel(until: deadline, { openclaw_channel_direct_tcpip(core.session, host, Int32(port)) }) {
            case .success(let open): opened = open
            case .failure(let failure) where failure.code == LIBSSH2_ERROR_CHANNEL_FAILURE && failure.message.contains("connect failed"):
                throw SSHError.targetRefused(endpoint: core.endpoint, target: authority)
            case .failure(let failure):
                throw SSHError.channelFailed(endpoint: core.endpoint, reason: "cannot open a tunnel to \(authority): \(failure.message)")
            }
            channel = opened
            let request = "GET \(path) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: openclaw-deploy\r\nAccept: */*\r\nConnection: close\r\n\r\n"
            try send(Array(request.utf8), on: opened, deadline: deadline)
            let response = try receive(on: opened, bodyLimit: bodyLimit, deadline: deadline, url: url)
            try release(opened, grace: Deadline(after: .seconds(2)))
            return response
        } catch is DeadlineReached {
            if let channel {
                try? release(channel, grace: Deadline(after: .seconds(1)))
            } else {
                // The tunnel's open was still pending (the target had not answered the host's connect): libssh2
                // would resume that open on the session's next channel and fail it, so the session opens no more.
                if keepingSessionOnPendingOpen { core.opensNoChannels = true } else { core.discard() }
            }
            throw SSHError.httpTimedOut(endpoint: core.endpoint, url: url, after: timeout)
        } catch let error as SSHError {
            if let channel, !(error.isSessionBroken) { try? release(channel, grace: Deadline(after: .seconds(1))) }
            throw error
        }
    }

    private func send(_ bytes: [UInt8], on channel: OpaquePointer, deadline: Deadline) throws {
        var offset = 0
        while offset < bytes.count {
            let written = try core.retrying(until: deadline) {
                Int32(clamping: bytes[offset...].withUnsafeBytes {
                    openclaw_channel_write(channel, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count)
                })
            }
            guard written > 0 else { throw lost("sending the request: \(core.lastError.message)") }
            offset += Int(written)
        }
    }

    private func receive(on channel: OpaquePointer, bodyLimit: Int, deadline: Deadline, url: String) throws -> SSHHTTPResponse {
        var parser = HTTPResponseParser(bodyLimit: bodyLimit)
        let size = 32 << 10
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
        defer { buffer.deallocate() }
        while !parser.isComplete {
            if deadline.hasPassed { throw DeadlineReached() }
            let count = try core.retrying(until: deadline) { Int32(clamping: openclaw_channel_read(channel, buffer, size)) }
            if count < 0 { throw lost("reading the answer: \(core.lastError.message)") }
            if count == 0 {
                if libssh2_channel_eof(channel) != 0 { break }
                continue
            }
            do { try parser.feed(UnsafeRawBufferPointer(start: buffer, count: Int(count))) } catch let invalid as HTTPResponseParser.Invalid {
                throw SSHError.invalidHTTPResponse(endpoint: core.endpoint, url: url, reason: invalid.reason)
            }
        }
        do { return try parser.response() } catch let invalid as HTTPResponseParser.Invalid {
            throw SSHError.invalidHTTPResponse(endpoint: core.endpoint, url: url, reason: invalid.reason)
        }
    }

    /// Closes the tunnel; if the server does not confirm within `grace`, the session is dropped.
    private func release(_ channel: OpaquePointer, grace: Deadline) throws {
        do {
            try core.close(channel: channel, until: grace)
            try core.free(channel: channel, until: grace)
        } catch {
            core.discard()
        }
    }

    private func lost(_ reason: String) -> SSHError {
        core.discard()
        return .connectionLost(endpoint: core.endpoint, reason: reason)
    }
}

extension SSHError {
    /// Errors after which the session was dropped.
    var isSessionBroken: Bool {
        if case .connectionLost = self { return true }
        return false
    }
}
