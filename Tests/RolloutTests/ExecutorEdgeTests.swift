import Commands
import Foundation
import Inventory
import Plan
import Engine
import Fleet
import Testing
import TestSupport

/// SPEC "Locks are leases", "History is written ahead", "Rollback", "Honest status", over scripted hosts.
@Suite("Executor at the edges: leases, history written ahead, rollback target")
struct ExecutorEdgeTests {
    /// h1's gate runs (h1 answers 503 on the new commit) while someone removes h1's lock.
    @Test func aLockRemovedDuringAGateStopsAtOnceWithNothingPutBack() async throws {
        let hosts = [Fixtures.host("h0"), Fixtures.host("h1", timeout: .seconds(20)), Fixtures.host("h2")]
        let fleet = FakeFleet(service: Fixtures.service(hosts: hosts))
        fleet.unhealthy(on: "h1", at: newSHA)
        let events = EventLog()
        events.onEvent = { event in
            if case .healthProbe(let probe) = event.payload, event.host == "h1", probe.attempt == 2 { fleet.removeLock("h1") }
        }
        let plan = try Fixtures.plan(fleet.service, batches: [["h0"], ["h1"], ["h2"]])
        let report = await Executor(factory: fleet.scripted, sink: events, options: Fixtures.options(refresh: .milliseconds(50))).run(plan)
        let outcome = try #require(report.services.first)

        guard case .leaseLost(_, let reason, let changed)? = outcome.error else {
            Issue.record("expected leaseLost, got \(String(describing: outcome.error))")
            return
        }
        #expect(reason.contains("the lock on h1 was removed or taken over"))
        #expect(changed == ["h0", "h1"])
        #expect(outcome.error?.category == .needsAttention, "a host changed: exit 2")
        #expect(outcome.result == .rollbackFailed)
        #expect(outcome.hosts.map(\.result) == [.succeeded, .interrupted, .notStarted])
        // No put back (the new holder may own the hosts), not even of h0, which passed in batch 1; no next
        // batch; the other locks released, h1's not touched again.
        #expect(fleet.checkouts(on: "h0") == [newSHA])
        #expect(fleet.checkouts(on: "h1") == [newSHA])
        #expect(fleet.lockHolder("h0") == nil)
        #expect(fleet.checkouts(on: "h2").isEmpty)
        #expect(fleet.lockHolder("h2") == nil)
        #expect(fleet.commands(on: "h1", containing: ".lock-gone").isEmpty)
        // The gate stopped at once instead of waiting out its 20 s.
        #expect(events.rolloutProbes("h1").last.map { $0.timeLeft > .seconds(10) } == true)
        // h1 keeps only its started record: `history` shows the rollout as interrupted there.
        #expect(fleet.history("h1").map(\.result) == ["started"])
        #expect(HistoryLog.rows(fleet.history("h1")).map(\.result) == [HistoryLog.interrupted])
    }

    @Test func aLockLostBeforeAnyHostChangedExitsOne() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1")))
        let events = EventLog()
        fleet.scripted.on(" up -d", host: "h1") { _, _ in CommandResult(exitStatus: 0) }
        fleet.scripted.on("--prune --tags", host: "h1") { [events] _, _ in
            fleet.removeLock("h1")
            // The fetch lasts until a refresh has found the lock gone (at most 20 s: a loaded machine only makes it
            // wait longer), then a moment for the rollout to take that in.
            let giveUp = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < giveUp, !events.all.contains(where: { event in
                if case .step(let step) = event.payload { return step.step == .lockRefresh && step.status == .failed }
                return false
            }) {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(100))
            return CommandResult(exitStatus: 0)
        }
        let report = await Executor(factory: fleet.scripted, sink: events, options: Fixtures.options(refresh: .milliseconds(50)))
            .run(try Fixtures.plan(fleet.service, batches: [["h1"]]))
        let outcome = try #require(report.services.first)
        guard case .leaseLost(_, _, let changed)? = outcome.error else {
            Issue.record("expected leaseLost, got \(String(describing: outcome.error))")
            return
        }
        #expect(changed.isEmpty)
        #expect(outcome.error?.category == .failed, "nothing changed: exit 1")
        #expect(fleet.checkouts(on: "h1").isEmpty)
    }

    @Test func aLockThatCannotBeRefreshedInTimeStopsTheRollout() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: [Fixtures.host("h1", timeout: .seconds(20))]))
        fleet.unhealthy(on: "h1", at: newSHA)
        fleet.scripted.on("lock/.owner.json.new", host: "h1") { _, _ in throw TransportError.lost(host: "h1", reason: "connection reset") }
        var options = Fixtures.options(refresh: .milliseconds(50))
        options.lockLifetime = .milliseconds(500)
        let report = await Executor(factory: fleet.scripted, sink: EventLog(), options: options)
            .run(try Fixtures.plan(fleet.service, batches: [["h1"]]))
        guard case .leaseLost(_, let reason, _)? = report.services.first?.error else {
            Issue.record("expected leaseLost, got \(String(describing: report.services.first?.error))")
            return
        }
        #expect(reason.contains("could not be refreshed"))
        // That lock is still this rollout's (nobody took it over): it is released, not left for 2 minutes.
        #expect(fleet.lockHolder("h1") == nil)
    }

    @Test func aLockWhoseHolderOnThisMachineIsGoneIsStaleAtOnce() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        // Fixtures.options() runs as machine "ci"; no process has pid 2^31-2.
        fleet.holdLock("h1", machine: "ci", pid: Int32.max - 1)
        fleet.holdLock("h2", machine: "laptop", pid: Int32.max - 1)
        let inspector = FleetInspector(factory: fleet.scripted, options: Fixtures.options())
        let released = await inspector.releaseLocks(of: fleet.service, hosts: fleet.service.hosts, force: false)
        #expect(released.map(\.outcome) == [.released, .keptLive])
        #expect(released[0].stale == .holderGone(pid: Int32.max - 1))
        #expect(fleet.lockHolder("h1") == nil && fleet.lockHolder("h2") != nil)
    }

    @Test func aPartialOwnerFileStillNamesItsHolder() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1")))
        fleet.holdLock("h1", ownerJSON: #"{"operator":"bob","machine":"build-7","pid":"31","target":"deploy v3","extra":1}"#)
        let report = await Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options())
            .run(try Fixtures.plan(fleet.service, batches: [["h1"]]))
        let message = try #require(report.services.first?.error?.description)
        #expect(message.contains(#"held by bob on build-7 (pid 31), for "deploy v3""#), "\(message)")
        #expect(!message.contains("unknown"))
    }

    @Test func holderFieldsAreReadLeniently() {
        #expect(LockHolder.parse("") == nil)
        #expect(LockHolder.parse("{}")?.description == "a holder whose owner.json names no one")
        #expect(LockHolder.parse("not json\u{1B}[2J")?.description == #"an unreadable owner.json ("not json\x1b[2J")"#)
        let hostile = LockHolder.parse(#"{"operator":"eve\u001b[31m","machine":"m\nx"}"#)
        #expect(hostile?.description == #"eve\x1b[31m on m\nx"#)
        let live = LockHolder(machine: "here", pid: 5, expires: "2999-01-01T00:00:00Z")
        #expect(live.staleness(localMachine: "here", isRunning: { _ in true }) == nil)
        #expect(live.staleness(localMachine: "here", isRunning: { _ in false }) == .holderGone(pid: 5))
        #expect(live.staleness(localMachine: "elsewhere", isRunning: { _ in false }) == nil)
        #expect(LockHolder(expires: "2000-01-01T00:00:00Z").staleness(localMachine: "x") == .expired("2000-01-01T00:00:00Z"))
    }

    /// SPEC "Locks are leases": a holder still running on this machine is live though its lease ran out (it may be
    /// stuck on a refresh); one elsewhere past `expires` is stale.
    @Test func anExpiredLockWhoseHolderRunsHereIsLive() {
        let expired = LockHolder(machine: "here", pid: 5, expires: "2000-01-01T00:00:00Z")
        #expect(expired.staleness(localMachine: "here", isRunning: { _ in true }) == nil)
        #expect(expired.staleness(localMachine: "here", isRunning: { _ in false }) == .holderGone(pid: 5))
        #expect(expired.staleness(localMachine: "elsewhere", isRunning: { _ in true }) == .expired("2000-01-01T00:00:00Z"))
    }

    static func record(_ id: String, _ host: String, from: String, to: String, _ result: String, at: String,
                       action: String = "deploy") -> HistoryRecord {
        HistoryRecord(id: id, service: "app", host: host, action: action, from: from, to: to, result: result,
                      startedAt: at, finishedAt: result == "started" ? nil : at, operator: "bob")
    }

    @Test func historyRowsShowInterruptedAndInProgressRollouts() {
        let records = [
            Self.record("a", "h1", from: oldSHA, to: newSHA, "started", at: "2026-01-01T10:00:00Z"),
            Self.record("a", "h1", from: oldSHA, to: newSHA, "succeeded", at: "2026-01-01T10:00:00Z"),
            Self.record("b", "h1", from: newSHA, to: movedSHA, "started", at: "2026-01-02T10:00:00Z"),
            Self.record("c", "h2", from: newSHA, to: movedSHA, "started", at: "2026-01-03T10:00:00Z"),
        ]
        let rows = HistoryLog.rows(records, liveRollouts: ["c"])
        #expect(rows.map(\.id) == ["c", "b", "a"])
        #expect(rows.map(\.result) == [HistoryLog.inProgress, HistoryLog.interrupted, "succeeded"])
        #expect(HistoryLog.rows(records, limit: 2).map(\.id) == ["c", "b"])
    }

    @Test func historyLimitCountsRolloutsNotRows() {
        // Two rollouts of two hosts each: --limit 1 shows the newest rollout on both of its hosts.
        let records = [
            Self.record("a", "h1", from: oldSHA, to: newSHA, "succeeded", at: "2026-01-01T10:00:00Z"),
            Self.record("a", "h2", from: oldSHA, to: newSHA, "succeeded", at: "2026-01-01T10:00:00Z"),
            Self.record("b", "h1", from: newSHA, to: movedSHA, "succeeded", at: "2026-01-02T10:00:00Z"),
            Self.record("b", "h2", from: newSHA, to: movedSHA, "rolled_back", at: "2026-01-02T10:00:00Z"),
        ]
        #expect(HistoryLog.rows(records, limit: 1).map { "\($0.id) \($0.host)" } == ["b h1", "b h2"])
        #expect(HistoryLog.rows(records, limit: 2).count == 4)
    }

    @Test func historyRecordsKeepTheRefAndTheReasonAndReadOlderRecordsWithout() throws {
        var record = Self.record("a", "h1", from: oldSHA, to: newSHA, "rolled_back", at: "2026-01-01T10:00:00Z")
        record.ref = "v2"
        record.reason = "failed at health_gate: HTTP 404"
        #expect(HistoryLog.parse(record.jsonLine + "\n") == [record])
        // A line written before `ref` and `reason` were kept still reads, without them.
        let older = #"{"action":"deploy","finished_at":"2026-01-01T10:00:00Z","from":null,"host":"h1","id":"x","operator":"bob","result":"succeeded","service":"app","started_at":"2026-01-01T10:00:00Z","to":"abc"}"#
        let parsed = try #require(HistoryLog.parse(older).first)
        #expect(parsed.ref == nil && parsed.reason == nil && parsed.to == "abc")
    }

    @Test func rollbackGoesBeforeTheNewestDeployThatChangedAHost() {
        var records = [
            Self.record("a", "h1", from: oldSHA, to: newSHA, "succeeded", at: "2026-01-01T10:00:00Z"),
            // A deploy that was killed after it started changing h1: it counts.
            Self.record("b", "h1", from: newSHA, to: movedSHA, "started", at: "2026-01-02T10:00:00Z"),
        ]
        #expect(HistoryLog.revisionBeforeLastChange(records) == newSHA)
        // Newer deploys that changed nothing are skipped.
        records += [
            Self.record("c", "h1", from: newSHA, to: movedSHA, "rolled_back", at: "2026-01-03T10:00:00Z"),
            Self.record("d", "h2", from: newSHA, to: newSHA, "no_change", at: "2026-01-04T10:00:00Z"),
            Self.record("e", "h2", from: newSHA, to: movedSHA, "failed", at: "2026-01-05T10:00:00Z"),
            Self.record("f", "h2", from: movedSHA, to: newSHA, "succeeded", at: "2026-01-06T10:00:00Z", action: "rollback"),
        ]
        #expect(HistoryLog.revisionBeforeLastChange(records) == newSHA)
        #expect(HistoryLog.revisionBeforeLastChange(Array(records.prefix(1))) == oldSHA)
    }

    @Test func statusCountsAHostSoundOnlyWhenEverythingIsRight() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2", "h3")))
        fleet.scripted.on(" ps -aq --filter label=com.docker.compose.project=", reply: CommandResult(exitStatus: 0, stdout: "/app-web-1|running|0|0|healthy\n"))
        fleet.unhealthy(on: "h2", at: oldSHA)
        fleet.addHistory("h3", Self.record("z", "h3", from: oldSHA, to: newSHA, "started", at: "2026-01-01T10:00:00Z"))
        let rows = await FleetInspector(factory: fleet.scripted, options: Fixtures.options())
            .status(of: fleet.service.hosts.map { (service: fleet.service, host: $0) })
        #expect(rows.map(\.isSound) == [true, false, false])
        #expect(rows[2].interrupted?.id == "z")
    }

    @Test func planCheckCountsAnUnhealthyHostOnTheTargetAsAChange() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")), head: newSHA)
        fleet.unhealthy(on: "h2", at: newSHA)
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        try fleet.seedEnvironment(plan, target: newSHA)
        let report = await PlanCheck.run(plan, factory: fleet.scripted)
        let hosts = try #require(report.services.first?.hosts)
        #expect(hosts.map(\.status) == [.upToDate, .willChange])
        #expect(hosts[1].detail?.contains("on the target but not healthy (HTTP 503)") == true)
        #expect(report.hasPendingChanges)
    }

    @Test func planCheckSaysWhichContainerIsNotUpOnAHostThatStaysUpToDate() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")), head: newSHA)
        // Healthy on the target, but the engine says a container of h2's project exited.
        fleet.scripted.on(" ps -aq --filter label=com.docker.compose.project=", host: "h2",
                          reply: CommandResult(exitStatus: 0, stdout: "/app-web-1|running|0|0|\n/app-worker-1|exited|1|4|\n"))
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        try fleet.seedEnvironment(plan, target: newSHA)
        let report = await PlanCheck.run(plan, factory: fleet.scripted)
        let hosts = try #require(report.services.first?.hosts)
        // As a deploy decides: healthy on the target with the same environment is no change; the container is named.
        #expect(hosts.map(\.status) == [.upToDate, .upToDate])
        #expect(hosts[1].detail == "container app-worker-1 is exited with 1 after 4 restarts", "\(hosts[1].detail ?? "")")
    }
}
