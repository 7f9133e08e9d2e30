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

    /// Under a terminal of 80 columns (a pty from `script`), with host names far longer than the sandbox's, every
    /// line rewritten in place (health progress, a long step's elapsed time) fits in 80 columns, and a step that
    /// runs for seconds (a before_up hook sleeping 4 s) shows it is alive.
    @Test func progressFitsAnEightyColumnTerminalAndALongStepShowsItIsAlive() throws {
        let long = "customer-service-lighthouse-guangzhou-zone-3-host-"
        let inventory = try Sandbox.inventoryVariant([
            ("name: cs-1\n", "name: \(long)1\n"), ("name: cs-2\n", "name: \(long)2\n"),
            ("    env:\n      LOG_LEVEL: info", "    hooks: { before_up: \"sleep 4\" }\n    env:\n      LOG_LEVEL: info"),
        ])
        let command = "stty cols 80 rows 24; exec \"$0\" deploy customer-service -i \"$1\""
        let result = try Command.run("/usr/bin/script", ["-q", "-e", "-c", "/bin/sh -c '\(command)' \(try Sandbox.binary) \(inventory)", "/dev/null"],
                                     timeout: 240, environment: ["TERM": "xterm"])
        #expect(result.status == 0, "\(result.stderr)\(result.stdout)")
        // What is written after "erase the line" and not ended by a newline is rewritten in place (a line that
        // is printed for good also starts by erasing the progress line, and ends with a newline).
        let rewritten = result.stdout.components(separatedBy: "\r\u{1B}[2K").dropFirst()
            .filter { !$0.contains("\n") && !$0.isEmpty }
        #expect(rewritten.contains { $0.contains("health: attempt") }, "\(result.stdout)")
        #expect(rewritten.contains { $0.contains("before_up: running for") }, "\(result.stdout)")
        let visible = { (line: String) in line.replacingOccurrences(of: "\u{1B}\\[[0-9;]*[A-Za-z]", with: "", options: .regularExpression) }
        for line in rewritten {
            #expect(visible(line).count <= 80, "\(visible(line).count) columns: \(visible(line))")
        }
        // The hosts themselves ran the same rollout.
        try expectOn(v2, serving: "v2", ["cs-1", "cs-2"])
    }

    /// `--all` ends with one table across the services, and one error line that names every service that failed.
    @Test func allEndsWithOneSummaryAndAnErrorNamingEveryFailedService() throws {
        let inventory = try Sandbox.inventoryVariant([("timeout: 30s", "timeout: 3s")])
        let result = try Sandbox.deployTool(["deploy", "--all", "--ref", "broken"], inventory: inventory)
        #expect(result.status == 1, "\(result.stderr)\(result.stdout)")
        let summary = try #require(result.stdout.range(of: "\n2 services: 2 rolled back in "), "\(result.stdout)")
        let table = result.stdout[summary.upperBound...].split(separator: "\n").dropFirst()
        #expect(table.first?.contains("SERVICE") == true && table.first?.contains("ON TARGET") == true, "\(table)")
        #expect(table.contains { $0.hasPrefix("  content ") && $0.contains("rolled_back") && $0.contains("0/2") && $0.contains("content-1: failed at health_gate") })
        #expect(table.contains { $0.hasPrefix("  customer-service ") && $0.contains("cs-1: failed at health_gate") })
        #expect(result.stderr.hasPrefix("error: 2 of 2 services did not succeed:\n  content: content-1 failed at health_gate"), "\(result.stderr)")
        #expect(result.stderr.contains("\n  customer-service: cs-1 failed at health_gate"), "\(result.stderr)")
        try expectOn(v1, serving: "v1", ["cs-1", "cs-2"])
    }
}
