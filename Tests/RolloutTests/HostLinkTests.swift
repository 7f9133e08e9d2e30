import Commands
import Foundation
import Inventory
import Plan
@testable import Engine
import Testing
import TestSupport

/// A host's one connection, shared by its steps, probes and lock refreshes.
@Suite("HostLink: one connection per host for concurrent callers")
struct HostLinkTests {
    /// Callers that arrive while the connection is being made wait for that connect: a second connect would leave
    /// one of the two connections open and never closed.
    @Test func concurrentCallsMakeOneConnection() async throws {
        let scripted = ScriptedTransportFactory()
        scripted.on("echo") { _, _ in CommandResult(exitStatus: 0, stdout: "ok\n") }
        let link = HostLink(host: Fixtures.host("h1"), connector: HostConnector(factory: scripted, options: ExecutorOptions()))
        try await withThrowingTaskGroup(of: CommandResult.self) { group in
            for _ in 0..<8 { group.addTask { try await link.run("echo", input: nil, timeout: .seconds(5)) } }
            for try await result in group { #expect(result.stdout == "ok\n") }
        }
        #expect(scripted.calls.filter { $0.kind == .connect }.count == 1)
        await link.close()
        #expect(scripted.calls.filter { $0.kind == .close }.count == 1)
    }

    /// A broken connection is replaced once, whoever notices first.
    @Test func aLostConnectionIsReplacedOnceForConcurrentCallers() async throws {
        let scripted = ScriptedTransportFactory()
        let broke = CountedFlag()
        scripted.on("echo") { _, command in
            if command.contains("first"), broke.setOnce() { throw TransportError.lost(host: "h1", reason: "connection reset") }
            return CommandResult(exitStatus: 0)
        }
        let link = HostLink(host: Fixtures.host("h1"), connector: HostConnector(factory: scripted, options: ExecutorOptions()))
        await #expect(throws: TransportError.self) { _ = try await link.run("echo first", input: nil, timeout: .seconds(5)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { _ = try await link.run("echo again", input: nil, timeout: .seconds(5)) } }
            try await group.waitForAll()
        }
        #expect(scripted.calls.filter { $0.kind == .connect }.count == 2)
        #expect(scripted.calls.filter { $0.kind == .close }.count == 1, "the broken connection was closed")
    }
}

private final class CountedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    /// True the first time only.
    func setOnce() -> Bool { lock.withLock { defer { set = true }; return !set } }
}
