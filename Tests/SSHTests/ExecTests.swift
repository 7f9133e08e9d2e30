import Commands
import Foundation
import SSH
import Testing
import TestSupport

@Suite("exec over a real sshd")
struct ExecTests {
    @Test func stdoutStderrAndExitCodes() async throws {
        let fixture = try await SSHFixture()
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

@Suite("exec: volume, deadlines, reuse")
struct ExecLimitsTests {
    static let eightMiB = 8 << 20

    @Test func eightMiBOnStdoutAndStderrAtOnceDoNotDeadlock() async throws {
        let fixture = try await SSHFixture()
        let connection = try await fixture.connect()
        let command = "yes a | head -c \(Self.eightMiB) & yes b | head -c \(Self.eightMiB) >&2; wait"
        let result = try await connection.run(command, timeout: .seconds(30), outputLimit: 16 << 20)
        #expect(result.exitStatus == 0)
        #expect(result.stdoutBytes == Self.eightMiB)
        #expect(result.stderrBytes == Self.eightMiB)
        #expect(result.stdout.utf8.count == Self.eightMiB)
        #expect(result.stderr.hasPrefix("b\nb\n"))
        #expect(!result.stdoutTruncated && !result.stderrTruncated)
    }

    @Test func outputPastTheLimitIsCutWithAMarker() async throws {
        let fixture = try await SSHFixture()
        let connection = try await fixture.connect()
        let result = try await connection.run("yes a | head -c \(Self.eightMiB)", timeout: .seconds(30), outputLimit: 1000)
        #expect(result.stdoutTruncated)
        #expect(result.stdoutBytes == Self.eightMiB)
        #expect(result.stdout.hasSuffix("\n[output cut: kept the first 1000 of \(Self.eightMiB) bytes]\n"))
        #expect(result.stdout.hasPrefix(String(repeating: "a\n", count: 500)))
    }

    @Test func commandPastItsDeadlineIsStoppedOnTheHost() async throws {
        let fixture = try await SSHFixture()
        let connection = try await fixture.connect()
        // Its fraction is a marker to find it by; it ends by itself after 30 s, so a deadline that did not
        // hold would give a result instead of the error, not hang the test.
        let command = "sleep 30.\(Int.random(in: 100_000...999_999))"
        let error = await sshError { _ = try await connection.run(command, timeout: .seconds(1)) }
        guard case .commandTimedOut(_, let timedOut, let after) = error else {
            Issue.record("expected commandTimedOut, got \(String(describing: error))")
            return
        }
        #expect(timedOut == command)
        #expect(after == .seconds(1))
        // Its channel was closed, not the connection: the next command runs on it.
        #expect(connection.isUsable)
        #expect(try await connection.run("echo next", timeout: .seconds(5)).stdout == "next\n")
        // The host's `timeout` ends the command at the deadline (KILL 2 s later at worst); wait for that state.
        var pgrepStatus: Int32 = 0
        for _ in 0..<200 where pgrepStatus == 0 {
            pgrepStatus = try await offPool { try TestCommand.capture("/usr/bin/pgrep", ["-f", command]).status }
            if pgrepStatus == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(pgrepStatus == 1, "pgrep exits 1 when no process matches")
    }

    @Test func oneConnectionRunsManyCommands() async throws {
        let fixture = try await SSHFixture()
        let connection = try await fixture.connect()
        for index in 0..<30 {
            let result = try await connection.run("echo \(index)", timeout: .seconds(5))
            #expect(result.stdout == "\(index)\n")
        }
        #expect(connection.isUsable)
        await connection.close()
        #expect(!connection.isUsable)
    }

    @Test func idleConnectionWithKeepalivesStaysUsable() async throws {
        let fixture = try await SSHFixture()
        var configuration = fixture.configuration()
        configuration.keepaliveInterval = .seconds(1)
        let connection = try await fixture.connect(configuration)
        try await Task.sleep(for: .milliseconds(2300))
        #expect(try await connection.run("echo awake", timeout: .seconds(5)).stdout == "awake\n")
        #expect(connection.isUsable)
    }

    @Test func quotingSurvivesTheWrapper() async throws {
        let fixture = try await SSHFixture()
        let connection = try await fixture.connect()
        let result = try await connection.run("printf '%s|' \"it's\" 'a \"b\"' $HOME", timeout: .seconds(5))
        #expect(result.stdout == "it's|a \"b\"|\(fixture.server.home)|" || result.stdout == "it's|a \"b\"|/root|")
    }
}

@Suite("connect deadlines and failures")
struct ConnectTests {
    @Test func serverThatNeverSpeaksHitsTheHandshakeDeadline() async throws {
        let fixture = try await SSHFixture()
        // Hangs up after 30 s: a handshake deadline that did not hold gives another error, not a hung test.
        let silent = try SilentTCPServer(hangUpAfter: .seconds(30))
        defer { silent.stop() }
        var configuration = fixture.configuration(connectTimeout: .milliseconds(800))
        configuration.port = silent.port
        let error = await sshError { _ = try await SSHConnection.connect(configuration) }
        guard case .connectTimedOut(_, let stage, _) = error else {
            Issue.record("expected connectTimedOut, got \(String(describing: error))")
            return
        }
        #expect(stage == "SSH handshake")
        #expect(error?.isConnectFailure == true)
    }

    @Test func closedPortIsRefused() async throws {
        let fixture = try await SSHFixture()
        var configuration = fixture.configuration()
        configuration.port = try LoopbackPort.free()
        let error = await sshError { _ = try await SSHConnection.connect(configuration) }
        guard case .cannotConnect(_, let reason) = error else {
            Issue.record("expected cannotConnect, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("refused"))
    }

    @Test func ipv6Literal() async throws {
        let fixture = try await SSHFixture(SSHDServer.Options(extraConfig: ["ListenAddress [::1]"]))
        var configuration = fixture.configuration(policy: .acceptNew)
        configuration.host = "::1"
        configuration.knownHostsPath = fixture.directory + "/known_hosts_v6"
        let connection = try await SSHConnection.connect(configuration)
        #expect(try await connection.run("echo v6", timeout: .seconds(5)).stdout == "v6\n")
        let written = try String(contentsOfFile: configuration.knownHostsPath, encoding: .utf8)
        #expect(written == "[::1]:\(fixture.server.port) \(fixture.server.hostKey.publicKey)\n")
    }

    @Test func hostNamesResolve() async throws {
        let fixture = try await SSHFixture()
        var configuration = fixture.configuration(policy: .acceptNew)
        configuration.host = "localhost"
        configuration.knownHostsPath = fixture.directory + "/known_hosts_by_name"
        let connection = try await SSHConnection.connect(configuration)
        #expect(try await connection.run("echo hi", timeout: .seconds(5)).stdout == "hi\n")
        let written = try String(contentsOfFile: configuration.knownHostsPath, encoding: .utf8)
        #expect(written == "[localhost]:\(fixture.server.port) \(fixture.server.hostKey.publicKey)\n")
    }
}
