/// How many hosts of a service change at once, and how carefully.
public struct TierPolicy: Sendable, Equatable {
    public var batch: BatchSize
    /// First host alone, then `bake`, then the rest in batches.
    public var canary: Bool
    public var bake: Duration
    public var healthyAfter: Int
    /// Hosts that stay healthy and in rotation while the service changes (`rollout.min_healthy`).
    public var minHealthy: MinHealthy
    /// Whether the tier's `tiers:` entry set `minHealthy` itself (then it wins over `defaults.rollout`).
    public var minHealthySetByTier: Bool
    /// How long every changed host keeps being probed after the last batch (`rollout.watch`; zero: no watch).
    public var watch: Duration
    /// Whether the tier's `tiers:` entry set `watch` itself.
    public var watchSetByTier: Bool
    /// `rollout.traffic`: how the changed hosts' real requests through the gateway are judged during a canary's bake
    /// and the watch; nil when turned off (`traffic: false`). On by default, with the thresholds' own defaults.
    public var traffic: TrafficThresholds?

    public init(batch: BatchSize, canary: Bool, bake: Duration, healthyAfter: Int, minHealthy: MinHealthy = .count(0),
                minHealthySetByTier: Bool = false, watch: Duration = .zero, watchSetByTier: Bool = false,
                traffic: TrafficThresholds? = TrafficThresholds()) {
        self.batch = batch
        self.canary = canary
        self.bake = bake
        self.healthyAfter = healthyAfter
        self.minHealthy = minHealthy
        self.minHealthySetByTier = minHealthySetByTier
        self.watch = watch
        self.watchSetByTier = watchSetByTier
        self.traffic = traffic
    }

    /// The tiers of the SPEC's table.
    public static let builtIn: [String: TierPolicy] = [
        "99.99": TierPolicy(batch: .count(1), canary: true, bake: .seconds(60), healthyAfter: 5, minHealthy: .allBut(1),
                            watch: .seconds(300)),
        "99.9": TierPolicy(batch: .count(1), canary: false, bake: .zero, healthyAfter: 3, minHealthy: .allBut(1), watch: .seconds(120)),
        "99": TierPolicy(batch: .percent(50), canary: false, bake: .zero, healthyAfter: 2, minHealthy: .percent(50), watch: .seconds(30)),
        "95": TierPolicy(batch: .all, canary: false, bake: .zero, healthyAfter: 1, minHealthy: .count(0)),
    ]
}

/// How many of a service's hosts must stay healthy and in rotation throughout a rollout: the capacity floor.
/// What `rollout.traffic` allows the changed hosts against the unchanged ones.
public struct TrafficThresholds: Sendable, Equatable, CustomStringConvertible {
    /// Percentage points of 5xx answers the changed hosts may have above the unchanged ones.
    public var maxErrorRateIncrease: Double
    /// How many times the unchanged hosts' p95 latency the changed hosts' may be.
    public var maxLatencyRatio: Double
    /// Requests each side needs in a window to be judged.
    public var minRequests: Int

    public init(maxErrorRateIncrease: Double = 1, maxLatencyRatio: Double = 1.5, minRequests: Int = 50) {
        self.maxErrorRateIncrease = maxErrorRateIncrease
        self.maxLatencyRatio = maxLatencyRatio
        self.minRequests = minRequests
    }

    /// `5xx +1.0%, p95 1.50x, 50 requests a side`: what `plan` shows.
    public var description: String {
        "5xx at most +\(Self.number(maxErrorRateIncrease))%, p95 at most \(Self.number(maxLatencyRatio))x the unchanged hosts', "
            + "\(minRequests) request\(minRequests == 1 ? "" : "s") a side"
    }

    /// `1`, `0.5`, `1.25`: no trailing zeros.
    public static func number(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let whole = hundredths / 100, fraction = hundredths % 100
        if fraction == 0 { return String(whole) }
        return fraction % 10 == 0 ? "\(whole).\(fraction / 10)" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

public enum MinHealthy: Sendable, Equatable, CustomStringConvertible {
    case count(Int)
    /// 0...100; the host count is rounded up.
    case percent(Int)
    /// Every host but this many.
    case allBut(Int)

    /// `2`, `"75%"` or `all but 1`, as `rollout.min_healthy` takes it; nil for anything else.
    public init?(parsing text: String) {
        if text.hasSuffix("%"), text.first != "+", let percent = Int(text.dropLast()), (0...100).contains(percent) {
            self = .percent(percent)
        } else if text.hasPrefix("all but "), let n = Int(text.dropFirst(8)), (0...100_000).contains(n) {
            self = .allBut(n)
        } else if text.allSatisfy({ $0.isASCII && $0.isNumber }), (1...6).contains(text.count), let n = Int(text) {
            self = .count(n)
        } else {
            return nil
        }
    }

    /// Hosts that must stay healthy of a service with `hostCount` hosts.
    public func required(of hostCount: Int) -> Int {
        switch self {
        case .count(let n): return min(n, hostCount)
        case .percent(let p): return (hostCount * p + 99) / 100
        case .allBut(let n): return max(0, hostCount - n)
        }
    }

    public var description: String {
        switch self {
        case .count(let n): return String(n)
        case .percent(let p): return "\(p)%"
        case .allBut(let n): return "all but \(n)"
        }
    }
}

public enum BatchSize: Sendable, Equatable, CustomStringConvertible {
    case count(Int)
    /// 1...100; the host count is rounded up.
    case percent(Int)
    case all

    /// `3`, `25%` or `all`, as the inventory's `batch` and `--batch` take it; nil for anything else.
    public init?(parsing text: String) {
        if text == "all" {
            self = .all
        } else if text.hasSuffix("%"), text.first != "+", let percent = Int(text.dropLast()), (1...100).contains(percent) {
            self = .percent(percent)
        } else if text.allSatisfy({ $0.isASCII && $0.isNumber }), (1...6).contains(text.count), let count = Int(text), count >= 1 {
            self = .count(count)
        } else {
            return nil
        }
    }

    /// Hosts per batch for a service with `hostCount` hosts (at least 1).
    public func hostsPerBatch(of hostCount: Int) -> Int {
        switch self {
        case .count(let n): return max(1, min(n, max(hostCount, 1)))
        case .percent(let p): return max(1, (hostCount * p + 99) / 100)
        case .all: return max(1, hostCount)
        }
    }

    /// As written in YAML and printed in plans: `1`, `"50%"`, `"all"`.
    public var description: String {
        switch self {
        case .count(let n): return String(n)
        case .percent(let p): return "\(p)%"
        case .all: return "all"
        }
    }
}

extension Duration {
    /// Whole seconds, rounded down; what plans print as `bake_seconds`.
    public var wholeSeconds: Int64 { components.seconds }

    /// Milliseconds, rounded down.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
