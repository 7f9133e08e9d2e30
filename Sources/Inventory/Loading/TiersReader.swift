import Yams

extension NodeReader {
    /// The built-in tiers with the `tiers:` section applied: a partial entry for a built-in tier keeps that
    /// tier's other values; a new tier must give `batch` and `healthy_after`. `broken` names the tiers whose
    /// entry had errors, so services using them are not also reported as naming an unknown tier.
    func tiers(_ node: Node?) -> (policies: [String: TierPolicy], broken: Set<String>) {
        var tiers = TierPolicy.builtIn
        var broken: Set<String> = []
        guard let node else { return (tiers, broken) }
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
            guard valid, let batch, let canary, let bake, let healthyAfter else { continue }
            tiers[name] = TierPolicy(batch: batch, canary: canary, bake: bake, healthyAfter: healthyAfter,
                                     minHealthy: rollout.minHealthy ?? base?.minHealthy ?? .count(0),
                                     minHealthySetByTier: rollout.minHealthy != nil,
                                     watch: rollout.watch ?? base?.watch ?? .zero, watchSetByTier: rollout.watch != nil)
            broken.remove(name)
        }
        return (tiers, broken)
    }

    /// A `rollout:` mapping (under `defaults`, a tier or a service); nil when it had errors (reported).
    func rolloutLayer(_ node: Node, _ path: String) -> RolloutLayer? {
        guard let fields = mapping(node, path, allowed: ["min_healthy", "watch"]) else { return nil }
        var layer = RolloutLayer()
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
}
