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
        // Without the usual throttle, 40 simultaneous starts overrun a small MaxStartups and sshd drops
        // some (8 unauthenticated at once; every one past that is refused), so the retry path must run.
        let fixture = try await SSHFixture(.init(extraConfig: ["MaxStartups 8"]))
        let configuration = fixture.configuration(connectTimeout: .seconds(10))
        let unthrottled = ConnectionStartLimiter(perEndpoint: 40, total: 40)
        let count = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    let connection = try await SSHConnection.connect(configuration, limiter: unthrottled)
                    return try await connection.run("true", timeout: .seconds(20)).exitStatus == 0 ? 1 : 0
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(count == 40)
        // The retry path was taken: sshd did drop starts.
        let log = try String(contentsOfFile: fixture.server.logPath, encoding: .utf8)
        #expect(log.contains("past MaxStartups"))
    }
}
