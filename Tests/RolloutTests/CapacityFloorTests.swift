import Inventory
import Plan
import Testing
@testable import Engine

@Suite("capacity floor: which hosts of a batch change now")
struct CapacityFloorTests {
    @Test("healthy hosts leave rotation only while enough stay; the rest wait, in the batch's order")
    func shrinks() {
        let four = ["a", "b", "c", "d"]
        let all = CapacityFloor.admit(batch: four, healthy: Set(four), total: 4, floor: .percent(75))
        #expect(all == CapacityFloor(admitted: ["a"], deferred: ["b", "c", "d"], required: 3))
        let half = CapacityFloor.admit(batch: ["a", "b"], healthy: Set(four), total: 4, floor: .percent(50))
        #expect(half.admitted == ["a", "b"] && half.deferred.isEmpty)
        let none = CapacityFloor.admit(batch: ["a"], healthy: ["a"], total: 2, floor: .allBut(1))
        #expect(none == CapacityFloor(admitted: [], deferred: ["a"], required: 1))
    }

    @Test("a host that is not healthy may always change: it takes nothing out of rotation")
    func unhealthyHostsGo() {
        let decision = CapacityFloor.admit(batch: ["a", "b"], healthy: ["a", "c"], total: 3, floor: .allBut(1))
        #expect(decision == CapacityFloor(admitted: ["b"], deferred: ["a"], required: 2))
    }

    @Test("a floor of 0 admits every host, healthy or not")
    func zeroFloor() {
        let decision = CapacityFloor.admit(batch: ["a", "b"], healthy: ["a", "b"], total: 2, floor: .count(0))
        #expect(decision.admitted == ["a", "b"])
    }

    @Test("min_healthy in its three forms, and hosts required of a service")
    func minHealthy() {
        #expect(MinHealthy(parsing: "75%") == .percent(75))
        #expect(MinHealthy(parsing: "2") == .count(2))
        #expect(MinHealthy(parsing: "all but 1") == .allBut(1))
        for bad in ["", "101%", "-1", "all", "all but", "1.5", "+5%"] { #expect(MinHealthy(parsing: bad) == nil, "\(bad)") }
        #expect(MinHealthy.percent(75).required(of: 7) == 6)
        #expect(MinHealthy.count(5).required(of: 2) == 2)
        #expect(MinHealthy.allBut(1).required(of: 1) == 0)
        #expect(TierPolicy.builtIn["99.99"]?.minHealthy == .allBut(1) && TierPolicy.builtIn["99"]?.minHealthy == .percent(50)
                && TierPolicy.builtIn["95"]?.minHealthy == .count(0))
    }
}
