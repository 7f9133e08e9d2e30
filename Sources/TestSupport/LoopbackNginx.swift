import Foundation

/// A real nginx for tests, with everything in a temp dir (config, pid, logs, temp paths): never /etc/nginx.
/// Its main config includes `conf.d/*.conf` inside `http {}`, as Debian's does. `binDirectory` holds an `nginx`
/// wrapper that points at this instance, so `nginx -t` and `nginx -s reload` run by a remote shell with that
/// directory first on its PATH act on it, as they would on a real gateway host.
public final class LoopbackNginx: @unchecked Sendable {
    public let directory: String
    public let binDirectory: String
    public let configDirectory: String
    public let errorLogPath: String
    private let pidPath: String

    public static let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Prepares the directory and starts nginx (daemonized; stopped by its master's PID in `stop`).
    public static func start(name: String = "nginx") throws -> LoopbackNginx {
        guard let binary else {
            throw TestCommand.Failed(description: "nginx is not installed; run scripts/install-deps (make test does)")
        }
        let nginx = try LoopbackNginx(directory: try TemporaryDirectory.make(prefix: name), binary: binary)
        try nginx.launch()
        let deadline = ContinuousClock.now + .seconds(10)
        while nginx.masterPID == nil, ContinuousClock.now < deadline { usleep(10_000) }
        guard nginx.masterPID != nil else { throw TestCommand.Failed(description: "nginx did not start: \(nginx.errorLog)") }
        return nginx
    }

    private init(directory: String, binary: String) throws {
        self.directory = directory
        binDirectory = directory + "/bin"
        configDirectory = directory + "/conf.d"
        errorLogPath = directory + "/error.log"
        pidPath = directory + "/nginx.pid"
        let files = FileManager.default
        try files.createDirectory(atPath: binDirectory, withIntermediateDirectories: true)
        try files.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
        try Self.mainConfig(directory: directory, pidPath: pidPath, errorLog: errorLogPath, include: directory + "/conf.d/*.conf")
            .write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        let wrapper = "#!/bin/sh\nexec \(binary) -p '\(directory)/' -c '\(directory)/nginx.conf' -e '\(errorLogPath)' \"$@\"\n"
        try wrapper.write(toFile: binDirectory + "/nginx", atomically: true, encoding: .utf8)
        try files.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binDirectory + "/nginx")
    }

    deinit { stop() }

    /// Starts the daemon with output to a file: the daemon keeps inherited descriptors, so a pipe would never
    /// reach EOF. The wrapper's own process exits once nginx has daemonized.
    private func launch() throws {
        let log = directory + "/start.log"
        let starter = try ChildProcess.spawn(binDirectory + "/nginx", [], stdout: .file(log), stderr: .file(log))
        guard let status = starter.wait(timeout: .seconds(10)) else {
            starter.stop()
            throw TestCommand.Failed(description: "nginx did not start within 10 s", timedOut: true)
        }
        guard status == 0 else {
            throw TestCommand.Failed(description: "nginx did not start (exit \(status)): " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
    }

    /// A main nginx.conf that keeps every file nginx writes under `directory` and includes `include`
    /// (a file or a glob) in its `http` block; for the test gateway and for `nginx -t` checks alike.
    public static func mainConfig(directory: String, pidPath: String, errorLog: String, include: String) -> String {
        """
        user root;
        worker_processes 1;
        pid \(pidPath);
        error_log \(errorLog);
        events { worker_connections 256; }
        http {
            access_log off;
            client_body_temp_path \(directory)/body;
            proxy_temp_path \(directory)/proxy;
            fastcgi_temp_path \(directory)/fastcgi;
            uwsgi_temp_path \(directory)/uwsgi;
            scgi_temp_path \(directory)/scgi;
            include \(include);
        }

        """
    }

    public var masterPID: pid_t? {
        guard let text = try? String(contentsOfFile: pidPath, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 else { return nil }
        return pid
    }

    public var errorLog: String { (try? String(contentsOfFile: errorLogPath, encoding: .utf8)) ?? "" }

    /// Runs the wrapper (`-t`, `-s reload`, …) and returns its output, throwing when it fails.
    @discardableResult
    public func run(_ arguments: [String]) throws -> String {
        try TestCommand.run(binDirectory + "/nginx", arguments)
    }

    /// Stops the master (and so its workers) by PID: a fast shutdown, waited for at most 5 s.
    public func stop() {
        guard let pid = masterPID else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(5)
        while kill(pid, 0) == 0, ContinuousClock.now < deadline { usleep(10_000) }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }
}

/// A minimal HTTP/1.1 client for loopback addresses, with a hard deadline per request.
public enum LoopbackHTTP {
    public struct Response: Sendable {
        public var status: Int
        public var body: String
        /// Header lines, names lowercased (the last of a repeated name wins).
        public var headers: [String: String] = [:]
    }

    /// GET `path` from `address:port` (an IPv4 loopback address). Throws when there is no complete answer in time.
    public static func get(address: String, port: Int, path: String, timeout: Duration = .seconds(5)) throws -> Response {
        guard address.hasPrefix("127.") else { throw TestCommand.Failed(description: "\(address) is not a loopback address") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestCommand.Failed(description: "socket: \(errno)") }
        defer { close(fd) }
        let millis = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        var limit = timeval(tv_sec: millis / 1000, tv_usec: Int((millis % 1000) * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = UInt16(port).bigEndian
        target.sin_addr.s_addr = inet_addr(address)
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestCommand.Failed(description: "connect \(address):\(port): errno \(errno)") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw TestCommand.Failed(description: "send to \(address):\(port): errno \(errno)")
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { received += buffer[0..<count] } else { break }
        }
        let text = String(decoding: received, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let statusLine = parts.first?.split(separator: "\r\n").first ?? ""
        let fields = statusLine.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/"), let status = Int(fields[1]) else {
            throw TestCommand.Failed(description: "no HTTP answer from \(address):\(port)\(path) (got \(received.count) bytes)")
        }
        var headers: [String: String] = [:]
        for line in (parts.first ?? "").components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, body: parts.dropFirst().joined(separator: "\r\n\r\n"), headers: headers)
    }
}
