import ArgumentParser
import Inventory

/// A duration on the command line (`30s`, `2m`, `1h30m`), parsed once into a `Duration`.
struct DurationArgument: ExpressibleByArgument, Sendable {
    let value: Duration

    init?(argument: String) {
        guard let value = parseDuration(argument) else { return nil }
        self.value = value
    }
}

/// `--lock-wait DURATION` of `deploy` and `rollback`.
struct LockWaitOption: ParsableArguments {
    @Option(name: .customLong("lock-wait"), help: ArgumentHelp(
        "When a host's lock is held by another live rollout, wait for it up to this long (30s, 2m, 1h), holding no lock meanwhile; then exit 3.",
        valueName: "duration"))
    var lockWait: DurationArgument?

    var duration: Duration { lockWait?.value ?? .zero }
}

/// `--allow-below-capacity` of `deploy` and `rollback`.
struct CapacityOption: ParsableArguments {
    @Flag(name: .customLong("allow-below-capacity"), help: ArgumentHelp(
        "For this run, change hosts even when fewer than min_healthy healthy hosts would stay in rotation (an emergency)."))
    var allowBelowCapacity = false
}
