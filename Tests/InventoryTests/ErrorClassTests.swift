import Foundation
import Testing
@testable import Inventory

/// One kind of mistake, the inventory that makes it, and exactly what the user reads.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let expected: [String]
    var testDescription: String { name }
}

/// A valid one-service inventory; cases append lines to the service (line 8 on) or replace parts.
private let base = """
version: 1
services:
  web:
    tier: "95"
    repo: { path: /srv/web }
    health: { url: "http://127.0.0.1:8080/health" }
    hosts: [{ name: web-1, address: 192.0.2.1 }]

"""

private func baseReplacing(_ old: String, _ new: String) -> String {
    precondition(base.contains(old), "the base inventory has no \(old)")
    return base.replacingOccurrences(of: old, with: new)
}

private let allowedServiceKeys = "`channels`, `compose`, `description`, `env`, `health`, `hooks`, `hosts`, `repo`, `rollout`, `route`, `size`, `skills`, `ssh`, `state_dir`, `tier`"
private let urlAdvice = "write `http://HOST:PORT/PATH`, e.g. `http://127.0.0.1:8080/health`"

private let cases: [ErrorCase] = [
    ErrorCase(name: "unknown key, near miss", yaml: baseReplacing("    tier:", "    tire: x\n    tier:"), expected: [
        "inv.yaml:4:5: unknown key `tire` in `services.web` (did you mean `tier`?); allowed keys: \(allowedServiceKeys)",
    ]),
    ErrorCase(name: "unknown key, no near miss", yaml: base + "    replicas: 3\n", expected: [
        "inv.yaml:8:5: unknown key `replicas` in `services.web`; allowed keys: \(allowedServiceKeys)",
    ]),
    ErrorCase(name: "unknown top-level key", yaml: base + "sevices: {}\n", expected: [
        "inv.yaml:8:1: unknown key `sevices` at the top level (did you mean `services`?); allowed keys: `defaults`, `gateway`, `services`, `tiers`, `version`",
    ]),
    ErrorCase(name: "unknown tier", yaml: baseReplacing("\"95\"", "\"99.5\""), expected: [
        "inv.yaml:4:11: `services.web.tier`: unknown tier `99.5`; allowed tiers: `95`, `99`, `99.9`, `99.99` (or define it under `tiers:`)",
    ]),
    ErrorCase(name: "missing tier", yaml: baseReplacing("    tier: \"95\"\n", ""), expected: [
        "inv.yaml:4:5: `services.web` is missing `tier` (one of `95`, `99`, `99.9`, `99.99`; it sets how many hosts change at once)",
    ]),
    ErrorCase(name: "bad tier definition", yaml: "tiers:\n  fast: { batch: \"150%\", bake: soon }\n" + base, expected: [
        "inv.yaml:2:9: `tiers.fast` is missing `healthy_after` (a new tier needs it: consecutive healthy answers before a host passes)",
        "inv.yaml:2:18: `tiers.fast.batch` must be a number of hosts (at least 1), a percentage from `\"1%\"` to `\"100%\"`, or `all`; found `150%`",
        "inv.yaml:2:32: `tiers.fast.bake`: `soon` is not a duration; write a whole number and a unit: `500ms`, `10s`, `2m`, `1h` (or combined from the largest unit down, `1m30s`)",
    ]),
    ErrorCase(name: "bad compose command", yaml: base + "    compose: { command: docker-compose-v2 }\n", expected: [
        "inv.yaml:8:25: `services.web.compose.command`: unsupported compose command `docker-compose-v2`; allowed: `docker compose`, `docker-compose`, `podman-compose`, `podman compose`",
    ]),
    ErrorCase(name: "bad duration", yaml: base + "    ssh: { command_timeout: 10min }\n", expected: [
        "inv.yaml:8:29: `services.web.ssh.command_timeout`: `10min` is not a duration; write a whole number and a unit: `500ms`, `10s`, `2m`, `1h` (or combined from the largest unit down, `1m30s`)",
    ]),
    ErrorCase(name: "zero timeout", yaml: base + "    ssh: { connect_timeout: 0s }\n", expected: [
        "inv.yaml:8:29: `services.web.ssh.connect_timeout` must be longer than zero, e.g. `10s`",
    ]),
    ErrorCase(name: "key written twice", yaml: base + "    health: { timeout: 5s }\n", expected: [
        "inv.yaml:8:5: key `health` appears twice in `services.web` (first at 6:5); keep one",
    ]),
    ErrorCase(name: "bad size", yaml: base + "    size: { vcpu: 4, memory: 8 gigabytes }\n", expected: [
        "inv.yaml:8:30: `services.web.size.memory`: `8 gigabytes` is not a size; write a whole number and a binary unit: `512MiB`, `8GiB` (units: KiB, MiB, GiB, TiB)",
    ]),
    ErrorCase(name: "size with a decimal unit", yaml: base + "    size: { memory: 512M }\n", expected: [
        "inv.yaml:8:21: `services.web.size.memory`: `512M` is not a size (did you mean `512MiB`?); write a whole number and a binary unit: `512MiB`, `8GiB` (units: KiB, MiB, GiB, TiB)",
    ]),
    ErrorCase(name: "duplicate host", yaml: baseReplacing("192.0.2.1 }]", "192.0.2.1 }, { name: web-1, address: 192.0.2.2 }]"), expected: [
        "inv.yaml:7:58: `services.web.hosts[1].name`: duplicate host name `web-1` in service `web` (first at 7:21); host names must be unique within a service",
    ]),
    ErrorCase(name: "duplicate service", yaml: base + "  web:\n    tier: \"99\"\n", expected: [
        "inv.yaml:8:3: service `web` is defined twice (first at 3:3); service names must be unique",
    ]),
    ErrorCase(name: "service name", yaml: baseReplacing("  web:", "  Web_App:"), expected: [
        "inv.yaml:3:3: invalid service name `Web_App`; names use lowercase letters, digits and `-`, start with a letter or digit, and have at most 63 characters",
    ]),
    ErrorCase(name: "service name too long", yaml: baseReplacing("  web:", "  " + String(repeating: "a", count: 64) + ":"), expected: [
        "inv.yaml:3:3: invalid service name `\(String(repeating: "a", count: 60))…`; names use lowercase letters, digits and `-`, start with a letter or digit, and have at most 63 characters",
    ]),
    ErrorCase(name: "host name", yaml: baseReplacing("name: web-1", "name: -web"), expected: [
        "inv.yaml:7:21: `services.web.hosts[0].name`: `-web` is not allowed: names use lowercase letters, digits and `-`, start with a letter or digit, and have at most 63 characters",
    ]),
    ErrorCase(name: "health URL without port", yaml: baseReplacing("127.0.0.1:8080", "127.0.0.1"), expected: [
        "inv.yaml:6:20: `services.web.health.url`: `http://127.0.0.1/health` is not a valid health URL: the port is missing; \(urlAdvice)",
    ]),
    ErrorCase(name: "health URL with bare IPv6", yaml: baseReplacing("127.0.0.1:8080", "::1:8080"), expected: [
        "inv.yaml:6:20: `services.web.health.url`: `http://::1:8080/health` is not a valid health URL: an IPv6 address must be written in brackets, e.g. `http://[::1]:8080/health`; \(urlAdvice)",
    ]),
    ErrorCase(name: "health URL over https", yaml: baseReplacing("http://", "https://"), expected: [
        "inv.yaml:6:20: `services.web.health.url`: `https://127.0.0.1:8080/health` is not a valid health URL: https is not supported (the probe is plain HTTP through the SSH connection); \(urlAdvice)",
    ]),
    ErrorCase(name: "missing version", yaml: baseReplacing("version: 1\n", ""), expected: [
        "inv.yaml:1:1: the inventory is missing `version` (add `version: 1` as the first line)",
    ]),
    ErrorCase(name: "version 2", yaml: baseReplacing("version: 1", "version: 2"), expected: [
        "inv.yaml:1:10: `version` must be `1`, the only inventory format this tool reads; found `2`",
    ]),
    ErrorCase(name: "YAML syntax", yaml: baseReplacing("{ path: /srv/web }", "{ path: /srv/web"), expected: [
        "inv.yaml:6:11: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping at 5:11)",
    ]),
    ErrorCase(name: "empty", yaml: "  \n", expected: [
        "inv.yaml: the inventory is empty; start it with `version: 1` and a `services:` mapping",
    ]),
    ErrorCase(name: "wrong type: mapping", yaml: baseReplacing("{ path: /srv/web }", "/srv/web"), expected: [
        "inv.yaml:5:11: `services.web.repo` must be a mapping (`key: value` lines), found `/srv/web`",
    ]),
    ErrorCase(name: "wrong type: list", yaml: baseReplacing("[{ name: web-1, address: 192.0.2.1 }]", "web-1"), expected: [
        "inv.yaml:7:12: `services.web.hosts` must be a list, found `web-1`",
    ]),
    ErrorCase(name: "wrong type: string", yaml: base + "    description: [a, b]\n", expected: [
        "inv.yaml:8:18: `services.web.description` must be a string, found a list",
    ]),
    ErrorCase(name: "wrong type: number", yaml: base + "    route: { prefix: /api/, port: eighty }\n", expected: [
        "inv.yaml:8:35: `services.web.route.port` must be a whole number from 1 to 65535, found `eighty`",
    ]),
    ErrorCase(name: "wrong type: boolean", yaml: base + "    compose: { build: yes }\n", expected: [
        "inv.yaml:8:23: `services.web.compose.build` must be `true` or `false`, found `yes`",
    ]),
    ErrorCase(name: "no value", yaml: base + "    description:\n", expected: [
        "inv.yaml:8:17: `services.web.description` must be a string, found nothing",
    ]),
    ErrorCase(name: "service without hosts", yaml: baseReplacing("[{ name: web-1, address: 192.0.2.1 }]", "[]"), expected: [
        "inv.yaml:7:12: `services.web.hosts` is empty; add at least one host with `name` and `address`",
    ]),
    ErrorCase(name: "service without hosts key", yaml: baseReplacing("    hosts: [{ name: web-1, address: 192.0.2.1 }]\n", ""), expected: [
        "inv.yaml:4:5: `services.web` is missing `hosts` (a list of hosts, each with `name` and `address`)",
    ]),
    ErrorCase(name: "missing repo.path", yaml: baseReplacing("    repo: { path: /srv/web }\n", ""), expected: [
        "inv.yaml:4:5: `services.web` has no `repo.path`; set it on the service (or under `defaults`), e.g. `repo: { path: /opt/openclaw/app }`",
    ]),
    ErrorCase(name: "missing health.url on one host", yaml: baseReplacing("    health: { url: \"http://127.0.0.1:8080/health\" }\n", "")
        .replacingOccurrences(of: "192.0.2.1 }]", with: "192.0.2.1, health: { url: \"http://127.0.0.1:1/\" } }, { name: web-2, address: 192.0.2.2 }]"), expected: [
        "inv.yaml:6:90: `services.web.hosts[1]` has no `health.url`, and its service does not set one; set it on the host or the service, e.g. `health: { url: \"http://127.0.0.1:8080/health\" }`",
    ]),
    ErrorCase(name: "missing host address", yaml: baseReplacing(", address: 192.0.2.1", ""), expected: [
        "inv.yaml:7:13: `services.web.hosts[0]` is missing `address` (the IP address or DNS name to connect to)",
    ]),
    ErrorCase(name: "missing route port", yaml: base + "    route: { prefix: /api/ }\n", expected: [
        "inv.yaml:8:12: `services.web.route` is missing `port` (the port the service listens on, on each host)",
    ]),
    ErrorCase(name: "branch starting with a dash", yaml: baseReplacing("path: /srv/web", "path: /srv/web, branch: --upload-pack=x"), expected: [
        "inv.yaml:5:37: `services.web.repo.branch`: `--upload-pack=x` is not allowed: it starts with \"-\" and would be read as an option",
    ]),
    ErrorCase(name: "branch with a git-forbidden character", yaml: baseReplacing("path: /srv/web", "path: /srv/web, branch: \"main^2\""), expected: [
        "inv.yaml:5:37: `services.web.repo.branch`: `main^2` is not allowed: it contains \"^\"; allowed are letters, digits and . _ / - @ % + = ,",
    ]),
    // The same rule as `--ref`: a branch `plan` or `deploy` would refuse is refused by `inventory check`.
    ErrorCase(name: "branch with shell syntax", yaml: baseReplacing("path: /srv/web", "path: /srv/web, branch: \"a;b\""), expected: [
        "inv.yaml:5:37: `services.web.repo.branch`: `a;b` is not allowed: it contains \";\"; allowed are letters, digits and . _ / - @ % + = ,",
    ]),
    ErrorCase(name: "remote with NUL", yaml: baseReplacing("path: /srv/web", "path: /srv/web, remote: \"ori\\0gin\""), expected: [
        "inv.yaml:5:37: `services.web.repo.remote`: `ori\\u{0}gin` is not allowed: it may not contain NUL, newlines or other control characters",
    ]),
    ErrorCase(name: "repo path with newline", yaml: baseReplacing("path: /srv/web", "path: \"/srv/web\\nrm -rf /\""), expected: [
        "inv.yaml:5:19: `services.web.repo.path`: `/srv/web\\u{a}rm -rf /` is not allowed: it may not contain NUL, newlines or other control characters",
    ]),
    ErrorCase(name: "relative repo path", yaml: baseReplacing("path: /srv/web", "path: srv/web"), expected: [
        "inv.yaml:5:19: `services.web.repo.path`: `srv/web` is not allowed: it must be absolute (`/...`) or start with `~/`",
    ]),
    // One rollout sends one commit to every host: hosts of a service may not track different branches.
    ErrorCase(name: "hosts tracking different branches",
              yaml: baseReplacing("    hosts: [{ name: web-1, address: 192.0.2.1 }]",
                                  "    hosts:\n      - { name: web-1, address: 192.0.2.1 }\n      - { name: web-2, address: 192.0.2.2, repo: { path: /srv/web2, branch: hotfix } }\n      - { name: web-3, address: 192.0.2.3, repo: { remote: mirror } }"),
              expected: [
        "inv.yaml:9:50: `services.web.hosts[1].repo`: host `web-2` tracks branch `hotfix` but host `web-1` of `web` tracks `main`; a rollout sends one commit to every host of a service: give them the same `repo.branch` (override `path` or `remote` per host, not the branch)",
    ]),
    ErrorCase(name: "compose project", yaml: base + "    compose: { project: Web.App }\n", expected: [
        "inv.yaml:8:25: `services.web.compose.project`: `Web.App` is not allowed: compose project names use lowercase letters, digits, `-` and `_`, and start with a letter or digit",
    ]),
    ErrorCase(name: "route prefix", yaml: base + "    route: { prefix: /api/x, port: 80 }\n", expected: [
        "inv.yaml:8:22: `services.web.route.prefix`: `/api/x` is not allowed: it must start and end with `/`, e.g. `/api/customer/`",
    ]),
    ErrorCase(name: "route prefix with nginx syntax", yaml: base + "    route: { prefix: \"/api/{x};/\", port: 80 }\n", expected: [
        "inv.yaml:8:22: `services.web.route.prefix`: `/api/{x};/` is not allowed: only letters, digits, `-`, `_`, `.` and single `/` are allowed",
    ]),
    ErrorCase(name: "state_dir", yaml: base + "    state_dir: state\n", expected: [
        "inv.yaml:8:16: `services.web.state_dir`: `state` is not allowed: it must be absolute (`/...`) or start with `~/`",
    ]),
    ErrorCase(name: "bad merge key", yaml: base + "    <<: 5\n", expected: [
        "inv.yaml:8:9: the `<<` merge key in `services.web` needs a mapping (`<<: *name`), found `5`",
    ]),
    ErrorCase(name: "alias as a key", yaml: "x: &a [1, 2]\n" + base + "y: { *a : 1 }\n", expected: [
        "inv.yaml:9:6: a mapping key here is a list, a mapping or an alias; inventory keys are plain words, write the key out",
    ]),
    ErrorCase(name: "empty gateway", yaml: base + "gateway: {}\n", expected: [
        "inv.yaml:8:10: `gateway` is missing `host` (the nginx machine: `host: { name: gateway, address: 203.0.113.5 }`)",
        "inv.yaml:8:10: `gateway` is missing `config_path` (where nginx reads the rendered file, e.g. `/etc/nginx/conf.d/openclaw.conf`)",
        "inv.yaml:8:10: `gateway` is missing `template` (the nginx template file, e.g. `templates/nginx-gateway.conf.mustache`)",
    ]),
    ErrorCase(name: "shared route prefix", yaml: base + "    route: { prefix: /api/, port: 80 }\n  api:\n    tier: \"95\"\n    repo: { path: /srv/api }\n    health: { url: \"http://127.0.0.1:80/\" }\n    route: { prefix: /api/, port: 80 }\n    hosts: [{ name: api-1, address: 192.0.2.9 }]\n", expected: [
        "inv.yaml:13:22: `services.api.route.prefix`: `/api/` is already the prefix of service `web` (at 8:22); each service needs its own prefix",
    ]),
]

@Suite("Every class of mistake, with the exact message and position")
struct ErrorClassTests {
    @Test func theBaseInventoryIsValid() throws {
        let inventory = try InventoryLoader.parse(yaml: base, path: "inv.yaml")
        #expect(inventory.services.map(\.name) == ["web"])
    }

    @Test(arguments: cases) func reportsExactly(_ errorCase: ErrorCase) {
        #expect(Support.errors(errorCase.yaml) == errorCase.expected)
    }
}
