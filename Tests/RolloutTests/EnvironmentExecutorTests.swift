import Commands
import Foundation
import Inventory
import Plan
import Engine
import Testing
import TestSupport

/// SPEC "Environment and secrets" and "Hooks", over a scripted fleet: what each host receives, and when.
@Suite("Environment, secrets and hooks in a rollout")
struct EnvironmentExecutorTests {
    static let secretValue = "s3cr3t-'quoted'-value"
    static let source = SecretSource(kind: .environment("APP_TOKEN"), keyPath: "services.app.env.TOKEN", position: "inv.yaml:9:7")

    static func service(hooks: Hooks = Hooks()) -> Service {
        // Deadlines with room: these tests run beside the SSH and nginx suites, and a gate or hook starved of the
        // CPU for two seconds must not turn a good rollout into a failed one. (The failed gate below waits them out.)
        var hosts = ["h1", "h2"].map { Fixtures.host($0, timeout: .seconds(8), commandTimeout: .seconds(30)) }
        for index in hosts.indices {
            hosts[index].env = [EnvVariable(name: "LOG_LEVEL", value: .plain("info")), EnvVariable(name: "TOKEN", value: .secret(source))]
        }
        var service = Fixtures.service(hosts: hosts)
        service.hooks = hooks
        service.skills = ["faq", "returns"]
        return service
    }

    static let secrets = Secrets([source.kind: secretValue])

    func run(_ fleet: FakeFleet, events: EventLog = EventLog(), hookDirectory: String? = nil) async throws -> ServiceOutcome {
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        var options = Fixtures.options()
        options.bookkeepingTimeout = .seconds(10)
        let executor = Executor(factory: fleet.scripted, sink: events, options: options, secrets: Self.secrets,
                                hookDirectory: hookDirectory)
        return try #require(await executor.run(plan).services.first)
    }

    @Test("the environment travels on stdin; no command line carries a secret, and the plan shows `(secret)`")
    func secretOnStdinOnly() async throws {
        let fleet = FakeFleet(service: Self.service())
        let outcome = try await run(fleet)
        #expect(outcome.result == .succeeded)
        let env = try #require(fleet.env("h1"))
        #expect(env.contains("TOKEN='s3cr3t-'\\''quoted'\\''-value'\n"))
        #expect(env.contains("OPENCLAW_REVISION=\(newSHA)\n") && env.contains("OPENCLAW_HOST=h1\n") && env.contains("OPENCLAW_SKILLS=faq,returns\n"))
        for call in fleet.scripted.calls {
            #expect(call.command?.contains("s3cr3t") != true, "a command line carries the secret: \(call.command ?? "")")
        }
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        #expect(plan.jsonDocument.contains("\"TOKEN\": \"(secret)\""))
        #expect(!plan.jsonDocument.contains("s3cr3t"))
        #expect(plan.services[0].hosts[0].env.shownLines.contains("OPENCLAW_REVISION=<target>"))
        // A printed Secrets shows no value either.
        #expect(!"\(Self.secrets)".contains("s3cr3t") && !String(reflecting: Self.secrets).contains("s3cr3t"))
    }

    @Test("on the target with the same environment and healthy: no change; with another environment: compose up and the gate")
    func environmentDecidesChange() async throws {
        let fleet = FakeFleet(service: Self.service(), head: newSHA)
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        try fleet.seedEnvironment(plan, target: newSHA, secrets: Self.secrets)
        #expect(try await run(fleet).result == .noChange)
        #expect(fleet.commands(on: "h1", containing: " up -d").isEmpty)

        // Only the secret changes: every host is brought up again on the same commit.
        try fleet.seedEnvironment(plan, target: newSHA, secrets: Secrets([Self.source.kind: "the old value"]))
        let outcome = try await run(fleet)
        #expect(outcome.result == .succeeded)
        #expect(outcome.hosts.map(\.result) == [.succeeded, .succeeded])
        #expect(fleet.commands(on: "h1", containing: " up -d").count == 1)
        #expect(fleet.env("h1")?.contains("s3cr3t") == true)
    }

    @Test("a failed gate after an environment change puts the environment in force before back, with the revision")
    func putBackRestoresEnvironment() async throws {
        let fleet = FakeFleet(service: Self.service())
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        try fleet.seedEnvironment(plan, target: oldSHA, secrets: Secrets([Self.source.kind: "old"]))
        let before = try #require(fleet.env("h2"))
        fleet.unhealthy(on: "h2", at: newSHA)
        let outcome = try await run(fleet)
        #expect(outcome.result == .rolledBack)
        #expect(fleet.env("h2") == before)
        #expect(fleet.env("h1") == before.replacingOccurrences(of: "OPENCLAW_HOST=h2", with: "OPENCLAW_HOST=h1"))
        #expect(fleet.head("h1") == oldSHA && fleet.head("h2") == oldSHA)
    }

    @Test("before_up runs after the env step and before compose up; when it fails the host is put back")
    func beforeUp() async throws {
        let fleet = FakeFleet(service: Self.service(hooks: Hooks(beforeUp: "./migrate --check")))
        fleet.scripted.on("./migrate", host: "h1", reply: CommandResult(exitStatus: 5, stderr: "migration 42 failed\n"))
        let events = EventLog()
        let outcome = try await run(fleet, events: events)
        #expect(outcome.result == .rolledBack)
        #expect(outcome.hosts.first?.failedStep == StepName(.beforeUp))
        #expect(fleet.head("h1") == oldSHA)
        #expect(fleet.commands(on: "h1", containing: " up -d").count == 1, "only the put back's compose up runs")
        let h1 = fleet.scripted.commands(on: "h1")
        let order = ["cat > .env.new", "./migrate", "if [ -f env.before ]"].map { step in h1.firstIndex { $0.contains(step) } ?? -1 }
        #expect(order == order.sorted() && !order.contains(-1))
        #expect(fleet.scripted.commands(on: "h2").isEmpty == false && fleet.checkouts(on: "h2").isEmpty)
    }

    @Test("a failing before hook changes nothing; after runs whatever the result and receives it")
    func localHooks() async throws {
        let directory = NSTemporaryDirectory() + "hooks-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let record = "echo \"$OPENCLAW_SERVICE $OPENCLAW_ACTION $OPENCLAW_SHA $OPENCLAW_HOSTS ${OPENCLAW_RESULT:-none}\" >> hooks.log"

        let failing = FakeFleet(service: Self.service(hooks: Hooks(before: ["/bin/sh", "-c", record + "; echo refused >&2; exit 3"],
                                                                   after: ["/bin/sh", "-c", record])))
        let outcome = try await run(failing, hookDirectory: directory)
        #expect(outcome.result == .stopped)
        #expect(outcome.error?.category == .failed)
        #expect(outcome.error?.description.contains("the before hook failed: exit status 3: refused") == true)
        #expect(failing.checkouts(on: "h1").isEmpty && failing.checkouts(on: "h2").isEmpty)
        #expect(failing.commands(on: "h1", containing: "cat > .env.new").isEmpty)
        let log = try String(contentsOfFile: directory + "/hooks.log", encoding: .utf8)
        #expect(log == "app deploy \(newSHA) h1,h2 none\napp deploy \(newSHA) h1,h2 stopped\n")

        let good = FakeFleet(service: Self.service(hooks: Hooks(after: ["/bin/sh", "-c", record])))
        let goodOutcome = try await run(good, hookDirectory: directory)
        #expect(goodOutcome.result == .succeeded, "\(String(describing: goodOutcome.error)) \(goodOutcome.hosts)")
        let after = try String(contentsOfFile: directory + "/hooks.log", encoding: .utf8)
        #expect(after.hasSuffix("app deploy \(newSHA) h1,h2 succeeded\n"))
    }

    @Test("secrets are read before anything: a missing one names its key and source")
    func resolution() async throws {
        let directory = NSTemporaryDirectory() + "secrets-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "from-file\n".write(toFile: directory + "/key", atomically: true, encoding: .utf8)
        let file = SecretSource(kind: .file(directory + "/key"), keyPath: "services.app.env.KEY", position: "inv.yaml:10:7")
        let command = SecretSource(kind: .command(["/bin/sh", "-c", "printf 'from-%s\\n' command"]), keyPath: "services.app.env.CMD",
                                   position: "inv.yaml:11:7")
        let secrets = try await SecretResolver.resolve([Self.source, file, command], environment: ["APP_TOKEN": "from-env"],
                                                       directory: directory)
        #expect(secrets.count == 3)
        let env = EnvFile(entries: [EnvFile.Entry(name: "A", value: .secret(Self.source)), EnvFile.Entry(name: "B", value: .secret(file)),
                                    EnvFile.Entry(name: "C", value: .secret(command))])
        #expect(try env.rendered(secrets: secrets, values: [:]) == "A=from-env\nB=from-file\nC=from-command\n")

        let missing = SecretSource(kind: .file(directory + "/nope"), keyPath: "services.app.env.GONE", position: "inv.yaml:12:7")
        let failing = SecretSource(kind: .command(["/bin/sh", "-c", "printf 'half%s\\n' -a-secret; echo 'vault sealed' >&2; exit 2"]),
                                   keyPath: "services.app.env.SEALED", position: "inv.yaml:13:7")
        await #expect(throws: SecretError.self) {
            _ = try await SecretResolver.resolve([Self.source], environment: [:], directory: directory)
        }
        do {
            _ = try await SecretResolver.resolve([Self.source, missing, failing], environment: [:], directory: directory)
            Issue.record("missing secrets were not reported")
        } catch let error as SecretError {
            #expect(error.category == .invalidInventory)
            #expect(error.problems == [
                "inv.yaml:9:7: `services.app.env.TOKEN` (from_env: APP_TOKEN): the variable APP_TOKEN is not set in this environment; export it before running",
                "inv.yaml:12:7: `services.app.env.GONE` (from_file: \(directory)/nope): no such file \(directory)/nope",
                "inv.yaml:13:7: `services.app.env.SEALED` (from_command: [/bin/sh, -c, printf 'half%s\\n' -a-secret; echo 'vault sealed' >&2; exit 2]): the command exited with status 2: vault sealed",
            ])
            #expect(!error.description.contains("half-a-secret"))
        }
    }

    @Test("SHA-256 matches the standard's test vectors")
    func sha256() {
        #expect(EnvFile.digest(ofRendered: "") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(EnvFile.digest(ofRendered: "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(EnvFile.digest(ofRendered: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(EnvFile.digest(ofRendered: String(repeating: "a", count: 1000)).count == 64)
    }

    /// The service-wide step `hook_<kind>` as reported.
    static func hookStep(_ events: EventLog, _ kind: String) -> StepReport? {
        events.all.compactMap { event -> StepReport? in
            guard event.host == nil, case .step(let report) = event.payload, report.step.rawValue == "hook_" + kind else { return nil }
            return report
        }.first
    }

    @Test("a before hook that leaves `sleep 300 &` behind ends its step when it exits, not at its timeout")
    func aHooksBackgroundChildHoldsNothing() async throws {
        let pidFile = NSTemporaryDirectory() + "hook-bg-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let fleet = FakeFleet(service: Self.service(hooks: Hooks(before: ["/bin/sh", "-c", "sleep 300 & echo $! > \(pidFile); echo notified"])))
        let events = EventLog()
        let outcome = try await run(fleet, events: events)
        #expect(outcome.result == .succeeded, "\(String(describing: outcome.error))")
        let step = try #require(Self.hookStep(events, "before"))
        // The hook's own timeout is 30 s: a step that waited for the background process's output to end
        // would last that long and fail.
        #expect(step.status == .ok && step.elapsed < .seconds(10), "\(step)")
        if let pid = Int32((try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") {
            kill(pid, SIGKILL)
        }
    }

    @Test("a before hook past its timeout is stopped with its whole process group; nothing changes")
    func aTimedOutHookLeavesNoProcess() async throws {
        let groupFile = NSTemporaryDirectory() + "hook-group-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: groupFile) }
        var service = Self.service(hooks: Hooks(before: ["/bin/sh", "-c", "\(ProcessGroups.record(to: groupFile)); sleep 300 & sleep 300"]))
        for index in service.hosts.indices { service.hosts[index].ssh.commandTimeout = .seconds(1) }
        let fleet = FakeFleet(service: service)
        let outcome = try await run(fleet)
        #expect(outcome.error?.description.contains("the before hook failed") == true, "\(String(describing: outcome.error))")
        #expect(fleet.checkouts(on: "h1").isEmpty && fleet.checkouts(on: "h2").isEmpty)
        let (pid, group) = try ProcessGroups.recorded(groupFile)
        #expect(pid == group)
        #expect(ProcessGroups.alive(group).isEmpty, "left alive: \(ProcessGroups.alive(group))")
    }

    @Test("local hooks get the operator's environment without the variables from_env reads")
    func hooksDoNotSeeFromEnvVariables() async throws {
        let withheld = "HOOK_TEST_TOKEN_\(UInt32.random(in: 0...UInt32.max))"
        let kept = withheld + "_KEPT"
        setenv(withheld, "withheld-value", 1)
        setenv(kept, "kept-value", 1)
        defer {
            unsetenv(withheld)
            unsetenv(kept)
        }
        let out = NSTemporaryDirectory() + "hook-env-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: out) }
        let fleet = FakeFleet(service: Self.service(hooks: Hooks(before: ["/bin/sh", "-c", "echo \"${\(withheld):-unset} ${\(kept):-unset}\" > \(out)"])))
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let secrets = Secrets([Self.source.kind: Self.secretValue], withheldVariables: [withheld])
        let executor = Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options(), secrets: secrets)
        let outcome = try #require(await executor.run(plan).services.first)
        #expect(outcome.result == .succeeded)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "unset kept-value\n")
    }
}
