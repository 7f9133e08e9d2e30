import Commands
import Plan
import Engine
import Testing

/// Hosts' output as lines (`logs`, `exec`): linear in the bytes, bounded per line.
@Suite("Line splitting")
struct LineSplitterTests {
    @Test("a long line arriving in small chunks costs work linear in its size", arguments: [1 << 16, 1 << 20, 4 << 20])
    func linearInTheLineLength(size: Int) {
        var splitter = LineSplitter(maxLineBytes: .max)
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 4096)
        var lines: [LineSplitter.Line] = []
        for _ in 0..<(size / chunk.count) { lines += splitter.take(chunk) }
        lines += splitter.take([UInt8(ascii: "\n")])
        #expect(lines.count == 1 && lines[0].bytes.count == size)
        // Each byte is looked at once and copied once: rescanning the unfinished line per chunk would make this
        // grow with size² / chunk (about 2,000 times the size at 4 MiB).
        #expect(splitter.work <= 2 * size + 1, "work \(splitter.work) for \(size) bytes")
    }

    @Test("lines split across chunks, CRLF endings, and the unfinished last line")
    func splitting() {
        var splitter = LineSplitter()
        var lines = splitter.take(Array("one\r\ntw".utf8))
        lines += splitter.take(Array("o\n\nthree".utf8))
        #expect(lines.map(\.text) == ["one", "two", ""])
        #expect(splitter.flush()?.text == "three")
        #expect(splitter.flush() == nil)
    }

    @Test("a line past the cap keeps its start and says how much was not kept; memory stays bounded without newlines")
    func capped() {
        var splitter = LineSplitter(maxLineBytes: 10)
        for _ in 0..<1000 { #expect(splitter.take(Array("0123456789".utf8)).isEmpty) }
        let lines = splitter.take(Array("\nnext\n".utf8))
        #expect(lines.map(\.text) == ["0123456789 … (9990 more bytes of this line not shown)", "next"])
    }
}
