import Commands
import Foundation
import Inventory
import Plan
import Engine
import Testing

@Suite("Planner: services, target and steps")
struct PlannerTests {
    typealias F = PlannerFixtures

    let inventory = F.inventory([
        F.service("trading", tier: "99.99", hosts: [F.host("lighthouse-b", port: 2222), F.host("lighthouse-c")]),
        F.service("customer-service", tier: "99.9", hosts: [F.host("lighthouse-a"), F.host("lighthouse-a2", port: 2222)]),
    ])

    @Test("named services keep the order given; a name given twice is refused; --all takes every service by name")
    func serviceOrder() throws {
        let named = try F.plan(inventory, services: ["trading", "customer-service"], all: false, ref: nil, hosts: [])
        #expect(named.services.map(\.service.name) == ["trading", "customer-service"])
        #expect(throws: SelectionError.repeatedServices(["trading"])) {
            try F.plan(inventory, services: ["trading", "customer-service", "trading"], all: false, ref: nil, hosts: [])
        }
        let all = try F.plan(inventory, services: [], all: true, ref: nil, hosts: [])
        #expect(all.services.map(\.service.name) == ["customer-service", "trading"])
    }

    @Test("the gateway host is planned when a chosen service is drained there (routed, on more than one host) or its traffic judged")
    func gatewayHostInThePlan() throws {
        var single = F.service("content", hosts: [F.host("content-1")])
        single.route = Route(prefix: "/api/content/", port: 8081)
        var unrouted = F.service("internal-tools", hosts: [F.host("tools-1"), F.host("tools-2")])
        unrouted.route = nil
        let settings = GatewaySettings(host: Endpoint(name: "gw", address: "203.0.113.5", ssh: SSHSettings(knownHosts: "/dev/null")),
                                       configPath: "/etc/nginx/conf.d/openclaw.conf", templatePath: "gateway.conf.mustache")
        let fleet = F.inventory([F.service("customer-service", hosts: [F.host("a"), F.host("b")]), single, unrouted])
        func gateway(_ names: [String]) throws -> GatewayPlan? {
            Planner.plan(try fleet.select(services: names, all: false, hosts: []), gateway: settings).gateway
        }
        let plan = try #require(try gateway(["customer-service", "content", "internal-tools"]))
        #expect(plan.services == ["customer-service"])
        #expect(plan.host.name == "gw")
        // Every kind but the maintenance write, which only `maintenance on|off` runs; a traffic read for each routed
        // service with a watch (the tier's 2m): the drained one and the one on a single host.
        let rolloutKinds = GatewayStepKind.allCases.filter { $0 != .writeMaintenance }
        #expect(plan.steps.map(\.kind) == rolloutKinds + [.readTraffic])
        #expect(plan.readTraffic.keys.sorted() == ["content", "customer-service"])
        #expect(plan.readTraffic["content"]?.command.lateValues == [.logOffset])
        #expect(plan.writeMaintenance.command.lateValues == [.maintenanceSet])
        // Every step's command is the gateway's own, with the run's values left late.
        #expect(plan.drainLock.command.lateValues == [.drainToken])
        #expect(plan.writeDrained.command.lateValues == [.drainedSet])
        #expect(plan.uploadConfig.command.rendered.hasSuffix("> /etc/nginx/conf.d/.openclaw.conf.new"))
        #expect(plan.appendConfig.command.rendered.hasSuffix(">> /etc/nginx/conf.d/.openclaw.conf.new"))
        #expect(plan.installConfig.command.lateValues == [.configBytes])
        let judgedOnly = try #require(try gateway(["content", "internal-tools"]), "a single routed host's traffic is judged")
        #expect(judgedOnly.services.isEmpty, "a single host is never drained; an unrouted service is not behind it")
        #expect(judgedOnly.readTraffic.keys.sorted() == ["content"])
        #expect(try gateway(["internal-tools"]) == nil, "an unrouted service: nothing at the gateway")
        #expect(Planner.plan(try fleet.select(services: ["customer-service"], all: false, hosts: [])).gateway == nil, "no gateway section")
        let document = Planner.plan(try fleet.select(services: ["customer-service"], all: false, hosts: []), gateway: settings).jsonDocument
        let root = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])
        let json = try #require(root["gateway"] as? [String: Any])
        #expect(json["drains"] as? [String] == ["customer-service"])
        #expect((json["steps"] as? [[String: Any]])?.compactMap { $0["step"] as? String } == rolloutKinds.map(\.rawValue))
    }

    @Test("unknown services are refused, naming the known ones")
    func unknownService() {
        #expect(throws: SelectionError.unknownServices(["tradng", "nope"], known: ["customer-service", "trading"])) {
            try F.plan(inventory, services: ["tradng", "trading", "nope"], all: false, ref: nil, hosts: [])
        }
        #expect(SelectionError.unknownServices(["tradng"], known: ["customer-service", "trading"]).description
            == "unknown service \"tradng\" (did you mean \"trading\"?); the inventory has: customer-service, trading.")
        #expect(SelectionError.unknownServices(["nope"], known: ["customer-service", "trading"]).description
            == "unknown service \"nope\"; the inventory has: customer-service, trading.")
    }

    @Test("no service and no --all is a usage error")
    func nothingChosen() {
        #expect(throws: SelectionError.noServicesChosen(known: ["customer-service", "trading"])) {
            try F.plan(inventory, services: [], all: false, ref: nil, hosts: [])
        }
        #expect(SelectionError.noServicesChosen(known: []).category == .usage)
    }

    @Test("--host names must belong to a chosen service; services without them are left out")
    func hostFilter() throws {
        #expect(throws: SelectionError.unknownHosts(["lighthouse-b"], known: ["lighthouse-a", "lighthouse-a2"])) {
            try F.plan(inventory, services: ["customer-service"], all: false, ref: nil, hosts: ["lighthouse-b"])
        }
        let plan = try F.plan(inventory, services: [], all: true, ref: nil, hosts: ["lighthouse-b"])
        #expect(plan.services.map(\.service.name) == ["trading"])
        #expect(plan.services[0].hosts.map(\.host.name) == ["lighthouse-b"])
    }

    @Test("the target is the service's branch; offline its commit is a placeholder")
    func offlineTarget() throws {
        let plan = try F.plan(inventory, services: ["customer-service"], all: false, ref: nil, hosts: [])
        let service = plan.services[0]
        #expect(service.target == PlanTarget(source: .ref("main"), commit: nil))
        let checkout = try #require(service.hosts[0].steps.first { $0.kind == .checkout }?.command)
        #expect(checkout.rendered == "git -C /opt/openclaw/customer checkout --quiet --detach <sha of origin/main>")
        #expect(!checkout.lateValues.isEmpty)
    }

    @Test("--ref replaces the branch, a full SHA is its own commit, a resolved commit is used as given")
    func explicitTarget() throws {
        let tag = try F.plan(inventory, services: ["trading"], all: false, ref: "v1.2.0", hosts: [])
        #expect(tag.services[0].target.ref?.value == "v1.2.0")
        #expect(tag.services[0].target.commit?.value == nil)

        let sha = String(repeating: "ab", count: 20)
        let pinned = try F.plan(inventory, services: ["trading"], all: false, ref: sha, hosts: [])
        #expect(pinned.services[0].target.commit?.value == sha)

        let resolved = try F.plan(inventory, services: ["trading"], all: false, ref: nil, hosts: [],
                                        resolvedSHAs: ["trading": sha])
        let checkout = try #require(resolved.services[0].hosts[1].steps.first { $0.kind == .checkout }?.command)
        #expect(checkout.rendered == "git -C /opt/openclaw/customer checkout --quiet --detach \(sha)")
        #expect(checkout.lateValues.isEmpty)
    }

    @Test("a bad --ref is refused before anything is planned")
    func badRef() {
        #expect(throws: RefusedRef.self) {
            try F.plan(inventory, services: ["trading"], all: false, ref: "--upload-pack=x", hosts: [])
        }
    }

    @Test("every host gets the SPEC's steps in order; only the first host resolves the target")
    func stepOrder() throws {
        let plan = try F.plan(inventory, services: ["trading"], all: false, ref: nil, hosts: [])
        let kinds = plan.services[0].hosts.map { $0.steps.map(\.kind) }
        #expect(kinds[0] == [.lock, .preflight, .currentRevision, .fetch, .resolve, .envDigest, .historyStarted, .checkout, .env, .composeUp,
                             .healthGate, .history, .unlock])
        #expect(kinds[1] == [.lock, .preflight, .currentRevision, .fetch, .envDigest, .historyStarted, .checkout, .env, .composeUp,
                             .healthGate, .history, .unlock])
        // What is asked before a change goes in one round trip, after every lock is taken.
        #expect(plan.services[0].hosts[0].sentTogether == [[.preflight, .currentRevision, .fetch, .resolve, .envDigest]])
        #expect(plan.services[0].hosts[1].sentTogether == [[.preflight, .currentRevision, .fetch, .envDigest]])
        let gate = try #require(plan.services[0].hosts[0].steps.first { $0.kind == .healthGate })
        #expect(gate.command == nil)
        #expect(gate.commandLine.hasPrefix("# health gate: GET http://127.0.0.1:8080/health through the SSH connection: 3 consecutive 2xx within 1m, every 2s"))
    }

    @Test("the JSON document has the SPEC's shape and is the same every time")
    func jsonDocument() throws {
        let plan = try F.plan(inventory, services: [], all: true, ref: nil, hosts: [])
        let text = plan.jsonDocument
        #expect(text == (try F.plan(inventory, services: [], all: true, ref: nil, hosts: [])).jsonDocument)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(root["version"] as? Int == 1)
        let services = try #require(root["services"] as? [[String: Any]])
        #expect(services.map { $0["name"] as? String } == ["customer-service", "trading"])
        let trading = services[1]
        #expect(trading["tier"] as? String == "99.99")
        let target = try #require(trading["target"] as? [String: Any])
        #expect(target["ref"] as? String == "main")
        #expect(target["sha"] is NSNull)
        let policy = try #require(trading["policy"] as? [String: Any])
        #expect(policy["batch"] as? Int == 1)
        #expect(policy["canary"] as? Bool == true)
        #expect(policy["bake_seconds"] as? Int == 60)
        // The tier says 5, but every host's `health.healthy_after` says 3: the gate applies 3, so the plan shows 3.
        #expect(policy["healthy_after"] as? Int == 3)
        let batches = try #require(trading["batches"] as? [[String: Any]])
        let firstHost = try #require((batches[0]["hosts"] as? [[String: Any]])?.first)
        #expect(firstHost["name"] as? String == "lighthouse-b")
        #expect(firstHost["address"] as? String == "203.0.113.10")
        #expect(firstHost["port"] as? Int == 2222)
        let steps = try #require(trading["steps"] as? [[String: Any]])
        #expect(steps.map { $0["host"] as? String } == ["lighthouse-b", "lighthouse-c"])
        #expect((steps[0]["commands"] as? [String])?.count == 13)
        // The SPEC's field order, which a hand-written document keeps.
        let keys = ["\"name\"", "\"tier\"", "\"target\"", "\"policy\"", "\"batches\"", "\"steps\""]
        let positions = keys.compactMap { text.range(of: $0)?.lowerBound }
        #expect(positions.count == keys.count && positions == positions.sorted())
    }

    @Test("percent and all batches print as the inventory writes them")
    func batchJSON() throws {
        let inventory = F.inventory([F.service("content", tier: "99", hosts: F.hosts(3)), F.service("tools", tier: "95", hosts: F.hosts(2))])
        let text = try F.plan(inventory, services: [], all: true, ref: nil, hosts: []).jsonDocument
        #expect(text.contains("\"batch\": \"50%\""))
        #expect(text.contains("\"batch\": \"all\""))
    }
}
