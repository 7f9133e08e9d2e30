import Foundation

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
        try mainConfig(prefix: dir.path, including: gatewayFile.path).write(to: mainFile, atomically: true, encoding: .utf8)
        return try run(nginx, ["-t", "-p", dir.path + "/", "-c", mainFile.path, "-e", dir.appendingPathComponent("error.log").path])
    }

    static func mainConfig(prefix: String, including file: String) -> String {
        """
        pid \(prefix)/nginx.pid;
        error_log \(prefix)/error.log;
        events { worker_connections 64; }
        http {
            access_log off;
            client_body_temp_path \(prefix)/body;
            proxy_temp_path \(prefix)/proxy;
            fastcgi_temp_path \(prefix)/fastcgi;
            uwsgi_temp_path \(prefix)/uwsgi;
            scgi_temp_path \(prefix)/scgi;
            include \(file);
        }

        """
    }

    /// Runs a program with a 30 s bound, returning its exit status and combined output.
    static func run(_ program: String, _ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        if exited.wait(timeout: .now() + 30) == .timedOut {
            process.terminate()
            exited.wait()
        }
        // nginx -t writes a few lines: they fit in the pipe buffer, so reading after exit cannot block.
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        return Outcome(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self))
    }
}
