import Foundation

/// Who holds a service's lock on a host: the content of `<state>/lock/owner.json`.
public struct LockOwner: Sendable, Equatable {
    public var `operator`: String
    public var machine: String
    public var pid: Int32
    /// ISO-8601 UTC, e.g. `2026-11-25T13:15:21Z`.
    public var started: String
    /// The ref and SHA being deployed, as the holder describes them.
    public var target: String
    /// ISO-8601 UTC; past it the lock is reported as stale.
    public var expires: String
    /// Random id of the deploy holding the lock: refresh and release act only when it matches.
    public var token: String

    public init(operator: String, machine: String, pid: Int32, started: String, target: String, expires: String, token: String) {
        self.operator = `operator`
        self.machine = machine
        self.pid = pid
        self.started = started
        self.target = target
        self.expires = expires
        self.token = token
    }

    /// One line of JSON, keys sorted, as written to the host.
    public var jsonLine: String {
        JSONValue.object([
            ("expires", .string(expires)), ("machine", .string(machine)), ("operator", .string(`operator`)),
            ("pid", .int(Int64(pid))), ("started", .string(started)), ("target", .string(target)), ("token", .string(token)),
        ]).compact
    }
}

/// One line of `<state>/history.jsonl`.
public struct HistoryRecord: Decodable, Sendable, Equatable {
    public var id: String
    public var service: String
    public var host: String
    /// `deploy` or `rollback`.
    public var action: String
    /// Revision before the change; nil when it could not be read.
    public var from: String?
    public var to: String
    public var result: String
    public var startedAt: String
    /// Nil on a `started` record, written before the host changes.
    public var finishedAt: String?
    public var `operator`: String
    /// The ref the rollout was asked for (`main`, a tag; for a rollback from history, the revision found there).
    /// Nil in records written before it was kept.
    public var ref: String?
    /// Why the host's part did not succeed (`failed at health_gate: ...`); nil when it did, or on a `started` record.
    public var reason: String?

    package enum CodingKeys: String, CodingKey {
        case id, service, host, action, from, to, result
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case `operator`
        case ref, reason
    }

    public init(id: String, service: String, host: String, action: String, from: String?, to: String, result: String,
                startedAt: String, finishedAt: String?, operator: String, ref: String? = nil, reason: String? = nil) {
        self.ref = ref
        self.reason = reason
        self.id = id
        self.service = service
        self.host = host
        self.action = action
        self.from = from
        self.to = to
        self.result = result
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.operator = `operator`
    }

    /// The result of the record written ahead, before the host changes.
    public static let startedResult = "started"

    /// One line of JSON, keys sorted, as appended to the host's history. `from`, `finished_at`, `ref` and `reason`
    /// are written as `null` rather than left out, so every line has the same keys.
    public var jsonLine: String {
        JSONValue.object([
            ("action", .string(action)), ("finished_at", .optional(finishedAt)), ("from", .optional(from)), ("host", .string(host)),
            ("id", .string(id)), ("operator", .string(`operator`)), ("reason", .optional(reason)), ("ref", .optional(ref)),
            ("result", .string(result)), ("service", .string(service)), ("started_at", .string(startedAt)), ("to", .string(to)),
        ]).compact
    }
}

/// Timestamps as stored in locks and history: ISO-8601 UTC, whole seconds.
public enum Timestamp {
    public static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    public static func date(_ string: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: string) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: string)
    }
}
