import Foundation
import Inventory

/// The service lock on every targeted host: taken in host-name order before anything changes (so two
/// rollouts can neither deadlock nor interleave), kept fresh while the rollout works, released at the end.
struct LockSet {
    /// Sessions in host-name order.
    let sessions: [HostSession]
    let owner: LockOwner
    let options: ExecutorOptions

    /// Takes every lock in order. If one is held (or cannot be taken), releases those already taken and
    /// throws, having changed nothing.
    func acquire() async throws -> [HostSession] {
        var taken: [HostSession] = []
        for session in sessions {
            let refusal: Error?
            do {
                refusal = try await take(session)
            } catch {
                _ = await release(taken)
                throw error
            }
            if let refusal {
                _ = await release(taken)
                throw refusal
            }
            taken.append(session)
        }
        return taken
    }

    /// Takes one host's lock; returns why it could not be taken, nil when taken.
    private func take(_ session: HostSession) async throws -> Error? {
        let clock = ContinuousClock()
        let start = clock.now
        let result: CommandResult
        do {
            result = try await session.runQuietly(try session.plan.required(.lock), [.lockOwner: owner.jsonLine],
                                                  timeout: options.bookkeepingTimeout)
        } catch let error as TransportError {
            session.report("lock", .rollout, .failed, start.duration(to: clock.now), error.description)
            return RolloutError.stepFailed(service: session.service, host: session.host.name, step: "lock", reason: error.description)
        } catch let failure as StepFailure {
            session.report("lock", .rollout, .failed, start.duration(to: clock.now), failure.reason)
            return RolloutError.stepFailed(service: session.service, host: session.host.name, step: "lock", reason: failure.reason)
        }
        if result.succeeded {
            session.report("lock", .rollout, .ok, start.duration(to: clock.now), "taken until \(owner.expires)")
            return nil
        }
        if result.exitStatus == 3 {
            let holder = try? JSONDecoder().decode(LockOwner.self, from: Data(result.stdout.utf8))
            let stale = holder.flatMap { Timestamp.date($0.expires) }.map { $0 < Date() } ?? false
            session.report("lock", .rollout, .failed, start.duration(to: clock.now),
                           "held by \(holder.map { "\($0.operator)@\($0.machine)" } ?? "an unknown holder")\(stale ? " (stale)" : "")")
            return RolloutError.lockHeld(service: session.service, host: session.host.name, holder: holder, stale: stale)
        }
        let reason = HostSession.reason(of: result)
        session.report("lock", .rollout, .failed, start.duration(to: clock.now), reason)
        return RolloutError.stepFailed(service: session.service, host: session.host.name, step: "lock", reason: reason)
    }

    /// Releases the given locks (only if they still carry this rollout's token). Returns the hosts whose
    /// lock could not be released. Runs in its own task so that it is attempted even after cancellation.
    func release(_ taken: [HostSession]) async -> [String] {
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
                                session.report("unlock", .rollout, .ok, start.duration(to: clock.now), nil)
                                return nil
                            }
                            session.report("unlock", .rollout, .failed, start.duration(to: clock.now), HostSession.reason(of: result))
                        } catch {
                            session.report("unlock", .rollout, .failed, start.duration(to: clock.now), String(describing: error))
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

    /// Pushes `expires` forward every refresh interval until cancelled.
    func startRefreshing(_ taken: [HostSession]) -> Task<Void, Never> {
        let options = options
        var owner = owner
        return Task {
            while !Task.isCancelled {
                do { try await Task.sleep(for: options.lockRefreshInterval) } catch { return }
                owner.expires = Timestamp.string(Date().addingTimeInterval(options.lockLifetime.seconds))
                let fresh = owner
                await withTaskGroup(of: Void.self) { group in
                    for session in taken {
                        group.addTask {
                            let clock = ContinuousClock()
                            let start = clock.now
                            do {
                                let result = try await session.runQuietly(session.plan.lockRefresh,
                                                                          [.lockToken: fresh.token, .lockOwner: fresh.jsonLine],
                                                                          timeout: options.bookkeepingTimeout)
                                if !result.succeeded {
                                    session.report("lock_refresh", .rollout, .failed, start.duration(to: clock.now), HostSession.reason(of: result))
                                }
                            } catch {
                                if !Task.isCancelled {
                                    session.report("lock_refresh", .rollout, .failed, start.duration(to: clock.now), String(describing: error))
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func owner(options: ExecutorOptions, target: String, token: String) -> LockOwner {
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
