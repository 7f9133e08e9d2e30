import Foundation

/// Reading `<state>/history.jsonl` back: one JSON object per line, appended by every rollout.
public enum HistoryLog {
    /// Parses the lines a host printed. Lines that are not a record (a torn write, a hand edit) are
    /// skipped rather than failing the whole history.
    public static func parse(_ text: String) -> [HistoryRecord] {
        let decoder = JSONDecoder()
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            try? decoder.decode(HistoryRecord.self, from: Data(line.utf8))
        }
    }

    /// Records of several hosts as one list, newest first (by start, then end, then host name).
    public static func merged(_ records: [HistoryRecord], limit: Int? = nil) -> [HistoryRecord] {
        let sorted = records.sorted { a, b in
            if a.startedAt != b.startedAt { return a.startedAt > b.startedAt }
            if a.finishedAt != b.finishedAt { return a.finishedAt > b.finishedAt }
            return a.host < b.host
        }
        guard let limit else { return sorted }
        return Array(sorted.prefix(max(0, limit)))
    }

    /// The revision a rollback goes to: the `from` of the newest successful deploy.
    public static func revisionBeforeLastDeploy(_ records: [HistoryRecord]) -> String? {
        merged(records).first { $0.action == RolloutAction.deploy.rawValue && $0.result == HostResult.succeeded.rawValue && $0.from != nil }?.from
    }
}
