import Commands
import ShellWords
import Foundation
import Inventory
import Plan
import Engine
import Testing

/// The commands run by a real shell and real git, in paths with spaces and quotes under `~/`.
@Suite("Remote commands: behaviour in a real shell")
struct CommandsShellTests {
    typealias F = PlannerFixtures

    static let repoPath = "~/apps/it's my \"app\""
    static let stateDir = "~/state dir/customer-service"

    func commands(compose: [String] = ["true"]) -> HostCommands {
        HostCommands(service: "customer-service", host: F.host(
            "h", repoPath: Self.repoPath, compose: ComposeSettings(command: compose), stateDir: Self.stateDir))
    }

    func owner(_ token: String, expires: String = "2026-11-25T13:15:21Z") -> LockOwner {
        LockOwner(operator: "o'brien", machine: "laptop", pid: 42, started: "2026-11-25T13:13:21Z",
                  target: "main", expires: expires, token: token)
    }

    @Test("the lock: taken once, held against others, refreshed and released only by its token")
    func lockLifecycle() throws {
        let shell = try CommandsShellRunner()
        defer { shell.remove() }
        let c = commands()
        #expect(try shell.run(c.lockRead()) == CommandResult(exitStatus: 0))
        #expect(try shell.run(c.lockRelease(token: "t1")).exitStatus == 0)

        #expect(try shell.run(c.lockAcquire(owner: owner("t1"))).exitStatus == 0)
        let held = try shell.run(c.lockAcquire(owner: owner("t2")))
        #expect(held.exitStatus == 3)
        #expect(held.stdout == owner("t1").jsonLine + "\n")
        #expect(try shell.run(c.lockRead()).stdout == owner("t1").jsonLine + "\n")

        #expect(try shell.run(c.lockRefresh(owner: owner("t2"))).exitStatus == 3)
        let refreshed = owner("t1", expires: "2026-11-25T13:17:21Z")
        #expect(try shell.run(c.lockRefresh(owner: refreshed)).exitStatus == 0)
        #expect(try shell.run(c.lockRead()).stdout == refreshed.jsonLine + "\n")

        let refused = try shell.run(c.lockRelease(token: "t2"))
        #expect(refused.exitStatus == 3)
        #expect(refused.stdout == refreshed.jsonLine + "\n")
        #expect(try shell.run(c.lockRelease(token: "t1")).exitStatus == 0)
        #expect(try shell.run(c.lockRead()).stdout == "")

        #expect(try shell.run(c.lockAcquire(owner: owner("t3"))).exitStatus == 0)
        let forced = try shell.run(c.lockForceRelease())
        #expect(forced.exitStatus == 0)
        #expect(forced.stdout == owner("t3").jsonLine + "\n")
        #expect(try shell.run(c.lockRead()).stdout == "")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: shell.home.appendingPathComponent("state dir/customer-service").path)
        // The lock-operations file stays: it is what serializes them.
        #expect(leftovers == [".lock-ops"])
    }

    @Test("refresh and release compare the whole token, not a part of owner.json")
    func lockTokenIsComparedWhole() throws {
        let shell = try CommandsShellRunner()
        defer { shell.remove() }
        let c = commands()
        // Held by t10, whose operator's name happens to be t2: neither t1 (a prefix) nor t2 (another field) holds it.
        var holder = owner("t10")
        holder.operator = "t2"
        #expect(try shell.run(c.lockAcquire(owner: holder)).exitStatus == 0)
        for other in ["t1", "t2", "10"] {
            #expect(try shell.run(c.lockRefresh(owner: owner(other))).exitStatus == 3, "\(other) refreshed t10's lock")
            #expect(try shell.run(c.lockRelease(token: other)).exitStatus == 3, "\(other) released t10's lock")
        }
        #expect(try shell.run(c.lockRead()).stdout == holder.jsonLine + "\n")
        #expect(try shell.run(c.lockRelease(token: "t10")).exitStatus == 0)
    }

    /// While another lock operation runs on the host (a forced release, a new acquire), a release waits for it
    /// instead of acting between its own check and its change.
    @Test("a lock release waits for the lock operation in progress")
    func lockOperationsAreSerialized() throws {
        let shell = try CommandsShellRunner()
        defer { shell.remove() }
        let c = commands()
        #expect(try shell.run(c.lockAcquire(owner: owner("t1"))).exitStatus == 0)
        let state = shell.home.appendingPathComponent("state dir/customer-service")
        let fd = open(state.appendingPathComponent(".lock-ops").path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        #expect(fd >= 0)
        #expect(flock(fd, LOCK_EX) == 0)
        let release = try ChildProcess.spawn("/usr/bin/env", ["HOME=\(shell.home.path)", "/bin/sh", "-c", c.lockRelease(token: "t1").rendered])
        Thread.sleep(forTimeInterval: 0.5)
        #expect(FileManager.default.fileExists(atPath: state.appendingPathComponent("lock").path), "the release acted while another held the lock-ops lock")
        close(fd)
        #expect(release.wait(timeout: .seconds(20)) == 0)
        #expect(!FileManager.default.fileExists(atPath: state.appendingPathComponent("lock").path))
    }

    @Test("of many deploys taking the lock at once, exactly one wins")
    func lockRace() throws {
        let shell = try CommandsShellRunner()
        defer { shell.remove() }
        let c = commands()
        let contenders = 12
        // Every contender spins (boundedly) until the start file appears, so they really race.
        let gate = "i=0; while [ ! -e \"$HOME/go\" ] && [ $i -lt 200000 ]; do i=$((i+1)); done;"
        let scripts = (0..<contenders).map { "\(gate) \(c.lockAcquire(owner: owner("t\($0)")).rendered)" }
        let go = shell.home.appendingPathComponent("go")
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            _ = FileManager.default.createFile(atPath: go.path, contents: nil)
        }
        let statuses = try shell.runConcurrently(scripts)
        #expect(statuses.filter { $0 == 0 }.count == 1)
        #expect(statuses.filter { $0 == 3 }.count == contenders - 1)
        let winner = try #require(statuses.firstIndex(of: 0))
        #expect(try shell.run(c.lockRead()).stdout == owner("t\(winner)").jsonLine + "\n")
    }

    @Test("preflight refuses a missing repo, local changes (untracked too) and a missing compose; ignored files are fine")
    func preflight() throws {
        let shell = try CommandsShellRunner()
        defer { shell.remove() }
        let c = commands()
        let missing = try shell.run(c.preflight())
        #expect(missing.exitStatus == 1)
        #expect(missing.stderr.contains("does not exist on the host"))

        let repo = shell.home.appendingPathComponent("apps/it's my \"app\"")
        let setUp = "mkdir -p \"$HOME\"/apps && git init -q \(ShellQuote.quotePath(Self.repoPath)) && cd \(ShellQuote.quotePath(Self.repoPath))"
            + " && echo '*.log' > .gitignore && git add .gitignore && git commit -q -m one"
        #expect(try shell.run(shell: setUp).exitStatus == 0)
        let passed = try shell.run(c.preflight())
        #expect(passed.exitStatus == 0 && passed.stderr.isEmpty)
        // It says what the host has, for the declared-size check.
        let resources = try #require(HostResources.parse(passed.stdout))
        #expect((resources.cpus ?? 0) >= 1 && (resources.memoryBytes ?? 0) > 0)

        try "x".write(to: repo.appendingPathComponent("debug.log"), atomically: true, encoding: .utf8)
        #expect(try shell.run(c.preflight()).exitStatus == 0)

        try "x".write(to: repo.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let untracked = try shell.run(c.preflight())
        #expect(untracked.exitStatus == 1)
        #expect(untracked.stderr.contains("has local changes"))
        #expect(untracked.stderr.contains("?? notes.txt"))
        #expect(FileManager.default.fileExists(atPath: repo.appendingPathComponent("notes.txt").path))
        try FileManager.default.removeItem(at: repo.appendingPathComponent("notes.txt"))

        let noCompose = try shell.run(commands(compose: ["no-such-compose-command"]).preflight())
        #expect(noCompose.exitStatus == 1)
        #expect(noCompose.stderr == "the compose command \"no-such-compose-command\" does not work on the host\n")
    }

    @Test("fetch, resolve and checkout move a clone to the remote's commit")
    func gitRoundTrip() throws {
        let shell = try CommandsShellRunner()
        defer { shell.remove() }
        let c = commands()
        let repo = ShellQuote.quotePath(Self.repoPath)
        let setUp = "git init -q --bare origin.git && git clone -q origin.git work && cd work && git commit -q --allow-empty -m one"
            + " && git push -q origin HEAD:main && mkdir -p \"$HOME\"/apps && git clone -q -b main \"$HOME\"/origin.git \(repo)"
            + " && git commit -q --allow-empty -m two && git tag v2 && git push -q origin HEAD:main v2 && git rev-parse HEAD"
        let made = try shell.run(shell: setUp)
        #expect(made.exitStatus == 0, "\(made.stderr)")
        let newest = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let before = try shell.run(c.currentRevision()).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(CommitID(before) != nil && before != newest)
        #expect(try shell.run(c.fetch()).exitStatus == 0)
        let branch = try shell.run(c.resolve(try GitRef(validating: "main")))
        #expect(branch == CommandResult(exitStatus: 0, stdout: newest + "\n"))
        #expect(try shell.run(c.resolve(try GitRef(validating: "v2"))).stdout == newest + "\n")
        #expect(try shell.run(c.resolve(try GitRef(validating: String(newest.prefix(10))))).stdout == newest + "\n")
        let unknown = try shell.run(c.resolve(try GitRef(validating: "nope")))
        #expect(unknown.exitStatus == 1)
        #expect(unknown.stdout == "")
        #expect(unknown.stderr.contains("nope is neither a branch of origin, a tag nor a commit"))

        #expect(try shell.run(c.checkout(CommitID(newest)!)).exitStatus == 0)
        #expect(try shell.run(c.currentRevision()).stdout == newest + "\n")
    }

    @Test("history lines are appended and read back, the last N when asked")
    func history() throws {
        let shell = try CommandsShellRunner()
        defer { shell.remove() }
        let c = commands()
        #expect(try shell.run(c.historyRead(limit: nil)) == CommandResult(exitStatus: 0))
        let records = (1...3).map { i in
            HistoryRecord(id: "d-\(i)", service: "customer-service", host: "h", action: "deploy", from: i == 1 ? nil : "a",
                          to: "b", result: "succeeded", startedAt: "s", finishedAt: "f", operator: "o'brien")
        }
        for record in records { #expect(try shell.run(c.historyAppend(record)).exitStatus == 0) }
        let all = try shell.run(c.historyRead(limit: nil)).stdout
        #expect(all == records.map { $0.jsonLine + "\n" }.joined())
        let decoded = try all.split(separator: "\n").map { try JSONDecoder().decode(HistoryRecord.self, from: Data($0.utf8)) }
        #expect(decoded == records)
        #expect(try shell.run(c.historyRead(limit: 2)).stdout == records.suffix(2).map { $0.jsonLine + "\n" }.joined())
    }
}

extension CommandsShellTests {
    @Test("the gateway's access log read: from an offset, the last N bytes, after a rotation, at most max bytes, one service")
    func accessLogRead() throws {
        let shell = try CommandsShellRunner()
        defer { shell.remove() }
        let log = shell.home.appendingPathComponent("access log's.json").path
        func line(_ service: String, _ status: Int) -> String {
            "{\"time\":\"2026-12-07T10:00:00+00:00\",\"service\":\"\(service)\",\"upstream\":\"10.0.0.1:8080\",\"status\":\(status),\"request_time\":0.004}\n"
        }
        func read(_ offset: Int64, max: Int = 1 << 20, service: String = "customer-service") throws -> (TrafficReading, String) {
            let command = GatewayCommands.readAccessLog(path: log, service: .arg(service), offset: .arg(String(offset)), maxBytes: max)
            let result = try shell.run(command)
            #expect(result.exitStatus == 0, "\(result.stderr)")
            return (try #require(TrafficReading.parse(result.stdout, hosts: [], port: 0, known: [:])).reading, result.stdout)
        }
        // No log yet: nothing, and the next read begins at 0.
        let (empty, _) = try read(-1000)
        #expect(empty.lines.isEmpty && empty.end == 0)
        let first = line("customer-service", 200) + line("content", 500) + line("customer-service-2", 500) + line("customer-service", 502)
        try first.write(toFile: log, atomically: false, encoding: .utf8)
        let (all, _) = try read(0)
        #expect(all.lines.map(\.status) == [200, 502], "only this service's lines, not a service whose name starts with it")
        #expect(all.end == Int64(first.utf8.count))
        // -N: the last N bytes (a torn first line is skipped).
        let (tail, _) = try read(-Int64(line("customer-service", 502).utf8.count + 5))
        #expect(tail.lines.map(\.status) == [502] && tail.end == all.end)
        // From where the last read ended: only what came since.
        let handle = try #require(FileHandle(forWritingAtPath: log))
        handle.seekToEndOfFile()
        handle.write(Data(line("customer-service", 503).utf8))
        try handle.close()
        let (since, _) = try read(all.end)
        #expect(since.lines.map(\.status) == [503])
        // At most `max` bytes a read: the rest is left for the next one.
        let one = Int64(line("customer-service", 200).utf8.count)
        let (bounded, _) = try read(0, max: Int(one))
        #expect(bounded.lines.map(\.status) == [200] && bounded.end == one)
        // Rotated (smaller than the offset): from the start of the new file.
        try line("customer-service", 404).write(toFile: log, atomically: false, encoding: .utf8)
        let (rotated, _) = try read(all.end)
        #expect(rotated.lines.map(\.status) == [404] && rotated.end == one)
        // A host given by name: the first read (from before the end) says what the gateway host resolves it to, and
        // its requests are then the host's; later reads do not resolve again.
        let firstRead = try shell.run(GatewayCommands.readAccessLog(path: log, service: .arg("customer-service"), offset: .arg("-100"),
                                                                maxBytes: 1 << 20, resolving: ["localhost"]))
        let (named, resolved) = try #require(TrafficReading.parse(firstRead.stdout, hosts: [("cs-1", "localhost")], port: 8080, known: [:]),
                                             "\(firstRead.stdout)")
        #expect(resolved["127.0.0.1:8080"] == "cs-1" && named.hostByUpstream["127.0.0.1:8080"] == "cs-1", "\(firstRead.stdout)")
        #expect(named.end == one)
        let later = try shell.run(GatewayCommands.readAccessLog(path: log, service: .arg("customer-service"), offset: .arg("0"),
                                                                maxBytes: 1 << 20, resolving: ["localhost"]))
        #expect(!later.stdout.contains("resolved"), "\(later.stdout)")
        // An offset that is not a number is refused.
        let bad = try shell.run(GatewayCommands.readAccessLog(path: log, service: .arg("x"), offset: .arg("1; reboot"), maxBytes: 10))
        #expect(bad.exitStatus == 2)
    }
}
