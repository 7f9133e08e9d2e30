import Foundation
import Inventory
import Rollout
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

    func run(_ command: String, timeout: Duration) async throws -> CommandResult {
        lock.withLock { commands.append(command) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = path + ":" + (environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin")
        process.environment = environment
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Blocking reads belong on dispatch threads, never on the cooperative pool (it has one thread per core).
        let out = PipeReader(output), err = PipeReader(errors)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        if process.isRunning {
            process.terminate()
            throw TransportError.timedOut(host: "local", command: command, after: timeout)
        }
        return CommandResult(exitStatus: process.terminationStatus, stdout: out.text(), stderr: err.text())
    }

    func httpGet(_ url: HealthURL, timeout: Duration) async throws -> HTTPResponse {
        let response = try LoopbackHTTP.get(address: url.host, port: url.port, path: url.path, timeout: timeout)
        return HTTPResponse(status: response.status, body: response.body)
    }

    func close() async {}
}

/// Reads a pipe to its end on a dispatch thread.
private final class PipeReader: @unchecked Sendable {
    private let done = DispatchGroup()
    private var data = Data()

    init(_ pipe: Pipe) {
        done.enter()
        DispatchQueue.global().async {
            self.data = pipe.fileHandleForReading.readDataToEndOfFile()
            self.done.leave()
        }
    }

    /// What was read, waiting at most 5 s after the process ended for the last bytes.
    func text() -> String {
        _ = done.wait(timeout: .now() + 5)
        return String(decoding: data, as: UTF8.self)
    }
}
