import ArgumentParser
import Commands
import Foundation
import Inventory
import Plan
import Engine
import Fleet

/// `prune SERVICE [--keep N] [--dry-run]`: removes the service's old images on each host, never a rollback target.
public struct PruneCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove a service's old images on each host, never one a rollback could need.",
        usage: "openclaw-deploy prune <service> [--keep <n>] [--dry-run] [opts]",
        discussion: """
            An image is removed when no container uses it and it belongs to none of the newest N revisions of the \
            host's history (default 3), the revision checked out or the one `rollback` would go to. Which images \
            belong to which revision is recorded by every rollout's last history step (`<state>/images/`); images \
            from before that are left alone. Each host is pruned under the service's lock (a host a rollout holds is \
            skipped, exit 3). Exit 0 when every host was pruned, 1 when the engine refused an image, 4 when a host \
            could not be reached.
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var hostKeys: HostKeyOptions

    @OptionGroup var selection: OneServiceOptions

    @Option(help: ArgumentHelp("Revisions whose images stay, newest first (at least 1).", valueName: "n"))
    var keep = 3

    @Flag(name: .customLong("dry-run"), help: "Say what would be removed and the space it would free; remove nothing.")
    var dryRun = false

    public init() {}

    public func validate() throws {
        if keep < 1 { throw ValidationError("--keep must be 1 or more: the revision a host runs is always kept") }
    }

    public func run() async throws {
        let inventory = try global.loadInventory()
        let chosen = try selection.select(from: inventory)
        let report = await FleetInspector(factory: hostKeys.factory).prune(service: chosen.service, hosts: chosen.hosts,
                                                                            keep: keep, dryRun: dryRun)
        switch global.format {
        case .json: LineOutput.standardOutput.write(Self.document(report).pretty)
        case .text: LineOutput.standardOutput.write(TextFit.wrappedLines(Self.text(report), width: global.textWidth))
        }
        if report.hosts.contains(where: { !$0.reachable }) { throw ReportedOutcome(category: .unreachable) }
        if report.hosts.contains(where: { $0.lockedBy != nil }) { throw ReportedOutcome(category: .lockHeld) }
        if report.hosts.contains(where: { $0.error != nil || !$0.refused.isEmpty }) { throw ReportedOutcome(category: .failed) }
    }

    static func text(_ report: PruneReport) -> String {
        let verb = report.dryRun ? "would remove" : "removed"
        var lines = ["\(report.service): prune\(report.dryRun ? " --dry-run" : ""): keeping the images of the newest \(report.keep) "
            + "revision\(report.keep == 1 ? "" : "s"), the one checked out"
            + (report.rollbackTarget.map { " and the rollback target \($0.shortSHA)" } ?? "")]
        for host in report.hosts {
            if let error = host.error {
                lines.append("\(host.host): \(host.reachable ? "failed" : "unreachable"): \(error)")
                continue
            }
            if let holder = host.lockedBy {
                lines.append("\(host.host): skipped: the lock is held by \(holder.description); nothing removed")
                continue
            }
            guard let decision = host.decision else { continue }
            let kept = "kept \(count(decision.keptImages, "image")) of \(decision.keptRevisions.map(\.shortSHA).joined(separator: ", "))"
            if host.removed.isEmpty && host.refused.isEmpty {
                lines.append("\(host.host): nothing to remove; \(kept)")
                continue
            }
            lines.append("\(host.host): \(verb) \(count(host.removed.count, "image")), \(formatBytes(host.freedBytes)) "
                + "\(report.dryRun ? "would be " : "")freed; \(kept)")
            for removal in host.removed {
                lines.append("  \(removal.image.short)  \(formatBytes(removal.bytes))  of \(removal.revisions.map(\.shortSHA).joined(separator: ", "))")
            }
            for refusal in host.refused {
                lines.append("  \(refusal.image.short)  not removed: \(refusal.reason)")
            }
        }
        let total = report.hosts.reduce(UInt64(0)) { $0 + $1.freedBytes }
        lines.append("\(formatBytes(total)) \(report.dryRun ? "would be freed" : "freed") on \(count(report.hosts.count, "host"))")
        return lines.map { VisibleText.escaped($0) + "\n" }.joined()
    }

    static func document(_ report: PruneReport) -> JSONValue {
        .object([
            ("version", .int(1)), ("service", .string(report.service)), ("keep", .int(Int64(report.keep))),
            ("dry_run", .bool(report.dryRun)), ("rollback_target", .optional(report.rollbackTarget)),
            ("hosts", .array(report.hosts.map { host in
                .object([
                    ("host", .string(host.host)), ("reachable", .bool(host.reachable)), ("error", .optional(host.error)),
                    ("locked_by", host.lockedBy.map { LockJSON.owner($0, stale: nil) } ?? .null),
                    ("kept_revisions", host.decision.map { .array($0.keptRevisions.map(JSONValue.string)) } ?? .null),
                    ("removed", .array(host.removed.map { removal in
                        .object([("image", .string(removal.image.value)), ("revisions", .array(removal.revisions.map(JSONValue.string))),
                                 ("bytes", .int(Int64(removal.bytes)))])
                    })),
                    ("refused", .array(host.refused.map { .object([("image", .string($0.image.value)), ("reason", .string($0.reason))]) })),
                    ("freed_bytes", .int(Int64(host.freedBytes))),
                ])
            })),
            ("freed_bytes", .int(Int64(report.hosts.reduce(UInt64(0)) { $0 + $1.freedBytes }))),
        ])
    }

    /// `1 image`, `3 images`.
    private static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
}

/// Bytes as engines show image sizes: decimal units, one decimal (`12.4MB`), whole bytes below a kilobyte.
func formatBytes(_ bytes: UInt64) -> String {
    let units: [(String, Double)] = [("GB", 1e9), ("MB", 1e6), ("kB", 1e3)]
    for (name, size) in units where Double(bytes) >= size {
        return String(format: "%.1f", Double(bytes) / size) + name
    }
    return "\(bytes)B"
}
