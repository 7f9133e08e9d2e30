import Foundation
import Testing

/// `gateway render` through the built binary: output, --output, and exit 65 for inventory and template problems.
@Suite("gateway render: the built binary")
struct GatewayCLITests {
    static let golden = Sandbox.root.appendingPathComponent("Tests/GatewayTests/Golden/openclaw.conf").path
    static let reference = Sandbox.root.appendingPathComponent("inventory/openclaw.yaml").path

    /// A copy of the reference inventory in a temp dir whose gateway template is `template` (written beside it).
    func inventory(template: String) throws -> (path: String, template: String, cleanup: () -> Void) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gw-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let text = try String(contentsOfFile: Self.reference, encoding: .utf8)
            .replacingOccurrences(of: "template: ../templates/nginx-gateway.conf.mustache", with: "template: gw.mustache")
        let path = dir.appendingPathComponent("openclaw.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let templatePath = dir.appendingPathComponent("gw.mustache").path
        try template.write(toFile: templatePath, atomically: true, encoding: .utf8)
        return (path, templatePath, { try? FileManager.default.removeItem(at: dir) })
    }

    @Test func rendersTheReferenceInventoryToStdoutAndToAFile() throws {
        let result = try Command.run(try Sandbox.binary, ["gateway", "render", "-i", Self.reference])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == (try String(contentsOfFile: Self.golden, encoding: .utf8)))

        let output = FileManager.default.temporaryDirectory.appendingPathComponent("gw-cli-\(UUID().uuidString).conf").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let written = try Command.run(try Sandbox.binary, ["gateway", "render", "-i", Self.reference, "--output", output])
        #expect(written.status == 0, "\(written.stderr)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == result.stdout)
    }

    @Test func anInventoryFileNameCannotWriteIntoTheRenderedConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gw-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try String(contentsOfFile: Self.reference, encoding: .utf8)
            .replacingOccurrences(of: "template: ../templates/", with: "template: \(Sandbox.root.path)/templates/")
        let hostile = dir.appendingPathComponent("x\nserver { listen 8099; }\n.yaml").path
        try text.write(toFile: hostile, atomically: true, encoding: .utf8)

        let result = try Command.run(try Sandbox.binary, ["gateway", "render", "-i", hostile])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("listen 8099;"), "the file name wrote a server block")
        #expect(result.stdout.contains("from x_server___listen_8099____.yaml for"))
    }

    @Test func anInventoryWithoutAGatewaySectionExits65SayingWhatToAdd() throws {
        let result = try Command.run(try Sandbox.binary, ["gateway", "render", "-i", Sandbox.inventory])
        #expect(result.status == 65)
        #expect(result.stderr.contains("no `gateway:` section"), "\(result.stderr)")
    }

    @Test func aBrokenTemplateExits65WithFileAndLine() throws {
        let broken = try inventory(template: "{{% CONTENT_TYPE: TEXT}}\n{{#upstreams}}\nupstream {{name}} {\n}\n{{/routes}}\n")
        defer { broken.cleanup() }
        let result = try Command.run(try Sandbox.binary, ["gateway", "render", "-i", broken.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("\(broken.template):5:"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func aMisspeltNameExits65WithItsLine() throws {
        let typo = try inventory(template: "{{% CONTENT_TYPE: TEXT}}\n{{#routes}}\nlocation {{prefx}} {}\n{{/routes}}\n")
        defer { typo.cleanup() }
        let result = try Command.run(try Sandbox.binary, ["gateway", "render", "-i", typo.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("\(typo.template):3: the template uses `prefx`"), "\(result.stderr)")
    }
}
