import CLibSSH2
import Foundation

/// How a streamed command hands over its output and learns that it should stop. Called on the
/// connection's queue.
struct OutputStreaming {
    enum Stream: Sendable { case stdout, stderr }
    /// Each chunk as it arrives (instead of collecting it into the result).
    var output: (Stream, [UInt8]) -> Void
    /// True once the caller wants the command to end: its input is then closed.
    var stopRequested: () -> Bool
    /// Leave the command's input open until a stop is requested (a command that runs until its input ends).
    var keepInputOpen: Bool
}

/// Runs one command on an exec channel, reading stdout and stderr interleaved (reading only one would
/// stall once the other fills its window), under a deadline enforced on both ends.
struct CommandRunner {
    let core: SessionCore
    /// Grace between `timeout`'s TERM and its KILL on the host.
    static let killGraceSeconds = 2

    /// The line the remote login shell runs: the command under `timeout`, so the host stops it at the deadline
    /// even if this side has gone away.
    static func wrapped(_ command: String, timeout: Duration) -> String {
        let seconds = String(format: "%.3f", max(timeout.inSeconds, 0.001))
        return "timeout -k \(killGraceSeconds) \(seconds) sh -c \(quote(command))"
    }

    /// A command whose channel is open and running on the host, its input sent; `finish` collects its output.
    struct Started {
        let channel: OpaquePointer
        let command: String
        let timeout: Duration
        let deadline: Deadline
        var inputOpen: Bool
    }

    func run(_ command: String, input: [UInt8], timeout: Duration, outputLimit: Int, stream: OutputStreaming? = nil) throws -> SSHCommandResult {
        let started = try start(command, input: input, timeout: timeout, keepInputOpen: stream?.keepInputOpen ?? false)
        return try finish(started, outputLimit: outputLimit, stream: stream)
    }

    /// Opens a channel and starts `command` on it with `input` on its stdin (then its end, unless `keepInputOpen`).
    /// Other channels of the session may be used before `finish`: what the command writes meanwhile waits in its
    /// channel's window.
    func start(_ command: String, input: [UInt8], timeout: Duration, keepInputOpen: Bool = false) throws -> Started {
        let deadline = Deadline(after: timeout)
        return try timingOut(command, timeout) {
            try startChannel(command, input: input, timeout: timeout, deadline: deadline, keepInputOpen: keepInputOpen)
        }
    }

    /// Reads the started command's output to its end and closes its channel.
    func finish(_ started: Started, outputLimit: Int, stream: OutputStreaming? = nil) throws -> SSHCommandResult {
        try timingOut(started.command, started.timeout) {
            try finishChannel(started, outputLimit: outputLimit, stream: stream)
        }
    }

    private func timingOut<T>(_ command: String, _ timeout: Duration, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch is DeadlineReached {
            // The channel is mid-flight; the session cannot be trusted for another command.
            core.discard()
            throw SSHError.commandTimedOut(endpoint: core.endpoint, command: command, after: timeout)
        }
    }

    private func startChannel(_ command: String, input: [UInt8], timeout: Duration, deadline: Deadline, keepInputOpen: Bool) throws -> Started {
        let channel: OpaquePointer
        switch try core.openChannel(until: deadline, { openclaw_channel_open_session(core.session) }) {
        case .success(let opened): channel = opened
        case .failure(let failure): throw lost("cannot open a channel: \(failure.message)")
        }
        let line = Self.wrapped(command, timeout: timeout)
        let started = try core.retrying(until: deadline) { openclaw_channel_exec(channel, line, UInt32(line.utf8.count)) }
        guard started == 0 else {
            try? core.free(channel: channel, until: deadline)
            throw SSHError.channelFailed(endpoint: core.endpoint, reason: "the server refused to run a command: \(core.lastError.message)")
        }
        // stdin is `input` (secrets travel here, never on the command line), then its end: a command never
        // waits for more.
        // A streamed command that reads until its input ends keeps it open until asked to stop.
        try write(input, to: channel, deadline: deadline)
        if !keepInputOpen { _ = try core.retrying(until: deadline) { libssh2_channel_send_eof(channel) } }
        return Started(channel: channel, command: command, timeout: timeout, deadline: deadline, inputOpen: keepInputOpen)
    }

    private func finishChannel(_ started: Started, outputLimit: Int, stream: OutputStreaming?) throws -> SSHCommandResult {
        let (channel, command, timeout, deadline) = (started.channel, started.command, started.timeout, started.deadline)
        var inputOpen = started.inputOpen
        var stdout = OutputBuffer(limit: outputLimit)
        var stderr = OutputBuffer(limit: outputLimit)
        try drain(channel, into: &stdout, &stderr, deadline: deadline, stream: stream, inputOpen: &inputOpen)
        try core.close(channel: channel, until: deadline)
        var status = libssh2_channel_get_exit_status(channel)
        let signal = exitSignal(channel)
        try core.free(channel: channel, until: deadline)
        if let signal { status = 128 + (Self.signalNumbers[signal] ?? 0) }
        // The host's `timeout` fired a moment before ours: still a timeout, not a command failure.
        if signal == nil, status == 124 || status == 128 + 9, deadline.elapsed + .milliseconds(300) >= timeout {
            throw SSHError.commandTimedOut(endpoint: core.endpoint, command: command, after: timeout)
        }
        return SSHCommandResult(exitStatus: status, signal: signal, stdout: stdout.text, stderr: stderr.text,
                                stdoutBytes: stdout.total, stderrBytes: stderr.total,
                                stdoutTruncated: stdout.truncated, stderrTruncated: stderr.truncated)
    }

    private func drain(_ channel: OpaquePointer, into stdout: inout OutputBuffer, _ stderr: inout OutputBuffer, deadline: Deadline,
                       stream: OutputStreaming? = nil, inputOpen: inout Bool) throws {
        let size = 64 << 10
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
        defer { buffer.deallocate() }
        // A streamed command is asked to stop by ending its input; it then gets a few seconds to finish.
        var stopDeadline: Deadline?
        while true {
            if deadline.hasPassed || stopDeadline?.hasPassed == true { throw DeadlineReached() }
            if inputOpen, let stream, stream.stopRequested() {
                inputOpen = false
                _ = try core.retrying(until: deadline) { libssh2_channel_send_eof(channel) }
                stopDeadline = Deadline(after: .seconds(5))
            }
            let outCount = openclaw_channel_read(channel, buffer, size)
            if outCount > 0 {
                let chunk = UnsafeRawBufferPointer(start: buffer, count: outCount)
                if let stream { stream.output(.stdout, Array(chunk)) } else { stdout.append(chunk) }
            }
            let errCount = openclaw_channel_read_stderr(channel, buffer, size)
            if errCount > 0 {
                let chunk = UnsafeRawBufferPointer(start: buffer, count: errCount)
                if let stream { stream.output(.stderr, Array(chunk)) } else { stderr.append(chunk) }
            }
            for count in [outCount, errCount] where count < 0 && count != Int(LIBSSH2_ERROR_EAGAIN) {
                throw lost("reading command output: \(core.lastError.message)")
            }
            if outCount > 0 || errCount > 0 { continue }
            if libssh2_channel_eof(channel) != 0 { return }
            // Reading one stream can queue packets of the other inside libssh2, unseen by poll.
            if libssh2_poll_channel_read(channel, 0) != 0 || libssh2_poll_channel_read(channel, 1) != 0 { continue }
            if stream == nil {
                try core.waitSocket(until: deadline)
            } else {
                // A stream holds the connection's queue, where the idle keepalive timer would run: send them here
                // (libssh2 sends one only when it is due), so a quiet follow keeps NAT state and notices a dead peer.
                var next: Int32 = 0
                _ = libssh2_keepalive_send(core.session, &next)
                // A stream looks for a stop request at least five times a second.
                do { try core.waitSocket(until: deadline.capped(at: .milliseconds(200))) } catch is DeadlineReached where !deadline.hasPassed {}
            }
        }
    }

    private func write(_ input: [UInt8], to channel: OpaquePointer, deadline: Deadline) throws {
        var offset = 0
        while offset < input.count {
            let written = input.withUnsafeBufferPointer { bytes in
                bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    openclaw_channel_write(channel, $0 + offset, bytes.count - offset)
                }
            }
            if written == Int(LIBSSH2_ERROR_EAGAIN) {
                try core.waitSocket(until: deadline)
            } else if written < 0 {
                throw lost("writing the command's input: \(core.lastError.message)")
            } else {
                offset += written
            }
        }
    }

    private func exitSignal(_ channel: OpaquePointer) -> String? {
        var name: UnsafeMutablePointer<CChar>?
        var length = 0
        guard libssh2_channel_get_exit_signal(channel, &name, &length, nil, nil, nil, nil) == 0, let name else { return nil }
        defer { libssh2_free(core.session, name) }
        guard length > 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: name, count: length), as: UTF8.self)
    }

    private func lost(_ reason: String) -> SSHError {
        core.discard()
        return .connectionLost(endpoint: core.endpoint, reason: reason)
    }

    static let signalNumbers: [String: Int32] = [
        "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8, "KILL": 9, "USR1": 10,
        "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
    ]

    /// Single-quotes a word for the remote POSIX shell.
    static func quote(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
