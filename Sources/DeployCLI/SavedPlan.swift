import ExitCategories
import Foundation
import Inventory
import Plan
import Engine
import Fleet

/// `plan --out FILE` and `deploy --plan FILE` (SPEC "Waiting, saved plans, maintenance, prune"): the plan reviewed
/// on a pull request is the plan that runs after the merge, or nothing runs.
///
/// The file is the plan's JSON document plus a `SavedPlanRecord`. A deploy reads the inventory again and makes the
/// plan again from the request the file records, with the file's target commits: it runs only when the inventory's
/// digest is the file's and the plan it makes is the file's, step for step; `plan --check --out` also records each
/// host's revision, and a host found elsewhere stops the rollout before any change. Each refusal is exit 65 and
/// says what changed.
enum SavedPlan {
    struct Stale: CategorizedError {
        var file: String
        var reason: String
        var category: ExitCategory { .invalidInventory }
        var description: String { "\(file): \(reason)" }
    }

    /// The digest the file records: SHA-256 of the inventory file's bytes.
    static func digest(ofInventoryAt path: String) throws -> String {
        SHA256.hex(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// Writes `plan` with `record` to `file` (replaced atomically).
    static func write(_ plan: Plan, record: SavedPlanRecord, to file: String) throws {
        var bytes: [UInt8] = []
        plan.writeJSON(saved: record) { bytes += $0 }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw OutputFileError(path: file, reason: error.localizedDescription)
        }
    }

    /// The plan `file` holds, made again from `inventory` (read from `inventoryPath`): refused as stale when the
    /// inventory changed or the plan it makes is not the file's. The returned plan carries the recorded revisions.
    static func load(_ file: String, inventory: Inventory, inventoryPath: String) throws -> (plan: Plan, record: SavedPlanRecord) {
        let saved: [String: Any]
        let record: SavedPlanRecord
        do {
            saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any] ?? [:]
            record = try Self.record(saved)
        } catch let stale as Stale {
            throw Stale(file: file, reason: stale.reason)
        } catch {
            throw Stale(file: file, reason: "cannot be read as a saved plan (\(error.localizedDescription)); make it with plan --out FILE")
        }
        let targets = (saved["services"] as? [[String: Any]] ?? []).reduce(into: [String: CommitID]()) { targets, service in
            guard let name = service["name"] as? String, let sha = (service["target"] as? [String: Any])?["sha"] as? String,
                  let commit = CommitID(sha) else { return }
            targets[name] = commit
        }
        var plan: Plan
        do {
            let ref = try record.ref.map { try GitRef(validating: $0) }
            let batch = try record.batch.map { text in
                guard let size = BatchSize(parsing: text) else { throw Stale(file: file, reason: "its batch \"\(text)\" is not a batch size") }
                return size
            }
            plan = Planner.plan(try inventory.select(services: record.services, all: record.all, hosts: record.hosts), ref: ref,
                                resolved: targets, overrides: PolicyOverrides(batch: batch, noBake: record.noBake),
                                gateway: inventory.gateway)
        } catch let stale as Stale {
            throw stale
        } catch {
            throw Stale(file: file, reason: "its request no longer fits \(inventoryPath): \(error); make the plan again")
        }
        let now = try digest(ofInventoryAt: inventoryPath)
        let changed = Self.changedParts(saved: saved, made: plan)
        if now != record.inventorySHA256 {
            let what = changed.isEmpty ? "the plans of its services are still the same, but the file is not"
                : "the plan of " + changed.joined(separator: ", ") + " differs"
            throw Stale(file: file, reason: "\(inventoryPath) changed since the plan was saved (sha256 \(record.inventorySHA256.shortSHA) "
                        + "then, \(now.shortSHA) now): \(what); make the plan again (plan --out) and review it")
        }
        if !changed.isEmpty {
            throw Stale(file: file, reason: "this openclaw-deploy makes another plan of the same inventory (\(changed.joined(separator: ", "))); "
                        + "make the plan again with it (plan --out) and review it")
        }
        for index in plan.services.indices {
            let recorded = record.revisions?[plan.services[index].service.name] ?? [:]
            plan.services[index].recordedRevisions = recorded.compactMapValues(CommitID.init)
            guard plan.services[index].recordedRevisions.count == recorded.count else {
                throw Stale(file: file, reason: "its revisions are not all commit ids; make the plan again (plan --check --out)")
            }
        }
        return (plan, record)
    }

    /// Every host of a checked plan is read before anything is locked: a host no longer on the revision the file
    /// records, or a ref that resolves elsewhere now, refuses the whole plan (exit 65), so no service of it runs when
    /// another one is stale. Hosts that cannot be read are left to the rollout, which reports them.
    static func checkHosts(_ plan: Plan, file: String, factory: any TransportFactory) async throws {
        guard plan.services.contains(where: { !$0.recordedRevisions.isEmpty }) else { return }
        let report = await PlanCheck.run(plan, factory: factory)
        var moved: [String] = []
        for (service, state) in zip(plan.services, report.services) {
            if let planned = service.target.commit, let now = state.resolvedNow, now != planned {
                moved.append("\(service.service.name): \(service.target.ref?.value ?? "the target") was \(planned.short) and is \(now.short) now")
            }
            for host in state.hosts {
                guard let recorded = service.recordedRevisions[host.host.name], let now = host.current, now != recorded else { continue }
                moved.append("\(service.service.name) \(host.host.name) was on \(recorded.short) and is on \(now.short) now")
            }
        }
        guard moved.isEmpty else {
            throw Stale(file: file, reason: "stale: since the plan was saved, " + moved.joined(separator: "; ")
                        + "; nothing was changed. Make the plan again (plan --check --out FILE) and review it")
        }
    }

    /// The services (and `gateway`) whose part of the document differs between the file and the plan made now.
    static func changedParts(saved: [String: Any], made plan: Plan) -> [String] {
        guard let made = try? JSONSerialization.jsonObject(with: Data(plan.jsonDocument.utf8)) as? [String: Any] else { return ["the plan"] }
        func byName(_ document: [String: Any]) -> [String: NSDictionary] {
            (document["services"] as? [[String: Any]] ?? []).reduce(into: [:]) { $0[$1["name"] as? String ?? ""] = $1 as NSDictionary }
        }
        let before = byName(saved), after = byName(made)
        var changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
        if (saved["gateway"] as? NSDictionary) != (made["gateway"] as? NSDictionary) { changed.append("the gateway host") }
        return changed
    }

    static func record(_ saved: [String: Any]) throws -> SavedPlanRecord {
        guard saved["version"] as? Int == 1, let digest = saved["inventory_sha256"] as? String,
              let request = saved["request"] as? [String: Any], let services = request["services"] as? [String],
              let all = request["all"] as? Bool, let hosts = request["hosts"] as? [String], let noBake = request["no_bake"] as? Bool else {
            throw Stale(file: "", reason: "is not a saved plan (no inventory_sha256 and request); make it with plan --out FILE")
        }
        // Present, revisions must be readable: a record the check cannot read must not turn the check off.
        let revisions = saved["revisions"] as? [String: [String: String]]
        if saved["revisions"].map({ !($0 is NSNull) }) == true && revisions == nil {
            throw Stale(file: "", reason: "its revisions cannot be read; make the plan again (plan --check --out)")
        }
        return SavedPlanRecord(inventorySHA256: digest, services: services, all: all, hosts: hosts, ref: request["ref"] as? String,
                               batch: request["batch"] as? String, noBake: noBake, revisions: revisions)
    }
}
