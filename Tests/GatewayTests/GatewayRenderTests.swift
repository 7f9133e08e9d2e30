import Commands
import Foundation
import Testing
import Inventory
import Engine
@testable import Gateway
import Plan

/// Golden files are rewritten instead of compared when UPDATE_GOLDEN=1 (then review the diff).
func expectGolden(_ rendered: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let url = SampleInventory.golden(name)
    if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
        try rendered.write(to: url, atomically: true, encoding: .utf8)
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    #expect(rendered == expected, "differs from Tests/GatewayTests/Golden/\(name)", sourceLocation: sourceLocation)
}

@Suite("Gateway config rendering")
struct GatewayRenderTests {
    @Test("the hand-built fleet renders exactly as the golden file, and nginx -t accepts it")
    func fleetGolden() throws {
        let rendered = try GatewayRenderer.render(inventory: SampleInventory.fleet())
        try expectGolden(rendered, "fleet.conf")
        let check = try NginxConfigCheck.test(renderedConfig: rendered)
        #expect(check.passed, "nginx -t: \(check.output)")
    }

    @Test("rendering twice gives the same bytes, whatever order services and hosts were given in")
    func deterministic() throws {
        var shuffled = SampleInventory.fleet()
        shuffled.services.reverse()
        for index in shuffled.services.indices { shuffled.services[index].hosts.reverse() }
        let first = try GatewayRenderer.render(inventory: SampleInventory.fleet())
        #expect(try GatewayRenderer.render(inventory: shuffled) == first)
        #expect(try GatewayRenderer.render(inventory: SampleInventory.fleet()) == first)
    }

    @Test("one upstream per routed service, with every host's address and route port")
    func upstreams() throws {
        let rendered = try GatewayRenderer.render(inventory: SampleInventory.fleet())
        #expect(rendered.contains("upstream openclaw_customer_service {"))
        #expect(rendered.contains("server 203.0.113.10:8080 max_fails=3 fail_timeout=10s;  # lighthouse-a"))
        #expect(rendered.contains("server 203.0.113.11:8080 max_fails=3 fail_timeout=10s;  # lighthouse-a2"))
        #expect(rendered.contains("upstream openclaw_trading {"))
        #expect(rendered.contains("server [2001:db8::21]:9090 max_fails=3 fail_timeout=10s;  # trade-b"))
        #expect(rendered.contains("location /api/customer/ {"))
        #expect(rendered.contains("proxy_pass http://openclaw_customer_service/;"))
        #expect(rendered.contains("location = /health {"))
        for header in ["Host $host", "X-Forwarded-For $proxy_add_x_forwarded_for", "X-Forwarded-Proto $scheme",
                       "X-Request-Id $openclaw_request_id", "Connection \"\""] {
            #expect(rendered.contains("proxy_set_header \(header);"), "missing header \(header)")
        }
    }

    @Test("a service without a route is left out, with a note saying so")
    func unrouted() throws {
        let rendered = try GatewayRenderer.render(inventory: SampleInventory.fleet())
        #expect(rendered.contains("# not routed: internal-tools: no `route:` in the inventory, not routed by the gateway"))
        #expect(!rendered.contains("upstream openclaw_internal_tools"))
        #expect(!rendered.contains("192.0.2.7"))
    }

    @Test("a drained host is marked down, and nginx -t still accepts the config")
    func drained() throws {
        let rendered = try GatewayRenderer.render(inventory: SampleInventory.fleet(),
                                                  state: GatewayState(drained: ["customer-service": ["lighthouse-a2"]]))
        #expect(rendered.contains("server 203.0.113.11:8080 max_fails=3 fail_timeout=10s down;  # lighthouse-a2"))
        #expect(rendered.contains("server 203.0.113.10:8080 max_fails=3 fail_timeout=10s;  # lighthouse-a"))
        let check = try NginxConfigCheck.test(renderedConfig: rendered)
        #expect(check.passed, "nginx -t: \(check.output)")
    }

    @Test("a service in maintenance answers 503 with its page in its own location only, and nginx -t accepts it")
    func maintenance() throws {
        let entry = GatewayState.Maintenance(retryAfterSeconds: 90, since: "2026-12-07T03:00:00Z", setBy: "ops",
                                             message: "50% off \"soon\"; {braces} $request_uri \\n")
        let rendered = try GatewayRenderer.render(inventory: SampleInventory.fleet(),
                                                  state: GatewayState(maintenance: ["customer-service": entry]))
        let customer = try #require(rendered.range(of: "location /api/customer/ {")).upperBound
        let location = String(rendered[customer...].components(separatedBy: "\n    }\n")[0])
        #expect(location.contains("add_header Retry-After 90 always;"))
        #expect(location.contains("return 503 \"<!doctype html>\\n"), "\(location)")
        #expect(location.contains("50% off &quot;soon&quot;; {braces} &#36;request_uri \\\\n"), "\(location)")
        #expect(!location.contains("proxy_pass"))
        #expect(rendered.contains("proxy_pass http://openclaw_trading/;"), "the other route is untouched")
        #expect(rendered.components(separatedBy: "return 503").count == 2)
        let check = try NginxConfigCheck.test(renderedConfig: rendered)
        #expect(check.passed, "nginx -t: \(check.output)")
    }

    @Test("a maintenance page template: its names are the page's, a misspelt one is an error with its line")
    func maintenancePageTemplate() throws {
        let entry = GatewayState.Maintenance(retryAfterSeconds: 60, since: "2026-12-07T03:00:00Z", setBy: "ops", message: "<later>")
        let page = try MaintenancePage.render(templateText: "<p>{{service}}: {{message}} ({{retry_after}} s, {{set_by}}, {{since}})</p>",
                                              path: "page.mustache", service: "trading", maintenance: entry)
        #expect(page == "<p>trading: &lt;later&gt; (60 s, ops, 2026-12-07T03:00:00Z)</p>")
        #expect(throws: GatewayError.templateUnknownName(path: "page.mustache", line: 2, name: "mesage",
                                                         known: ["message", "retry_after", "service", "set_by", "since"])) {
            _ = try MaintenancePage.render(templateText: "<p>\n{{mesage}}</p>", path: "page.mustache", service: "trading", maintenance: entry)
        }
    }

    @Test("the shared state reads back as written; hand-edited lines that do not parse are skipped")
    func sharedStateText() {
        let state = GatewayState(drained: ["trading": ["trade-a", "trade-b"]],
                                 maintenance: ["customer-service": .init(retryAfterSeconds: 30, since: "2026-12-07T03:00:00Z",
                                                                         setBy: "ops", message: "a\tb? no: one line, tabs refused")])
        #expect(MaintenanceMessage.problem(state.maintenance["customer-service"]!.message) != nil)
        var good = state
        good.maintenance["customer-service"]!.message = "back soon"
        let text = GatewayState.drainedText(good.drained) + "\n" + GatewayState.maintenanceMarker + "\n"
            + GatewayState.maintenanceText(good.maintenance) + "garbage line\nx\tnot-a-number\t-\t-\tmsg\n"
        #expect(GatewayState.parse(text) == good)
        #expect(GatewayState.parse("") == GatewayState())
        #expect(MaintenanceMessage.problem(String(repeating: "x", count: 301)) != nil)
        #expect(MaintenanceMessage.problem("Back at 3 UTC \u{202E}") != nil)
    }

    @Test("upstream names are nginx identifiers derived from service names")
    func upstreamNames() {
        #expect(GatewayLayout.upstreamName("customer-service") == "openclaw_customer_service")
        #expect(GatewayLayout.upstreamName("content-pipeline2") == "openclaw_content_pipeline2")
    }

    @Test("addresses: IPv6 in brackets, already bracketed kept, anything that could break the directive refused")
    func addresses() throws {
        #expect(try GatewayLayout.nginxAddress("2001:db8::1", service: "s") == "[2001:db8::1]")
        #expect(try GatewayLayout.nginxAddress("[::1]", service: "s") == "[::1]")
        #expect(try GatewayLayout.nginxAddress("app-1.internal", service: "s") == "app-1.internal")
        #expect(throws: GatewayError.unsafeValue(service: "s", field: "host address", value: "1.2.3.4; evil")) {
            try GatewayLayout.nginxAddress("1.2.3.4; evil", service: "s")
        }
    }

    @Test("two services on one prefix are refused before nginx sees them")
    func duplicatePrefix() {
        var inventory = SampleInventory.fleet()
        inventory.services[0].route = Route(prefix: "/api/customer/", port: 9090)
        #expect(throws: GatewayError.duplicateRoute(prefix: "/api/customer/", services: ["customer-service", "trading"])) {
            try GatewayRenderer.render(inventory: inventory)
        }
    }
}

@Suite("Gateway config of the reference inventory")
struct ReferenceInventoryGatewayTests {
    @Test("inventory/openclaw.yaml renders exactly as the golden file (shown in docs/gateway.md), and nginx -t accepts it")
    func referenceInventory() throws {
        let path = SampleInventory.repositoryRoot.appendingPathComponent("inventory/openclaw.yaml").path
        let inventory = try InventoryLoader.load(path: path, environment: [:])
        let rendered = try GatewayRenderer.render(inventory: inventory)
        try expectGolden(rendered, "openclaw.conf")
        #expect(rendered.contains("upstream openclaw_customer_service {"))
        #expect(rendered.contains("location /api/trading/ {"))
        let check = try NginxConfigCheck.test(renderedConfig: rendered)
        #expect(check.passed, "nginx -t: \(check.output)")
        let readme = try String(contentsOf: SampleInventory.repositoryRoot.appendingPathComponent("docs/gateway.md"), encoding: .utf8)
        #expect(readme.contains("```nginx\n" + rendered + "```\n"), "docs/gateway.md shows this output")
    }
}
