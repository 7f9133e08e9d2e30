import Foundation
import Plan
import Testing
import TestSupport

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
        // Counted once the tool has had the time to take the signal in: a command it started in the instant between
        // the signal and its handler is not one started after the abort.
        Thread.sleep(forTimeInterval: 0.1)
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

    /// A `before` hook that ignores TERM keeps the rollout from coming back after a second Ctrl-C: the process exits
    /// by its own timer, and the JSON stream still ends the service with its `deploy_finished`.
    @Test func aRolloutThatDoesNotComeBackAfterASecondCtrlCStillEndsItsJSONStream() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: marker) }
        // The hook writes its process group (its own pid: it leads one) into the marker.
        let hook = "[sh, -c, \"trap '' TERM; echo $$ > '\(marker).tmp'; mv '\(marker).tmp' '\(marker)'; sleep 20\"]"
        let inventory = try Sandbox.inventoryVariant([("    env:\n      LOG_LEVEL: info", "    hooks: { before: \(hook) }\n    env:\n      LOG_LEVEL: info")])
        let running = try Command.Running(try Sandbox.binary, ["deploy", "customer-service", "--format", "json", "-i", inventory], environment: [:])
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: marker) && running.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(FileManager.default.fileExists(atPath: marker), "the hook never ran:\n\(running.stdout)")
        running.signal(SIGINT)
        Thread.sleep(forTimeInterval: 0.05)
        running.signal(SIGINT)
        let result = try running.wait(timeout: 60)

        #expect(result.stderr.contains("stopping at once."), "\(result.stderr)")
        let finished = try #require(try jsonLines(result.stdout).last { $0["event"] as? String == "deploy_finished" }, "\(result.stdout)")
        #expect(finished["aborted"] as? Bool == true)
        #expect(finished["result"] as? String == "stopped", "\(finished)")
        #expect(finished["exit_code"] as? Int == Int(result.status), "\(finished)")
        #expect(result.status == 1, "\(result.stderr)")
        let hosts = try #require(finished["hosts"] as? [[String: Any]])
        #expect(hosts.compactMap { $0["result"] as? String } == ["not_started", "not_started"], "\(hosts)")
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
        // The hook, which ignores TERM, did not outlive the tool.
        let group = try #require(Int32(try String(contentsOfFile: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let gone = Date().addingTimeInterval(5)
        while !ProcessGroups.alive(group).isEmpty && Date() < gone { Thread.sleep(forTimeInterval: 0.05) }
        #expect(ProcessGroups.alive(group).isEmpty, "left running: \(ProcessGroups.alive(group))")
        kill(-group, SIGKILL)
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
        // The preflight and plan --check both point at setup.
        #expect(text.stderr.contains("does not exist on the host; `openclaw-deploy setup customer-service` clones it"), "\(text.stderr)")
        let check = try Sandbox.deployTool(["plan", "customer-service", "--check"], inventory: inventory)
        #expect(check.status == 1 && check.stdout.contains("cs-1  failed: the checkout ~/openclaw/missing-checkout does not exist; "
            + "`openclaw-deploy setup customer-service` clones it") && check.stdout.contains("2 could not be read"), "\(check.stdout)")
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

extension RolloutEndToEndTests {
    /// The tool's text under a terminal of 80 columns (`script` gives it a pty; `COLUMNS` its width): each line
    /// as a terminal shows it (escape sequences and the `\r` of rewritten progress lines taken apart).
    static func onTerminal(_ arguments: [String], inventory: String) throws -> (status: Int32, lines: [String]) {
        let command = ([try Sandbox.binary] + arguments + ["-i", inventory]).map { "'\($0)'" }.joined(separator: " ")
        let result = try Command.run("/usr/bin/script", ["-q", "-e", "-c", command, "/dev/null"], timeout: 240,
                                     environment: ["COLUMNS": "80", "NO_COLOR": "1", "TERM": "xterm"])
        let plain = result.stdout.replacingOccurrences(of: "\u{1B}\\[[0-9;]*[A-Za-z]", with: "", options: .regularExpression)
        // A terminal's line end is CRLF (one Character to Swift): split on the scalars.
        let lines = plain.unicodeScalars.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { String(String.UnicodeScalarView($0)) }
        return (result.status, lines)
    }

    @Test func everyTextCommandOfOneServiceFitsEightyColumnsOnATerminal() throws {
        let inventory = try Sandbox.inventoryVariant([("timeout: 30s", "timeout: 4s")])
        let commands: [[String]] = [
            ["deploy", "customer-service", "--ref", "broken"],
            ["deploy", "customer-service"],
            ["status", "customer-service"],
            ["history", "customer-service"],
            ["plan", "customer-service"],
            ["plan", "customer-service", "--check"],
            ["rollback", "customer-service", "--dry-run"],
            ["lock", "status", "customer-service"],
            ["deploy", "customer-servic"],
            ["setup", "customer-service", "--dry-run"],
            ["help", "deploy"], ["help", "rollback"], ["help", "status"], ["help", "history"], ["help", "logs"], ["help", "exec"],
            ["help", "plan"], ["help", "setup"], ["help", "lock", "status"], ["help", "lock", "release"], ["help", "inventory", "check"],
            ["help", "gateway", "render"], ["help", "gateway", "deploy"], ["help", "gateway", "rollback"],
            ["help", "maintenance", "on"], ["help", "maintenance", "off"], ["help", "prune"],
            [],
        ]
        for arguments in commands {
            let (status, lines) = try Self.onTerminal(arguments, inventory: inventory)
            #expect(!lines.joined().isEmpty, "\(arguments): no output (exit \(status))")
            for line in lines where line.count > 80 {
                Issue.record("\(arguments.joined(separator: " ")): \(line.count) columns: \(line)")
            }
        }
        // --wide keeps long lines whole.
        let (_, wide) = try Self.onTerminal(["history", "customer-service", "--wide"], inventory: inventory)
        #expect(wide.contains { $0.count > 80 }, "\(wide)")
    }
}

extension RolloutEndToEndTests {
    @Test func rollbackNamesTheDeployItUndoesBeforeItStartsAndInItsDryRun() throws {
        #expect(try Sandbox.deployTool(["deploy", "customer-service"]).status == 0)
        let records = try jsonDocument(try Sandbox.deployTool(["history", "customer-service", "--format", "json"]).stdout)["records"]
            as? [[String: Any]] ?? []
        let deploy = try #require(records.first { $0["action"] as? String == "deploy" && $0["result"] as? String == "succeeded" })
        let id = try #require(deploy["id"] as? String)
        let words = "deploy \(id) of main (\(v2.prefix(12))), \(deploy["started_at"] as? String ?? "?"), by \(deploy["operator"] as? String ?? "?")"

        let dryRun = try Sandbox.deployTool(["rollback", "customer-service", "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.contains("undoes \(words)"), "\(dryRun.stdout)")

        let rollback = try Sandbox.deployTool(["rollback", "customer-service", "--format", "json"])
        #expect(rollback.status == 0, "\(rollback.stderr)\(rollback.stdout)")
        let events = try jsonLines(rollback.stdout)
        let named = events.firstIndex { $0["step"] as? String == "rollback_target" }
        let firstChange = events.firstIndex { $0["step"] as? String == "checkout" }
        #expect((named.map { events[$0]["detail"] as? String } ?? nil) == "undoing \(words): back to \(v1.prefix(12))")
        #expect(named != nil && firstChange != nil && named! < firstChange!, "named before any host changed")
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
    }
}

extension RolloutEndToEndTests {
    @Test func setupClonesAMissingCheckoutAndASecondSetupChangesNothing() throws {
        try Sandbox.ssh("cs-1", "rm -rf ~/openclaw/customer-service ~/.openclaw-deploy/customer-service").checked()
        let dryRun = try Sandbox.deployTool(["setup", "customer-service", "--host", "cs-1", "--dry-run"])
        #expect(dryRun.status == 1, "\(dryRun.stderr)\(dryRun.stdout)")
        #expect(dryRun.stdout.contains("would clone /var/lib/openclaw-sandbox/origin/customer-service.git into ~/openclaw/customer-service"),
                "\(dryRun.stdout)")
        #expect(try Sandbox.ssh("cs-1", "test -e ~/openclaw/customer-service && echo there || echo gone").stdout == "gone\n")

        let first = try Sandbox.deployTool(["setup", "customer-service", "--format", "json"])
        #expect(first.status == 0, "\(first.stderr)\(first.stdout)")
        let hosts = try #require(try jsonDocument(first.stdout)["hosts"] as? [[String: Any]])
        let changed = hosts.map { host in
            (host["host"] as? String ?? "?", ((host["checks"] as? [[String: Any]]) ?? []).filter { $0["changed"] as? Bool == true }.compactMap { $0["check"] as? String })
        }
        #expect(changed.map(\.0) == ["cs-1", "cs-2"])
        // cs-2 has its checkout; the sandbox's reset removed its state directory, so setup made it.
        #expect(changed[0].1 == ["checkout", "state"] && changed[1].1 == ["state"], "\(changed)")
        #expect(try Sandbox.ssh("cs-1", "git -C ~/openclaw/customer-service remote get-url origin").checked().stdout
            == "/var/lib/openclaw-sandbox/origin/customer-service.git\n")

        let before = try Self.commandCount("cs-1")
        let second = try Sandbox.deployTool(["setup", "customer-service"])
        #expect(second.status == 0, "\(second.stderr)\(second.stdout)")
        #expect(!second.stdout.contains("cloned") && !second.stdout.contains("created") && second.stdout.contains("2 of 2 hosts ready"),
                "\(second.stdout)")
        // The second run only looked: one command (the checks) reached the host.
        #expect(try Self.commandCount("cs-1") - before == 1)
        // A deploy works from the clone.
        #expect(try Sandbox.deployTool(["plan", "customer-service", "--check"]).status == 0)
    }
}
