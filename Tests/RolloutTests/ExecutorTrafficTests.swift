import Foundation
import Inventory
import Plan
import Testing
@testable import Engine

/// A gateway whose access log is made up as it is read: every read after the first logs `perHost` requests for each
/// host of the service, answered 500 by a host on the new revision when `newReleaseFails`, else 200 (20 ms).
final class TrafficGateway: GatewayHook, @unchecked Sendable {
    private let lock = NSLock()
    let fleet: FakeFleet
    let newReleaseFails: Bool
    let perHost: Int
    private var reads: [Int64] = []

    init(fleet: FakeFleet, newReleaseFails: Bool, perHost: Int = 20) {
        self.fleet = fleet
        self.newReleaseFails = newReleaseFails
        self.perHost = perHost
    }

    /// The offsets every read began from.
    var offsets: [Int64] { lock.withLock { reads } }

    func drain(service: String, host: String) async throws -> String { "marked down" }
    func restore(service: String, host: String) async throws -> String { "back up" }
    func finish() async -> [String] { [] }

    func readTraffic(service: String, from offset: Int64) async throws -> TrafficReading? {
        let hosts = fleet.service.hosts.map(\.name)
        let byUpstream = Dictionary(uniqueKeysWithValues: hosts.enumerated().map { ("10.0.0.\($0.offset + 1):8080", $0.element) })
        let upstream = Dictionary(uniqueKeysWithValues: byUpstream.map { ($0.value, $0.key) })
        let next: Int64 = lock.withLock {
            reads.append(offset)
            return Int64(reads.count)
        }
        var lines: [AccessLogLine] = []
        for host in hosts {
            let failing = newReleaseFails && fleet.head(host) == newSHA
            lines += Array(repeating: AccessLogLine(service: service, upstream: upstream[host], status: failing ? 500 : 200, requestTime: 0.02),
                           count: perHost)
        }
        return TrafficReading(lines: lines, end: next, hostByUpstream: byUpstream)
    }
}

/// The traffic judge wired into the canary's bake and the watch, on the scripted fleet.
@Suite("executor: traffic judge")
struct ExecutorTrafficTests {
    func plan(_ fleet: FakeFleet, batches: [[String]]) throws -> Plan {
        var plan = try Fixtures.plan(fleet.service, batches: batches)
        plan.services[0].judgesTraffic = true
        return plan
    }

    func service(tier: String, bake: Duration = .zero, watch: Duration = .zero, hosts: [String]) -> Service {
        var policy = TierPolicy.builtIn[tier]!
        policy.bake = bake
        policy.watch = watch
        var service = Fixtures.service(hosts: hosts.map { Fixtures.host($0) }, tier: tier, policy: policy)
        service.route = Route(prefix: "/api/app/", port: 8080)
        return service
    }

    func samples(_ events: EventLog) -> [TrafficSample] {
        events.all.compactMap { if case .trafficSample(let sample) = $0.payload { sample } else { nil } }
    }

    @Test("a canary whose requests fail while its health answers 200 is put back during the bake; the rest never change")
    func bakeCatchesBadTraffic() async throws {
        let fleet = FakeFleet(service: service(tier: "99.99", bake: .seconds(5), hosts: ["h1", "h2", "h3"]))
        let gateway = TrafficGateway(fleet: fleet, newReleaseFails: true)
        let events = EventLog()
        let outcome = try #require(await Executor(factory: fleet.scripted, sink: events, options: Fixtures.options(), gateway: gateway)
            .run(try plan(fleet, batches: [["h1"], ["h2"], ["h3"]])).services.first)
        #expect(outcome.result == .rolledBack)
        #expect(outcome.hosts.map(\.result) == [.rolledBack, .notStarted, .notStarted])
        #expect(outcome.hosts[0].failedStep == StepName(.traffic))
        let reason = try #require(outcome.hosts[0].reason)
        #expect(reason.hasPrefix("traffic during the bake: 5xx on changed hosts 100.0% against 0.0% on the baseline"), "\(reason)")
        for host in ["h1", "h2", "h3"] { #expect(fleet.head(host) == oldSHA) }
        let sample = try #require(samples(events).last)
        #expect(sample.step == .bake && sample.changedHosts == ["h1"] && sample.baselineFrom == .unchangedHosts)
        #expect(sample.verdict.changed.requests == 60 && sample.verdict.baseline.requests == 120 && sample.verdict.word == "failed")
        // Judged on the first reading with enough requests: the bake ended long before its 5 s.
        #expect(samples(events).count == 3, "reads of 20 requests a host: 20, 40, then 60 on the changed side")
        #expect(events.all.contains { event in
            if case .hostFailed(let failure) = event.payload { event.host == "h1" && failure.step == StepName(.traffic) && failure.changed } else { false }
        })
        // Where it read: the log's last MiB first (the requests before the rollout), then on from where each read ended.
        let offsets = gateway.offsets
        #expect(offsets.first == -Int64(GatewayPlan.trafficLookbackBytes))
        #expect(Array(offsets.dropFirst()) == (1..<Int64(offsets.count)).map { $0 }, "\(offsets)")
    }

    @Test("the watch judges every changed host against the requests before the rollout, and puts them all back")
    func watchCatchesBadTrafficAgainstTheWindowBefore() async throws {
        let fleet = FakeFleet(service: service(tier: "99.9", watch: .seconds(5), hosts: ["h1", "h2"]))
        let gateway = TrafficGateway(fleet: fleet, newReleaseFails: true, perHost: 60)
        let events = EventLog()
        let outcome = try #require(await Executor(factory: fleet.scripted, sink: events, options: Fixtures.options(), gateway: gateway)
            .run(try plan(fleet, batches: [["h1"], ["h2"]])).services.first)
        #expect(outcome.result == .rolledBack)
        #expect(outcome.hosts.map(\.result) == [.rolledBack, .rolledBack])
        #expect(outcome.hosts.allSatisfy { $0.failedStep == StepName(.traffic) })
        #expect(outcome.error?.description.contains("traffic during the watch") == true, "\(String(describing: outcome.error))")
        let sample = try #require(samples(events).last)
        #expect(sample.step == .watch && sample.changedHosts == ["h1", "h2"] && sample.baselineFrom == .beforeRollout)
        #expect(sample.verdict.baseline.requests == 120 && sample.verdict.baseline.errors == 0, "the first read: every host on the old revision")
        for host in ["h1", "h2"] { #expect(fleet.head(host) == oldSHA) }
    }

    @Test("a good release passes the bake's and the watch's judgement, and every reading is an event")
    func goodTrafficPasses() async throws {
        let fleet = FakeFleet(service: service(tier: "99.99", bake: .milliseconds(300), watch: .milliseconds(300), hosts: ["h1", "h2"]))
        // 30 requests a host a read: the 60 before the rollout are enough for the watch's baseline.
        let gateway = TrafficGateway(fleet: fleet, newReleaseFails: false, perHost: 30)
        let events = EventLog()
        let outcome = try #require(await Executor(factory: fleet.scripted, sink: events, options: Fixtures.options(), gateway: gateway)
            .run(try plan(fleet, batches: [["h1"], ["h2"]])).services.first)
        #expect(outcome.result == .succeeded)
        let all = samples(events)
        #expect(all.contains { $0.step == .bake && $0.verdict.word == "passed" })
        #expect(all.contains { $0.step == .watch && $0.verdict.word == "passed" })
        #expect(!all.contains { $0.verdict.word == "failed" })
        #expect(events.all.contains { event in
            if case .step(let step) = event.payload { step.step == .traffic && step.detail?.hasPrefix("judging requests") == true } else { false }
        })
    }

    @Test("too few requests on a side: not judged, said so, and the rollout goes on")
    func tooFewRequestsIsNotJudged() async throws {
        let fleet = FakeFleet(service: service(tier: "99.99", bake: .milliseconds(200), hosts: ["h1", "h2"]))
        let gateway = TrafficGateway(fleet: fleet, newReleaseFails: true, perHost: 1)
        let events = EventLog()
        let outcome = try #require(await Executor(factory: fleet.scripted, sink: events, options: Fixtures.options(), gateway: gateway)
            .run(try plan(fleet, batches: [["h1"], ["h2"]])).services.first)
        #expect(outcome.result == .succeeded)
        let sample = try #require(samples(events).first)
        #expect(sample.verdict.word == "not_judged")
        #expect(sample.verdict.reason?.contains("at least 50 needed on each side") == true)
    }

    @Test("a rollout whose plan does not judge traffic never reads the access log")
    func notJudgedNeverReads() async throws {
        let fleet = FakeFleet(service: service(tier: "99.99", bake: .milliseconds(200), hosts: ["h1", "h2"]))
        let gateway = TrafficGateway(fleet: fleet, newReleaseFails: true)
        let outcome = try #require(await Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options(), gateway: gateway)
            .run(try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])).services.first)
        #expect(outcome.result == .succeeded)
        #expect(gateway.offsets.isEmpty)
    }
}

/// A gateway that answers reads from a script of readings, recording the offsets asked for.
final class ScriptedTrafficHook: GatewayHook, @unchecked Sendable {
    private let lock = NSLock()
    private var readings: [TrafficReading]
    private var asked: [Int64] = []

    init(_ readings: [TrafficReading]) { self.readings = readings }

    var offsets: [Int64] { lock.withLock { asked } }

    func drain(service: String, host: String) async throws -> String { "" }
    func restore(service: String, host: String) async throws -> String { "" }
    func finish() async -> [String] { [] }
    func readTraffic(service: String, from offset: Int64) async throws -> TrafficReading? {
        lock.withLock {
            asked.append(offset)
            return readings.isEmpty ? TrafficReading(lines: [], end: offset, hostByUpstream: [:]) : readings.removeFirst()
        }
    }
}

@Suite("traffic window")
struct TrafficWindowTests {
    static let hosts = ["10.0.0.1:80": "h1", "10.0.0.2:80": "h2"]

    static func lines(_ count: Int, from upstream: String?, status: Int) -> [AccessLogLine] {
        Array(repeating: AccessLogLine(service: "app", upstream: upstream, status: status, requestTime: 0.01), count: count)
    }

    @Test("the window begins at the log's end, also past one read's bound on a busy gateway")
    func windowBeginsAtTheEnd() async throws {
        let hook = ScriptedTrafficHook([
            TrafficReading(lines: [], end: 1_000, hostByUpstream: Self.hosts),
            // 8 MiB read of 50 MiB logged since: the rest is older than the window too.
            TrafficReading(lines: Self.lines(60, from: "10.0.0.1:80", status: 500), end: 9_000, size: 50_000, hostByUpstream: Self.hosts),
            TrafficReading(lines: Self.lines(60, from: "10.0.0.1:80", status: 200) + Self.lines(60, from: "10.0.0.2:80", status: 200),
                           end: 51_000, hostByUpstream: Self.hosts),
        ])
        let window = TrafficWindow(service: "app", gateway: hook, thresholds: TrafficThresholds(), hosts: ["h1", "h2"])
        #expect(try await window.start())
        try await window.windowBegins()
        let sample = await window.sample(changed: ["h1"], step: .bake)
        #expect(hook.offsets == [-Int64(GatewayPlan.trafficLookbackBytes), 1_000, 50_000])
        #expect(sample.verdict.changed.requests == 60 && sample.verdict.changed.errors == 0, "the old 500s are not the window's")
        #expect(sample.verdict.word == "passed")
    }

    @Test("the baseline before the rollout holds only requests a host of the service answered, not nginx's own")
    func baselineBeforeIsTheHostsOnly() async throws {
        let hook = ScriptedTrafficHook([
            TrafficReading(lines: Self.lines(80, from: "10.0.0.1:80", status: 200) + Self.lines(500, from: nil, status: 503),
                           end: 100, hostByUpstream: Self.hosts),
            TrafficReading(lines: [], end: 100, hostByUpstream: Self.hosts),
            TrafficReading(lines: Self.lines(60, from: "10.0.0.1:80", status: 200) + Self.lines(60, from: "10.0.0.2:80", status: 500),
                           end: 200, hostByUpstream: Self.hosts),
        ])
        let window = TrafficWindow(service: "app", gateway: hook, thresholds: TrafficThresholds(), hosts: ["h1", "h2"])
        _ = try await window.start()
        try await window.windowBegins()
        let sample = await window.sample(changed: ["h1", "h2"], step: .watch)
        #expect(sample.baselineFrom == .beforeRollout)
        #expect(sample.verdict.baseline.requests == 80 && sample.verdict.baseline.errors == 0, "a maintenance page's 503s are not a baseline")
        #expect(sample.verdict.word == "failed")
    }
}

extension ExecutorTrafficTests {
    @Test("a service on one host is judged too, in the watch, against the requests before the rollout")
    func oneHostIsJudgedInTheWatch() async throws {
        let fleet = FakeFleet(service: service(tier: "99.9", watch: .seconds(5), hosts: ["h1"]))
        let gateway = TrafficGateway(fleet: fleet, newReleaseFails: true, perHost: 60)
        let outcome = try #require(await Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options(), gateway: gateway)
            .run(try plan(fleet, batches: [["h1"]])).services.first)
        #expect(outcome.result == .rolledBack && outcome.hosts[0].failedStep == StepName(.traffic))
        #expect(fleet.head("h1") == oldSHA)
    }
}
