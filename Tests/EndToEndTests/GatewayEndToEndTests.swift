import Foundation
import Testing
import TestSupport

/// The gateway in front of the sandbox: nginx on 127.0.0.10:8088 routing /api/customer/ to cs-1 and cs-2, run by a
/// "gateway host" (an sshd the test starts, whose sessions find this nginx's wrapper first on PATH). A bounded load
/// loop sends requests through nginx while the built binary rolls customer-service from v1 to v2: not one may fail.
/// Part of the serialized sandbox suite: one sandbox, one test at a time.
extension RolloutEndToEndTests {
    @Test func aRollingDeployBehindTheGatewayLosesNoRequest() throws {
        let gateway = try GatewayHostFixture()
        defer { gateway.stop() }

        let first = try Sandbox.deployTool(["gateway", "deploy"], inventory: gateway.inventory)
        #expect(first.status == 0, "\(first.stderr)\(first.stdout)")
        #expect(first.stdout.contains("is in force"))
        #expect(try GatewayHostFixture.get("/health").status == 200, "the gateway's own health")
        #expect(try GatewayHostFixture.get("/api/customer/health").body.hasPrefix("ok release=v1"))
        let again = try Sandbox.deployTool(["gateway", "deploy"], inventory: gateway.inventory)
        #expect(again.status == 0 && again.stdout.contains("nothing changed"), "\(again.stderr)\(again.stdout)")

        let planned = try plannedGatewaySteps(inventory: gateway.inventory)
        let before = try gateway.received().count

        let load = GatewayLoad(configPath: gateway.configPath)
        let finished = Atomic(false)
        let loadThread = Thread { load.run(until: finished, maxRequests: 20_000, maxSeconds: 240) }
        loadThread.start()
        let deploy: Command.Result
        do {
            deploy = try Sandbox.deployTool(["deploy", "customer-service", "--format", "json"], inventory: gateway.inventory)
        } catch {
            finished.set(true)
            load.waitUntilDone(seconds: 10)
            throw error
        }
        finished.set(true)
        load.waitUntilDone(seconds: 10)

        let summary = load.summary
        print("gateway end to end: \(summary.total) requests through nginx during the rolling deploy, \(summary.failed) failed; "
            + "answers by release: \(summary.releases.sorted { $0.key < $1.key })")
        #expect(deploy.status == 0, "\(deploy.stderr)\(deploy.stdout)")
        #expect(summary.failed == 0, "failed requests: \(summary.failures.prefix(5))")
        #expect(summary.total >= 50, "the load loop ran during the deploy")
        #expect(summary.releases["v1", default: 0] > 0 && summary.releases["v2", default: 0] > 0,
                "requests were answered before and after the rollout: \(summary.releases)")
        #expect(summary.drainedSeen == ["cs-1", "cs-2"], "each host was seen marked down in the gateway config")
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])

        let steps = try jsonLines(deploy.stdout).filter { $0["event"] as? String == "step" }
        for host in ["cs-1", "cs-2"] {
            let mine = steps.filter { $0["host"] as? String == host }
            #expect(mine.contains { $0["step"] as? String == "gateway_drain" && ($0["detail"] as? String ?? "").contains("marked down") },
                    "\(host) drained: \(mine)")
            #expect(mine.contains { $0["step"] as? String == "gateway_restore" && ($0["detail"] as? String ?? "").contains("back in") },
                    "\(host) restored")
        }
        let config = try String(contentsOfFile: gateway.configPath, encoding: .utf8)
        #expect(!config.contains(" down;"), "every host is back in rotation")

        // SPEC "The plan is what runs", on the gateway host too: four changes (cs-1 out and back, cs-2 out and back),
        // each the plan's steps (the config fits one upload) with their late values filled in.
        let oneChange = try ["drain_lock", "read_drained", "write_drained", "touch_drain_lock", "upload_config", "install_config", "drain_unlock"]
            .map { kind in try #require(planned.first { $0.step == kind }, "the plan has no \(kind) step: \(planned)").command }
        let expected = Array([[String]](repeating: oneChange, count: 4).joined())
        let received = try gateway.received(skipping: before)
        let sent = received.joined(separator: "\n")
        #expect(received.count == expected.count, "the gateway host received \(received.count) commands, the plan has \(expected.count):\n\(sent)")
        for (index, (line, command)) in zip(received, expected).enumerated() {
            #expect(Self.matches(line, planned: command), "gateway command \(index + 1):\nran:     \(line)\nplanned: \(command)")
        }
    }

    /// The gateway host's steps in `plan --format json`.
    func plannedGatewaySteps(inventory: String) throws -> [(step: String, command: String)] {
        let plan = try Sandbox.deployTool(["plan", "customer-service", "--format", "json"], inventory: inventory)
        #expect(plan.status == 0, "\(plan.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        let gateway = try #require(root["gateway"] as? [String: Any], "the plan has no gateway host: \(plan.stdout)")
        #expect(gateway["drains"] as? [String] == ["customer-service"])
        return try #require(gateway["steps"] as? [[String: Any]]).map { ($0["step"] as? String ?? "", $0["command"] as? String ?? "") }
    }
}

extension RolloutEndToEndTests {
    /// Two operators roll out two services through one gateway at the same time: each rollout renders the
    /// gateway's config from the shared drained set, so neither puts the other's drained host back in rotation.
    @Test func twoRolloutsThroughOneGatewayKeepEachOthersDrainedHostDown() throws {
        let gateway = try GatewayHostFixture()
        defer { gateway.stop() }
        try Sandbox.deployTool(["gateway", "deploy"], inventory: gateway.inventory).checked()

        // content is tier 95 (all hosts at once, so never drained); one host at a time makes it drain.
        let customer = try Command.Running(try Sandbox.binary, ["deploy", "customer-service", "-i", gateway.inventory], environment: [:])
        let content = try Command.Running(try Sandbox.binary, ["deploy", "content", "--batch", "1", "-i", gateway.inventory], environment: [:])
        var snapshots: [Set<String>] = []
        let deadline = Date().addingTimeInterval(240)
        while (customer.isRunning || content.isRunning) && Date() < deadline {
            let config = (try? String(contentsOfFile: gateway.configPath, encoding: .utf8)) ?? ""
            snapshots.append(Set(["cs-1", "cs-2", "content-1", "content-2"].filter { config.contains(" down;  # \($0)\n") }))
            usleep(10_000)
        }
        let customerResult = try customer.wait(timeout: 30), contentResult = try content.wait(timeout: 30)
        #expect(customerResult.status == 0, "\(customerResult.stderr)\(customerResult.stdout)")
        #expect(contentResult.status == 0, "\(contentResult.stderr)\(contentResult.stdout)")
        #expect(snapshots.reduce(Set<String>()) { $0.union($1) } == ["cs-1", "cs-2", "content-1", "content-2"], "every host was drained")
        // With each rollout rendering only its own drains, a host of one service and a host of the other are never
        // down in the same config.
        #expect(snapshots.contains { $0.contains { $0.hasPrefix("cs-") } && $0.contains { $0.hasPrefix("content-") } },
                "the two rollouts' drains were in force together: \(Set(snapshots).sorted { $0.count > $1.count }.prefix(5))")
        let config = try String(contentsOfFile: gateway.configPath, encoding: .utf8)
        #expect(!config.contains(" down;"), "every host is back in rotation")
        let shared = GatewayHostFixture.drainedFile(configPath: gateway.configPath)
        #expect((try? String(contentsOfFile: shared, encoding: .utf8)) == "")
    }
}

extension RolloutEndToEndTests {
    /// SPEC "maintenance": the built binary turns a service's route into a 503 page and back, through the gateway
    /// host; other routes are untouched, `status` shows it, and `gateway deploy` keeps it.
    @Test func maintenanceOnAnswers503OnThatRouteOnlyAndOffRestoresIt() throws {
        let gateway = try GatewayHostFixture()
        defer { gateway.stop() }
        try Sandbox.deployTool(["gateway", "deploy"], inventory: gateway.inventory).checked()
        let routed = try GatewayHostFixture.get("/api/customer/health")
        let content = try GatewayHostFixture.get("/api/content/health").status

        let on = try Sandbox.deployTool(["maintenance", "on", "customer-service", "--message", "Back at 03:30 <UTC>",
                                         "--retry-after", "10m"], inventory: gateway.inventory)
        #expect(on.status == 0, "\(on.stderr)\(on.stdout)")
        #expect(on.stdout.contains("customer-service: maintenance on: gateway gateway answers /api/customer/ with 503"), "\(on.stdout)")
        let page = try GatewayHostFixture.get("/api/customer/health")
        #expect(page.status == 503)
        #expect(page.headers["retry-after"] == "600")
        #expect(page.body.contains("Back at 03:30 &lt;UTC&gt;"), "\(page.body)")
        #expect(try GatewayHostFixture.get("/api/content/health").status == content, "another route is untouched")
        #expect(try GatewayHostFixture.get("/health").status == 200)

        let again = try Sandbox.deployTool(["maintenance", "on", "customer-service", "--message", "Back at 03:30 <UTC>",
                                            "--retry-after", "10m", "--format", "json"], inventory: gateway.inventory)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any], "\(again.stdout)")
        #expect(document["result"] as? String == "unchanged")
        #expect((document["maintenance"] as? [String: Any])?["retry_after"] as? Int == 600)

        // Every operator sees it: status reads it from the gateway host.
        let status = try Sandbox.deployTool(["status", "customer-service", "--format", "json"], inventory: gateway.inventory)
        let statusDocument = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stdout)")
        let listed = try #require((statusDocument["gateway"] as? [String: Any])?["maintenance"] as? [[String: Any]], "\(status.stdout)")
        #expect(listed.map { $0["service"] as? String } == ["customer-service"])
        #expect(listed.first?["message"] as? String == "Back at 03:30 <UTC>")
        let statusText = try Sandbox.deployTool(["status", "customer-service"], inventory: gateway.inventory)
        #expect(statusText.stdout.contains("customer-service: IN MAINTENANCE since"), "\(statusText.stdout)")

        // A gateway deploy renders from the state on the gateway host: the maintenance stays on.
        let redeploy = try Sandbox.deployTool(["gateway", "deploy"], inventory: gateway.inventory)
        #expect(redeploy.status == 0 && redeploy.stdout.contains("nothing changed"), "\(redeploy.stderr)\(redeploy.stdout)")
        #expect(try GatewayHostFixture.get("/api/customer/health").status == 503)

        let off = try Sandbox.deployTool(["maintenance", "off", "customer-service"], inventory: gateway.inventory)
        #expect(off.status == 0, "\(off.stderr)\(off.stdout)")
        #expect(off.stdout.contains("maintenance off: gateway gateway routes /api/customer/ to its hosts again"), "\(off.stdout)")
        let back = try GatewayHostFixture.get("/api/customer/health")
        #expect(back.status == routed.status && back.body == routed.body)
        let statusAfter = try Sandbox.deployTool(["status", "customer-service"], inventory: gateway.inventory)
        #expect(!statusAfter.stdout.contains("MAINTENANCE"), "\(statusAfter.stdout)")
        let offAgain = try Sandbox.deployTool(["maintenance", "off", "customer-service"], inventory: gateway.inventory)
        #expect(offAgain.stdout.contains("not in maintenance; nothing changed"), "\(offAgain.stdout)")

        // A message that cannot be one line of a page is refused before the gateway host is contacted.
        let sent = try gateway.received().count
        let refused = try Sandbox.deployTool(["maintenance", "on", "customer-service", "--message", "two\nlines"], inventory: gateway.inventory)
        #expect(refused.status == 64 && refused.stderr.contains("--message contains a control character"), "\(refused.stderr)")
        #expect(try gateway.received().count == sent)
    }
}

/// nginx plus the sshd that plays its host, and an inventory (sandbox.yaml plus a `gateway:` section) in a temp dir.
struct GatewayHostFixture {
    static let address = "127.0.0.10"
    static let port = 8088

    let nginx: LoopbackNginx
    let sshd: SSHDServer
    let inventory: String
    /// Every command line the gateway host received, NUL-terminated.
    let commandsLog: String
    var configPath: String { nginx.configDirectory + "/openclaw.conf" }

    /// The command lines received since the first `skipping`, without the transport's wrapper.
    func received(skipping: Int = 0) throws -> [String] {
        let log = (try? String(contentsOfFile: commandsLog, encoding: .utf8)) ?? ""
        return try log.split(separator: "\0").dropFirst(skipping).map { try RolloutEndToEndTests.unwrapTimeout(String($0)) }
    }

    /// `base`: the inventory the gateway section is added to (the sandbox's, or a variant of it).
    init(base: String = Sandbox.inventory) throws {
        nginx = try LoopbackNginx.start(name: "gw-e2e")
        commandsLog = nginx.directory + "/commands.log"
        // Like a sandbox host, the gateway host records every command line it receives (scripts/sandbox's recorder).
        sshd = try SSHDServer.start(.init(extraConfig: ["SetEnv PATH=\(nginx.binDirectory):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                                        "ForceCommand \(Sandbox.dir)/bin/record-command \(commandsLog)"]),
                                    name: "gw-e2e-sshd")
        let knownHosts = try sshd.writeKnownHosts(to: sshd.directory + "/known_hosts")
        let template = try String(contentsOf: Sandbox.root.appendingPathComponent("templates/nginx-gateway.conf.mustache"), encoding: .utf8)
            .replacingOccurrences(of: "listen 80;", with: "listen \(Self.address):\(Self.port);")
        try template.write(toFile: nginx.directory + "/gateway.conf.mustache", atomically: true, encoding: .utf8)
        let section = """

            gateway:
              host:
                name: gateway
                address: 127.0.0.1
                ssh: { port: \(sshd.port), identity: \(sshd.userKey.privateKeyPath), known_hosts: \(knownHosts) }
              config_path: \(nginx.configDirectory)/openclaw.conf
              template: gateway.conf.mustache
              access_log: \(nginx.directory)/openclaw-access.log

            """
        inventory = nginx.directory + "/sandbox-gateway.yaml"
        try (try String(contentsOfFile: base, encoding: .utf8) + section)
            .write(toFile: inventory, atomically: true, encoding: .utf8)
    }

    /// Stops both by PID and removes their directories (keys, inventory, config).
    func stop() {
        sshd.stop()
        nginx.stop()
        try? FileManager.default.removeItem(atPath: sshd.directory)
        try? FileManager.default.removeItem(atPath: nginx.directory)
    }

    /// nginx's JSON access log: what the traffic judge reads.
    var accessLog: String { nginx.directory + "/openclaw-access.log" }

    /// Where the gateway host keeps the drained set every rollout shares (beside the config, hidden).
    static func drainedFile(configPath: String) -> String {
        let url = URL(fileURLWithPath: configPath)
        return url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".drained").path
    }

    static func get(_ path: String) throws -> LoopbackHTTP.Response {
        try LoopbackHTTP.get(address: address, port: port, path: path, timeout: .seconds(5))
    }
}

/// Requests through the gateway, one after another, until told to stop or a bound is reached (count and time).
final class GatewayLoad: @unchecked Sendable {
    struct Summary {
        var total = 0
        var failed = 0
        var failures: [String] = []
        var releases: [String: Int] = [:]
        /// Hosts seen marked `down` in the gateway's config while the load ran.
        var drainedSeen: Set<String> = []
    }

    private let configPath: String
    private let path: String
    private let lock = NSLock()
    private var state = Summary()
    private let done = DispatchSemaphore(value: 0)

    /// `path`: what each request asks the gateway for.
    init(configPath: String, path: String = "/api/customer/health") {
        self.configPath = configPath
        self.path = path
    }

    var summary: Summary { lock.withLock { state } }

    func run(until finished: Atomic<Bool>, maxRequests: Int, maxSeconds: Double) {
        defer { done.signal() }
        let deadline = Date().addingTimeInterval(maxSeconds)
        for _ in 0..<maxRequests {
            if finished.value || Date() > deadline { return }
            var failure: String?
            var release: String?
            do {
                let response = try GatewayHostFixture.get(path)
                if response.status == 200 {
                    release = response.body.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "ok release=", with: "")
                } else {
                    failure = "HTTP \(response.status)"
                }
            } catch {
                failure = "\(error)"
            }
            let config = (try? String(contentsOfFile: configPath, encoding: .utf8)) ?? ""
            lock.withLock {
                state.total += 1
                if let failure {
                    state.failed += 1
                    state.failures.append(failure)
                }
                if let release { state.releases[release, default: 0] += 1 }
                for host in ["cs-1", "cs-2"] where config.contains(" down;  # \(host)\n") { state.drainedSeen.insert(host) }
            }
            usleep(5_000)
        }
    }

    func waitUntilDone(seconds: Double) { _ = done.wait(timeout: .now() + seconds) }
}

final class Atomic<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func set(_ value: Value) { lock.withLock { stored = value } }
}
