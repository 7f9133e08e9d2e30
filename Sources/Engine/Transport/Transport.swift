import Commands
import ExitCategories
import Inventory
import Plan

/// One host's connection, as the rollout engine sees it. The SSH-backed implementation lives in the
/// CLI layer; tests of pure rollout logic use a scripted one.
public protocol Transport: Sendable {
    /// Runs one shell command line on the host, with `input` on its stdin (nil: empty). The command must be
    /// stopped on the host (not just abandoned) when `timeout` expires, and the call then throws
    /// `TransportError.timedOut`. Secrets travel in `input`, never in `command`.
    func run(_ command: String, input: String?, timeout: Duration) async throws -> CommandResult

    /// Runs the script's reads, in one round trip, and returns each section's result (a section whose result
    /// did not come back is absent). Transports normally keep the default, which sends `script.command`.
    func runReads(_ script: ReadScript, timeout: Duration) async throws -> [String: CommandResult]

    /// `runReads`, with one HTTP GET of `url` made while the script runs (through the same connection, so it costs
    /// no round trip of its own). The GET's failure is its result's; the script's throws as `runReads`'s would.
    /// Transports that cannot overlap them keep the default: the reads, then the GET.
    func runReads(_ script: ReadScript, timeout: Duration, alongside url: HealthURL, httpTimeout: Duration)
        async throws -> (reads: [String: CommandResult], response: Result<HTTPResponse, any Error>)

    /// Runs one command and hands its output over chunk by chunk as it arrives (`CommandResult`'s stdout and
    /// stderr stay empty). With `untilStopped` the command's stdin stays open, and cancelling the calling task
    /// closes it: a command that reads its stdin to the end takes that as the sign to stop, and the call returns
    /// once it has. `timeout` bounds it like `run`.
    func stream(_ command: String, timeout: Duration, untilStopped: Bool,
                output: @escaping @Sendable (OutputChunk) -> Void) async throws -> CommandResult

    /// HTTP GET of `url` as seen from the remote host (through the connection).
    func httpGet(_ url: HealthURL, timeout: Duration) async throws -> HTTPResponse

    /// Ends the connection. Further calls fail.
    func close() async
}

/// A piece of a streamed command's output, as it arrived (not split into lines).
public struct OutputChunk: Sendable, Equatable {
    public var isStderr: Bool
    public var bytes: [UInt8]

    public init(isStderr: Bool, bytes: [UInt8]) {
        self.isStderr = isStderr
        self.bytes = bytes
    }
}

public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: String

    public init(status: Int, headers: [(name: String, value: String)] = [], body: String = "") {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func == (a: HTTPResponse, b: HTTPResponse) -> Bool {
        a.status == b.status && a.body == b.body
            && a.headers.map { "\($0.name): \($0.value)" } == b.headers.map { "\($0.name): \($0.value)" }
    }
}

extension Transport {
    /// A command with an empty stdin.
    public func run(_ command: String, timeout: Duration) async throws -> CommandResult {
        try await run(command, input: nil, timeout: timeout)
    }

    public func runReads(_ script: ReadScript, timeout: Duration) async throws -> [String: CommandResult] {
        script.parse(try await run(script.command.rendered, timeout: timeout).stdout)
    }

    public func runReads(_ script: ReadScript, timeout: Duration, alongside url: HealthURL, httpTimeout: Duration)
        async throws -> (reads: [String: CommandResult], response: Result<HTTPResponse, any Error>) {
        let reads = try await runReads(script, timeout: timeout)
        do {
            return (reads, .success(try await httpGet(url, timeout: httpTimeout)))
        } catch {
            return (reads, .failure(error))
        }
    }

    /// For transports that cannot stream: the whole output once the command has ended.
    public func stream(_ command: String, timeout: Duration, untilStopped: Bool,
                       output: @escaping @Sendable (OutputChunk) -> Void) async throws -> CommandResult {
        var result = try await run(command, timeout: timeout)
        if !result.stdout.isEmpty { output(OutputChunk(isStderr: false, bytes: Array(result.stdout.utf8))) }
        if !result.stderr.isEmpty { output(OutputChunk(isStderr: true, bytes: Array(result.stderr.utf8))) }
        result.stdout = ""
        result.stderr = ""
        return result
    }
}

/// Failures of a transport, in the words a person reads.
public enum TransportError: Error, Sendable, Equatable, CategorizedError {
    /// Could not reach, authenticate or verify the host: nothing was changed (exit 4).
    case connectFailed(host: String, reason: String)
    /// A command ran past its deadline and was stopped.
    case timedOut(host: String, command: String, after: Duration)
    /// The HTTP target refused the connection on the host.
    case connectionRefused(host: String, target: String)
    /// The connection broke mid-way.
    case lost(host: String, reason: String)

    public var category: ExitCategory {
        if case .connectFailed = self { return .unreachable }
        return .failed
    }

    public var description: String {
        switch self {
        case .connectFailed(let host, let reason): return "\(host): could not connect: \(reason)"
        case .timedOut(let host, let command, let after):
            return "\(host): command timed out after \(after) and was stopped: \(command)"
        case .connectionRefused(let host, let target): return "\(host): connection refused by \(target) on the host"
        case .lost(let host, let reason): return "\(host): connection lost: \(reason)"
        }
    }
}

/// Opens connections to hosts. The executor asks for one connection per host and uses it for every
/// step of that host.
public protocol TransportFactory: Sendable {
    func connect(to endpoint: Endpoint) async throws -> any Transport
}
