import ArgumentParser
import Inventory

/// `SERVICE... | --all` and `--host NAME...`, for the commands that act on several services.
struct ServiceSelectionOptions: ParsableArguments {
    @Argument(help: "Services, in this order.")
    var services: [String] = []

    @Flag(help: "Every service of the inventory.")
    var all = false

    @Option(name: .customLong("host"), help: ArgumentHelp("Only this host (repeatable).", valueName: "name"))
    var hosts: [String] = []

    func validate() throws {
        if all && !services.isEmpty { throw ValidationError("give service names or --all, not both") }
    }

    /// The chosen services and hosts; with `everyServiceByDefault`, no names means every service.
    func select(from inventory: Inventory, everyServiceByDefault: Bool = false) throws -> [SelectedService] {
        try inventory.select(services: services, all: all || (everyServiceByDefault && services.isEmpty), hosts: hosts)
    }
}

/// `SERVICE` and `--host NAME...`, for the commands that act on one service.
struct OneServiceOptions: ParsableArguments {
    @Argument(help: "The service.")
    var service: String

    @Option(name: .customLong("host"), help: ArgumentHelp("Only this host (repeatable).", valueName: "name"))
    var hosts: [String] = []

    func select(from inventory: Inventory) throws -> SelectedService {
        // One known service name always yields one entry: `select` refuses an unknown one.
        try inventory.select(services: [service], all: false, hosts: hosts)[0]
    }
}

/// `--ref` / `--to`, parsed once into a `GitRef` (a refused one is a usage error naming the reason).
func parseRef(_ text: String?) throws -> GitRef? {
    try text.map { try GitRef(validating: $0) }
}
