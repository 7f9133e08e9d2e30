import Foundation
import SSH
import Testing
import TestSupport

@Suite("exec over a real sshd")
struct ExecTests {
    @Test func stdoutStderrAndExitCodes() async throws {
        let fixture = try SSHFixture()
        let connection = try await fixture.connect()
        let ok = try await connection.run("echo out; echo err >&2", timeout: .seconds(10))
        #expect(ok == SSHCommandResult(exitStatus: 0, signal: nil, stdout: "out\n", stderr: "err\n", stdoutBytes: 4, stderrBytes: 4,
                                       stdoutTruncated: false, stderrTruncated: false))
        let three = try await connection.run("echo partial; exit 3", timeout: .seconds(10))
        #expect(three.exitStatus == 3)
        #expect(three.signal == nil)
        #expect(three.stdout == "partial\n")
        let killed = try await connection.run("kill -9 $$", timeout: .seconds(10))
        #expect(killed.exitStatus == 137)
        #expect(killed.signal == "KILL")
        await connection.close()
    }
}
