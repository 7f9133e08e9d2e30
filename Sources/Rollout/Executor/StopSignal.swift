import Foundation

/// The operator's request to stop (Ctrl-C, SIGTERM), shared by every task of a rollout.
/// The first request stops new hosts from starting and puts hosts in flight back; the second one
/// makes the caller cancel the rollout's task at once.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var requests = 0

    public init() {}

    /// Records one request and returns how many there have been.
    @discardableResult
    public func request() -> Int {
        lock.lock()
        defer { lock.unlock() }
        requests += 1
        return requests
    }

    public var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return requests > 0
    }

    /// Sleeps for `duration`, waking early when a stop is requested. Returns false if woken by a stop.
    /// Throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration, interruptible: Bool) async throws -> Bool {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: duration)
        // Polling in short slices keeps this free of continuations and bounded by `duration`.
        let slice = Duration.milliseconds(50)
        while clock.now < end {
            if interruptible && isRequested { return false }
            let left = clock.now.duration(to: end)
            try await Task.sleep(for: left < slice ? left : slice)
        }
        return !(interruptible && isRequested)
    }
}
