import Foundation
import SSH
import Testing
import TestSupport

@Suite("HTTP GET through the connection")
struct HTTPTunnelTests {
    @Test func getReachesAServerOnTheHostsLoopback() async throws {
        let fixture = try await SSHFixture()
        let http = try LoopbackHTTPServer(routes: ["/health": .init(body: "ok\n", headers: ["X-Service: demo"])])
        defer { http.stop() }
        let connection = try await fixture.connect()
        let response = try await connection.httpGet(host: "127.0.0.1", port: http.port, path: "/health", timeout: .seconds(5))
        #expect(response.status == 200)
        #expect(response.body == "ok\n")
        #expect(response.header("x-service") == "demo")
        #expect(response.header("Content-Length") == "3")
        #expect(!response.bodyTruncated)
        let missing = try await connection.httpGet(host: "127.0.0.1", port: http.port, path: "/nope", timeout: .seconds(5))
        #expect(missing.status == 404)
        // The same connection still runs commands and probes.
        #expect(try await connection.run("echo after", timeout: .seconds(5)).stdout == "after\n")
        for _ in 0..<5 {
            #expect(try await connection.httpGet(host: "127.0.0.1", port: http.port, path: "/health", timeout: .seconds(5)).status == 200)
        }
    }

    @Test func bodyIsCapped() async throws {
        let fixture = try await SSHFixture()
        let http = try LoopbackHTTPServer(routes: ["/big": .init(body: String(repeating: "x", count: 100_000))])
        defer { http.stop() }
        let connection = try await fixture.connect()
        let response = try await connection.httpGet(host: "127.0.0.1", port: http.port, path: "/big", timeout: .seconds(5), bodyLimit: 1000)
        #expect(response.body == String(repeating: "x", count: 1000))
        #expect(response.bodyTruncated)
    }

    @Test func closedPortOnTheHostIsADistinctError() async throws {
        let fixture = try await SSHFixture()
        let connection = try await fixture.connect()
        let port = try LoopbackPort.free()
        let error = await sshError { _ = try await connection.httpGet(host: "127.0.0.1", port: port, path: "/", timeout: .seconds(5)) }
        #expect(error == .targetRefused(endpoint: "127.0.0.1:\(fixture.server.port)", target: "127.0.0.1:\(port)"))
        #expect(connection.isUsable)
    }

    @Test func silentTargetHitsTheDeadline() async throws {
        let fixture = try await SSHFixture()
        // Hangs up after 30 s: a deadline that did not hold gives another error, not a hung test.
        let silent = try SilentTCPServer(hangUpAfter: .seconds(30))
        defer { silent.stop() }
        let connection = try await fixture.connect()
        let error = await sshError { _ = try await connection.httpGet(host: "127.0.0.1", port: silent.port, path: "/", timeout: .milliseconds(500)) }
        #expect(error == .httpTimedOut(endpoint: "127.0.0.1:\(fixture.server.port)", url: "http://127.0.0.1:\(silent.port)/", after: .milliseconds(500)))
    }

    /// The command waits for a file that only the health request creates: run one after the other, it would wait
    /// for nothing and print nothing.
    @Test func aCommandAndARequestRunAtOnceOnOneConnection() async throws {
        let fixture = try await SSHFixture()
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let http = try LoopbackHTTPServer(routes: ["/health": .init(body: "ok\n")]) { _ in
            _ = FileManager.default.createFile(atPath: marker, contents: Data())
        }
        defer { http.stop() }
        let connection = try await fixture.connect()
        let waitForProbe = "i=0; while [ ! -e '\(marker)' ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; [ -e '\(marker)' ] && echo seen"
        let (result, response) = try await connection.run(waitForProbe, timeout: .seconds(30),
                                                          alongside: SSHHTTPRequest(host: "127.0.0.1", port: http.port, path: "/health",
                                                                                    timeout: .seconds(5)))
        #expect(result.stdout == "seen\n")
        #expect(result.exitStatus == 0)
        #expect(try response.get().status == 200)
        #expect(try response.get().body == "ok\n")
        #expect(connection.isUsable)
        #expect(try await connection.run("echo after", timeout: .seconds(5)).stdout == "after\n")
    }

    @Test func aRequestThatFailsBesideACommandLeavesTheCommandsResult() async throws {
        let fixture = try await SSHFixture()
        let silent = try SilentTCPServer(hangUpAfter: .seconds(30))
        defer { silent.stop() }
        let connection = try await fixture.connect()
        let closed = try LoopbackPort.free()
        for (port, expected) in [(silent.port, SSHError.httpTimedOut(endpoint: "127.0.0.1:\(fixture.server.port)",
                                                                      url: "http://127.0.0.1:\(silent.port)/", after: .milliseconds(500))),
                                 (closed, .targetRefused(endpoint: "127.0.0.1:\(fixture.server.port)", target: "127.0.0.1:\(closed)"))] {
            let (result, response) = try await connection.run("printf 'one\\ntwo\\n'", timeout: .seconds(10),
                                                              alongside: SSHHTTPRequest(host: "127.0.0.1", port: port, path: "/",
                                                                                        timeout: .milliseconds(500)))
            #expect(result.stdout == "one\ntwo\n")
            #expect(throws: expected) { try response.get() }
            #expect(connection.isUsable)
        }
    }

    /// The host's connect to the target never completes, so the tunnel is still opening at the deadline: the
    /// command beside it still finishes and gives its output, then the connection (which cannot open another
    /// channel) is dropped; the next call reconnects.
    @Test func aTunnelStillOpeningAtItsDeadlineLeavesTheCommandToFinish() async throws {
        let fixture = try await SSHFixture()
        let unanswered = try UnansweredConnectPort()
        defer { unanswered.stop() }
        let connection = try await fixture.connect()
        let (result, response) = try await connection.run("sleep 0.2; echo still here", timeout: .seconds(10),
                                                          alongside: SSHHTTPRequest(host: "127.0.0.1", port: unanswered.port, path: "/health",
                                                                                    timeout: .milliseconds(500)))
        #expect(result.stdout == "still here\n")
        #expect(throws: SSHError.httpTimedOut(endpoint: "127.0.0.1:\(fixture.server.port)", url: "http://127.0.0.1:\(unanswered.port)/health",
                                              after: .milliseconds(500))) { try response.get() }
        #expect(!connection.isUsable)
        // Alone, the same request drops the connection at once (nothing else is in flight on it).
        let again = try await fixture.connect()
        let alone = await sshError { _ = try await again.httpGet(host: "127.0.0.1", port: unanswered.port, path: "/", timeout: .milliseconds(300)) }
        #expect(alone == .httpTimedOut(endpoint: "127.0.0.1:\(fixture.server.port)", url: "http://127.0.0.1:\(unanswered.port)/", after: .milliseconds(300)))
        #expect(!again.isUsable)
    }
}
