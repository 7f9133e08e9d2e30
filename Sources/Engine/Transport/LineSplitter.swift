import Commands
import Plan
/// Splits a stream of output chunks into lines, in time linear in the bytes given: each byte is looked at
/// once, however long a line grows before its newline comes. A line longer than `maxLineBytes` keeps its
/// first `maxLineBytes` bytes and counts the rest, so output without newlines (`logs --follow` of a program
/// that never ends a line) holds bounded memory.
public struct LineSplitter: Sendable {
    /// Bytes of one line kept by default.
    public static let defaultMaxLineBytes = 64 * 1024

    public struct Line: Sendable, Equatable {
        public var bytes: [UInt8]
        /// Bytes of the line past `maxLineBytes`, not kept.
        public var dropped: Int

        /// The line as text (a CRLF ending counts as the line end; bytes that are not UTF-8 shown as U+FFFD),
        /// with a note of what was cut.
        public var text: String {
            var text = String(decoding: bytes, as: UTF8.self)
            if dropped == 0, text.hasSuffix("\r") { text.removeLast() }
            return dropped == 0 ? text : text + " … (\(dropped) more bytes of this line not shown)"
        }
    }

    public let maxLineBytes: Int
    private var partial: [UInt8] = []
    private var dropped = 0
    /// Bytes looked at or copied so far: what a test measures to show the splitting is linear.
    public private(set) var work = 0

    public init(maxLineBytes: Int = LineSplitter.defaultMaxLineBytes) {
        self.maxLineBytes = maxLineBytes
    }

    /// Takes the next chunk and returns the lines it completes.
    public mutating func take(_ chunk: some Collection<UInt8>) -> [Line] {
        var lines: [Line] = []
        var start = chunk.startIndex
        var index = chunk.startIndex
        while index != chunk.endIndex {
            if chunk[index] == UInt8(ascii: "\n") {
                keep(chunk[start..<index])
                lines.append(Line(bytes: partial, dropped: dropped))
                partial = []
                dropped = 0
                start = chunk.index(after: index)
            }
            work += 1
            index = chunk.index(after: index)
        }
        keep(chunk[start..<chunk.endIndex])
        return lines
    }

    /// What is left after the last newline (output that did not end with one), if anything.
    public mutating func flush() -> Line? {
        defer {
            partial = []
            dropped = 0
        }
        return partial.isEmpty && dropped == 0 ? nil : Line(bytes: partial, dropped: dropped)
    }

    private mutating func keep(_ bytes: some Collection<UInt8>) {
        let room = max(0, maxLineBytes - partial.count)
        let kept = bytes.prefix(room)
        partial += kept
        work += kept.count
        dropped += bytes.count - kept.count
    }
}
