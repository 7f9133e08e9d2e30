import Foundation
import Testing
import TestSupport

/// One connection per host, end to end: its channels run at once and a stop reaches the host. Part of the serialized
/// suite.
extension RolloutEndToEndTests {
    /// Whether a process whose command line holds `marker` runs (the sandbox hosts are on this machine).
    static func running(_ marker: String) throws -> Bool {
        try Command.run("/usr/bin/pgrep", ["-f", marker], timeout: 10).status == 0
    }

    /// The `expires` of the service's lock on `host`, nil when there is none.
    static func lockExpires(_ host: String) throws -> String? {
        let out = try Sandbox.ssh(host, "cat ~/.openclaw-deploy/customer-service/lock/owner.json 2>/dev/null || true").checked().stdout
        guard let object = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] else { return nil }
        return object["expires"] as? String
    }

    /// A `before_up` that runs for minutes holds cs-1's one connection; the lock's refresh (every 20 s) goes over that
    /// same connection and lands while it runs; a second Ctrl-C then ends the remote command within a second.
    @Test func theLockIsRefreshedBesideALongCommandAndASecondCtrlCEndsThatCommandOnTheHost() throws {
        // The fraction is a marker to find the command by.
        let sleep = "sleep 300.\(Int.random(in: 100_000...999_999))"
        let inventory = try Sandbox.inventoryVariant([("    env:\n      LOG_LEVEL: info",
                                                       "    hooks: { before_up: \"\(sleep)\" }\n    env:\n      LOG_LEVEL: info")])
        let running = try Command.Running(try Sandbox.binary, ["deploy", "customer-service", "--format", "json", "-i", inventory],
                                          environment: [:])
        defer {
            if running.isRunning { running.signal(SIGKILL) }
            _ = try? Command.run("/usr/bin/pkill", ["-f", sleep], timeout: 10)
            _ = try? Sandbox.deployTool(["lock", "release", "customer-service", "--force"])
        }
        var started = false
        let deadline = Date().addingTimeInterval(90)
        while !started && running.isRunning && Date() < deadline {
            started = try Self.running(sleep)
            if !started { Thread.sleep(forTimeInterval: 0.05) }
        }
        try #require(started, "before_up never ran:\n\(running.stdout)")
        let first = try #require(try Self.lockExpires("cs-1"), "cs-1 is not locked")

        var refreshed: String?
        let refreshBy = Date().addingTimeInterval(45)
        while refreshed == nil && Date() < refreshBy {
            Thread.sleep(forTimeInterval: 0.5)
            if let now = try Self.lockExpires("cs-1"), now != first { refreshed = now }
        }
        #expect(refreshed != nil, "the lock on cs-1 was not refreshed while before_up ran (expires stayed \(first))")
        #expect(try Self.running(sleep), "before_up ended before the refresh was seen")
        #expect(running.isRunning)

        running.signal(SIGINT)
        Thread.sleep(forTimeInterval: 0.05)
        running.signal(SIGINT)
        // Stopped on the host, not only abandoned here: gone within a second of the second Ctrl-C.
        var gone = false
        for _ in 0..<20 where !gone {
            gone = try !Self.running(sleep)
            if !gone { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(gone, "\(sleep) still runs on cs-1 a second after the second Ctrl-C")
        let result = try running.wait(timeout: 60)
        // cs-1 was left changed mid-way: a person must look.
        #expect(result.status == 2, "\(result.stderr)")
        let finished = try #require(try jsonLines(result.stdout).last { $0["event"] as? String == "deploy_finished" })
        let hosts = try #require(finished["hosts"] as? [[String: Any]])
        #expect(hosts.first { $0["host"] as? String == "cs-1" }?["result"] as? String == "interrupted", "\(hosts)")
        #expect(hosts.first { $0["host"] as? String == "cs-2" }?["result"] as? String == "not_started", "\(hosts)")
    }
}
