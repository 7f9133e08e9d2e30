import Foundation
import Rollout
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
}
