import ExitCategories
/// The services and hosts a command acts on: every command that takes service names, `--all` or
/// `--host` chooses them here, once.
public struct SelectedService: Sendable, Equatable {
    public var service: Service
    /// The targeted hosts, sorted by name (all of the service's hosts unless `--host` narrowed them).
    public var hosts: [ServiceHost]

    public init(service: Service, hosts: [ServiceHost]) {
        self.service = service
        self.hosts = hosts
    }
}

extension Inventory {
    /// - Parameters:
    ///   - names: service names in the order given; duplicates are dropped. Ignored with `all`.
    ///   - all: every service, in name order.
    ///   - hosts: `--host` names; empty means every host. A chosen service with none of them is left out.
    public func select(services names: [String], all: Bool, hosts: [String] = []) throws(SelectionError) -> [SelectedService] {
        let known = services.map(\.name)
        let chosen: [Service]
        if all {
            chosen = services
        } else {
            guard !names.isEmpty else { throw SelectionError.noServicesChosen(known: known) }
            var seen = Set<String>()
            let unique = names.filter { seen.insert($0).inserted }
            // Named services run in the order given: a name given twice has no one place in that order.
            let repeated = unique.filter { name in names.filter { $0 == name }.count > 1 }
            guard repeated.isEmpty else { throw SelectionError.repeatedServices(repeated) }
            let unknown = unique.filter { service(named: $0) == nil }
            guard unknown.isEmpty else { throw SelectionError.unknownServices(unknown, known: known) }
            chosen = unique.compactMap(service(named:))
        }
        let knownHosts = Set(chosen.flatMap { $0.hosts.map(\.name) })
        var seen = Set<String>()
        let unknownHosts = hosts.filter { !knownHosts.contains($0) && seen.insert($0).inserted }
        guard unknownHosts.isEmpty else { throw SelectionError.unknownHosts(unknownHosts, known: knownHosts.sorted()) }
        let filter = Set(hosts)
        return chosen.compactMap { service in
            let targeted = service.hosts.filter { filter.isEmpty || filter.contains($0.name) }.sorted { $0.name < $1.name }
            return targeted.isEmpty ? nil : SelectedService(service: service, hosts: targeted)
        }
    }
}

/// A request naming services or hosts the inventory does not have: a usage error.
public enum SelectionError: Error, Sendable, Equatable, CategorizedError {
    case unknownServices([String], known: [String])
    /// `--host` names that belong to none of the chosen services.
    case unknownHosts([String], known: [String])
    /// Neither service names nor `--all` were given.
    case noServicesChosen(known: [String])
    /// A service named more than once.
    case repeatedServices([String])

    public var category: ExitCategory { .usage }

    public var description: String {
        switch self {
        case .unknownServices(let names, let known):
            let guesses = names.compactMap { name in closestMatch(to: name, among: known).map { "did you mean \(QuotedText.quoted($0))?" } }
            return "unknown service\(names.count == 1 ? "" : "s") \(names.map(QuotedText.quoted).joined(separator: ", "))"
                + (guesses.isEmpty ? "" : " (\(guesses.joined(separator: ", ")))") + "; the inventory has: \(Self.list(known))."
        case .unknownHosts(let names, let known):
            return "unknown host\(names.count == 1 ? "" : "s") \(names.map(QuotedText.quoted).joined(separator: ", ")) "
                + "for the chosen services; their hosts are: \(Self.list(known))."
        case .noServicesChosen(let known):
            return "name at least one service or pass --all; the inventory has: \(Self.list(known))."
        case .repeatedServices(let names):
            return "\(names.map(QuotedText.quoted).joined(separator: ", ")) \(names.count == 1 ? "is" : "are") named more than once; "
                + "name each service once (they run in the order given)"
        }
    }

    private static func list(_ names: [String]) -> String {
        names.isEmpty ? "(none)" : names.joined(separator: ", ")
    }
}
