import Foundation
import Testing
@testable import Inventory

@Suite("Valid inventories: defaults, service and host settings merged key by key")
struct InheritanceTests {
    private let environment = ["HOME": "/home/op"]

    private func loadFixture(_ name: String) throws -> (Inventory, directory: String) {
        let path = try Support.fixturePath(name)
        return (try InventoryLoader.load(path: path, environment: environment), (path as NSString).deletingLastPathComponent)
    }

    @Test func servicesAndHostsAreSortedByName() throws {
        let (inventory, _) = try loadFixture("inheritance.yaml")
        #expect(inventory.services.map(\.name) == ["alpha", "beta"])
        #expect(inventory.service(named: "alpha")?.hosts.map(\.name) == ["alpha-1", "alpha-2"])
    }

    @Test func hostWithoutOverridesTakesServiceThenDefaults() throws {
        let (inventory, directory) = try loadFixture("inheritance.yaml")
        let host = try #require(inventory.service(named: "alpha")?.hosts.first)
        #expect(host.name == "alpha-1")
        #expect(host.address == "192.0.2.1")
        #expect(host.ssh == SSHSettings(user: "ops", port: 2201, identity: "/home/op/.ssh/deploy_key",
                                        knownHosts: directory + "/keys/known_hosts",
                                        connectTimeout: .seconds(5), commandTimeout: .seconds(120)))
        #expect(host.repo == RepoSettings(path: "/srv/alpha", remote: "origin", branch: "release"))
        #expect(host.compose == ComposeSettings(command: ["podman-compose"], file: "compose.yaml", project: "alpha",
                                                build: false, upArgs: ["--force-recreate"]))
        #expect(host.health == HealthSettings(url: HealthURL(host: "127.0.0.1", port: 8080, path: "/health"),
                                              timeout: .seconds(30), interval: .seconds(2), healthyAfter: 5))
        #expect(host.stateDir == "/var/lib/openclaw/alpha")
    }

    @Test func hostOverridesWinKeyByKey() throws {
        let (inventory, _) = try loadFixture("inheritance.yaml")
        let host = try #require(inventory.service(named: "alpha")?.hosts.last)
        #expect(host.name == "alpha-2")
        #expect(host.address == "alpha-2.example.internal")
        #expect(host.ssh == SSHSettings(user: "root", port: 2201, identity: "/home/op/.ssh/deploy_key",
                                        knownHosts: "/etc/ssh/ssh_known_hosts",
                                        connectTimeout: .seconds(5), commandTimeout: .seconds(120)))
        #expect(host.repo == RepoSettings(path: "/srv/alpha", remote: "mirror", branch: "release"))
        #expect(host.compose.command == ["docker", "compose"])
        #expect(host.compose.file == "compose.yaml")
        #expect(host.compose.project == "alpha")
        #expect(host.health.healthyAfter == 7)
        #expect(host.health.timeout == .seconds(30))
        #expect(host.stateDir == "~/state")
    }

    @Test func explicitNullSelectsSSHAgentAndServiceValuesApply() throws {
        let (inventory, _) = try loadFixture("inheritance.yaml")
        let beta = try #require(inventory.service(named: "beta"))
        let host = try #require(beta.hosts.first)
        #expect(host.address == "2001:db8::10")
        #expect(host.ssh.identity == nil)
        #expect(host.ssh.port == 2200)
        #expect(host.repo == RepoSettings(path: "~/apps/beta", remote: "upstream", branch: "release"))
        #expect(host.compose == ComposeSettings(command: ["podman-compose"], file: "compose.yaml", project: "beta_app",
                                                build: true, upArgs: ["--force-recreate"]))
        #expect(host.health == HealthSettings(url: HealthURL(host: "::1", port: 9090, path: "/ready"),
                                              timeout: .seconds(30), interval: .milliseconds(500), healthyAfter: 2))
        #expect(host.health.url.description == "http://[::1]:9090/ready")
        #expect(host.stateDir == "/var/lib/openclaw/beta")
    }

    @Test func serviceFieldsAreRead() throws {
        let (inventory, _) = try loadFixture("inheritance.yaml")
        let alpha = try #require(inventory.service(named: "alpha"))
        #expect(alpha.description == "the first service")
        #expect(alpha.tier == "99.99")
        #expect(alpha.size == ResourceSize(vcpu: 2, memoryBytes: 1536 << 20, memoryText: "1536MiB"))
        #expect(alpha.skills == ["one", "two"])
        #expect(alpha.channels == ["web"])
        #expect(alpha.route == Route(prefix: "/api/alpha/", port: 8080))
        let beta = try #require(inventory.service(named: "beta"))
        #expect(beta.description == nil)
        #expect(beta.size == nil)
        #expect(beta.skills.isEmpty)
        #expect(beta.route == nil)
    }

    @Test func partialTierOverrideKeepsTheBuiltInValues() throws {
        let (inventory, _) = try loadFixture("inheritance.yaml")
        #expect(inventory.tiers["99.99"] == TierPolicy(batch: .count(1), canary: true, bake: .seconds(120), healthyAfter: 5, minHealthy: .allBut(1), watch: .seconds(300)))
        #expect(inventory.tiers["99.9"] == TierPolicy.builtIn["99.9"])
        #expect(inventory.tiers["quick-canary"] == TierPolicy(batch: .percent(25), canary: true, bake: .seconds(30), healthyAfter: 2))
        #expect(inventory.service(named: "alpha")?.policy == inventory.tiers["99.99"])
        #expect(inventory.tiers.keys.sorted() == ["95", "99", "99.9", "99.99", "quick-canary"])
    }

    @Test func builtInDefaultsApplyWhenNothingIsSet() throws {
        let yaml = Support.inventory(service: """
        svc:
          tier: "99"
          repo: { path: /srv/svc }
          health: { url: "http://127.0.0.1:80/" }
          hosts: [{ name: h, address: 192.0.2.7 }]
        """)
        let inventory = try InventoryLoader.parse(yaml: yaml, path: "/etc/openclaw/inv.yaml", environment: environment)
        let host = try #require(inventory.services.first?.hosts.first)
        #expect(host.ssh == SSHSettings(user: "deploy", port: 22, identity: nil, knownHosts: "/home/op/.ssh/known_hosts",
                                        connectTimeout: .seconds(10), commandTimeout: .seconds(600)))
        #expect(host.repo == RepoSettings(path: "/srv/svc", remote: "origin", branch: "main"))
        #expect(host.compose == ComposeSettings(command: ["docker", "compose"], file: "docker-compose.yml", project: nil,
                                                build: false, upArgs: []))
        #expect(host.health == HealthSettings(url: HealthURL(host: "127.0.0.1", port: 80, path: "/"),
                                              timeout: .seconds(60), interval: .seconds(2), healthyAfter: 2))
        #expect(host.stateDir == "~/.openclaw-deploy/svc")
        #expect(inventory.gateway == nil)
        #expect(inventory.sourcePath == "/etc/openclaw/inv.yaml")
        #expect(inventory.version == 1)
    }

    @Test func gatewayInheritsDefaultSSHAndResolvesTheTemplate() throws {
        let (inventory, directory) = try loadFixture("gateway.yaml")
        let gateway = try #require(inventory.gateway)
        #expect(gateway.host.name == "gateway")
        #expect(gateway.host.address == "192.0.2.5")
        #expect(gateway.host.ssh.user == "deploy")
        #expect(gateway.host.ssh.port == 22)
        #expect(gateway.configPath == "/etc/nginx/conf.d/openclaw.conf")
        #expect(gateway.templatePath == directory + "/gateway-template.mustache")
        #expect(inventory.services.first?.hosts.first?.ssh.port == 2222)
    }

    @Test func gatewayMaintenancePageIsResolvedAndAMissingOneIsNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inv-page-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "{{upstreams}}".write(toFile: directory + "/gw.mustache", atomically: true, encoding: .utf8)
        try "<p>{{message}}</p>".write(toFile: directory + "/page.mustache", atomically: true, encoding: .utf8)
        func yaml(_ page: String) -> String {
            """
            version: 1
            services:
              svc:
                tier: "95"
                repo: { path: /srv/svc }
                health: { url: "http://127.0.0.1:8080/health" }
                hosts: [{ name: h, address: 192.0.2.7 }]
            gateway:
              host: { name: gw, address: 192.0.2.5 }
              config_path: /etc/nginx/conf.d/openclaw.conf
              template: gw.mustache
              maintenance_page: \(page)

            """
        }
        let inventory = try InventoryLoader.parse(yaml: yaml("page.mustache"), path: directory + "/inv.yaml")
        #expect(inventory.gateway?.maintenancePagePath == directory + "/page.mustache")
        #expect(inventory.gateway?.accessLogPath == "/var/log/nginx/openclaw-access.log", "the default access log")
        let logged = try InventoryLoader.parse(yaml: yaml("page.mustache") + "  access_log: /srv/log/gw.json\n", path: directory + "/inv.yaml")
        #expect(logged.gateway?.accessLogPath == "/srv/log/gw.json")
        #expect {
            _ = try InventoryLoader.parse(yaml: yaml("page.mustache") + "  access_log: \"/var/log/a b;\"\n", path: directory + "/inv.yaml")
        } throws: { error in "\(error)".contains("`gateway.access_log`") && "\(error)".contains("may not contain blanks") }
        #expect {
            _ = try InventoryLoader.parse(yaml: yaml("nope.mustache"), path: directory + "/inv.yaml")
        } throws: { error in
            "\(error)".contains("inv.yaml:12:3: `gateway.maintenance_page`: template file `\(directory)/nope.mustache` does not exist")
        }
    }

    /// An inventory of one-host services (`extra`: each service's own lines, as YAML under it), with `defaults` and
    /// `tiers` sections as given.
    static func layered(_ tiers: String, defaults: String, services: [String: String]) throws -> Inventory {
        var yaml = "version: 1\n" + defaults + tiers + "services:\n"
        for (name, extra) in services.sorted(by: { $0.key < $1.key }) {
            yaml += """
              \(name):
                \(extra)
                repo: { path: /srv/\(name) }
                health: { url: "http://127.0.0.1:8080/health" }
                hosts: [{ name: \(name)-1, address: 192.0.2.7 }]

            """
        }
        return try InventoryLoader.parse(yaml: yaml, path: "/tmp/inv.yaml")
    }

    @Test func minHealthyAndWatchComeFromTheServiceThenItsTierEntryThenDefaultsThenTheBuiltInTier() throws {
        func floors(_ tiers: String, defaults: String, services: [String: String]) throws -> [String: MinHealthy] {
            let inventory = try Self.layered(tiers, defaults: defaults, services: services)
            watches = Dictionary(uniqueKeysWithValues: inventory.services.map { ($0.name, $0.policy.watch) })
            return Dictionary(uniqueKeysWithValues: inventory.services.map { ($0.name, $0.policy.minHealthy) })
        }
        var watches: [String: Duration] = [:]
        let plain = try floors("", defaults: "", services: ["a": "tier: \"99.9\"", "b": "tier: \"99\"", "c": "tier: \"95\""])
        #expect(plain["a"] == .allBut(1) && plain["b"] == .percent(50) && plain["c"] == .count(0))
        #expect(watches == ["a": .seconds(120), "b": .seconds(30), "c": .zero], "the tiers' own watch")
        let layered = try floors("tiers:\n  \"99\": { rollout: { min_healthy: 3, watch: 0 } }\n",
                                 defaults: "defaults:\n  rollout: { min_healthy: all but 2, watch: 10s }\n",
                                 services: ["a": "tier: \"99.9\"", "b": "tier: \"99\"",
                                            "c": "tier: \"99\"\n    rollout: { min_healthy: \"80%\", watch: 1m }"])
        #expect(watches == ["a": .seconds(10), "b": .zero, "c": .seconds(60)], "service, then tier entry, then defaults")
        #expect(layered["a"] == .allBut(2), "defaults beat the built-in tier")
        #expect(layered["b"] == .count(3), "the tier's own entry beats defaults")
        #expect(layered["c"] == .percent(80), "the service beats both")
        #expect {
            _ = try floors("", defaults: "", services: ["a": "tier: \"99\"\n    rollout: { min_healthy: most }"])
        } throws: { error in
            "\(error)".contains("`services.a.rollout.min_healthy` must be a number of hosts, a percentage such as `\"75%\"`, or `all but N`; found")
        }
    }

    @Test func trafficThresholdsComeKeyByKeyFromTheServiceThenItsTierEntryThenDefaultsThenTheBuiltIn() throws {
        func traffic(_ tiers: String, defaults: String, services: [String: String]) throws -> [String: TrafficThresholds?] {
            let inventory = try Self.layered(tiers, defaults: defaults, services: services)
            return Dictionary(uniqueKeysWithValues: inventory.services.map { ($0.name, $0.policy.traffic) })
        }
        let plain = try traffic("", defaults: "", services: ["a": "tier: \"99.9\"", "b": "tier: \"95\""])
        #expect(plain["a"] == TrafficThresholds() && plain["b"] == TrafficThresholds(), "on by default: +1%, 1.5x, 50 requests")
        let layered = try traffic("tiers:\n  \"99\": { rollout: { traffic: { max_latency_ratio: 2 } } }\n",
                                  defaults: "defaults:\n  rollout: { traffic: { max_error_rate_increase: 0.5%, min_requests: 100 } }\n",
                                  services: ["a": "tier: \"99.9\"", "b": "tier: \"99\"",
                                             "c": "tier: \"99\"\n    rollout: { traffic: { min_requests: 20 } }",
                                             "d": "tier: \"99\"\n    rollout: { traffic: false }"])
        #expect(layered["a"] == TrafficThresholds(maxErrorRateIncrease: 0.5, maxLatencyRatio: 1.5, minRequests: 100), "defaults over the built-in")
        #expect(layered["b"] == TrafficThresholds(maxErrorRateIncrease: 0.5, maxLatencyRatio: 2, minRequests: 100), "the tier entry over defaults")
        #expect(layered["c"] == TrafficThresholds(maxErrorRateIncrease: 0.5, maxLatencyRatio: 2, minRequests: 20), "the service over both")
        #expect(layered["d"] == .some(nil), "turned off")
        let onAgain = try traffic("", defaults: "defaults:\n  rollout: { traffic: false }\n",
                                  services: ["a": "tier: \"99\"", "b": "tier: \"99\"\n    rollout: { traffic: { max_latency_ratio: 3 } }"])
        #expect(onAgain["a"] == .some(nil))
        #expect(onAgain["b"] == TrafficThresholds(maxLatencyRatio: 3), "a threshold turns it on again over the built-in ones")
        for (bad, message) in [("{ max_error_rate_increase: 1 }", "`services.a.rollout.traffic.max_error_rate_increase` must be a percentage"),
                               ("{ max_latency_ratio: 0.5 }", "`services.a.rollout.traffic.max_latency_ratio` must be a number from 1 to 1000"),
                               ("{ min_requests: 0 }", "`services.a.rollout.traffic.min_requests` must be a whole number from 1 to 1000000"),
                               ("{ p99: 2 }", "p99"), ("sometimes", "`services.a.rollout.traffic` must be `true` or `false`")] {
            #expect {
                _ = try traffic("", defaults: "", services: ["a": "tier: \"99\"\n    rollout: { traffic: \(bad) }"])
            } throws: { error in
                "\(error)".contains(message)
            }
        }
    }

    @Test func mergeKeysAndAnchorsAreHonoured() throws {
        let yaml = """
        version: 1
        services:
          one: &base
            tier: "95"
            repo: { path: /srv/app }
            health: { url: "http://127.0.0.1:8080/health" }
            hosts: [{ name: h1, address: 192.0.2.1 }]
          two:
            <<: *base
            repo: { path: /srv/two }
        """
        let inventory = try InventoryLoader.parse(yaml: yaml, path: "inv.yaml", environment: environment)
        #expect(inventory.services.map(\.name) == ["one", "two"])
        #expect(inventory.service(named: "two")?.hosts.first?.repo.path == "/srv/two")
        #expect(inventory.service(named: "two")?.tier == "95")
    }

    @Test func windowsLineEndingsAndByteOrderMarkAreAccepted() throws {
        let yaml = "\u{FEFF}version: 1\r\nservices:\r\n  web:\r\n    tier: \"95\"\r\n    repo: { path: /srv/web }\r\n"
            + "    health: { url: \"http://127.0.0.1:8080/health\" }\r\n    hosts: [{ name: web-1, address: 192.0.2.1 }]\r\n"
        let inventory = try InventoryLoader.parse(yaml: yaml, path: "inv.yaml", environment: environment)
        #expect(inventory.services.first?.hosts.first?.repo.path == "/srv/web")
    }
}
