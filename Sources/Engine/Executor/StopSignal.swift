import Foundation
import Synchronization

/// The operator's request to stop (Ctrl-C, SIGTERM), shared by every task of a rollout, and per service
/// the loss of its lock lease.
///
/// The first request stops new hosts from starting and puts hosts in flight back; the second one makes
/// the caller cancel the rollout's task at once. A lost lease stops the service at once without putting
/// anything back: another rollout may own its hosts now.
public final class StopSignal: Sendable {
    private struct State {
        var requests = 0
        var lostLease: String?
    }
    private let state = Mutex(State())
    /// The run's signal, for a service's own: an operator's stop reaches every service.
    private let parent: StopSignal?

    public init() { parent = nil }

    init(parent: StopSignal) { self.parent = parent }

    /// Records one request and returns how many there have been.
    @discardableResult
    public func request() -> Int {
        state.withLock { state in
            state.requests += 1
            return state.requests
        }
    }

    /// An operator asked to stop, or the lease was lost.
    public var isRequested: Bool {
        state.withLock { $0.requests > 0 || $0.lostLease != nil } || (parent?.isRequested ?? false)
    }

    /// Why the service's lease was lost, once it was.
    var leaseLost: String? { state.withLock { $0.lostLease } }

    /// Records the loss of the lease (the first reason is kept).
    func loseLease(_ reason: String) {
        state.withLock { if $0.lostLease == nil { $0.lostLease = reason } }
    }

    /// Sleeps for `duration`, waking early when a stop is requested (only if `interruptible`) or the lease
    /// is lost (always). Returns false if woken early. Throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration, interruptible: Bool) async throws -> Bool {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: duration)
        // Polling in short slices keeps this free of continuations and bounded by `duration`.
        let slice = Duration.milliseconds(50)
        while clock.now < end {
            if shouldStop(interruptible: interruptible) { return false }
            let left = clock.now.duration(to: end)
            try await Task.sleep(for: left < slice ? left : slice)
        }
        return !shouldStop(interruptible: interruptible)
    }

    /// Whether waiting must end now: the lease was lost (always), or a stop was requested (only where the
    /// wait is `interruptible`, i.e. not while putting a host back).
    func shouldStop(interruptible: Bool) -> Bool {
        leaseLost != nil || (interruptible && isRequested)
    }
}
