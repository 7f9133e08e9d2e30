import Foundation
import Testing
import TestSupport

/// The built binary's offline commands: `plan` and `inventory check`, their output and exit codes.
@Suite("plan and inventory check: the built binary")
struct PlanCLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let snapshot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots/openclaw-plan.json")

    /// A one-service inventory: `web` on host `a` at `address`, with `extra` (lines of the service, indented) added.
    static func webInventory(_ extra: String = "", address: String = "10.0.0.1") -> String {
        """
        version: 1
        services:
          web:
            tier: "95"
            repo: { path: /srv/web }
            health: { url: "http://127.0.0.1:8080/health" }
        \(extra)    hosts: [{ name: a, address: \(address) }]

        """
    }

    @Test("plan --all --format json parses, is stable across runs and matches the committed snapshot")
    func jsonPlan() throws {
        let first = try PlanCLI.run(["plan", "--all", "--format", "json", "-i", "inventory/openclaw.yaml"])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try PlanCLI.run(["plan", "--all", "--format", "json", "-i", "inventory/openclaw.yaml"])
        #expect(first.stdout == second.stdout)

        let root = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        #expect(root["version"] as? Int == 1)
        let services = try #require(root["services"] as? [[String: Any]])
        #expect(services.compactMap { $0["name"] as? String } == ["content", "customer-service", "internal-tools", "trading"])

        let expected = try String(contentsOf: Self.snapshot, encoding: .utf8)
        #expect(first.stdout == expected, """
            the plan of inventory/openclaw.yaml changed; if that is intended, refresh the snapshot with
            openclaw-deploy plan --all --format json -i inventory/openclaw.yaml > Tests/EndToEndTests/Snapshots/openclaw-plan.json
            """)
    }

    @Test("the text plan is a review: header, batches, each host's steps in words; --commands adds every command")
    func textPlan() throws {
        let result = try PlanCLI.run(["plan", "trading", "-i", "inventory/openclaw.yaml"], environment: ["NO_COLOR": "1"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("trading  tier 99.99 · 3 hosts · 4 vCPU, 8GiB\n"))
        #expect(result.stdout.contains("policy: canary host alone first, bake 1m, then 1 host at a time, healthy after 5 consecutive 2xx"))
        #expect(result.stdout.contains("    1. lighthouse-tr-1 203.0.113.20:22  (canary, then bake 1m)\n"))
        #expect(result.stdout.contains("    8. checkout <sha of origin/main>\n"), "\(result.stdout)")
        #expect(result.stdout.contains("    9. env: BROKER_API_KEY=(secret) LOG_LEVEL=info MODEL_API_KEY=(secret) OPENCLAW_*"))
        #expect(result.stdout.contains("   12. gate: 5 healthy answers from http://127.0.0.1:8080/health within 2m\n")
            || result.stdout.contains("    12. gate: 5 healthy answers from http://127.0.0.1:8080/health within 2m\n"))
        #expect(!result.stdout.contains("$ "), "no command without --commands")
        #expect(!result.stdout.contains("\u{1B}["))
        let commands = try PlanCLI.run(["plan", "trading", "--commands", "-i", "inventory/openclaw.yaml"], environment: ["NO_COLOR": "1"])
        #expect(commands.stdout.contains("$ git -C /opt/openclaw/trading checkout --quiet --detach <sha of origin/main>"))
        #expect(commands.stdout.contains("    put back, on a host that failed after it changed:\n"))
        // The gateway host is planned like any other: who it drains, and with --commands each of its commands.
        #expect(result.stdout.contains("\ngateway gateway  deploy@203.0.113.5:22 · /etc/nginx/conf.d/openclaw.conf\n"), "\(result.stdout)")
        #expect(result.stdout.contains("  takes each host of trading out of rotation while it changes"), "\(result.stdout)")
        #expect(commands.stdout.contains("       $ { [ ! -f /etc/nginx/conf.d/.openclaw.conf.drained ] || cat /etc/nginx/conf.d/.openclaw.conf.drained ; "
            + "echo; echo '[maintenance]' ; [ ! -f /etc/nginx/conf.d/.openclaw.conf.maintenance ] || cat /etc/nginx/conf.d/.openclaw.conf.maintenance ; }\n"))
        #expect(commands.stdout.contains("       $ umask 022 && printf %s <config chunk> > /etc/nginx/conf.d/.openclaw.conf.new\n"))
    }

    @Test("the plan of the reference inventory is short enough to review: at most 15 lines per host, 175 in all (9 hosts and the gateway host)")
    func planIsReviewable() throws {
        let result = try PlanCLI.run(["plan", "--all", "-i", "inventory/openclaw.yaml"], environment: ["NO_COLOR": "1"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count <= 175, "\(lines.count) lines")
        // Each host's block: its header line, then its numbered steps, up to the next host or service.
        let hostHeaders = lines.indices.filter { lines[$0].hasPrefix("  lighthouse-") }
        #expect(hostHeaders.count == 9)
        for start in hostHeaders {
            let block = lines[(start + 1)...].prefix { $0.hasPrefix("    ") }
            #expect(block.count + 1 <= 15, "\(lines[start]): \(block.count + 1) lines")
        }
    }

    @Test("--host and --ref narrow the plan")
    func filters() throws {
        let result = try PlanCLI.run(["plan", "--all", "--host", "lighthouse-it-2", "--ref", "v1.2.0", "--format", "json",
                                      "-i", "inventory/openclaw.yaml"])
        #expect(result.status == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let services = try #require(root["services"] as? [[String: Any]])
        #expect(services.compactMap { $0["name"] as? String } == ["internal-tools"])
        let target = try #require(services.first?["target"] as? [String: Any])
        #expect(target["ref"] as? String == "v1.2.0")
        let batches = try #require(services.first?["batches"] as? [[String: Any]])
        let hosts = try #require(batches.first?["hosts"] as? [[String: Any]])
        #expect(hosts.first?["port"] as? Int == 2222)
    }

    @Test("usage errors exit 64 and say what is known", arguments: [
        (["plan", "nope", "trading"], "unknown service \"nope\"; the inventory has: content, customer-service, internal-tools, trading."),
        (["plan"], "name at least one service or pass --all"),
        (["plan", "--all", "trading"], "give service names or --all, not both"),
        (["plan", "trading", "--ref", "--upload-pack=x"], "Missing value for '--ref <ref>'"),
        (["plan", "trading", "--ref=--upload-pack=x"], "refusing ref \"--upload-pack=x\""),
        (["plan", "trading", "--ref", "a;b"], "refusing ref \"a;b\""),
        (["plan", "trading", "--host", "gateway"], "unknown host \"gateway\""),
        (["plan", "--bogus"], "Unknown option '--bogus'"),
        (["plan", "--all", "--format", "yaml"], "yaml"),
        (["plan", "--all", "--detailed-exitcode"], "--detailed-exitcode only applies with --check."),
    ])
    func usage(arguments: [String], message: String) throws {
        let result = try PlanCLI.run(arguments + ["-i", "inventory/openclaw.yaml"])
        #expect(result.status == 64)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        // Every error starts one way, ours and the argument parser's alike.
        #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("bare openclaw-deploy lists the inventory's services in 80 columns, a long description cut at its end")
    func firstContact() throws {
        let result = try PlanCLI.run(["-i", "inventory/openclaw.yaml"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "Services in inventory/openclaw.yaml:")
        for service in ["content", "customer-service", "internal-tools", "trading"] {
            #expect(lines.contains { $0.hasPrefix("  \(service) ") }, "\(service) is listed: \(result.stdout)")
        }
        let trading = try #require(lines.first { $0.hasPrefix("  trading ") })
        #expect(trading.contains("tier 99.99 · 3 hosts · strategy engine"), "\(trading)")
        #expect(trading.count == 80 && trading.hasSuffix("…"), "\(trading)")
        #expect(lines.allSatisfy { $0.count <= 80 }, "\(result.stdout)")
        #expect(result.stdout.contains("openclaw-deploy plan SERVICE"))
        // A long inventory path is shortened in the middle: the first line fits too.
        let deep = FileManager.default.temporaryDirectory.appendingPathComponent(String(repeating: "deep-", count: 16) + UUID().uuidString)
        try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: deep) }
        try Self.webInventory().write(to: deep.appendingPathComponent("inv.yaml"), atomically: true, encoding: .utf8)
        let far = try PlanCLI.run(["-i", deep.appendingPathComponent("inv.yaml").path])
        let head = far.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(head.hasPrefix("Services in /") && head.hasSuffix("/inv.yaml:") && head.contains("…") && head.count <= 80, "\(far.stdout)")
        let none = try PlanCLI.run(["-i", "/nonexistent/openclaw.yaml"])
        #expect(none.stdout.hasPrefix("No inventory at /nonexistent/openclaw.yaml"), "\(none.stdout)")
    }

    @Test("an invalid inventory exits 65 with every problem on stderr", arguments: [["plan", "--all"], ["inventory", "check"]])
    func invalidInventory(arguments: [String]) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("plan-cli-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try "version: 2\nservices:\n  x: 1\nfoo: 1\n".write(to: file, atomically: true, encoding: .utf8)
        let result = try PlanCLI.run(arguments + ["-i", file.path])
        #expect(result.status == 65)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 3, "\(result.stderr)")
        #expect(lines.allSatisfy { $0.hasPrefix(file.path + ":") })
        #expect(lines.first?.hasPrefix(file.path + ":1:10: ") == true)
        #expect(result.stdout.isEmpty)
    }

    @Test("plan text shows a hook's argv shell-quoted: one word with a space is not two words")
    func hookArgvIsQuoted() throws {
        func planText(_ before: String) throws -> String {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("plan-cli-\(UUID().uuidString).yaml")
            defer { try? FileManager.default.removeItem(at: file) }
            try Self.webInventory("    hooks: { before: \(before), after: [./notify, \"it's done\"] }\n")
                .write(to: file, atomically: true, encoding: .utf8)
            let result = try PlanCLI.run(["plan", "web", "-i", file.path], environment: ["NO_COLOR": "1"])
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout
        }
        let one = try planText(#"[./notify, "a b"]"#)
        let two = try planText("[./notify, a, b]")
        #expect(one.contains("before any host changes): ./notify 'a b'\n"), "\(one)")
        #expect(two.contains("before any host changes): ./notify a b\n"), "\(two)")
        #expect(one.contains("with OPENCLAW_RESULT): ./notify 'it'\\''s done'\n"), "\(one)")
    }

    @Test("Ctrl-C while a from_command secret is read stops its whole process group; nothing is contacted (exit 1)")
    func ctrlCWhileReadingSecrets() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plan-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let groupFile = dir.appendingPathComponent("group").path
        // The command records its pid and process group, then hangs (with a child of its own) far past this test.
        let command = "\(ProcessGroups.record(to: groupFile)); sleep 300 & sleep 300"
        let inventory = dir.appendingPathComponent("inv.yaml")
        try Self.webInventory("    env: { TOKEN: { from_command: [/bin/sh, -c, \"\(command)\"] } }\n", address: "192.0.2.1")
            .write(to: inventory, atomically: true, encoding: .utf8)
        let running = try RunningCommand(try PlanCLI.binary().path, ["plan", "web", "--check", "-i", inventory.path])
        var leader: (pid: Int32, group: Int32)?
        for _ in 0..<500 where leader == nil {
            Thread.sleep(forTimeInterval: 0.02)
            leader = try? ProcessGroups.recorded(groupFile)
        }
        let (pid, group) = try #require(leader, "the from_command never started")
        running.signal(SIGINT)
        let result = try running.wait(timeout: .seconds(30))
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("stopped while the secrets were being read; no host was contacted"), "\(result.stderr)")
        // The command led its own group (the terminal's Ctrl-C would not reach it): none of it is left.
        #expect(pid == group)
        var alive = ProcessGroups.alive(group)
        for _ in 0..<100 where !alive.isEmpty {
            Thread.sleep(forTimeInterval: 0.05)
            alive = ProcessGroups.alive(group)
        }
        #expect(alive.isEmpty, "left alive: \(alive)")
    }

    @Test("a missing inventory exits 65; OPENCLAW_INVENTORY is read, and -i wins over it")
    func inventoryPath() throws {
        let missing = try PlanCLI.run(["inventory", "check", "-i", "no/such.yaml"])
        #expect(missing.status == 65)
        #expect(missing.stderr.hasPrefix("no/such.yaml: no such file"))

        let fromEnvironment = try PlanCLI.run(["inventory", "check"], environment: ["OPENCLAW_INVENTORY": "inventory/sandbox.yaml"])
        #expect(fromEnvironment.status == 0)
        #expect(fromEnvironment.stdout.hasPrefix("inventory/sandbox.yaml: valid"))

        let explicit = try PlanCLI.run(["inventory", "check", "--skip-local-files", "-i", "inventory/openclaw.yaml"],
                                       environment: ["OPENCLAW_INVENTORY": "no/such.yaml"])
        #expect(explicit.status == 0)
        #expect(explicit.stdout == "inventory/openclaw.yaml: valid, 4 services, 9 hosts, gateway gateway\n")
    }

    @Test("plan --check exits 4 and names the host when a host cannot be reached")
    func checkUnreachable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plan-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let knownHosts = dir.appendingPathComponent("known_hosts")
        try "".write(to: knownHosts, atomically: true, encoding: .utf8)
        // A loopback port nobody listens on: the connection is refused at once.
        let port = try LoopbackPort.free()
        let inventory = dir.appendingPathComponent("closed.yaml")
        try """
            version: 1
            defaults:
              ssh: { user: deploy, port: \(port), known_hosts: \(knownHosts.path), connect_timeout: 2s }
            services:
              tools:
                tier: "95"
                repo: { path: /srv/tools, branch: main }
                health: { url: "http://127.0.0.1:8080/health" }
                hosts:
                  - { name: closed-1, address: 127.0.0.1 }
            """.write(to: inventory, atomically: true, encoding: .utf8)
        let result = try PlanCLI.run(["plan", "tools", "--check", "--detailed-exitcode", "--format", "json", "-i", inventory.path])
        #expect(result.status == 4, "\(result.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let host = try #require(((root["services"] as? [[String: Any]])?.first?["hosts"] as? [[String: Any]])?.first)
        #expect(host["name"] as? String == "closed-1")
        #expect(host["status"] as? String == "unreachable")
        #expect(host["current"] is NSNull)
    }

    @Test("on a terminal the text is coloured, except when TERM is dumb or NO_COLOR is set")
    func colourOnlyWhereTheTerminalTakesIt() throws {
        let binary = try PlanCLI.binary().path
        func underTerminal(_ environment: [String: String]) throws -> String {
            // `script` gives the command a pseudo-terminal as its stdout.
            var env = ProcessInfo.processInfo.environment
            env.removeValue(forKey: "NO_COLOR")
            env.merge(environment) { $1 }
            let command = "\(binary) plan trading -i inventory/openclaw.yaml"
            return try TestCommand.capture("/usr/bin/script", ["-q", "-e", "-c", command, "/dev/null"], directory: PlanCLITests.root.path,
                                           environment: env, timeout: .seconds(30)).stdout
        }
        #expect(try underTerminal(["TERM": "xterm"]).contains("\u{1B}["))
        #expect(try !underTerminal(["TERM": "dumb"]).contains("\u{1B}["))
        #expect(try !underTerminal(["TERM": "xterm", "NO_COLOR": "1"]).contains("\u{1B}["))
    }

    @Test("--version prints the tool's name and version")
    func version() throws {
        let result = try PlanCLI.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.range(of: #"^openclaw-deploy [0-9]+\.[0-9]+\.[0-9]+\n$"#, options: .regularExpression) != nil, "\(result.stdout)")
    }

    @Test("--parallel with a single service is a usage error; with several it is accepted")
    func parallelNeedsSeveralServices() throws {
        let one = try PlanCLI.run(["deploy", "trading", "--parallel", "2", "-i", "inventory/openclaw.yaml"])
        #expect(one.status == 64)
        #expect(one.stderr.contains("--parallel sets how many services roll out at once; use it with --all or several services"))
        let several = try PlanCLI.run(["deploy", "trading", "content", "--parallel", "2", "--dry-run", "-i", "inventory/openclaw.yaml"])
        #expect(several.status == 0, "\(several.stderr)")
    }

    @Test("the bash completion completes service names and the named service's hosts from the inventory")
    func bashCompletion() throws {
        let script = try PlanCLI.run(["--generate-completion-script", "bash"])
        #expect(script.status == 0)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("completion-\(UUID().uuidString).bash").path
        try script.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        // What bash-completion does on TAB: the completion function with the words typed so far.
        let driver = #"""
            source "$1"; shift
            COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
            _openclaw-deploy "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\n' "${COMPREPLY[@]}"
            """#
        let path = try PlanCLI.binary().deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        func complete(_ words: [String]) throws -> String {
            let output = try TestCommand.capture("/bin/bash", ["-c", driver, "bash", file] + words, directory: PlanCLITests.root.path,
                                                 environment: ["PATH": path], timeout: .seconds(30))
            return output.stdout
        }
        #expect(try complete(["openclaw-deploy", "deploy", "-i", "inventory/openclaw.yaml", "cust"]) == "customer-service\n")
        #expect(try complete(["openclaw-deploy", "logs", "--inventory", "inventory/openclaw.yaml", "trading", "--host", "lighthouse-tr-"])
                == "lighthouse-tr-1\nlighthouse-tr-2\nlighthouse-tr-3\n")
    }

    @Test("inventory check names each local file that is missing, where it is set, in text and in one JSON document")
    func inventoryCheckLocalFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("check-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let knownHosts = dir.appendingPathComponent("known_hosts").path
        try "".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        var text = try String(contentsOf: PlanCLITests.root.appendingPathComponent("inventory/openclaw.yaml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "    # identity: ~/.ssh/id_ed25519", with: "    identity: keys/deploy_ed25519")
            .replacingOccurrences(of: "known_hosts: ~/.ssh/known_hosts", with: "known_hosts: \(knownHosts)")
            .replacingOccurrences(of: "../templates/nginx-gateway.conf.mustache", with: PlanCLITests.root.appendingPathComponent("templates/nginx-gateway.conf.mustache").path)
        let inventory = dir.appendingPathComponent("openclaw.yaml").path
        try text.write(toFile: inventory, atomically: true, encoding: .utf8)
        let line = try #require(text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("identity: keys/") }) + 1

        let missing = try PlanCLI.run(["inventory", "check", "-i", inventory])
        #expect(missing.status == 65)
        #expect(missing.stderr == "\(inventory):\(line):15: `defaults.ssh.identity`: \(dir.path)/keys/deploy_ed25519 does not exist; "
                + "create it or fix the path (`inventory check --skip-local-files` skips this check)\n", "\(missing.stderr)")
        let json = try PlanCLI.run(["inventory", "check", "--format", "json", "-i", inventory])
        #expect(json.status == 65 && json.stderr.isEmpty)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["valid"] as? Bool == false)
        let diagnostics = try #require(document["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.count == 1 && diagnostics.first?["line"] as? Int == line && diagnostics.first?["column"] as? Int == 15)
        // A plan does not need the key (CI has none); once the file is there, the check passes.
        #expect(try PlanCLI.run(["plan", "--all", "-i", inventory]).status == 0)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("keys"), withIntermediateDirectories: true)
        try "key".write(toFile: dir.appendingPathComponent("keys/deploy_ed25519").path, atomically: true, encoding: .utf8)
        let present = try PlanCLI.run(["inventory", "check", "-i", inventory])
        #expect(present.status == 0, "\(present.stderr)")
    }

    @Test("inventory check --format json")
    func inventoryCheckJSON() throws {
        let result = try PlanCLI.run(["inventory", "check", "--format", "json", "--skip-local-files", "-i", "inventory/openclaw.yaml"])
        #expect(result.status == 0)
        #expect((try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["diagnostics"] as? [Any] != nil)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(root["valid"] as? Bool == true)
        #expect(root["services"] as? Int == 4)
        #expect(root["hosts"] as? Int == 9)
    }
}

/// Runs the `openclaw-deploy` binary built beside this test bundle, from the repository root.
private enum PlanCLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func binary() throws -> URL {
        let starts = [URL(fileURLWithPath: CommandLine.arguments[0]), Bundle.main.bundleURL]
        for start in starts {
            var dir = start.deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("openclaw-deploy")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
        }
        throw PlanCLIError("openclaw-deploy was not found next to the test bundle (\(CommandLine.arguments[0])); run `swift build` first")
    }

    /// Runs the built binary from the repository root, without any OPENCLAW_INVENTORY of the caller.
    static func run(_ arguments: [String], environment extra: [String: String] = [:], timeout: TimeInterval = 30) throws -> Result {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "OPENCLAW_INVENTORY")
        environment.merge(extra) { $1 }
        let output = try TestCommand.capture(try binary().path, arguments, directory: PlanCLITests.root.path,
                                             environment: environment, timeout: .seconds(timeout))
        return Result(status: output.status, stdout: output.stdout, stderr: output.stderr)
    }
}

private struct PlanCLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
