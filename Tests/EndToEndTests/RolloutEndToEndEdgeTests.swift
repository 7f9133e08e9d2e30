import Fleet
import Foundation
import Plan
import Testing

/// SPEC "Locks are leases", "History is written ahead", "Rollback", "Honest status", "Output is safe to
/// read", against the sandbox hosts, checking their real state. Part of the serialized suite.
extension RolloutEndToEndTests {
    /// Starts `deploy customer-service --ref broken` and waits for the first probe of cs-1's gate (the
    /// broken release answers 404 until the gate's 30 s timeout).
    func brokenDeployInCs1Gate() throws -> Command.Running {
        let running = try Command.Running(try Sandbox.binary,
                                          ["deploy", "customer-service", "--ref", "broken", "--format", "json", "-i", Sandbox.inventory],
                                          environment: [:])
        let deadline = Date().addingTimeInterval(120)
        while !running.stdout.contains("\"health_probe\"") && running.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(running.stdout.contains("\"health_probe\""), "the deploy never reached cs-1's gate:\n\(running.stdout)")
        return running
    }

    @Test func aLockReleasedByForceDuringAGateStopsTheRolloutAtOnce() throws {
        let running = try brokenDeployInCs1Gate()
        try Sandbox.deployTool(["lock", "release", "customer-service", "--force"]).checked()
        // The next refresh (every 20 s) finds the lock gone.
        let result = try running.wait(timeout: 120)

        #expect(result.status == 2, "cs-1 had changed: \(result.stderr)\(result.stdout)")
        #expect(result.stderr.contains("the rollout lost its lock and stopped at once: the lock on cs-1 was removed or taken over"),
                "\(result.stderr)")
        let events = try jsonLines(result.stdout)
        // No put back, and batch 2 never started.
        #expect(!events.contains { $0["event"] as? String == "step" && $0["phase"] as? String == "put_back" })
        #expect(try Sandbox.revision("cs-1") == broken)
        #expect(try Sandbox.revision("cs-2") == v1)
        #expect(try Sandbox.history("cs-2", service: "customer-service").isEmpty)
        #expect(try Sandbox.history("cs-1", service: "customer-service").map { $0["result"] as? String } == ["started"])
        #expect(try !Sandbox.isLocked("cs-2", service: "customer-service"))
    }

    @Test func aKilledDeployIsSeenAndRolledBackHostByHost() throws {
        let running = try brokenDeployInCs1Gate()
        running.signal(SIGKILL)
        _ = try? running.wait(timeout: 30)
        #expect(try Sandbox.isLocked("cs-1", service: "customer-service"), "SIGKILL leaves the lock behind")

        // Its holder, a process of this machine, is gone: the lock is stale at once, no --force needed.
        let status = try Sandbox.deployTool(["lock", "status", "customer-service"])
        #expect(status.stdout.contains("STALE: its holder, pid"), "\(status.stdout)")
        try Sandbox.deployTool(["lock", "release", "customer-service"]).checked()
        #expect(try !Sandbox.isLocked("cs-1", service: "customer-service"))

        let history = try jsonDocument(try Sandbox.deployTool(["history", "customer-service", "--format", "json"]).checked().stdout)
        let records = try #require(history["records"] as? [[String: Any]])
        #expect(records.map { $0["host"] as? String } == ["cs-1"])
        #expect(records.first?["result"] as? String == "interrupted")
        #expect(records.first?["to"] as? String == broken)

        // The host is flagged until a rollout ends there.
        #expect(try Sandbox.deployTool(["status", "customer-service"]).status == 1)

        // The dry run names the revision before the killed deploy and changes nothing.
        let dryRun = try Sandbox.deployTool(["rollback", "customer-service", "--dry-run", "--format", "json"]).checked()
        let plan = try jsonDocument(dryRun.stdout)
        let target = try #require((plan["services"] as? [[String: Any]])?.first?["target"] as? [String: Any])
        #expect(target["sha"] as? String == v1)
        #expect(try Sandbox.revision("cs-1") == broken)
        #expect(try !Sandbox.isLocked("cs-1", service: "customer-service"))

        let rollback = try Sandbox.deployTool(["rollback", "customer-service", "--format", "json"])
        #expect(rollback.status == 0, "\(rollback.stderr)\(rollback.stdout)")
        let finished = try #require(try jsonLines(rollback.stdout).last)
        let hosts = try #require(finished["hosts"] as? [[String: Any]])
        // Only cs-1 moves. cs-2 stays on v1; the sandbox reset left it without an environment from the tool, so it
        // is given one (compose up and the gate on the same commit).
        #expect(hosts.map { $0["host"] as? String } == ["cs-1", "cs-2"])
        #expect(hosts.first?["result"] as? String == "succeeded" && hosts.first?["from"] as? String == broken)
        #expect(hosts.last?["from"] as? String == v1 && hosts.last?["to"] as? String == v1)
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
        #expect(try Sandbox.deployTool(["status", "customer-service"]).status == 0)
    }

    @Test func aPartialOwnerFileStillNamesItsHolder() throws {
        try Sandbox.ssh("cs-1", #"mkdir -p ~/.openclaw-deploy/customer-service/lock && printf '%s\n' '{"operator":"bob","machine":"old-box","target":"deploy v9"}' > ~/.openclaw-deploy/customer-service/lock/owner.json"#).checked()
        let result = try Sandbox.deployTool(["deploy", "customer-service"])
        #expect(result.status == 3)
        #expect(result.stderr.contains(#"held by bob on old-box, for "deploy v9""#), "\(result.stderr)")
        #expect(!result.stderr.contains("unknown"))
    }

    @Test func aStoppedContainerIsNotHealthyAndAPlanCheckSaysSo() throws {
        try Sandbox.ssh("cs-1", "\(Sandbox.engine) stop -t 0 sandbox-cs-1_app_1 >/dev/null").checked()
        let status = try Sandbox.deployTool(["status", "customer-service"])
        #expect(status.status == 1, "\(status.stdout)")
        #expect(status.stdout.contains("UNHEALTHY"))
        // The container's state comes from the engine: not up, and named with what the engine says of it.
        #expect(status.stdout.contains("0/1 up") && status.stdout.contains("cs-1: container sandbox-cs-1_app_1 is exited with"),
                "\(status.stdout)")
        let check = try Sandbox.deployTool(["plan", "customer-service", "--ref", "v1", "--check", "--detailed-exitcode"])
        #expect(check.status == 2, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("cs-1") && check.stdout.contains("not healthy"), "\(check.stdout)")
    }

    @Test func textFromTheInventoryAndFromHostsIsPrintedEscaped() throws {
        let inventory = try Sandbox.inventoryVariant([("description: ", "description: \"eve\\e[2J\" #")])
        let plan = try Sandbox.deployTool(["plan", "customer-service"], inventory: inventory).checked()
        #expect(plan.stdout.contains(#"eve\x1b[2J"#), "\(plan.stdout)")
        #expect(!plan.stdout.contains("\u{1B}"))

        // Valid JSON whose operator holds an ESC (`\u001b`), as a hostile or broken writer could leave it.
        try Sandbox.ssh("cs-1", #"mkdir -p ~/.openclaw-deploy/customer-service/lock && printf '%s\n' '{"operator":"eve\u001b[31m","machine":"m"}' > ~/.openclaw-deploy/customer-service/lock/owner.json"#).checked()
        let lock = try Sandbox.deployTool(["lock", "status", "customer-service"]).checked()
        #expect(lock.stdout.contains(#"eve\x1b[31m on m"#), "\(lock.stdout)")
        #expect(!lock.stdout.contains("\u{1B}"))
    }

    /// SPEC "Runtimes": `status` reads each container from the engine by the project's label, on podman and on
    /// Docker Engine (docker-compose v1's `ps` table has no STATUS column; nothing reads it).
    @Test func statusShowsEachContainerAsTheEngineReportsIt() throws {
        let status = try Sandbox.deployTool(["status", "customer-service", "--format", "json"])
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        let hosts = try #require(try jsonDocument(status.stdout)["hosts"] as? [[String: Any]])
        for host in hosts {
            let compose = try #require(host["compose"] as? [String: Any], "\(host)")
            #expect(compose["containers"] as? Int == 1 && compose["up"] as? Int == 1, "\(compose)")
            let list = try #require(compose["list"] as? [[String: Any]])
            let name = "sandbox-\(host["host"] as? String ?? "?")_app_1"
            #expect(list.first?["name"] as? String == name && list.first?["state"] as? String == "running"
                && list.first?["up"] as? Bool == true, "\(list)")
        }
        let text = try Sandbox.deployTool(["status", "customer-service"])
        #expect(text.stdout.contains("cs-1  yes") && text.stdout.contains("1/1 up"), "\(text.stdout)")
    }
}
