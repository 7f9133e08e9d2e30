import Inventory
import Plan
import Engine

/// Hand-built inventory values, so planner and command tests do not depend on YAML loading.
enum PlannerFixtures {
    static func host(_ name: String, address: String = "203.0.113.10", port: Int = 22,
                     repoPath: String = "/opt/openclaw/customer", branch: GitRef = "main",
                     compose: ComposeSettings = ComposeSettings(project: "openclaw-customer"),
                     stateDir: String = "~/.openclaw-deploy/customer-service") -> ServiceHost {
        ServiceHost(name: name, address: address,
             ssh: SSHSettings(user: "deploy", port: port, knownHosts: "/home/op/.ssh/known_hosts"),
             repo: RepoSettings(path: repoPath, remote: "origin", branch: branch),
             compose: compose,
             health: HealthSettings(url: HealthURL(host: "127.0.0.1", port: 8080, path: "/health"), healthyAfter: 3),
             stateDir: stateDir)
    }

    static func hosts(_ count: Int) -> [ServiceHost] {
        (1...count).map { host("h\(String(format: "%02d", $0))", address: "10.0.0.\($0)") }
    }

    static func service(_ name: String = "customer-service", tier: String = "99.9", policy: TierPolicy? = nil, hosts: [ServiceHost]) -> Service {
        Service(name: name, description: "FAQ, order lookup, returns", tier: tier,
                policy: policy ?? TierPolicy.builtIn[tier]!, size: ResourceSize(vcpu: 4, memoryBytes: 8 << 30, memoryText: "8GiB"),
                skills: ["faq", "order-lookup"], channels: ["whatsapp"], route: Route(prefix: "/api/customer/", port: 8080),
                hosts: hosts)
    }

    static func inventory(_ services: [Service]) -> Inventory {
        Inventory(sourcePath: "inventory/openclaw.yaml", version: 1, tiers: TierPolicy.builtIn,
                  services: services.sorted { $0.name < $1.name }, gateway: nil)
    }

    /// Selects and plans as the commands do: `Inventory.select`, then `Planner.plan`.
    static func plan(_ inventory: Inventory, services: [String] = [], all: Bool = false, ref: String? = nil, hosts: [String] = [],
                     resolvedSHAs: [String: String] = [:], action: RolloutAction = .deploy) throws -> Plan {
        Planner.plan(try inventory.select(services: services, all: all, hosts: hosts), action: action,
                     ref: try ref.map { try GitRef(validating: $0) }, resolved: resolvedSHAs.compactMapValues(CommitID.init))
    }

    /// Host names per batch, the form batching tests compare.
    static func names(_ batches: [[ServiceHost]]) -> [[String]] {
        batches.map { $0.map(\.name) }
    }
}
