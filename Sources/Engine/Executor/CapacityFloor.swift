import Inventory
import Plan

/// The capacity floor (`min_healthy`): which hosts of a batch may change now, given which hosts of the service
/// answered healthy just before it. A host that is not healthy may always change (it adds nothing to the capacity);
/// healthy hosts are taken in the batch's order while the healthy hosts left in rotation stay at or above the floor.
struct CapacityFloor: Equatable {
    /// The batch's hosts that change now, in its order.
    var admitted: [String]
    /// The batch's hosts that wait for a later batch.
    var deferred: [String]
    var required: Int

    static func admit(batch: [String], healthy: Set<String>, total: Int, floor: MinHealthy) -> CapacityFloor {
        let required = floor.required(of: total)
        var leaving = 0
        var admitted: [String] = []
        var deferred: [String] = []
        for host in batch {
            if !healthy.contains(host) {
                admitted.append(host)
            } else if healthy.count - (leaving + 1) >= required {
                leaving += 1
                admitted.append(host)
            } else {
                deferred.append(host)
            }
        }
        return CapacityFloor(admitted: admitted, deferred: deferred, required: required)
    }
}
