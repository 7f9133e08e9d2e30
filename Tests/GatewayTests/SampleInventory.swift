import Foundation
import Inventory

/// Inventories built by hand, so the renderer is tested apart from YAML loading.
enum SampleInventory {
    /// The repository checkout this test file lives in.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let defaultTemplate = repositoryRoot.appendingPathComponent("templates/nginx-gateway.conf.mustache").path

    static func golden(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
    }

    /// Three services: two routed (one with an IPv6 host), one internal without a route.
    static func fleet(template: String = defaultTemplate, gateway: Bool = true) -> Inventory {
        Inventory(
            sourcePath: "/somewhere/fleet.yaml",
            version: 1,
            tiers: TierPolicy.builtIn,
            services: [
                service("trading", tier: "99.99", route: Route(prefix: "/api/trading/", port: 9090),
                        hosts: [("trade-b", "2001:db8::21"), ("trade-a", "198.51.100.20")]),
                service("customer-service", tier: "99.9", route: Route(prefix: "/api/customer/", port: 8080),
                        hosts: [("lighthouse-a", "203.0.113.10"), ("lighthouse-a2", "203.0.113.11")]),
                service("internal-tools", tier: "95", route: nil, hosts: [("tools-1", "192.0.2.7")]),
            ],
            gateway: gateway ? gatewaySettings(template: template) : nil
        )
    }

    static func gatewaySettings(template: String) -> GatewaySettings {
        GatewaySettings(host: Endpoint(name: "gateway", address: "203.0.113.5", ssh: SSHSettings(knownHosts: "/dev/null")),
                        configPath: "/etc/nginx/conf.d/openclaw.conf", templatePath: template)
    }

    static func service(_ name: String, tier: String, route: Route?, hosts: [(String, String)]) -> Service {
        let policy = TierPolicy.builtIn[tier]!
        return Service(
            name: name, description: nil, tier: tier, policy: policy, size: nil, skills: [], channels: [],
            route: route,
            hosts: hosts.map { host in
                ServiceHost(name: host.0, address: host.1, ssh: SSHSettings(knownHosts: "/dev/null"),
                     repo: RepoSettings(path: "/opt/openclaw/\(name)"), compose: ComposeSettings(),
                     health: HealthSettings(url: HealthURL(host: "127.0.0.1", port: route?.port ?? 8080, path: "/health"),
                                            healthyAfter: policy.healthyAfter),
                     stateDir: "~/.openclaw-deploy/\(name)")
            }
        )
    }
}
