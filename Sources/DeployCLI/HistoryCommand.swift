import ArgumentParser
import Inventory
import Rollout

/// `history SERVICE [--limit N]`: the deploy and rollback records of a service, newest first, merged across hosts.
public struct HistoryCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "The deploy and rollback records of a service, newest first, merged across its hosts."
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
