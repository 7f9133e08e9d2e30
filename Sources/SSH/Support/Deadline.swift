/// A point on the monotonic clock by which an operation must be done.
struct Deadline: Sendable {
    let start: ContinuousClock.Instant
    let end: ContinuousClock.Instant

    init(after duration: Duration) {
        start = .now
        end = start + duration
    }

    var hasPassed: Bool { ContinuousClock.now >= end }

    /// This deadline, or `limit` from now if that comes first: a wait that must look up again soon.
    func capped(at limit: Duration) -> Deadline {
        Deadline(start: start, end: min(end, ContinuousClock.now + limit))
    }

    private init(start: ContinuousClock.Instant, end: ContinuousClock.Instant) {
        self.start = start
        self.end = end
    }

    var elapsed: Duration { ContinuousClock.now - start }

    /// Milliseconds left, for `poll`, never negative and rounded up so a wait does not end just early.
    var pollMilliseconds: Int32 {
        let left = end - ContinuousClock.now
        if left <= .zero { return 0 }
        let ms = left.components.seconds * 1000 + (left.components.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}

extension Duration {
    var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
