import Plan
/// The one way the tool runs many things at once with a cap: connects, host reads, services in parallel.
package enum BoundedConcurrency {
    /// Runs `body` for every element, at most `limit` at once, starting the next as one ends; results come back in
    /// the elements' order. Before each start past the first `limit`, `startsMore` is asked: once it says no,
    /// nothing more starts and the elements never started get nil.
    package static func map<Element: Sendable, Value: Sendable>(
        _ elements: [Element], limit: Int, startsMore: @escaping @Sendable () -> Bool = { true },
        _ body: @escaping @Sendable (Element) async -> Value
    ) async -> [Value?] {
        await withTaskGroup(of: (Int, Value).self) { group in
            var next = 0
            func startNext() {
                guard next < elements.count else { return }
                let index = next, element = elements[index]
                next += 1
                group.addTask { (index, await body(element)) }
            }
            for _ in 0..<min(max(1, limit), elements.count) { startNext() }
            var values = [Value?](repeating: nil, count: elements.count)
            while let (index, value) = await group.next() {
                values[index] = value
                if startsMore() { startNext() }
            }
            return values
        }
    }
}
