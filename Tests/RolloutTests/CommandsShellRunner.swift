import Commands
import Foundation
import Plan
import Engine
import TestSupport

/// Runs rendered remote commands in a local `/bin/sh`, with HOME pointing at a scratch directory,
/// so tests see what a host's shell does with them.
struct CommandsShellRunner {
    let home: URL

    init() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("plan-shell-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    }

    private var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = home.path
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["GIT_AUTHOR_NAME"] = "t"
        environment["GIT_AUTHOR_EMAIL"] = "t@example.invalid"
        environment["GIT_COMMITTER_NAME"] = "t"
        environment["GIT_COMMITTER_EMAIL"] = "t@example.invalid"
        return environment
    }

    func remove() { try? FileManager.default.removeItem(at: home) }

    func run(_ command: RemoteCommand, timeout: TimeInterval = 20) throws -> CommandResult {
        try run(shell: command.rendered, timeout: timeout)
    }

    /// Starts every script at once and returns their exit statuses in the same order. Scripts must not
    /// use the shell's `wait` builtin: children of the test runner inherit a blocked SIGCHLD.
    func runConcurrently(_ scripts: [String], timeout: TimeInterval = 20) throws -> [Int32] {
        // ChildProcess cannot change directory before exec; env(1) does, then execs (as TestCommand.capture does).
        let started = try scripts.map { script in
            (script, try ChildProcess.spawn("/usr/bin/env", ["-C", home.path, "/bin/sh", "-c", script], environment: environment))
        }
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        return try started.map { script, child in
            guard let status = child.wait(timeout: max(deadline - ContinuousClock.now, .zero)) else {
                started.forEach { $0.1.stop() }
                throw CommandsShellTimeout(script: script)
            }
            return status
        }
    }

    func run(shell script: String, timeout: TimeInterval = 20) throws -> CommandResult {
        let output = try TestCommand.capture("/bin/sh", ["-c", script], directory: home.path, environment: environment,
                                             timeout: .seconds(timeout))
        return CommandResult(exitStatus: output.status, stdout: output.stdout, stderr: output.stderr)
    }
}

struct CommandsShellTimeout: Error, CustomStringConvertible {
    let script: String
    var description: String { "shell command did not finish in time: \(script)" }
}
