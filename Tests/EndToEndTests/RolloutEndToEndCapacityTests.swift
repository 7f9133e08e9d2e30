import Foundation
import Testing

/// SPEC "Capacity": before each batch every host of the service is probed, and the batch shrinks so that the
/// healthy hosts left in rotation never fall below `min_healthy` (tier 99.9: all but one). Part of the serialized
/// sandbox suite.
extension RolloutEndToEndTests {
    @Test func aServiceWithOneHostDownStopsAtItsFloorBeforeChangingAnything() throws {
        try Sandbox.ssh("cs-2", "\(Sandbox.engine) stop -t 0 sandbox-cs-2_app_1 >/dev/null").checked()
        let stopped = try Sandbox.deployTool(["deploy", "customer-service", "--format", "json"])
        #expect(stopped.status == 1, "\(stopped.stderr)\(stopped.stdout)")
        #expect(stopped.stderr.contains("customer-service: stopped at the capacity floor: 1 of 2 hosts are healthy and at least 1 must "
            + "stay healthy in rotation (min_healthy: all but 1), so cs-1 cannot change now; no host was changed"), "\(stopped.stderr)")
        let events = try jsonLines(stopped.stdout)
        let capacity = events.filter { $0["event"] as? String == "step" && $0["step"] as? String == "capacity" }
        #expect(capacity.count == 1 && capacity.first?["status"] as? String == "failed", "\(capacity)")
        #expect(events.last?["result"] as? String == "stopped", "\(events.last ?? [:])")
        #expect(!events.contains { $0["event"] as? String == "host_started" }, "no host started")
        #expect(try Sandbox.revision("cs-1") == v1 && Sandbox.revision("cs-2") == v1)

        // An emergency: below the floor on purpose, for this run.
        let forced = try Sandbox.deployTool(["deploy", "customer-service", "--allow-below-capacity"])
        #expect(forced.status == 0, "\(forced.stderr)\(forced.stdout)")
        #expect(forced.stdout.contains("not enforced (--allow-below-capacity)"), "\(forced.stdout)")
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
    }

    @Test func aBatchThatWouldTakeTooManyHealthyHostsOutIsShrunk() throws {
        // `--batch all` asks for both hosts at once; the floor keeps one of them in rotation while the other changes.
        let deploy = try Sandbox.deployTool(["deploy", "customer-service", "--batch", "all", "--format", "json"])
        #expect(deploy.status == 0, "\(deploy.stderr)\(deploy.stdout)")
        let events = try jsonLines(deploy.stdout)
        let capacity = events.filter { $0["event"] as? String == "step" && $0["step"] as? String == "capacity" }
        #expect(capacity.first?["detail"] as? String
            == "2 of 2 healthy, at least 1 stays in rotation (min_healthy all but 1); cs-2 waits for a batch of its own", "\(capacity)")
        let started = events.filter { $0["event"] as? String == "host_started" }
        #expect(started.map { "\($0["host"] ?? "")@\($0["batch"] ?? "")" } == ["cs-1@1", "cs-2@2"], "\(started)")
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
    }
}
