import Commands
import Foundation
import Inventory
import Plan
import Testing
@testable import Engine

/// The watch after the last batch and the capacity floor, on the scripted fleet.
@Suite("executor: watch and capacity")
struct ExecutorWatchTests {

    func service(watch: Duration, hosts: [String], tier: String = "99.9") -> Service {
        var policy = TierPolicy.builtIn[tier]!
        policy.watch = watch
        return Fixtures.service(hosts: hosts.map { Fixtures.host($0) }, tier: tier, policy: policy)
    }

    @Test("a host that turns unhealthy during the watch puts every changed host back, newest first, one at a time")
    func watchFailurePutsBack() async throws {
        let fleet = FakeFleet(service: service(watch: .seconds(5), hosts: ["h1", "h2", "h3"]))
        let events = EventLog()
        events.onEvent = { event in
            // The release goes bad on h1 once the watch has begun.
            if case .step(let step) = event.payload, step.step == .watch, event.host == nil { fleet.unhealthy(on: "h1", at: newSHA) }
        }
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"], ["h3"]])
        let outcome = try #require(await Executor(factory: fleet.scripted, sink: events, options: Fixtures.options()).run(plan).services.first)
        #expect(outcome.result == .rolledBack)
        #expect(outcome.hosts.map(\.result) == [.rolledBack, .rolledBack, .rolledBack])
        #expect(outcome.hosts[0].failedStep == StepName(.watch))
        #expect(outcome.error == .hostFailed(service: "app", host: "h1", step: StepName(.watch), reason: outcome.hosts[0].reason ?? ""))
        for host in ["h1", "h2", "h3"] { #expect(fleet.head(host) == oldSHA) }
        // Newest first, each put back finished before the next began (all but 1 of 3 may leave rotation: 1 at a time).
        let putBacks = events.all.compactMap { event -> String? in
            guard case .step(let step) = event.payload, step.phase == .putBack, step.step == .checkout else { return nil }
            return event.host
        }
        #expect(putBacks == ["h3", "h2", "h1"])
        func index(_ host: String, _ kind: StepKind) -> Int? {
            events.all.firstIndex { event in
                guard case .step(let step) = event.payload else { return false }
                return event.host == host && step.phase == .putBack && step.step == kind
            }
        }
        let h3Done = try #require(index("h3", .healthGate)), h2Start = try #require(index("h2", .checkout))
        let h2Done = try #require(index("h2", .healthGate)), h1Start = try #require(index("h1", .checkout))
        #expect(h3Done < h2Start && h2Done < h1Start, "one put back at a time")
    }

    @Test("a watch that sees only healthy answers ends the rollout as it was, after the watch")
    func watchPasses() async throws {
        let fleet = FakeFleet(service: service(watch: .milliseconds(200), hosts: ["h1", "h2"]))
        let events = EventLog()
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let outcome = try #require(await Executor(factory: fleet.scripted, sink: events, options: Fixtures.options()).run(plan).services.first)
        #expect(outcome.result == .succeeded && !outcome.watchCutShort)
        #expect(events.steps("h1").contains { $0.step == .watch && $0.status == .ok })
        #expect(events.steps("h2").contains { $0.step == .watch && $0.status == .ok })
    }

    @Test("a stop during the watch ends it and keeps the new revision")
    func stopDuringWatch() async throws {
        let fleet = FakeFleet(service: service(watch: .seconds(30), hosts: ["h1", "h2"]))
        let events = EventLog()
        let stop = StopSignal()
        events.onEvent = { event in
            if case .step(let step) = event.payload, step.step == .watch, event.host == nil, step.detail?.hasPrefix("watching") == true {
                stop.request()
            }
        }
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let outcome = try #require(await Executor(factory: fleet.scripted, sink: events, stop: stop, options: Fixtures.options()).run(plan).services.first)
        #expect(outcome.result == .succeeded && outcome.watchCutShort)
        for host in ["h1", "h2"] { #expect(fleet.head(host) == newSHA) }
    }

    @Test("below the floor before the first batch: nothing changes and the error says why; --allow-below-capacity goes on")
    func belowCapacityStops() async throws {
        let fleet = FakeFleet(service: service(watch: .zero, hosts: ["h1", "h2"]))
        fleet.unhealthy(on: "h2", at: oldSHA)
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let outcome = try #require(await Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options()).run(plan).services.first)
        #expect(outcome.result == .stopped)
        #expect(outcome.error == .belowCapacity(BelowCapacity(service: "app", healthy: ["h1"], total: 2, required: 1, floor: .allBut(1),
                                                              blocked: ["h1"], changed: [])))
        #expect(fleet.head("h1") == oldSHA && fleet.head("h2") == oldSHA)
        var options = Fixtures.options()
        options.allowBelowCapacity = true
        let forced = try #require(await Executor(factory: fleet.scripted, sink: EventLog(), options: options).run(plan).services.first)
        #expect(forced.result == .succeeded)
    }
}
