import CLibSSH2
import Foundation

/// One HTTP GET through a direct-tcpip channel, advanced by the session loop: the request leaves from the remote
/// host itself, so the target port need not be reachable from here.
final class HTTPTask: SessionTask, @unchecked Sendable {
    private enum Phase {
        case waiting
        case sending(OpaquePointer, Int)
        case receiving(OpaquePointer)
        case closing(OpaquePointer)
        case waitingClosed(OpaquePointer)
        case freeing(OpaquePointer)
        case finished
    }

    private let endpoint: String
    private let host: String
    private let port: Int
    private let path: String
    private let timeout: Duration
    private let deadline: Deadline
    private let cancel: CancelFlag
    private let deliver: @Sendable (Result<SSHHTTPResponse, any Error>) -> Void
    private var delivered = false
    private var phase: Phase = .waiting
    private var parser: HTTPResponseParser
    private let request: [UInt8]
    /// What the task ends with once its channel is closed.
    private var result: Result<SSHHTTPResponse, any Error>?
    /// The end of the grace a channel has to close.
    private var closeBy: ContinuousClock.Instant?
    private static let readSize = 32 << 10
    private let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: readSize)

    init(endpoint: String, host: String, port: Int, path: String, timeout: Duration, bodyLimit: Int, cancel: CancelFlag,
         deliver: @escaping @Sendable (Result<SSHHTTPResponse, any Error>) -> Void) {
        self.endpoint = endpoint
        self.host = host
        self.port = port
        self.path = path
        self.timeout = timeout
        self.deadline = Deadline(after: timeout)
        self.cancel = cancel
        self.deliver = deliver
        self.parser = HTTPResponseParser(bodyLimit: bodyLimit)
        request = Array("GET \(path) HTTP/1.1\r\nHost: \(Self.authority(host, port))\r\nUser-Agent: openclaw-deploy\r\nAccept: */*\r\nConnection: close\r\n\r\n".utf8)
    }

    deinit { buffer.deallocate() }

    static func authority(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    private var url: String { "http://\(Self.authority(host, port))\(path)" }

    /// A path that could be misread on the request line is refused before anything is sent.
    static func validPath(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" })
    }

    var wakeAt: ContinuousClock.Instant? { closeBy ?? deadline.end }

    func abandon(_ error: SSHError) {
        phase = .finished
        finish(.failure(error))
    }

    func advance(_ loop: SessionLoop) -> TaskProgress {
        if result == nil, closeBy == nil {
            if deadline.hasPassed {
                result = .failure(SSHError.httpTimedOut(endpoint: endpoint, url: url, after: timeout))
            } else if cancel.isSet {
                result = .failure(CancellationError())
            }
        }
        switch phase {
        case .waiting:
            if let result {
                // Its open still pending, the session opens no more channels (see `abandonPendingOpen`).
                loop.abandonPendingOpen(by: self)
                phase = .finished
                finish(result)
                return .done
            }
            switch loop.open(for: self, { openclaw_channel_direct_tcpip(loop.core.session, host, Int32(port)) }) {
            case .busy: return .blocked
            case .pending: return loop.sendingOr(.blocked)
            case .failed(let failure):
                phase = .finished
                if failure.code == LIBSSH2_ERROR_CHANNEL_FAILURE, failure.message.contains("connect failed") {
                    finish(.failure(SSHError.targetRefused(endpoint: endpoint, target: Self.authority(host, port))))
                } else {
                    finish(.failure(SSHError.channelFailed(endpoint: endpoint,
                                                           reason: "cannot open a tunnel to \(Self.authority(host, port)): \(failure.message)")))
                }
                return .done
            case .opened(let channel):
                phase = .sending(channel, 0)
                return .moved
            }
        case .sending(let channel, let offset):
            if offset >= request.count {
                phase = .receiving(channel)
                return .moved
            }
            let written = request[offset...].withUnsafeBytes {
                openclaw_channel_write(channel, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count)
            }
            if written == Int(LIBSSH2_ERROR_EAGAIN) { return .sending }
            if written <= 0 { return broken(loop, "sending the request") }
            phase = .sending(channel, offset + written)
            return .moved
        case .receiving(let channel):
            if result != nil { return startClosing(channel) }
            let count = openclaw_channel_read(channel, buffer, Self.readSize)
            if count == Int(LIBSSH2_ERROR_EAGAIN) {
                if libssh2_poll_channel_read(channel, 0) != 0 { return .moved }
                return .blocked
            }
            if count < 0 { return broken(loop, "reading the answer") }
            if count > 0 {
                do {
                    try parser.feed(UnsafeRawBufferPointer(start: buffer, count: count))
                } catch let invalid as HTTPResponseParser.Invalid {
                    result = .failure(SSHError.invalidHTTPResponse(endpoint: endpoint, url: url, reason: invalid.reason))
                    return startClosing(channel)
                } catch {
                    result = .failure(error)
                    return startClosing(channel)
                }
                if !parser.isComplete { return .moved }
            } else if libssh2_channel_eof(channel) == 0 {
                return .blocked
            }
            do {
                result = .success(try parser.response())
            } catch let invalid as HTTPResponseParser.Invalid {
                result = .failure(SSHError.invalidHTTPResponse(endpoint: endpoint, url: url, reason: invalid.reason))
            } catch {
                result = .failure(error)
            }
            return startClosing(channel)
        case .closing(let channel):
            if libssh2_channel_close(channel) == LIBSSH2_ERROR_EAGAIN { return loop.sendingOr(overdue(loop)) }
            phase = .waitingClosed(channel)
            return .moved
        case .waitingClosed(let channel):
            if libssh2_channel_wait_closed(channel) == LIBSSH2_ERROR_EAGAIN { return overdue(loop) }
            phase = .freeing(channel)
            return .moved
        case .freeing(let channel):
            if libssh2_channel_free(channel) == LIBSSH2_ERROR_EAGAIN { return overdue(loop) }
            loop.channelFreed()
            phase = .finished
            finish(result ?? .failure(SSHError.httpTimedOut(endpoint: endpoint, url: url, after: timeout)))
            return .done
        case .finished:
            return .done
        }
    }

    private func startClosing(_ channel: OpaquePointer) -> TaskProgress {
        closeBy = .now + .seconds(2)
        phase = .closing(channel)
        return .moved
    }

    /// A tunnel whose close the server does not confirm within its grace: the session is given up on.
    private func overdue(_ loop: SessionLoop) -> TaskProgress {
        if let closeBy, ContinuousClock.now >= closeBy { loop.fail("the host did not close a tunnel") }
        return .blocked
    }

    private func broken(_ loop: SessionLoop, _ what: String) -> TaskProgress {
        loop.fail("\(what): \(loop.core.lastError.message)")
        return .blocked
    }

    private func finish(_ result: Result<SSHHTTPResponse, any Error>) {
        guard !delivered else { return }
        delivered = true
        deliver(result)
    }
}
