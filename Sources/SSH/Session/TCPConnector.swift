import CLibSSH2
import Foundation

/// Opens a non-blocking TCP socket to host:port within a deadline, trying each resolved address in turn.
enum TCPConnector {
    /// A name lookup: getaddrinfo's return code and list. Replaceable in tests.
    typealias Resolver = @Sendable (_ host: String, _ port: Int) -> (Int32, UnsafeMutablePointer<addrinfo>?)

    static let systemResolver: Resolver = { host, port in
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        return (rc, list)
    }

    static func connect(host: String, port: Int, deadline: Deadline, endpoint: String,
                        resolver: @escaping Resolver = systemResolver) throws -> Int32 {
        let list = try resolve(host: host, port: port, deadline: deadline, endpoint: endpoint, resolver: resolver)
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

    /// Resolves `host` within the deadline. getaddrinfo cannot be interrupted, so it runs on a thread of its own;
    /// past the deadline it is left to finish there (and free what it found) while the connect gives up.
    static func resolve(host: String, port: Int, deadline: Deadline, endpoint: String,
                        resolver: @escaping Resolver) throws -> UnsafeMutablePointer<addrinfo> {
        let lookup = Lookup()
        let thread = Thread {
            let (rc, list) = resolver(host, port)
            if !lookup.finish(rc, list), let list { freeaddrinfo(list) }
        }
        thread.stackSize = 256 << 10
        thread.start()
        guard let (rc, list) = lookup.wait(until: deadline) else {
            throw SSHError.connectTimedOut(endpoint: endpoint, stage: "name resolution", after: deadline.elapsed)
        }
        guard rc == 0, let list else {
            if let list { freeaddrinfo(list) }
            throw SSHError.cannotResolve(endpoint: endpoint, reason: String(cString: gai_strerror(rc)))
        }
        return list
    }

    /// A lookup's answer handed from its thread to the waiting one, or left to the lookup once nobody waits.
    private final class Lookup: @unchecked Sendable {
        private let condition = NSCondition()
        private var answer: (Int32, UnsafeMutablePointer<addrinfo>?)?
        private var abandoned = false

        /// False when the waiter gave up: the caller keeps (and frees) the list.
        func finish(_ rc: Int32, _ list: UnsafeMutablePointer<addrinfo>?) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            guard !abandoned else { return false }
            answer = (rc, list)
            condition.signal()
            return true
        }

        func wait(until deadline: Deadline) -> (Int32, UnsafeMutablePointer<addrinfo>?)? {
            condition.lock()
            defer { condition.unlock() }
            while answer == nil {
                let left = deadline.end - ContinuousClock.now
                if left <= .zero || !condition.wait(until: Date().addingTimeInterval(left.inSeconds)) {
                    if answer != nil { break }
                    abandoned = true
                    return nil
                }
            }
            return answer
        }
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
