import Commands
import Foundation
import Inventory
import Plan
import Engine
import Testing
import TestSupport

@Suite("Executor: Ctrl-C, lock refresh, rollback target")
struct ExecutorStopTests {
    @Test func aStopDuringAHealthGatePutsTheHostBackStartsNoOtherAndReleasesLocks() async throws {
        let slowGate = [Fixtures.host("h1", healthyAfter: 3, timeout: .seconds(5)), Fixtures.host("h2")]
        let fleet = FakeFleet(service: Fixtures.service(hosts: slowGate))
        fleet.unhealthy(on: "h1", at: newSHA)
        let stop = StopSignal()
        let events = EventLog()
        events.onEvent = { event in
            if case .healthProbe(let probe) = event.payload, event.host == "h1", probe.phase == .rollout, probe.attempt == 3 {
                stop.request()
            }
        }
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let report = await Executor(factory: fleet.scripted, sink: events, stop: stop, options: Fixtures.options()).run(plan)
        let outcome = try #require(report.services.first)

        // Probing every 10 ms for 5 s would make hundreds of attempts: the gate stopped at the request instead.
        #expect(events.rolloutProbes("h1").count <= 4, "the gate stopped waiting instead of running to its timeout")
        #expect(outcome.result == .rolledBack)
        #expect(outcome.hosts.map(\.result) == [.rolledBack, .notStarted])
        #expect(fleet.head("h1") == oldSHA)
        #expect(fleet.checkouts(on: "h2").isEmpty)
        #expect(fleet.lockHolder("h1") == nil && fleet.lockHolder("h2") == nil)
    }

    @Test func aStopPutsBackHostsAlreadyUpdatedSoNoServiceIsLeftHalfDone() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2", "h3")))
        let stop = StopSignal()
        let events = EventLog()
        events.onHostSucceeded = { host in if host == "h1" { stop.request() } }
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"], ["h3"]])
        let report = await Executor(factory: fleet.scripted, sink: events, stop: stop, options: Fixtures.options()).run(plan)
        let outcome = try #require(report.services.first)

        #expect(outcome.result == .rolledBack)
        #expect(outcome.error == .stoppedByOperator(service: "app"))
        #expect(outcome.hosts.map(\.result) == [.rolledBack, .notStarted, .notStarted])
        #expect(fleet.head("h1") == oldSHA)
        #expect(fleet.lockHolder("h1") == nil)
    }

    @Test func cancellingTheTaskStopsAtOnceAndTheMonitorSaysWhereEachHostWasLeft() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: [Fixtures.host("h1", timeout: .seconds(30)), Fixtures.host("h2")]))
        fleet.unhealthy(on: "h1", at: newSHA)
        let monitor = RolloutMonitor()
        let events = EventLog()
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let executor = Executor(factory: fleet.scripted, sink: events, monitor: monitor, options: Fixtures.options())
        let task = Task { await executor.run(plan) }
        events.onEvent = { event in
            if case .healthProbe(let probe) = event.payload, probe.attempt == 2 { task.cancel() }
        }
        let report = await task.value
        let outcome = try #require(report.services.first)

        // A 30 s gate probing every 10 ms: a handful of attempts means cancelling stopped it at once.
        #expect(events.rolloutProbes("h1").count <= 3)
        #expect(outcome.aborted)
        #expect(outcome.result == .rollbackFailed)
        let states = monitor.snapshot().map(\.state)
        #expect(states == [.changing(previous: oldCommit, target: newCommit), .untouched(revision: oldCommit)])
        // The summary agrees with the monitor: the changed host is `interrupted`, not `not_started`.
        #expect(outcome.hosts.map(\.result) == [.interrupted, .notStarted])
        #expect(outcome.hosts[0].from == oldCommit && outcome.hosts[0].to == newCommit && outcome.hosts[0].revision == nil)
        #expect(outcome.hosts[0].reason?.hasPrefix("stopped at once by a second Ctrl-C") == true)
        #expect(outcome.error?.description.contains("h1 is not known to be healthy") == true)
        // Stopped at once: not even an unlock is sent; the locks stay for a person to release once the hosts are checked.
        #expect(fleet.lockHolder("h1") != nil && fleet.lockHolder("h2") != nil)
        #expect(outcome.locksLeft == ["h1", "h2"])
        #expect(fleet.scripted.commands(on: "h1").allSatisfy { !$0.contains("mv -T lock .lock-gone") })
    }

    @Test func cancellingDuringAPutBackStartsNoFurtherStepAndTheSummarySaysHowFarItGot() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: [Fixtures.host("h1", timeout: .milliseconds(300)), Fixtures.host("h2")]))
        fleet.unhealthy(on: "h1", at: newSHA)
        let monitor = RolloutMonitor()
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let executor = Executor(factory: fleet.scripted, sink: EventLog(), monitor: monitor, options: Fixtures.options())
        let task = Task { await executor.run(plan) }
        // The second Ctrl-C comes while the put back's checkout runs; the checkout itself finishes on the host.
        fleet.scripted.on("checkout --quiet --detach \(oldSHA)", host: "h1") { host, command in
            task.cancel()
            fleet.setHead(host, oldSHA)
            return CommandResult(exitStatus: 0)
        }
        let outcome = try #require(await task.value.services.first)

        let commands = fleet.scripted.commands(on: "h1")
        let putBackCheckout = try #require(commands.lastIndex { $0.contains("checkout --quiet --detach \(oldSHA)") })
        #expect(commands.count == putBackCheckout + 1, "commands after the put back's checkout: \(commands[(putBackCheckout + 1)...])")
        #expect(monitor.snapshot().first?.state == .puttingBack(previous: oldCommit, target: newCommit, done: [.checkout]))
        #expect(outcome.hosts[0].result == .interrupted)
        // What it last saw: the checkout finished, so the host is on the previous revision; its health is not known.
        #expect(outcome.hosts[0].revision == oldCommit)
        #expect(outcome.hosts[0].reason?.contains("stopped after checkout: checked out \(oldSHA.prefix(12)), health unknown") == true,
                "\(outcome.hosts[0].reason ?? "")")
        #expect(outcome.result == .rollbackFailed)
    }

    @Test func theLockIsRefreshedWhileTheRolloutWorks() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: [Fixtures.host("h1", healthyAfter: 30, timeout: .seconds(30))]))
        let outcome = try await ExecutorTests().run(fleet, batches: [["h1"]], options: Fixtures.options(refresh: .milliseconds(50)))

        #expect(outcome.result == .succeeded)
        #expect(fleet.commands(on: "h1", containing: "lock/.owner.json.new").count >= 2)
    }

    @Test func theLockIsRefreshedWhileALongCommandRuns() async throws {
        // A connection serves one command at a time; a compose build that outlasts the lock's lifetime
        // must not hold back the refreshes, or other operators see a live lock as stale.
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1")))
        // The compose command runs until three refreshes have arrived while it runs (at most 20 s): a loaded
        // machine only makes it wait longer, and refreshes held back behind it would make it wait out the 20 s.
        fleet.scripted.on(" up -d", host: "h1") { [fleet] _, _ in
            let clock = ContinuousClock()
            let giveUp = clock.now + .seconds(20)
            while clock.now < giveUp {
                let commands = fleet.scripted.commands(on: "h1")
                let composeAt = commands.lastIndex { $0.contains(" up -d") } ?? commands.endIndex
                if commands[composeAt...].filter({ $0.contains("lock/.owner.json.new") }).count >= 3 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            return CommandResult(exitStatus: 0)
        }
        let outcome = try await ExecutorTests().run(fleet, batches: [["h1"]], options: Fixtures.options(refresh: .milliseconds(50)))

        #expect(outcome.result == .succeeded)
        let commands = fleet.scripted.commands(on: "h1")
        let composeAt = try #require(commands.firstIndex { $0.contains(" up -d") })
        let duringCompose = commands[(composeAt + 1)...].prefix { $0.contains("lock/.owner.json.new") }
        #expect(duringCompose.count >= 3, "refreshes while compose ran: \(duringCompose.count)")
    }

    @Test func rollbackWithoutATargetGoesToTheRevisionBeforeTheLastSuccessfulDeploy() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")), head: newSHA, resolvesTo: [oldSHA])
        let record = { (host: String, from: String, to: String, result: String, at: String) in
            HistoryRecord(id: "x", service: "app", host: host, action: "deploy", from: from, to: to, result: result,
                          startedAt: at, finishedAt: at, operator: "bob")
        }
        fleet.addHistory("h1", record("h1", movedSHA, oldSHA, "succeeded", "2026-01-01T09:00:00Z"))
        fleet.addHistory("h1", record("h1", oldSHA, newSHA, "succeeded", "2026-01-01T10:00:00Z"))
        fleet.addHistory("h2", record("h2", newSHA, newSHA, "no_change", "2026-01-01T11:00:00Z"))
        let outcome = try await ExecutorTests().run(fleet, batches: [["h1"], ["h2"]], action: .rollback, ref: nil)

        #expect(outcome.result == .succeeded)
        #expect(outcome.ref == oldSHA)
        #expect(fleet.head("h1") == oldSHA && fleet.head("h2") == oldSHA)
        #expect(fleet.commands(on: "h1", containing: "cat-file commit \(oldSHA)").count == 1)
        let last = try #require(fleet.history("h2").last)
        #expect(last.action == "rollback" && last.from == newSHA && last.to == oldSHA && last.result == "succeeded")
    }

    @Test func rollbackWithNoSuccessfulDeployInHistoryChangesNothing() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1")))
        let outcome = try await ExecutorTests().run(fleet, batches: [["h1"]], action: .rollback, ref: nil)

        #expect(outcome.error == .noPreviousRevision(service: "app"))
        #expect(fleet.checkouts(on: "h1").isEmpty)
        #expect(fleet.lockHolder("h1") == nil)
    }
}
