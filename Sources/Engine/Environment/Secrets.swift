import Commands
import ExitCategories
import Foundation
import Inventory
import Plan

/// The secret values of a run, read on the operator's machine before any host is contacted. Printing one
/// (by accident, in a message or a debug dump) shows `(secret)`, never the value.
public struct Secrets: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private var values: [SecretSource.Kind: String]
    /// The variable each source is delivered as (the last part of its key path), for `(secret NAME)`.
    private var names: [SecretSource.Kind: String]
    /// Variables of the operator's environment that `from_env` reads: local hooks and `from_command` do
    /// not inherit them.
    public let withheldVariables: Set<String>

    public init(_ values: [SecretSource.Kind: String] = [:], names: [SecretSource.Kind: String] = [:],
                withheldVariables: Set<String> = []) {
        self.values = values
        self.names = names
        self.withheldVariables = withheldVariables
    }

    /// The value of `source`; nil when it was not resolved.
    func value(of source: SecretSource) -> String? { values[source.kind] }

    /// What replaces every secret value in text that leaves the process.
    public var redactor: Redactor {
        Redactor(values.map { (name: names[$0.key] ?? "", value: $0.value) })
    }

    /// The operator's environment as local hooks and `from_command` get it: without the variables `from_env` reads.
    public func localEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        environment.filter { !withheldVariables.contains($0.key) }
    }

    public var count: Int { values.count }
    public var description: String { "(\(values.count) secret\(values.count == 1 ? "" : "s"))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// Replaces every secret value in a text by `(secret NAME)`: step reasons, relayed command output, failure
/// diagnostics, history records, events and error messages all pass through one before they leave. A value
/// is found as it is, and as the tool's text and JSON output write it (escaped), so no output form lets one
/// through.
public struct Redactor: Sendable {
    /// (form of a value, its replacement), longest form first, so a value that contains another is replaced whole.
    private let needles: [(form: String, replacement: String)]

    public init(_ secrets: [(name: String, value: String)]) {
        var needles: [(String, String)] = []
        for secret in secrets where !secret.value.isEmpty {
            let replacement = secret.name.isEmpty ? "(secret)" : "(secret \(secret.name))"
            let json = String(JSONWriter.quoted(secret.value).dropFirst().dropLast())
            for form in Set([secret.value, VisibleText.escaped(secret.value), json]) { needles.append((form, replacement)) }
        }
        self.needles = needles.sorted { $0.0.utf8.count > $1.0.utf8.count }
    }

    public static let none = Redactor([])

    public var isEmpty: Bool { needles.isEmpty }

    public func redact(_ text: String) -> String {
        var text = text
        for (form, replacement) in needles where text.contains(form) {
            text = text.replacingOccurrences(of: form, with: replacement)
        }
        return text
    }

    public func redact(_ text: String?) -> String? { text.map { redact($0) } }
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

    /// Shortest secret value accepted: a shorter one could not be told apart in output.
    public static let minimumLength = 8

    /// Bytes of a failing `from_command`'s stderr shown.
    public static let shownStderrBytes = 2048

    /// - Parameters:
    ///   - directory: where `from_command` runs (the inventory's directory).
    ///   - timeout: how long a `from_command` may take.
    public static func resolve(_ sources: [SecretSource], environment: [String: String] = ProcessInfo.processInfo.environment,
                               directory: String, timeout: Duration = .seconds(30)) async throws -> Secrets {
        var values: [SecretSource.Kind: String] = [:]
        var names: [SecretSource.Kind: String] = [:]
        var problems: [(source: SecretSource, reason: String, stderr: LocalOutput?)] = []
        // Partial values a failing command printed: redacted from every message too.
        var seen: [(name: String, value: String)] = []
        let withheld = Set(sources.compactMap { source -> String? in
            if case .environment(let name) = source.kind { return name }
            return nil
        })
        let commandEnvironment = environment.filter { !withheld.contains($0.key) }
        for source in sources {
            let name = String(source.keyPath.split(separator: ".").last ?? "")
            do {
                let value = try await read(source, environment: environment, commandEnvironment: commandEnvironment,
                                           directory: directory, timeout: timeout)
                if let problem = EnvNames.valueProblem(value) {
                    problems.append((source, "the value is not usable: \(problem)", nil))
                    seen.append((name, value))
                } else if value.count < minimumLength {
                    problems.append((source, "the value has \(value.count) character\(value.count == 1 ? "" : "s"); a secret needs at "
                        + "least \(minimumLength), or it could not be told apart in output", nil))
                    seen.append((name, value))
                } else {
                    values[source.kind] = value
                    names[source.kind] = name
                }
            } catch let failure as Unreadable {
                problems.append((source, failure.reason, failure.stderr))
                for partial in failure.printed { seen.append((name, partial)) }
            }
        }
        guard problems.isEmpty else {
            let redactor = Redactor(values.map { (names[$0.key] ?? "", $0.value) } + seen.filter { $0.value.count >= minimumLength })
            throw SecretError(problems: problems.map { problem in
                "\(problem.source.position): `\(problem.source.keyPath)` (\(problem.source)): " + redactor.redact(problem.reason)
                    + (problem.stderr.map { shownStderr($0, redactor: redactor) } ?? "")
            })
        }
        return Secrets(values, names: names, withheldVariables: withheld)
    }

    private struct Unreadable: Error {
        var reason: String
        /// What the source printed before failing (a command's stdout lines): possibly a secret, never shown.
        var printed: [String] = []
        /// A failed command's output: the start of its stderr is shown, redacted.
        var stderr: LocalOutput?
    }

    private static func read(_ source: SecretSource, environment: [String: String], commandEnvironment: [String: String],
                             directory: String, timeout: Duration) async throws -> String {
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
                                                        environment: commandEnvironment, timeout: timeout)
            } catch let failure as ChildProcess.Failed {
                throw Unreadable(reason: failure.description)
            }
            // Whatever it printed on stdout may be (part of) a secret: it is never shown, and it is redacted
            // from its own stderr.
            let printed = output.stdout.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
            guard output.status == 0 else {
                throw Unreadable(reason: "the command exited with status \(output.status)", printed: printed, stderr: output)
            }
            guard output.stdoutDropped == 0 else {
                throw Unreadable(reason: "the command printed more than \(ChildProcess.keptOutputBytes / 1024) KiB; a secret is one line",
                                 printed: printed)
            }
            guard let text = String(validating: output.stdoutBytes, as: UTF8.self) else {
                throw Unreadable(reason: "the command printed bytes that are not UTF-8 text", printed: printed)
            }
            return droppingOneNewline(text)
        }
    }

    /// The start of a failed command's stderr (its own message), redacted, escaped and bounded; "" when it
    /// said nothing. Redacted before it is cut, so no part of a value is left at the cut.
    private static func shownStderr(_ output: LocalOutput, redactor: Redactor) -> String {
        let text = redactor.redact(output.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        guard !text.isEmpty else { return "" }
        let (shown, cut) = FailureDiagnostics.prefix(text, bytes: shownStderrBytes)
        let more = text.utf8.count - shown.utf8.count + output.stderrDropped
        return ": " + VisibleText.escaped(shown) + (cut || output.stderrDropped > 0 ? " (\(more) more bytes not shown)" : "")
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
        // A `from_command` runs under the command timeout, as hooks do (the longest of the plan's hosts).
        let timeout = services.flatMap { $0.hosts.map(\.host.ssh.commandTimeout) }.max() ?? .seconds(600)
        return try await SecretResolver.resolve(secretSources, directory: directory, timeout: timeout)
    }
}

/// Passes every event on with the secret values in its texts replaced (step details, reasons, diagnostics,
/// probe errors, the hosts' notes of the summary), before any reporter escapes, wraps or shortens them: a value
/// cut across two lines could no longer be found.
struct RedactingSink: RolloutEventSink {
    let inner: any RolloutEventSink
    let redactor: Redactor

    func emit(_ event: RolloutEvent) {
        guard !redactor.isEmpty else { return inner.emit(event) }
        var event = event
        switch event.payload {
        case .step(var step):
            step.detail = redactor.redact(step.detail)
            event.payload = .step(step)
        case .healthProbe(var probe):
            probe.error = redactor.redact(probe.error)
            event.payload = .healthProbe(probe)
        case .hostFailed(var failure):
            failure.reason = redactor.redact(failure.reason)
            event.payload = .hostFailed(failure)
        case .hostSucceeded(let outcome):
            event.payload = .hostSucceeded(redacted(outcome))
        case .hostRolledBack(let outcome):
            event.payload = .hostRolledBack(redacted(outcome))
        case .diagnostics(var diagnostics):
            diagnostics.title = redactor.redact(diagnostics.title)
            diagnostics.text = redactor.redact(diagnostics.text)
            event.payload = .diagnostics(diagnostics)
        case .deployFinished(var outcome):
            outcome.hosts = outcome.hosts.map(redacted)
            event.payload = .deployFinished(outcome)
        case .trafficSample(var sample):
            sample.readError = redactor.redact(sample.readError)
            event.payload = .trafficSample(sample)
        case .lockWait(var wait):
            wait.holder = redactor.redact(wait.holder)
            event.payload = .lockWait(wait)
        case .deployStarted, .hostStarted, .stepStarted:
            break
        }
        inner.emit(event)
    }

    private func redacted(_ outcome: HostOutcome) -> HostOutcome {
        var outcome = outcome
        outcome.reason = redactor.redact(outcome.reason)
        return outcome
    }
}
