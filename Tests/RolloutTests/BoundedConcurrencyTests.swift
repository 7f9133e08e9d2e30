import Foundation
@testable import Engine
import Testing

@Suite("BoundedConcurrency: a cap, the elements' order, a stop")
struct BoundedConcurrencyTests {
    private final class Gauge: @unchecked Sendable {
        private let lock = NSLock()
        private var now = 0
        private(set) var most = 0
        private(set) var started = 0
        func enter() { lock.withLock { now += 1; started += 1; most = max(most, now) } }
        func leave() { lock.withLock { now -= 1 } }
        var startedSoFar: Int { lock.withLock { started } }
    }

    @Test func neverMoreThanTheLimitAtOnceAndResultsInOrder() async {
        let gauge = Gauge()
        let values = await BoundedConcurrency.map(Array(0..<20), limit: 3) { element -> Int in
            gauge.enter()
            try? await Task.sleep(for: .milliseconds(Int.random(in: 1...15)))
            gauge.leave()
            return element * 2
        }
        #expect(values == (0..<20).map { $0 * 2 })
        #expect(gauge.most <= 3)
        #expect(gauge.most >= 2, "the elements ran side by side")
    }

    /// No cap (`Int.max`) starts every element at once, and no more than there are.
    @Test func anUnboundedLimitStartsEachElementOnce() async {
        let gauge = Gauge()
        let values = await BoundedConcurrency.map(["a", "b", "c"], limit: .max) { element -> String in
            gauge.enter()
            gauge.leave()
            return element.uppercased()
        }
        #expect(values == ["A", "B", "C"])
        #expect(gauge.startedSoFar == 3)
    }

    @Test func onceStartsMoreSaysNoNothingElseStarts() async {
        let gauge = Gauge()
        let values = await BoundedConcurrency.map(Array(0..<10), limit: 2, startsMore: { gauge.startedSoFar < 4 }) { element -> Int in
            gauge.enter()
            gauge.leave()
            return element
        }
        #expect(gauge.startedSoFar == 4)
        #expect(values.compactMap { $0 } == [0, 1, 2, 3])
        #expect(values.count == 10)
    }
}
