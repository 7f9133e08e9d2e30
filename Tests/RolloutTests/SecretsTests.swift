import Commands
import Foundation
import Inventory
import Plan
import Engine
import Testing

/// SPEC "Secrets never leave": what the secrets' readers and the redactor do on this machine.
@Suite("Secrets never leave")
struct SecretsTests {
    static func source(_ kind: SecretSource.Kind, _ name: String = "TOKEN") -> SecretSource {
        SecretSource(kind: kind, keyPath: "services.app.env.\(name)", position: "inv.yaml:9:7")
    }

    static func resolve(_ sources: [SecretSource], environment: [String: String] = [:]) async throws -> Secrets {
        try await SecretResolver.resolve(sources, environment: environment, directory: "/tmp", timeout: .seconds(30))
    }

    @Test("a from_command that prints its secret on stderr and fails: exit 65, the value redacted, stderr capped at 2 KiB")
    func aFailingCommandsStderrIsRedactedAndCapped() async throws {
        let secret = "hunter2-" + UUID().uuidString
        let other = "other-secret-" + UUID().uuidString
        // It prints the value, then fails saying it (and another secret it knows), then says 50 MB more. The
        // script is a file: the inventory's argv is shown in messages, and must not hold the values.
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("secret-command-\(UUID().uuidString)").path
        try "echo \(secret); echo \"login failed for \(secret) and \(other)\" >&2; yes \(String(repeating: "x", count: 63)) | head -c 50000000 >&2; exit 3\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let error = await #expect(throws: SecretError.self) {
            try await Self.resolve([Self.source(.environment("OTHER"), "OTHER"), Self.source(.command(["/bin/sh", script]))],
                                   environment: ["OTHER": other])
        }
        let message = try #require(error).description
        #expect(try #require(error).category == .invalidInventory)
        #expect(!message.contains(secret) && !message.contains(other), "\(message.prefix(3000))")
        #expect(message.contains("the command exited with status 3: login failed for (secret TOKEN) and (secret OTHER)"), "\(message.prefix(300))")
        #expect(message.utf8.count < 3000, "\(message.utf8.count) bytes")
        #expect(message.contains("more bytes not shown"))
    }

    @Test("a from_command's stdout must be UTF-8")
    func nonUTF8IsRefused() async throws {
        let error = await #expect(throws: SecretError.self) {
            try await Self.resolve([Self.source(.command(["/usr/bin/printf", "long-enough-\\377\\376"]))])
        }
        #expect(error?.description.contains("the command printed bytes that are not UTF-8 text") == true)
    }

    @Test("a secret shorter than 8 characters is refused, naming its key")
    func shortSecretsAreRefused() async throws {
        let error = await #expect(throws: SecretError.self) {
            try await Self.resolve([Self.source(.environment("SHORT"))], environment: ["SHORT": "1234567"])
        }
        #expect(error?.description.contains("inv.yaml:9:7: `services.app.env.TOKEN` (from_env: SHORT): the value has 7 characters; a secret needs at least 8") == true)
        let eight = try await Self.resolve([Self.source(.environment("SHORT"))], environment: ["SHORT": "12345678"])
        #expect(eight.count == 1)
    }

    @Test("from_command does not inherit the variables from_env reads; the others it does")
    func commandsDoNotSeeFromEnvVariables() async throws {
        let sources = [Self.source(.environment("WEB_TOKEN"), "A"),
                       Self.source(.command(["/bin/sh", "-c", "echo \"token=${WEB_TOKEN:-unset} region=${REGION:-unset}\""]), "B")]
        let secrets = try await Self.resolve(sources, environment: ["WEB_TOKEN": "abcdefgh-token", "REGION": "eu-west"])
        #expect(secrets.redactor.redact("token=unset region=eu-west") == "(secret B)")
        #expect(secrets.withheldVariables == ["WEB_TOKEN"])
        #expect(secrets.localEnvironment(["WEB_TOKEN": "x", "REGION": "eu", "HOME": "/root"]) == ["REGION": "eu", "HOME": "/root"])
    }

    @Test("the redactor replaces a value as written, escaped for text and escaped for JSON")
    func redactorForms() {
        let value = "pa\"ss\\wo\trd-1"
        let redactor = Redactor([(name: "DB_PASSWORD", value: value), (name: "SHORTER", value: "pa\"ss")])
        #expect(redactor.redact("login \(value) failed") == "login (secret DB_PASSWORD) failed")
        #expect(redactor.redact(VisibleText.escaped("login \(value) failed")) == "login (secret DB_PASSWORD) failed")
        #expect(redactor.redact(#"{"reason":"login pa\"ss\\wo\trd-1 failed"}"#) == #"{"reason":"login (secret DB_PASSWORD) failed"}"#)
        #expect(redactor.redact("only pa\"ss here") == "only (secret SHORTER) here")
        #expect(Redactor.none.redact("nothing \(value)") == "nothing \(value)")
    }
}
