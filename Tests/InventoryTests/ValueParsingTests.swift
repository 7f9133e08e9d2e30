import Commands
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
        #expect(parseDuration("1h2m3s4ms") == .milliseconds(3_723_004))
        // Units from the largest down, each once: `30s1m` and `1h1h` are typos, not durations.
        for bad in ["", "10", "s", "10 s", "1.5s", "-1s", "10S", "1d", "10sec", "99999999999999h", "1h1", "1h1h", "30s1m", "1ms1s", "1s1s"] {
            #expect(parseDuration(bad) == nil, "\(bad) should not parse")
        }
    }

    @Test("addresses are parsed: IPv4 dotted quads, IPv6, DNS names", arguments: [
        "203.0.113.10", "0.0.0.0", "255.255.255.255", "::1", "2001:db8::1", "::ffff:192.0.2.1", "lighthouse-a", "gw.example.com",
        "a", "xn--bcher-kva.example", "host-1.internal",
    ])
    func goodAddress(_ text: String) {
        #expect(isValidAddress(text))
    }

    @Test("what nginx and ssh would reject is refused", arguments: [
        "a:b", "256.1.1.1", "1.2.3.4:22", "1.2.3", "01.2.3.4", "1.2.3.4.5", "-host", "host-", "a..b", ".a", "a.", "a_b",
        "2001:db8::1::2", ":::", "[::1]", "fe80::1%eth0", String(repeating: "a", count: 64), "ünï.example", "",
    ])
    func badAddress(_ text: String) {
        #expect(!isValidAddress(text))
    }

    @Test func valuesForRemoteCommandsHaveLengthLimits() {
        #expect(RemoteValueRules.remotePath("/srv/" + String(repeating: "a", count: 1019)) == nil)
        #expect(RemoteValueRules.remotePath("/srv/" + String(repeating: "a", count: 1020)) == "it is 1025 bytes long; at most 1024 are allowed")
        #expect(RemoteValueRules.noControlCharacters(String(repeating: "x", count: 200_000)) != nil)
        #expect(RemoteValueRules.routePrefix("/" + String(repeating: "a", count: 5000) + "/") == "it is 5002 characters long; at most 256 are allowed")
        #expect(RemoteValueRules.routePrefix("/api/customer/") == nil)
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
