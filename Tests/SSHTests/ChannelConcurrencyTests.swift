import Foundation
import SSH
import Testing
import TestSupport

/// One connection runs its channels at once, and a cancelled call stops its command on the host.
@Suite("channels at once and cancellation over a real sshd")
struct ChannelConcurrencyTests {
    /// Whether a process whose command line holds `marker` runs on the (loopback) host.
    static func running(_ marker: String) async throws -> Bool {
        try await offPool { try TestCommand.capture("/usr/bin/pgrep", ["-f", marker]).status } == 0
    }

    /// Whether a process whose command line holds `marker` started within 5 seconds.
    static func started(_ marker: String) async throws -> Bool {
        for _ in 0..<200 {
            if try await running(marker) { return true }
            try await Task.sleep(for: .milliseconds(25))
        }
        return false
    }

    /// The first command waits for a file only the second one creates: run one after the other, the first would
    /// wait for nothing until its deadline and end in `commandTimedOut`.
    @Test func aSecondCommandRunsWhileTheFirstHoldsTheConnection() async throws {
        let fixture = try await SSHFixture()
        let connection = try await fixture.connect()
        let flag = FileManager.default.temporaryDirectory.appendingPathComponent("released-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: flag) }
        async let first = connection.run("while [ ! -e '\(flag)' ]; do sleep 0.05; done; echo released", timeout: .seconds(20))
        // Like a lock release beside a long compose build.
        let second = try await connection.run("touch '\(flag)' && echo touched", timeout: .seconds(20))
        #expect(second.stdout == "touched\n")
        #expect(try await first.stdout == "released\n")
        #expect(connection.isUsable)
    }

    @Test func cancellingTheCallStopsTheCommandOnTheHostAndTheConnectionGoesOn() async throws {
        let fixture = try await SSHFixture()
        let connection = try await fixture.connect()
        // The fraction is a marker to find it by.
        let command = "sleep 300.\(Int.random(in: 100_000...999_999))"
        let call = Task { try await connection.run(command, timeout: .seconds(600)) }
        #expect(try await Self.started(command), "the command never ran")
        call.cancel()
        await #expect(throws: CancellationError.self) { _ = try await call.value }
        // Stopped on the host, not only abandoned here: gone within a second of the call's end.
        var gone = false
        for _ in 0..<20 where !gone {
            gone = try await !Self.running(command)
            if !gone { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(gone, "\(command) still runs on the host after the call was cancelled")
        #expect(connection.isUsable)
        #expect(try await connection.run("echo after", timeout: .seconds(5)).stdout == "after\n")
    }

    /// A command cancelled before the loop looked at it never reaches the host.
    @Test func aCallCancelledBeforeItStartsRunsNothing() async throws {
        let fixture = try await SSHFixture()
        let connection = try await fixture.connect()
        let flag = FileManager.default.temporaryDirectory.appendingPathComponent("never-\(UUID().uuidString)").path
        let call = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await connection.run("touch '\(flag)'", timeout: .seconds(5))
        }
        await #expect(throws: CancellationError.self) { _ = try await call.value }
        #expect(!FileManager.default.fileExists(atPath: flag))
        #expect(try await connection.run("echo fine", timeout: .seconds(5)).stdout == "fine\n")
    }

    /// A streamed command that reads its input to the end is asked to stop by the end of its input, and gives its
    /// own result; one that ignores it is stopped after its grace.
    @Test func aStreamUntilStoppedEndsByItsInputAndGivesItsResult() async throws {
        let fixture = try await SSHFixture()
        let connection = try await fixture.connect()
        let lines = LockedLines()
        let call = Task {
            try await connection.stream("echo ready; cat >/dev/null; echo bye; exit 7", timeout: .seconds(60), untilStopped: true) { _, bytes in
                lines.append(bytes)
            }
        }
        for _ in 0..<200 where !lines.text.contains("ready") { try await Task.sleep(for: .milliseconds(25)) }
        call.cancel()
        let result = try await call.value
        #expect(result.exitStatus == 7)
        #expect(lines.text == "ready\nbye\n")
    }

    /// Many commands and requests at once on one connection each get their own output.
    @Test func manyChannelsAtOnceKeepTheirOutputApart() async throws {
        let fixture = try await SSHFixture()
        let connection = try await fixture.connect()
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<24 {
                group.addTask {
                    let result = try await connection.run("i=0; while [ $i -lt 200 ]; do echo \(index)-$i; i=$((i+1)); done; echo err\(index) >&2",
                                                          input: Array("in\(index)".utf8), timeout: .seconds(30))
                    #expect(result.stderr == "err\(index)\n")
                    return (index, result.stdout)
                }
            }
            for try await (index, stdout) in group {
                #expect(stdout == (0..<200).map { "\(index)-\($0)\n" }.joined())
            }
        }
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    func append(_ more: [UInt8]) { lock.withLock { bytes += more } }
    var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
}
