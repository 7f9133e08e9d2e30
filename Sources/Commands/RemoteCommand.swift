import ShellWords
import Foundation

/// A command for a remote POSIX shell, held as argv tokens and rendered in exactly one place.
public struct RemoteCommand: Sendable, Equatable, CustomStringConvertible {
    public enum Token: Sendable, Equatable {
        /// An argument, always single-quoted unless it is plainly safe.
        case arg(String)
        /// A path that may start with `~/`: the home part is expanded by the remote shell, the rest quoted.
        case path(String)
        /// Shell syntax written by this tool itself (`&&`, `>`, `||`, `2>&1`). Never user input.
        case raw(String)
        /// A value known only when the rollout runs (a lock token, the target commit), printed as
        /// `<label>` in plans and filled in, quoted as an argument, by `filled(_:)` before it runs.
        case late(LateValue, label: String)
    }

    public var tokens: [Token]

    public init(_ tokens: [Token]) { self.tokens = tokens }

    /// Plain argv: every element is an argument.
    public init(argv: [String]) { self.tokens = argv.map(Token.arg) }

    public var description: String { rendered }

    /// The late values this command needs before it can run.
    public var lateValues: Set<LateValue> {
        Set(tokens.compactMap { if case .late(let value, _) = $0 { return value } else { return nil } })
    }

    /// The command with every late value filled in. Throws when one is missing: a plan step is never
    /// run with a hole in it.
    public func filled(_ values: [LateValue: String]) throws(MissingLateValue) -> RemoteCommand {
        var tokens = tokens
        for index in tokens.indices {
            guard case .late(let value, let label) = tokens[index] else { continue }
            guard let text = values[value] else { throw MissingLateValue(value: value, label: label) }
            tokens[index] = .arg(text)
        }
        return RemoteCommand(tokens)
    }

    /// The command line a remote `sh -c` receives (with `<label>` where a late value is not filled in).
    public var rendered: String {
        var bytes: [UInt8] = []
        render(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `rendered`'s UTF-8 bytes: the one place a command line is built. Plans write thousands
    /// of them straight into their output this way.
    public func render(into bytes: inout [UInt8]) {
        for (index, token) in tokens.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: " ")) }
            switch token {
            case .arg(let s): ShellQuote.quote(s, into: &bytes)
            case .path(let p): ShellQuote.quotePath(p, into: &bytes)
            case .raw(let r): bytes += r.utf8
            case .late(_, let label):
                bytes.append(UInt8(ascii: "<"))
                bytes += label.utf8
                bytes.append(UInt8(ascii: ">"))
            }
        }
    }
}


/// The values a plan cannot know before the rollout runs.
public enum LateValue: String, Sendable, Hashable, CaseIterable {
    /// The lock holder's owner.json line (written by lock and refreshed by the periodic refresh).
    case lockOwner = "owner"
    /// The rollout's lock token (refresh and unlock act only while it holds the lock).
    case lockToken = "token"
    /// The commit the target ref resolved to, once, for every host.
    case targetCommit = "target"
    /// The commit a host ran before this rollout (what a put back returns to).
    case previousCommit = "previous"
    /// One history record, as a JSON line.
    case historyRecord = "record"
    /// This run's token on the gateway's drain lock (only its holder touches or releases it).
    case drainToken = "drain_token"
    /// The gateway's shared drained set, `service host` lines, as it is after this change.
    case drainedSet = "drained_set"
    /// The services in maintenance, as `maintenance on|off` leaves them (`GatewayState.maintenanceText`).
    case maintenanceSet = "maintenance_set"
    /// One piece of the gateway config rendered from that set (`GatewayCommands.chunks`).
    case configChunk = "config_chunk"
    /// The rendered config's size in bytes, which the install checks the upload against.
    case configBytes = "config_bytes"
    /// Where in the gateway's access log a traffic read begins: a byte offset, or `-N` for the last N bytes.
    case logOffset = "log_offset"
}

/// A plan step was about to run with a late value nobody filled in: a defect, reported as such.
public struct MissingLateValue: Error, Sendable, CustomStringConvertible {
    public var value: LateValue
    public var label: String
    public var description: String { "internal error: the step's <\(label)> was not filled in before it ran" }
}

/// What a command run on a host gave back.
public struct CommandResult: Sendable, Equatable {
    public var exitStatus: Int32
    /// Name of the signal that ended the command, if one did (`KILL`, `TERM`).
    public var signal: String?
    public var stdout: String
    public var stderr: String

    public init(exitStatus: Int32, signal: String? = nil, stdout: String = "", stderr: String = "") {
        self.exitStatus = exitStatus
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
    }

    public var succeeded: Bool { exitStatus == 0 && signal == nil }
}
