import Foundation
import Plan
import Testing

/// Ctrl-C, racing deploys, a branch that moves mid-rollout, several services, and the machine forms.
/// Part of the same serialized suite: one sandbox, one test at a time.
extension RolloutEndToEndTests {
    /// Ctrl-C, SIGTERM, and SIGHUP (a closed terminal) are handled alike.
    @Test(arguments: [SIGINT, SIGTERM, SIGHUP])
    func ctrlCDuringTheHealthGatePutsTheHostBackAndReleasesLocks(signal: Int32) throws {
        // Interrupt at the first probe of cs-1's gate (404s until the 30 s timeout).
        let running = try brokenDeployInCs1Gate()
        running.signal(signal)
        let result = try running.wait(timeout: 120)

        // The tool's own exit after putting the host back; had the signal killed it, the status would be 128 + signal.
        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        let events = try jsonLines(result.stdout)
        // The gate stopped waiting for the operator: a gate that ran to its timeout fails with "no … 2xx … within".
        let failures = events.filter { $0["event"] as? String == "host_failed" }
        #expect(failures.count == 1, "\(failures)")
        #expect(failures.first?["host"] as? String == "cs-1")
        #expect(failures.first?["step"] as? String == "health_gate")
        #expect(failures.first?["reason"] as? String == "stopped by the operator", "\(failures)")
        #expect(events.last?["event"] as? String == "deploy_finished")
        #expect(events.last?["result"] as? String == "rolled_back")
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
        #expect(try Sandbox.history("cs-2", service: "customer-service").isEmpty, "no new host started")
        #expect(try !Sandbox.isLocked("cs-1", service: "customer-service") && !Sandbox.isLocked("cs-2", service: "customer-service"))
    }

    @Test func twoDeploysOfOneServiceStartedAtOnceLetExactlyOneProceed() throws {
        let binary = try Sandbox.binary
        let args = ["deploy", "customer-service", "-i", Sandbox.inventory]
        let first = try Command.Running(binary, args, environment: [:])
        let second = try Command.Running(binary, args, environment: [:])
        let results = [try first.wait(timeout: 240), try second.wait(timeout: 240)]

        #expect(results.map(\.status).sorted() == [0, 3], "\(results.map { "\($0.status): \($0.stderr)" })")
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
        #expect(try Sandbox.history("cs-1", service: "customer-service").map { $0["result"] as? String } == ["started", "succeeded"],
                "one deploy ran")
    }

    /// `--lock-wait`: the second deploy waits for the first (holding no lock), then runs and finds the hosts on the
    /// target already.
    @Test func aDeployWithLockWaitWaitsForTheOneRunningThenRuns() throws {
        let binary = try Sandbox.binary
        let first = try Command.Running(binary, ["deploy", "customer-service", "--format", "json", "-i", Sandbox.inventory], environment: [:])
        let deadline = Date().addingTimeInterval(120)
        while first.stdout.components(separatedBy: "taken until").count < 3 && first.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let second = try Command.Running(binary, ["deploy", "customer-service", "--lock-wait", "2m", "--format", "json", "-i", Sandbox.inventory],
                                         environment: [:])
        let firstResult = try first.wait(timeout: 240)
        let secondResult = try second.wait(timeout: 240)

        #expect(firstResult.status == 0, "\(firstResult.stderr)")
        #expect(secondResult.status == 0, "\(secondResult.stderr)")
        let events = try jsonLines(secondResult.stdout)
        let waits = events.filter { $0["event"] as? String == "lock_wait" }
        #expect(!waits.isEmpty, "the second deploy never waited:\n\(secondResult.stdout)")
        #expect((waits.first?["holder"] as? String)?.contains("for \"deploy main\"") == true, "\(waits.first ?? [:])")
        #expect(events.last?["result"] as? String == "no_change", "\(events.last ?? [:])")
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
    }

    @Test func lockWaitEndsWithExit3WhenTheLockIsStillHeld() throws {
        try placeLock(on: "cs-2", expires: "2999-01-01T00:00:00Z")
        let start = Date()
        let result = try Sandbox.deployTool(["deploy", "customer-service", "--lock-wait", "3s"])
        let took = Date().timeIntervalSince(start)

        #expect(result.status == 3, "\(result.stderr)")
        #expect(took >= 3, "it gave up after \(took) s")
        #expect(result.stdout.contains("locked by mallory on elsewhere (pid 4242)"), "\(result.stdout)")
        #expect(result.stdout.contains("waiting up to"), "\(result.stdout)")
        #expect(try Sandbox.ssh("cs-1", "test -e ~/.openclaw-deploy/customer-service/lock && echo held || echo free").checked().stdout == "free\n",
                "a waiting rollout holds no lock")
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
    }

    @Test func aBranchPushedToDuringARolloutDoesNotSplitTheHosts() throws {
        let running = try Command.Running(try Sandbox.binary, ["deploy", "customer-service", "--format", "json", "-i", Sandbox.inventory],
                                          environment: [:])
        let deadline = Date().addingTimeInterval(120)
        while !running.stdout.contains("\"step\":\"resolve\"") && running.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let pushed = try Sandbox.pushToMain("customer-service", message: "pushed mid-rollout")
        let result = try running.wait(timeout: 240)

        #expect(result.status == 0, "\(result.stderr)")
        #expect(pushed != v2)
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
        let finished = try jsonLines(result.stdout).last
        #expect(finished?["sha"] as? String == v2)
    }

    @Test func deployAllRollsOutEveryServiceByItsOwnPolicy() throws {
        let result = try Sandbox.deployTool(["deploy", "--all", "--parallel", "2", "--format", "json"])

        #expect(result.status == 0, "\(result.stderr)")
        let finished = try jsonLines(result.stdout).filter { $0["event"] as? String == "deploy_finished" }
        #expect(Set(finished.compactMap { $0["service"] as? String }) == ["customer-service", "content"])
        #expect(finished.allSatisfy { $0["result"] as? String == "succeeded" })
        let contentV2 = try Sandbox.originSHA("content", "v2")
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
        try expectOn(contentV2, serving: "v2", ["content-1", "content-2"])
        // Tier 95 changes both content hosts in one batch; tier 99.9 one customer-service host at a time.
        let started = try jsonLines(result.stdout).filter { $0["event"] as? String == "deploy_started" }
        let batches = Dictionary(uniqueKeysWithValues: started.map { ($0["service"] as! String, $0["batches"] as! [[String]]) })
        #expect(batches["content"] == [["content-1", "content-2"]])
        #expect(batches["customer-service"] == [["cs-1"], ["cs-2"]])
    }

    @Test func planCheckWithDetailedExitcodeSaysChangesPendingThenNothing() throws {
        let pending = try Sandbox.deployTool(["plan", "customer-service", "--check", "--detailed-exitcode"])
        #expect(pending.status == 2, "\(pending.stderr)\(pending.stdout)")
        try Sandbox.deployTool(["deploy", "customer-service"]).checked()
        let clean = try Sandbox.deployTool(["plan", "customer-service", "--check", "--detailed-exitcode"])
        #expect(clean.status == 0, "\(clean.stderr)\(clean.stdout)")
    }

    @Test func jsonEventsParseAndEndInDeployFinished() throws {
        let result = try Sandbox.deployTool(["deploy", "customer-service", "--format", "json"])

        #expect(result.status == 0, "\(result.stderr)")
        let events = try jsonLines(result.stdout)
        #expect(events.first?["event"] as? String == "deploy_started")
        #expect(events.last?["event"] as? String == "deploy_finished")
        #expect(events.last?["result"] as? String == "succeeded")
        let names = Set(events.compactMap { $0["event"] as? String })
        #expect(names.isSuperset(of: ["deploy_started", "host_started", "step", "health_probe", "host_succeeded", "deploy_finished"]))
        for event in events {
            #expect(event["time"] is String && event["service"] as? String == "customer-service")
            // Steps of the whole service (the capacity floor's check before a batch) name no host.
            let serviceWide = ["capacity", "rollback_target", "watch"].contains(event["step"] as? String ?? "")
            if ["host_started", "step", "health_probe", "host_succeeded"].contains(event["event"] as? String), !serviceWide {
                #expect(event["host"] is String, "\(event)")
            }
        }
    }

    @Test func statusAndHistoryAsJSONDocuments() throws {
        try Sandbox.deployTool(["deploy", "customer-service"]).checked()
        let status = try Sandbox.deployTool(["status", "--format", "json"])

        #expect(status.status == 0, "\(status.stderr)")
        let rows = try jsonDocument(status.stdout)["hosts"] as? [[String: Any]] ?? []
        #expect(rows.count == 4)
        let byHost = Dictionary(uniqueKeysWithValues: rows.map { ($0["host"] as! String, $0) })
        #expect(byHost["cs-1"]?["revision"] as? String == v2)
        #expect(byHost["content-1"]?["revision"] as? String == (try Sandbox.originSHA("content", "v1")))
        #expect(rows.allSatisfy { $0["reachable"] as? Bool == true })
        #expect((byHost["cs-2"]?["health"] as? [String: Any])?["healthy"] as? Bool == true)
        #expect(byHost["cs-1"]?["lock"] is NSNull)

        let history = try Sandbox.deployTool(["history", "customer-service", "--format", "json"])
        #expect(history.status == 0, "\(history.stderr)")
        let records = try jsonDocument(history.stdout)["records"] as? [[String: Any]] ?? []
        #expect(records.count == 2)
        #expect(Set(records.compactMap { $0["host"] as? String }) == ["cs-1", "cs-2"])
        #expect(records.allSatisfy { $0["to"] as? String == v2 && $0["result"] as? String == "succeeded" })
    }
}
