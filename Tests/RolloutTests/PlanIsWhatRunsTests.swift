import Commands
import Foundation
import Inventory
import Plan
import Engine
import Testing
import TestSupport

/// SPEC "The plan is what runs": the executor sends each host exactly the plan's commands, in the plan's
/// order, with only the late values filled in; the policy the plan shows is the one the gates apply.
@Suite("The plan is what runs")
struct PlanIsWhatRunsTests {
    /// Whether `line` is `command` with its late values filled in (any non-empty text where a `<label>` is).
    static func matches(_ line: String, _ command: RemoteCommand) -> Bool {
        var pattern = "^"
        var segment: [RemoteCommand.Token] = []
        var first = true
        func flush() {
            guard !segment.isEmpty else { return }
            pattern += (first ? "" : " ") + NSRegularExpression.escapedPattern(for: RemoteCommand(segment).rendered)
            first = false
            segment = []
        }
        for token in command.tokens {
            if case .late = token {
                flush()
                pattern += (first ? "" : " ") + ".+"
                first = false
            } else {
                segment.append(token)
            }
        }
        flush()
        return line.range(of: pattern + "$", options: .regularExpression) != nil
    }

    /// The commands `host` received, with lock refreshes (periodic, over a connection of their own) taken out.
    static func received(_ fleet: FakeFleet, _ host: HostPlan) -> [String] {
        fleet.scripted.commands(on: host.host.name).filter { !matches($0, host.lockRefresh.command!) }
    }

    static func commands(_ steps: [PlannedStep]) -> [RemoteCommand] { steps.compactMap(\.command) }

    static func expect(_ lines: [String], _ commands: [RemoteCommand], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(lines.count == commands.count, "ran \(lines.count) commands, expected \(commands.count):\n\(lines.joined(separator: "\n"))",
                sourceLocation: sourceLocation)
        for (line, command) in zip(lines, commands) {
            #expect(matches(line, command), "ran:\n\(line)\nplanned:\n\(command.rendered)", sourceLocation: sourceLocation)
        }
    }

    @Test("a good rollout sends every host the plan's forward commands, in order")
    func goodRollout() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let report = await Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options()).run(plan)
        #expect(report.services[0].result == .succeeded)
        for host in plan.services[0].hosts {
            Self.expect(Self.received(fleet, host), Self.commands(host.steps))
        }
        // The first host resolved; the second did not.
        #expect(fleet.resolveCount == 1)
        // The steps before a change went to each host as one script that stops at its first failure.
        for host in plan.services[0].hosts {
            let scripts = fleet.scripted.calls.filter { $0.host == host.host.name }.compactMap { call -> [String]? in
                if case .script(let sections, true) = call.kind { return sections }
                return nil
            }
            #expect(scripts == host.sentTogether.map { $0.map(\.rawValue) } && scripts.count == 1, "\(host.host.name): \(scripts)")
        }
    }

    @Test("a failed gate runs the plan's put-back branch on the failed host and on the host updated before it")
    func failedRolloutPutsBackByThePlan() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        fleet.unhealthy(on: "h2", at: newSHA)
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]])
        let report = await Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options()).run(plan)
        #expect(report.services[0].result == .rolledBack)
        for host in plan.services[0].hosts {
            let forward = Array(host.steps.prefix { $0.kind != .healthGate })
            let final = Array(host.steps.drop { $0.kind != .history })
            let started = try #require(host.step(.historyStarted))
            // h2 fails its gate and is put back; h1 had passed (its final record written at once), and is put
            // back after h2 failed, with a started record of its own before it changes again. Only the host that
            // failed shows its compose logs.
            let expected = host.host.name == "h2"
                ? forward + host.putBack + final
                : forward + [final[0], started] + host.putBack.filter { $0.kind != .failureLogs } + final
            Self.expect(Self.received(fleet, host), Self.commands(expected))
            #expect(fleet.head(host.host.name) == oldSHA)
        }
    }

    @Test("a rollback from history reads it with the plan's step and checks the commit with the plan's resolve")
    func rollbackFromHistory() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1")), head: newSHA)
        fleet.addHistory("h1", HistoryRecord(id: "x", service: "app", host: "h1", action: "deploy", from: oldSHA, to: newSHA,
                                             result: "succeeded", startedAt: "2026-01-01T10:00:00Z", finishedAt: "2026-01-01T10:00:00Z",
                                             operator: "bob"))
        let plan = try Fixtures.plan(fleet.service, batches: [["h1"]], ref: nil, action: .rollback)
        let report = await Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options()).run(plan)
        #expect(report.services[0].result == .succeeded)
        #expect(fleet.head("h1") == oldSHA)
        let host = plan.services[0].hosts[0]
        #expect(host.steps.map(\.kind) == [.lock, .preflight, .currentRevision, .readHistory, .fetch, .resolve, .envDigest, .historyStarted,
                                          .checkout, .env, .composeUp, .healthGate, .history, .unlock])
        // The history of every host is read before the target is known: two round trips before a change.
        #expect(host.sentTogether == [[.preflight, .currentRevision, .readHistory], [.fetch, .resolve, .envDigest]])
        Self.expect(Self.received(fleet, host), Self.commands(host.steps))
    }

    @Test("the executor has no command source but the plan: a changed plan is what runs")
    func changedPlanRuns() async throws {
        let fleet = FakeFleet(service: Fixtures.service(hosts: Fixtures.hosts("h1", "h2")))
        fleet.unhealthy(on: "h2", at: newSHA)
        var plan = try Fixtures.plan(fleet.service, batches: [["h1"], ["h2"]], ref: "main")
        // Mark every command of the plan; a command the executor built itself would carry no mark.
        func marked(_ step: PlannedStep, _ mark: String) -> PlannedStep {
            var step = step
            step.command = step.command.map { RemoteCommand([.raw(": \(mark);")] + $0.tokens) }
            return step
        }
        for index in plan.services[0].hosts.indices {
            var host = plan.services[0].hosts[index]
            host.steps = host.steps.map { marked($0, "plan-\($0.kind.rawValue)") }
            host.putBack = host.putBack.map { marked($0, "put-back-\($0.kind.rawValue)") }
            host.lockRefresh = marked(host.lockRefresh, "plan-refresh")
            plan.services[0].hosts[index] = host
        }
        let report = await Executor(factory: fleet.scripted, sink: EventLog(), options: Fixtures.options(refresh: .milliseconds(20)))
            .run(plan)
        #expect(report.services[0].result == .rolledBack)
        let sent = fleet.scripted.calls.compactMap(\.command)
        #expect(!sent.isEmpty)
        #expect(sent.allSatisfy { $0.hasPrefix(": plan-") || $0.hasPrefix(": put-back-") }, "\(sent.filter { !$0.hasPrefix(": ") })")
        #expect(sent.contains { $0.hasPrefix(": put-back-checkout;") })
    }

    @Test("the gate applies each host's healthy_after, and the plan and deploy_started show those values")
    func policyShownIsApplied() async throws {
        var strict = Fixtures.host("h2", healthyAfter: 5)
        strict.health.timeout = .seconds(5)
        let service = Fixtures.service(hosts: [Fixtures.host("h1", healthyAfter: 2), strict])
        let fleet = FakeFleet(service: service)
        let plan = try Fixtures.plan(service, batches: [["h1"], ["h2"]])
        #expect(plan.services[0].healthyAfter.uniform == nil)
        #expect(plan.services[0].healthyAfter.byHost.map(\.value) == [2, 5])
        #expect(plan.jsonDocument.contains("\"healthy_after\": {\n          \"h1\": 2,\n          \"h2\": 5\n        }"))
        let events = EventLog()
        _ = await Executor(factory: fleet.scripted, sink: events, options: Fixtures.options()).run(plan)
        #expect(events.rolloutProbes("h1").count == 2)
        #expect(events.rolloutProbes("h2").count == 5)
        let started = try #require(events.all.compactMap { event -> DeployStarted? in
            if case .deployStarted(let started) = event.payload { return started }
            return nil
        }.first)
        #expect(started.healthyAfter == plan.services[0].healthyAfter)
    }

    @Test("consecutive means consecutive: a flapping endpoint starts the count again")
    func flappingEndpoint() async throws {
        var host = Fixtures.host("h1", healthyAfter: 3)
        host.health.timeout = .seconds(5)
        let fleet = FakeFleet(service: Fixtures.service(hosts: [host]))
        let answers = Answers([200, 200, 503, 200, 200, 200])
        fleet.scripted.onHTTP(host: "h1") { _, _ in HTTPResponse(status: answers.next()) }
        let events = EventLog()
        let report = await Executor(factory: fleet.scripted, sink: events, options: Fixtures.options())
            .run(try Fixtures.plan(fleet.service, batches: [["h1"]]))
        #expect(report.services[0].result == .succeeded)
        #expect(events.rolloutProbes("h1").map(\.consecutive) == [1, 2, 0, 1, 2, 3])
    }
}

/// HTTP statuses handed out in order; the last one repeats.
final class Answers: @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [Int]

    init(_ statuses: [Int]) { self.statuses = statuses }

    func next() -> Int {
        lock.withLock { statuses.count > 1 ? statuses.removeFirst() : statuses[0] }
    }
}
