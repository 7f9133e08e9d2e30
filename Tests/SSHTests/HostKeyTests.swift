import Foundation
@testable import SSH
import Testing
import TestSupport

@Suite("host keys against known_hosts")
struct HostKeyTests {
    /// The fingerprint OpenSSH prints for the server's key.
    func openSSHFingerprint(_ fixture: SSHFixture) async throws -> String {
        let line = try await TestCommand.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", fixture.server.hostKey.publicKeyPath])
        return String(line.split(separator: " ")[1])
    }

    func otherKey(_ fixture: SSHFixture, type: String = "ed25519") async throws -> SSHKeyPair {
        try await SSHKeyPair.generate(type: type, at: fixture.directory + "/other_\(type)", comment: "other")
    }

    @Test func unknownHostIsRefusedWithItsFingerprint() async throws {
        let fixture = try await SSHFixture()
        let empty = fixture.directory + "/empty_known_hosts"
        let error = await sshError { _ = try await fixture.connect(fixture.configuration(knownHosts: empty)) }
        let name = "[127.0.0.1]:\(fixture.server.port)"
        let expected = SSHHostKey(type: "ssh-ed25519", fingerprint: try await openSSHFingerprint(fixture))
        #expect(error == .unknownHostKey(name: name, key: expected, knownHostsPath: empty))
        let text = try #require(error).description
        let hint = "ssh-keyscan -t ed25519 -p \(fixture.server.port) 127.0.0.1 >> \(empty)"
        #expect(text.contains(name) && text.contains(expected.fingerprint) && text.contains("`\(hint)`"), "\(text)")
        #expect(error?.isConnectFailure == true)
        #expect(!FileManager.default.fileExists(atPath: empty))
        // The hint works as printed: run by a shell, it adds the key, and a strict connection then succeeds.
        _ = try await TestCommand.run("/bin/sh", ["-c", hint])
        let connection = try await fixture.connect(fixture.configuration(knownHosts: empty))
        #expect(connection.hostKey.fingerprint == expected.fingerprint && !connection.hostKey.added)
    }

    @Test func theKeyscanHintNamesTypesAsSshKeyscanDoesAndQuotesPaths() {
        #expect(SSHError.keyscanCommand(name: "lighthouse-1", keyType: "ssh-ed25519", knownHosts: "/k/known_hosts")
                == "ssh-keyscan -t ed25519 lighthouse-1 >> /k/known_hosts")
        #expect(SSHError.keyscanCommand(name: "[10.0.0.5]:2222", keyType: "ecdsa-sha2-nistp256", knownHosts: "/my keys/it's")
                == "ssh-keyscan -t ecdsa -p 2222 10.0.0.5 >> '/my keys/it'\\''s'")
        #expect(SSHError.keyscanCommand(name: "[::1]:22", keyType: "rsa-sha2-512", knownHosts: "/k").hasPrefix("ssh-keyscan -t rsa -p 22 ::1"))
    }

    @Test func changedKeyIsRefusedEvenWithAcceptNew() async throws {
        let fixture = try await SSHFixture()
        let other = try await otherKey(fixture)
        let path = fixture.directory + "/changed"
        let content = "[127.0.0.1]:\(fixture.server.port) \(other.publicKey)\n"
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        for policy in [HostKeyPolicy.strict, .acceptNew] {
            let error = await sshError { _ = try await fixture.connect(fixture.configuration(knownHosts: path, policy: policy)) }
            guard case .hostKeyChanged(_, let offered, let known, _) = error else {
                Issue.record("expected hostKeyChanged, got \(String(describing: error))")
                continue
            }
            let fingerprint = try await openSSHFingerprint(fixture)
            #expect(offered.fingerprint == fingerprint)
            #expect(known.map(\.line) == [1])
            #expect(known.first?.fingerprint != offered.fingerprint)
            #expect(error!.description.contains("HOST KEY CHANGED"))
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == content)
    }

    @Test func acceptNewAppendsAnEntryThatOpenSSHAccepts() async throws {
        let fixture = try await SSHFixture()
        let path = fixture.directory + "/new/known_hosts"
        let connection = try await fixture.connect(fixture.configuration(knownHosts: path, policy: .acceptNew))
        #expect(connection.hostKey.added)
        #expect(try await connection.run("echo in", timeout: .seconds(5)).stdout == "in\n")
        let written = try String(contentsOfFile: path, encoding: .utf8)
        #expect(written == fixture.server.knownHostsLine + "\n")
        // Strict now passes on our own file, and OpenSSH's client accepts it too.
        _ = try await fixture.connect(fixture.configuration(knownHosts: path))
        let output = try await TestCommand.run("/usr/bin/ssh", [
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=\(path)",
            "-o", "GlobalKnownHostsFile=/dev/null", "-i", fixture.server.userKey.privateKeyPath, "-p", "\(fixture.server.port)",
            "\(fixture.server.user)@127.0.0.1", "echo openssh",
        ])
        #expect(output == "openssh\n")
    }

    @Test func acceptNewFromManyConnectionsAtOnceWritesOneLine() async throws {
        let fixture = try await SSHFixture()
        let path = fixture.directory + "/parallel_known_hosts"
        try "# existing comment without newline".write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = fixture.configuration(knownHosts: path, policy: .acceptNew)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { _ = try await SSHConnection.connect(configuration) } }
            try await group.waitForAll()
        }
        let written = try String(contentsOfFile: path, encoding: .utf8)
        #expect(written == "# existing comment without newline\n" + fixture.server.knownHostsLine + "\n")
    }

    @Test func hashedEntriesMatch() async throws {
        let fixture = try await SSHFixture()
        let path = fixture.directory + "/hashed"
        try fixture.server.writeKnownHosts(to: path)
        try await TestCommand.run("/usr/bin/ssh-keygen", ["-H", "-f", path])
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("|1|"))
        let connection = try await fixture.connect(fixture.configuration(knownHosts: path))
        #expect(connection.hostKey.type == "ssh-ed25519")
    }

    @Test func severalKeysPerHostAndTheKnownAlgorithmIsAskedFor() async throws {
        // The server holds ed25519 and ECDSA keys; known_hosts holds only ECDSA, next to an unrelated line.
        let keyDirectory = try TemporaryDirectory.make(prefix: "hostkey")
        defer { try? FileManager.default.removeItem(atPath: keyDirectory) }
        let extra = try await SSHKeyPair.generate(type: "ecdsa", at: keyDirectory + "/ecdsa", comment: "h")
        let fixture = try await SSHFixture(SSHDServer.Options(extraConfig: ["HostKey \(extra.privateKeyPath)"]))
        let path = fixture.directory + "/ecdsa_only"
        let unrelated = try await otherKey(fixture)
        try ("other.example \(unrelated.publicKey)\n[127.0.0.1]:\(fixture.server.port) \(extra.publicKey)\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let connection = try await fixture.connect(fixture.configuration(knownHosts: path))
        #expect(connection.hostKey.type == "ecdsa-sha2-nistp256")
        // With only the ed25519 key known, that is what is asked for: one of the two cases would fail
        // without the preference, whatever libssh2's default order.
        try fixture.server.writeKnownHosts(to: path)
        #expect(try await fixture.connect(fixture.configuration(knownHosts: path)).hostKey.type == "ssh-ed25519")
        // And with both keys listed, either one is trusted.
        try fixture.server.writeKnownHosts(to: path, extraLines: ["[127.0.0.1]:\(fixture.server.port) \(extra.publicKey)"])
        _ = try await fixture.connect(fixture.configuration(knownHosts: path))
    }

    @Test func revokedKeyIsRefused() async throws {
        let fixture = try await SSHFixture()
        let path = fixture.directory + "/revoked"
        try fixture.server.writeKnownHosts(to: path, extraLines: ["@revoked * \(fixture.server.hostKey.publicKey)"])
        let error = await sshError { _ = try await fixture.connect(fixture.configuration(knownHosts: path, policy: .acceptNew)) }
        guard case .hostKeyRevoked(_, _, _, let line) = error else {
            Issue.record("expected hostKeyRevoked, got \(String(describing: error))")
            return
        }
        #expect(line == 1)
    }

    @Test func corruptLineIsReportedWithItsNumber() async throws {
        let fixture = try await SSHFixture()
        let path = fixture.directory + "/corrupt"
        try fixture.server.writeKnownHosts(to: path, extraLines: ["# comment", "somehost ssh-ed25519 !!!notbase64"])
        let error = await sshError { _ = try await fixture.connect(fixture.configuration(knownHosts: path)) }
        #expect(error == .knownHostsMalformed(path: path, line: 2, reason: "key is not valid base64"))
        #expect(error!.description.hasPrefix("\(path):2: "))
    }
}

@Suite("known_hosts parsing and matching")
struct KnownHostsParsingTests {
    @Test func patternsWildcardsAndNegation() {
        let list = HostPatternList.patterns(["*.example.com", "!bad.example.com", "[10.0.0.?]:2222"])
        #expect(list.matches("a.example.com"))
        #expect(!list.matches("bad.example.com"))
        #expect(list.matches("[10.0.0.7]:2222"))
        #expect(!list.matches("10.0.0.7"))
        #expect(!list.matches("example.com"))
        #expect(HostPatternList.glob(Array("a*b*c".utf8), Array("aXXbYYc".utf8)))
        #expect(!HostPatternList.glob(Array("a*b*c".utf8), Array("aXXbYY".utf8)))
    }

    @Test func problemsNameTheirLine() {
        let cases: [(String, String)] = [
            ("host ssh-ed25519", "expected host patterns, key type and base64 key"),
            ("@weird host ssh-ed25519 AAAA", "unknown marker @weird; expected @revoked or @cert-authority"),
            ("|2|abc|def ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==", "hashed host field is not of the form |1|salt|hash"),
            ("host ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA==", "key data does not hold a ssh-rsa key"),
        ]
        for (line, reason) in cases {
            #expect(throws: SSHError.knownHostsMalformed(path: "f", line: 3, reason: reason)) {
                try KnownHostsFile.parse("# one\n\n\(line)\nlater ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==\n", path: "f")
            }
        }
    }
}
