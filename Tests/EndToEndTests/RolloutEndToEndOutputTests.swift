import Foundation
import Testing

extension RolloutEndToEndTests {
    /// `deploy ... | head` closes the tool's stdout early. The tool must not die of SIGPIPE half-way
    /// (hosts changed, locks held): it finishes the rollout, releases its locks and exits by its result.
    @Test func aReaderThatGoesAwayDoesNotStopTheRolloutHalfWay() throws {
        // `env --default-signal=PIPE`: the deploy starts with SIGPIPE's default action, as from a shell,
        // whatever the test runner ignores; `pipefail` makes the pipeline's status the deploy's.
        let script = """
            set -o pipefail
            env --default-signal=PIPE "$0" deploy customer-service -i "$1" --format json | head -c 1 > /dev/null
            """
        let result = try Command.run("/bin/bash", ["-c", script, try Sandbox.binary, Sandbox.inventory], timeout: 240)

        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
        for host in ["cs-1", "cs-2"] {
            #expect(try !Sandbox.isLocked(host, service: "customer-service"))
            #expect(try Sandbox.history(host, service: "customer-service").last?["result"] as? String == "succeeded")
        }
    }
}
