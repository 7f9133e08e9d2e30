import ArgumentParser
import Inventory
import Rollout

/// `status [SERVICE...]`: per host, whether it answers, what it runs, whether it is healthy, who holds its lock.
public struct StatusCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per host: reachable, revision, compose state, health, lock holder. Changes nothing."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var selection: ServiceSelectionOptions

    public init() {}

    public func run() async throws {
        let inventory = try global.loadInventory()
        let chosen = try selection.select(from: inventory, everyServiceByDefault: true)
        let targets = chosen.flatMap { chosen in chosen.hosts.map { (service: chosen.service, host: $0) } }
        let rows = await FleetInspector(factory: SSHTransportFactory(acceptNewHostKeys: false)).status(of: targets)
        switch global.format {
        case .json: LineOutput.standardOutput.write(Self.document(rows).pretty)
        case .text: LineOutput.standardOutput.write(Self.table(rows, palette: Palette(enabled: global.useColor)))
        }
        // Every host is in the table, reasons included: the exit code only summarises it.
        if rows.contains(where: { !$0.reachable }) { throw ReportedOutcome(category: .unreachable) }
    }

    static func document(_ rows: [HostStatus]) -> JSONValue {
        .object([("version", .int(1)), ("hosts", .array(rows.map { row in
            .object([
                ("service", .string(row.service)), ("host", .string(row.host)), ("address", .string(row.address)),
                ("reachable", .bool(row.reachable)), ("error", .optional(row.error)), ("revision", .optional(row.revision)),
                ("compose", row.containers.map { total in
                    .object([("containers", .int(Int64(total))), ("up", .int(Int64(row.containersUp ?? 0)))])
                } ?? .null),
                ("health", row.reachable
                    ? .object([("healthy", .bool(row.healthy)), ("status", row.healthStatus.map { .int(Int64($0)) } ?? .null),
                               ("error", .optional(row.healthError))])
                    : .null),
                ("lock", row.lock.map { LockJSON.owner($0, stale: row.lockStale) } ?? .null),
            ])
        }))])
    }

    static func table(_ rows: [HostStatus], palette: Palette) -> String {
        var lines = [["SERVICE", "HOST", "REACHABLE", "REVISION", "COMPOSE", "HEALTH", "LOCK"]]
        for row in rows {
            let compose = row.containers.map { "\(row.containersUp ?? 0)/\($0) up" } ?? "-"
            let health = !row.reachable ? "-" : row.healthStatus.map { "\(row.healthy ? "healthy" : "UNHEALTHY") (HTTP \($0))" }
                ?? "UNHEALTHY (no answer)"
            let lock = row.lock.map { "\($0.operator)@\($0.machine) since \($0.started)\(row.lockStale ? " (STALE)" : "")" } ?? "-"
            lines.append([row.service, row.host, row.reachable ? "yes" : "NO: \(row.error ?? "")",
                          shortRevision(row.revision), compose, health, lock])
        }
        return TextTable.render(lines, palette: palette)
    }
}

enum LockJSON {
    static func owner(_ owner: LockOwner, stale: Bool) -> JSONValue {
        .object([("operator", .string(owner.operator)), ("machine", .string(owner.machine)), ("pid", .int(Int64(owner.pid))),
                 ("started", .string(owner.started)), ("target", .string(owner.target)), ("expires", .string(owner.expires)),
                 ("stale", .bool(stale))])
    }
}

/// Columns padded to their widest cell; the first row is the header.
enum TextTable {
    static func render(_ rows: [[String]], palette: Palette) -> String {
        guard let header = rows.first else { return "" }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.enumerated().map { index, row in
            let line = row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
            return index == 0 ? palette.dim(line) : line
        }.joined(separator: "\n") + "\n"
    }
}
