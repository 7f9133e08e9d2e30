import Foundation
import Plan
import SSH
import Testing
import TestSupport

@Suite("authentication")
struct AuthTests {
    @Test func wrongUserKeyIsRefusedClearly() async throws {
        let fixture = try await SSHFixture()
        let stranger = try await SSHKeyPair.generate(at: fixture.directory + "/stranger", comment: "stranger")
        let error = await sshError { _ = try await fixture.connect(fixture.configuration(authentication: .privateKey(path: stranger.privateKeyPath))) }
        guard case .authenticationFailed(let endpoint, let user, let tried, let accepts, _) = error else {
            Issue.record("expected authenticationFailed, got \(String(describing: error))")
            return
        }
        #expect(endpoint == "127.0.0.1:\(fixture.server.port)")
        #expect(user == fixture.server.user)
        #expect(tried.count == 1 && tried[0].contains(stranger.privateKeyPath) && tried[0].contains("ssh-ed25519 SHA256:"))
        #expect(accepts == ["publickey"])
        #expect(error!.description.contains("authentication as user \(fixture.server.user) failed"))
    }

    @Test func passphraseComesFromTheEnvironmentAndIsNeverPrinted() async throws {
        let fixture = try await SSHFixture()
        let secret = "correct horse \(Int.random(in: 1000...9999))"
        let key = try await SSHKeyPair.generate(at: fixture.directory + "/locked", passphrase: secret, comment: "locked")
        try fixture.server.authorize(key)
        let auth = SSHAuthentication.privateKey(path: key.privateKeyPath)

        let connection = try await fixture.connect(fixture.configuration(authentication: auth, environment: ["OPENCLAW_SSH_PASSPHRASE": secret]))
        #expect(try await connection.run("echo unlocked", timeout: .seconds(5)).stdout == "unlocked\n")

        let missing = await sshError { _ = try await fixture.connect(fixture.configuration(authentication: auth)) }
        #expect(missing == .privateKeyUnusable(path: key.privateKeyPath, reason: "it is protected by a passphrase; set OPENCLAW_SSH_PASSPHRASE in the environment"))

        let wrong = await sshError {
            _ = try await fixture.connect(fixture.configuration(authentication: auth, environment: ["OPENCLAW_SSH_PASSPHRASE": secret + "x"]))
        }
        #expect(wrong == .privateKeyUnusable(path: key.privateKeyPath, reason: "the passphrase in OPENCLAW_SSH_PASSPHRASE does not open it"))
        #expect(!wrong!.description.contains(secret))
    }

    @Test func rsaKeyGetsAnExplanation() async throws {
        let fixture = try await SSHFixture()
        let rsa = try await SSHKeyPair.generate(type: "rsa", at: fixture.directory + "/id_rsa", comment: "rsa")
        try fixture.server.authorize(rsa)
        let error = await sshError { _ = try await fixture.connect(fixture.configuration(authentication: .privateKey(path: rsa.privateKeyPath))) }
        guard case .authenticationFailed(_, _, _, _, let hint) = error else {
            Issue.record("expected authenticationFailed, got \(String(describing: error))")
            return
        }
        #expect(hint?.contains("OpenSSH 8.8") == true)
        #expect(hint?.contains("ssh-keygen -t ed25519") == true)
    }

    @Test func agentAuthenticatesWithARealSSHAgent() async throws {
        let fixture = try await SSHFixture()
        let agent = try await SSHDAgent.start(in: fixture.directory)
        defer { agent.stop() }
        // A key the server refuses first, then the right one: both tried, in order.
        try await agent.add(try await SSHKeyPair.generate(at: fixture.directory + "/stranger", comment: "stranger"))
        try await agent.add(fixture.server.userKey)
        let configuration = fixture.configuration(authentication: .agent, environment: ["SSH_AUTH_SOCK": agent.socketPath])
        let connection = try await fixture.connect(configuration)
        #expect(try await connection.run("echo agent", timeout: .seconds(5)).stdout == "agent\n")
    }

    @Test func agentProblemsAreExplained() async throws {
        let fixture = try await SSHFixture()
        let unset = await sshError { _ = try await fixture.connect(fixture.configuration(authentication: .agent)) }
        guard case .agentUnavailable(_, let reason) = unset else {
            Issue.record("expected agentUnavailable, got \(String(describing: unset))")
            return
        }
        #expect(reason.hasPrefix("SSH_AUTH_SOCK is not set"))

        let agent = try await SSHDAgent.start(in: fixture.directory)
        defer { agent.stop() }
        try await agent.add(try await SSHKeyPair.generate(at: fixture.directory + "/stranger", comment: "stranger-key"))
        let refused = await sshError {
            _ = try await fixture.connect(fixture.configuration(authentication: .agent, environment: ["SSH_AUTH_SOCK": agent.socketPath]))
        }
        guard case .authenticationFailed(_, _, let tried, _, _) = refused else {
            Issue.record("expected authenticationFailed, got \(String(describing: refused))")
            return
        }
        #expect(tried.count == 1 && tried[0].contains("stranger-key"))
    }
}
