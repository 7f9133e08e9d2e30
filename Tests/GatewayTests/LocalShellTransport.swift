import Commands
import Foundation
import Inventory
import Plan
import Engine
import TestSupport

/// A `Transport` whose "remote host" is this machine: commands run under `sh -c` with `path` first on PATH (where
/// a test nginx's wrapper lives), exactly as the gateway host's shell would run them over SSH.
final class LocalShellTransport: Transport, TransportFactory, @unchecked Sendable {
    let path: String
    private let lock = NSLock()
    private var commands: [String] = []

    init(path: String) { self.path = path }

    /// Every command run so far, in order.
    var history: [String] { lock.withLock { commands } }

    func connect(to host: Endpoint) async throws -> any Transport { self }

    /// The gateway's commands take no input.
    func run(_ command: String, input: String?, timeout: Duration) async throws -> CommandResult {
        precondition(input == nil, "gateway commands take no stdin")
        lock.withLock { commands.append(command) }
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = path + ":" + (environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin")
        let output: TestCommand.Output
        do {
            output = try await offPool { [environment] in
                try TestCommand.capture("/bin/sh", ["-c", command], environment: environment, timeout: timeout)
            }
        } catch let failure as TestCommand.Failed where failure.timedOut {
            throw TransportError.timedOut(host: "local", command: command, after: timeout)
        }
        return CommandResult(exitStatus: output.status, stdout: output.stdout, stderr: output.stderr)
    }

    func httpGet(_ url: HealthURL, timeout: Duration) async throws -> HTTPResponse {
        let response = try LoopbackHTTP.get(address: url.host, port: url.port, path: url.path, timeout: timeout)
        return HTTPResponse(status: response.status, body: response.body)
    }

    func close() async {}
}
