import CLibSSH2
import Dispatch
import Foundation

/// One authenticated SSH connection. Every libssh2 call of it runs on its own serial dispatch queue,
/// never on Swift's cooperative pool, so blocking in `poll` cannot starve other tasks and the session
/// is used by one thread at a time. Safe to share between tasks: calls are queued in order.
public final class SSHConnection: @unchecked Sendable {
    public let configuration: SSHConfiguration
    private let queue: DispatchQueue
    /// Touched only on `queue` (and in deinit, when nothing else can).
    private var core: SessionCore?
    private var keepalive: DispatchSourceTimer?
    /// Read from any thread without waiting for a running command.
    private let lock = NSLock()
    private var hostKeyValue = SSHHostKey(type: "unknown", fingerprint: "")
    private var usable = false

    /// Longest pause between two tries of a start the server dropped; pauses double up to it, with jitter,
    /// and tries go on while the connect timeout lasts (a busy sshd frees its start slots within a second).
    static let longestStartPause: Duration = .milliseconds(800)

    private init(configuration: SSHConfiguration) {
        self.configuration = configuration
        self.queue = DispatchQueue(label: "openclaw-deploy.ssh.\(configuration.endpoint)")
    }

    deinit {
        keepalive?.cancel()
        core?.discard()
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
                try await onQueue { [self] in
                    let (core, key) = try SessionOpener.open(configuration)
                    self.core = core
                    lock.withLock {
                        hostKeyValue = key
                        usable = true
                    }
                    startKeepalive()
                }
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
    public var hostKey: SSHHostKey { lock.withLock { hostKeyValue } }

    /// False once closed, or dropped after a command deadline or a broken connection.
    public var isUsable: Bool { lock.withLock { usable } }

    /// Runs `command` through the remote user's shell as `sh -c`, with `input` on its stdin (empty by
    /// default), under `timeout` on the host. At the deadline the command is stopped on the host, this call
    /// throws `commandTimedOut`, and the connection is dropped (`isUsable` becomes false).
    public func run(_ command: String, input: [UInt8] = [], timeout: Duration, outputLimit: Int? = nil) async throws -> SSHCommandResult {
        let limit = outputLimit ?? configuration.outputLimit
        return try await onQueue { [self] in
            try CommandRunner(core: usableCore()).run(command, input: input, timeout: timeout, outputLimit: limit)
        }
    }

    /// Runs `command` like `run`, handing each chunk of its output to `output` as it arrives (on the connection's
    /// queue; the result's stdout and stderr are empty). With `untilStopped`, the command's input stays open and
    /// cancelling the calling task closes it, which a command that reads its input to the end takes as the sign
    /// to stop (it then has 5 s to end); without it, the command runs on to its end or `timeout`. Either way the
    /// call returns once the command has ended.
    public func stream(_ command: String, timeout: Duration, untilStopped: Bool,
                       output: @escaping @Sendable (_ isStderr: Bool, _ bytes: [UInt8]) -> Void) async throws -> SSHCommandResult {
        let limit = configuration.outputLimit
        let stop = StopFlag()
        return try await withTaskCancellationHandler {
            try await onQueue { [self] in
                let streaming = OutputStreaming(output: { output($0 == .stderr, $1) }, stopRequested: { stop.isSet },
                                                keepInputOpen: untilStopped)
                return try CommandRunner(core: usableCore()).run(command, input: [], timeout: timeout, outputLimit: limit, stream: streaming)
            }
        } onCancel: {
            stop.set()
        }
    }

    /// HTTP GET of `http://host:port/path` made from the remote host, through this connection.
    /// Throws `targetRefused` when nothing listens there.
    public func httpGet(host: String, port: Int, path: String, timeout: Duration, bodyLimit: Int? = nil) async throws -> SSHHTTPResponse {
        let limit = bodyLimit ?? configuration.outputLimit
        return try await onQueue { [self] in
            try HTTPTunnel(core: usableCore()).get(host: host, port: port, path: path, timeout: timeout, bodyLimit: limit)
        }
    }

    /// Runs `command` like `run` and, while it runs on the host, makes `request` (as `httpGet` would) through the same
    /// connection: two channels at once, so the request costs no round trip of its own. The request's failure is
    /// its result's; the command's throws as `run`'s would. A request whose tunnel could not even open in time
    /// leaves the command to finish, then the connection is dropped (`isUsable` becomes false).
    public func run(_ command: String, timeout: Duration, alongside request: SSHHTTPRequest)
        async throws -> (command: SSHCommandResult, response: Result<SSHHTTPResponse, SSHError>) {
        let limit = configuration.outputLimit
        return try await onQueue { [self] in
            let core = try usableCore()
            // A session that gave up a channel open mid-way opens no more: it is dropped once this call is done.
            defer { if core.opensNoChannels { core.discard() } }
            let runner = CommandRunner(core: core)
            let started = try runner.start(command, input: [], timeout: timeout)
            let response: Result<SSHHTTPResponse, SSHError>
            do {
                // The command's deadline runs meanwhile: the request gets no longer than it has.
                response = .success(try HTTPTunnel(core: core).get(host: request.host, port: request.port, path: request.path,
                                                                   timeout: min(request.timeout, timeout), bodyLimit: request.bodyLimit ?? limit,
                                                                   keepingSessionOnPendingOpen: true))
            } catch let error as SSHError {
                response = .failure(error)
            } catch {
                response = .failure(.channelFailed(endpoint: configuration.endpoint, reason: String(describing: error)))
            }
            if core.isReleased {
                // The request broke the connection, and the command's output with it.
                if case .failure(let error) = response { throw error }
                throw SSHError.connectionLost(endpoint: configuration.endpoint, reason: "the connection broke during the health request")
            }
            let result = try runner.finish(started, outputLimit: limit)
            return (result, response)
        }
    }

    /// Ends the connection; later calls throw `closed`.
    public func close() async {
        try? await onQueue { [self] in
            keepalive?.cancel()
            keepalive = nil
            core?.close()
        }
    }

    private func usableCore() throws -> SessionCore {
        guard let core, !core.isReleased else { throw SSHError.closed(endpoint: configuration.endpoint) }
        return core
    }

    /// Sends keepalives while the connection idles, so NAT and firewalls keep it and a dead peer shows.
    private func startKeepalive() {
        let interval = configuration.keepaliveInterval
        guard interval > .zero else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let nanoseconds = Int(interval.inSeconds * 1e9)
        timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds))
        timer.setEventHandler { [weak self] in
            guard let core = self?.core, !core.isReleased else { return }
            var next: Int32 = 0
            _ = libssh2_keepalive_send(core.session, &next)
        }
        timer.resume()
        keepalive = timer
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                let result = Result { try body() }
                let alive = core.map { !$0.isReleased } ?? false
                lock.withLock { usable = alive }
                continuation.resume(with: result)
            }
        }
    }
}

/// Set once, from any thread.
private final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
