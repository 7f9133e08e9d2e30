import ExitCategories
import Foundation
import Inventory
import Plan
import Engine
import Synchronization

/// Turns rollout events into output: text for people or JSON Lines for machines. Events arrive from
/// many tasks at once; every reporter writes whole lines under one lock.
protocol EventReporter: RolloutEventSink {
    /// Called once after the run, with every service's outcome (the text form prints the summary here).
    func finish(_ report: RolloutReport)
    /// Called instead when the rollout did not come back after a second Ctrl-C and the process is about to exit:
    /// the services that started and never finished end here, from what `monitor` last saw.
    func abandon(_ monitor: RolloutMonitor)
}

extension EventReporter {
    func abandon(_ monitor: RolloutMonitor) {}
}

/// Standard output, written line by line under a lock so that concurrent hosts never interleave.
final class LineOutput: Sendable {
    private let descriptor: Int32
    /// Set once a write failed because nobody reads any more (EPIPE): a command that would otherwise stream
    /// forever (`logs --follow | head`) stops then. Held while writing, so whole writes never interleave.
    private let readerGone = Mutex(false)
    let isTerminal: Bool

    init(_ handle: FileHandle) {
        self.descriptor = handle.fileDescriptor
        self.isTerminal = isatty(handle.fileDescriptor) == 1
    }

    /// Columns of the terminal this writes to (from the terminal itself, else `$COLUMNS`, else 80): what lines
    /// rewritten in place are cut to, whatever `--wide` says.
    var columns: Int { TextFit.width(wide: false, descriptor: descriptor) ?? 80 }

    static let standardOutput = LineOutput(.standardOutput)
    static let standardError = LineOutput(.standardError)

    /// The run's secret values: every text written to standard output or error passes through it, whichever
    /// command, reporter or message wrote it (SPEC "Secrets never leave"). Set once the secrets are read.
    static let redaction = Mutex(Redactor.none)

    func write(_ text: String) {
        let text = Self.redaction.withLock { $0 }.redact(text)
        write(redacted: Array(text.utf8))
    }

    /// Whether a write failed with EPIPE.
    var isReaderGone: Bool { readerGone.withLock { $0 } }

    func write(bytes: [UInt8]) {
        let redactor = Self.redaction.withLock { $0 }
        guard redactor.isEmpty else { return write(String(decoding: bytes, as: UTF8.self)) }
        write(redacted: bytes)
    }

    private func write(redacted bytes: [UInt8]) {
        readerGone.withLock { gone in
            if !Self.writeAll(bytes, to: descriptor) { gone = true }
        }
    }

    /// Writes with write(2) and drops what cannot be written. A reader that went away (`deploy | head`)
    /// must never stop a rollout half-way: with SIGPIPE ignored (see `RootCommand`), the write fails with
    /// EPIPE instead, and the rollout goes on to finish or put back its hosts and release its locks.
    /// Returns false only when the reader went away (EPIPE).
    @discardableResult
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return !(written < 0 && errno == EPIPE)
                }
            }
            return true
        }
    }
}

extension Plan {
    /// Reads the plan's secrets on this machine (exit 65 when one cannot be read) and hands them to the output's
    /// redaction before anything the hosts say can be printed.
    func readSecrets(_ inventory: Inventory) async throws -> Secrets {
        // A `from_command` leads a process group of its own, which the terminal's Ctrl-C does not reach: a signal
        // here cancels the reading, and that stops the command's whole group before the tool exits.
        let task = Task { try await resolveSecrets(directory: inventory.directory) }
        let interrupts = StopOnSignal { task.cancel() }
        defer { interrupts.uninstall() }
        let secrets: Secrets
        do {
            secrets = try await task.value
        } catch {
            throw interrupts.received ? SecretsStopped() : error
        }
        if interrupts.received { throw SecretsStopped() }
        LineOutput.redaction.withLock { $0 = secrets.redactor }
        return secrets
    }
}

/// Colour for terminals only, and never with `--no-color` or `NO_COLOR` (`GlobalOptions.useColor`).
struct Palette: Sendable {
    let enabled: Bool

    func green(_ s: String) -> String { paint(s, "32") }
    func red(_ s: String) -> String { paint(s, "31") }
    func yellow(_ s: String) -> String { paint(s, "33") }
    func bold(_ s: String) -> String { paint(s, "1") }
    func dim(_ s: String) -> String { paint(s, "2") }

    private func paint(_ s: String, _ code: String) -> String {
        enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
    }
}

/// Durations for people: `0.04s`, `2.3s`, `1m05s`.
func spokenDuration(_ d: Duration) -> String {
    let ms = d.milliseconds
    if ms < 10_000 { return String(format: "%.2fs", Double(ms) / 1000) }
    if ms < 60_000 { return String(format: "%.1fs", Double(ms) / 1000) }
    return "\(ms / 60_000)m\(String(format: "%02d", (ms % 60_000) / 1000))s"
}

/// A commit id for people, `-` when there is none.
func shortRevision(_ sha: String?) -> String { sha?.shortSHA ?? "-" }
func shortRevision(_ commit: CommitID?) -> String { commit?.short ?? "-" }

/// Ctrl-C (or SIGTERM, SIGHUP) while the secrets were being read: nothing was contacted (exit 1).
struct SecretsStopped: CategorizedError {
    var category: ExitCategory { .failed }
    var description: String { "stopped while the secrets were being read; no host was contacted" }
}
