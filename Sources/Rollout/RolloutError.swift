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
        }
    }
}

private func quoted(_ text: String) -> String {
    "\"" + text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
}

private func list(_ names: [String]) -> String {
    names.isEmpty ? "(none)" : names.joined(separator: ", ")
}
