import Commands
import Foundation
import Plan
import Testing

/// SPEC "The plan is what runs", over real sshd: each sandbox host records every command line it is
/// asked to run (`scripts/sandbox`'s ForceCommand), and what a deploy sent must be, command for
/// command, what `plan --format json` printed for the same arguments. Part of the serialized suite.
extension RolloutEndToEndTests {
    /// The command lines `host` received since the last reset, without the transport's `timeout` wrapper; steps
    /// the plan sends together (one framed script) are taken apart into their commands, in the order they ran.
    static func received(_ host: String, expandingScripts: Bool = true) throws -> [String] {
        let log = try String(contentsOfFile: "\(Sandbox.dir)/hosts/\(host)/commands.log", encoding: .utf8)
        let lines = try log.split(separator: "\0").map { try unwrapTimeout(String($0)) }
        return expandingScripts ? lines.flatMap(sections) : lines
    }

    /// The section commands of a framed script (`ReadScript`), or the line itself when it is not one.
    static func sections(of line: String) -> [String] {
        guard line.hasPrefix("e=$(mktemp 2>/dev/null) || e=/dev/null; trap ") else { return [line] }
        let section = try! NSRegularExpression(pattern: #"'@@openclaw-read [0-9a-f]+ [a-z_]+@@' ; \( (.*?) \) </dev/null 2>"\$e"; s=\$\?;"#,
                                               options: .dotMatchesLineSeparators)
        return section.matches(in: line, range: NSRange(line.startIndex..., in: line)).map { String(line[Range($0.range(at: 1), in: line)!]) }
    }

    /// `printf '@openclaw-group %s\n' "$$" >&2; exec timeout -k 2 30.000 sh -c 'QUOTED'` → the command line inside,
    /// unquoted as `sh` would.
    static func unwrapTimeout(_ line: String) throws -> String {
        guard let range = line.range(of: #"^printf '@openclaw-group %s\\n' "\$\$" >&2; exec timeout -k 2 [0-9.]+ sh -c "#,
                                     options: .regularExpression) else {
            throw SandboxError("a command did not come through the transport's timeout wrapper: \(line)")
        }
        var out = ""
        var quoted = false
        var escaped = false
        for character in line[range.upperBound...] {
            if escaped { out.append(character); escaped = false; continue }
            switch character {
            case "'": quoted.toggle()
            case "\\" where !quoted: escaped = true
            default: out.append(character)
            }
        }
        return out
    }

    /// Whether `line` is the planned `command` with its `<late values>` filled in.
    static func matches(_ line: String, planned command: String) -> Bool {
        let late = try! NSRegularExpression(pattern: "<[a-z][a-z0-9 ./_-]*>")
        // A late value may span lines (a config piece, the drained set).
        var pattern = "(?s)^"
        var last = command.startIndex
        for match in late.matches(in: command, range: NSRange(command.startIndex..., in: command)) {
            let range = Range(match.range, in: command)!
            pattern += NSRegularExpression.escapedPattern(for: String(command[last..<range.lowerBound])) + ".+"
            last = range.upperBound
        }
        pattern += NSRegularExpression.escapedPattern(for: String(command[last...])) + "$"
        return line.range(of: pattern, options: .regularExpression) != nil
    }

    /// The plan's commands for each host (the health gate, a comment line, is a request through the connection).
    func plannedCommands(_ arguments: [String]) throws -> [String: PlannedHost] {
        let result = try Sandbox.deployTool(["plan", "customer-service", "--format", "json"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        return try Self.commands(ofPlan: result.stdout)
    }

    /// Each host's commands in a plan document (printed, or saved by `plan --out`).
    static func commands(ofPlan document: String) throws -> [String: PlannedHost] {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])
        let services = try #require(root["services"] as? [[String: Any]])
        var hosts: [String: PlannedHost] = [:]
        for entry in try #require(services.first?["steps"] as? [[String: Any]]) {
            let commands = try #require(entry["commands"] as? [String]).filter { !$0.hasPrefix("# ") }
            let putBack = try #require(entry["put_back"] as? [String]).filter { !$0.hasPrefix("# ") }
            let refresh = try #require(entry["lock_refresh"] as? String)
            let together = try #require(entry["sent_together"] as? [[String]])
            #expect(together.count == 1)
            hosts[try #require(entry["host"] as? String)] = PlannedHost(forward: commands, putBack: putBack, lockRefresh: refresh,
                                                                        sentTogether: together.first?.count ?? 0)
        }
        return hosts
    }

    /// Compares what `host` received with `planned`; the lock refreshes (periodic, on a connection of their
    /// own) must match the plan's `lock_refresh` and are set aside.
    func expectReceived(_ host: String, _ planned: [String], refresh: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let lines = try Self.received(host).filter { !Self.matches($0, planned: refresh) }
        let received = lines.joined(separator: "\n")
        #expect(lines.count == planned.count, "\(host) received \(lines.count) commands, the plan has \(planned.count):\n\(received)",
                sourceLocation: sourceLocation)
        for (index, (line, command)) in zip(lines, planned).enumerated() {
            #expect(Self.matches(line, planned: command), "\(host) command \(index + 1):\nran:     \(line)\nplanned: \(command)",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func whatEachHostReceivesIsThePlanCommandForCommand() throws {
        let plan = try plannedCommands([])
        let result = try Sandbox.deployTool(["deploy", "customer-service"])
        #expect(result.status == 0, "\(result.stderr)\(result.stdout)")
        for host in ["cs-1", "cs-2"] {
            let planned = try #require(plan[host])
            try expectReceived(host, planned.forward, refresh: planned.lockRefresh)
            // Lock, the steps before a change in one script, history started, checkout, env, compose up, history, unlock.
            let sent = try Self.received(host, expandingScripts: false).filter { !Self.matches($0, planned: planned.lockRefresh) }
            #expect(sent.count == planned.forward.count - planned.sentTogether + 1, "\(host) was sent:\n\(sent.joined(separator: "\n"))")
        }
    }

    /// `status`, `plan --check` and `history` read each host in one round trip (the health probe is a channel of
    /// the same connection, not a command).
    @Test func readOnlyCommandsSendOneCommandPerHost() throws {
        for arguments in [["status", "customer-service"], ["plan", "customer-service", "--check"], ["history", "customer-service"]] {
            try Command.run("/usr/bin/truncate", ["-s", "0", "\(Sandbox.dir)/hosts/cs-1/commands.log", "\(Sandbox.dir)/hosts/cs-2/commands.log"])
                .checked()
            let result = try Sandbox.deployTool(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)\(result.stdout)")
            for host in ["cs-1", "cs-2"] {
                let received = try Self.received(host, expandingScripts: false)
                #expect(received.count == 1, "\(arguments) sent \(host) \(received.count) commands:\n\(received.joined(separator: "\n"))")
            }
        }
        let status = try Sandbox.deployTool(["status", "customer-service", "--format", "json"]).checked()
        let rows = try #require(try jsonDocument(status.stdout)["hosts"] as? [[String: Any]])
        #expect(rows.map { $0["revision"] as? String } == [v1, v1])
        #expect(rows.allSatisfy { ($0["compose"] as? [String: Any])?["up"] as? Int == 1 && $0["ok"] as? Bool == true })
    }

    /// SPEC "Waiting, saved plans, maintenance, prune": `plan --check --out` saves the plan with the target commit and
    /// each host's revision; `deploy --plan` runs it, and each host receives the file's commands, command for command.
    @Test func aSavedPlanRunsAndEachHostReceivesTheFilesCommands() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("saved-plan-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let saved = try Sandbox.deployTool(["plan", "customer-service", "--check", "--out", file])
        #expect(saved.status == 0, "\(saved.stderr)\(saved.stdout)")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect((root["revisions"] as? [String: [String: String]])?["customer-service"] == ["cs-1": v1, "cs-2": v1], "\(text)")
        #expect(((root["services"] as? [[String: Any]])?.first?["target"] as? [String: Any])?["sha"] as? String == v2)
        // No secret: the plan says (secret), and the deploy reads the key when it runs.
        let key = try String(contentsOfFile: "\(Sandbox.dir)/secrets/demo-api.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!key.isEmpty && !text.contains(key))
        #expect(text.contains("(secret)"))
        let plan = try Self.commands(ofPlan: text)

        try Command.run("/usr/bin/truncate", ["-s", "0", "\(Sandbox.dir)/hosts/cs-1/commands.log", "\(Sandbox.dir)/hosts/cs-2/commands.log"])
            .checked()
        let result = try Sandbox.deployTool(["deploy", "--plan", file])
        #expect(result.status == 0, "\(result.stderr)\(result.stdout)")
        for host in ["cs-1", "cs-2"] {
            let planned = try #require(plan[host])
            #expect(planned.forward.contains { $0.contains("checkout --quiet --detach \(v2)") }, "the file names the commit itself")
            // First the read of every host that checks the plan is not stale (one script, read-only), then the plan itself.
            let reads = try Self.received(host, expandingScripts: false)
            #expect(reads.first?.hasPrefix("e=$(mktemp 2>/dev/null) || e=/dev/null; trap ") == true, "\(reads.first ?? "nothing")")
            let check = Self.sections(of: reads.first ?? "")
            #expect(!check.contains { $0.contains("checkout") || $0.contains(" up -d") || $0.contains("lock") }, "\(check)")
            let lines = try Self.received(host).dropFirst(check.count).filter { !Self.matches($0, planned: planned.lockRefresh) }
            #expect(lines.count == planned.forward.count, "\(host):\n\(lines.joined(separator: "\n"))")
            for (line, command) in zip(lines, planned.forward) {
                #expect(Self.matches(line, planned: command), "\(host):\nran:     \(line)\nplanned: \(command)")
            }
        }
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
    }

    /// A saved plan is stale, and refused with what changed (exit 65), when its inventory was edited, or when a host
    /// is no longer on the revision `plan --check --out` saw; nothing runs on any host, or nothing changes.
    @Test func aSavedPlanIsRefusedWhenItsInventoryChangedOrAHostMoved() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("saved-plan-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let inventory = try Sandbox.inventoryVariant([])
        #expect(try Sandbox.deployTool(["plan", "customer-service", "--out", directory + "/offline.json"], inventory: inventory).status == 0)
        let yaml = try String(contentsOfFile: inventory, encoding: .utf8)
        try yaml.replacingOccurrences(of: "LOG_LEVEL: info", with: "LOG_LEVEL: debug").write(toFile: inventory, atomically: true, encoding: .utf8)
        try Command.run("/usr/bin/truncate", ["-s", "0", "\(Sandbox.dir)/hosts/cs-1/commands.log", "\(Sandbox.dir)/hosts/cs-2/commands.log"])
            .checked()
        let edited = try Sandbox.deployTool(["deploy", "--plan", directory + "/offline.json"], inventory: inventory)
        #expect(edited.status == 65, "\(edited.stderr)\(edited.stdout)")
        #expect(edited.stderr.contains("changed since the plan was saved") && edited.stderr.contains("the plan of customer-service differs"),
                "\(edited.stderr)")
        #expect(try Self.received("cs-1").isEmpty && Self.received("cs-2").isEmpty, "no host is contacted")

        // Every host of the plan is read before anything is locked: one that moved refuses the whole plan.
        #expect(try Sandbox.deployTool(["plan", "customer-service", "--check", "--out", directory + "/checked.json"]).status == 0)
        #expect(try Sandbox.deployTool(["deploy", "customer-service", "--host", "cs-1"]).status == 0)
        let moved = try Sandbox.deployTool(["deploy", "--plan", directory + "/checked.json", "--format", "json"])
        #expect(moved.status == 65, "\(moved.stderr)\(moved.stdout)")
        #expect(moved.stderr.contains("customer-service cs-1 was on \(v1.prefix(12)) and is on \(v2.prefix(12)) now"), "\(moved.stderr)")
        #expect(!moved.stdout.contains("deploy_started"), "nothing started: \(moved.stdout)")
        try expectOn(v2, serving: "v2", ["cs-1"])
        try expectOn(v1, serving: "v1", ["cs-2"])

        // The branch moved since: the plan was made for another commit.
        #expect(try Sandbox.deployTool(["plan", "customer-service", "--check", "--out", directory + "/branch.json"]).status == 0)
        let newer = try Self.pushRelease("main") { work in
            try "moved\n".write(toFile: work + "/MOVED", atomically: true, encoding: .utf8)
            try Command.run("/usr/bin/git", ["-C", work, "add", "MOVED"]).checked()
        }
        let branch = try Sandbox.deployTool(["deploy", "--plan", directory + "/branch.json"])
        #expect(branch.status == 65, "\(branch.stderr)\(branch.stdout)")
        #expect(branch.stderr.contains("customer-service: main was \(v2.prefix(12)) and is \(newer.prefix(12)) now"), "\(branch.stderr)")
        #expect(!branch.stdout.contains("lock "), "nothing was locked: \(branch.stdout)")
        try expectOn(v1, serving: "v1", ["cs-2"])
    }

    @Test func aFailedHostReceivesThePlansPutBackBranch() throws {
        let plan = try plannedCommands(["--ref", "broken"])
        let result = try Sandbox.deployTool(["deploy", "customer-service", "--ref", "broken"])
        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        // cs-1 (batch 1) fails its gate and is put back; batch 2 never starts, so cs-2 is only locked and read.
        let cs1 = try #require(plan["cs-1"])
        let composeUp = try #require(cs1.forward.firstIndex { $0.contains(" up -d") })
        try expectReceived("cs-1", Array(cs1.forward[...composeUp]) + cs1.putBack + Array(cs1.forward.suffix(2)), refresh: cs1.lockRefresh)
        let cs2 = try #require(plan["cs-2"])
        let beforeChange = try #require(cs2.forward.firstIndex { $0.contains("<history record>") })
        try expectReceived("cs-2", Array(cs2.forward[..<beforeChange]) + [cs2.forward.last!], refresh: cs2.lockRefresh)
    }
}

struct PlannedHost {
    var forward: [String]
    var putBack: [String]
    var lockRefresh: String
    /// How many forward steps go to the host as one script.
    var sentTogether: Int
}
