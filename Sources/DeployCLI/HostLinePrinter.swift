import Foundation
import Inventory
import Rollout

/// Prints hosts' output as whole lines, each prefixed with its host (`cs-1  | ...`), control characters
/// escaped. Output arrives in chunks that may end mid-line: each host's partial line waits for the rest.
final class HostLinePrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let width: Int
    private let format: OutputFormat
    private var partial: [String: [UInt8]] = [:]

    /// Called once when stdout's reader went away (`logs --follow | head`).
    private let onReaderGone: (@Sendable () -> Void)?
    private var readerGoneReported = false

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
        let lines: [[UInt8]] = lock.withLock {
            var buffer = partial[key, default: []]
            buffer += chunk.bytes
            var complete: [[UInt8]] = []
            var start = 0
            for index in buffer.indices where buffer[index] == UInt8(ascii: "\n") {
                complete.append(Array(buffer[start..<index]))
                start = index + 1
            }
            partial[key] = Array(buffer[start...])
            return complete
        }
        for line in lines { write(host, line) }
        if LineOutput.standardOutput.isReaderGone {
            let first = lock.withLock { () -> Bool in
                defer { readerGoneReported = true }
                return !readerGoneReported
            }
            if first { onReaderGone?() }
        }
    }

    /// Prints what is left of `host`'s last lines (output that did not end with a newline).
    func flush(_ host: String) {
        for key in [host, host + "\u{0}err"] {
            let rest = lock.withLock { partial.removeValue(forKey: key) }
            if let rest, !rest.isEmpty { write(host, rest) }
        }
    }

    private func write(_ host: String, _ line: [UInt8]) {
        let text = Self.line(line)
        switch format {
        case .text:
            LineOutput.standardOutput.write(prefix(host) + VisibleText.escaped(text) + "\n")
        case .json:
            LineOutput.standardOutput.write(JSONValue.object([("host", .string(host)), ("line", .string(text))]).compact + "\n")
        }
    }

    /// One line's text: a CRLF ending counts as the line end.
    private static func line(_ bytes: some Collection<UInt8>) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        return text
    }

    /// A whole output (`exec`'s) as text lines behind `host`'s prefix, split and escaped as streamed lines are.
    func prefixedLines(_ host: String, _ output: String) -> String {
        guard !output.isEmpty else { return "" }
        var lines = Array(output.utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines.map { prefix(host) + VisibleText.escaped(Self.line($0)) + "\n" }.joined()
    }
}
