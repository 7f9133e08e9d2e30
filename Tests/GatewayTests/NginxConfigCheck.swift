import Foundation
import TestSupport

/// Runs the real `nginx -t` on a rendered gateway config, inside a throwaway prefix: a main config that includes
/// the rendered file in `http {}`, with its pid, logs and temp paths in a temp dir, never touching /etc/nginx.
enum NginxConfigCheck {
    struct Outcome {
        var status: Int32
        var output: String
        var passed: Bool { status == 0 }
    }

    static let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func test(renderedConfig: String) throws -> Outcome {
        guard let nginx = binary else {
            return Outcome(status: 127, output: "nginx is not installed; run scripts/install-deps (make test does)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gw-nginx-t-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let gatewayFile = dir.appendingPathComponent("openclaw.conf")
        try renderedConfig.write(to: gatewayFile, atomically: true, encoding: .utf8)
        let mainFile = dir.appendingPathComponent("nginx.conf")
        try LoopbackNginx.mainConfig(directory: dir.path, pidPath: dir.path + "/nginx.pid", errorLog: dir.path + "/error.log",
                                     include: gatewayFile.path).write(to: mainFile, atomically: true, encoding: .utf8)
        return try run(nginx, ["-t", "-p", dir.path + "/", "-c", mainFile.path, "-e", dir.appendingPathComponent("error.log").path])
    }

    /// Runs a program with a 30 s bound, returning its exit status and its output (stderr, then stdout).
    static func run(_ program: String, _ arguments: [String]) throws -> Outcome {
        let output = try TestCommand.capture(program, arguments, timeout: .seconds(30))
        return Outcome(status: output.status, output: output.stderr + output.stdout)
    }
}
