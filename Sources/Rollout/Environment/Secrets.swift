import Foundation
import Inventory

/// The secret values of a run, read on the operator's machine before any host is contacted. Printing one
/// (by accident, in a message or a debug dump) shows `(secret)`, never the value.
public struct Secrets: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private var values: [SecretSource.Kind: String]

    public init(_ values: [SecretSource.Kind: String] = [:]) { self.values = values }

    /// The value of `source`; nil when it was not resolved.
    func value(of source: SecretSource) -> String? { values[source.kind] }

    /// Every value, so output can be checked against them before it leaves the process.
    var allValues: [String] { Array(values.values) }

    public var count: Int { values.count }
    public var description: String { "(\(values.count) secret\(values.count == 1 ? "" : "s"))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// Secrets that could not be read: every one is named, with its key path and source, and nothing was contacted.
public struct SecretError: CategorizedError, Sendable {
    public var problems: [String]
    public var category: ExitCategory { .invalidInventory }
    public var description: String {
        (problems + ["No host was contacted. Set the variables, create the files or fix the commands, then run again."])
            .joined(separator: "\n")
    }
}

/// Reads every secret the chosen hosts use: environment variables, files, command output.
public enum SecretResolver {
    /// The secret sources of `hosts`, each once, in the order the inventory's keys sort.
    public static func sources(of hosts: [ServiceHost]) -> [SecretSource] {
        var seen = Set<SecretSource.Kind>()
        var sources: [SecretSource] = []
        for host in hosts {
            for variable in host.env {
                if case .secret(let source) = variable.value, seen.insert(source.kind).inserted { sources.append(source) }
            }
        }
        return sources
    }

    /// - Parameters:
    ///   - directory: where `from_command` runs (the inventory's directory).
    ///   - timeout: how long a `from_command` may take.
    public static func resolve(_ sources: [SecretSource], environment: [String: String] = ProcessInfo.processInfo.environment,
                               directory: String, timeout: Duration = .seconds(30)) async throws -> Secrets {
        var values: [SecretSource.Kind: String] = [:]
        var problems: [String] = []
        for source in sources {
            let where_ = "\(source.position): `\(source.keyPath)` (\(source))"
            do {
                let value = try await read(source, environment: environment, directory: directory, timeout: timeout)
                if let problem = EnvNames.valueProblem(value) {
                    problems.append("\(where_): the value is not usable: \(problem)")
                } else {
                    values[source.kind] = value
                }
            } catch let failure as Unreadable {
                problems.append("\(where_): \(failure.reason)")
            }
        }
        guard problems.isEmpty else { throw SecretError(problems: problems) }
        return Secrets(values)
    }

    private struct Unreadable: Error { var reason: String }

    private static func read(_ source: SecretSource, environment: [String: String], directory: String,
                             timeout: Duration) async throws -> String {
        switch source.kind {
        case .environment(let name):
            guard let value = environment[name] else {
                throw Unreadable(reason: "the variable \(name) is not set in this environment; export it before running")
            }
            return value
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                let exists = FileManager.default.fileExists(atPath: path)
                throw Unreadable(reason: exists ? "cannot read \(path); check its permissions" : "no such file \(path)")
            }
            guard let text = String(data: data, encoding: .utf8) else { throw Unreadable(reason: "\(path) is not UTF-8 text") }
            return droppingOneNewline(text)
        case .command(let argv):
            let output: LocalOutput
            do {
                output = try await ChildProcess.capture(argv[0], Array(argv.dropFirst()), directory: directory,
                                                        environment: environment, timeout: timeout)
            } catch let failure as ChildProcess.Failed {
                throw Unreadable(reason: failure.description)
            }
            guard output.status == 0 else {
                // Its stderr is the command's own message; its stdout could be a partial secret and is not shown.
                let said = output.stderr.split(whereSeparator: \.isNewline).last.map { ": " + VisibleText.escaped(String($0)) } ?? ""
                throw Unreadable(reason: "the command exited with status \(output.status)\(said)")
            }
            return droppingOneNewline(output.stdout)
        }
    }

    /// One trailing line end (`\n` or `\r\n`) is dropped: editors and `echo` add one.
    private static func droppingOneNewline(_ text: String) -> String {
        var scalars = text.unicodeScalars
        guard scalars.last == "\n" else { return text }
        scalars.removeLast()
        if scalars.last == "\r" { scalars.removeLast() }
        return String(scalars)
    }
}

extension Plan {
    /// The secrets the plan's hosts' environments name, each once.
    public var secretSources: [SecretSource] { SecretResolver.sources(of: services.flatMap { $0.hosts.map(\.host) }) }

    /// Reads them on this machine (in `directory`, the inventory's), before any host is contacted.
    public func resolveSecrets(directory: String) async throws -> Secrets {
        try await SecretResolver.resolve(secretSources, directory: directory)
    }
}
