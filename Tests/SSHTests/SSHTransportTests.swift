import Commands
import DeployCLI
import Foundation
import Inventory
import Plan
import Engine
import SSH
import Testing
import TestSupport

@Suite("SSHTransport: the rollout's view of a host")
struct SSHTransportTests {
    func settings(_ fixture: SSHFixture, knownHosts: String? = nil) -> SSHSettings {
        SSHSettings(user: fixture.server.user, port: fixture.server.port, identity: fixture.server.userKey.privateKeyPath,
                    knownHosts: knownHosts ?? fixture.knownHosts, connectTimeout: .seconds(5), commandTimeout: .seconds(30))
    }

    @Test func runsCommandsAndReconnectsAfterATimeout() async throws {
        let fixture = try await SSHFixture()
        let transport = try await SSHTransportFactory(environment: [:]).open(Endpoint(name: "web-1", address: "127.0.0.1", ssh: settings(fixture)))
        #expect(try await transport.run("echo one; exit 4", timeout: .seconds(5)) == CommandResult(exitStatus: 4, stdout: "one\n"))
        await #expect(throws: TransportError.timedOut(host: "web-1", command: "sleep 30", after: .milliseconds(500))) {
            _ = try await transport.run("sleep 30", timeout: .milliseconds(500))
        }
        #expect(try await transport.run("echo again", timeout: .seconds(5)).stdout == "again\n")
        await transport.close()
        await #expect(throws: TransportError.lost(host: "web-1", reason: "the connection was closed")) {
            _ = try await transport.run("true", timeout: .seconds(5))
        }
    }

    /// The rollout's own lock commands over one connection: a release while a long command (a compose build, a
    /// `before_up`) still runs on that connection ends at once, the lock gone and the long command still running.
    /// On a connection that ran its channels one after another, the release would wait out the `sleep 300` and
    /// end in its own 5-second timeout.
    @Test func aLockReleaseRunsWhileALongCommandHoldsTheConnection() async throws {
        let fixture = try await SSHFixture()
        let transport = try await SSHTransportFactory(environment: [:]).open(Endpoint(name: "web-1", address: "127.0.0.1", ssh: settings(fixture)))
        let state = fixture.directory + "/state/app"
        let host = ServiceHost(name: "web-1", address: "127.0.0.1", ssh: settings(fixture),
                               repo: RepoSettings(path: fixture.directory + "/repo", remote: "origin", branch: "main"),
                               compose: ComposeSettings(project: "app"),
                               health: HealthSettings(url: HealthURL(host: "127.0.0.1", port: 8080, path: "/health"), healthyAfter: 1),
                               stateDir: state)
        let commands = HostCommands(service: "app", host: host)
        let owner = LockOwner(operator: "ops", machine: "laptop", pid: 42, started: "2026-12-08T00:00:00Z",
                              target: "main", expires: "2099-01-01T00:00:00Z", token: randomHex(bytes: 16))
        #expect(try await transport.run(commands.lockAcquire(owner: owner).rendered, timeout: .seconds(10)).exitStatus == 0)
        #expect(FileManager.default.fileExists(atPath: state + "/lock/owner.json"))

        // The fraction is a marker to find it by.
        let long = "sleep 300.\(Int.random(in: 100_000...999_999))"
        let call = Task { try await transport.run(long, timeout: .seconds(600)) }
        #expect(try await ChannelConcurrencyTests.started(long), "the long command never ran")

        let release = try await transport.run(commands.lockRelease(token: owner.token).rendered, timeout: .seconds(5))
        #expect(release.exitStatus == 0, "release: \(release)")
        #expect(!FileManager.default.fileExists(atPath: state + "/lock"))
        #expect(try await ChannelConcurrencyTests.running(long), "the release waited for the long command to end")

        call.cancel()
        _ = try? await call.value
        await transport.close()
    }

    @Test func aProbeWhoseTunnelNeverOpensLeavesTheConnectionUsable() async throws {
        let fixture = try await SSHFixture()
        // A listener whose accept queue is full: the host's connect to it hangs (Linux drops the SYN), so the
        // tunnel's open is still pending when the probe's deadline comes.
        let full = try FullBacklogListener()
        defer { full.stop() }
        let transport = try await SSHTransportFactory(environment: [:]).open(Endpoint(name: "web-1", address: "127.0.0.1", ssh: settings(fixture)))
        let url = HealthURL(host: "127.0.0.1", port: full.port, path: "/health")
        await #expect(throws: TransportError.timedOut(host: "web-1", command: "GET \(url)", after: .milliseconds(300))) {
            _ = try await transport.httpGet(url, timeout: .milliseconds(300))
        }
        #expect(try await transport.run("echo after", timeout: .seconds(5)).stdout == "after\n")
        await transport.close()
    }

    @Test func httpGetAndRefusedTargets() async throws {
        let fixture = try await SSHFixture()
        let http = try LoopbackHTTPServer(routes: ["/health": .init(body: "up")])
        defer { http.stop() }
        let transport = try await SSHTransportFactory(environment: [:]).open(Endpoint(name: "web-1", address: "127.0.0.1", ssh: settings(fixture)))
        let response = try await transport.httpGet(HealthURL(host: "127.0.0.1", port: http.port, path: "/health"), timeout: .seconds(5))
        #expect(response.status == 200 && response.body == "up")
        let closed = try LoopbackPort.free()
        await #expect(throws: TransportError.connectionRefused(host: "web-1", target: "127.0.0.1:\(closed)")) {
            _ = try await transport.httpGet(HealthURL(host: "127.0.0.1", port: closed, path: "/health"), timeout: .seconds(5))
        }
    }

    @Test func unknownHostIsAConnectFailureUnlessAcceptNew() async throws {
        let fixture = try await SSHFixture()
        let ssh = settings(fixture, knownHosts: fixture.directory + "/fresh_known_hosts")
        let gateway = Endpoint(name: "gateway", address: "127.0.0.1", ssh: ssh)
        do {
            _ = try await SSHTransportFactory(environment: [:]).open(gateway)
            Issue.record("an unknown host key was accepted")
        } catch let TransportError.connectFailed(host, reason) {
            #expect(host == "gateway")
            #expect(reason.contains("host key of [127.0.0.1]:\(fixture.server.port) is unknown"))
        }
        let transport = try await SSHTransportFactory(acceptNewHostKeys: true, environment: [:]).open(gateway)
        #expect(await transport.hostKey?.type == "ssh-ed25519")
        #expect(try await transport.run("true", timeout: .seconds(5)).succeeded)
    }
}

/// A TCP listener on 127.0.0.1 with a backlog of one that never accepts, its queue filled: further connects hang.
final class FullBacklogListener {
    let port: Int
    private var fds: [Int32] = []

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard listener >= 0, bound == 0, listen(listener, 0) == 0 else { throw TestCommand.Failed(description: "listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        fds.append(listener)
        // Fill the accept queue (and the SYN queue behind it) with connections nobody accepts.
        for _ in 0..<4 {
            let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            fds.append(client)
        }
        usleep(100_000)
    }

    func stop() { fds.forEach { close($0) } }
}
