import Foundation
import SSH
import TestSupport

/// A fresh sshd per test (tests run in parallel and some change keys), with a known_hosts that trusts it.
struct SSHFixture {
    let server: SSHDServer
    let knownHosts: String

    init(_ options: SSHDServer.Options = .init()) async throws {
        server = try await SSHDServer.start(options)
        knownHosts = try server.writeKnownHosts(to: server.directory + "/known_hosts")
    }

    var directory: String { server.directory }

    func configuration(authentication: SSHAuthentication? = nil, knownHosts: String? = nil, policy: HostKeyPolicy = .strict,
                       connectTimeout: Duration = .seconds(5), environment: [String: String] = [:]) -> SSHConfiguration {
        SSHConfiguration(host: server.host, port: server.port, user: server.user,
                         authentication: authentication ?? .privateKey(path: server.userKey.privateKeyPath),
                         knownHostsPath: knownHosts ?? self.knownHosts, hostKeyPolicy: policy,
                         connectTimeout: connectTimeout, environment: environment)
    }

    func connect(_ configuration: SSHConfiguration? = nil) async throws -> SSHConnection {
        try await SSHConnection.connect(configuration ?? self.configuration())
    }
}

/// Runs `body` and returns the SSHError it threw, or nil.
func sshError(_ body: () async throws -> Void) async -> SSHError? {
    do { try await body() } catch let error as SSHError { return error } catch { return .closed(endpoint: "unexpected \(error)") }
    return nil
}
