import Foundation
import Testing

/// SPEC "Secrets never leave", end to end: a host that says a secret (a failing `before_up`, a failing compose
/// up, a health body, its compose logs) never gets it printed, sent in events, written into its history or
/// shown by `history`; each place says `(secret DEMO_API_KEY)` instead. Part of the serialized suite.
extension RolloutEndToEndTests {
    /// A secret with characters text and JSON output escape (`"`, `\`), so every form of it is looked for.
    static func awkwardSecret() -> String { #"e2e-"leak"\check-"# + UUID().uuidString }

    /// A release of customer-service on branch `branch` of its origin: v2 with `edit` applied to a clone.
    static func pushRelease(_ branch: String, edit: (String) throws -> Void) throws -> String {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("exec-e2e-release-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let origin = "\(Sandbox.dir)/origin/customer-service.git"
        let identity = ["GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@localhost", "GIT_COMMITTER_NAME": "e2e",
                        "GIT_COMMITTER_EMAIL": "e2e@localhost", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"]
        try Command.run("/usr/bin/git", ["clone", "-q", "-b", "v2", origin, work], environment: identity).checked()
        try edit(work)
        try Command.run("/usr/bin/git", ["-C", work, "add", "-A"], environment: identity).checked()
        try Command.run("/usr/bin/git", ["-C", work, "commit", "-q", "-m", "e2e \(branch)"], environment: identity).checked()
        try Command.run("/usr/bin/git", ["-C", work, "push", "-q", "-f", "origin", "HEAD:refs/heads/\(branch)"], environment: identity).checked()
        return try Command.run("/usr/bin/git", ["-C", work, "rev-parse", "HEAD"]).checked().stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Everything the run and the hosts hold that could carry the secret: the outputs, each host's history file
    /// and command log, and `history` in both forms.
    func expectNowhere(_ secret: String, _ outputs: [Command.Result], inventory: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let history = try Sandbox.deployTool(["history", "customer-service"], inventory: inventory)
        let historyJSON = try Sandbox.deployTool(["history", "customer-service", "--format", "json"], inventory: inventory)
        #expect(history.status == 0 && historyJSON.status == 0, sourceLocation: sourceLocation)
        var everything = (outputs + [history, historyJSON]).map { $0.stdout + $0.stderr }.joined(separator: "\n")
        for host in ["cs-1", "cs-2"] {
            everything += try String(contentsOfFile: "\(Sandbox.dir)/hosts/\(host)/commands.log", encoding: .utf8)
            everything += try Sandbox.ssh(host, "cat ~/.openclaw-deploy/customer-service/history.jsonl 2>/dev/null || true").checked().stdout
        }
        let forms = [secret, secret.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")]
        for form in forms {
            #expect(!everything.contains(form), "the secret was seen", sourceLocation: sourceLocation)
        }
        // A part of it would be a leak too: the random tail alone must not be there.
        #expect(!everything.contains(String(secret.suffix(36))), "part of the secret was seen", sourceLocation: sourceLocation)
    }

    @Test func aSecretInTheStderrOfAFailingBeforeUpIsRedactedEverywhere() throws {
        let inventory = try Self.secretInventory(hooks: #"{ before_up: "printf 'db login failed for token %s\\n' \"$DEMO_API_KEY\" >&2; exit 1" }"#)
        let secret = Self.awkwardSecret()
        let json = try Sandbox.deployTool(["deploy", "customer-service", "--format", "json"], inventory: inventory,
                                          environment: ["E2E_DEMO_KEY": secret])
        #expect(json.status == 1, "\(json.stderr)\(json.stdout)")
        let failed = try jsonLines(json.stdout).first { $0["event"] as? String == "host_failed" }
        #expect((failed?["reason"] as? String)?.contains("db login failed for token (secret DEMO_API_KEY)") == true, "\(json.stdout)")
        let text = try Sandbox.deployTool(["deploy", "customer-service"], inventory: inventory, environment: ["E2E_DEMO_KEY": secret])
        #expect(text.status == 1)
        #expect(text.stdout.contains("db login failed for token (secret DEMO_API_KEY)"), "\(text.stdout)")
        let reasons = try Sandbox.history("cs-1", service: "customer-service").compactMap { $0["reason"] as? String }
        #expect(reasons.contains { $0.contains("db login failed for token (secret DEMO_API_KEY)") }, "\(reasons)")
        try expectNowhere(secret, [json, text], inventory: inventory)
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
    }

    @Test func aSecretInTheErrorOfAFailingComposeUpIsRedactedEverywhere() throws {
        // compose builds from a directory named by the secret: its error names the directory, so says the secret.
        let sha = try Self.pushRelease("e2e-leaky-compose") { work in
            let file = work + "/docker-compose.yml"
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let leaky = text.replacingOccurrences(of: "build: { context: .,", with: "build: { context: \"${DEMO_API_KEY}\",")
            #expect(leaky != text, "the sample's compose file no longer has the build line this test changes")
            try leaky.write(toFile: file, atomically: true, encoding: .utf8)
        }
        let inventory = try Self.secretInventory()
        // Plain: a path with quotes or backslashes would not make a directory name compose reports as it is.
        let secret = Self.randomSecret()
        let result = try Sandbox.deployTool(["deploy", "customer-service", "--ref", sha], inventory: inventory,
                                            environment: ["E2E_DEMO_KEY": secret])
        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        #expect(result.stdout.contains("compose_up") && result.stdout.contains("(secret DEMO_API_KEY)"), "\(result.stdout)")
        // The same failure as JSON events: the compose_up step's detail and host_failed's reason say the name, not the value.
        let json = try Sandbox.deployTool(["deploy", "customer-service", "--ref", sha, "--format", "json"], inventory: inventory,
                                          environment: ["E2E_DEMO_KEY": secret])
        #expect(json.status == 1, "\(json.stderr)\(json.stdout)")
        let failed = try jsonLines(json.stdout).first { $0["event"] as? String == "host_failed" }
        #expect(failed?["step"] as? String == "compose_up", "\(json.stdout)")
        #expect((failed?["reason"] as? String)?.contains("(secret DEMO_API_KEY)") == true, "\(json.stdout)")
        try expectNowhere(secret, [result, json], inventory: inventory)
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
    }

    @Test func aSecretInAHealthBodyAndInComposeLogsIsRedactedEverywhere() throws {
        // The release logs the key at start (and no request after it, so it stays in the last lines) and answers
        // /health with 404 and a page that holds it.
        let sha = try Self.pushRelease("e2e-leaky-health") { work in
            let file = work + "/start"
            let text = try String(contentsOfFile: file, encoding: .utf8)
            try text.replacingOccurrences(of: "exec /bin/httpd -f -vv -p 8080 -h /www", with: """
                echo "db login failed for token ${DEMO_API_KEY:-none}"
                printf 'token %s\\n' "${DEMO_API_KEY:-none}" > /www/404.html
                printf 'E404:/www/404.html\\n' > /etc/httpd.conf
                rm -f /www/health
                exec /bin/httpd -f -p 8080 -h /www -c /etc/httpd.conf
                """).write(toFile: file, atomically: true, encoding: .utf8)
        }
        // The gate waits its whole timeout for a release that never answers 200: a short one keeps the test short.
        let inventory = try Self.secretInventory()
        let yaml = try String(contentsOfFile: inventory, encoding: .utf8)
        try yaml.replacingOccurrences(of: "    timeout: 30s", with: "    timeout: 6s").write(toFile: inventory, atomically: true, encoding: .utf8)
        let secret = Self.awkwardSecret()
        let json = try Sandbox.deployTool(["deploy", "customer-service", "--ref", sha, "--format", "json"], inventory: inventory,
                                          environment: ["E2E_DEMO_KEY": secret])
        #expect(json.status == 1, "\(json.stderr)\(json.stdout)")
        let diagnostics = try jsonLines(json.stdout).filter { $0["event"] as? String == "diagnostics" }
        let texts = diagnostics.compactMap { $0["text"] as? String }
        #expect(texts.contains { $0.contains("token (secret DEMO_API_KEY)") }, "health body: \(texts)")
        #expect(texts.contains { $0.contains("db login failed for token (secret DEMO_API_KEY)") }, "compose logs: \(texts)")
        let text = try Sandbox.deployTool(["deploy", "customer-service", "--ref", sha], inventory: inventory,
                                          environment: ["E2E_DEMO_KEY": secret])
        #expect(text.status == 1)
        #expect(text.stdout.contains("db login failed for token (secret DEMO_API_KEY)"), "\(text.stdout)")
        try expectNowhere(secret, [json, text], inventory: inventory)
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
    }
}
