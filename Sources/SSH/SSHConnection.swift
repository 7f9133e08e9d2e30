import CLibSSH2
import Dispatch
import Foundation
import Synchronization

/// One authenticated SSH connection. Its session runs on a thread of its own (`SessionLoop`), never on Swift's
/// cooperative pool, and every call is a task on one of its channels: commands, streams and HTTP requests run at
/// once over the one connection, and cancelling the calling Swift task stops its command on the host.
public final class SSHConnection: Sendable {
    public let configuration: SSHConfiguration
    /// The session's loop and the key the server proved it holds: set once the session is open, never changed after.
    private let opened = Mutex<(loop: SessionLoop?, hostKey: SSHHostKey)>((nil, SSHHostKey(type: "unknown", fingerprint: "")))

    /// Longest pause between two tries of a start the server dropped; pauses double up to it, with jitter,
    /// and tries go on while the connect timeout lasts (a busy sshd frees its start slots within a second).
    static let longestStartPause: Duration = .milliseconds(800)

    private init(configuration: SSHConfiguration) {
        self.configuration = configuration
    }

    deinit {
        loop?.discardSoon()
    }

    /// Connects, verifies the host key, authenticates. Starts to one endpoint are throttled by `limiter`,
    /// and a start the server drops (sshd `MaxStartups`) is retried with a short backoff.
    public static func connect(_ configuration: SSHConfiguration,
                               limiter: ConnectionStartLimiter = .shared,
                               startWaitTimeout: Duration = .seconds(120)) async throws -> SSHConnection {
        let connection = SSHConnection(configuration: configuration)
        try await limiter.acquire(configuration.endpoint, timeout: startWaitTimeout)
        do {
            try await connection.open()
            await limiter.release(configuration.endpoint)
            return connection
        } catch {
            await limiter.release(configuration.endpoint)
            throw error
        }
    }

    private func open() async throws {
        let giveUpAt = ContinuousClock.now + configuration.connectTimeout
        var pause: Duration = .milliseconds(50)
        while true {
            do {
                let configuration = configuration
                let (core, key) = try await Self.offPool { try SessionOpener.open(configuration) }
                let loop = SessionLoop(core: core, keepaliveInterval: configuration.keepaliveInterval)
                opened.withLock { $0 = (loop, key) }
                loop.start()
                return
            } catch let dropped as DroppedStart {
                let jittered = pause + .milliseconds(Int.random(in: 0..<50))
                if ContinuousClock.now + jittered >= giveUpAt { throw dropped.error }
                try await Task.sleep(for: jittered)
                pause = min(pause * 2, Self.longestStartPause)
            }
        }
    }

    /// The key the server proved it holds.
    public var hostKey: SSHHostKey { opened.withLock { $0.hostKey } }

    /// False once closed, or dropped after a broken connection or a channel open it had to give up on.
    public var isUsable: Bool { loop?.isUsable ?? false }

    private var loop: SessionLoop? { opened.withLock { $0.loop } }

    /// Runs `command` through the remote user's shell as `sh -c`, with `input` on its stdin (empty by
    /// default), under `timeout` on the host. At the deadline the command is stopped on the host and this call
    /// throws `commandTimedOut`. Cancelling the calling task stops the command on the host too (TERM to its
    /// process group) and throws `CancellationError`; other channels of the connection go on either way.
    public func run(_ command: String, input: [UInt8] = [], timeout: Duration, outputLimit: Int? = nil) async throws -> SSHCommandResult {
        let limit = outputLimit ?? configuration.outputLimit
        return try await onLoop { loop, cancel, deliver in
            CommandTask(command, endpoint: loop.endpoint, input: input, timeout: timeout, outputLimit: limit, streaming: nil,
                        cancel: cancel, deliver: deliver)
        }
    }

    /// Runs `command` like `run`, handing each chunk of its output to `output` as it arrives (on the connection's
    /// thread; the result's stdout and stderr are empty). With `untilStopped`, the command's input stays open and
    /// cancelling the calling task closes it, which a command that reads its input to the end takes as the sign
    /// to stop (it then has 5 s to end before it is stopped); the result is then the command's. Without it,
    /// cancelling stops the command as `run` does.
    public func stream(_ command: String, timeout: Duration, untilStopped: Bool,
                       output: @escaping @Sendable (_ isStderr: Bool, _ bytes: [UInt8]) -> Void) async throws -> SSHCommandResult {
        let limit = configuration.outputLimit
        let streaming = OutputStreaming(output: { output($0 == .stderr, $1) }, keepInputOpen: untilStopped)
        return try await onLoop { loop, cancel, deliver in
            CommandTask(command, endpoint: loop.endpoint, input: [], timeout: timeout, outputLimit: limit, streaming: streaming,
                        cancel: cancel, deliver: deliver)
        }
    }

    /// HTTP GET of `http://host:port/path` made from the remote host, through this connection.
    /// Throws `targetRefused` when nothing listens there.
    public func httpGet(host: String, port: Int, path: String, timeout: Duration, bodyLimit: Int? = nil) async throws -> SSHHTTPResponse {
        let limit = bodyLimit ?? configuration.outputLimit
        guard HTTPTask.validPath(path) else {
            throw SSHError.invalidHTTPResponse(endpoint: configuration.endpoint, url: "http://\(HTTPTask.authority(host, port))\(path)",
                                               reason: "the path must start with / and hold no spaces or line breaks")
        }
        return try await onLoop { loop, cancel, deliver in
            HTTPTask(endpoint: loop.endpoint, host: host, port: port, path: path, timeout: timeout, bodyLimit: limit,
                     cancel: cancel, deliver: deliver)
        }
    }

    /// Runs `command` like `run` and, while it runs on the host, makes `request` (as `httpGet` would) through the same
    /// connection: two channels at once, so the request costs no round trip of its own. The request's failure is
    /// its result's; the command's throws as `run`'s would.
    public func run(_ command: String, timeout: Duration, alongside request: SSHHTTPRequest)
        async throws -> (command: SSHCommandResult, response: Result<SSHHTTPResponse, SSHError>) {
        async let response = probe(request, within: timeout)
        let result = try await run(command, timeout: timeout)
        return (result, await response)
    }

    private func probe(_ request: SSHHTTPRequest, within timeout: Duration) async -> Result<SSHHTTPResponse, SSHError> {
        do {
            return .success(try await httpGet(host: request.host, port: request.port, path: request.path,
                                              timeout: min(request.timeout, timeout), bodyLimit: request.bodyLimit))
        } catch let error as SSHError {
            return .failure(error)
        } catch {
            return .failure(.channelFailed(endpoint: configuration.endpoint, reason: String(describing: error)))
        }
    }

    /// Ends the connection; later calls throw `closed`.
    public func close() async {
        await loop?.close()
    }

    /// Hands the task `make` builds to the session loop and waits for its result; cancelling the calling task asks
    /// the task to stop.
    private func onLoop<T: Sendable>(_ make: (SessionLoop, CancelFlag, @escaping @Sendable (Result<T, any Error>) -> Void) -> any SessionTask)
        async throws -> T {
        guard let loop else { throw SSHError.closed(endpoint: configuration.endpoint) }
        let cancel = CancelFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let task = make(loop, cancel) { continuation.resume(with: $0) }
                if Task.isCancelled { cancel.set() }
                loop.submit(task)
            }
        } onCancel: {
            cancel.set()
            loop.wake()
        }
    }

    /// Runs blocking work (the handshake, which waits in `poll`) on a thread of its own, off Swift's pool.
    private static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.stackSize = 512 << 10
            thread.start()
        }
    }
}
