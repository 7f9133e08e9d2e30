import Commands
import Foundation
import Inventory
import Plan
import Engine
import Fleet
import Testing
import TestSupport

@Suite("Executor: several services, status, history and lock release")
struct ExecutorInspectorTests {
    @Test func servicesRunInParallelAndAStopKeepsTheRestFromStarting() async throws {
        let first = Fixtures.service("one", hosts: Fixtures.hosts("a1"))
        let second = Fixtures.service("two", hosts: Fixtures.hosts("b1"))
        let fleet = FakeFleet(service: Fixtures.service("one", hosts: Fixtures.hosts("a1", "b1")))
        let plan = Plan(services: try Fixtures.plan(first, batches: [["a1"]]).services + Fixtures.plan(second, batches: [["b1"]]).services)
        let stop = StopSignal()
        let events = EventLog()
        events.onHostSucceeded = { _ in stop.request() }
        var options = Fixtures.options()
        options.parallelServices = 1
        let report = await Executor(factory: fleet.scripted, sink: events, stop: stop, options: options).run(plan)

        #expect(report.services.map(\.service) == ["one", "two"])
        #expect(report.services[1].hosts.map(\.result) == [.notStarted])
        #expect(report.services[1].error == .stoppedByOperator(service: "two"))
        #expect(fleet.scripted.calls.filter { $0.host == "b1" }.isEmpty)
    }

    @Test func statusReportsRevisionComposeHealthAndLockPerHost() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        fleet.holdLock("h2", expires: Date().addingTimeInterval(-60))
        fleet.unhealthy(on: "h2", at: oldSHA)
        // What the engine says of the project's containers (`HostCommands.containerStates`), a warning line among them.
        fleet.scripted.on(" ps -aq --filter label=com.docker.compose.project=", reply: CommandResult(exitStatus: 0, stdout: """
            app_1|running|0|0|
            time="2026-01-01T10:00:00Z" level=warning msg="a warning the engine printed"
            app_2|exited|1|3|

            """))
        let service = fleet.service
        let rows = await FleetInspector(factory: fleet.scripted, options: Fixtures.options())
            .status(of: service.hosts.map { (service: service, host: $0) })

        #expect(rows.map(\.host) == ["h1", "h2"])
        #expect(rows.allSatisfy { $0.reachable && $0.revision == oldSHA && $0.containers == 2 && $0.containersUp == 1 })
        #expect(rows[0].containerStates?.last == ContainerState(name: "app_2", state: "exited", exitCode: 1, restarts: 3))
        #expect(rows[0].healthy && !rows[1].healthy && rows[1].healthStatus == 503)
        #expect(rows[0].lock == nil && rows[1].lock?.operator == "alice" && rows[1].lockStale != nil)
        // A read-only look: nothing but reads and probes ran.
        #expect(fleet.checkouts(on: "h1").isEmpty && fleet.lockHolder("h1") == nil)
    }

    @Test func anUnreachableHostIsAStatusRowNotAFailure() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1")))
        fleet.scripted.failConnect(host: "h1", with: [.connectFailed(host: "h1", reason: "host key changed")])
        let rows = await FleetInspector(factory: fleet.scripted, options: Fixtures.options())
            .status(of: fleet.service.hosts.map { (service: fleet.service, host: $0) })

        #expect(rows.count == 1 && !rows[0].reachable)
        #expect(rows[0].error?.contains("host key changed") == true)
    }

    @Test func historyIsMergedAcrossHostsNewestFirst() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        for (host, at) in [("h1", "2026-01-01T10:00:00Z"), ("h2", "2026-01-02T10:00:00Z"), ("h1", "2026-01-03T10:00:00Z")] {
            fleet.addHistory(host, HistoryRecord(id: at, service: "app", host: host, action: "deploy", from: oldSHA, to: newSHA,
                                                 result: "succeeded", startedAt: at, finishedAt: at, operator: "bob"))
        }
        let (records, problems) = await FleetInspector(factory: fleet.scripted, options: Fixtures.options())
            .history(of: fleet.service, hosts: fleet.service.hosts, limit: 2)

        #expect(problems.isEmpty)
        #expect(records.map(\.startedAt) == ["2026-01-03T10:00:00Z", "2026-01-02T10:00:00Z"])
    }

    @Test func lockReleaseRemovesStaleLocksAndKeepsLiveOnesUnlessForced() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2", "h3")))
        fleet.holdLock("h1", expires: Date().addingTimeInterval(-60))
        fleet.holdLock("h2")
        let inspector = FleetInspector(factory: fleet.scripted, options: Fixtures.options())
        let polite = await inspector.releaseLocks(of: fleet.service, hosts: fleet.service.hosts, force: false)

        #expect(polite.map(\.outcome) == [.released, .keptLive, .notLocked])
        #expect(fleet.lockHolder("h1") == nil && fleet.lockHolder("h2") != nil)
        let forced = await inspector.releaseLocks(of: fleet.service, hosts: fleet.service.hosts, force: true)
        #expect(forced.map(\.outcome) == [.notLocked, .released, .notLocked])
        #expect(fleet.lockHolder("h2") == nil)
    }
}
