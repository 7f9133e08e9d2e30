import Commands
import Inventory
import Plan
import Engine
import Fleet
import Testing
import TestSupport

@Suite("Planner: plan --check over scripted hosts")
struct PlannerCheckTests {
    typealias F = PlannerFixtures

    static let old = String(repeating: "a", count: 40)
    static let new = String(repeating: "b", count: 40)

    func plan(hosts: Int = 3) throws -> Plan {
        try F.plan(F.inventory([F.service(hosts: F.hosts(hosts))]), all: true)
    }

    /// Hosts on `heads`; each runs the environment the plan renders for the new target, unless `envs` says otherwise.
    func factory(heads: [String: String], envs: [String: String] = [:]) throws -> ScriptedTransportFactory {
        let factory = ScriptedTransportFactory()
        for (host, sha) in heads {
            factory.on("rev-parse --verify HEAD", host: host, reply: CommandResult(exitStatus: 0, stdout: sha + "\n"))
            let hostPlan = try #require(try plan(hosts: 3).services[0].hosts.first { $0.host.name == host })
            let env = try envs[host] ?? hostPlan.env.rendered(secrets: Secrets(), values: [.targetCommit: Self.new])
            factory.on("sha256sum <", host: host, reply: CommandResult(exitStatus: 0, stdout: EnvFile.digest(ofRendered: env) + "  -\n"))
        }
        factory.on("refs/remotes/origin/main", reply: CommandResult(exitStatus: 0, stdout: Self.new + "\n"))
        return factory
    }

    @Test("hosts on the target are up to date, the others will change")
    func pending() async throws {
        let factory = try factory(heads: ["h01": Self.new, "h02": Self.old, "h03": Self.new])
        let report = await PlanCheck.run(try plan(), factory: factory)
        let service = try #require(report.services.first)
        #expect(service.sha?.value == Self.new)
        #expect(service.hosts.map(\.status) == [.upToDate, .willChange, .upToDate])
        #expect(service.hosts[1].current?.value == Self.old)
        #expect(report.hasPendingChanges)
        #expect(!report.hasUnreachableHosts)
        #expect(factory.commands(on: "h01").contains { $0.hasPrefix("GIT_TERMINAL_PROMPT=0 git -C /opt/openclaw/customer fetch") })
        #expect(factory.calls.filter { if case .close = $0.kind { return true } else { return false } }.count == 3)
    }

    @Test("nothing pending when every host is on the target")
    func nothingPending() async throws {
        let report = await PlanCheck.run(try plan(hosts: 2), factory: try factory(heads: ["h01": Self.new, "h02": Self.new]))
        #expect(!report.hasPendingChanges)
        #expect(!report.hasFailures)
        #expect(report.jsonDocument.contains("\"status\": \"up_to_date\""))
    }

    @Test("a host on the target whose environment differs will change, and says why")
    func environmentDiffers() async throws {
        let report = await PlanCheck.run(try plan(hosts: 2), factory: try factory(heads: ["h01": Self.new, "h02": Self.new],
                                                                                  envs: ["h02": "LOG_LEVEL=debug\n"]))
        let hosts = try #require(report.services.first?.hosts)
        #expect(hosts.map(\.status) == [.upToDate, .willChange])
        #expect(hosts[1].detail?.contains("its environment differs") == true)
    }

    @Test("an unreachable host is reported and the others still answer")
    func unreachable() async throws {
        let factory = try factory(heads: ["h01": Self.new, "h02": Self.old, "h03": Self.new])
        factory.failConnect(host: "h02", with: [.connectFailed(host: "h02", reason: "host key changed")])
        let report = await PlanCheck.run(try plan(hosts: 3), factory: factory)
        let hosts = try #require(report.services.first?.hosts)
        #expect(hosts.map(\.status) == [.upToDate, .unreachable, .upToDate])
        #expect(hosts[1].detail == "host key changed")
        #expect(report.services.first?.sha?.value == Self.new)
        #expect(report.hasUnreachableHosts)
    }

    @Test("the first host resolves the target, as in a deploy: unreachable, nothing can be compared")
    func firstHostUnreachable() async throws {
        let factory = try factory(heads: ["h02": Self.old])
        factory.failConnect(host: "h01", with: [.connectFailed(host: "h01", reason: "host key changed")])
        let report = await PlanCheck.run(try plan(hosts: 2), factory: factory)
        let service = try #require(report.services.first)
        #expect(service.hosts.map(\.status) == [.unreachable, .failed])
        #expect(service.sha == nil)
        #expect(service.problem == "h01, which resolves the target for every host, could not be reached")
        // Only the first host was asked to resolve.
        #expect(factory.commands(on: "h02").allSatisfy { !$0.contains("^{commit}") })
    }

    @Test("a target that does not resolve is a failure, not a pending change")
    func unresolved() async throws {
        let factory = try factory(heads: ["h01": Self.old])
        factory.on("refs/remotes/origin/main", reply: CommandResult(exitStatus: 1, stderr: "main is neither a branch of origin\n"))
        let report = await PlanCheck.run(try plan(hosts: 1), factory: factory)
        #expect(report.services.first?.sha == nil)
        #expect(report.services.first?.problem == "main is neither a branch of origin")
        #expect(report.hasFailures)
        #expect(!report.hasPendingChanges)
    }
}
