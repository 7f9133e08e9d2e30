import Fleet
import Foundation
import Testing

/// The built binary against the sandbox hosts (real sshd, git, podman-compose, busybox httpd), checking
/// real state: the commit checked out on each host, what its container answers, its history file.
/// Serialized: every test starts from `scripts/sandbox reset` (hosts on v1, origin main on v2).
@Suite("Rollout end to end", .serialized)
struct RolloutEndToEndTests {
    let v1: String
    let v2: String
    let broken: String

    init() throws {
        try Sandbox.reset()
        v1 = try Sandbox.originSHA("customer-service", "v1")
        v2 = try Sandbox.originSHA("customer-service", "v2")
        broken = try Sandbox.originSHA("customer-service", "broken")
    }

    func expectOn(_ sha: String, serving release: String, _ hosts: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        for host in hosts {
            #expect(try Sandbox.revision(host) == sha, "\(host) revision", sourceLocation: sourceLocation)
            let health = try Sandbox.health(host)
            #expect(health.status == 200 && health.body == "ok release=\(release)", "\(host) answers \(health)", sourceLocation: sourceLocation)
        }
    }

    @Test func aGoodDeployPutsEveryHostOnTheTargetAndRecordsHistory() throws {
        let result = try Sandbox.deployTool(["deploy", "customer-service"])

        #expect(result.status == 0, "\(result.stderr)\(result.stdout)")
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
        for host in ["cs-1", "cs-2"] {
            // Written ahead: a `started` record before the host changed, then the final one.
            let all = try Sandbox.history(host, service: "customer-service")
            #expect(all.map { $0["result"] as? String } == ["started", "succeeded"])
            let records = all.filter { $0["result"] as? String != "started" }
            #expect(records.count == 1)
            #expect(records.first?["action"] as? String == "deploy")
            #expect(records.first?["result"] as? String == "succeeded")
            #expect(records.first?["from"] as? String == v1)
            #expect(records.first?["to"] as? String == v2)
            #expect(try !Sandbox.isLocked(host, service: "customer-service"))
        }
        #expect(result.stdout.contains("succeeded"))
    }

    @Test func theShorthandDeploysAndASecondRunIsNoChange() throws {
        let first = try Sandbox.deployTool(["customer-service"])
        #expect(first.status == 0, "\(first.stderr)\(first.stdout)")
        let second = try Sandbox.deployTool(["customer-service", "--format", "json"])

        #expect(second.status == 0, "\(second.stderr)")
        let finished = try jsonLines(second.stdout).last
        #expect(finished?["event"] as? String == "deploy_finished")
        #expect(finished?["result"] as? String == "no_change")
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
    }

    @Test func aBrokenReleaseIsRolledBackOnTheFirstHostAndTheSecondIsUntouched() throws {
        // The broken release answers 404 until the gate gives up: a shorter gate keeps the test quick.
        let inventory = try Sandbox.inventoryVariant([("timeout: 30s", "timeout: 5s")])
        let result = try Sandbox.deployTool(["deploy", "customer-service", "--ref", "broken"], inventory: inventory)

        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
        let cs1 = try Sandbox.history("cs-1", service: "customer-service")
        #expect(cs1.last?["result"] as? String == "rolled_back")
        #expect(cs1.last?["to"] as? String == broken)
        // The record names the ref asked for and why the host did not succeed; `history` shows both.
        #expect(cs1.last?["ref"] as? String == "broken")
        #expect((cs1.last?["reason"] as? String)?.hasPrefix("failed at health_gate: no 3 consecutive 2xx") == true, "\(cs1)")
        let history = try Sandbox.deployTool(["history", "customer-service", "--limit", "1"], inventory: inventory)
        let row = history.stdout.split(separator: "\n").dropFirst().first.map(String.init) ?? ""
        #expect(row.contains("  cs-1  deploy  broken  ") && row.contains("rolled_back") && row.contains("failed at health_gate: no 3"), "\(history.stdout)")
        #expect(try Sandbox.history("cs-2", service: "customer-service").isEmpty, "cs-2 was never started")
        #expect(try Sandbox.ssh("cs-2", "cat ~/openclaw/customer-service/.git/HEAD").stdout.contains("refs/heads/main"),
                "cs-2 still on its branch: never checked out")
        #expect(result.stderr.contains("cs-1"))
        #expect(try !Sandbox.isLocked("cs-1", service: "customer-service") && !Sandbox.isLocked("cs-2", service: "customer-service"))
        // The cause is on the screen: the last answer's body and the container's own last lines (its request log
        // of the failing probes), shown before the host was put back.
        let out = result.stdout
        #expect(out.contains("cs-1  last health answer: HTTP 404, body (") && out.contains("    <BODY><H1>404 Not Found</H1>"), "\(out)")
        let logs = out.range(of: "cs-1  compose logs (last 20 lines of each container):")
        let putBack = out.range(of: "put back: checkout")
        #expect(logs != nil && putBack != nil && logs!.upperBound < putBack!.lowerBound, "\(out)")
        if let logs, let putBack {
            let shown = out[logs.upperBound..<putBack.lowerBound].split(separator: "\n")
            // podman-compose shows the container's lines as they are, docker-compose behind `app_1  | `.
            #expect(shown.filter { ($0.hasPrefix("    [") || $0.hasPrefix("    app_1  | [")) && $0.hasSuffix("response:404") }.count >= 5,
                    "\(shown)")
        }
    }

    @Test func aBrokenReleaseShowsItsDiagnosticsAsJSONEvents() throws {
        let inventory = try Sandbox.inventoryVariant([("timeout: 30s", "timeout: 3s")])
        let result = try Sandbox.deployTool(["deploy", "customer-service", "--ref", "broken", "--format", "json"], inventory: inventory)
        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        let diagnostics = try jsonLines(result.stdout).filter { $0["event"] as? String == "diagnostics" }
        #expect(diagnostics.map { $0["kind"] as? String } == ["health_body", "compose_logs"], "\(diagnostics)")
        #expect(diagnostics.allSatisfy { $0["host"] as? String == "cs-1" })
        #expect((diagnostics.first?["text"] as? String)?.contains("404 Not Found") == true)
        #expect((diagnostics.last?["text"] as? String)?.contains("response:404") == true, "\(diagnostics)")
    }

    @Test func rollbackGoesBackToTheRevisionBeforeTheLastDeploy() throws {
        try Sandbox.deployTool(["deploy", "customer-service"]).checked()
        let result = try Sandbox.deployTool(["rollback", "customer-service"])

        #expect(result.status == 0, "\(result.stderr)\(result.stdout)")
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
        let last = try Sandbox.history("cs-2", service: "customer-service").last
        #expect(last?["action"] as? String == "rollback")
        #expect(last?["from"] as? String == v2 && last?["to"] as? String == v1)
    }

    @Test func rollbackToAGivenRevision() throws {
        let result = try Sandbox.deployTool(["rollback", "customer-service", "--to", "v2", "--host", "cs-2"])

        #expect(result.status == 0, "\(result.stderr)\(result.stdout)")
        try expectOn(v2, serving: "v2", ["cs-2"])
        try expectOn(v1, serving: "v1", ["cs-1"])
    }

    @Test func aHeldLockChangesNothingUntilForceReleased() throws {
        try placeLock(on: "cs-2", expires: "2099-01-01T00:00:00Z")
        let held = try Sandbox.deployTool(["deploy", "customer-service"])

        #expect(held.status == 3, "\(held.stderr)\(held.stdout)")
        #expect(held.stderr.contains("mallory") && held.stderr.contains("elsewhere") && held.stderr.contains("deploy hotfix"))
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
        #expect(try !Sandbox.isLocked("cs-1", service: "customer-service"), "the lock taken on cs-1 was released")

        let keep = try Sandbox.deployTool(["lock", "release", "customer-service"])
        #expect(keep.status == 3, "a live lock is kept without --force")
        let release = try Sandbox.deployTool(["lock", "release", "customer-service", "--force"])
        #expect(release.status == 0, "\(release.stderr)")
        let retry = try Sandbox.deployTool(["deploy", "customer-service"])
        #expect(retry.status == 0, "\(retry.stderr)\(retry.stdout)")
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
    }

    @Test func aLockPastItsExpiryIsReportedAsStale() throws {
        try placeLock(on: "cs-1", expires: "2020-01-01T00:00:00Z")
        let held = try Sandbox.deployTool(["deploy", "customer-service"])

        #expect(held.status == 3)
        #expect(held.stderr.contains("stale"), "\(held.stderr)")
        let status = try Sandbox.deployTool(["lock", "status", "customer-service"])
        #expect(status.stdout.contains("STALE"), "\(status.stdout)")
        let release = try Sandbox.deployTool(["lock", "release", "customer-service"])
        #expect(release.status == 0, "a stale lock goes without --force: \(release.stderr)")
        #expect(try !Sandbox.isLocked("cs-1", service: "customer-service"))
    }

    @Test func aDirtyWorkingTreeIsRefusedAndKept() throws {
        try Sandbox.ssh("cs-2", "echo local-edit >> ~/openclaw/customer-service/README.md").checked()
        let result = try Sandbox.deployTool(["deploy", "customer-service"])

        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        #expect(result.stderr.contains("local changes"), "\(result.stderr)")
        #expect(try Sandbox.ssh("cs-2", "tail -n 1 ~/openclaw/customer-service/README.md").stdout.contains("local-edit"))
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
    }

    @Test(arguments: ["--upload-pack=touch /tmp/exec-e2e-pwned", "a;touch /tmp/exec-e2e-pwned", "$(touch /tmp/exec-e2e-pwned)"])
    func refsThatCouldBeMisreadAreRefusedBeforeAnythingRuns(ref: String) throws {
        try? FileManager.default.removeItem(atPath: "/tmp/exec-e2e-pwned")
        let result = try Sandbox.deployTool(["deploy", "customer-service", "--ref=\(ref)"])

        #expect(result.status == 64, "\(result.stderr)\(result.stdout)")
        #expect(result.stderr.contains("refusing ref"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/exec-e2e-pwned"))
        #expect(try Sandbox.ssh("cs-1", "test -e /tmp/exec-e2e-pwned && echo yes || echo no").stdout.contains("no"))
        #expect(try Sandbox.history("cs-1", service: "customer-service").isEmpty)
        try expectOn(v1, serving: "v1", ["cs-1"])
    }

    @Test func anUnknownHostKeyIsRefusedWithNothingChanged() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("exec-e2e-empty-known-hosts").path
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        let inventory = try Sandbox.inventoryVariant([("\(Sandbox.dir)/known_hosts", empty)])
        let result = try Sandbox.deployTool(["deploy", "customer-service"], inventory: inventory)

        #expect(result.status == 4, "\(result.stderr)\(result.stdout)")
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
        #expect(try !Sandbox.isLocked("cs-1", service: "customer-service"))
    }

    @Test func aChangedHostKeyIsRefusedEvenWithAcceptNewHostKeys() throws {
        let keyDir = FileManager.default.temporaryDirectory.appendingPathComponent("exec-e2e-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: keyDir, withIntermediateDirectories: true)
        try Command.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyDir.appendingPathComponent("k").path]).checked()
        let otherKey = try String(contentsOf: keyDir.appendingPathComponent("k.pub"), encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        let real = try String(contentsOfFile: "\(Sandbox.dir)/known_hosts", encoding: .utf8)
        let forged = real.split(separator: "\n").map { line in
            line.hasPrefix("[127.0.0.12]:2222 ") ? "[127.0.0.12]:2222 \(otherKey)" : String(line)
        }.joined(separator: "\n") + "\n"
        let knownHosts = keyDir.appendingPathComponent("known_hosts").path
        try forged.write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let inventory = try Sandbox.inventoryVariant([("\(Sandbox.dir)/known_hosts", knownHosts)])
        let result = try Sandbox.deployTool(["deploy", "customer-service", "--accept-new-host-keys"], inventory: inventory)

        #expect(result.status == 4, "\(result.stderr)\(result.stdout)")
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == forged, "a changed key is never replaced")
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
        #expect(try !Sandbox.isLocked("cs-1", service: "customer-service"))
    }

    /// `--accept-new-host-keys` on the read-only commands: each key it adds is printed with its fingerprint (the one
    /// `ssh-keygen -l` gives for the host's key file), and a second run adds nothing.
    @Test func statusAndPlanCheckAcceptNewHostKeysAndSayWhichTheyAdded() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("exec-e2e-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let knownHosts = dir.appendingPathComponent("known_hosts").path
        let inventory = try Sandbox.inventoryVariant([("\(Sandbox.dir)/known_hosts", knownHosts)])

        let strict = try Sandbox.deployTool(["status", "customer-service"], inventory: inventory)
        #expect(strict.status == 4, "\(strict.stderr)\(strict.stdout)")
        #expect((strict.stdout + strict.stderr).contains("ssh-keyscan -t ed25519 -p 2222 127.0.0.11 >> \(knownHosts)"), "\(strict.stdout)")
        let status = try Sandbox.deployTool(["status", "customer-service", "--accept-new-host-keys"], inventory: inventory)
        #expect(status.status == 0, "\(status.stderr)\(status.stdout)")
        for (host, address) in [("cs-1", "127.0.0.11"), ("cs-2", "127.0.0.12")] {
            let fingerprint = try Command.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", "\(Sandbox.dir)/hosts/\(host)/ssh_host_ed25519_key.pub"])
                .checked().stdout.split(separator: " ")[1]
            #expect(status.stderr.contains("\(host): added its host key to \(knownHosts) (--accept-new-host-keys): [\(address)]:2222 ssh-ed25519 \(fingerprint)"),
                    "\(status.stderr)")
        }
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8).split(separator: "\n").count == 2)

        let again = try Sandbox.deployTool(["plan", "customer-service", "--check", "--accept-new-host-keys"], inventory: inventory)
        #expect(again.status == 0 && !again.stderr.contains("added its host key"), "\(again.stderr)")
        try FileManager.default.removeItem(atPath: knownHosts)
        let check = try Sandbox.deployTool(["plan", "customer-service", "--check", "--accept-new-host-keys"], inventory: inventory)
        #expect(check.status == 0 && check.stderr.components(separatedBy: "added its host key").count == 3, "\(check.stderr)")
    }

    /// A lock as another operator's rollout leaves it: the directory with its owner.json.
    func placeLock(on host: String, expires: String) throws {
        let owner = #"{"expires":"\#(expires)","machine":"elsewhere","operator":"mallory","pid":4242,"started":"2026-01-01T10:00:00Z","target":"deploy hotfix","token":"e2e-other"}"#
        try Sandbox.ssh(host, "mkdir -p ~/.openclaw-deploy/customer-service/lock && printf '%s\\n' '\(owner)' > ~/.openclaw-deploy/customer-service/lock/owner.json")
            .checked()
    }
}
