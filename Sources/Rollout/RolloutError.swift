/// Failures of planning and rolling out, each described in the words a person reads.
public enum RolloutError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A `--ref` (or a service's branch) that git or the remote shell could misread.
    case invalidRef(ref: String, reason: String)
    /// Service names that are not in the inventory.
    case unknownServices([String], known: [String])
    /// `--host` names that belong to none of the chosen services.
    case unknownHosts([String], known: [String])
    /// Neither service names nor `--all` were given.
    case noServicesChosen(known: [String])
    /// Another rollout holds the service lock on a host; nothing was changed (exit 3).
    case lockHeld(service: String, host: String, holder: LockOwner?, stale: Bool)
    /// A host could not be reached, authenticated or verified before anything changed (exit 4).
    case unreachable(service: String, reason: String)
    /// A step failed on a host before anything on it changed (exit 1).
    case stepFailed(service: String, host: String, step: String, reason: String)
    /// A host failed its rollout; it and every host already updated were put back (exit 1).
    case hostFailed(service: String, host: String, step: String, reason: String)
    /// A rollback without `--to` found no successful deploy in the hosts' history (exit 1).
    case noPreviousRevision(service: String)
    /// The operator stopped the rollout and every touched host was put back (exit 1).
    case stoppedByOperator(service: String)
    /// Some host is not known to be healthy on its previous revision (exit 2).
    case rollbackIncomplete(service: String, hosts: [String], cause: String)
    /// `lock release` without `--force` met a lock that is not stale (exit 3).
    case lockLive(service: String, host: String, holder: LockOwner?)

    /// What kind of failure this is; the command line turns it into an exit code.
    public enum Category: Sendable, Equatable {
        /// The request itself is wrong (exit 64).
        case usage
        /// A deploy or rollback failed and every touched host is back where it was (exit 1).
        case failed
        /// Some host is not known to be healthy on its previous revision (exit 2).
        case needsAttention
        /// Another deploy holds the lock (exit 3).
        case lockHeld
        /// A host could not be reached, authenticated or verified; nothing changed (exit 4).
        case unreachable
    }

    public var category: Category {
        switch self {
        case .invalidRef, .unknownServices, .unknownHosts, .noServicesChosen: return .usage
        case .lockHeld, .lockLive: return .lockHeld
        case .unreachable: return .unreachable
        case .stepFailed, .hostFailed, .noPreviousRevision, .stoppedByOperator: return .failed
        case .rollbackIncomplete: return .needsAttention
        }
    }

    public var description: String {
        switch self {
        case .invalidRef(let ref, let reason):
            return "refusing ref \(quoted(ref)): \(reason). Give a branch, a tag or a commit SHA."
        case .unknownServices(let names, let known):
            return "unknown service\(names.count == 1 ? "" : "s") \(names.map(quoted).joined(separator: ", ")); "
                + "the inventory has: \(list(known))."
        case .unknownHosts(let names, let known):
            return "unknown host\(names.count == 1 ? "" : "s") \(names.map(quoted).joined(separator: ", ")) "
                + "for the chosen services; their hosts are: \(list(known))."
        case .noServicesChosen(let known):
            return "name at least one service or pass --all; the inventory has: \(list(known))."
        case .lockHeld(let service, let host, let holder, let stale):
            let who = holder.map { "\($0.operator) on \($0.machine) (pid \($0.pid)) since \($0.started), for \(quoted($0.target))" }
                ?? "an unknown holder (its owner.json is missing or unreadable)"
            let next = stale
                ? "The lock is stale: it expired at \(holder?.expires ?? "an unknown time") and its holder stopped refreshing it. "
                    + "If that rollout is gone, run `openclaw-deploy lock release \(service) --force`."
                : "Wait for that rollout to finish, or see `openclaw-deploy lock status \(service)`."
            return "\(service): the lock on \(host) is held by \(who); nothing was changed. \(next)"
        case .unreachable(let service, let reason):
            return "\(service): \(reason); nothing was changed. Check the address, the SSH key and known_hosts."
        case .stepFailed(let service, let host, let step, let reason):
            return "\(service): \(step) failed on \(host): \(reason); no host was changed."
        case .hostFailed(let service, let host, let step, let reason):
            return "\(service): \(host) failed at \(step): \(reason); every host that was changed is back on its previous revision."
        case .noPreviousRevision(let service):
            return "\(service): the hosts' history has no successful deploy to roll back from; give the revision with --to REV."
        case .stoppedByOperator(let service):
            return "\(service): stopped by the operator; every host that was changed is back on its previous revision."
        case .rollbackIncomplete(let service, let hosts, let cause):
            return "\(service): \(cause); \(hosts.joined(separator: ", ")) \(hosts.count == 1 ? "is" : "are") not known to be healthy "
                + "on the previous revision. Look at \(hosts.count == 1 ? "it" : "them") now (openclaw-deploy status \(service))."
        case .lockLive(let service, let host, let holder):
            let who = holder.map { "\($0.operator) on \($0.machine) (pid \($0.pid)) since \($0.started), for \(quoted($0.target)), expiring \($0.expires)" }
                ?? "an unknown holder"
            return "\(service): the lock on \(host) is held by \(who) and is not stale, so it was kept. "
                + "If you are sure that rollout is gone, run `openclaw-deploy lock release \(service) --force`."
        }
    }
}

private func quoted(_ text: String) -> String {
    "\"" + text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
}

private func list(_ names: [String]) -> String {
    names.isEmpty ? "(none)" : names.joined(separator: ", ")
}
