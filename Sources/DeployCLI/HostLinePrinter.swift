import Commands
import Foundation
import Inventory
import Plan
import Engine
import Synchronization

/// Prints hosts' output as whole lines, each prefixed with its host (`cs-1  | ...`), control characters
/// escaped. Output arrives in chunks that may end mid-line: each host's partial line waits for the rest.
final class HostLinePrinter: Sendable {
    private let width: Int
    private let format: OutputFormat
    private struct State {
        /// Each host's stdout and stderr, split apart (a partial line waits for the rest).
        var splitters: [String: LineSplitter] = [:]
        var readerGoneReported = false
    }
    private let state = Mutex(State())

    /// Called once when stdout's reader went away (`logs --follow | head`).
    private let onReaderGone: (@Sendable () -> Void)?

    init(hosts: [String], format: OutputFormat, onReaderGone: (@Sendable () -> Void)? = nil) {
        width = hosts.map(\.count).max() ?? 0
        self.format = format
        self.onReaderGone = onReaderGone
    }

    /// The prefix of a host's lines, names padded to the longest.
    func prefix(_ host: String) -> String {
        host.padding(toLength: max(width, host.count), withPad: " ", startingAt: 0) + "  | "
    }

    /// Takes a chunk of `host`'s output (stdout or stderr alike) and prints every line it completes.
    func take(_ host: String, _ chunk: OutputChunk) {
        let key = host + (chunk.isStderr ? "\u{0}err" : "")
        let lines = state.withLock { $0.splitters[key, default: LineSplitter()].take(chunk.bytes) }
        for line in lines { write(host, line.text) }
        if LineOutput.standardOutput.isReaderGone {
            let first = state.withLock { state -> Bool in
                defer { state.readerGoneReported = true }
                return !state.readerGoneReported
            }
            if first { onReaderGone?() }
        }
    }

    /// Prints what is left of `host`'s last lines (output that did not end with a newline).
    func flush(_ host: String) {
        for key in [host, host + "\u{0}err"] {
            var splitter = state.withLock { $0.splitters.removeValue(forKey: key) }
            let rest = splitter?.flush()
            if let rest { write(host, rest.text) }
        }
    }

    private func write(_ host: String, _ text: String) {
        switch format {
        case .text:
            LineOutput.standardOutput.write(prefix(host) + VisibleText.escaped(text) + "\n")
        case .json:
            LineOutput.standardOutput.write(JSONValue.object([("host", .string(host)), ("line", .string(text))]).compact + "\n")
        }
    }

    /// A whole output (`exec`'s) as text lines behind `host`'s prefix, split and escaped as streamed lines are.
    func prefixedLines(_ host: String, _ output: String) -> String {
        var splitter = LineSplitter()
        let lines = splitter.take(output.utf8) + (splitter.flush().map { [$0] } ?? [])
        return lines.map { prefix(host) + VisibleText.escaped($0.text) + "\n" }.joined()
    }
}
