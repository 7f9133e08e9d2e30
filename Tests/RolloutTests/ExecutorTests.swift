import Commands
import Foundation
import Inventory
import Plan
import Engine
import Testing
import TestSupport

@Suite("Executor over a scripted transport")
struct ExecutorTests {
    func run(_ fleet: FakeFleet, batches: [[String]], events: EventLog = EventLog(), stop: StopSignal = StopSignal(),
             options: ExecutorOptions = Fixtures.options(), action: RolloutAction = .deploy,
             ref: String? = "main") async throws -> ServiceOutcome {
        let plan = try Fixtures.plan(fleet.service, batches: batches, ref: ref, action: action)
        let executor = Executor(factory: fleet.scripted, sink: events, stop: stop, options: options)
        let report = await executor.run(plan)
        return try #require(report.services.first)
    }

    @Test func goodRolloutMovesEveryHostToTheTargetAndRecordsHistory() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        let events = EventLog()
        let outcome = try await run(fleet, batches: [["h1"], ["h2"]], events: events)

        #expect(outcome.result == .succeeded)
        #expect(outcome.error == nil)
        #expect(outcome.sha == newCommit)
        #expect(outcome.hosts.map(\.result) == [.succeeded, .succeeded])
        for host in ["h1", "h2"] {
            #expect(fleet.head(host) == newSHA)
            #expect(fleet.lockHolder(host) == nil)
            // Written ahead: `started` before the host changed, then its final record.
            #expect(fleet.history(host).map(\.result) == ["started", "succeeded"])
            let records = HistoryLog.rows(fleet.history(host))
            #expect(records.count == 1)
            #expect(records.first?.from == oldSHA)
            #expect(records.first?.to == newSHA)
            #expect(records.first?.result == "succeeded")
            #expect(records.first?.action == "deploy")
        }
        #expect(events.names.first == "deploy_started")
        #expect(events.names.last == "deploy_finished")
        #expect(events.names.filter { $0 == "host_succeeded" }.count == 2)
        #expect(events.names.contains("health_probe"))
        // One connection per host, for all of its steps.
        #expect(fleet.scripted.calls.filter { $0.kind == .connect }.count == 2)
    }

    /// One probe is not "1 probes"; the steps of one script carry their round trip's time once, on the first.
    @Test func stepDetailsCountInWordsAndAScriptsTimeIsCountedOnce() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: [Fixtures.host("h1", healthyAfter: 1)]))
        let events = EventLog()
        let outcome = try await run(fleet, batches: [["h1"]], events: events)
        #expect(outcome.result == .succeeded, "\(outcome)")
        let steps = events.steps("h1")
        #expect(steps.first { $0.step == .healthGate }?.detail == "1 consecutive 2xx after 1 probe")
        #expect(steps.first { $0.step == .env }?.detail?.hasSuffix(", 0 secrets") == true, "\(steps)")
        let script: [StepKind] = [.preflight, .currentRevision, .fetch, .resolve, .envDigest]
        let sent = steps.filter { script.contains($0.step) }
        #expect(sent.map(\.step) == script)
        #expect(sent.map(\.together) == [false, true, true, true, true], "\(sent)")
    }

    @Test func healthFailingInBatchTwoPutsBackThatHostAndBatchOneAndLeavesLaterBatchesUntouched() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2", "h3")))
        fleet.unhealthy(on: "h2", at: newSHA)
        let outcome = try await run(fleet, batches: [["h1"], ["h2"], ["h3"]])

        #expect(outcome.result == .rolledBack)
        #expect(outcome.error == .hostFailed(service: "app", host: "h2", step: StepName(.healthGate),
                                             reason: outcome.hosts[1].reason ?? ""))
        #expect(outcome.hosts.map(\.result) == [.rolledBack, .rolledBack, .notStarted])
        #expect(fleet.checkouts(on: "h1") == [newSHA, oldSHA])
        #expect(fleet.checkouts(on: "h2") == [newSHA, oldSHA])
        #expect(fleet.checkouts(on: "h3").isEmpty)
        #expect(fleet.commands(on: "h3", containing: " up -d").isEmpty)
        for host in ["h1", "h2", "h3"] {
            #expect(fleet.head(host) == oldSHA)
            #expect(fleet.lockHolder(host) == nil)
        }
        #expect(fleet.history("h2").map(\.result) == ["started", "rolled_back"])
        // h1 passed, then was put back when h2 failed: each change written ahead, the last record its final one.
        #expect(fleet.history("h1").map(\.result) == ["started", "succeeded", "started", "rolled_back"])
        #expect(HistoryLog.rows(fleet.history("h1")).map(\.result) == ["rolled_back"])
        #expect(fleet.history("h3").isEmpty)
    }

    @Test func everyHostOfAFailingBatchIsWaitedForAndReported() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2", "h3", "h4"), tier: "95"))
        fleet.unhealthy(on: "h1", at: newSHA)
        let outcome = try await run(fleet, batches: [["h1", "h2", "h3", "h4"]])

        #expect(outcome.result == .rolledBack)
        #expect(outcome.hosts.map(\.result) == [.rolledBack, .rolledBack, .rolledBack, .rolledBack])
        #expect(outcome.hosts[0].failedStep == StepName(.healthGate))
        for host in ["h2", "h3", "h4"] { #expect(fleet.checkouts(on: host) == [newSHA, oldSHA]) }
    }

    @Test func everyHostThatFailedInABatchIsNamedInTheError() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2", "h3"), tier: "95"))
        fleet.unhealthy(on: "h1", at: newSHA)
        fleet.unhealthy(on: "h3", at: newSHA)
        let outcome = try await run(fleet, batches: [["h1", "h2", "h3"]])

        #expect(outcome.result == .rolledBack)
        let description = try #require(outcome.error?.description)
        #expect(description.contains("h1 failed at health_gate") && description.contains("h3 failed at health_gate"), "\(description)")
        #expect(!description.contains("h2 failed"))
    }

    @Test func aHeldLockChangesNothingAndReleasesTheLocksTaken() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2", "h3")))
        fleet.holdLock("h2")
        let outcome = try await run(fleet, batches: [["h1"], ["h2"], ["h3"]])

        guard case .lockHeld(let service, let host, let holder, let stale)? = outcome.error else {
            Issue.record("expected lockHeld, got \(String(describing: outcome.error))")
            return
        }
        #expect(service == "app" && host == "h2" && stale == nil)
        #expect(holder?.operator == "alice" && holder?.machine == "laptop" && holder?.target == "deploy main")
        #expect(outcome.error?.category == .lockHeld)
        #expect(outcome.result == .stopped)
        #expect(fleet.lockHolder("h1") == nil)
        #expect(fleet.lockHolder("h2") != nil)
        // h3 comes after h2 in lock order: never asked.
        #expect(fleet.commands(on: "h3", containing: "lock").isEmpty)
        for host in ["h1", "h2", "h3"] {
            #expect(fleet.checkouts(on: host).isEmpty)
            #expect(fleet.commands(on: host, containing: "preflight").isEmpty)
            #expect(fleet.history(host).isEmpty)
        }
        #expect(outcome.error?.description.contains("alice on laptop") == true)
    }

    @Test func aLockPastItsExpiryIsReportedAsStale() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1")))
        fleet.holdLock("h1", expires: Date().addingTimeInterval(-300))
        let outcome = try await run(fleet, batches: [["h1"]])

        guard case .lockHeld(_, _, _, let stale)? = outcome.error else {
            Issue.record("expected lockHeld, got \(String(describing: outcome.error))")
            return
        }
        guard case .expired? = stale else {
            Issue.record("expected an expired lock, got \(String(describing: stale))")
            return
        }
        #expect(outcome.error?.description.contains("The lock is stale: it expired at") == true)
    }

    @Test func aHostAlreadyOnTheTargetAndHealthyIsNoChange() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")), head: newSHA)
        try fleet.seedEnvironment(try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]]), target: newSHA)
        let outcome = try await run(fleet, batches: [["h1"], ["h2"]])

        #expect(outcome.result == .noChange)
        #expect(outcome.hosts.map(\.result) == [.noChange, .noChange])
        #expect(fleet.checkouts(on: "h1").isEmpty && fleet.checkouts(on: "h2").isEmpty)
        #expect(fleet.commands(on: "h1", containing: " up -d").isEmpty)
        #expect(fleet.history("h1").first?.result == "no_change")
    }

    @Test func theTargetIsResolvedOnceAndTheSameSHAGoesEverywhereEvenIfTheBranchMoves() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2", "h3")), resolvesTo: [newSHA, movedSHA])
        let outcome = try await run(fleet, batches: [["h1"], ["h2"], ["h3"]])

        #expect(outcome.result == .succeeded)
        #expect(fleet.resolveCount == 1)
        for host in ["h1", "h2", "h3"] {
            #expect(fleet.head(host) == newSHA)
            #expect(fleet.commands(on: host, containing: "fetch").count == 1)
        }
    }

    @Test func canaryGoesAloneThenBakesBeforeTheNextBatch() async throws {
        let policy = TierPolicy(batch: .count(1), canary: true, bake: .milliseconds(120), healthyAfter: 2)
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2"), tier: "99.99", policy: policy))
        let events = EventLog()
        let outcome = try await run(fleet, batches: [["h1"], ["h2"]], events: events)

        #expect(outcome.result == .succeeded)
        let bake = events.steps("h1").first { $0.step == .bake }
        #expect(bake?.status == .ok)
        let names = events.all.map { "\($0.name):\($0.host ?? "")" }
        let bakeIndex = events.all.firstIndex { if case .step(let s) = $0.payload { return s.step == .bake } else { return false } }
        let h2Start = names.firstIndex(of: "host_started:h2")
        #expect(bakeIndex != nil && h2Start != nil && bakeIndex! < h2Start!)
    }

    @Test func aCanaryThatTurnsUnhealthyWhileBakingIsPutBackAndTheRestNeverStart() async throws {
        let policy = TierPolicy(batch: .count(1), canary: true, bake: .milliseconds(300), healthyAfter: 1)
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2"), tier: "99.99", policy: policy))
        let events = EventLog()
        // The canary passes its gate, then starts failing while it bakes.
        events.onHostSucceeded = { host in if host == "h1" { fleet.unhealthy(on: "h1", at: newSHA) } }
        let outcome = try await run(fleet, batches: [["h1"], ["h2"]], events: events)

        #expect(outcome.result == .rolledBack)
        #expect(outcome.hosts.map(\.result) == [.rolledBack, .notStarted])
        #expect(outcome.hosts[0].failedStep == StepName(.bake))
        #expect(fleet.checkouts(on: "h2").isEmpty)
        #expect(fleet.head("h1") == oldSHA)
    }

    /// The steps before a change go as one command under one `command_timeout`: two steps of 200 ms each do not fit
    /// in 300 ms, and the failure names every step the script carried, not the script's text.
    @Test func stepsSentTogetherShareOneCommandTimeout() async throws {
        let slow = [Fixtures.host("h1", commandTimeout: .milliseconds(300))]
        let fleet = FakeFleet(service: Fixtures.service(hosts: slow))
        for pattern in ["git status --porcelain", "fetch --quiet"] {
            fleet.scripted.on(pattern, host: "h1") { _, _ in
                try await Task.sleep(for: .milliseconds(200))
                return CommandResult(exitStatus: 0)
            }
        }
        let outcome = try await run(fleet, batches: [["h1"]])

        #expect(outcome.result == .stopped)
        #expect(outcome.hosts[0].failedStep == StepName(.preflight))
        let reason = try #require(outcome.hosts[0].reason)
        #expect(reason.contains("the steps sent together (preflight, current_revision, fetch, resolve, env_digest) did not finish within"), "\(reason)")
        #expect(!reason.contains("@@openclaw-read"), "\(reason)")
        #expect(fleet.checkouts(on: "h1").isEmpty)
        #expect(fleet.lockHolder("h1") == nil)
    }

    @Test func aCommandPastItsTimeoutFailsTheHostWhichIsPutBack() async throws {
        let slow = [Fixtures.host("h1", commandTimeout: .milliseconds(300))]
        let fleet = FakeFleet(service: Fixtures.service(hosts: slow))
        fleet.scripted.on(" up -d", host: "h1") { host, _ in
            // Only the forward compose up hangs; putting back works.
            if fleet.head(host) == newSHA { try await Task.sleep(for: .seconds(5)) }
            return CommandResult(exitStatus: 0)
        }
        let outcome = try await run(fleet, batches: [["h1"]])

        #expect(outcome.result == .rolledBack)
        #expect(outcome.hosts[0].failedStep == StepName(.composeUp))
        #expect(outcome.hosts[0].reason?.contains("timed out") == true)
        #expect(fleet.head("h1") == oldSHA)
        // The command was stopped on its own channel: putting back and unlocking went over the same connection.
        #expect(fleet.scripted.calls.filter { $0.kind == .connect }.count == 1)
        #expect(fleet.lockHolder("h1") == nil)
    }

    @Test func aHealthGateThatNeverPassesWithinItsTimeoutFailsTheHost() async throws {
        // 1 s: short, yet long enough for the put back's gate to pass when the machine is busy with other tests.
        let fleet = FakeFleet(service: Fixtures.service(hosts: [Fixtures.host("h1", timeout: .seconds(1))]))
        fleet.unhealthy(on: "h1", at: newSHA)
        let events = EventLog()
        let outcome = try await run(fleet, batches: [["h1"]], events: events)

        #expect(outcome.result == .rolledBack)
        #expect(outcome.hosts[0].failedStep == StepName(.healthGate))
        #expect(outcome.hosts[0].reason?.contains("HTTP 503") == true)
        // A 1 s gate probing every 10 ms gives up after at most ~100 attempts, each one a 503.
        let probes = events.rolloutProbes("h1")
        #expect(!probes.isEmpty && probes.count <= 102)
        #expect(probes.allSatisfy { $0.status == 503 && $0.consecutive == 0 })
        #expect(events.names.contains("host_failed") && events.names.contains("host_rolled_back"))
    }

    /// A saved plan records each host's revision: a host found elsewhere stops the rollout before any change (exit 65).
    @Test func aSavedPlanWhoseHostMovedStopsBeforeAnyChange() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        var plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let elsewhere = String(repeating: "e", count: 40)
        plan.services[0].recordedRevisions = ["h1": try #require(CommitID(oldSHA)), "h2": try #require(CommitID(elsewhere))]
        let report = await Executor(factory: fleet.scripted, sink: EventLog(), stop: StopSignal(), options: Fixtures.options()).run(plan)
        let outcome = try #require(report.services.first)
        #expect(outcome.error == .planStale(service: "app", moved: [MovedHost(host: "h2", recorded: try #require(CommitID(elsewhere)),
                                                                             found: try #require(CommitID(oldSHA)))]))
        #expect(outcome.error?.category == .invalidInventory)
        #expect(outcome.result == .stopped)
        #expect(fleet.checkouts(on: "h1").isEmpty && fleet.checkouts(on: "h2").isEmpty)
        #expect(fleet.lockHolder("h1") == nil && fleet.lockHolder("h2") == nil)
        // A saved plan made for another commit of its ref is stale too, not a failed step.
        var pinned = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]], resolvedSHA: String(repeating: "c", count: 40))
        pinned.services[0].recordedRevisions = ["h1": try #require(CommitID(oldSHA)), "h2": try #require(CommitID(oldSHA))]
        let target = await Executor(factory: fleet.scripted, sink: EventLog(), stop: StopSignal(), options: Fixtures.options()).run(pinned)
        #expect(target.services.first?.error == .planTargetMoved(service: "app", ref: "main", planned: try #require(CommitID(String(repeating: "c", count: 40))),
                                                                   found: try #require(CommitID(newSHA))))
        #expect(target.services.first?.error?.category == .invalidInventory)
        // Where it saw the hosts is all the plan needs: the same revisions run.
        plan.services[0].recordedRevisions = ["h1": try #require(CommitID(oldSHA)), "h2": try #require(CommitID(oldSHA))]
        let again = await Executor(factory: fleet.scripted, sink: EventLog(), stop: StopSignal(), options: Fixtures.options()).run(plan)
        #expect(again.services.first?.result == .succeeded)
    }

    @Test func aHostThatCannotBePutBackMakesTheResultRollbackFailed() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1")))
        fleet.unhealthy(on: nil, at: newSHA)
        fleet.unhealthy(on: nil, at: oldSHA)
        let events = EventLog()
        let outcome = try await run(fleet, batches: [["h1"]], events: events)
        let failures = events.all.compactMap { event -> HostFailure? in
            if case .hostFailed(let failure) = event.payload { failure } else { nil }
        }
        #expect(failures.map(\.step) == [StepName(.healthGate), StepName(.healthGate, .putBack)])

        #expect(outcome.result == .rollbackFailed)
        #expect(outcome.hosts[0].result == .rollbackFailed)
        // The row keeps the failure that started it all; the events name each with the branch it failed in.
        #expect(outcome.hosts[0].failedStep == StepName(.healthGate))
        #expect(failures.last?.step.description == "put_back_health_gate")
        #expect(outcome.error?.category == .needsAttention)
        #expect(fleet.lockHolder("h1") == nil)
        // The message names the cause and the host to look at, and never claims the hosts are back.
        let message = try #require(outcome.error?.description)
        #expect(message.contains("h1 failed at health_gate") && message.contains("h1 is not known to be healthy"), "\(message)")
        #expect(!message.contains("is back") && !message.contains("are back"), "\(message)")
    }

    /// `env_digest` runs in every host's script before a change; each host that ran it has exactly one event for it,
    /// which says what it found or why it was not compared — also on hosts that never got as far as comparing.
    @Test func everyHostThatReadItsEnvironmentReportsItOnce() async throws {
        func digests(_ events: EventLog) -> [String: [String]] {
            events.all.reduce(into: [:]) { found, event in
                if case .step(let report) = event.payload, report.step == .envDigest, let host = event.host {
                    found[host, default: []].append(report.detail ?? "")
                }
            }
        }
        // h2's preflight fails: h1 answered, h2's script stopped before its env_digest.
        let dirty = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        dirty.scripted.on("status --porcelain", host: "h2", reply: CommandResult(exitStatus: 1, stderr: "preflight: local changes\n"))
        let dirtyEvents = EventLog()
        _ = try await run(dirty, batches: [["h1"], ["h2"]], events: dirtyEvents)
        #expect(digests(dirtyEvents) == ["h1": ["not compared: the rollout stopped before any host changed"]])

        // h1 fails its gate in batch 1: h2 never starts.
        let failing = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        failing.unhealthy(on: "h1", at: newSHA)
        let failingEvents = EventLog()
        _ = try await run(failing, batches: [["h1"], ["h2"]], events: failingEvents)
        #expect(digests(failingEvents) == ["h1": ["not compared: the host changes revision"], "h2": ["not compared: the host did not start"]])

        // A good rollout: each host once, where it is compared.
        let good = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        let goodEvents = EventLog()
        _ = try await run(good, batches: [["h1"], ["h2"]], events: goodEvents)
        #expect(digests(goodEvents) == ["h1": ["not compared: the host changes revision"], "h2": ["not compared: the host changes revision"]])
    }

    @Test func aDirtyWorkingTreeOnAnyHostRefusesBeforeAnyHostChanges() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        fleet.scripted.on("status --porcelain", host: "h2",
                          reply: CommandResult(exitStatus: 1, stderr: "/srv/app has local changes\n"))
        let outcome = try await run(fleet, batches: [["h1"], ["h2"]])

        #expect(outcome.result == .stopped)
        #expect(outcome.error == .stepFailed(service: "app", host: "h2", step: StepName(.preflight),
                                             reason: "/srv/app has local changes (exit status 1)"))
        #expect(fleet.checkouts(on: "h1").isEmpty && fleet.checkouts(on: "h2").isEmpty)
        #expect(fleet.lockHolder("h1") == nil && fleet.lockHolder("h2") == nil)
    }

    @Test func everyHostWhosePreflightFailsIsNamedWithItsReason() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2", "h3")))
        for host in ["h1", "h3"] {
            fleet.scripted.on("status --porcelain", host: host,
                              reply: CommandResult(exitStatus: 1, stderr: "/srv/app on \(host) has local changes\n"))
        }
        let events = EventLog()
        let outcome = try await run(fleet, batches: [["h1"], ["h2"], ["h3"]], events: events)

        #expect(outcome.result == .stopped)
        #expect(outcome.hosts.map(\.result) == [.failed, .notStarted, .failed])
        #expect(outcome.hosts.map(\.reason) == ["/srv/app on h1 has local changes (exit status 1)", nil,
                                               "/srv/app on h3 has local changes (exit status 1)"])
        let description = try #require(outcome.error?.description)
        #expect(description.contains("preflight failed on h1: /srv/app on h1 has local changes")
            && description.contains("preflight failed on h3: /srv/app on h3 has local changes"), "\(description)")
        let failed = events.all.filter { if case .hostFailed = $0.payload { return true } else { return false } }.compactMap(\.host)
        #expect(failed.sorted() == ["h1", "h3"])
        #expect(fleet.checkouts(on: "h1").isEmpty && fleet.checkouts(on: "h2").isEmpty && fleet.checkouts(on: "h3").isEmpty)
    }

    @Test func anUnreachableHostStopsEverythingBeforeAnyLock() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        fleet.scripted.failConnect(host: "h2", with: [.connectFailed(host: "h2", reason: "host key mismatch")])
        let outcome = try await run(fleet, batches: [["h1"], ["h2"]])

        #expect(outcome.error?.category == .unreachable)
        #expect(outcome.result == .stopped)
        // The unreachable host is named on its own row, with its reason; the reachable one did not start.
        #expect(outcome.hosts.map(\.result) == [.notStarted, .failed])
        #expect(outcome.hosts[1].failedStep == StepName(.connect) && outcome.hosts[1].reason == "could not connect: host key mismatch")
        #expect(fleet.scripted.calls.compactMap(\.command).isEmpty)
    }

    @Test func aLockCommandThatTimesOutAfterTakingTheLockStillHasItReleased() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        // h2's lock is created, then the command hangs past the bookkeeping timeout (2 s here).
        fleet.scripted.on("mktemp -d .lock-new", host: "h2") { host, command in
            fleet.holdLock(host, ownerJSON: FakeFleet.quotedJSON(in: command) ?? "?")
            try await Task.sleep(for: .seconds(10))
            return CommandResult(exitStatus: 0)
        }
        let outcome = try await run(fleet, batches: [["h1"], ["h2"]])

        #expect(outcome.error?.category == .failed)
        #expect(fleet.lockHolder("h1") == nil)
        #expect(fleet.lockHolder("h2") == nil, "the lock the timed-out command took was released with the rollout's token")
        #expect(fleet.checkouts(on: "h1").isEmpty && fleet.checkouts(on: "h2").isEmpty)
    }

    @Test func aRollbackWithUnreachableHostsNamesEachAndHowToRollBackTheOthers() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2", "h3", "h4")))
        fleet.scripted.failConnect(host: "h1", with: [.connectFailed(host: "h1", reason: "no route to host")])
        fleet.scripted.failConnect(host: "h3", with: [.connectFailed(host: "h3", reason: "host key mismatch")])
        let outcome = try await run(fleet, batches: [["h1"], ["h2"], ["h3"], ["h4"]], action: .rollback, ref: nil)

        #expect(outcome.error?.category == .unreachable)
        let message = try #require(outcome.error?.description)
        #expect(message.contains("h1: could not connect: no route to host; h3: could not connect: host key mismatch"), "\(message)")
        #expect(message.hasSuffix("To roll back the other hosts now: `openclaw-deploy rollback app --host h2 --host h4`."), "\(message)")
        #expect(fleet.scripted.calls.compactMap(\.command).isEmpty)
    }
}
