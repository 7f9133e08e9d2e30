import Testing
@testable import Inventory

@Suite("Durations, sizes, health URLs and remote-value rules")
struct ValueParsingTests {
    @Test func durations() {
        #expect(parseDuration("500ms") == .milliseconds(500))
        #expect(parseDuration("10s") == .seconds(10))
        #expect(parseDuration("2m") == .seconds(120))
        #expect(parseDuration("1h") == .seconds(3600))
        #expect(parseDuration("1m30s") == .seconds(90))
        #expect(parseDuration("0") == .zero)
        for bad in ["", "10", "s", "10 s", "1.5s", "-1s", "10S", "1d", "10sec", "99999999999999h", "1h1"] {
            #expect(parseDuration(bad) == nil, "\(bad) should not parse")
        }
    }

    @Test func durationFormatterRoundTrips() {
        #expect(formatDuration(.seconds(90)) == "1m30s")
        #expect(formatDuration(.milliseconds(500)) == "500ms")
        #expect(formatDuration(.zero) == "0s")
        #expect(formatDuration(.seconds(7200)) == "2h")
        for text in ["500ms", "10s", "2m", "1h", "1h2m3s4ms"] {
            #expect(parseDuration(text).map(formatDuration) == text)
        }
    }

    @Test func sizes() {
        #expect(parseSize("512MiB") == 512 << 20)
        #expect(parseSize("8GiB") == 8 << 30)
        #expect(parseSize("4KiB") == 4096)
        #expect(parseSize("2TiB") == 2 << 40)
        for bad in ["", "8", "8GB", "8 GiB", "GiB", "-1GiB", "1.5GiB", "99999999999TiB", "8gib"] {
            #expect(parseSize(bad) == nil, "\(bad) should not parse")
        }
        #expect(formatSize(8 << 30) == "8GiB")
        #expect(formatSize(1536 << 20) == "1536MiB")
        #expect(formatSize(1000) == "1000B")
    }

    @Test func healthURLs() throws {
        #expect(try HealthURL.parse("http://127.0.0.1:8080/health") == HealthURL(host: "127.0.0.1", port: 8080, path: "/health"))
        #expect(try HealthURL.parse("http://[::1]:8080/ready?deep=1") == HealthURL(host: "::1", port: 8080, path: "/ready?deep=1"))
        #expect(try HealthURL.parse("http://app.internal:80") == HealthURL(host: "app.internal", port: 80, path: "/"))
        let problems: [(String, String)] = [
            ("http://127.0.0.1/health", "the port is missing"),
            ("http://127.0.0.1:0/", "the port must be a number from 1 to 65535"),
            ("http://127.0.0.1:+80/", "the port must be a number from 1 to 65535"),
            ("http://:80/", "the host is missing"),
            ("http://", "the host and port are missing"),
            ("http://user@host:80/", "user names and passwords are not allowed"),
            ("http://[::1/", "the IPv6 address has no closing `]`"),
            ("http://[::1]/", "the port is missing"),
            ("http://h:80/a b", "the path may not contain spaces, control characters, non-ASCII characters or `#`"),
            ("http://h:80/#x", "the path may not contain spaces, control characters, non-ASCII characters or `#`"),
            ("127.0.0.1:80/", "it must start with `http://`"),
        ]
        for (text, problem) in problems {
            #expect(throws: HealthURLProblem(problem), "\(text)") { try HealthURL.parse(text) }
        }
    }

    @Test func gitRefsFollowCheckRefFormat() {
        for good in ["main", "release/1.2", "feature-x", "v1.0.0"] {
            #expect(RemoteValueRules.gitRef(good) == nil, "\(good) should be accepted")
        }
        for bad in ["-x", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "/a", "a/", "a//b",
                    "a.", "a.lock", "a/.b", "@", "a@{1}", "a\nb", "a\u{0}b", ""] {
            #expect(RemoteValueRules.gitRef(bad) != nil, "\(bad) should be refused")
        }
    }

    @Test func namesAndProjects() {
        #expect(RemoteValueRules.name("customer-service") == nil)
        #expect(RemoteValueRules.name("0a") == nil)
        #expect(RemoteValueRules.name(String(repeating: "a", count: 63)) == nil)
        for bad in ["", "-a", "A", "a_b", "a.b", String(repeating: "a", count: 64), "é"] {
            #expect(RemoteValueRules.name(bad) != nil, "\(bad) should be refused")
        }
        #expect(RemoteValueRules.composeProject("openclaw_customer-1") == nil)
        #expect(RemoteValueRules.composeProject("_x") != nil)
    }

    @Test func suggestionsCatchTyposButNotUnrelatedWords() {
        #expect(closestMatch(to: "helth", among: ["health", "hosts"]) == "health")
        #expect(closestMatch(to: "tire", among: ["tier", "size"]) == "tier")
        #expect(closestMatch(to: "connect_timout", among: ["connect_timeout", "command_timeout"]) == "connect_timeout")
        #expect(closestMatch(to: "replicas", among: ["repo", "route"]) == nil)
    }

    @Test func localPathsExpandHomeAndResolveAgainstTheInventoryDirectory() {
        let paths = LocalPaths(inventoryPath: "/srv/ops/inventory/openclaw.yaml", environment: ["HOME": "/home/op"])
        #expect(paths.resolve("~/.ssh/id_ed25519") == "/home/op/.ssh/id_ed25519")
        #expect(paths.resolve("~") == "/home/op")
        #expect(paths.resolve("../templates/x.mustache") == "/srv/ops/templates/x.mustache")
        #expect(paths.resolve("./keys//known_hosts") == "/srv/ops/inventory/keys/known_hosts")
        #expect(paths.resolve("/etc/ssh/known_hosts") == "/etc/ssh/known_hosts")
    }

    @Test func inventoryPathPrecedence() {
        #expect(InventoryLoader.path(explicit: "a.yaml", environment: ["OPENCLAW_INVENTORY": "b.yaml"]) == "a.yaml")
        #expect(InventoryLoader.path(explicit: nil, environment: ["OPENCLAW_INVENTORY": "b.yaml"]) == "b.yaml")
        #expect(InventoryLoader.path(explicit: nil, environment: [:]) == "inventory/openclaw.yaml")
    }
}
