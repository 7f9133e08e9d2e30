import Foundation
import Testing
@testable import Inventory

/// An inventory of many services is read on every core: what it finds must be what one reader finds, in the
/// file's order — every problem with its place, every local file in order, a prefix shared across threads.
@Suite("Large inventories")
struct LargeInventoryTests {
    /// `count` services of 5 lines each, starting at line 6; `broken` services carry an unknown key on their 3rd line.
    static func yaml(count: Int, broken: Set<Int>, sharedPrefix: (Int, Int)) -> String {
        var text = "version: 1\ndefaults:\n  repo: { path: /srv/app }\n  health: { url: \"http://127.0.0.1:8080/health\" }\nservices:\n"
        for index in 0..<count {
            let name = String(format: "s%03d", index)
            let prefix = index == sharedPrefix.0 || index == sharedPrefix.1 ? "/api/shared/" : "/api/\(name)/"
            text += "  \(name):\n"
            text += "    tier: \"95\"\n"
            text += broken.contains(index) ? "    colour: blue\n" : "    route: { prefix: \(prefix), port: 8080 }\n"
            text += "    ssh: { identity: ~/.ssh/\(name) }\n"
            text += "    hosts: [{ name: a, address: 10.0.0.1 }]\n"
        }
        return text
    }

    static func line(ofService index: Int, _ offset: Int) -> Int { 6 + index * 5 + offset }

    @Test("problems, local files and shared prefixes of 200 services come out as one reader would give them", arguments: [10, 200])
    func manyServices(count: Int) throws {
        let broken: Set<Int> = [count / 10, count / 2, count - 1]
        let shared = (count / 5, count * 4 / 5)
        let errors = Support.errors(Self.yaml(count: count, broken: broken, sharedPrefix: shared))
        let expected = (broken.map { ($0, "unknown key `colour` in `services.\(String(format: "s%03d", $0))`") }
            + [(shared.1, "`services.\(String(format: "s%03d", shared.1)).route.prefix`: `/api/shared/` is already the prefix of service `\(String(format: "s%03d", shared.0))` (at \(Self.line(ofService: shared.0, 2)):22)")])
            .sorted { $0.0 < $1.0 }
        #expect(errors.count == expected.count, "\(errors.joined(separator: "\n"))")
        for ((index, message), error) in zip(expected, errors) {
            #expect(error.hasPrefix("inv.yaml:\(Self.line(ofService: index, 2)):"), "\(error)")
            #expect(error.contains(message), "\(error) does not say \(message)")
        }

        let valid = Self.yaml(count: count, broken: [], sharedPrefix: (-1, -1))
        let inventory = try InventoryLoader.parse(yaml: valid, path: "inv.yaml", environment: ["HOME": "/home/op"])
        #expect(inventory.services.map(\.name) == (0..<count).map { String(format: "s%03d", $0) })
        #expect(inventory.localFiles.map(\.path) == (0..<count).map { String(format: "/home/op/.ssh/s%03d", $0) })
        #expect(inventory.localFiles.map(\.line) == (0..<count).map { Self.line(ofService: $0, 3) })
    }

    /// Every service reaches the same mapping through an alias: its repeated key is one problem, told once, however
    /// many readers meet it.
    @Test("a repeated key behind an alias many services share is reported once", arguments: [10, 100])
    func repeatedKeyBehindAnAlias(count: Int) {
        var text = "version: 1\ndefaults:\n  repo: { path: /srv/app }\nservices:\n"
        for index in 0..<count {
            text += "  \(String(format: "s%03d", index)):\n    tier: \"95\"\n"
            text += index == 0 ? "    health: &h { url: \"http://127.0.0.1:8080/health\", url: \"http://127.0.0.1:8080/other\" }\n"
                : "    health: *h\n"
            text += "    hosts: [{ name: a, address: 10.0.0.1 }]\n"
        }
        let errors = Support.errors(text)
        #expect(errors.count == 1, "\(errors.joined(separator: "\n"))")
        #expect(errors.first?.hasPrefix("inv.yaml:7:") == true && errors.first?.contains("appears twice") == true, "\(errors)")
    }
}
