import Commands
import Foundation
import Inventory
import Plan
import Engine

/// One thing a scripted host was asked to do.
public struct ScriptedCall: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case connect
        case run(String)
        case httpGet(host: String, port: Int, path: String)
        /// A script of several commands sent in one round trip (`ReadScript`): its sections' names, in order. Each
        /// section is then answered (and logged) as a `run` of its own.
        case script(sections: [String], stopsAtFailure: Bool)
        case close
    }

    public var host: String
    public var kind: Kind
    /// What the command received on stdin, for `run` calls that sent any.
    public var input: String? = nil

    /// The command line, for `run` calls.
    public var command: String? {
        if case .run(let command) = kind { return command }
        return nil
    }
}

/// A `TransportFactory` whose hosts answer from a script: per host (or for every host), a command that
/// contains a pattern gets the rule's answer. Rules added later win over earlier ones, so a test sets
/// defaults first and overrides what its scenario needs. Every call is recorded, in order.
public final class ScriptedTransportFactory: TransportFactory, @unchecked Sendable {
    public typealias CommandHandler = @Sendable (_ host: String, _ command: String) async throws -> CommandResult
    public typealias HTTPHandler = @Sendable (_ host: String, _ path: String) async throws -> HTTPResponse

    private struct CommandRule {
        var host: String?
        var pattern: String
        var handler: CommandHandler
    }

    private let lock = NSLock()
    private var commandRules: [CommandRule] = []
    private var httpHandlers: [String: HTTPHandler] = [:]
    private var defaultHTTP: HTTPHandler = { _, _ in HTTPResponse(status: 200, body: "ok") }
    private var connectFailures: [String: [TransportError]] = [:]
    private var log: [ScriptedCall] = []

    public init() {}

    /// Answers commands containing `pattern` on `host` (every host when nil).
    public func on(_ pattern: String, host: String? = nil, _ handler: @escaping CommandHandler) {
        locked { commandRules.append(CommandRule(host: host, pattern: pattern, handler: handler)) }
    }

    /// Answers commands containing `pattern` with a fixed result.
    public func on(_ pattern: String, host: String? = nil, reply: CommandResult) {
        on(pattern, host: host) { _, _ in reply }
    }

    /// Answers HTTP requests made through `host`'s connection (every host when nil). Unscripted
    /// requests answer 200.
    public func onHTTP(host: String? = nil, _ handler: @escaping HTTPHandler) {
        locked {
            if let host { httpHandlers[host] = handler } else { defaultHTTP = handler }
        }
    }

    /// Makes the next connection attempts to `host` fail with these errors, one per attempt.
    public func failConnect(host: String, with errors: [TransportError]) {
        locked { connectFailures[host, default: []] += errors }
    }

    /// Every call so far, in order.
    public var calls: [ScriptedCall] { locked { log } }

    /// Command lines run on `host`, in order.
    public func commands(on host: String) -> [String] {
        calls.filter { $0.host == host }.compactMap(\.command)
    }

    public func connect(to host: Endpoint) async throws -> any Transport {
        let failure: TransportError? = locked {
            log.append(ScriptedCall(host: host.name, kind: .connect))
            guard var queue = connectFailures[host.name], !queue.isEmpty else { return nil }
            let first = queue.removeFirst()
            connectFailures[host.name] = queue
            return first
        }
        if let failure { throw failure }
        return ScriptedTransport(host: host.name, factory: self)
    }

    fileprivate func run(host: String, command: String, input: String?, timeout: Duration) async throws -> CommandResult {
        let handler: CommandHandler? = locked {
            log.append(ScriptedCall(host: host, kind: .run(command), input: input))
            return commandRules.last { ($0.host == nil || $0.host == host) && command.contains($0.pattern) }?.handler
        }
        guard let handler else { return CommandResult(exitStatus: 0) }
        return try await Self.bounded(timeout, host: host, what: command) { try await handler(host, command) }
    }

    fileprivate func httpGet(host: String, target: String, port: Int, path: String, timeout: Duration) async throws -> HTTPResponse {
        let handler: HTTPHandler = locked {
            log.append(ScriptedCall(host: host, kind: .httpGet(host: target, port: port, path: path)))
            return httpHandlers[host] ?? defaultHTTP
        }
        return try await Self.bounded(timeout, host: host, what: "GET \(path)") { try await handler(host, path) }
    }

    fileprivate func sentScript(host: String, _ script: ReadScript) {
        locked { log.append(ScriptedCall(host: host, kind: .script(sections: script.sections.map(\.name), stopsAtFailure: script.stopsAtFailure))) }
    }

    fileprivate func closed(host: String) {
        locked { log.append(ScriptedCall(host: host, kind: .close)) }
    }

    /// Runs `work`, throwing `TransportError.timedOut` if it outlasts `timeout`, as a real transport does.
    private static func bounded<T: Sendable>(_ timeout: Duration, host: String, what: String,
                                             _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw TransportError.timedOut(host: host, command: what, after: timeout)
            }
            return value
        }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// One scripted host's connection. Like the SSH transport, it serves its calls at once (each on a channel of its
/// own), a command past its deadline ends that call only, and it is unusable after `close`.
final class ScriptedTransport: Transport, @unchecked Sendable {
    let host: String
    let factory: ScriptedTransportFactory
    private let lock = NSLock()
    private var broken = false

    init(host: String, factory: ScriptedTransportFactory) {
        self.host = host
        self.factory = factory
    }

    func run(_ command: String, input: String?, timeout: Duration) async throws -> CommandResult {
        try checkUsable()
        return try await factory.run(host: host, command: command, input: input, timeout: timeout)
    }

    /// A scripted host answers each section by its rules, as if it had run the script, stopping after a failed one
    /// when the script does (the script's one round trip is checked against real hosts, end to end).
    /// The whole script is one command: `timeout` bounds all its sections together.
    func runReads(_ script: ReadScript, timeout: Duration) async throws -> [String: CommandResult] {
        try checkUsable()
        factory.sentScript(host: host, script)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var results: [String: CommandResult] = [:]
        for section in script.sections {
            let left = clock.now.duration(to: deadline)
            do {
                let result = try await run(section.command.rendered, input: nil, timeout: max(left, .milliseconds(1)))
                results[section.name] = result
                if script.stopsAtFailure, !result.succeeded { break }
            } catch TransportError.timedOut {
                throw TransportError.timedOut(host: host, command: script.command.rendered, after: timeout)
            }
        }
        return results
    }

    func httpGet(_ url: HealthURL, timeout: Duration) async throws -> HTTPResponse {
        try checkUsable()
        return try await factory.httpGet(host: host, target: url.host, port: url.port, path: url.path, timeout: timeout)
    }

    func close() async {
        lock.withLock { broken = true }
        factory.closed(host: host)
    }

    private func checkUsable() throws {
        if lock.withLock({ broken }) { throw TransportError.lost(host: host, reason: "connection already closed") }
    }
}
