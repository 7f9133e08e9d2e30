import Foundation
import Testing

/// SPEC "Output an operator can trust and read", end to end: what the summary says matches the hosts, every
/// failed host is named, a stop before any change is `stopped`. Part of the serialized suite.
extension RolloutEndToEndTests {
    /// Lines of cs-1's sshd command log (every command line it received).
    static func commandCount(_ host: String) throws -> Int {
        try String(contentsOfFile: "\(Sandbox.dir)/hosts/\(host)/commands.log", encoding: .utf8).split(separator: "\0").count
    }

    @Test func aSecondCtrlCDuringAPutBackStartsNoNewCommandAndTheSummaryMatchesStatus() throws {
        // The broken release fails its gate after 4 s; cs-1 is then put back. The second Ctrl-C lands as the
        // put back begins (its compose logs were just shown).
        let inventory = try Sandbox.inventoryVariant([("timeout: 30s", "timeout: 4s")])
        let running = try Command.Running(try Sandbox.binary, ["deploy", "customer-service", "--ref", "broken", "--format", "json",
                                                               "-i", inventory], environment: [:])
        let deadline = Date().addingTimeInterval(120)
        while !running.stdout.contains("\"compose_logs\"") && running.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(running.stdout.contains("\"compose_logs\""), "the put back never started:\n\(running.stdout)")
        running.signal(SIGINT)
        Thread.sleep(forTimeInterval: 0.05)
        running.signal(SIGINT)
        let sentAt = try Self.commandCount("cs-1") + Self.commandCount("cs-2")
        let result = try running.wait(timeout: 120)
        let after = try Self.commandCount("cs-1") + Self.commandCount("cs-2")

        // At most the command in flight when the signal came, if the host logged it only after that: no new one.
        // (Going on, the put back ran its remaining steps, and each host's unlock followed.)
        #expect(after - sentAt <= 1, "\(after - sentAt) commands reached the hosts after the second Ctrl-C")
        let finished = try #require(try jsonLines(result.stdout).last { $0["event"] as? String == "deploy_finished" },
                                    "\(result.stdout)\(result.stderr)")
        let hosts = try #require(finished["hosts"] as? [[String: Any]])
        let cs1 = try #require(hosts.first { $0["host"] as? String == "cs-1" })
        let status = try Sandbox.deployTool(["status", "customer-service", "--host", "cs-1", "--format", "json"], inventory: inventory)
        let row = try #require((try jsonDocument(status.stdout)["hosts"] as? [[String: Any]])?.first)
        let healthy = (row["health"] as? [String: Any])?["healthy"] as? Bool
        // What the summary says of cs-1 is what status finds there.
        switch cs1["result"] as? String {
        case "rolled_back":
            #expect(row["revision"] as? String == v1 && healthy == true, "summary: back on v1, healthy; status: \(row)")
            #expect(result.status == 1)
        case "interrupted":
            let reason = cs1["reason"] as? String ?? ""
            #expect(reason.contains("stopped at once by a second Ctrl-C"), "\(reason)")
            if let revision = cs1["revision"] as? String {
                #expect(row["revision"] as? String == revision, "summary: on \(revision); status: \(row)")
            }
            #expect(result.status == 2, "a host left mid-way needs a look: \(result.stderr)")
        default:
            Issue.record("cs-1 ended \(String(describing: cs1["result"])): \(cs1)")
        }
        #expect(hosts.first { $0["host"] as? String == "cs-2" }?["result"] as? String == "not_started")
        #expect(try Sandbox.revision("cs-2") == v1)
        // Locks are left (no command after the second Ctrl-C); the message says how to release them.
        #expect(result.stderr.contains("lock release customer-service --force"), "\(result.stderr)")
    }

    @Test func aMistypedRefStopsBeforeAnyHostChangedAndSaysStopped() throws {
        let result = try Sandbox.deployTool(["deploy", "customer-service", "--ref", "v9.9.9", "--format", "json"])
        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        let events = try jsonLines(result.stdout)
        #expect(events.last?["result"] as? String == "stopped", "\(events.last ?? [:])")
        let text = try Sandbox.deployTool(["deploy", "customer-service", "--ref", "v9.9.9"])
        #expect(text.status == 1)
        #expect(text.stdout.contains("customer-service: deploy stopped before any host changed"), "\(text.stdout)")
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
    }

    @Test func everyHostWhosePreflightFailedIsNamedInTheTableTheEventsAndTheError() throws {
        let inventory = try Sandbox.inventoryVariant([("repo: { path: ~/openclaw/customer-service,", "repo: { path: ~/openclaw/missing-checkout,")])
        let json = try Sandbox.deployTool(["deploy", "customer-service", "--format", "json"], inventory: inventory)
        #expect(json.status == 1, "\(json.stderr)\(json.stdout)")
        let events = try jsonLines(json.stdout)
        let failed = events.filter { $0["event"] as? String == "host_failed" }.compactMap { $0["host"] as? String }
        #expect(failed.sorted() == ["cs-1", "cs-2"], "\(json.stdout)")
        let hosts = try #require(events.last?["hosts"] as? [[String: Any]])
        for host in hosts {
            #expect(host["result"] as? String == "failed" && (host["reason"] as? String)?.contains("does not exist") == true, "\(host)")
        }
        let text = try Sandbox.deployTool(["deploy", "customer-service"], inventory: inventory)
        #expect(text.status == 1)
        for host in ["cs-1", "cs-2"] {
            #expect(text.stderr.contains("preflight failed on \(host)"), "\(text.stderr)")
            let row = text.stdout.split(separator: "\n").first { $0.hasPrefix("  \(host)  failed") }
            #expect(row != nil, "no failed row for \(host):\n\(text.stdout)")
        }
    }
}

extension RolloutEndToEndTests {
    @Test func servicesNamedOnTheCommandLineRunOneAfterAnotherInTheOrderGiven() throws {
        let result = try Sandbox.deployTool(["deploy", "content", "customer-service", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)\(result.stdout)")
        let marks = try jsonLines(result.stdout).compactMap { event -> String? in
            guard let name = event["event"] as? String, name == "deploy_started" || name == "deploy_finished" else { return nil }
            return "\(name) \(event["service"] as? String ?? "?")"
        }
        #expect(marks == ["deploy_started content", "deploy_finished content",
                          "deploy_started customer-service", "deploy_finished customer-service"], "\(marks)")
        let twice = try Sandbox.deployTool(["deploy", "content", "content"])
        #expect(twice.status == 64 && twice.stderr.contains("\"content\" is named more than once"), "\(twice.stderr)")
    }
}
