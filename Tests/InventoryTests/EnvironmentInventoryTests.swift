import Foundation
import Testing
@testable import Inventory

/// SPEC "Environment and secrets" and "Hooks", as the inventory reads them.
@Suite("env and hooks in the inventory")
struct EnvironmentInventoryTests {
    static let yaml = """
        version: 1
        defaults:
          env: { LOG_LEVEL: info, REGION: eu }
          hooks: { before: [./scripts/notify, starting] }
        services:
          web:
            tier: "95"
            repo: { path: /srv/web }
            health: { url: "http://127.0.0.1:8080/health" }
            env:
              LOG_LEVEL: debug
              TOKEN: { from_env: WEB_TOKEN }
              KEY: { from_file: secrets/key.txt }
              BROKER: { from_command: [pass, show, broker] }
            hooks: { before_up: "docker compose run --rm app migrate" }
            hosts:
              - { name: a, address: 10.0.0.1 }
              - { name: b, address: 10.0.0.2, env: { REGION: us, RETRIES: 3 } }
        """

    @Test("env merges key by key: defaults, then service, then host; secrets keep their source and place")
    func merged() throws {
        let inventory = try InventoryLoader.parse(yaml: Self.yaml, path: "/etc/inv/openclaw.yaml")
        let web = try #require(inventory.service(named: "web"))
        let a = web.hosts[0], b = web.hosts[1]
        #expect(a.env.map(\.name) == ["BROKER", "KEY", "LOG_LEVEL", "REGION", "TOKEN"])
        #expect(a.env.first { $0.name == "LOG_LEVEL" }?.value == .plain("debug"))
        #expect(a.env.first { $0.name == "REGION" }?.value == .plain("eu"))
        #expect(b.env.first { $0.name == "REGION" }?.value == .plain("us"))
        #expect(b.env.first { $0.name == "RETRIES" }?.value == .plain("3"))
        guard case .secret(let token)? = a.env.first(where: { $0.name == "TOKEN" })?.value,
              case .secret(let key)? = a.env.first(where: { $0.name == "KEY" })?.value,
              case .secret(let broker)? = a.env.first(where: { $0.name == "BROKER" })?.value else {
            Issue.record("the secrets were not read as secrets")
            return
        }
        #expect(token.kind == .environment("WEB_TOKEN"))
        #expect(token.keyPath == "services.web.env.TOKEN")
        #expect(token.position == "/etc/inv/openclaw.yaml:12:7")
        #expect(key.kind == .file("/etc/inv/secrets/key.txt"))
        #expect(broker.kind == .command(["pass", "show", "broker"]))
        #expect(web.hooks == Hooks(before: ["./scripts/notify", "starting"], after: nil, beforeUp: "docker compose run --rm app migrate"))
        #expect(inventory.directory == "/etc/inv")
    }

    @Test("bad names, reserved names, multi-line values, two sources and empty hooks are refused with their place")
    func refused() {
        let errors = Support.errors(Support.inventory(service: """
            web:
              tier: "95"
              repo: { path: /srv/web }
              health: { url: "http://127.0.0.1:8080/health" }
              env:
                lower: x
                OPENCLAW_HOST: x
                MULTI: "a\\nb"
                BOTH: { from_env: A, from_file: b }
                NOTHING: { }
              hooks: { before: [], after: [x], before_up: "" }
              hosts: [{ name: a, address: 10.0.0.1 }]
            """))
        #expect(errors == [
            "inv.yaml:8:7: `services.web.env`: invalid variable name `lower`; a variable name is upper-case letters, digits and `_`, not starting with a digit (`[A-Z_][A-Z0-9_]*`)",
            "inv.yaml:9:7: `services.web.env`: invalid variable name `OPENCLAW_HOST`; names starting with `OPENCLAW_` are set by openclaw-deploy itself",
            "inv.yaml:10:14: `services.web.env.MULTI`: a value is one line: no NUL, newline or carriage return",
            "inv.yaml:11:13: `services.web.env.BOTH` must name exactly one source: `{ from_env: NAME }`, `{ from_file: PATH }` or `{ from_command: [ARGV...] }`",
            "inv.yaml:12:16: `services.web.env.NOTHING` must name exactly one source: `{ from_env: NAME }`, `{ from_file: PATH }` or `{ from_command: [ARGV...] }`",
            "inv.yaml:13:22: `services.web.hooks.before` is empty; write the command as a list, e.g. `[./scripts/notify, starting]`",
            "inv.yaml:13:49: `services.web.hooks.before_up` is empty; write a value or remove the key",
        ])
    }

    @Test("hooks are not a host setting")
    func hooksNotOnHosts() {
        let errors = Support.errors(Support.inventory(service: """
            web:
              tier: "95"
              repo: { path: /srv/web }
              health: { url: "http://127.0.0.1:8080/health" }
              hosts: [{ name: a, address: 10.0.0.1, hooks: { before_up: x } }]
            """))
        #expect(errors.count == 1)
        #expect(errors.first?.contains("unknown key `hooks` in `services.web.hosts[0]`") == true)
    }

    @Test("names a host's shell or compose reads for itself are refused, each with its place")
    func namesThatBreakTheToolsOwnCommands() {
        let refused = ["PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "UID", "EUID", "PPID", "GROUPS", "HOME",
                       "SHELL", "LD_PRELOAD", "LD_LIBRARY_PATH", "BASH_FUNC_X", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE"]
        let env = refused.map { "    \($0): x" }.joined(separator: "\n")
        let errors = Support.errors(Support.inventory(service: """
            web:
              tier: "95"
              repo: { path: /srv/web }
              health: { url: "http://127.0.0.1:8080/health" }
              env:
                PATHS: allowed
                LOADER: allowed
            \(env)
              hosts: [{ name: a, address: 10.0.0.1 }]
            """))
        #expect(errors.count == refused.count, "\(errors)")
        for (index, name) in refused.enumerated() {
            // Each error points at its own key: line 10 onwards, column 7.
            #expect(errors.contains { $0.hasPrefix("inv.yaml:\(10 + index):7: `services.web.env`: invalid variable name `\(name)`;")
                && $0.contains("would change how the shell or compose runs openclaw-deploy's own commands") }, "\(name): \(errors)")
        }
    }

    @Test("a skill or channel with a comma is refused: OPENCLAW_SKILLS and OPENCLAW_CHANNELS are comma-separated")
    func skillsAndChannelsWithoutCommas() {
        let errors = Support.errors(Support.inventory(service: """
            web:
              tier: "95"
              skills: [faq, "order,lookup"]
              channels: ["web,chat"]
              repo: { path: /srv/web }
              health: { url: "http://127.0.0.1:8080/health" }
              hosts: [{ name: a, address: 10.0.0.1 }]
            """))
        #expect(errors == [
            "inv.yaml:5:19: `services.web.skills[1]`: `order,lookup` is not allowed: it may not contain a comma (the list reaches hosts comma-separated)",
            "inv.yaml:6:16: `services.web.channels[0]`: `web,chat` is not allowed: it may not contain a comma (the list reaches hosts comma-separated)",
        ])
    }

    @Test("C1 controls, bidirectional overrides and line separators are refused in values and escaped in output")
    func c1BidiAndSeparators() {
        // Written as YAML escapes (`"\u009B"`): raw C1 characters are refused by the YAML reader itself.
        for hidden in ["009B", "0085", "202E", "2066", "2028", "2029"] {
            let errors = Support.errors(Support.inventory(service: """
                web:
                  tier: "95"
                  skills: ["faq\\u\(hidden)x"]
                  repo: { path: /srv/web }
                  health: { url: "http://127.0.0.1:8080/health" }
                  hosts: [{ name: a, address: 10.0.0.1 }]
                """))
            #expect(errors.count == 1 && errors[0].contains("may not contain NUL, newlines or other control characters"),
                    "U+\(hidden): \(errors)")
        }
        #expect(VisibleText.escaped("a\u{9B}31mb") == "a\\x9b31mb")
        #expect(VisibleText.escaped("x\u{202E}gnp.exe") == "x\\u202egnp.exe")
        #expect(VisibleText.escaped("one\u{2028}two\u{2029}three\u{2067}") == "one\\u2028two\\u2029three\\u2067")
        #expect(VisibleText.escaped("plain ünïcode ✓") == "plain ünïcode ✓")
    }
}
