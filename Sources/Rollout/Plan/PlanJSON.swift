import Inventory

extension Plan {
    /// The SPEC's `plan --format json` document, fields in the SPEC's order, byte-for-byte stable.
    /// Steps list their exact remote commands; the health gate, which is not a remote command, appears
    /// as a shell comment line (`# health gate: ...`) so that a changed health URL shows in a diff.
    public var jsonDocument: String {
        OrderedJSON.object([
            ("version", .int(1)),
            ("services", .array(services.map(\.json))),
        ]).pretty
    }
}

extension ServicePlan {
    var json: OrderedJSON {
        let policy = service.policy
        return .object([
            ("name", .string(service.name)),
            ("tier", .string(service.tier)),
            ("target", .object([("ref", .string(target.ref.value)), ("sha", target.sha.map(OrderedJSON.string) ?? .null)])),
            ("policy", .object([
                ("batch", policy.batch.json),
                ("canary", .bool(policy.canary)),
                ("bake_seconds", .int(policy.bake.wholeSeconds)),
                ("healthy_after", .int(Int64(policy.healthyAfter))),
            ])),
            ("batches", .array(batches.map { batch in
                .object([("hosts", .array(batch.map { host in
                    .object([("name", .string(host.name)), ("address", .string(host.address)), ("port", .int(Int64(host.ssh.port)))])
                }))])
            })),
            ("steps", .array(hostSteps.map { hostPlan in
                .object([
                    ("host", .string(hostPlan.host.name)),
                    ("commands", .array(hostPlan.steps.map { .string($0.commandLine) })),
                ])
            })),
        ])
    }
}

extension PlannedStep {
    /// The rendered command, or for a step without one, a comment naming the step.
    public var commandLine: String {
        command?.rendered ?? "# \(kind.rawValue.replacingOccurrences(of: "_", with: " ")): \(summary)"
    }
}

extension BatchSize {
    /// As in the inventory: a number of hosts, or `"25%"`, or `"all"`.
    var json: OrderedJSON {
        switch self {
        case .count(let n): return .int(Int64(n))
        case .percent, .all: return .string(description)
        }
    }
}
