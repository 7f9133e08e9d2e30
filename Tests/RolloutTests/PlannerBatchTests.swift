import Inventory
import Plan
import Engine
import Testing

@Suite("Planner: batches per tier")
struct PlannerBatchTests {
    typealias F = PlannerFixtures

    @Test("99.99: the canary alone, then one host at a time")
    func fourNines() {
        let batches = Planner.batches(of: F.hosts(4), policy: TierPolicy.builtIn["99.99"]!)
        #expect(F.names(batches) == [["h01"], ["h02"], ["h03"], ["h04"]])
    }

    @Test("99.9: one host at a time, no canary")
    func threeNines() {
        let batches = Planner.batches(of: F.hosts(3), policy: TierPolicy.builtIn["99.9"]!)
        #expect(F.names(batches) == [["h01"], ["h02"], ["h03"]])
    }

    @Test("99: half the hosts at once, rounded up")
    func twoNines() {
        let policy = TierPolicy.builtIn["99"]!
        #expect(F.names(Planner.batches(of: F.hosts(5), policy: policy)) == [["h01", "h02", "h03"], ["h04", "h05"]])
        #expect(F.names(Planner.batches(of: F.hosts(4), policy: policy)) == [["h01", "h02"], ["h03", "h04"]])
        #expect(F.names(Planner.batches(of: F.hosts(1), policy: policy)) == [["h01"]])
    }

    @Test("95: every host at once")
    func ninetyFive() {
        let batches = Planner.batches(of: F.hosts(5), policy: TierPolicy.builtIn["95"]!)
        #expect(F.names(batches) == [["h01", "h02", "h03", "h04", "h05"]])
    }

    @Test("custom counts, with and without a canary", arguments: [
        (BatchSize.count(2), false, [["h01", "h02"], ["h03", "h04"], ["h05"]]),
        (BatchSize.count(2), true, [["h01"], ["h02", "h03"], ["h04", "h05"]]),
        (BatchSize.count(10), false, [["h01", "h02", "h03", "h04", "h05"]]),
        (BatchSize.count(10), true, [["h01"], ["h02", "h03", "h04", "h05"]]),
        (BatchSize.all, true, [["h01"], ["h02", "h03", "h04", "h05"]]),
    ])
    func customCounts(batch: BatchSize, canary: Bool, expected: [[String]]) {
        let policy = TierPolicy(batch: batch, canary: canary, bake: .seconds(30), healthyAfter: 2)
        #expect(F.names(Planner.batches(of: F.hosts(5), policy: policy)) == expected)
    }

    @Test("custom percentages count against all the hosts, rounded up", arguments: [
        (25, false, [["h01", "h02"], ["h03", "h04"], ["h05", "h06"], ["h07"]]),
        (25, true, [["h01"], ["h02", "h03"], ["h04", "h05"], ["h06", "h07"]]),
        (10, false, [["h01"], ["h02"], ["h03"], ["h04"], ["h05"], ["h06"], ["h07"]]),
        (100, true, [["h01"], ["h02", "h03", "h04", "h05", "h06", "h07"]]),
    ])
    func customPercentages(percent: Int, canary: Bool, expected: [[String]]) {
        let policy = TierPolicy(batch: .percent(percent), canary: canary, bake: .zero, healthyAfter: 1)
        #expect(F.names(Planner.batches(of: F.hosts(7), policy: policy)) == expected)
    }

    @Test("a single host is the canary and the whole rollout")
    func singleCanary() {
        #expect(F.names(Planner.batches(of: F.hosts(1), policy: TierPolicy.builtIn["99.99"]!)) == [["h01"]])
    }

    @Test("--host keeps only the named hosts, batched among themselves", arguments: ["99.99", "99.9", "99", "95"])
    func hostFilter(tier: String) throws {
        let inventory = F.inventory([F.service(tier: tier, hosts: F.hosts(6))])
        let plan = try F.plan(inventory, services: ["customer-service"], all: false, ref: nil,
                                    hosts: ["h05", "h02", "h03"])
        let expected: [[String]] = switch tier {
        case "99.99", "99.9": [["h02"], ["h03"], ["h05"]]
        case "99": [["h02", "h03"], ["h05"]]
        default: [["h02", "h03", "h05"]]
        }
        #expect(F.names(plan.services[0].batches) == expected)
        #expect(plan.services[0].hosts.map(\.host.name) == ["h02", "h03", "h05"])
    }

    @Test("a canary tier with a --host filter: the first remaining host is the canary")
    func hostFilterWithCanary() throws {
        let policy = TierPolicy(batch: .percent(50), canary: true, bake: .seconds(60), healthyAfter: 5)
        let inventory = F.inventory([F.service(tier: "custom", policy: policy, hosts: F.hosts(8))])
        let plan = try F.plan(inventory, services: [], all: true, ref: nil, hosts: ["h08", "h03", "h04", "h06"])
        #expect(F.names(plan.services[0].batches) == [["h03"], ["h04", "h06"], ["h08"]])
    }
}
