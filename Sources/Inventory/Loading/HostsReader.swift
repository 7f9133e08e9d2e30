import Yams

extension NodeReader {
    /// The hosts of one service, sorted by name, each with `layer` (defaults and service merged) under its own
    /// overrides. Nil when any host is invalid or a required setting is missing.
    func hosts(_ serviceFields: MappingFields, service: String, layer: SettingsLayer, healthyAfter: Int,
               localPaths: LocalPaths) -> [ServiceHost]? {
        guard let hostsNode = serviceFields["hosts"] else {
            missing("hosts", in: serviceFields, "a list of hosts, each with `name` and `address`")
            return nil
        }
        let path = serviceFields.path("hosts")
        guard let items = list(hostsNode, path) else { return nil }
        guard !items.isEmpty else {
            error(at: hostsNode.mark, "`\(path)` is empty; add at least one host with `name` and `address`")
            return nil
        }
        var hosts: [ServiceHost] = []
        var valid = true
        var firstByName: [String: Mark?] = [:]
        var missingByHost: [(fields: MappingFields, keys: [String])] = []
        var readableHosts = 0
        /// Each readable host's branch, in file order, with where it is set.
        var branches: [(host: String, branch: String, fields: MappingFields)] = []
        for (index, item) in items.enumerated() {
            guard let fields = mapping(item, "\(path)[\(index)]", allowed: Self.hostKeys) else {
                valid = false
                continue
            }
            readableHosts += 1
            if !fields.has("name") { missing("name", in: fields, "a unique name for this host, e.g. `lighthouse-a`") }
            if !fields.has("address") { missing("address", in: fields, "the IP address or DNS name to connect to") }
            let name = fields["name"].flatMap { string($0, fields.path("name"), rule: RemoteValueRules.name) }
            let address = fields["address"].flatMap { addressValue($0, fields.path("address")) }
            if let name {
                if let first = firstByName[name] {
                    let place = first.map { " (first at \(Position($0)))" } ?? ""
                    error(at: fields["name"]?.mark, "`\(fields.path("name"))`: duplicate host name `\(name)` in service `\(service)`\(place); host names must be unique within a service")
                    valid = false
                } else {
                    firstByName[name] = fields["name"]?.mark
                }
            }
            var missingKeys: [String] = []
            let hostLayer = layer.overridden(by: settingsLayer(fields, localPaths: localPaths))
            let host = hostLayer.resolvedHost(name: name ?? "", address: address ?? "", tierHealthyAfter: healthyAfter,
                                              localPaths: localPaths, serviceName: service, missing: &missingKeys)
            if !missingKeys.isEmpty { missingByHost.append((fields, missingKeys)) }
            if let host, name != nil, address != nil {
                hosts.append(host)
                branches.append((host.name, host.repo.branch.value, fields))
            } else {
                valid = false
            }
        }
        // One rollout resolves one commit and sends it to every host of the service: hosts that tracked different
        // branches would have their target decided by whichever host resolves it.
        if let first = branches.first {
            for other in branches.dropFirst() where other.branch != first.branch {
                let place = other.fields["repo"] ?? other.fields["name"]
                error(at: place?.mark, "`\(other.fields.path("repo"))`: host `\(other.host)` tracks branch \(quoted(other.branch)) but host "
                    + "`\(first.host)` of `\(service)` tracks \(quoted(first.branch)); a rollout sends one commit to every host of a "
                    + "service: give them the same `repo.branch` (override `path` or `remote` per host, not the branch)")
                valid = false
            }
        }
        reportMissingSettings(missingByHost, hostCount: readableHosts, serviceFields: serviceFields)
        return valid ? hosts.sorted { $0.name < $1.name } : nil
    }

    /// A setting missing on every host is reported once, on the service; otherwise on each host lacking it.
    private func reportMissingSettings(_ missingByHost: [(fields: MappingFields, keys: [String])], hostCount: Int,
                                       serviceFields: MappingFields) {
        let examples = ["repo.path": "`repo: { path: /opt/openclaw/app }`",
                        "health.url": "`health: { url: \"http://127.0.0.1:8080/health\" }`"]
        let keys = Set(missingByHost.flatMap(\.keys)).sorted()
        for key in keys {
            let lacking = missingByHost.filter { $0.keys.contains(key) }
            let example = examples[key] ?? "a value"
            if lacking.count == hostCount {
                error(at: serviceFields.mark, "`\(serviceFields.path)` has no `\(key)`; set it on the service (or under `defaults`), e.g. \(example)")
            } else {
                for entry in lacking {
                    error(at: entry.fields.mark, "`\(entry.fields.path)` has no `\(key)`, and its service does not set one; set it on the host or the service, e.g. \(example)")
                }
            }
        }
    }

    func addressValue(_ node: Node, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        guard isValidAddress(text) else {
            error(at: node.mark, "`\(path)`: \(quoted(text)) is not an IP address or host name")
            return nil
        }
        return text
    }
}
