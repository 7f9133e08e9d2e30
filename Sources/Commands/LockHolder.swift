import Foundation
import Inventory

/// A lock's holder as read back from a host's `owner.json`: whatever fields it has. An older writer, a
/// hand-made lock or a torn file may lack some; the holder is still named by what is there.
public struct LockHolder: Sendable, Equatable {
    public var `operator`: String?
    public var machine: String?
    public var pid: Int32?
    public var started: String?
    public var target: String?
    public var expires: String?
    public var token: String?
    /// The text as read, when it was not a JSON object at all.
    public var unreadable: String?

    public init(operator: String? = nil, machine: String? = nil, pid: Int32? = nil, started: String? = nil,
                target: String? = nil, expires: String? = nil, token: String? = nil, unreadable: String? = nil) {
        self.operator = `operator`
        self.machine = machine
        self.pid = pid
        self.started = started
        self.target = target
        self.expires = expires
        self.token = token
        self.unreadable = unreadable
    }

    /// The holder a lock written by `owner` names: every field there.
    public init(_ owner: LockOwner) {
        self.init(operator: owner.operator, machine: owner.machine, pid: owner.pid, started: owner.started,
                  target: owner.target, expires: owner.expires, token: owner.token)
    }

    /// Reads `owner.json` leniently: fields of the wrong type are left out, unknown ones ignored. Nil for
    /// empty text (no lock).
    public static func parse(_ json: String) -> LockHolder? {
        let trimmed = json.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any] else {
            return LockHolder(unreadable: String(trimmed.prefix(200)))
        }
        func text(_ key: String) -> String? { object[key] as? String }
        let pid = (object["pid"] as? NSNumber).flatMap { Int32(exactly: $0.doubleValue) } ?? text("pid").flatMap { Int32($0) }
        return LockHolder(operator: text("operator"), machine: text("machine"), pid: pid, started: text("started"),
                          target: text("target"), expires: text("expires"), token: text("token"))
    }

    /// `alice on laptop (pid 42) since 2026-01-01T10:00:00Z, for "deploy main"`, with only the parts known.
    public var description: String {
        if let unreadable { return "an unreadable owner.json (\(QuotedText.quoted(unreadable)))" }
        let show = VisibleText.escaped
        var parts = [[self.operator.map(show), machine.map { "on \(show($0))" }].compactMap { $0 }.joined(separator: " ")]
        if let pid { parts.append("(pid \(pid))") }
        if let started { parts.append("since \(show(started))") }
        var text = parts.filter { !$0.isEmpty }.joined(separator: " ")
        if let target { text += (text.isEmpty ? "" : ", ") + "for \(QuotedText.quoted(target))" }
        return text.isEmpty ? "a holder whose owner.json names no one" : text
    }

    /// Whether the holder is gone. A holder on this machine is gone exactly when its process is not running here
    /// (running, it is live even past `expires`: it may be stuck on a refresh, not gone); one elsewhere is gone
    /// once its `expires` has passed.
    public func staleness(now: Date = Date(), localMachine: String, isRunning: (Int32) -> Bool = LockHolder.processIsRunning)
        -> Staleness? {
        if let machine, machine == localMachine, let pid {
            return isRunning(pid) ? nil : .holderGone(pid: pid)
        }
        if let expires, let date = Timestamp.date(expires), date < now { return .expired(expires) }
        return nil
    }

    public enum Staleness: Sendable, Equatable, CustomStringConvertible {
        case expired(String)
        case holderGone(pid: Int32)

        public var description: String {
            switch self {
            case .expired(let at): return "it expired at \(at) and its holder stopped refreshing it"
            case .holderGone(let pid): return "its holder, pid \(pid) on this machine, is no longer running"
            }
        }
    }

    /// `kill(pid, 0)`: the process exists (EPERM: it exists, owned by someone else).
    public static func processIsRunning(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
