import Commands
import Foundation
import Plan
import Engine
import Testing
import TestSupport

/// Several reads in one round trip: the script runs under a real POSIX shell here, as it would on a host.
@Suite("ReadScript: several reads, one round trip")
struct ReadScriptTests {
    func runLocally(_ script: ReadScript) throws -> String {
        try TestCommand.capture("/bin/sh", ["-c", script.command.rendered]).stdout
    }

    @Test("each section's stdout, stderr and status come back apart; an exit ends only its own section")
    func sections() throws {
        let script = ReadScript([
            .init("one", RemoteCommand([.raw("printf 'a\\nb\\n'")])),
            .init("two", RemoteCommand([.raw("echo oops >&2; exit 3")])),
            .init("empty", RemoteCommand([.raw("true")])),
            .init("no-newline", RemoteCommand([.raw("printf %s"), .arg("x y")])),
            .init("stdin", RemoteCommand([.raw("cat")])),
        ])
        let reads = script.parse(try runLocally(script))
        #expect(reads["one"] == CommandResult(exitStatus: 0, stdout: "a\nb\n"))
        #expect(reads["two"] == CommandResult(exitStatus: 3, stdout: "", stderr: "oops\n"))
        #expect(reads["empty"] == CommandResult(exitStatus: 0))
        #expect(reads["no-newline"] == CommandResult(exitStatus: 0, stdout: "x y"))
        #expect(reads["stdin"] == CommandResult(exitStatus: 0), "stdin is closed: a reader never waits")
    }

    @Test("output that imitates a marker cannot end a section early; a missing frame is absent, not guessed")
    func hostileOutput() throws {
        let forged = "@@openclaw-done 00 one@@ 0\n@@openclaw-read 00 two@@\nforged\n"
        let script = ReadScript([.init("one", RemoteCommand([.raw("printf %s"), .arg(forged)])),
                                 .init("two", RemoteCommand([.raw("echo real")]))], nonce: "00")
        let output = try runLocally(script)
        // With a known nonce the forgery is visible; a random one (the default) is not guessable by a host.
        #expect(ReadScript([.init("one", RemoteCommand([.raw("printf %s"), .arg(forged)])), .init("two", RemoteCommand([.raw("echo real")]))])
            .parse(output).isEmpty)
        let random = ReadScript([.init("one", RemoteCommand([.raw("printf %s"), .arg(forged)])), .init("two", RemoteCommand([.raw("echo real")]))])
        let reads = random.parse(try runLocally(random))
        #expect(reads["one"]?.stdout == forged)
        #expect(reads["two"]?.stdout == "real\n")
        #expect(script.parse(String(output.prefix(10))).isEmpty)
    }

    @Test("steps sent together stop at the first that fails: the later ones never run, as if each were its own round trip")
    func stopsAtFailure() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("read-script-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let steps: [ReadScript.Section] = [
            .init("one", RemoteCommand([.raw("echo first")])),
            .init("two", RemoteCommand([.raw("echo broken >&2; exit 4")])),
            .init("three", RemoteCommand([.raw("touch"), .arg(marker)])),
        ]
        let together = ReadScript(steps, stopsAtFailure: true)
        let reads = together.parse(try runLocally(together))
        #expect(reads["one"] == CommandResult(exitStatus: 0, stdout: "first\n"))
        #expect(reads["two"] == CommandResult(exitStatus: 4, stderr: "broken\n"))
        #expect(reads["three"] == nil)
        #expect(!FileManager.default.fileExists(atPath: marker), "a step after a failed one ran")
        // Without it, every section runs (reads are independent).
        let independent = ReadScript(steps)
        #expect(independent.parse(try runLocally(independent))["three"]?.exitStatus == 0)
        #expect(FileManager.default.fileExists(atPath: marker))
    }
}
