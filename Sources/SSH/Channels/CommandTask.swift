import CLibSSH2
import Foundation
import ShellWords
import Synchronization

/// How a streamed command hands over its output as it arrives. Called on the session loop's thread.
struct OutputStreaming {
    enum Stream: Sendable { case stdout, stderr }
    var output: (Stream, [UInt8]) -> Void
    /// Leave the command's input open until the caller cancels (a command that runs until its input ends): the
    /// cancellation then closes the input, and the command gets `stopGrace` to end before it is stopped.
    var keepInputOpen: Bool
}

/// A stop asked from another thread: a cancelled Swift task.
final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
}

/// One command on an exec channel, from open to exit status, advanced by the session loop. stdout and stderr are
/// read interleaved (reading only one would stall once the other fills its window). The command runs under the
/// host's `timeout` (so the host stops it at the deadline even if this side has gone away), and it says its
/// process group first on stderr: a cancelled or timed-out command is stopped on the host by a `kill` of that
/// group over a second channel of the same session, then its channel is closed.
final class CommandTask: SessionTask, @unchecked Sendable {
    /// Grace between `timeout`'s TERM and its KILL on the host.
    static let killGraceSeconds = 2
    /// How long a stopped command gets to end and close before the session is given up on.
    static let endGrace: Duration = .seconds(3)
    /// How long a command whose input was closed gets to end by itself before it is stopped.
    static let stopGrace: Duration = .seconds(5)

    private enum Phase {
        case waiting
        case starting(OpaquePointer)
        case writing(OpaquePointer, Int)
        case sendingEOF(OpaquePointer)
        case running(OpaquePointer)
        /// A stop asked of a command that reads its input until it ends: the input is being closed.
        case closingInput(OpaquePointer)
        case closing(OpaquePointer)
        case waitingClosed(OpaquePointer)
        case freeing(OpaquePointer, SSHCommandResult?)
        case finished
    }

    /// Why the command is being ended early.
    private enum Ending {
        case cancelled
        case timedOut
    }

    let command: String
    private let endpoint: String
    private let input: [UInt8]
    private let timeout: Duration
    private let deadline: Deadline
    private let streaming: OutputStreaming?
    private let cancel: CancelFlag
    /// It stops another command: it may use the channels kept for that.
    private let stopping: Bool
    private let deliver: @Sendable (Result<SSHCommandResult, any Error>) -> Void
    private var delivered = false

    private var phase: Phase = .waiting
    private var ending: Ending?
    /// An error that ends the command once its channel is closed (the server refused to run it).
    private var refusal: SSHError?
    /// When a command that reads its input to the end was asked to stop (its input was closed then).
    private var inputClosedAt: ContinuousClock.Instant?
    /// The end of the grace a stopped command has to end and close.
    private var endBy: ContinuousClock.Instant?
    private var killSent = false
    private var stdout: OutputBuffer
    private var stderr: OutputBuffer
    private var marker = ProcessGroupMarker()
    private static let readSize = 64 << 10
    private let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: readSize)

    init(_ command: String, endpoint: String, input: [UInt8], timeout: Duration, outputLimit: Int, streaming: OutputStreaming?,
         cancel: CancelFlag, stopping: Bool = false, deliver: @escaping @Sendable (Result<SSHCommandResult, any Error>) -> Void) {
        self.command = command
        self.stopping = stopping
        self.endpoint = endpoint
        self.input = input
        self.timeout = timeout
        self.deadline = Deadline(after: timeout)
        self.streaming = streaming
        self.cancel = cancel
        self.deliver = deliver
        self.stdout = OutputBuffer(limit: outputLimit)
        self.stderr = OutputBuffer(limit: outputLimit)
    }

    deinit { buffer.deallocate() }

    /// The line the remote login shell runs: the process group said on stderr, then the command under `timeout`
    /// in the shell's place (`exec`: the group is the shell's own), so the host stops it at the deadline even if
    /// this side has gone away.
    static func wrapped(_ command: String, timeout: Duration) -> String {
        let seconds = String(format: "%.3f", max(timeout.inSeconds, 0.001))
        return "printf '\(ProcessGroupMarker.prefix)%s\\n' \"$$\" >&2; exec timeout -k \(killGraceSeconds) \(seconds) sh -c \(ShellQuote.quoteAlways(command))"
    }

    var wakeAt: ContinuousClock.Instant? {
        if let endBy { return ContinuousClock.now < endBy ? endBy : endBy + Self.endGrace }
        if let inputClosedAt { return min(inputClosedAt + Self.stopGrace, deadline.end) }
        return deadline.end
    }

    func abandon(_ error: SSHError) {
        phase = .finished
        finish(.failure(error))
    }

    func advance(_ loop: SessionLoop) -> TaskProgress {
        noteStops(loop)
        switch phase {
        case .waiting:
            return open(loop)
        case .starting(let channel):
            let line = Self.wrapped(command, timeout: timeout)
            let rc = openclaw_channel_exec(channel, line, UInt32(line.utf8.count))
            if rc == LIBSSH2_ERROR_EAGAIN { return loop.sendingOr(.blocked) }
            loop.requestAnswered(by: self)
            guard rc == 0 else {
                refusal = .channelFailed(endpoint: endpoint, reason: "the server refused to run a command: \(loop.core.lastError.message)")
                phase = .closing(channel)
                return .moved
            }
            // stdin is `input` (secrets travel here, never on the command line), then its end: a command never waits
            // for more. A streamed command that reads until its input ends keeps it open until asked to stop.
            phase = .writing(channel, 0)
            return .moved
        case .writing(let channel, let offset):
            if offset >= input.count {
                phase = streaming?.keepInputOpen == true && ending == nil ? .running(channel) : .sendingEOF(channel)
                return .moved
            }
            let written = input.withUnsafeBufferPointer { bytes in
                bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    openclaw_channel_write(channel, $0 + offset, bytes.count - offset)
                }
            }
            if written == Int(LIBSSH2_ERROR_EAGAIN) { return .sending }
            if written < 0 { return broken(loop, "writing the command's input") }
            phase = .writing(channel, offset + written)
            return .moved
        case .sendingEOF(let channel):
            if libssh2_channel_send_eof(channel) == LIBSSH2_ERROR_EAGAIN { return loop.sendingOr(.blocked) }
            phase = .running(channel)
            return .moved
        case .closingInput(let channel):
            if libssh2_channel_send_eof(channel) == LIBSSH2_ERROR_EAGAIN { return loop.sendingOr(.blocked) }
            inputClosedAt = .now
            phase = .running(channel)
            return .moved
        case .running(let channel):
            if streaming?.keepInputOpen == true, cancel.isSet, inputClosedAt == nil, ending == nil {
                phase = .closingInput(channel)
                return .moved
            }
            return read(channel, loop)
        case .closing(let channel):
            if libssh2_channel_close(channel) == LIBSSH2_ERROR_EAGAIN { return loop.sendingOr(overdue(loop)) }
            phase = .waitingClosed(channel)
            return .moved
        case .waitingClosed(let channel):
            if libssh2_channel_wait_closed(channel) == LIBSSH2_ERROR_EAGAIN { return overdue(loop) }
            phase = .freeing(channel, outcome(channel, loop))
            return .moved
        case .freeing(let channel, let result):
            if libssh2_channel_free(channel) == LIBSSH2_ERROR_EAGAIN { return overdue(loop) }
            loop.channelFreed()
            phase = .finished
            if let result { finish(.success(result)) } else { finish(.failure(refusal ?? endError)) }
            return .done
        case .finished:
            return .done
        }
    }

    private func open(_ loop: SessionLoop) -> TaskProgress {
        if ending != nil, !loop.isOpening(self) {
            // Nothing was started on the host.
            phase = .finished
            finish(.failure(endError))
            return .done
        }
        if ending == .timedOut {
            loop.abandonPendingOpen(by: self)
            phase = .finished
            finish(.failure(endError))
            return .done
        }
        switch loop.open(for: self, stopping: stopping, thenRequest: true, { openclaw_channel_open_session(loop.core.session) }) {
        case .busy: return .blocked
        case .pending: return loop.sendingOr(.blocked)
        case .failed(let failure):
            phase = .finished
            finish(.failure(SSHError.channelFailed(endpoint: endpoint, reason: "cannot open a channel: \(failure.message)")))
            return .done
        case .opened(let channel):
            // Cancelled while its open was under way: the channel is closed without running anything.
            if ending != nil { loop.requestAnswered(by: self) }
            phase = ending == nil ? .starting(channel) : .closing(channel)
            return .moved
        }
    }

    // MARK: Stops

    /// A cancellation or the deadline, as seen now: the first of them decides how the command ends. A command that
    /// reads its input to the end was asked to stop by closing its input, and is stopped only once its grace ran out.
    private func noteStops(_ loop: SessionLoop) {
        guard ending == nil else { return }
        if deadline.hasPassed {
            ending = .timedOut
        } else if cancel.isSet {
            if streaming?.keepInputOpen == true, let closedAt = inputClosedAt, ContinuousClock.now < closedAt + Self.stopGrace { return }
            if streaming?.keepInputOpen == true, inputClosedAt == nil {
                switch phase {
                case .running, .closingInput: return
                default: break
                }
            }
            ending = .cancelled
        } else {
            return
        }
        endBy = .now + Self.endGrace
        stopOnHost(loop)
    }

    /// Sends the `kill` of the command's process group, once the group is known (it is the first thing the command
    /// says, so it is known as soon as the command runs).
    private func stopOnHost(_ loop: SessionLoop) {
        guard ending != nil, !killSent, let group = marker.group else { return }
        killSent = true
        loop.adopt(CommandTask("kill -TERM -- -\(group) 2>/dev/null || kill -TERM \(group) 2>/dev/null; true", endpoint: endpoint,
                               input: [], timeout: Self.endGrace, outputLimit: 1024, streaming: nil, cancel: CancelFlag(), stopping: true) { _ in })
    }

    /// A channel whose close the host does not confirm in time: the session is given up on.
    private func overdue(_ loop: SessionLoop) -> TaskProgress {
        let limit = (endBy ?? deadline.end) + Self.endGrace
        if ContinuousClock.now >= limit { loop.fail("the host did not close a command's channel") }
        return .blocked
    }

    private var endError: any Error {
        switch ending {
        case .timedOut?: return SSHError.commandTimedOut(endpoint: endpoint, command: command, after: timeout)
        default: return CancellationError()
        }
    }

    // MARK: Reading

    private func read(_ channel: OpaquePointer, _ loop: SessionLoop) -> TaskProgress {
        let outCount = openclaw_channel_read(channel, buffer, Self.readSize)
        if outCount > 0 { pass(.stdout, Array(UnsafeRawBufferPointer(start: buffer, count: outCount))) }
        let errCount = openclaw_channel_read_stderr(channel, buffer, Self.readSize)
        if errCount > 0 { pass(.stderr, marker.filter(Array(UnsafeRawBufferPointer(start: buffer, count: errCount)))) }
        for count in [outCount, errCount] where count < 0 && count != Int(LIBSSH2_ERROR_EAGAIN) {
            return broken(loop, "reading command output")
        }
        if ending != nil { stopOnHost(loop) }
        if outCount > 0 || errCount > 0 { return .moved }
        if libssh2_channel_eof(channel) != 0 {
            pass(.stderr, marker.finish())
            phase = .closing(channel)
            return .moved
        }
        // Reading one stream can queue packets of the other inside libssh2, unseen by poll.
        if libssh2_poll_channel_read(channel, 0) != 0 || libssh2_poll_channel_read(channel, 1) != 0 { return .moved }
        if let endBy, ContinuousClock.now >= endBy {
            // Stopped or not, it had its grace: its channel is closed (the host's `timeout` ends it at the latest).
            phase = .closing(channel)
            self.endBy = .now + Self.endGrace
            return .moved
        }
        return .blocked
    }

    private func pass(_ stream: OutputStreaming.Stream, _ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        if let streaming {
            streaming.output(stream, bytes)
        } else {
            bytes.withUnsafeBytes { stream == .stdout ? stdout.append($0) : stderr.append($0) }
        }
    }

    private func broken(_ loop: SessionLoop, _ what: String) -> TaskProgress {
        loop.fail("\(what): \(loop.core.lastError.message)")
        return .blocked
    }

    // MARK: The end

    /// The command's result once its channel closed; nil when it was ended early (its error is then the result).
    private func outcome(_ channel: OpaquePointer, _ loop: SessionLoop) -> SSHCommandResult? {
        if refusal != nil || ending != nil { return nil }
        let result = result(channel, loop)
        // The host's `timeout` fired a moment before ours: still a timeout, not a command failure.
        if result.signal == nil, result.exitStatus == 124 || result.exitStatus == 128 + 9,
           deadline.elapsed + .milliseconds(300) >= timeout {
            ending = .timedOut
            return nil
        }
        return result
    }

    private func result(_ channel: OpaquePointer, _ loop: SessionLoop) -> SSHCommandResult {
        var status = libssh2_channel_get_exit_status(channel)
        let signal = exitSignal(channel, loop)
        if let signal { status = 128 + (Self.signalNumbers[signal] ?? 0) }
        return SSHCommandResult(exitStatus: status, signal: signal, stdout: stdout.text, stderr: stderr.text,
                                stdoutBytes: stdout.total, stderrBytes: stderr.total,
                                stdoutTruncated: stdout.truncated, stderrTruncated: stderr.truncated)
    }

    private func exitSignal(_ channel: OpaquePointer, _ loop: SessionLoop) -> String? {
        var name: UnsafeMutablePointer<CChar>?
        var length = 0
        guard libssh2_channel_get_exit_signal(channel, &name, &length, nil, nil, nil, nil) == 0, let name else { return nil }
        defer { libssh2_free(loop.core.session, name) }
        guard length > 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: name, count: length), as: UTF8.self)
    }

    private func finish(_ result: Result<SSHCommandResult, any Error>) {
        guard !delivered else { return }
        delivered = true
        deliver(result)
    }

    static let signalNumbers: [String: Int32] = [
        "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8, "KILL": 9, "USR1": 10,
        "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
    ]
}

/// Finds the line the wrapper writes first on stderr (`@openclaw-group 1234`) and takes it out of the output:
/// what came before it (a login script's noise) and after it passes on unchanged.
struct ProcessGroupMarker {
    static let prefix = "@openclaw-group "
    private static let prefixBytes = Array(prefix.utf8)
    /// The longest a login script may write before the marker and still have it found.
    static let searchLimit = 8 << 10

    private var pending: [UInt8] = []
    private(set) var group: Int32?
    private(set) var settled = false

    /// Takes stderr bytes; returns those to pass on now.
    mutating func filter(_ bytes: [UInt8]) -> [UInt8] {
        guard !settled else { return bytes }
        pending += bytes
        var lineStart = 0
        while lineStart < pending.count {
            let newline = pending[lineStart...].firstIndex(of: UInt8(ascii: "\n"))
            guard let newline else { break }
            let line = pending[lineStart..<newline]
            if line.starts(with: Self.prefixBytes),
               let value = Int32(String(decoding: line.dropFirst(Self.prefixBytes.count), as: UTF8.self)), value > 1 {
                group = value
                settled = true
                let out = Array(pending[..<lineStart]) + Array(pending[(newline + 1)...])
                pending = []
                return out
            }
            lineStart = newline + 1
        }
        if pending.count > Self.searchLimit { return finish() }
        return []
    }

    /// No marker (yet): everything held back passes on.
    mutating func finish() -> [UInt8] {
        settled = true
        defer { pending = [] }
        return pending
    }
}
