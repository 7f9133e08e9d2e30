import Foundation
import Plan
import Testing
import TestSupport

/// The sandbox fleet of `scripts/sandbox` as the end-to-end tests see it: the built binary, the hosts
/// (reached with the system `ssh` client, independently of the tool), the origin repositories.
enum Sandbox {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let dir = ProcessInfo.processInfo.environment["SANDBOX_DIR"] ?? "/var/lib/openclaw-sandbox"
    /// The runtime the sandbox's apps run on (`scripts/sandbox up --runtime docker`): `E2E_RUNTIME`, else podman.
    static let runtime = ProcessInfo.processInfo.environment["E2E_RUNTIME"] ?? "podman"
    /// The container engine of that runtime, for tests that act on a host's containers directly.
    static var engine: String { runtime == "docker" ? "docker" : "podman" }

    /// The sandbox inventory; on the docker runtime the same hosts with `compose.command: docker-compose`.
    static let inventory: String = {
        let podman = root.appendingPathComponent("inventory/sandbox.yaml").path
        guard runtime == "docker" else { return podman }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("openclaw-e2e-\(runtime)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("sandbox.yaml").path
        let text = (try? String(contentsOfFile: podman, encoding: .utf8)) ?? ""
        try? text.replacingOccurrences(of: "command: podman-compose", with: "command: docker-compose")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()
    static let addresses = ["cs-1": "127.0.0.11", "cs-2": "127.0.0.12", "cs-3": "127.0.0.13", "cs-4": "127.0.0.14",
                            "content-1": "127.0.0.21", "content-2": "127.0.0.22"]
    static let repos = ["cs-1": "customer-service", "cs-2": "customer-service", "cs-3": "customer-service", "cs-4": "customer-service",
                        "content-1": "content", "content-2": "content"]

    /// The `openclaw-deploy` binary built next to this test bundle (or `OPENCLAW_DEPLOY_BIN`).
    static var binary: String {
        get throws {
            if let path = ProcessInfo.processInfo.environment["OPENCLAW_DEPLOY_BIN"] { return path }
            var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("openclaw-deploy").path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
            throw SandboxError("the openclaw-deploy binary was not found next to the test bundle (\(CommandLine.arguments[0])); "
                + "build it (swift build) or set OPENCLAW_DEPLOY_BIN")
        }
    }

    /// Every host back on v1, deploy state cleared, origin main on v2. Fails the test, saying what to
    /// do, when the sandbox cannot be brought to that state.
    static func reset() throws {
        // Inventories and keys earlier tests wrote for themselves.
        let tmp = FileManager.default.temporaryDirectory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? [] where name.hasPrefix("exec-e2e-") {
            try? FileManager.default.removeItem(at: tmp.appendingPathComponent(name))
        }
        let result = try Command.run(root.appendingPathComponent("scripts/sandbox").path, ["reset"], timeout: 300)
        guard result.status == 0 else {
            throw SandboxError("scripts/sandbox reset failed (exit \(result.status)); the end-to-end tests need the sandbox hosts "
                + "(run `scripts/sandbox up` as root, see docs/sandbox.md):\n\(result.stderr)\(result.stdout)")
        }
    }

    /// Runs the tool against the sandbox inventory.
    static func deployTool(_ args: [String], inventory: String = Sandbox.inventory, timeout: Double = 240,
                           environment: [String: String] = [:]) throws -> Command.Result {
        try Command.run(binary, args + ["-i", inventory], timeout: timeout, environment: environment)
    }

    /// Runs a shell command on a sandbox host over the system ssh client. Its key exchange is curve25519: the
    /// client's default (sntrup761x25519) costs each side about 0.15 s of CPU a connection, and the suite makes hundreds.
    static func ssh(_ host: String, _ command: String) throws -> Command.Result {
        try Command.run("/usr/bin/ssh", [
            "-i", "\(dir)/keys/id_ed25519", "-o", "UserKnownHostsFile=\(dir)/known_hosts", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "KexAlgorithms=curve25519-sha256", "-p", "2222",
            "root@\(addresses[host]!)", command,
        ], timeout: 60)
    }

    static func checkout(_ host: String) -> String { "~/openclaw/\(repos[host]!)" }

    /// The commit checked out on the host.
    static func revision(_ host: String) throws -> String {
        try ssh(host, "git -C \(checkout(host)) rev-parse HEAD").checked().stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What the host's app answers on /health: status and body.
    static func health(_ host: String) throws -> (status: Int, body: String) {
        let out = try Command.run("/usr/bin/curl", ["-s", "-m", "5", "-w", "\n%{http_code}", "http://\(addresses[host]!):18080/health"],
                                  timeout: 10).stdout
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The host's history.jsonl lines, parsed.
    static func history(_ host: String, service: String) throws -> [[String: Any]] {
        let out = try ssh(host, "cat ~/.openclaw-deploy/\(service)/history.jsonl 2>/dev/null || true").checked().stdout
        return try out.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw SandboxError("history line is not a JSON object: \(line)")
            }
            return object
        }
    }

    /// Whether the service's lock directory exists on the host.
    static func isLocked(_ host: String, service: String) throws -> Bool {
        try ssh(host, "test -e ~/.openclaw-deploy/\(service)/lock && echo yes || echo no").checked().stdout.contains("yes")
    }

    /// The commit a release ref has in the service's origin.
    static func originSHA(_ service: String, _ ref: String) throws -> String {
        try Command.run("/usr/bin/git", ["-C", "\(dir)/origin/\(service).git", "rev-parse", "\(ref)^{commit}"])
            .checked().stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A commit on top of `main` in the service's origin (what a colleague pushing looks like).
    static func pushToMain(_ service: String, message: String) throws -> String {
        let origin = "\(dir)/origin/\(service).git"
        let tree = try Command.run("/usr/bin/git", ["-C", origin, "rev-parse", "main^{tree}"]).checked().stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let commit = try Command.run("/usr/bin/git", ["-C", origin, "commit-tree", tree, "-p", "main", "-m", message],
                                     environment: ["GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@localhost",
                                                   "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@localhost"])
            .checked().stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try Command.run("/usr/bin/git", ["-C", origin, "update-ref", "refs/heads/main", commit]).checked()
        return commit
    }

    /// A copy of the sandbox inventory with text replaced (another known_hosts file, say), in a temp dir.
    static func inventoryVariant(_ replacements: [(String, String)]) throws -> String {
        var text = try String(contentsOfFile: inventory, encoding: .utf8)
        for (old, new) in replacements { text = text.replacingOccurrences(of: old, with: new) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("exec-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("sandbox.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

struct SandboxError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A child process with captured output and a hard deadline.
enum Command {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        @discardableResult
        func checked() throws -> Result {
            guard status == 0 else { throw SandboxError("command failed (exit \(status)): \(stderr)\(stdout)") }
            return self
        }
    }

    /// Starts the process, for tests that signal it or read its output while it runs.
    final class Running: Sendable {
        private let command: RunningCommand

        init(_ executable: String, _ args: [String], environment: [String: String]) throws {
            var env = ProcessInfo.processInfo.environment
            env["NO_COLOR"] = "1"
            env.merge(environment) { $1 }
            command = try RunningCommand(executable, args, environment: env)
        }

        var isRunning: Bool { command.isRunning }

        func signal(_ signal: Int32) { command.signal(signal) }

        /// Output written so far.
        var stdout: String { command.stdout }

        /// Throws, with the output so far, when the process outlives `timeout` seconds (it is killed then).
        /// A process a signal ended has status 128 + signal number.
        func wait(timeout: Double) throws -> Result {
            let output = try command.wait(timeout: .milliseconds(Int(timeout * 1000)))
            return Result(status: output.status, stdout: output.stdout, stderr: output.stderr)
        }
    }

    static func run(_ executable: String, _ args: [String], timeout: Double = 60, environment: [String: String] = [:]) throws -> Result {
        try Running(executable, args, environment: environment).wait(timeout: timeout)
    }
}

/// JSON Lines output of the tool, parsed.
func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw SandboxError("not a JSON object: \(line)")
        }
        return object
    }
}

func jsonDocument(_ text: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw SandboxError("not a JSON document: \(text)")
    }
    return object
}
