import Foundation
import Testing

extension RolloutEndToEndTests {
    /// The examples of README.md and docs/*.md marked `<!-- example: ... -->` are what the built binary prints
    /// against the sandbox: `scripts/doc-examples --check` runs each (after its steps) and compares.
    @Test func theDocsExamplesMatchWhatTheToolPrints() throws {
        let script = Sandbox.root.appendingPathComponent("scripts/doc-examples").path
        let result = try Command.run(script, ["--check"], timeout: 900, environment: ["OPENCLAW_DEPLOY_BIN": try Sandbox.binary])
        #expect(result.status == 0, "\(result.stderr)\(result.stdout)")
        #expect(result.stdout.contains("examples match what the tool prints"), "\(result.stdout)")
    }
}
