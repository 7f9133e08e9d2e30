/// What kind of failure an error is, in the SPEC's terms; the command line maps each to its exit code
/// in one place. Every error the tool reports adopts `CategorizedError`.
public enum ExitCategory: Sendable, Equatable {
    /// The request itself is wrong: an unknown option, service or host, a refused ref (64).
    case usage
    /// The inventory (or a file it names) is invalid (65).
    case invalidInventory
    /// A rollout or a check failed, and every touched host is back where it was (1).
    case failed
    /// Some host is not known to be healthy on its previous revision: a person must look (2).
    case needsAttention
    /// Another rollout holds a lock (3).
    case lockHeld
    /// A host could not be reached, authenticated or verified; nothing changed (4).
    case unreachable
}

/// An error that knows its category; its `description` is the sentence a person reads.
public protocol CategorizedError: Error, CustomStringConvertible {
    var category: ExitCategory { get }
}
