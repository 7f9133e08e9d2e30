import ArgumentParser
import Commands
import Gateway
import Inventory
import Plan
import Engine
import Fleet

/// `status [SERVICE...]`: per host, whether it answers, what it runs, whether it is healthy, who holds its lock.
public struct StatusCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per host: reachable, revision, compose state, health, lock holder. Changes nothing.",
        usage: "openclaw-deploy status [<service>...] [--all] [--host <name>]... [opts]",
        discussion: "Exits 0 when every host is reachable, healthy, has all its containers up and no interrupted rollout; "
            + "1 when a reachable host is not; 4 when a host cannot be reached (4 wins)."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var hostKeys: HostKeyOptions

    @OptionGroup var selection: ServiceSelectionOptions

    public init() {}

    public func run() async throws {
        let inventory = try global.loadInventory()
        let chosen = try selection.select(from: inventory, everyServiceByDefault: true)
        let targets = chosen.flatMap { chosen in chosen.hosts.map { (service: chosen.service, host: $0) } }
        let factory = hostKeys.factory, shown = chosen.map(\.service.name)
        async let maintenance = MaintenanceStatus.read(inventory: inventory, services: shown, factory: factory)
        let rows = await FleetInspector(factory: factory).status(of: targets)
        let gateway = await maintenance
        switch global.format {
        case .json:
            var document = Self.document(rows)
            if let gateway, case .object(var fields) = document {
                fields.insert(("gateway", gateway.json), at: 1)
                document = .object(fields)
            }
            LineOutput.standardOutput.write(document.pretty)
        case .text:
            let width = global.textWidth
            LineOutput.standardOutput.write(Self.table(rows, palette: Palette(enabled: global.useColor), width: width)
                + TextFit.wrappedLines(Self.notes(rows, gateway: gateway?.notes ?? ""), width: width))
        }
        // Every host is in the output, reasons included: the exit code only summarises it.
        if rows.contains(where: { !$0.reachable }) || gateway?.error != nil { throw ReportedOutcome(category: .unreachable) }
        if rows.contains(where: { !$0.isSound }) { throw ReportedOutcome(category: .failed) }
    }

    static func document(_ rows: [HostStatus]) -> JSONValue {
        .object([("version", .int(1)), ("hosts", .array(rows.map { row in
            .object([
                ("service", .string(row.service)), ("host", .string(row.host)), ("address", .string(row.address)),
                ("reachable", .bool(row.reachable)), ("error", .optional(row.error)), ("revision", .optional(row.revision)),
                ("compose", row.containerStates.map { states in
                    .object([("containers", .int(Int64(states.count))), ("up", .int(Int64(row.containersUp ?? 0))),
                             ("list", .array(states.map { state in
                                 .object([("name", .string(state.name)), ("state", .string(state.state)),
                                          ("exit_code", .int(Int64(state.exitCode))), ("restarts", .int(Int64(state.restarts))),
                                          ("health", .optional(state.health)), ("up", .bool(state.isUp))])
                             }))])
                } ?? .null),
                ("health", row.reachable
                    ? .object([("healthy", .bool(row.healthy)), ("status", row.healthStatus.map { .int(Int64($0)) } ?? .null),
                               ("error", .optional(row.healthError))])
                    : .null),
                ("lock", row.lock.map { LockJSON.owner($0, stale: row.lockStale) } ?? .null),
                ("interrupted", row.interrupted.map { record in
                    .object([("id", .string(record.id)), ("action", .string(record.action)), ("to", .string(record.to)),
                             ("started_at", .string(record.startedAt))])
                } ?? .null),
                ("size_warning", .optional(row.sizeWarning)),
                ("ok", .bool(row.isSound)),
            ])
        }))])
    }

    /// One row per host; the SERVICE column only when hosts of several services are shown.
    static func table(_ rows: [HostStatus], palette: Palette, width: Int? = nil) -> String {
        let severalServices = Set(rows.map(\.service)).count > 1
        var lines = [["SERVICE", "HOST", "REACHABLE", "REVISION", "COMPOSE", "HEALTH", "LOCK"]]
        for row in rows {
            let unhealthy = row.containerStates?.filter { $0.health == "unhealthy" }.count ?? 0
            let compose = row.containers.map { "\(row.containersUp ?? 0)/\($0) up" + (unhealthy > 0 ? ", \(unhealthy) unhealthy" : "") } ?? "-"
            let health = !row.reachable ? "-" : row.healthStatus.map { "\(row.healthy ? "healthy" : "UNHEALTHY") (HTTP \($0))" }
                ?? "UNHEALTHY (no answer)"
            let lock = row.lock.map { $0.description + (row.lockStale == nil ? "" : " (STALE)") } ?? "-"
            lines.append([row.service, row.host, row.reachable ? "yes" : "NO", shortRevision(row.revision), compose,
                          health + (row.interrupted == nil ? "" : ", INTERRUPTED"), lock])
        }
        if !severalServices { lines = lines.map { Array($0.dropFirst()) } }
        return TextTable.render(lines, palette: palette, width: width)
    }

    /// Below the table, one line per host that needs words: why it could not be reached, or which rollout
    /// was interrupted on it.
    static func notes(_ rows: [HostStatus], gateway: String = "") -> String {
        var notes: [String] = []
        for row in rows {
            if !row.reachable { notes.append("\(row.service) \(row.host): \(row.error ?? "could not connect")") }
            if let warning = row.sizeWarning { notes.append("\(row.service) \(row.host): warning: \(warning)") }
            // A container that is not up is named, with what its engine says of it.
            for state in row.containerStates ?? [] where !state.isUp {
                notes.append("\(row.service) \(row.host): container \(state.name) is \(state.summary)")
            }
            if let error = row.containerError {
                notes.append("\(row.service) \(row.host): its containers could not be read from \(error.isEmpty ? "the engine" : "the engine: \(error)")")
            }
            if row.containerStates?.isEmpty == true {
                notes.append("\(row.service) \(row.host): the compose project has no container (never deployed, or taken down)")
            }
            if let record = row.interrupted {
                notes.append("\(row.service) \(row.host): the \(record.action) \(record.id) to \(shortRevision(record.to)) started at "
                    + "\(record.startedAt) was interrupted before it finished; see `openclaw-deploy history \(row.service)`, "
                    + "and `openclaw-deploy rollback \(row.service) --dry-run` for where a rollback would go")
            }
        }
        let lines = notes.map { VisibleText.escaped($0) + "\n" }.joined() + gateway
        return lines.isEmpty ? "" : "\n" + lines
    }
}

enum LockJSON {
    /// The holder's fields (null where owner.json lacks one), whether the lock is stale and why.
    static func owner(_ owner: LockHolder, stale: LockHolder.Staleness?) -> JSONValue {
        .object([("operator", .optional(owner.operator)), ("machine", .optional(owner.machine)),
                 ("pid", owner.pid.map { .int(Int64($0)) } ?? .null),
                 ("started", .optional(owner.started)), ("target", .optional(owner.target)), ("expires", .optional(owner.expires)),
                 ("stale", .bool(stale != nil)), ("stale_reason", .optional(stale?.description))])
    }
}

/// Columns padded to their widest cell; the first row is the header. With a `width`, a last cell that does not fit
/// is wrapped under its own column (nothing in it is lost).
enum TextTable {
    static func render(_ rows: [[String]], palette: Palette, width: Int? = nil) -> String {
        // Escaped first, so widths are those of what is printed.
        let rows = rows.map { $0.map(VisibleText.escaped) }
        guard let header = rows.first else { return "" }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        let lastStart = widths.dropLast().reduce(0) { $0 + $1 + 2 }
        return rows.enumerated().map { index, row in
            let line = row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
            // An empty last cell leaves no trailing blanks.
            let trimmed = String(line.reversed().drop(while: { $0 == " " }).reversed())
            let fitted = TextFit.wrapped(trimmed, width: width, indent: String(repeating: " ", count: lastStart)).joined(separator: "\n")
            return index == 0 ? palette.dim(fitted) : fitted
        }.joined(separator: "\n") + "\n"
    }
}

/// Which of the shown services are in maintenance, read from the gateway host (only when the inventory has a gateway
/// and some shown service is routed by it).
struct MaintenanceStatus {
    var host: String
    /// Routed services shown, in order, with their maintenance (nil: routed normally).
    var services: [(name: String, prefix: String, maintenance: GatewayState.Maintenance?)]
    /// Why the state could not be read; then `services` says nothing.
    var error: String?

    static func read(inventory: Inventory, services: [String], factory: SSHTransportFactory) async -> MaintenanceStatus? {
        guard let gateway = inventory.gateway, let layout = try? GatewayLayout(inventory: inventory) else { return nil }
        let routed = services.compactMap { name in layout.upstreams.first { $0.service == name }.map { (name, $0.prefix) } }
        guard !routed.isEmpty else { return nil }
        do {
            let transport = try await factory.open(gateway.host)
            let state: GatewayState
            do {
                state = try await GatewayDeployer(gateway: gateway, transport: transport).readState()
            } catch {
                await transport.close()
                throw error
            }
            await transport.close()
            return MaintenanceStatus(host: gateway.host.name, services: routed.map { ($0.0, $0.1, state.maintenance[$0.0]) })
        } catch {
            return MaintenanceStatus(host: gateway.host.name, services: [], error: "\(error)")
        }
    }

    var json: JSONValue {
        .object([
            ("host", .string(host)), ("reachable", .bool(error == nil)), ("error", .optional(error)),
            ("maintenance", .array(services.compactMap { service in
                service.maintenance.map { entry in
                    guard case .object(let fields) = MaintenanceJSON.entry(entry) else { return .null }
                    return .object([("service", .string(service.name)), ("route", .string(service.prefix))] + fields)
                }
            })),
        ])
    }

    /// One line per service in maintenance, or why the gateway could not be read.
    var notes: String {
        if let error { return VisibleText.escaped("gateway \(host): could not read which services are in maintenance: \(error)") + "\n" }
        return services.compactMap { service in
            service.maintenance.map { entry in
                VisibleText.escaped("\(service.name): IN MAINTENANCE since \(entry.since) (by \(entry.setBy)): gateway \(host) answers "
                    + "\(service.prefix) with 503: \(QuotedText.quoted(entry.message)); `openclaw-deploy maintenance off \(service.name)` ends it") + "\n"
            }
        }.joined()
    }
}
