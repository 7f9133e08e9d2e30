import Foundation
import Testing
import TestSupport

/// SPEC "Capacity, watch and traffic", the traffic judge: a release whose /health answers 200 while its routed API
/// answers 500 passes every health gate, and is caught by the built binary reading the gateway's access log (real
/// nginx, loopback requests through it) during a canary's bake and during the watch.
extension RolloutEndToEndTests {
    /// A release from v2 whose API (`/cgi-bin/orders` behind busybox httpd) answers with `status`.
    static func pushAPIRelease(_ branch: String, status: String) throws -> String {
        try pushRelease(branch) { work in
            let script = work + "/www/cgi-bin/orders"
            try FileManager.default.createDirectory(atPath: work + "/www/cgi-bin", withIntermediateDirectories: true)
            try "#!/bin/sh\nprintf 'Status: \(status)\\r\\nContent-Type: text/plain\\r\\n\\r\\norders \(status)\\n'\n"
                .write(toFile: script, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        }
    }

    /// Every host on the release whose API works, the gateway in force, and a load through it; `body` runs while it
    /// sends requests, which it stops sending after.
    func withLoadOnAWorkingAPI(_ gateway: GatewayHostFixture, good: String,
                               _ body: () throws -> Void) throws -> GatewayLoad.Summary {
        try Sandbox.deployTool(["deploy", "customer-service", "--ref", good, "--batch", "all"]).checked()
        try Sandbox.deployTool(["gateway", "deploy"], inventory: gateway.inventory).checked()
        #expect(try GatewayHostFixture.get("/api/customer/cgi-bin/orders").status == 200, "the working API through the gateway")
        let load = GatewayLoad(configPath: gateway.configPath, path: "/api/customer/cgi-bin/orders")
        let finished = Atomic(false)
        let thread = Thread { load.run(until: finished, maxRequests: 60_000, maxSeconds: 240) }
        thread.start()
        defer {
            finished.set(true)
            load.waitUntilDone(seconds: 10)
        }
        // Requests before the rollout: the baseline once no host is left unchanged.
        while load.summary.total < 300 { usleep(50_000) }
        try body()
        return load.summary
    }

    func trafficEvents(_ output: String) throws -> (samples: [[String: Any]], events: [[String: Any]]) {
        let events = try jsonLines(output)
        return (events.filter { $0["event"] as? String == "traffic_sample" }, events)
    }

    @Test func aReleaseHealthyButAnswering500IsCaughtByTheTrafficJudgeDuringTheCanarysBake() throws {
        let good = try Self.pushAPIRelease("e2e-api-good", status: "200 OK")
        let bad = try Self.pushAPIRelease("e2e-api-500", status: "500 Internal Server Error")
        // customer-service as tier 99.99: the canary alone, then a 60 s bake.
        let gateway = try GatewayHostFixture(base: try Sandbox.inventoryVariant([("tier: \"99.9\"", "tier: \"99.99\"")]))
        defer { gateway.stop() }
        var deploy: Command.Result?
        let load = try withLoadOnAWorkingAPI(gateway, good: good) {
            deploy = try Sandbox.deployTool(["deploy", "customer-service", "--ref", "e2e-api-500", "--format", "json"], inventory: gateway.inventory)
        }
        let result = try #require(deploy)
        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        let (samples, events) = try trafficEvents(result.stdout)
        let verdict = try #require(samples.last, "no traffic_sample event: \(result.stdout)")
        #expect(verdict["step"] as? String == "bake" && verdict["verdict"] as? String == "failed", "\(verdict)")
        #expect(verdict["changed_hosts"] as? [String] == ["cs-1"] && verdict["baseline_from"] as? String == "unchanged_hosts")
        let changed = try #require(verdict["changed"] as? [String: Any]), baseline = try #require(verdict["baseline"] as? [String: Any])
        #expect((changed["requests"] as? Int ?? 0) >= 50 && changed["errors_5xx"] as? Int == changed["requests"] as? Int, "\(changed)")
        #expect((baseline["requests"] as? Int ?? 0) >= 50 && baseline["errors_5xx"] as? Int == 0, "\(baseline)")
        // Its health passed: the gate, and the bake's probes until the judge ended it.
        #expect(events.contains { $0["event"] as? String == "step" && $0["host"] as? String == "cs-1" && $0["step"] as? String == "health_gate"
            && $0["status"] as? String == "ok" })
        let failed = try #require(events.first { $0["event"] as? String == "host_failed" }, "\(events)")
        #expect(failed["host"] as? String == "cs-1" && failed["step"] as? String == "traffic", "\(failed)")
        #expect((failed["reason"] as? String)?.hasPrefix("traffic during the bake: 5xx on changed hosts 100.0%") == true, "\(failed)")
        let finished = try #require(events.last)
        #expect(finished["result"] as? String == "rolled_back", "\(finished)")
        #expect((finished["hosts"] as? [[String: Any]])?.map { $0["result"] as? String } == ["rolled_back", "not_started"])
        try expectOn(good, serving: "v2", ["cs-1", "cs-2"])
        print("traffic judge, bake: \(load.total) requests through the gateway, \(load.failed) answered 5xx or failed; verdict \(verdict)")
        _ = bad
    }

    @Test func aReleaseHealthyButAnswering500IsCaughtByTheTrafficJudgeDuringTheWatch() throws {
        let good = try Self.pushAPIRelease("e2e-api-good", status: "200 OK")
        let bad = try Self.pushAPIRelease("e2e-api-500", status: "500 Internal Server Error")
        // customer-service as tier 99.9 (one host at a time, no canary) with a minute's watch after the last batch.
        let gateway = try GatewayHostFixture(base: try Self.withWatch("1m"))
        defer { gateway.stop() }
        var deploy: Command.Result?
        _ = try withLoadOnAWorkingAPI(gateway, good: good) {
            deploy = try Sandbox.deployTool(["deploy", "customer-service", "--ref", "e2e-api-500", "--format", "json"], inventory: gateway.inventory)
        }
        let result = try #require(deploy)
        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        let (samples, events) = try trafficEvents(result.stdout)
        let verdict = try #require(samples.last, "no traffic_sample event: \(result.stdout)")
        #expect(verdict["step"] as? String == "watch" && verdict["verdict"] as? String == "failed", "\(verdict)")
        // No host left unchanged: the baseline is what the gateway logged before the first batch.
        #expect(verdict["changed_hosts"] as? [String] == ["cs-1", "cs-2"] && verdict["baseline_from"] as? String == "before_rollout")
        let baseline = try #require(verdict["baseline"] as? [String: Any])
        #expect((baseline["requests"] as? Int ?? 0) >= 50 && baseline["errors_5xx"] as? Int == 0, "\(baseline)")
        let failures = events.filter { $0["event"] as? String == "host_failed" }
        #expect(failures.map { $0["host"] as? String } == ["cs-1", "cs-2"] && failures.allSatisfy { $0["step"] as? String == "traffic" },
                "\(failures)")
        let finished = try #require(events.last)
        #expect(finished["result"] as? String == "rolled_back", "\(finished)")
        #expect((finished["hosts"] as? [[String: Any]])?.map { $0["result"] as? String } == ["rolled_back", "rolled_back"])
        // Every changed host put back, the newest first.
        let putBack = events.filter { $0["event"] as? String == "step" && $0["phase"] as? String == "put_back" && $0["step"] as? String == "checkout" }
        #expect(putBack.map { $0["host"] as? String } == ["cs-2", "cs-1"], "\(putBack)")
        try expectOn(good, serving: "v2", ["cs-1", "cs-2"])
        _ = bad
    }
}

/// Samples, until told to stop, how many hosts are in the gateway's rotation (not marked `down` in its config) and
/// answer their health URL; a sample counts only when the config did not change while its hosts were probed.
final class RotationSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int] = []
    private let done = DispatchSemaphore(value: 0)

    var samples: [Int] { lock.withLock { counts } }

    func run(configPath: String, hosts: [String], until finished: Atomic<Bool>, maxSeconds: Double) {
        defer { done.signal() }
        let deadline = Date().addingTimeInterval(maxSeconds)
        while !finished.value && Date() < deadline {
            let before = (try? String(contentsOfFile: configPath, encoding: .utf8)) ?? ""
            let inRotation = hosts.filter { !before.contains(" down;  # \($0)\n") }
            let healthy = inRotation.filter { host in
                (try? LoopbackHTTP.get(address: Sandbox.addresses[host]!, port: 18080, path: "/health", timeout: .seconds(2)))?.status == 200
            }
            let after = (try? String(contentsOfFile: configPath, encoding: .utf8)) ?? ""
            if before == after, !before.isEmpty { lock.withLock { counts.append(healthy.count) } }
            usleep(20_000)
        }
    }

    func waitUntilDone(seconds: Double) { _ = done.wait(timeout: .now() + seconds) }
}

extension RolloutEndToEndTests {
    /// customer-service on four hosts (cs-3 and cs-4 added), one-at-a-time tier 99.9: all but one stay in rotation.
    static func fourHostInventory() throws -> String {
        let cs2 = "        health: { url: \"http://127.0.0.12:18080/health\" }\n"
        let more = ["cs-3": "127.0.0.13", "cs-4": "127.0.0.14"].sorted { $0.key < $1.key }.map { name, address in
            "      - name: \(name)\n        address: \(address)\n        compose: { project: sandbox-\(name) }\n"
                + "        health: { url: \"http://\(address):18080/health\" }\n"
        }.joined()
        return try Sandbox.inventoryVariant([(cs2, cs2 + more)])
    }

    @Test func aGoodRolloutOfFourHostsUnderLoadLosesNoRequestAndKeepsTheFloorInRotation() throws {
        let hosts = ["cs-1", "cs-2", "cs-3", "cs-4"]
        let gateway = try GatewayHostFixture(base: try Self.fourHostInventory())
        defer { gateway.stop() }
        try Sandbox.deployTool(["gateway", "deploy"], inventory: gateway.inventory).checked()
        let load = GatewayLoad(configPath: gateway.configPath)
        let sampler = RotationSampler()
        let finished = Atomic(false)
        Thread { load.run(until: finished, maxRequests: 60_000, maxSeconds: 300) }.start()
        Thread { sampler.run(configPath: gateway.configPath, hosts: hosts, until: finished, maxSeconds: 300) }.start()
        let deploy: Command.Result
        do {
            // Two at a time asked for; the floor (all but 1 of 4 healthy in rotation) lets one go at a time.
            deploy = try Sandbox.deployTool(["deploy", "customer-service", "--batch", "2", "--format", "json"], inventory: gateway.inventory)
        } catch {
            finished.set(true)
            throw error
        }
        finished.set(true)
        load.waitUntilDone(seconds: 10)
        sampler.waitUntilDone(seconds: 10)
        #expect(deploy.status == 0, "\(deploy.stderr)\(deploy.stdout)")
        let summary = load.summary
        let samples = sampler.samples
        print("four hosts under load: \(summary.total) requests through nginx, \(summary.failed) failed; answers by release: "
            + "\(summary.releases.sorted { $0.key < $1.key }); \(samples.count) samples of the rotation, fewest healthy in it: "
            + "\(samples.min() ?? -1)")
        #expect(summary.failed == 0, "failed requests: \(summary.failures.prefix(5))")
        #expect(summary.total >= 200 && summary.releases["v1", default: 0] > 0 && summary.releases["v2", default: 0] > 0, "\(summary.releases)")
        #expect(samples.count >= 100, "the rotation was sampled throughout")
        #expect(samples.min() ?? 0 >= 3, "fewer than 3 of 4 healthy hosts in rotation: \(samples.min() ?? -1)")
        #expect(samples.contains(3), "a host was out of rotation at some point")
        let events = try jsonLines(deploy.stdout)
        let capacity = events.filter { $0["event"] as? String == "step" && $0["step"] as? String == "capacity" }
        #expect(capacity.contains { ($0["detail"] as? String)?.contains("waits for a batch of its own") == true }, "\(capacity)")
        let started = events.filter { $0["event"] as? String == "host_started" }.map { $0["batch"] as? Int }
        #expect(started == [1, 2, 3, 4], "one host a batch: \(started)")
        try expectOn(v2, serving: "v2", hosts)
    }
}
