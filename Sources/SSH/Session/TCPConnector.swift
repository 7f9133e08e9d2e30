import CLibSSH2
import Foundation

/// Opens a non-blocking TCP socket to host:port within a deadline, trying each resolved address in turn.
enum TCPConnector {
    static func connect(host: String, port: Int, deadline: Deadline, endpoint: String) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let list else {
            throw SSHError.cannotResolve(endpoint: endpoint, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(list) }

        var failures: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { failures.append(String(cString: strerror(errno))); continue }
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 || errno == EINPROGRESS {
                switch waitConnected(fd, deadline: deadline) {
                case 0:
                    openclaw_set_nodelay(fd)
                    return fd
                case ETIMEDOUT where deadline.hasPassed:
                    close(fd)
                    throw SSHError.connectTimedOut(endpoint: endpoint, stage: "TCP connect", after: deadline.elapsed)
                case let error:
                    failures.append(String(cString: strerror(error)))
                }
            } else {
                failures.append(String(cString: strerror(errno)))
            }
            close(fd)
        }
        throw SSHError.cannotConnect(endpoint: endpoint, reason: failures.isEmpty ? "no address" : failures.joined(separator: "; "))
    }

    /// 0 once connected, else the socket error (ETIMEDOUT at the deadline).
    private static func waitConnected(_ fd: Int32, deadline: Deadline) -> Int32 {
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let ready = poll(&entry, 1, deadline.pollMilliseconds)
            if ready > 0 { break }
            if ready == 0 || deadline.hasPassed { return ETIMEDOUT }
            if errno != EINTR { return errno }
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return errno }
        return error
    }
}
