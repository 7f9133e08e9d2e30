import ArgumentParser
import Inventory
import Rollout

/// `lock status|release SERVICE [--force]`.
public struct LockCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "See or remove a service's rollout lock.",
        subcommands: [LockStatusCommand.self, LockReleaseCommand.self]
    )

    public init() {}
}

struct LockStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Who holds the service's lock on each host, since when, for what, and whether it is stale."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The service.")
    var service: String

    func run() async throws {
        let inventory = try global.loadInventory()
        guard let service = try Planner.plan(inventory: inventory, services: [service], all: false, ref: nil, hosts: [])
            .services.first?.service else { return }
        let rows = await FleetInspector(factory: SSHTransportFactory(acceptNewHostKeys: false))
            .status(of: service.hosts.map { (service: service, host: $0) })
        switch global.format {
        case .json:
            LineOutput.standardOutput.write(JSONValue.object([
                ("version", .int(1)), ("service", .string(service.name)),
                ("hosts", .array(rows.map { row in
                    .object([("host", .string(row.host)), ("reachable", .bool(row.reachable)), ("error", .optional(row.error)),
                             ("lock", row.lock.map { LockJSON.owner($0, stale: row.lockStale) } ?? .null)])
                })),
            ]).pretty)
        case .text:
            var lines = [["HOST", "LOCK"]]
            for row in rows {
                let lock = !row.reachable ? "unknown: \(row.error ?? "unreachable")"
                    : row.lock.map { "held by \($0.operator) on \($0.machine) (pid \($0.pid)) since \($0.started), for \"\($0.target)\", "
                        + "expires \($0.expires)\(row.lockStale ? " — STALE" : "")" } ?? "free"
                lines.append([row.host, lock])
            }
            LineOutput.standardOutput.write(TextTable.render(lines, palette: Palette(enabled: global.useColor)))
        }
        if let down = rows.first(where: { !$0.reachable }) {
            throw RolloutError.unreachable(service: service.name, reason: down.error ?? "\(down.host): could not connect")
        }
    }
}

struct LockReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Remove the service's lock where it is stale; with --force, whoever holds it."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The service.")
    var service: String

    @Flag(help: "Remove a lock that is not stale too (only when its rollout is surely gone).")
    var force = false

    func run() async throws {
        let inventory = try global.loadInventory()
        guard let service = try Planner.plan(inventory: inventory, services: [service], all: false, ref: nil, hosts: [])
            .services.first?.service else { return }
        let results = await FleetInspector(factory: SSHTransportFactory(acceptNewHostKeys: false))
            .releaseLocks(of: service, hosts: service.hosts, force: force)
        switch global.format {
        case .json:
            LineOutput.standardOutput.write(JSONValue.object([
                ("version", .int(1)), ("service", .string(service.name)),
                ("hosts", .array(results.map { r in
                    .object([("host", .string(r.host)), ("outcome", .string(r.outcome.rawValue)),
                             ("holder", r.holder.map { LockJSON.owner($0, stale: r.stale) } ?? .null), ("error", .optional(r.error))])
                })),
            ]).pretty)
        case .text:
            for r in results {
                let holder = r.holder.map { " (held by \($0.operator) on \($0.machine) since \($0.started)\(r.stale ? ", stale" : ""))" } ?? ""
                let text: String
                switch r.outcome {
                case .released: text = "released" + holder
                case .notLocked: text = "not locked"
                case .keptLive: text = "kept" + holder + ": not stale; use --force to remove it"
                case .failed: text = "could not be read or removed: \(r.error ?? "")"
                }
                LineOutput.standardOutput.write("\(service.name) \(r.host): \(text)\n")
            }
        }
        if let failed = results.first(where: { $0.outcome == .failed }) {
            throw RolloutError.unreachable(service: service.name, reason: failed.error ?? "\(failed.host): could not connect")
        }
        if let kept = results.first(where: { $0.outcome == .keptLive }) {
            throw RolloutError.lockLive(service: service.name, host: kept.host, holder: kept.holder)
        }
    }
}
