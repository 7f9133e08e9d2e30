import ArgumentParser
import Commands
import ExitCategories
import Inventory
import Plan
import Engine
import Fleet

/// `history SERVICE [--limit N]`: the deploy and rollback records of a service, newest first, merged across hosts.
public struct HistoryCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "The deploy and rollback records of a service, newest first, merged across its hosts.",
        usage: "openclaw-deploy history <service> [--host <name>]... [--limit <n>] [opts]"
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var selection: OneServiceOptions

    @Option(help: "Show the records of at most this many rollouts (each has a row per host).")
    var limit: Int?

    public init() {}

    public func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    public func run() async throws {
        let inventory = try global.loadInventory()
        let chosen = try selection.select(from: inventory)
        let service = chosen.service
        let (records, problems) = await FleetInspector(factory: SSHTransportFactory(acceptNewHostKeys: false))
            .history(of: service, hosts: chosen.hosts, limit: limit)
        switch global.format {
        case .json:
            LineOutput.standardOutput.write(JSONValue.object([
                ("version", .int(1)), ("service", .string(service.name)),
                ("records", .array(records.map(Self.json))), ("problems", .array(problems.map(JSONValue.string))),
            ]).pretty)
        case .text where global.textWidth != nil && !records.isEmpty:
            // On a terminal each record takes two lines: what happened, then its revisions, id and reason, wrapped.
            LineOutput.standardOutput.write(Self.narrow(records, palette: Palette(enabled: global.useColor), width: global.textWidth!))
        case .text:
            let palette = Palette(enabled: global.useColor)
            var rows = [["STARTED", "FINISHED", "HOST", "ACTION", "REF", "FROM", "TO", "RESULT", "OPERATOR", "ID", "REASON"]]
            rows += records.map { r in
                [r.startedAt, r.finishedAt ?? "-", r.host, r.action, r.ref.map(Self.shortRef) ?? "-", shortRevision(r.from), shortRevision(r.to),
                 r.result, r.operator, r.id, r.reason ?? ""]
            }
            LineOutput.standardOutput.write(records.isEmpty ? "no history for \(service.name) yet\n" : TextTable.render(rows, palette: palette))
        }
        if !problems.isEmpty { throw HostsNotRead(service: service.name, problems: problems) }
    }

    /// The records in `width` columns: a table of when, where, what and by whom, each row followed by the
    /// revisions, the record's id and the reason on indented lines.
    static func narrow(_ records: [HistoryRecord], palette: Palette, width: Int) -> String {
        var rows = [["STARTED", "HOST", "ACTION", "REF", "RESULT", "OPERATOR"]]
        rows += records.map { r in
            [Self.minute(r.startedAt), r.host, r.action, TextFit.shortened(r.ref.map(Self.shortRef) ?? "-", to: 16), r.result,
             TextFit.shortened(r.operator, to: 16)]
        }
        let table = TextTable.render(rows, palette: palette).split(separator: "\n").map(String.init)
        var lines = [table[0]]
        for (record, row) in zip(records, table.dropFirst()) {
            lines.append(row)
            // Every field comes from the host's history file: escaped like the table's cells.
            let details = [shortRevision(record.from), "→", shortRevision(record.to), "· id", record.id].map(VisibleText.escaped)
                .joined(separator: " ") + (record.reason.map { " · " + VisibleText.escaped($0) } ?? "")
            lines += TextFit.wrapped("    " + details, width: width, indent: "    ")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `2026-12-07T03:25:41Z` as `2026-12-07 03:25`.
    static func minute(_ timestamp: String) -> String {
        guard timestamp.count >= 16 else { return timestamp }
        return String(timestamp.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    static func json(_ r: HistoryRecord) -> JSONValue {
        .object([("id", .string(r.id)), ("service", .string(r.service)), ("host", .string(r.host)), ("action", .string(r.action)),
                 ("from", .optional(r.from)), ("to", .string(r.to)), ("result", .string(r.result)),
                 ("started_at", .string(r.startedAt)), ("finished_at", .optional(r.finishedAt)), ("operator", .string(r.operator)),
                 ("ref", .optional(r.ref)), ("reason", .optional(r.reason))])
    }

    /// A ref as given, a full commit id shortened like the revisions beside it.
    static func shortRef(_ ref: String) -> String {
        ref.count == 40 && ref.allSatisfy(\.isHexDigit) ? shortRevision(ref) : ref
    }
}

/// Some hosts' records could not be read: the records shown are incomplete.
struct HostsNotRead: CategorizedError {
    var service: String
    var problems: [String]
    var category: ExitCategory { .unreachable }
    var description: String {
        "\(service): the history of some hosts could not be read, so it is incomplete:\n  " + problems.joined(separator: "\n  ")
    }
}
