/// Yams checks mapping keys for duplicates by hashing them whole, so a key that is a list or mapping built from
/// nested aliases ("billion laughs") takes exponential time to read. Inventory keys are plain words, so a file
/// that uses aliases and has a complex key (`? ...`, `[...]:`, `{...}:`, `*alias:`) is refused before parsing.
enum ComplexKeyGuard {
    /// Position of the first complex key, when the text also uses aliases; nil otherwise.
    static func firstRiskyKey(in text: String) -> Position? {
        let scalars = Array(text.unicodeScalars)
        var hasAlias = false
        var firstComplexKey: Position?
        var line = 1, column = 0
        var quote: Unicode.Scalar?
        var inComment = false
        var index = 0
        func isBlank(_ i: Int) -> Bool { i >= scalars.count || scalars[i] == " " || scalars[i] == "\t" || scalars[i] == "\n" || scalars[i] == "\r" }
        func startsToken(_ i: Int) -> Bool { i == 0 || isBlank(i - 1) || "[{,".unicodeScalars.contains(scalars[i - 1]) }
        /// A `:` that ends an implicit key, after optional spaces from `i`.
        func keyColon(from i: Int) -> Bool {
            var j = i
            while j < scalars.count, scalars[j] == " " { j += 1 }
            return j < scalars.count && scalars[j] == ":" && isBlank(j + 1)
        }
        while index < scalars.count {
            let c = scalars[index]
            column += 1
            if c == "\n" {
                line += 1
                column = 0
                inComment = false
            } else if inComment {
                // Comment text can hold anything; nothing in it counts.
            } else if let open = quote {
                if c == open { quote = nil }
                if c == "\\" && open == "\"" { index += 1; column += 1 }
            } else if (c == "\"" || c == "'") && startsToken(index) {
                quote = c
            } else if c == "#" && startsToken(index) {
                inComment = true
            } else if c == "*" && startsToken(index) && !isBlank(index + 1) {
                hasAlias = true
                var end = index + 1
                while end < scalars.count, !isBlank(end), !",[]{}".unicodeScalars.contains(scalars[end]) { end += 1 }
                if firstComplexKey == nil, scalars[end - 1] == ":" || keyColon(from: end) {
                    firstComplexKey = Position(line: line, column: column)
                }
            } else if firstComplexKey == nil, c == "?" && startsToken(index) && isBlank(index + 1) {
                firstComplexKey = Position(line: line, column: column)
            } else if firstComplexKey == nil, (c == "]" || c == "}") && keyColon(from: index + 1) {
                firstComplexKey = Position(line: line, column: column)
            }
            index += 1
        }
        return hasAlias ? firstComplexKey : nil
    }
}
