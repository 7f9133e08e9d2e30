import Foundation
import Inventory
import Plan
import Engine
import Testing

/// SPEC "Waiting, saved plans, maintenance, prune": `--lock-wait`, over scripted hosts.
@Suite("Waiting for a lock: all or nothing, bounded, the holder named once")
struct LockWaitTests {
    private final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [String?] = []
        func add(_ value: String?) { lock.withLock { values.append(value) } }
        var all: [String?] { lock.withLock { values } }
    }

    private func options(wait: Duration) -> ExecutorOptions {
        var options = Fixtures.options(refresh: .milliseconds(50))
        options.lockWait = wait
        options.lockWaitLongestPause = .milliseconds(300)
        return options
    }

    @Test func aHeldLockIsWaitedForWithNoLockHeldMeanwhileThenTheRolloutRuns() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        fleet.holdLock("h2")
        let events = EventLog()
        // h1's lock while the rollout waits, seen at each wait; the holder lets go at the third.
        let h1WhileWaiting = Seen()
        events.onEvent = { event in
            guard case .lockWait = event.payload else { return }
            h1WhileWaiting.add(fleet.lockHolder("h1"))
            if h1WhileWaiting.all.count == 3 { fleet.removeLock("h2") }
        }
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let report = await Executor(factory: fleet.scripted, sink: events, options: options(wait: .seconds(30))).run(plan)
        let outcome = try #require(report.services.first)

        #expect(outcome.result == .succeeded, "\(String(describing: outcome.error))")
        #expect(h1WhileWaiting.all.count == 3)
        #expect(h1WhileWaiting.all.allSatisfy { $0 == nil }, "a waiting rollout holds no lock")
        let waits = events.all.compactMap { event -> LockWaitReport? in
            if case .lockWait(let wait) = event.payload { return wait } else { return nil }
        }
        #expect(waits.map(\.first) == [true, false, false], "the holder is named once")
        #expect(waits.first?.holder.contains("alice on laptop (pid 42)") == true)
        #expect(waits.allSatisfy { $0.left > .zero && $0.left <= .seconds(30) })
        // No failed lock step while waiting.
        #expect(!events.all.contains { if case .step(let step) = $0.payload { step.step == .lock && step.status == .failed } else { false } })
        #expect(fleet.lockHolder("h1") == nil && fleet.lockHolder("h2") == nil)
    }

    @Test func aLockStillHeldWhenTheWaitEndsExitsAsHeldAndChangesNothing() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        fleet.holdLock("h2")
        let events = EventLog()
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let clock = ContinuousClock()
        let start = clock.now
        // Long enough that the first try ends well within it, even on a machine busy with other tests.
        let report = await Executor(factory: fleet.scripted, sink: events, options: options(wait: .seconds(3))).run(plan)
        let outcome = try #require(report.services.first)

        #expect(clock.now - start >= .seconds(3), "it waited")
        #expect(outcome.error?.category == .lockHeld)
        #expect(outcome.result == .stopped)
        // (Whether a `lock_wait` event came depends on how long the first try took on a busy machine: not asserted.)
        let failed = events.all.compactMap { event -> String? in
            if case .step(let step) = event.payload, step.step == .lock, step.status == .failed { return step.detail } else { return nil }
        }
        #expect(failed.count == 1 && failed[0].contains("waited"), "\(failed)")
        #expect(fleet.lockHolder("h1") == nil)
        #expect(fleet.checkouts(on: "h1").isEmpty && fleet.checkouts(on: "h2").isEmpty)
    }

    /// A stale lock will not go away by itself: waiting would only delay the same answer.
    @Test func aStaleLockIsNotWaitedFor() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1")))
        fleet.holdLock("h1", expires: Date().addingTimeInterval(-60))
        let events = EventLog()
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"]])
        let report = await Executor(factory: fleet.scripted, sink: events, options: options(wait: .seconds(30))).run(plan)
        let outcome = try #require(report.services.first)

        #expect(outcome.error?.category == .lockHeld)
        #expect(!events.all.contains { if case .lockWait = $0.payload { true } else { false } })
    }
}
