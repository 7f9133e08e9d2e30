import Foundation
import Testing
@testable import Inventory

@Suite("Invalid inventory files: exact messages with line and column")
struct InvalidFixtureTests {
    @Test func fiveMistakesAreAllReportedInOneRun() throws {
        #expect(try Support.fixtureErrors("five-mistakes.yaml") == [
            "five-mistakes.yaml:5:5: unknown key `usr` in `defaults.ssh` (did you mean `user`?); allowed keys: `command_timeout`, `connect_timeout`, `identity`, `known_hosts`, `port`, `user`",
            "five-mistakes.yaml:6:22: `defaults.ssh.connect_timeout`: `10 seconds` is not a duration; write a whole number and a unit: `500ms`, `10s`, `2m`, `1h` (or combined from the largest unit down, `1m30s`)",
            "five-mistakes.yaml:9:11: `services.trading.tier`: unknown tier `99.5`; allowed tiers: `95`, `99`, `99.9`, `99.99` (or define it under `tiers:`)",
            "five-mistakes.yaml:12:25: `services.trading.compose.command`: unsupported compose command `docker  compose`; allowed: `docker compose`, `docker-compose`, `podman-compose`, `podman compose`",
            "five-mistakes.yaml:15:17: `services.trading.hosts[1].name`: duplicate host name `trading-1` in service `trading` (first at 14:17); host names must be unique within a service",
        ])
    }

    @Test func duplicateServiceIsReportedAlongsideOtherProblems() throws {
        #expect(try Support.fixtureErrors("duplicates.yaml") == [
            "duplicates.yaml:14:58: `services.api.hosts[1].name`: duplicate host name `api-1` in service `api` (first at 14:21); host names must be unique within a service",
            "duplicates.yaml:15:3: service `web` is defined twice (first at 3:3); service names must be unique",
        ])
    }

    @Test func emptyFileHasNoPosition() throws {
        #expect(try Support.fixtureErrors("empty.yaml") == [
            "empty.yaml: the inventory is empty; start it with `version: 1` and a `services:` mapping",
        ])
    }

    @Test func tabIndentationIsAYAMLSyntaxErrorWithPosition() throws {
        #expect(try Support.fixtureErrors("tab-indent.yaml") == [
            "tab-indent.yaml:4:1: invalid YAML: found character that cannot start any token (while scanning for the next token); indent with spaces, not tabs",
        ])
    }

    @Test func topLevelListIsAWrongType() throws {
        #expect(try Support.fixtureErrors("top-level-list.yaml") == [
            "top-level-list.yaml:1:1: the inventory must be a mapping with `version: 1` and `services:`, found a list",
        ])
    }

    @Test func invalidUTF8IsReportedAtTheFirstBadByte() throws {
        #expect(try Support.fixtureErrors("not-utf8.yaml") == [
            "not-utf8.yaml:4:21: the file is not valid UTF-8 text; save it as UTF-8",
        ])
    }

    @Test func missingGatewayTemplateIsReportedAtTheTemplateKey() throws {
        let directory = (try Support.fixturePath("missing-template.yaml") as NSString).deletingLastPathComponent
        let errors = try Support.fixtureErrors("missing-template.yaml")
            .map { $0.replacingOccurrences(of: directory + "/", with: "") }
        #expect(errors == [
            "missing-template.yaml:11:3: `gateway.template`: template file `templates/missing.mustache` does not exist; create it or fix the path (a relative path is resolved against the inventory's directory)",
        ])
    }

    @Test func missingFileNamesTheWaysToPassOne() {
        #expect(throws: InventoryError(diagnostics: [.fileLevel("/nonexistent/openclaw.yaml",
            "no such file; pass the inventory with -i/--inventory PATH or set OPENCLAW_INVENTORY")])) {
            try InventoryLoader.load(path: "/nonexistent/openclaw.yaml")
        }
    }

    @Test func directoryIsNotAnInventory() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: InventoryError(diagnostics: [.fileLevel(directory,
            "is a directory; pass the inventory file itself, e.g. inventory/openclaw.yaml")])) {
            try InventoryLoader.load(path: directory)
        }
    }

    @Test func errorDescriptionIsOneDiagnosticPerLine() {
        let error = InventoryError(diagnostics: [
            Diagnostic(file: "a.yaml", line: 3, column: 7, message: "first"),
            .fileLevel("a.yaml", "second"),
        ])
        #expect(error.description == "a.yaml:3:7: first\na.yaml: second")
    }
}
