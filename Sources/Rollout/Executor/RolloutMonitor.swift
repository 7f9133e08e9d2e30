import Foundation

/// Where a host stands at this moment of a rollout, as far as the tool knows.
public enum HostState: Sendable, Equatable {
    /// Not reached yet.
    case waiting
    /// Reached; nothing on it changed. Its revision, when known.
    case untouched(revision: String?)
    /// Being moved from one revision to another (checkout, compose up or health gate running).
    case changing(from: String, to: String)
    /// On the new revision and healthy.
    case onTarget(String)
    /// Being put back on its previous revision; `done` are the put-back steps it finished (`checkout`, …).
    case puttingBack(to: String, done: [String] = [])
    /// Back on its previous revision and healthy.
    case onPrevious(String)
    /// Not known to be healthy on any revision: a person must look.
    case unknown(String)

    /// Whether the host may be neither on its old revision nor healthy if the rollout stops here.
    public var needsAttention: Bool {
        switch self {
        case .changing, .puttingBack, .unknown: return true
        case .waiting, .untouched, .onTarget, .onPrevious: return false
        }
    }

    public var description: String {
        switch self {
        case .waiting: return "not started, unchanged"
        case .untouched(let revision): return "unchanged" + (revision.map { " on \($0.shortSHA)" } ?? "")
        case .changing(let from, let to): return "was being changed from \(from.shortSHA) to \(to.shortSHA): revision and health unknown"
        case .onTarget(let sha): return "on \(sha.shortSHA), healthy"
        case .puttingBack(let to, let done):
            guard let last = done.last else { return "was being put back on \(to.shortSHA), no step of it done: revision and health unknown" }
            let revision = done.contains("checkout") ? "checked out \(to.shortSHA)" : "revision unknown"
            return "was being put back on \(to.shortSHA), stopped after \(last): \(revision), health unknown"
        case .onPrevious(let sha): return "back on \(sha.shortSHA), healthy"
        case .unknown(let why): return "not known to be healthy: \(why)"
        }
    }
}

/// The live state of every host of a run, readable at any moment (a second Ctrl-C prints it).
public final class RolloutMonitor: @unchecked Sendable {
    private let lock = NSLock()
    private var states: [String: [(host: String, state: HostState)]] = [:]
    private var order: [String] = []

    public init() {}

    func register(service: String, hosts: [String]) {
        lock.lock()
        defer { lock.unlock() }
        if states[service] == nil { order.append(service) }
        states[service] = hosts.map { ($0, HostState.waiting) }
    }

    func set(service: String, host: String, _ state: HostState) {
        lock.lock()
        defer { lock.unlock() }
        guard let index = states[service]?.firstIndex(where: { $0.host == host }) else { return }
        states[service]?[index].state = state
    }

    /// Every host of every service, in the order services started and hosts are named.
    public func snapshot() -> [(service: String, host: String, state: HostState)] {
        lock.lock()
        defer { lock.unlock() }
        return order.flatMap { service in (states[service] ?? []).map { (service, $0.host, $0.state) } }
    }
}
