import Foundation
import Synchronization

/// Fitting text output to the width of the terminal it is read on: long lines wrapped at spaces (nothing is lost),
/// long values shortened in the middle where a table cell or a step's detail must stay on its line. Piped output
/// with no `COLUMNS` keeps every line whole, for logs and scripts; so does `--wide`.
enum TextFit {
    /// `--wide` as the command line gave it, for what is printed outside a command (error messages).
    static let wide = Mutex(false)

    /// Columns to fit to: the terminal's that `descriptor` writes to, else `$COLUMNS`; nil for no limit.
    static func width(wide: Bool, descriptor: Int32 = STDOUT_FILENO,
                      environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        if wide { return nil }
        let terminal = isatty(descriptor) == 1
        if terminal {
            var size = winsize()
            if ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return max(40, Int(size.ws_col)) }
        }
        if let text = environment["COLUMNS"], let value = Int(text), value > 0 { return max(40, value) }
        return terminal ? 80 : nil
    }

    /// Characters a terminal shows of `text`: colour escapes (`ESC [ … m`) take none.
    static func visibleCount(_ text: String) -> Int {
        var count = 0
        var inEscape = false
        for scalar in text.unicodeScalars {
            if inEscape {
                if scalar == "m" { inEscape = false }
            } else if scalar == "\u{1B}" {
                inEscape = true
            } else {
                count += 1
            }
        }
        return count
    }

    /// `text` in at most `width` characters, shortened in the middle (`abc…xyz`). For plain text (no escapes).
    static func shortened(_ text: String, to width: Int) -> String {
        guard text.count > width else { return text }
        guard width > 1 else { return String(text.prefix(max(0, width))) }
        let head = (width - 1) / 2, tail = width - 1 - head
        return String(text.prefix(head)) + "…" + String(text.suffix(tail))
    }

    /// `line` as lines of at most `width` visible characters, broken at the last space that fits (the spacing
    /// within a line is kept); every line after the first starts with `indent`. A word longer than a line is cut.
    /// Nothing is dropped but the spaces where a line breaks.
    static func wrapped(_ line: String, width: Int?, indent: String) -> [String] {
        guard let width, visibleCount(line) > width else { return [line] }
        let indent = String(indent.prefix(width / 2))
        var lines: [String] = []
        var rest = Array(line)
        while true {
            let limit = lines.isEmpty ? width : width - indent.count
            let prefix = lines.isEmpty ? "" : indent
            // Walk the visible characters: where the limit falls, and the last space before it (not in the indentation).
            var visible = 0, index = 0, lastSpace: Int?, inEscape = false, seenText = false
            while index < rest.count {
                let character = rest[index]
                if inEscape {
                    if character == "m" { inEscape = false }
                } else if character == "\u{1B}" {
                    inEscape = true
                } else {
                    if visible == limit { break }
                    if character == " " { if seenText { lastSpace = index } } else { seenText = true }
                    visible += 1
                }
                index += 1
            }
            if index >= rest.count {
                lines.append(prefix + String(rest))
                break
            }
            let cut = lastSpace ?? index
            var head = rest[..<cut]
            while head.last == " " { head = head.dropLast() }
            lines.append(prefix + String(head))
            var tail = rest[cut...]
            while tail.first == " " { tail = tail.dropFirst() }
            rest = Array(tail)
            if rest.isEmpty { break }
        }
        return lines
    }

    /// Every line of `text` wrapped, each continuation indented three more than its line's own indent. Secret
    /// values are redacted first: one cut across two lines could no longer be found.
    static func wrappedLines(_ text: String, width: Int?) -> String {
        guard let width else { return text }
        let text = LineOutput.redaction.withLock { $0 }.redact(text)
        let ends = text.hasSuffix("\n")
        let lines = (ends ? String(text.dropLast()) : text).split(separator: "\n", omittingEmptySubsequences: false).flatMap { line in
            let indent = String(repeating: " ", count: line.prefix { $0 == " " }.count + 3)
            return wrapped(String(line), width: width, indent: indent)
        }
        return lines.joined(separator: "\n") + (ends ? "\n" : "")
    }
}
