import Commands
import Dispatch
import Foundation
import Inventory
import Synchronization

extension Plan {
    /// The SPEC's `plan --format json` document, fields in the SPEC's order, byte-for-byte stable.
    /// Steps list their exact remote commands; the health gate, which is not a remote command, appears
    /// as a shell comment line (`# health gate: ...`) so that a changed health URL shows in a diff.
    public var jsonDocument: String {
        var document: [UInt8] = []
        writeJSON { document += $0 }
        return String(decoding: document, as: UTF8.self)
    }

    /// The same document in pieces of UTF-8, so a large plan can be streamed out. Services are
    /// written a window at a time on every core (each service's text depends only on that service),
    /// and emitted in order.
    public func writeJSON(saved: SavedPlanRecord? = nil, _ emit: ([UInt8]) -> Void) {
        var json = JSONWriter(reservingCapacity: 1 << 16)
        json.beginObject()
        json.key("version")
        json.int(1)
        json.key("services")
        json.beginArray()
        emit(json.takeBytes())
        let window = 256
        for start in stride(from: 0, to: services.count, by: window) {
            let range = start..<min(start + window, services.count)
            let pieces = ServicePieces(count: range.count)
            DispatchQueue.concurrentPerform(iterations: range.count) { offset in
                let index = range.lowerBound + offset
                // Inside the document object (which has "version") and the services array.
                var piece = JSONWriter(continuingInside: [true, index > 0], reservingCapacity: 1 << 14)
                services[index].write(into: &piece)
                pieces.store(piece.takeBytes(), at: offset)
            }
            pieces.all.forEach(emit)
        }
        json = JSONWriter(continuingInside: [true, !services.isEmpty])
        json.endArray()
        if let gateway {
            json.key("gateway")
            gateway.write(into: &json)
        }
        saved?.write(into: &json)
        json.endObject()
        json.newline()
        emit(json.takeBytes())
    }
}

extension ServicePlan {
    package func write(into json: inout JSONWriter) {

        json.beginObject()
        json.key("name"); json.string(service.name)
        json.key("tier"); json.string(service.tier)
        json.key("target")
        json.beginObject()
        json.key("ref"); json.optional(target.ref?.value)
        json.key("sha"); json.optional(target.commit?.value)
        json.endObject()
        json.key("policy")
        json.beginObject()
        json.key("batch")
        switch policy.batch {
        case .count(let n): json.int(Int64(n))
        case .percent, .all: json.string(policy.batch.description)
        }
        json.key("canary"); json.bool(policy.canary)
        json.key("bake_seconds"); json.int(policy.bake.wholeSeconds)
        json.key("min_healthy"); json.string(policy.minHealthy.description)
        json.key("min_healthy_hosts"); json.int(Int64(policy.minHealthy.required(of: hosts.count)))
        json.key("watch_seconds"); json.int(policy.watch.wholeSeconds)
        json.key("traffic")
        if let traffic = policy.traffic {
            json.beginObject()
            json.key("max_error_rate_increase_percent"); json.number(traffic.maxErrorRateIncrease)
            json.key("max_latency_ratio"); json.number(traffic.maxLatencyRatio)
            json.key("min_requests"); json.int(Int64(traffic.minRequests))
            json.endObject()
        } else {
            json.null()
        }
        json.key("traffic_judged"); json.bool(judgesTraffic)
        // One number when every host's gate agrees; else each host's, by name.
        json.key("healthy_after")
        let healthyAfter = self.healthyAfter
        if let uniform = healthyAfter.uniform {
            json.int(Int64(uniform))
        } else {
            json.beginObject()
            for (host, value) in healthyAfter.byHost { json.key(host); json.int(Int64(value)) }
            json.endObject()
        }
        json.endObject()
        json.key("batches")
        json.beginArray()
        for batch in batches {
            json.beginObject()
            json.key("hosts")
            json.beginArray()
            for host in batch {
                json.beginObject()
                json.key("name"); json.string(host.name)
                json.key("address"); json.string(host.address)
                json.key("port"); json.int(Int64(host.ssh.port))
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.key("hooks")
        json.beginObject()
        json.key("before"); json.optionalStrings(service.hooks.before)
        json.key("after"); json.optionalStrings(service.hooks.after)
        json.key("before_up"); json.optional(service.hooks.beforeUp)
        json.endObject()
        json.key("steps")
        json.beginArray()
        var scratch: [UInt8] = []
        for hostPlan in hosts {
            json.beginObject()
            json.key("host"); json.string(hostPlan.host.name)
            // The env step's stdin: names, plain values, `(secret)` and `<target>`; never a secret's value.
            json.key("env")
            json.beginObject()
            for (entry, line) in zip(hostPlan.env.entries, hostPlan.env.shownLines) {
                json.key(entry.name); json.string(String(line.dropFirst(entry.name.count + 1)))
            }
            json.endObject()
            json.key("commands")
            json.beginArray()
            for step in hostPlan.steps { json.commandLine(of: step, scratch: &scratch) }
            json.endArray()
            json.key("sent_together")
            json.beginArray()
            for group in hostPlan.sentTogether {
                json.beginArray()
                for kind in group { json.string(kind.rawValue) }
                json.endArray()
            }
            json.endArray()
            json.key("lock_refresh"); json.commandLine(of: hostPlan.lockRefresh, scratch: &scratch)
            json.key("put_back")
            json.beginArray()
            for step in hostPlan.putBack { json.commandLine(of: step, scratch: &scratch) }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.endObject()
    }
}

/// What `plan --out FILE` adds to the plan's document, so that `deploy --plan FILE` can make the same plan again and
/// tell when it went stale: the inventory's digest, the request the plan was made of, and (with `--check`) the
/// revision each host was on. The target commits are the plan's own (`target.sha`, known with `--check`).
/// No secret is in it: the plan shows secrets as `(secret)`, and a deploy reads them when it runs.
public struct SavedPlanRecord: Sendable, Equatable {
    public var inventorySHA256: String
    public var services: [String]
    public var all: Bool
    public var hosts: [String]
    public var ref: String?
    public var batch: String?
    public var noBake: Bool
    /// Each host's revision, by service and host, as `plan --check` saw it; nil without `--check`.
    public var revisions: [String: [String: String]]?

    public init(inventorySHA256: String, services: [String], all: Bool, hosts: [String], ref: String?, batch: String?,
                noBake: Bool, revisions: [String: [String: String]]?) {
        self.inventorySHA256 = inventorySHA256
        self.services = services
        self.all = all
        self.hosts = hosts
        self.ref = ref
        self.batch = batch
        self.noBake = noBake
        self.revisions = revisions
    }

    package func write(into json: inout JSONWriter) {
        json.key("inventory_sha256"); json.string(inventorySHA256)
        json.key("request")
        json.beginObject()
        json.key("services")
        json.beginArray()
        for service in services { json.string(service) }
        json.endArray()
        json.key("all"); json.bool(all)
        json.key("hosts")
        json.beginArray()
        for host in hosts { json.string(host) }
        json.endArray()
        json.key("ref"); json.optional(ref)
        json.key("batch"); json.optional(batch)
        json.key("no_bake"); json.bool(noBake)
        json.endObject()
        json.key("revisions")
        if let revisions {
            json.beginObject()
            for service in revisions.keys.sorted() {
                json.key(service)
                json.beginObject()
                for (host, revision) in revisions[service]!.sorted(by: { $0.key < $1.key }) { json.key(host); json.string(revision) }
                json.endObject()
            }
            json.endObject()
        } else {
            json.null()
        }
    }
}

extension GatewayPlan {
    /// The gateway host, the services it drains and the steps of one change, each with its exact command.
    package func write(into json: inout JSONWriter) {
        json.beginObject()
        json.key("host"); json.string(host.name)
        json.key("address"); json.string(host.address)
        json.key("port"); json.int(Int64(host.ssh.port))
        json.key("config_path"); json.string(configPath)
        json.key("drains")
        json.beginArray()
        for service in services { json.string(service) }
        json.endArray()
        json.key("steps")
        json.beginArray()
        for step in steps {
            json.beginObject()
            json.key("step"); json.string(step.kind.rawValue)
            json.key("command"); json.string(step.command.rendered)
            json.endObject()
        }
        json.endArray()
        json.endObject()
    }
}

extension PlannedStep {
    /// The rendered command, or for a step without one, a comment naming the step.
    public var commandLine: String {
        command?.rendered ?? "# \(kind.spokenName): \(summary)"
    }
}

extension JSONWriter {
    /// Writes `step.commandLine`, rendering a command through `scratch` rather than a `String`.
    package mutating func commandLine(of step: PlannedStep, scratch: inout [UInt8]) {
        guard let command = step.command else { string(step.commandLine); return }
        scratch.removeAll(keepingCapacity: true)
        command.render(into: &scratch)
        string(utf8: scratch)
    }
}

extension StepKind {
    /// `health gate` for `health_gate`.
    package var spokenName: String { String(rawValue.map { $0 == "_" ? " " : $0 }) }
}

/// The pieces of one window of services, each written by its own worker into its own slot.
private final class ServicePieces: Sendable {
    private let slots: Mutex<[[UInt8]]>

    init(count: Int) { slots = Mutex(Array(repeating: [], count: count)) }

    func store(_ bytes: [UInt8], at index: Int) { slots.withLock { $0[index] = bytes } }

    var all: [[UInt8]] { slots.withLock { $0 } }
}
