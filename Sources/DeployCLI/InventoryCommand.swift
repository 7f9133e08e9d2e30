import ArgumentParser
import Commands
import ExitCategories
import Foundation
import Gateway
import Inventory
import Plan
import Engine

/// `inventory check`: validate the inventory and the gateway template it names, touching no host.
struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Work with the inventory file.",
        subcommands: [InventoryCheckCommand.self]
    )
}

struct InventoryCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the inventory (and the gateway template it names) without touching any host.",
        usage: "openclaw-deploy inventory check [--secrets] [--skip-local-files] [opts]",
        discussion: "Prints every problem at once as FILE:LINE:COLUMN: message on stderr and exits 65; exits 0 when valid. "
            + "It also checks that the local files the inventory names (SSH keys, known_hosts, the gateway template) "
            + "exist and can be read (--skip-local-files for a machine that has no keys, such as CI). "
            + "With --secrets it also reads every secret (from_env, from_file, from_command) and names each one that "
            + "cannot be read; their values are never printed. --format json prints one document on stdout either way: "
            + "{\"valid\",\"inventory\",\"diagnostics\":[{\"file\",\"line\",\"column\",\"message\"}], ...}."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Also read every secret the inventory names (values are never printed).")
    var secrets = false

    @Flag(name: .long, help: "Do not check that the local files the inventory names exist (CI without the deploy key).")
    var skipLocalFiles = false

    func run() async throws {
        do {
            try await check()
        } catch let error as any CategorizedError where global.format == .json {
            // The diagnostics are the document: a script reads them from stdout, the exit is still the error's
            // (65 for the inventory, its template or a secret). A problem without a position is about the file.
            let diagnostics = (error as? InventoryError)?.diagnostics ?? [.fileLevel(global.inventoryPath, error.description)]
            LineOutput.standardOutput.write(JSONValue.object([
                ("valid", .bool(false)), ("inventory", .string(global.inventoryPath)),
                ("diagnostics", .array(diagnostics.map { d in
                    .object([("file", .string(d.file)), ("line", .int(Int64(d.line))), ("column", .int(Int64(d.column))),
                             ("message", .string(d.message))])
                })),
            ]).pretty)
            throw ReportedOutcome(category: error.category)
        }
    }

    /// Local files the inventory names that are not there: each where it is set, and the known_hosts and key
    /// files hosts use by default (not set anywhere) at the file's level.
    static func missingLocalFiles(_ inventory: Inventory) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        var named = Set<String>()
        for reference in inventory.localFiles {
            named.insert(reference.path)
            if let problem = unreadable(reference.path) {
                problems.append(Diagnostic(file: inventory.sourcePath, line: reference.line, column: reference.column,
                                           message: "`\(reference.key)`: \(reference.path) \(problem); create it or fix the path "
                                               + "(`inventory check --skip-local-files` skips this check)"))
            }
        }
        var byDefault: [String: [String]] = [:]
        for service in inventory.services {
            for host in service.hosts where !named.contains(host.ssh.knownHosts) {
                byDefault[host.ssh.knownHosts, default: []].append(host.name)
            }
        }
        for (path, hosts) in byDefault.sorted(by: { $0.key < $1.key }) {
            if let problem = unreadable(path) {
                problems.append(.fileLevel(inventory.sourcePath, "the known_hosts file \(path), used by \(hosts.joined(separator: ", ")) "
                    + "(no `ssh.known_hosts` set), \(problem): every host key would be unknown; set `ssh.known_hosts`, or add the keys "
                    + "(see docs/ssh.md)"))
            }
        }
        return problems
    }

    private static func unreadable(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "does not exist" }
        if isDirectory.boolValue { return "is a directory, not a file" }
        if !FileManager.default.isReadableFile(atPath: path) { return "cannot be read by this user" }
        return nil
    }

    private func check() async throws {
        let inventory = try global.loadInventory()
        if !skipLocalFiles {
            let missing = Self.missingLocalFiles(inventory)
            if !missing.isEmpty { throw InventoryError(diagnostics: missing) }
        }
        if inventory.gateway != nil {
            _ = try GatewayRenderer.render(inventory: inventory)
        }
        var secretCount: Int?
        if secrets {
            let sources = SecretResolver.sources(of: inventory.services.flatMap(\.hosts))
            secretCount = try await SecretResolver.resolve(sources, directory: inventory.directory).count
        }
        let hosts = inventory.services.reduce(0) { $0 + $1.hosts.count }
        let text: String
        switch global.format {
        case .json:
            text = "{\"valid\":true,\"inventory\":\(jsonString(inventory.sourcePath)),\"diagnostics\":[],\"services\":\(inventory.services.count),"
                + "\"hosts\":\(hosts),\"gateway\":\(inventory.gateway != nil)"
                + (secretCount.map { ",\"secrets_read\":\($0)" } ?? "") + "}\n"
        case .text:
            let gateway = inventory.gateway.map { ", gateway \($0.host.name)" } ?? ""
            let read = secretCount.map { ", \($0) secret\($0 == 1 ? "" : "s") read" } ?? ""
            text = "\(inventory.sourcePath): valid, \(inventory.services.count) service\(inventory.services.count == 1 ? "" : "s"), "
                + "\(hosts) host\(hosts == 1 ? "" : "s")\(gateway)\(read)\n"
        }
        LineOutput.standardOutput.write(text)
    }

    private func jsonString(_ text: String) -> String { JSONWriter.quoted(text) }
}
