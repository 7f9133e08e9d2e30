import Foundation
import Testing

/// SPEC "Environment and secrets" and "Hooks" over real sshd and podman-compose: the sample app publishes
/// at /config what its container was started with (a digest of its key, never the key). Part of the
/// serialized suite.
extension RolloutEndToEndTests {
    static let keyLine = "DEMO_API_KEY: { from_file: /var/lib/openclaw-sandbox/secrets/demo-api.key }"

    /// The sandbox inventory with the demo key read from the environment variable `E2E_DEMO_KEY`, and `hooks`
    /// (YAML flow mapping text) added to customer-service when given.
    static func secretInventory(hooks: String? = nil) throws -> String {
        var replacements = [(keyLine, "DEMO_API_KEY: { from_env: E2E_DEMO_KEY }")]
        if let hooks { replacements.append(("    env:\n      LOG_LEVEL: info", "    hooks: \(hooks)\n    env:\n      LOG_LEVEL: info")) }
        return try Sandbox.inventoryVariant(replacements)
    }

    static func randomSecret() -> String { "e2e-secret-" + UUID().uuidString }

    /// What the app on `host` says it was started with.
    static func config(_ host: String) throws -> String {
        try Command.run("/usr/bin/curl", ["-s", "-m", "5", "http://\(Sandbox.addresses[host]!):18080/config"], timeout: 10)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The first 16 hex digits of the SHA-256 of `secret`: what /config shows for it.
    static func keyDigest(_ secret: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("exec-e2e-key-\(UUID().uuidString)").path
        try secret.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return String(try Command.run("/usr/bin/sha256sum", [file]).checked().stdout.prefix(16))
    }

    func everythingSaid(_ host: String, _ outputs: [Command.Result]) throws -> String {
        let log = try String(contentsOfFile: "\(Sandbox.dir)/hosts/\(host)/commands.log", encoding: .utf8)
        let history = try Sandbox.ssh(host, "cat ~/.openclaw-deploy/customer-service/history.jsonl").checked().stdout
        return outputs.map { $0.stdout + $0.stderr }.joined() + log + history
    }

    @Test func aSecretFromTheEnvironmentReachesTheContainerAndNowhereElse() throws {
        let inventory = try Self.secretInventory()
        let secret = Self.randomSecret()
        let plan = try Sandbox.deployTool(["plan", "customer-service", "--format", "json"], inventory: inventory)
        let planText = try Sandbox.deployTool(["plan", "customer-service"], inventory: inventory)
        #expect(plan.stdout.contains("\"DEMO_API_KEY\": \"(secret)\"") && plan.stdout.contains("\"LOG_LEVEL\": \"info\""))
        let deploy = try Sandbox.deployTool(["deploy", "customer-service", "--format", "json"], inventory: inventory,
                                            environment: ["E2E_DEMO_KEY": secret])
        #expect(deploy.status == 0, "\(deploy.stderr)\(deploy.stdout)")
        // Not in output, events, history, the plan or any command line the hosts received (read before this
        // test's own commands, which name the secret, reach the hosts' command logs).
        for host in ["cs-1", "cs-2"] {
            #expect(!(try everythingSaid(host, [plan, planText, deploy])).contains(secret), "\(host): the secret was seen")
        }
        let digest = try Self.keyDigest(secret)
        for host in ["cs-1", "cs-2"] {
            let config = try Self.config(host)
            #expect(config == "service=customer-service host=\(host) revision=\(v2) log_level=info api_key_sha256=\(digest)")
            // The file on the host holds it, readable by its owner only, outside the checkout.
            let mode = try Sandbox.ssh(host, "stat -c %a ~/.openclaw-deploy/customer-service/env && grep -c \(secret) ~/.openclaw-deploy/customer-service/env")
            #expect(mode.stdout == "600\n1\n", "\(mode.stdout)\(mode.stderr)")
            #expect(try Sandbox.ssh(host, "grep -rl \(secret) \(Sandbox.checkout(host)) || echo none").stdout == "none\n")
        }
        let events = try jsonLines(deploy.stdout)
        #expect(events.contains { $0["event"] as? String == "step" && $0["step"] as? String == "env" && $0["status"] as? String == "ok" })
    }

    @Test func changingOnlyASecretRecreatesTheContainerAndPassesTheGate() throws {
        let inventory = try Self.secretInventory()
        let first = Self.randomSecret(), second = Self.randomSecret()
        #expect(try Sandbox.deployTool(["deploy", "customer-service"], inventory: inventory, environment: ["E2E_DEMO_KEY": first]).status == 0)
        let same = try Sandbox.deployTool(["deploy", "customer-service", "--format", "json"], inventory: inventory,
                                          environment: ["E2E_DEMO_KEY": first])
        #expect(same.status == 0)
        #expect(try jsonLines(same.stdout).last?["result"] as? String == "no_change")

        // plan --check sees the difference before anything changes.
        let check = try Sandbox.deployTool(["plan", "customer-service", "--check", "--detailed-exitcode"], inventory: inventory,
                                           environment: ["E2E_DEMO_KEY": second])
        #expect(check.status == 2, "\(check.stderr)\(check.stdout)")
        #expect(check.stdout.contains("its environment differs"))
        #expect(!check.stdout.contains(second))

        let changed = try Sandbox.deployTool(["deploy", "customer-service", "--format", "json"], inventory: inventory,
                                             environment: ["E2E_DEMO_KEY": second])
        #expect(changed.status == 0, "\(changed.stderr)\(changed.stdout)")
        let events = try jsonLines(changed.stdout)
        #expect(events.last?["result"] as? String == "succeeded")
        #expect(events.filter { $0["event"] as? String == "step" && $0["step"] as? String == "compose_up" }.count == 2)
        let digest = try Self.keyDigest(second)
        for host in ["cs-1", "cs-2"] {
            #expect(try Sandbox.revision(host) == v2)
            #expect(try Self.config(host).hasSuffix("api_key_sha256=\(digest)"))
        }
    }

    @Test func aFailedGateAfterAnEnvironmentChangeRestoresTheOldEnvironment() throws {
        let inventory = try Self.secretInventory()
        let old = Self.randomSecret(), new = Self.randomSecret()
        #expect(try Sandbox.deployTool(["deploy", "customer-service"], inventory: inventory, environment: ["E2E_DEMO_KEY": old]).status == 0)
        let before = try Sandbox.ssh("cs-1", "cat ~/.openclaw-deploy/customer-service/env").checked().stdout

        let failed = try Sandbox.deployTool(["deploy", "customer-service", "--ref", "broken"], inventory: inventory,
                                            environment: ["E2E_DEMO_KEY": new])
        #expect(failed.status == 1, "\(failed.stderr)\(failed.stdout)")
        #expect(try Sandbox.ssh("cs-1", "cat ~/.openclaw-deploy/customer-service/env").checked().stdout == before)
        #expect(try Sandbox.revision("cs-1") == v2)
        #expect(try Self.config("cs-1").hasSuffix("api_key_sha256=\(try Self.keyDigest(old))"))
        #expect(!(try everythingSaid("cs-1", [failed])).contains(new))
    }

    @Test func aMissingSecretIsExit65AndNoHostIsContacted() throws {
        let inventory = try Self.secretInventory()
        let result = try Sandbox.deployTool(["deploy", "customer-service"], inventory: inventory)
        #expect(result.status == 65, "\(result.stderr)\(result.stdout)")
        #expect(result.stderr.contains("`services.customer-service.env.DEMO_API_KEY` (from_env: E2E_DEMO_KEY): the variable E2E_DEMO_KEY is not set"))
        #expect(result.stderr.contains("No host was contacted"))
        for host in ["cs-1", "cs-2"] {
            #expect(try Self.received(host).isEmpty, "\(host) was contacted")
        }
        let check = try Sandbox.deployTool(["inventory", "check", "--secrets"], inventory: inventory)
        #expect(check.status == 65 && check.stderr.contains("E2E_DEMO_KEY"))
        // A secret under 8 characters could not be told apart in output: refused, naming it.
        let short = try Sandbox.deployTool(["inventory", "check", "--secrets"], inventory: inventory, environment: ["E2E_DEMO_KEY": "x"])
        #expect(short.status == 65 && short.stderr.contains("the value has 1 character; a secret needs at least 8"), "\(short.stderr)")
        let good = try Sandbox.deployTool(["inventory", "check", "--secrets"], inventory: inventory,
                                          environment: ["E2E_DEMO_KEY": "long-enough"])
        #expect(good.status == 0 && good.stdout.contains("1 secret read"), "\(good.stderr)\(good.stdout)")
    }

    @Test func aFailingBeforeHookChangesNothingAndAfterReceivesTheResult() throws {
        let inventory = try Self.secretInventory(hooks: #"{ before: [/bin/sh, -c, "echo no deploys today >&2; exit 4"], after: [/bin/sh, -c, "echo \"$OPENCLAW_ACTION $OPENCLAW_RESULT $OPENCLAW_HOSTS\" >> after.log"] }"#)
        let result = try Sandbox.deployTool(["deploy", "customer-service"], inventory: inventory, environment: ["E2E_DEMO_KEY": Self.randomSecret()])
        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        #expect(result.stdout.contains("hook_before") && result.stderr.contains("the before hook failed: exit status 4: no deploys today"))
        for host in ["cs-1", "cs-2"] {
            #expect(try !Self.received(host).contains { $0.contains("checkout --quiet --detach") || $0.contains(".env.new") })
        }
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
        for host in ["cs-1", "cs-2"] { #expect(try !Sandbox.isLocked(host, service: "customer-service")) }
        let log = URL(fileURLWithPath: inventory).deletingLastPathComponent().appendingPathComponent("after.log").path
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "deploy stopped cs-1,cs-2\n")
    }

    @Test func aFailingBeforeUpPutsTheHostBack() throws {
        let inventory = try Self.secretInventory(hooks: #"{ before_up: "test \"$LOG_LEVEL\" = info && test -f www/index.html && echo migration failed >&2 && exit 3" }"#)
        let result = try Sandbox.deployTool(["deploy", "customer-service"], inventory: inventory, environment: ["E2E_DEMO_KEY": Self.randomSecret()])
        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        #expect(result.stdout.contains("before_up") && result.stdout.contains("migration failed"))
        #expect(try Self.received("cs-2").allSatisfy { !$0.contains("checkout --quiet --detach") })
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
    }
}
