import Foundation
import Yams

/// Turns inventory text into a YAML node tree, translating every YAML-level failure into a positioned diagnostic.
enum YAMLSource {
    /// Bound on how many repeated keys are patched out before the rest are reported as one syntax error.
    private static let maxRepeatedKeys = 50

    /// The root node, or nil when the text is not YAML (reported into `reader`) or holds no document.
    /// Repeated mapping keys are not fatal: each one is noted in `reader.repeatedKeys` and the rest of the file
    /// is still checked.
    static func compose(_ text: String, reader: NodeReader) -> Node? {
        if let position = ComplexKeyGuard.firstRiskyKey(in: text) {
            reader.error(at: position, "a mapping key here is a list, a mapping or an alias; inventory keys are plain words, write the key out")
            return nil
        }
        var text = text
        for attempt in 0..<maxRepeatedKeys {
            do {
                // Values are read as text by NodeReader; the basic resolver skips the per-scalar regex tag
                // matching that dominated load time on large inventories.
                return try Yams.compose(yaml: text, .basic)
            } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
                let first = Position(context.mark)
                guard let name = duplicates.first,
                      let (patched, second) = patchRepeatedKey(name, after: first, in: text, marker: attempt) else {
                    reader.error(at: context.mark, "key \(quoted(duplicates.first ?? "")) appears twice in one mapping (first here); keep one")
                    return nil
                }
                reader.repeatedKeys[second] = (name, first)
                text = patched
            } catch {
                report(error, text: text, reader: reader)
                return nil
            }
        }
        reader.fileError("more than \(maxRepeatedKeys) keys are repeated; remove the repeated keys")
        return nil
    }

    /// Finds the next key `name` in the block mapping whose first key `name` sits at `first`, and replaces it
    /// (same width, so no position moves) with a placeholder key no inventory uses.
    private static func patchRepeatedKey(_ name: String, after first: Position, in text: String,
                                         marker: Int) -> (String, Position)? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        let column = first.column - 1
        guard first.line >= 1, first.line < lines.count, column >= 0 else { return nil }
        let spellings = [name, "\"\(name)\"", "'\(name)'"].map { Array($0.unicodeScalars) }
        for index in first.line..<lines.count {
            let line = lines[index]
            let indent = line.prefix { $0 == " " }.count
            if indent == line.count || line[indent] == "#" { continue }
            if indent < column { return nil }
            guard indent == column else { continue }
            for spelling in spellings where line.count >= column + spelling.count
                && Array(line[column..<column + spelling.count]) == spelling {
                let after = line[(column + spelling.count)...].drop { $0 == " " }
                guard after.first == ":" else { continue }
                guard let placeholder = Unicode.Scalar(0xE000 + UInt32(marker)) else { return nil }
                lines[index].replaceSubrange(column..<column + spelling.count,
                                             with: repeatElement(placeholder, count: spelling.count))
                let patched = lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
                return (patched, Position(line: index + 1, column: column + 1))
            }
        }
        return nil
    }

    private static func report(_ error: Error, text: String, reader: NodeReader) {
        guard let yamlError = error as? YamlError else {
            reader.fileError("cannot read the YAML: \(error)")
            return
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context {
                let contextText = context.text.trimmingCharacters(in: .whitespaces)
                message += Position(context.mark) == Position(mark) ? " (\(contextText))" : " (\(contextText) at \(Position(context.mark)))"
            }
            if problem.contains("tab") || lineHasTab(text, line: mark.line) {
                message += "; indent with spaces, not tabs"
            }
            reader.error(at: mark, message)
        case .reader(let problem, let offset, let value, _):
            let place = offset.map { position(ofCharacter: $0, in: text) } ?? Position(line: 1, column: 1)
            let character = value >= 0 ? String(format: " (U+%04X)", Int(value)) : ""
            reader.error(at: place, "invalid YAML: \(problem)\(character); remove that character")
        default:
            reader.fileError("cannot read the YAML: \(yamlError)")
        }
    }

    private static func lineHasTab(_ text: String, line: Int) -> Bool {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return false }
        return lines[line - 1].prefix { $0 == " " || $0 == "\t" }.contains("\t")
    }

    /// Line and column (in Unicode scalars, as libyaml counts) of the character at `offset`.
    private static func position(ofCharacter offset: Int, in text: String) -> Position {
        var line = 1, column = 1
        for character in text.prefix(offset) {
            if character == "\n" || character == "\r\n" {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return Position(line: line, column: column)
    }
}
