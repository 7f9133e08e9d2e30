import Foundation
import SSH
import Testing
import TestSupport

@Suite("many connections at once")
struct ParallelTests {
    @Test func hundredSessionsToOneSSHDWithDefaultMaxStartups() async throws {
        let fixture = try await SSHFixture()
        let configuration = fixture.configuration(connectTimeout: .seconds(10))
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<100 {
                group.addTask {
                    let connection = try await SSHConnection.connect(configuration)
                    let result = try await connection.run("echo \(index)", timeout: .seconds(20))
                    await connection.close()
                    return result.stdout
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(outputs == Set((0..<100).map { "\($0)\n" }))
    }

    @Test func startsThatSSHDDropsAreRetried() async throws {
        // sshd with `MaxStartups 2` refuses every start past two unauthenticated connections. Two raw TCP connections
        // that never say a word hold both slots, so the tool's first start is dropped for certain (however loaded the
        // machine is); they are closed after 400 ms, and a retry must then get through.
        let fixture = try await SSHFixture(.init(extraConfig: ["MaxStartups 2"]))
        let holders = try (0..<2).map { _ in try Self.silentConnection(port: fixture.server.port) }
        let released = Task {
            try? await Task.sleep(for: .milliseconds(400))
            for fd in holders { close(fd) }
        }
        let connection = try await SSHConnection.connect(fixture.configuration(connectTimeout: .seconds(10)))
        _ = await released.value
        #expect(try await connection.run("true", timeout: .seconds(20)).exitStatus == 0)
        await connection.close()
        // The retry path was taken: sshd did drop the start.
        let log = try String(contentsOfFile: fixture.server.logPath, encoding: .utf8)
        #expect(log.contains("past MaxStartups"), "\(log)")
    }

    /// A TCP connection to 127.0.0.1:`port` that sends nothing (to sshd, an unauthenticated start).
    static func silentConnection(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else { throw TestCommand.Failed(description: "connect to 127.0.0.1:\(port): errno \(errno)") }
        return fd
    }
}
