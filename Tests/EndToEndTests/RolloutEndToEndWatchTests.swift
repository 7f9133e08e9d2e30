import Foundation
import Testing

/// SPEC "Watch": after the last batch, with the locks still held, every changed host keeps being probed for
/// `rollout.watch`. The sandbox inventory turns the watch off (`rollout: { watch: 0 }`); these tests turn it on.
/// Part of the serialized sandbox suite.
extension RolloutEndToEndTests {
    static func withWatch(_ watch: String) throws -> String {
        try Sandbox.inventoryVariant([("rollout: { watch: 0 }", "rollout: { watch: \(watch) }")])
    }

    @Test func aReleaseThatFailsTwentySecondsAfterItsGateIsPutBackByTheWatch() throws {
        // Healthy at first (its gate passes), then /health goes away 20 s after the container starts.
        let late = try Self.pushRelease("e2e-late-failure") { work in
            let start = try String(contentsOfFile: work + "/start", encoding: .utf8)
            try start.replacingOccurrences(of: "exec /bin/httpd", with: "(sleep 20; rm -f /www/health) &\nexec /bin/httpd")
                .write(toFile: work + "/start", atomically: true, encoding: .utf8)
        }
        let deploy = try Sandbox.deployTool(["deploy", "customer-service", "--ref", "e2e-late-failure", "--format", "json"],
                                            inventory: try Self.withWatch("45s"))
        #expect(deploy.status == 1, "\(deploy.stderr)\(deploy.stdout)")
        let events = try jsonLines(deploy.stdout)
        let watchSteps = events.filter { $0["event"] as? String == "step" && $0["step"] as? String == "watch" }
        #expect(watchSteps.first?["host"] == nil && (watchSteps.first?["detail"] as? String)?.hasPrefix("watching cs-1, cs-2 for 45s") == true,
                "\(watchSteps)")
        let failed = try #require(events.first { $0["event"] as? String == "host_failed" }, "\(events)")
        #expect(failed["step"] as? String == "watch" && failed["changed"] as? Bool == true, "\(failed)")
        #expect((failed["reason"] as? String)?.contains("3 unhealthy answers in a row while watching") == true, "\(failed)")
        let finished = try #require(events.last)
        #expect(finished["result"] as? String == "rolled_back", "\(finished)")
        let hosts = try #require(finished["hosts"] as? [[String: Any]])
        #expect(hosts.map { $0["result"] as? String } == ["rolled_back", "rolled_back"], "\(hosts)")
        // Every changed host back, the newest first.
        let putBack = events.filter { $0["event"] as? String == "step" && $0["phase"] as? String == "put_back" && $0["step"] as? String == "checkout" }
        #expect(putBack.map { $0["host"] as? String } == ["cs-2", "cs-1"], "\(putBack)")
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
        _ = late
    }

    @Test func ctrlCDuringTheWatchEndsItAndKeepsTheNewRevision() throws {
        let running = try Command.Running(try Sandbox.binary, ["deploy", "customer-service", "--format", "json", "-i", try Self.withWatch("2m")],
                                          environment: [:])
        let deadline = Date().addingTimeInterval(120)
        while running.isRunning, Date() < deadline, !running.stdout.contains("\"watching cs-1, cs-2 for 2m") { usleep(50_000) }
        #expect(running.stdout.contains("watching cs-1, cs-2 for 2m"), "\(running.stdout)")
        usleep(1_000_000)
        running.signal(SIGINT)
        let result = try running.wait(timeout: 30)
        #expect(result.status == 0, "\(result.stderr)\(result.stdout)")
        #expect(result.stderr.contains("during the watch after the last batch, the watch ends and the new revision stays"), "\(result.stderr)")
        let events = try jsonLines(result.stdout)
        let finished = try #require(events.last)
        #expect(finished["result"] as? String == "succeeded" && finished["watch_cut_short"] as? Bool == true, "\(finished)")
        #expect(events.contains { ($0["detail"] as? String)?.contains("cut short by the operator") == true })
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
    }
}
