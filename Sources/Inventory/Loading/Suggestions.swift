/// The candidate closest to a mistyped word, if it is close enough to be a likely typo
/// (at most a third of the word's letters changed, and never more than 3).
func closestMatch(to word: String, among candidates: [String]) -> String? {
    let limit = min(3, max(1, word.count / 3))
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
    return best.0
}

/// Levenshtein distance: insertions, deletions and substitutions needed to turn one word into the other.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.prefix(200)), b = Array(b.prefix(200))
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
