import ArgumentParser
import Inventory
import Plan
import Engine

/// `SERVICE... | --all` and `--host NAME...`, for the commands that act on several services.
struct ServiceSelectionOptions: ParsableArguments {
    @Argument(help: "Services, in this order.", completion: .custom(InventoryCompletion.services))
    var services: [String] = []

    @Flag(help: "Every service of the inventory.")
    var all = false

    @Option(name: .customLong("host"), help: ArgumentHelp("Only this host (repeatable).", valueName: "name"),
            completion: .custom(InventoryCompletion.hosts))
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
    @Argument(help: "The service.", completion: .custom(InventoryCompletion.services))
    var service: String

    @Option(name: .customLong("host"), help: ArgumentHelp("Only this host (repeatable).", valueName: "name"),
            completion: .custom(InventoryCompletion.hosts))
    var hosts: [String] = []

    func select(from inventory: Inventory) throws -> SelectedService {
        // One known service name always yields one entry: `select` refuses an unknown one.
        try inventory.select(services: [service], all: false, hosts: hosts)[0]
    }
}

/// `--ref` / `--to`, parsed once into a `GitRef` (a refused one is a usage error naming the reason).
/// `--ref` and `--to`, read once by the argument parser into a `GitRef` (a refused ref is a usage error, with why).
func refArgument(_ text: String) throws -> GitRef { try GitRef(validating: text) }

/// `--batch` and `--no-bake`: the tier's policy changed for this run, for emergencies.
struct PolicyOverrideOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Hosts changed at once for this run, instead of the tier's: a count, a percentage (25%) or all.",
                               valueName: "n|n%|all"), transform: batchArgument)
    var batch: BatchSize?

    @Flag(name: .customLong("no-bake"), help: "Skip the canary's bake time for this run.")
    var noBake = false


    var overrides: PolicyOverrides { PolicyOverrides(batch: batch, noBake: noBake) }
}

/// `--batch`, read once by the argument parser into a `BatchSize`.
func batchArgument(_ text: String) throws -> BatchSize {
    guard let size = BatchSize(parsing: text) else {
        throw ValidationError("--batch takes a number of hosts (at least 1), a percentage from 1% to 100%, or all; got \(text)")
    }
    return size
}
