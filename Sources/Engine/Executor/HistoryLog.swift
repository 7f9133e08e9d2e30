import Commands
import Foundation
import Plan

/// Reading `<state>/history.jsonl` back: one JSON object per line, appended by every rollout. A rollout
/// writes a `started` record before a host changes and the final record (same `id`) when the host's part
/// ends, so a rollout that was killed leaves its `started` record alone.
public enum HistoryLog {
    /// Parses the lines a host printed. Lines that are not a record (a torn write, a hand edit) are
    /// skipped rather than failing the whole history.
    public static func parse(_ text: String) -> [HistoryRecord] {
        let decoder = JSONDecoder()
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            try? decoder.decode(HistoryRecord.self, from: Data(line.utf8))
        }
    }

    /// One row per rollout and host: its final record, else its `started` record shown as `in_progress`
    /// (a live lock carries its id) or `interrupted` (none does). Newest first (by start, then end, then
    /// host name); `limit` counts rollouts, not rows.
    public static func rows(_ records: [HistoryRecord], liveRollouts: Set<String> = [], limit: Int? = nil) -> [HistoryRecord] {
        // Per host, records are in file order and a final record always follows its own `started`: the last
        // one of a rollout says where it got to (a `started` after a final one is a put back under way).
        var byKey: [String: HistoryRecord] = [:]
        for record in records { byKey[record.id + "\u{0}" + record.host] = record }
        let rows = byKey.values.map { record -> HistoryRecord in
            guard record.result == HistoryRecord.startedResult else { return record }
            var row = record
            row.result = liveRollouts.contains(record.id) ? inProgress : interrupted
            return row
        }.sorted { a, b in
            if a.startedAt != b.startedAt { return a.startedAt > b.startedAt }
            if (a.finishedAt ?? "") != (b.finishedAt ?? "") { return (a.finishedAt ?? "") > (b.finishedAt ?? "") }
            return a.host < b.host
        }
        guard let limit else { return rows }
        var kept: [String] = []
        return rows.filter { row in
            if kept.contains(row.id) { return true }
            guard kept.count < max(0, limit) else { return false }
            kept.append(row.id)
            return true
        }
    }

    public static let interrupted = "interrupted"
    public static let inProgress = "in_progress"

    /// The revision a rollback goes to: the `from` of the newest deploy that changed some host, i.e. one
    /// that `succeeded` there, could not be put back (`rollback_failed`) or was `interrupted` (killed after
    /// it started changing it). Deploys that ended
    /// `rolled_back`, `failed` or `no_change` left their hosts as they were and are skipped.
    public static func revisionBeforeLastChange(_ records: [HistoryRecord], liveRollouts: Set<String> = []) -> String? {
        deployToUndo(records, liveRollouts: liveRollouts)?.from
    }

    /// The deploy a rollback from history undoes: the newest that changed some host (one host's row of it; its
    /// `from` is the rollback's target).
    public static func deployToUndo(_ records: [HistoryRecord], liveRollouts: Set<String> = []) -> HistoryRecord? {
        rows(records, liveRollouts: liveRollouts).first { row in
            row.action == RolloutAction.deploy.rawValue && row.from != nil
                && [HostResult.succeeded.rawValue, HostResult.rollbackFailed.rawValue, interrupted].contains(row.result)
        }
    }
}

extension HistoryRecord {
    /// The deploy this record belongs to, in words: `deploy 405c64e576ce of main (c3f13579be39), 2026-12-07T03:25:41Z, by root`.
    public var undoneDescription: String {
        "deploy \(id) of \(ref ?? "?") (\(to.shortSHA)), \(startedAt), by \(self.operator)"
    }
}
