import Foundation
import Plan
import Engine
import Testing
import TestSupport

/// Records what the executor asks of the gateway, interleaved with the hosts' commands.
final class RecordingGateway: GatewayHook, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [String] = []
    let fleet: FakeFleet
    let failDrainOf: String?

    init(fleet: FakeFleet, failDrainOf: String? = nil) {
        self.fleet = fleet
        self.failDrainOf = failDrainOf
    }

    var entries: [String] { lock.withLock { log } }

    func drain(service: String, host: String) async throws -> String {
        if host == failDrainOf { throw TransportError.lost(host: "gateway", reason: "reload failed") }
        lock.withLock { log.append("drain \(host) at \(fleet.head(host)!.prefix(1))") }
        return "marked down"
    }

    func restore(service: String, host: String) async throws -> String {
        lock.withLock { log.append("restore \(host) at \(fleet.head(host)!.prefix(1))") }
        return "back up"
    }

    func finish() async -> [String] {
        lock.withLock { log.append("finish") }
        return []
    }
}

@Suite("Executor and the gateway's rotation")
struct ExecutorGatewayTests {
    @Test func eachHostLeavesRotationBeforeItChangesAndReturnsAfterItsGate() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        let gateway = RecordingGateway(fleet: fleet)
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let report = await Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options(), gateway: gateway).run(plan)

        #expect(report.services.first?.result == .succeeded)
        #expect(gateway.entries == ["drain h1 at a", "restore h1 at b", "drain h2 at a", "restore h2 at b", "finish"])
    }

    @Test func aFailedDrainStopsTheHostBeforeItChanges() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        let gateway = RecordingGateway(fleet: fleet, failDrainOf: "h2")
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let report = await Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options(), gateway: gateway).run(plan)
        let outcome = try #require(report.services.first)

        #expect(outcome.result == .rolledBack)
        #expect(outcome.hosts.map(\.result) == [.rolledBack, .failed])
        #expect(fleet.checkouts(on: "h2").isEmpty)
        #expect(gateway.entries == ["drain h1 at a", "restore h1 at b", "drain h1 at b", "restore h1 at a", "finish"])
    }

    @Test func aSingleHostServiceIsNotDrained() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1")))
        let gateway = RecordingGateway(fleet: fleet)
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"]])
        _ = await Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options(), gateway: gateway).run(plan)

        #expect(gateway.entries == ["finish"])
    }
}
