import Commands
import Foundation
import Inventory
import Plan
import Synchronization

/// The service lock on every targeted host: taken in host-name order before anything changes (so two
/// rollouts can neither deadlock nor interleave), kept fresh while the rollout works, released at the end.
package struct LockSet {
    /// Sessions in host-name order.
    let sessions: [HostSession]
    let owner: LockOwner
    let options: ExecutorOptions

    /// Takes every lock in order. If one is held (or cannot be taken), releases those already taken and
    /// throws, having changed nothing. With `options.lockWait`, a lock another live rollout holds is waited
    /// for: every lock taken is released first (all or nothing: a waiting rollout holds none), then all are
    /// tried again after a pause that grows to `lockWaitLongestPause`, until the wait is over or `stop` is asked.
    /// A stale lock is not waited for (nobody will release it): it fails at once, naming how to remove it.
    func acquire(stop: StopSignal? = nil) async throws -> [HostSession] {
        let clock = ContinuousClock()
        let start = clock.now
        var pause: Duration = .seconds(1)
        var announced: Set<String> = []
        while true {
            do {
                return try await acquireOnce(quietWhenHeld: options.lockWait > .zero)
            } catch let held as HeldLock {
                let waited = clock.now - start
                let left = options.lockWait - waited
                let holder = held.holder?.description ?? "a holder whose owner.json is missing"
                if stop?.isRequested == true { throw RolloutError.stoppedByOperator(service: held.session.service) }
                guard left > .zero else {
                    held.session.report(.lock, .rollout, .failed, .zero,
                                        "held by \(holder); waited \(formatDuration(.seconds(Int64(waited.seconds.rounded()))))")
                    throw held.error
                }
                held.session.emit(.lockWait(LockWaitReport(holder: holder, first: !announced.contains(holder),
                                                           waited: waited, left: left)))
                announced.insert(holder)
                // In short slices, so a Ctrl-C ends the wait at once.
                let until = clock.now + min(pause, left)
                while clock.now < until, stop?.isRequested != true {
                    try await Task.sleep(for: min(.milliseconds(200), until - clock.now))
                }
                pause = min(pause * 3 / 2, options.lockWaitLongestPause)
            }
        }
    }

    /// A live holder's lock, while this rollout may still wait for it.
    private struct HeldLock: Error {
        var session: HostSession
        var holder: LockHolder?
        var error: Error
    }

    /// One try at every lock. With `quietWhenHeld` (waiting is allowed), a live holder's lock is thrown as `HeldLock`;
    /// the locks this try took are then given back without a word, and the ones taken are reported only once all are.
    private func acquireOnce(quietWhenHeld: Bool) async throws -> [HostSession] {
        var taken: [HostSession] = []
        var reports: [(HostSession, Duration)] = []
        for session in sessions {
            let refusal: Refusal?
            do {
                refusal = try await take(session, quietWhenHeld: quietWhenHeld, reportTaken: !quietWhenHeld) { reports.append((session, $0)) }
            } catch {
                _ = await release(taken)
                throw error
            }
            if let refusal {
                // A lock command that timed out or lost its connection may have taken the lock all the same:
                // release it too (unlock acts only while this rollout's token holds it).
                let back = refusal.mayHaveTaken ? taken + [session] : taken
                if refusal.waitable {
                    _ = await release(back, quietly: true)
                    throw HeldLock(session: session, holder: refusal.holder, error: refusal.error)
                }
                for (session, elapsed) in reports { reportTaken(session, elapsed) }
                _ = await release(back)
                throw refusal.error
            }
            taken.append(session)
        }
        for (session, elapsed) in reports { reportTaken(session, elapsed) }
        return taken
    }

    private func reportTaken(_ session: HostSession, _ elapsed: Duration) {
        session.report(.lock, .rollout, .ok, elapsed, "taken until \(owner.expires)")
    }

    /// Why a lock was not taken, and whether the command may have taken it before it failed.
    private struct Refusal {
        var error: Error
        var mayHaveTaken = false
        /// Held by a live rollout, and this one may still wait for it.
        var waitable = false
        var holder: LockHolder?
    }

    /// Takes one host's lock; returns why it could not be taken, nil when taken.
    /// `reportTaken` false: a lock taken is handed to `taken` (with its time) instead of reported now.
    private func take(_ session: HostSession, quietWhenHeld: Bool, reportTaken report: Bool,
                      taken: (Duration) -> Void) async throws -> Refusal? {
        let clock = ContinuousClock()
        let start = clock.now
        let result: CommandResult
        do {
            result = try await session.runQuietly(try session.plan.required(.lock), [.lockOwner: owner.jsonLine],
                                                  timeout: options.bookkeepingTimeout)
        } catch let error as TransportError {
            session.report(.lock, .rollout, .failed, start.duration(to: clock.now), error.description)
            let ambiguous: Bool
            switch error {
            case .timedOut, .lost: ambiguous = true
            case .connectFailed, .connectionRefused: ambiguous = false
            }
            return Refusal(error: RolloutError.stepFailed(service: session.service, host: session.host.name, step: StepName(.lock),
                                                          reason: error.description), mayHaveTaken: ambiguous)
        } catch let failure as StepFailure {
            session.report(.lock, .rollout, .failed, start.duration(to: clock.now), failure.reason)
            return Refusal(error: RolloutError.stepFailed(service: session.service, host: session.host.name, step: StepName(.lock), reason: failure.reason))
        }
        if result.succeeded {
            if report { reportTaken(session, start.duration(to: clock.now)) } else { taken(start.duration(to: clock.now)) }
            return nil
        }
        if result.exitStatus == HostCommands.lockHeldStatus {
            let holder = LockHolder.parse(result.stdout)
            let stale = holder?.staleness(localMachine: options.machine)
            let error = RolloutError.lockHeld(service: session.service, host: session.host.name, holder: holder, stale: stale)
            // Waiting, a live holder is told by the `lock_wait` event instead of a failed step at every try.
            if quietWhenHeld, stale == nil { return Refusal(error: error, waitable: true, holder: holder) }
            session.report(.lock, .rollout, .failed, start.duration(to: clock.now),
                           "held by \(holder?.description ?? "a holder whose owner.json is missing")\(stale == nil ? "" : " (stale)")")
            return Refusal(error: error)
        }
        let reason = HostSession.reason(of: result)
        session.report(.lock, .rollout, .failed, start.duration(to: clock.now), reason)
        return Refusal(error: RolloutError.stepFailed(service: session.service, host: session.host.name, step: StepName(.lock), reason: reason))
    }

    /// Releases the given locks (only if they still carry this rollout's token). Returns the hosts whose
    /// lock could not be released. Runs in its own task so that a task cancelled meanwhile does not cut an unlock
    /// short; a task already cancelled (stopped at once) sends none.
    func release(_ taken: [HostSession], quietly: Bool = false) async -> [String] {
        // Stopped at once (a second Ctrl-C): no new remote command, not even an unlock. The locks stay until a
        // person has looked at the hosts; their holder (this process, gone by then) makes them stale at once here.
        if Task.isCancelled { return taken.map(\.host.name).sorted() }
        let token = owner.token
        let timeout = options.bookkeepingTimeout
        let work = Task<[String], Never> {
            await withTaskGroup(of: String?.self) { group in
                for session in taken {
                    group.addTask {
                        let clock = ContinuousClock()
                        let start = clock.now
                        do {
                            let result = try await session.runQuietly(try session.plan.required(.unlock), [.lockToken: token],
                                                                      timeout: timeout)
                            if result.succeeded {
                                if !quietly { session.report(.unlock, .rollout, .ok, start.duration(to: clock.now), nil) }
                                return nil
                            }
                            session.report(.unlock, .rollout, .failed, start.duration(to: clock.now), HostSession.reason(of: result))
                        } catch {
                            session.report(.unlock, .rollout, .failed, start.duration(to: clock.now), String(describing: error))
                        }
                        return session.host.name
                    }
                }
                var left: [String] = []
                for await name in group { if let name { left.append(name) } }
                return left.sorted()
            }
        }
        return await work.value
    }

    /// Pushes `expires` forward every refresh interval until cancelled. The lease is lost (recorded in
    /// `lease`, which stops the service at once) when a refresh finds the lock gone or held under another
    /// token, or when refreshes keep failing so long that the next one could come after `expires`.
    func startRefreshing(_ taken: [HostSession], lease: Lease) -> Task<Void, Never> {
        let options = options
        var owner = owner
        return Task {
            // Per host: until when the lock it holds is known to be ours (at first, the expiry it was taken with).
            let initial = Timestamp.date(owner.expires) ?? Date()
            var heldUntil = Dictionary(uniqueKeysWithValues: taken.map { ($0.host.name, initial) })
            while !Task.isCancelled {
                do { try await Task.sleep(for: options.lockRefreshInterval) } catch { return }
                let expires = Date().addingTimeInterval(options.lockLifetime.seconds)
                owner.expires = Timestamp.string(expires)
                let fresh = owner
                let results = await withTaskGroup(of: (String, RefreshResult).self) { group in
                    for session in taken where !lease.isLost(session.host.name) {
                        group.addTask { (session.host.name, await Self.refresh(session, fresh, options: options)) }
                    }
                    return await group.reduce(into: [(String, RefreshResult)]()) { $0.append($1) }
                }
                if Task.isCancelled { return }
                for (host, result) in results.sorted(by: { $0.0 < $1.0 }) {
                    switch result {
                    case .refreshed:
                        heldUntil[host] = expires
                    case .taken(let holder):
                        lease.lose(host, "the lock on \(host) was removed or taken over (now \(holder)); someone ran "
                            + "`lock release --force` or removed it by hand", takenOver: true)
                    case .failed(let reason):
                        // Stop before the lock could expire unseen: the next try would come too late.
                        let nextTryEnds = Date().addingTimeInterval(options.lockRefreshInterval.seconds + options.bookkeepingTimeout.seconds)
                        if let until = heldUntil[host], nextTryEnds >= until {
                            lease.lose(host, "the lock on \(host) could not be refreshed (\(reason)) and would expire at "
                                + "\(Timestamp.string(until)) before the next try", takenOver: false)
                        }
                    }
                }
            }
        }
    }

    private enum RefreshResult: Sendable {
        case refreshed
        /// The lock is gone or carries another token: its holder now, in words.
        case taken(String)
        case failed(String)
    }

    private static func refresh(_ session: HostSession, _ owner: LockOwner, options: ExecutorOptions) async -> RefreshResult {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let result = try await session.runQuietly(session.plan.lockRefresh, [.lockToken: owner.token, .lockOwner: owner.jsonLine],
                                                      timeout: options.bookkeepingTimeout)
            if result.succeeded { return .refreshed }
            let reason = HostSession.reason(of: result)
            session.report(.lockRefresh, .rollout, .failed, start.duration(to: clock.now), reason)
            if result.exitStatus == HostCommands.lockHeldStatus {
                return .taken(LockHolder.parse(result.stdout).map(\.description) ?? "no lock at all")
            }
            return .failed(reason)
        } catch {
            if Task.isCancelled { return .refreshed }
            session.report(.lockRefresh, .rollout, .failed, start.duration(to: clock.now), String(describing: error))
            return .failed(String(describing: error))
        }
    }

    package static func owner(options: ExecutorOptions, target: String, token: String) -> LockOwner {
        let now = Date()
        return LockOwner(operator: options.operatorName, machine: options.machine, pid: options.pid,
                         started: Timestamp.string(now),
                         target: target,
                         expires: Timestamp.string(now.addingTimeInterval(options.lockLifetime.seconds)),
                         token: token)
    }
}

extension Duration {
    /// As a `TimeInterval`, for `Date` arithmetic.
    var seconds: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}

/// A service's hold on its locks: which hosts' locks it lost, and whether someone else took them over.
/// Losing one stops the service.
final class Lease: Sendable {
    /// Host → taken over (true) or only not refreshable (false).
    private let lost = Mutex<[String: Bool]>([:])
    private let stop: StopSignal

    init(stop: StopSignal) { self.stop = stop }

    func lose(_ host: String, _ reason: String, takenOver: Bool) {
        lost.withLock { $0[host] = ($0[host] ?? false) || takenOver }
        stop.loseLease(reason)
    }

    func isLost(_ host: String) -> Bool { lost.withLock { $0[host] != nil } }

    func isTakenOver(_ host: String) -> Bool { lost.withLock { $0[host] == true } }
}
