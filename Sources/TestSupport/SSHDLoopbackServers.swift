import Foundation

/// Loopback ports for tests.
public enum LoopbackPort {
    /// A port that was free a moment ago (bound to 127.0.0.1:0, then released).
    public static func free() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestCommand.Failed(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = loopback(port: 0)
        guard bindSocket(fd, &address) == 0 else { throw TestCommand.Failed(description: "bind: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:port right now.
    public static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    static func bindSocket(_ fd: Int32, _ address: inout sockaddr_in) -> Int32 {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// A listening socket on 127.0.0.1 and a free port.
    static func listen() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestCommand.Failed(description: "socket: \(errno)") }
        var address = loopback(port: 0)
        guard bindSocket(fd, &address) == 0, Glibc.listen(fd, 128) == 0 else {
            close(fd)
            throw TestCommand.Failed(description: "bind/listen: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}

/// A TCP server on 127.0.0.1 that accepts connections and never sends a byte: an SSH client talking to
/// it must give up at its handshake deadline.
public final class SilentTCPServer: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private let source: DispatchSourceRead
    private let lock = NSLock()
    private var accepted: [Int32] = []

    /// With `hangUpAfter`, each connection is closed that long after it was accepted: a client whose own
    /// deadline does not hold then fails with another error instead of hanging the test.
    public init(hangUpAfter: Duration? = nil) throws {
        (listener, port) = try LoopbackPort.listen()
        let queue = DispatchQueue(label: "silent-tcp")
        source = DispatchSource.makeReadSource(fileDescriptor: listener, queue: queue)
        source.setEventHandler { [weak self] in
            guard let self else { return }
            let fd = accept(self.listener, nil, nil)
            guard fd >= 0 else { return }
            self.lock.withLock { self.accepted.append(fd) }
            if let hangUpAfter {
                queue.asyncAfter(deadline: .now() + .milliseconds(Int(hangUpAfter / .milliseconds(1)))) { [weak self] in
                    self?.hangUp(fd)
                }
            }
        }
        source.resume()
    }

    private func hangUp(_ fd: Int32) {
        lock.withLock {
            // Only a descriptor still ours: after `stop` the number may belong to something else.
            guard let index = accepted.firstIndex(of: fd) else { return }
            accepted.remove(at: index)
            close(fd)
        }
    }

    public func stop() {
        source.cancel()
        lock.withLock {
            accepted.forEach { close($0) }
            accepted = []
        }
        close(listener)
    }
}

/// A port on 127.0.0.1 whose connections never complete: it listens with an accept queue of one that is
/// already full and never accepts, so the kernel drops every new SYN and a connect to it hangs (until the
/// caller's own deadline).
public final class UnansweredConnectPort: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private var fillers: [Int32] = []

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestCommand.Failed(description: "socket: \(errno)") }
        var address = LoopbackPort.loopback(port: 0)
        guard LoopbackPort.bindSocket(fd, &address) == 0, listen(fd, 0) == 0 else {
            close(fd)
            throw TestCommand.Failed(description: "bind/listen: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        // Two connections fill the queue (the first completes into it, the second waits for a slot).
        for _ in 0..<2 {
            let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard client >= 0 else { continue }
            var target = LoopbackPort.loopback(port: port)
            _ = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            fillers.append(client)
        }
        usleep(100_000)
    }

    public func stop() {
        fillers.forEach { close($0) }
        fillers = []
        close(listener)
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1: answers each request by its path from `routes`
/// (404 otherwise) and closes the connection.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public struct Route: Sendable {
        public var status: Int
        public var body: String
        public var headers: [String]
        public init(status: Int = 200, body: String, headers: [String] = []) {
            self.status = status
            self.body = body
            self.headers = headers
        }
    }

    public let port: Int
    private let listener: Int32
    private let routes: [String: Route]
    private let onRequest: (@Sendable (String) -> Void)?
    private let source: DispatchSourceRead

    /// `onRequest` is called with each request's path before it is answered.
    public init(routes: [String: Route], onRequest: (@Sendable (String) -> Void)? = nil) throws {
        (listener, port) = try LoopbackPort.listen()
        self.routes = routes
        self.onRequest = onRequest
        source = DispatchSource.makeReadSource(fileDescriptor: listener, queue: DispatchQueue(label: "loopback-http"))
        source.setEventHandler { [weak self] in
            guard let self else { return }
            let fd = accept(self.listener, nil, nil)
            guard fd >= 0 else { return }
            DispatchQueue.global().async { self.answer(fd) }
        }
        source.resume()
    }

    public func stop() {
        source.cancel()
        close(listener)
    }

    private func answer(_ fd: Int32) {
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.count < 65536, !String(decoding: request, as: UTF8.self).contains("\r\n\r\n") {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { return }
            request += buffer[0..<count]
        }
        let firstLine = String(decoding: request, as: UTF8.self).split(separator: "\r\n").first ?? ""
        let path = firstLine.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
        onRequest?(path)
        let route = routes[path] ?? Route(status: 404, body: "not found\n")
        let head = (["HTTP/1.1 \(route.status) X", "Content-Length: \(route.body.utf8.count)", "Connection: close"] + route.headers)
            .joined(separator: "\r\n") + "\r\n\r\n"
        let bytes = Array((head + route.body).utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }
}
