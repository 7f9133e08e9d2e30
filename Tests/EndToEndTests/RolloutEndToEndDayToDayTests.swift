import Foundation
import Plan
import Testing

/// SPEC "Day-to-day commands" over real sshd and podman-compose: `logs` and `exec` against the sandbox hosts.
/// The sample app logs its start and every request it serves (busybox httpd -vv). Part of the serialized suite.
extension RolloutEndToEndTests {
    /// Asks `host`'s app for `path` (an unknown path is logged like any other request).
    static func request(_ host: String, _ path: String) throws {
        _ = try Command.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-m", "5", "http://\(Sandbox.addresses[host]!):18080\(path)"], timeout: 10)
    }

    /// The lines `logs` printed for `host` that came from its container: podman-compose also prints what it runs;
    /// docker-compose says what it attaches to and puts the container's name before each line (`app_1  | `).
    static func appLines(_ output: String, _ host: String) -> [String] {
        let prefix = host.padding(toLength: 4, withPad: " ", startingAt: 0) + "  | "
        let composeSaid = ["['podman'", "using podman version", "podman ", "exit code:", "Attaching to "]
        let lines: [String] = output.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        let own: [String] = lines.filter { line in !composeSaid.contains { line.hasPrefix($0) } }
        let container = "app_1  | "
        return own.map { $0.hasPrefix(container) ? String($0.dropFirst(container.count)) : $0 }
    }

    @Test func logsTailShowsTheLastLinesOfEachHostPrefixedWithIt() throws {
        let marker = "/tail-\(UUID().uuidString.prefix(8))"
        for host in ["cs-1", "cs-2"] {
            for _ in 0..<4 { try Self.request(host, marker + "-" + host) }
        }
        let logs = try Sandbox.deployTool(["logs", "customer-service", "--tail", "5"])
        #expect(logs.status == 0, "\(logs.stderr)\(logs.stdout)")
        for host in ["cs-1", "cs-2"] {
            let lines = Self.appLines(logs.stdout, host)
            #expect(lines.count == 5, "\(host): \(lines)")
            // The newest lines: this test's requests to that host (httpd logs a url: and a response: line each).
            #expect(lines.filter { $0.contains("url:\(marker)-\(host)") }.count == 2, "\(host): \(lines)")
        }
        let json = try Sandbox.deployTool(["logs", "customer-service", "--host", "cs-2", "--tail", "2", "--format", "json"])
        let objects = try jsonLines(json.stdout)
        #expect(json.status == 0 && objects.allSatisfy { $0["host"] as? String == "cs-2" }, "\(json.stdout)")
        #expect(objects.contains { ($0["line"] as? String)?.contains("url:\(marker)-cs-2") == true }, "\(json.stdout)")
    }

    @Test func logsFollowStreamsNewLinesAndEndsCleanlyOnCtrlC() throws {
        let logs = try Command.Running(Sandbox.binary, ["logs", "customer-service", "--tail", "0", "--follow", "-i", Sandbox.inventory],
                                       environment: [:])
        let marker = "/follow-\(UUID().uuidString.prefix(8))"
        // A line the container prints after `logs` started streaming: ask until it shows (the follower needs a
        // moment to attach).
        let until = Date().addingTimeInterval(30)
        while !logs.stdout.contains("cs-2  | ") || !logs.stdout.contains("url:\(marker)") {
            guard Date() < until, logs.isRunning else { break }
            try Self.request("cs-2", marker)
            Thread.sleep(forTimeInterval: 0.5)
        }
        #expect(Self.appLines(logs.stdout, "cs-2").contains { $0.contains("url:\(marker)") }, "\(logs.stdout)")
        #expect(logs.isRunning, "logs --follow ended by itself")
        logs.signal(SIGINT)
        let result = try logs.wait(timeout: 15)
        #expect(result.status == 0, "\(result.stderr)\(result.stdout)")
        // Nothing keeps following on the hosts.
        for host in ["cs-1", "cs-2"] {
            let left = try Sandbox.ssh(host, "pgrep -af 'logs --tail 0 -f' | grep -v pgrep || true")
            #expect(left.stdout.isEmpty, "\(host): \(left.stdout)")
        }
    }

    /// `logs --follow | head -n 1`: once the reader is gone, the followers stop as on Ctrl-C and the pipeline ends.
    @Test func logsFollowEndsWhenItsReaderGoesAway() throws {
        for host in ["cs-1", "cs-2"] { try Self.request(host, "/reader-gone") }
        let script = "\"$0\" logs customer-service --tail 5 --follow -i \"$1\" | head -n 1"
        let result = try Command.run("/bin/bash", ["-c", script, Sandbox.binary, Sandbox.inventory], timeout: 60)
        #expect(result.status == 0 && result.stdout.split(separator: "\n").count == 1, "\(result.stderr)\(result.stdout)")
        for host in ["cs-1", "cs-2"] {
            let left = try Sandbox.ssh(host, "pgrep -af 'logs --tail 5 -f' | grep -v pgrep || true")
            #expect(left.stdout.isEmpty, "\(host): \(left.stdout)")
        }
    }

    @Test func logsReportAnUnreachableHostAndShowTheOthers() throws {
        let inventory = try Sandbox.inventoryVariant([("        address: 127.0.0.12\n", "        address: 127.0.0.12\n        ssh: { port: 2299 }\n")])
        let logs = try Sandbox.deployTool(["logs", "customer-service", "--tail", "3"], inventory: inventory)
        #expect(logs.status == 4, "\(logs.stderr)\(logs.stdout)")
        #expect(!Self.appLines(logs.stdout, "cs-1").isEmpty, "\(logs.stdout)")
        #expect(logs.stderr.contains("cs-2: unreachable") && logs.stderr.contains("cs-2 could not be reached"), "\(logs.stderr)")
    }

    /// `exec` with the sandbox inventory: `-i` goes before `--`, after which every word is the command's.
    static func exec(_ args: [String]) throws -> Command.Result {
        try Command.run(Sandbox.binary, ["exec", "-i", Sandbox.inventory] + args, timeout: 120)
    }

    @Test func execRunsOneCommandInEveryCheckoutWithTheServiceEnvironment() throws {
        let deploy = try Sandbox.deployTool(["deploy", "customer-service"])
        #expect(deploy.status == 0, "\(deploy.stderr)\(deploy.stdout)")

        let revisions = try Self.exec(["customer-service", "--", "git", "rev-parse", "HEAD"])
        #expect(revisions.status == 0, "\(revisions.stderr)\(revisions.stdout)")
        #expect(revisions.stdout == "cs-1  | \(v2)\ncs-1  exit 0\ncs-2  | \(v2)\ncs-2  exit 0\n", "\(revisions.stdout)")

        // The service's environment (<state>/env) is exported; words arrive as they were given, one argument each.
        let env = try Self.exec(["customer-service", "--host", "cs-2", "--", "sh", "-c", "echo \"$OPENCLAW_HOST $LOG_LEVEL $1\"", "x", "it's a; test"])
        #expect(env.stdout == "cs-2  | cs-2 info it's a; test\ncs-2  exit 0\n", "\(env.stderr)\(env.stdout)")

        // One host's command fails: exit 1, both hosts' statuses shown.
        _ = try Sandbox.ssh("cs-1", "touch \(Sandbox.checkout("cs-1"))/.e2e-only-here").checked()
        defer { _ = try? Sandbox.ssh("cs-1", "rm -f \(Sandbox.checkout("cs-1"))/.e2e-only-here") }
        let failing = try Self.exec(["customer-service", "--parallel", "1", "--format", "json", "--", "test", "-f", ".e2e-only-here"])
        #expect(failing.status == 1, "\(failing.stderr)\(failing.stdout)")
        let hosts = try jsonDocument(failing.stdout)["hosts"] as? [[String: Any]] ?? []
        #expect(hosts.map { $0["host"] as? String } == ["cs-1", "cs-2"])
        #expect(hosts.map { $0["exit_status"] as? Int } == [0, 1], "\(failing.stdout)")
        #expect(failing.stderr.contains("cs-2: exit status 1"), "\(failing.stderr)")
    }

    /// SPEC "Runtimes": what a host's compose cannot do is refused before any host is contacted, naming it.
    @Test func logsSinceIsRefusedForComposeV1BeforeAnyHostIsContacted() throws {
        let inventory = try Sandbox.inventoryVariant([("command: podman-compose", "command: docker-compose")])
        let result = try Sandbox.deployTool(["logs", "customer-service", "--since", "5m"], inventory: inventory)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("logs --since is not available with docker-compose (Compose v1)"), "\(result.stderr)")
        for host in ["cs-1", "cs-2"] { #expect(try Self.received(host).isEmpty, "\(host) was contacted") }
    }
}
