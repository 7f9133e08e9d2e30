import Foundation
@testable import SSH
import Testing

/// The one start policy's bounds, without a network: per endpoint and in total, first come first served.
@Suite("connection start limiter")
struct StartLimiterTests {
    /// Counts slots handed out, to see which waiters started.
    final class Started: @unchecked Sendable {
        private let lock = NSLock()
        private var names: [String] = []
        func add(_ name: String) { lock.withLock { names.append(name) } }
        var all: [String] { lock.withLock { names } }
    }


    @Test func startsAreBoundedInTotalAcrossEndpoints() async throws {
        let limiter = ConnectionStartLimiter(perEndpoint: 8, total: 2)
        try await limiter.acquire("a:22", timeout: .seconds(5))
        try await limiter.acquire("b:22", timeout: .seconds(5))
        let started = Started()
        let third = Task {
            try await limiter.acquire("c:22", timeout: .seconds(5))
            started.add("c")
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(started.all.isEmpty, "a third endpoint started past the total bound")
        await limiter.release("a:22")
        try await third.value
        #expect(started.all == ["c"])
    }

    @Test func aFullEndpointDoesNotHoldBackOthers() async throws {
        let limiter = ConnectionStartLimiter(perEndpoint: 1, total: 4)
        try await limiter.acquire("a:22", timeout: .seconds(5))
        let started = Started()
        let second = Task { try await limiter.acquire("a:22", timeout: .seconds(5)); started.add("a") }
        try await Task.sleep(for: .milliseconds(20))
        let other = Task { try await limiter.acquire("b:22", timeout: .seconds(5)); started.add("b") }
        try await other.value
        #expect(started.all == ["b"], "b waited behind a full endpoint")
        await limiter.release("a:22")
        try await second.value
        #expect(started.all == ["b", "a"])
    }

    @Test func aWaiterGivesUpAfterItsTimeout() async throws {
        let limiter = ConnectionStartLimiter(perEndpoint: 1, total: 1)
        try await limiter.acquire("a:22", timeout: .seconds(5))
        await #expect(throws: SSHError.self) { try await limiter.acquire("a:22", timeout: .milliseconds(20)) }
    }
}
