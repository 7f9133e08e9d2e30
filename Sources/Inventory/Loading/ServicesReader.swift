import Dispatch
import Yams

/// What reading one entry of `services:` found; `reader` holds its findings when it was read on another thread.
private struct ServiceEntry {
    var name: String
    var service: Service?
    var routePrefix: (String, Node)?
    var reader: NodeReader?

    init(name: String) { self.name = name }
}

/// What every service is read against: the defaults layer and the tier table.
struct ServiceContext {
    let defaults: SettingsLayer
    /// `defaults.rollout`.
    let defaultRollout: RolloutLayer
    let tiers: [String: TierPolicy]
    /// Each `tiers:` entry's own `rollout:` keys.
    let tierRollout: [String: RolloutLayer]
    /// Tiers defined under `tiers:` with errors (already reported).
    let brokenTiers: Set<String>
    let localPaths: LocalPaths
}

extension NodeReader {
    static let serviceKeys = ["description", "tier", "size", "skills", "channels", "repo", "compose", "health",
                              "route", "ssh", "state_dir", "env", "hooks", "rollout", "hosts"]
    static let hostKeys = ["name", "address", "ssh", "repo", "compose", "health", "state_dir", "env"]

    /// Every valid service, sorted by name; route prefixes must not be shared. A large inventory's services are
    /// read on every core, each by a reader of its own whose findings are taken over in the file's order.
    func services(_ node: Node, context: ServiceContext) -> [Service] {
        let entries = namedEntries(node, "services")
        var read: [ServiceEntry]
        if entries.count < 64 {
            read = entries.map { serviceEntry($0.name, $0.keyNode, $0.value, context: context) }
        } else {
            let file = file, repeatedKeys = repeatedKeys
            read = [ServiceEntry](unsafeUninitializedCapacity: entries.count) { buffer, initialized in
                nonisolated(unsafe) let base = buffer.baseAddress!
                nonisolated(unsafe) let entries = entries
                nonisolated(unsafe) let context = context
                DispatchQueue.concurrentPerform(iterations: entries.count) { index in
                    let reader = NodeReader(file: file)
                    reader.repeatedKeys = repeatedKeys
                    let (name, keyNode, value) = entries[index]
                    var entry = reader.serviceEntry(name, keyNode, value, context: context)
                    entry.reader = reader
                    (base + index).initialize(to: entry)
                }
                initialized = entries.count
            }
        }
        var services: [Service] = []
        var routeOwners: [String: (service: String, mark: Mark?)] = [:]
        for entry in read {
            if let reader = entry.reader { absorb(reader) }
            if let (prefix, prefixNode) = entry.routePrefix {
                if let owner = routeOwners[prefix] {
                    let place = owner.mark.map { " (at \(Position($0)))" } ?? ""
                    error(at: prefixNode.mark, "`services.\(entry.name).route.prefix`: \(quoted(prefix)) is already the prefix of service `\(owner.service)`\(place); each service needs its own prefix")
                } else {
                    routeOwners[prefix] = (entry.name, prefixNode.mark)
                }
            }
            if let service = entry.service { services.append(service) }
        }
        return services.sorted { $0.name < $1.name }
    }

    /// One entry of `services:`: the service when it is valid, and its route prefix (checked against the others').
    private func serviceEntry(_ name: String, _ keyNode: Node, _ value: Node, context: ServiceContext) -> ServiceEntry {
        var entry = ServiceEntry(name: name)
        if let problem = RemoteValueRules.name(name) {
            error(at: keyNode.mark, "invalid service name \(quoted(name)); \(problem)")
            return entry
        }
        guard let fields = mapping(value, "services.\(name)", allowed: Self.serviceKeys) else { return entry }
        // Plain scalar reads only: a YAML node's `tag` (and `==`) resolves it in place, which readers on other
        // threads reaching the same node through an alias must not do.
        if let route = fields["route"], case .mapping(let routeMap) = route,
           let prefixNode = routeMap.first(where: { $0.key.scalar?.string == "prefix" })?.value,
           let prefix = prefixNode.scalar?.string {
            entry.routePrefix = (prefix, prefixNode)
        }
        entry.service = service(name, fields, context: context)
        return entry
    }

    private func service(_ name: String, _ fields: MappingFields, context: ServiceContext) -> Service? {
        var valid = true
        func check<T>(_ value: T?) -> T? {
            if value == nil { valid = false }
            return value
        }
        let description = fields["description"].flatMap { check(string($0, fields.path("description"))) }
        let tierName: String?
        var policy: TierPolicy?
        if let node = fields["tier"] {
            tierName = check(string(node, fields.path("tier")))
            policy = tierName.flatMap { tierName in check(tierPolicy(tierName, node, fields.path("tier"), context)) }
        } else {
            missing("tier", in: fields, "one of \(tierList(context.tiers)); it sets how many hosts change at once")
            tierName = nil
            policy = nil
            valid = false
        }
        // The floor: the service's own, else its tier's `tiers:` entry, else `defaults.rollout`, else the tier's built-in.
        let rollout = fields["rollout"].flatMap { check(rolloutLayer($0, fields.path("rollout"))) }
        if let tier = policy, let floor = rollout?.minHealthy ?? (tier.minHealthySetByTier ? nil : context.defaultRollout.minHealthy) {
            policy?.minHealthy = floor
        }
        // The watch, in the same order.
        if let tier = policy, let watch = rollout?.watch ?? (tier.watchSetByTier ? nil : context.defaultRollout.watch) {
            policy?.watch = watch
        }
        // The traffic thresholds key by key: the built-in ones, then `defaults.rollout`, the tier's entry, the service.
        if policy != nil, let tierName {
            var traffic = policy?.traffic
            if let layer = context.defaultRollout.traffic { traffic = layer.applied(to: traffic) }
            if let layer = context.tierRollout[tierName]?.traffic { traffic = layer.applied(to: traffic) }
            if let layer = rollout?.traffic { traffic = layer.applied(to: traffic) }
            policy?.traffic = traffic
        }
        let size = fields["size"].flatMap { check(resourceSize($0, fields.path("size"))) }
        // Delivered to hosts comma-separated (OPENCLAW_SKILLS, OPENCLAW_CHANNELS): a comma in one would split it.
        let skills = fields["skills"].map { check(stringList($0, fields.path("skills"), rule: RemoteValueRules.listItem)) ?? [] } ?? []
        let channels = fields["channels"].map { check(stringList($0, fields.path("channels"), rule: RemoteValueRules.listItem)) ?? [] } ?? []
        let route = fields["route"].flatMap { check(self.route($0, fields.path("route"))) }

        var layer = context.defaults
        if case .set(let parent) = layer.stateDir {
            layer.stateDir = .set(parent.hasSuffix("/") ? parent + name : "\(parent)/\(name)")
        }
        layer = layer.overridden(by: settingsLayer(fields, localPaths: context.localPaths))

        let hosts = self.hosts(fields, service: name, layer: layer, healthyAfter: policy?.healthyAfter ?? 1,
                               localPaths: context.localPaths)
        guard valid, let tierName, let policy, let hosts, let hooks = layer.hooks.resolved else { return nil }
        return Service(name: name, description: description, tier: tierName, policy: policy, size: size,
                       skills: skills, channels: channels, route: route, hosts: hosts, hooks: hooks)
    }

    private func tierPolicy(_ name: String, _ node: Node, _ path: String, _ context: ServiceContext) -> TierPolicy? {
        if let policy = context.tiers[name] { return policy }
        if !context.brokenTiers.contains(name) {
            error(at: node.mark, "`\(path)`: unknown tier \(quoted(name)); allowed tiers: \(tierList(context.tiers)) (or define it under `tiers:`)")
        }
        return nil
    }

    private func tierList(_ tiers: [String: TierPolicy]) -> String {
        tiers.keys.sorted().map { "`\($0)`" }.joined(separator: ", ")
    }

    private func resourceSize(_ node: Node, _ path: String) -> ResourceSize? {
        guard let fields = mapping(node, path, allowed: ["vcpu", "memory"]) else { return nil }
        let vcpu = fields["vcpu"].map { int($0, fields.path("vcpu"), in: 1...4096) }
        let memory = fields["memory"].map { size($0, fields.path("memory")) }
        if case .some(.none) = vcpu { return nil }
        if case .some(.none) = memory { return nil }
        return ResourceSize(vcpu: vcpu ?? nil, memoryBytes: memory??.bytes, memoryText: memory??.text)
    }

    private func route(_ node: Node, _ path: String) -> Route? {
        guard let fields = mapping(node, path, allowed: ["prefix", "port"]) else { return nil }
        if !fields.has("prefix") { missing("prefix", in: fields, "the gateway path of this service, e.g. `/api/customer/`") }
        if !fields.has("port") { missing("port", in: fields, "the port the service listens on, on each host") }
        let prefix = fields["prefix"].flatMap { string($0, fields.path("prefix"), rule: RemoteValueRules.routePrefix) }
        let port = fields["port"].flatMap { int($0, fields.path("port"), in: 1...65535) }
        guard let prefix, let port else { return nil }
        return Route(prefix: prefix, port: port)
    }
}
