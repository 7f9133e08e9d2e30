import Foundation
import Testing
@testable import Inventory

/// A small deterministic generator, so a failing input can be reproduced from the test's seed.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state ^ (state >> 33)
    }
}

@Suite("No input crashes or hangs the loader")
struct RobustnessTests {
    /// Parses `yaml` and checks the outcome is a model or a well-formed `InventoryError`.
    private func checkSurvives(_ yaml: String, _ label: String) {
        do {
            _ = try InventoryLoader.parse(yaml: yaml, path: "fuzz.yaml", environment: ["HOME": "/home/op"])
        } catch let error as InventoryError {
            #expect(!error.diagnostics.isEmpty, "\(label): an error without diagnostics")
            for diagnostic in error.diagnostics {
                #expect(diagnostic.file == "fuzz.yaml")
                #expect(!diagnostic.description.contains("\n"), "\(label): a message spans lines: \(diagnostic)")
                #expect(diagnostic.line >= 0 && diagnostic.column >= 0)
            }
            #expect(error.diagnostics.count <= 101, "\(label): the output is not capped")
        } catch {
            Issue.record("\(label): threw \(type(of: error)) instead of InventoryError")
        }
    }

    private static let reference: String = {
        (try? String(contentsOfFile: Support.repositoryRoot + "/inventory/openclaw.yaml", encoding: .utf8)) ?? "version: 1\n"
    }()

    @Test func weirdDocuments() {
        let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        var laughs = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            laughs += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let inputs = [
            "", "\n\n", "---", "--- |\n  text\n", "~", "null", "42", "\"just a string\"", "[1, 2, 3]", "- a\n- b",
            "version: 1\n---\nversion: 1\n", "version: 1\nservices: [a, b]\n", "version: 1\nservices: web\n",
            "version: 1\nservices:\n  web: [1]\n", "version: 99999999999999999999999999999999\n",
            "version: 1\nservices:\n  web:\n    tier: 95\n    hosts: [{ name: a, address: b, ssh: { port: 1e400 } }]\n",
            "version: 1\nservices:\n  web:\n\t tier: 95\n", "\u{FEFF}version: 1\n", "version: 1\u{0}\n",
            "a: *undefined\n", "a: &x 1\nb: *x\nc: *x\n", "<<: [*a]\n", "? [a, b]\n: c\n", "{[a]: b}",
            deep, "a: " + deep, String(repeating: "- ", count: 3000) + "x", laughs, laughs + "services: *l9\n",
            laughs + "x: { *l9 : 1 }\n", laughs + "? *l9\n: 1\n",
            "version: 1\nservices:\n  " + String(repeating: "x", count: 100_000) + ": {}\n",
            "version: 1\r\nservices:\r\n  web:\r\n    tier: \"95\"\r\n",
            "version: !!binary aGVsbG8=\n", "version: !custom 1\n", "!!map {version: 1}\n", "%YAML 1.1\n---\nversion: 1\n",
            "version: 1\nservices:\n  web: &w\n    tier: \"95\"\n    hosts: [*w]\n",
            "version: 1\nservices:\n  web:\n    tier: \"95\"\n    tier: \"95\"\n    tier: \"99\"\n",
            String(repeating: "a: 1\n", count: 300),
        ]
        for (index, input) in inputs.enumerated() {
            checkSurvives(input, "weird input \(index)")
        }
    }

    @Test func randomTokenSoup() {
        var random = SeededGenerator(state: 1)
        let tokens = ["-", " ", "  ", "\n", ":", ": ", "{", "}", "[", "]", ",", "&a", "*a", "!", "|", ">", "'", "\"",
                      "#", "?", "%", "@", "\t", "version", "services", "hosts", "1", "99.9", "~", "<<", "name",
                      "address", "tier", "ssh", "\\", "é", "\u{0}", "\r", "---", "..."]
        for round in 0..<400 {
            let length = Int.random(in: 1...60, using: &random)
            let text = (0..<length).map { _ in tokens.randomElement(using: &random)! }.joined()
            checkSurvives(text, "soup \(round)")
        }
    }

    @Test func mutatedReferenceInventory() {
        var random = SeededGenerator(state: 7)
        let original = Array(Self.reference.unicodeScalars)
        let insertions = ["\t", ":", "- ", "{", "]", "&x ", "*x", "\"", "\n  ", "99999999999999999999", "?", "#"]
        for round in 0..<300 {
            var scalars = original
            for _ in 0..<Int.random(in: 1...4, using: &random) where !scalars.isEmpty {
                let at = Int.random(in: 0..<scalars.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: scalars.removeSubrange(at..<min(scalars.count, at + Int.random(in: 1...20, using: &random)))
                case 1: scalars.insert(contentsOf: insertions.randomElement(using: &random)!.unicodeScalars, at: at)
                default: scalars[at] = Unicode.Scalar(UInt8.random(in: 32...126, using: &random))
                }
            }
            checkSurvives(String(String.UnicodeScalarView(scalars)), "mutation \(round)")
        }
    }

    @Test func randomBytesFromDisk() throws {
        var random = SeededGenerator(state: 42)
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for round in 0..<60 {
            let bytes = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let path = directory + "/fuzz-\(round).yaml"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(throws: InventoryError.self, "round \(round)") {
                try InventoryLoader.load(path: path, environment: ["HOME": "/home/op"])
            }
        }
    }

    @Test func aliasKeyBombIsRefusedUnexpanded() {
        var laughs = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            laughs += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        // The key is refused by a scan of the text, before the YAML parser would expand it (10^9 nodes) to hash it.
        let errors = Support.errors(laughs + "x: { *l9 : 1 }\n", path: "fuzz.yaml")
        #expect(errors == ["fuzz.yaml:11:6: a mapping key here is a list, a mapping or an alias; inventory keys are plain words, write the key out"])
    }
}
