import Foundation
import Testing
import Inventory
@testable import Gateway

@Suite("Gateway template errors")
struct GatewayTemplateErrorTests {
    func writeTemplate(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gw-template-\(UUID().uuidString).mustache").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a missing template names the file and is an inventory problem")
    func missing() {
        let inventory = SampleInventory.fleet(template: "/nonexistent/gateway.mustache")
        #expect(throws: GatewayError.templateMissing(path: "/nonexistent/gateway.mustache")) {
            try GatewayRenderer.render(inventory: inventory)
        }
        #expect(GatewayError.templateMissing(path: "x").isInventoryProblem)
    }

    @Test("an unclosed section is reported with file and line")
    func unclosedSection() throws {
        let path = try writeTemplate("# header\n{{#upstreams}}\nupstream {{name}} {\n}\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try GatewayRenderer.render(inventory: SampleInventory.fleet(template: path))
            Issue.record("a broken template rendered")
        } catch let error as GatewayError {
            guard case .templateSyntax(let file, let line, _, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(file == path)
            #expect(line == 5)
            #expect(error.description.hasPrefix("\(path):5:"))
            #expect(error.isInventoryProblem)
        }
    }

    @Test("a mismatched closing tag points at its line")
    func mismatchedClose() throws {
        let path = try writeTemplate("a\nb\n{{#routes}}\n{{prefix}}\n{{/upstreams}}\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: GatewayError.self) { try GatewayRenderer.validateTemplate(path: path) }
        do {
            try GatewayRenderer.validateTemplate(path: path)
        } catch {
            #expect("\(error)".hasPrefix("\(path):5:"), "\(error)")
        }
    }

    @Test("a misspelt name is an error with its line, listing the names that exist")
    func unknownName() throws {
        let path = try writeTemplate("{{% CONTENT_TYPE: TEXT}}\n{{#upstreams}}\nupstream {{nmae}} {\n}\n{{/upstreams}}\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try GatewayRenderer.render(inventory: SampleInventory.fleet(template: path))
            Issue.record("a template with an unknown name rendered")
        } catch let error as GatewayError {
            guard case .templateUnknownName(let file, let line, let name, let known) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(file == path)
            #expect(line == 3)
            #expect(name == "nmae")
            #expect(known.contains("name") && known.contains("servers"))
        }
    }

    @Test("a name used outside the section that provides it is reported too")
    func misplacedName() throws {
        let path = try writeTemplate("{{% CONTENT_TYPE: TEXT}}\nlisten {{port}};\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: GatewayError.templateUnknownName(path: path, line: 2, name: "port",
                                                         known: TemplateData.knownNames)) {
            try GatewayRenderer.render(inventory: SampleInventory.fleet(template: path))
        }
    }

    @Test("no gateway section: an inventory error that says what to add")
    func noGateway() {
        let error = GatewayError.noGatewaySection(inventory: "/somewhere/fleet.yaml")
        #expect(throws: error) { try GatewayRenderer.render(inventory: SampleInventory.fleet(gateway: false)) }
        #expect(error.description.contains("no `gateway:` section"))
        #expect(error.isInventoryProblem)
    }

    @Test("nginx -t really rejects a broken config (the check can fail)")
    func nginxRejects() throws {
        let check = try NginxConfigCheck.test(renderedConfig: "upstream x {\n    server 127.0.0.1:1 bogus=1;\n}\n")
        #expect(!check.passed)
        #expect(check.output.contains("invalid parameter"), "\(check.output)")
    }
}
