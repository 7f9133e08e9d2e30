import Yams

extension NodeReader {
    /// The built-in tiers with the `tiers:` section applied: a partial entry for a built-in tier keeps that
    /// tier's other values; a new tier must give `batch` and `healthy_after`. `broken` names the tiers whose
    /// entry had errors, so services using them are not also reported as naming an unknown tier.
    func tiers(_ node: Node?) -> (policies: [String: TierPolicy], broken: Set<String>, rollout: [String: RolloutLayer]) {
        var tiers = TierPolicy.builtIn
        var broken: Set<String> = []
        var layers: [String: RolloutLayer] = [:]
        guard let node else { return (tiers, broken, layers) }
        for (name, keyNode, value) in namedEntries(node, "tiers") {
            guard name.count <= 32, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                error(at: keyNode.mark, "invalid tier name \(quoted(name)); tier names use letters, digits, `.`, `_` and `-` (at most 32)")
                broken.insert(name)
                continue
            }
            let path = "tiers.\(name)"
            broken.insert(name)
            guard let fields = mapping(value, path, allowed: ["batch", "canary", "bake", "healthy_after", "rollout"]) else { continue }
            let base = TierPolicy.builtIn[name]
            if base == nil {
                if !fields.has("batch") { missing("batch", in: fields, "a new tier needs it: a host count, a percentage such as `\"25%\"`, or `all`") }
                if !fields.has("healthy_after") { missing("healthy_after", in: fields, "a new tier needs it: consecutive healthy answers before a host passes") }
            }
            var valid = true
            func read<T>(_ key: String, _ parse: (Node, String) -> T?, fallback: T?) -> T? {
                guard let node = fields[key] else { return fallback }
                let value = parse(node, fields.path(key))
                if value == nil { valid = false }
                return value
            }
            let batch = read("batch", batchSize, fallback: base?.batch)
            let canary = read("canary", bool, fallback: base?.canary ?? false)
            let bake = read("bake", duration, fallback: base?.bake ?? .zero)
            let healthyAfter = read("healthy_after", { self.int($0, $1, in: 1...1000) }, fallback: base?.healthyAfter)
            var rollout = RolloutLayer()
            if let node = fields["rollout"] {
                guard let layer = rolloutLayer(node, fields.path("rollout")) else { continue }
                rollout = layer
            }
            layers[name] = rollout
            guard valid, let batch, let canary, let bake, let healthyAfter else { continue }
            tiers[name] = TierPolicy(batch: batch, canary: canary, bake: bake, healthyAfter: healthyAfter,
                                     minHealthy: rollout.minHealthy ?? base?.minHealthy ?? .count(0),
                                     minHealthySetByTier: rollout.minHealthy != nil,
                                     watch: rollout.watch ?? base?.watch ?? .zero, watchSetByTier: rollout.watch != nil)
            broken.remove(name)
        }
        return (tiers, broken, layers)
    }

    /// A `rollout:` mapping (under `defaults`, a tier or a service); nil when it had errors (reported).
    func rolloutLayer(_ node: Node, _ path: String) -> RolloutLayer? {
        guard let fields = mapping(node, path, allowed: ["min_healthy", "watch", "traffic"]) else { return nil }
        var layer = RolloutLayer()
        if let node = fields["traffic"] {
            guard let traffic = trafficLayer(node, fields.path("traffic")) else { return nil }
            layer.traffic = traffic
        }
        if let node = fields["watch"] {
            guard let value = duration(node, fields.path("watch")) else { return nil }
            layer.watch = value
        }
        if let node = fields["min_healthy"] {
            guard case .scalar(let scalar) = node, let value = MinHealthy(parsing: scalar.string) else {
                error(at: node.mark, "`\(fields.path("min_healthy"))` must be a number of hosts, a percentage such as `\"75%\"`, or `all but N`; found \(describe(node))")
                return nil
            }
            layer.minHealthy = value
        }
        return layer
    }

    /// `traffic: false` (off), `true` (on, thresholds as below it), or a mapping of thresholds (on).
    func trafficLayer(_ node: Node, _ path: String) -> TrafficLayer? {
        if case .scalar = node { return bool(node, path).map { TrafficLayer(enabled: $0) } }
        guard let fields = mapping(node, path, allowed: ["max_error_rate_increase", "max_latency_ratio", "min_requests"]) else { return nil }
        var layer = TrafficLayer(enabled: true)
        if let node = fields["max_error_rate_increase"] {
            guard case .scalar(let scalar) = node, scalar.string.hasSuffix("%"), let value = Double(scalar.string.dropLast()),
                  value.isFinite, (0...100).contains(value) else {
                error(at: node.mark, "`\(fields.path("max_error_rate_increase"))` must be a percentage from `0%` to `100%` (points of 5xx "
                    + "answers the changed hosts may have above the unchanged ones), such as `1%` or `0.5%`; found \(describe(node))")
                return nil
            }
            layer.maxErrorRateIncrease = value
        }
        if let node = fields["max_latency_ratio"] {
            guard case .scalar(let scalar) = node, let value = Double(scalar.string), value.isFinite, value >= 1, value <= 1000 else {
                error(at: node.mark, "`\(fields.path("max_latency_ratio"))` must be a number from 1 to 1000 (how many times the unchanged "
                    + "hosts' p95 latency the changed hosts' may be), such as `1.5`; found \(describe(node))")
                return nil
            }
            layer.maxLatencyRatio = value
        }
        if let node = fields["min_requests"] {
            guard let value = int(node, fields.path("min_requests"), in: 1...1_000_000) else { return nil }
            layer.minRequests = value
        }
        return layer
    }

    /// `3`, `"25%"` or `all`.
    func batchSize(_ node: Node, _ path: String) -> BatchSize? {
        if case .scalar(let scalar) = node, let size = BatchSize(parsing: scalar.string) { return size }
        error(at: node.mark, "`\(path)` must be a number of hosts (at least 1), a percentage from `\"1%\"` to `\"100%\"`, or `all`; found \(describe(node))")
        return nil
    }
}

/// What a `rollout:` mapping sets.
struct RolloutLayer {
    var minHealthy: MinHealthy?
    var watch: Duration?
    var traffic: TrafficLayer?
}

/// What a `rollout.traffic` entry sets; the keys it leaves out come from the layer below it.
struct TrafficLayer {
    var enabled: Bool?
    var maxErrorRateIncrease: Double?
    var maxLatencyRatio: Double?
    var minRequests: Int?

    /// `below` with this layer's keys over it.
    func applied(to below: TrafficThresholds?) -> TrafficThresholds? {
        if enabled == false { return nil }
        // Turned on (or given a threshold) over a layer that turned it off: the built-in thresholds under it.
        var thresholds = below ?? TrafficThresholds()
        if let maxErrorRateIncrease { thresholds.maxErrorRateIncrease = maxErrorRateIncrease }
        if let maxLatencyRatio { thresholds.maxLatencyRatio = maxLatencyRatio }
        if let minRequests { thresholds.minRequests = minRequests }
        return thresholds
    }
}
