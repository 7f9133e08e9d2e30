/// Bounds how many connections to one endpoint are between TCP connect and successful authentication
/// at once. sshd counts exactly those against `MaxStartups` (default `10:30:100`: past 10 it starts
/// dropping), so staying under it avoids most drops; the few left are retried by `SSHConnection.connect`.
public actor ConnectionStartLimiter {
    /// Shared by every connection of the process.
    public static let shared = ConnectionStartLimiter(perEndpoint: 8)

    public let perEndpoint: Int
    private var active: [String: Int] = [:]
    private var waiting: [String: [Waiter]] = [:]
    private var nextID = 0

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Void, any Error>
        let timer: Task<Void, Never>
    }

    public init(perEndpoint: Int) {
        self.perEndpoint = max(1, perEndpoint)
    }

    /// Waits for a slot for `endpoint`, at most `timeout`.
    func acquire(_ endpoint: String, timeout: Duration) async throws {
        if active[endpoint, default: 0] < perEndpoint {
            active[endpoint, default: 0] += 1
            return
        }
        nextID += 1
        let id = nextID
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let timer = Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.expire(endpoint, id: id, after: timeout)
            }
            waiting[endpoint, default: []].append(Waiter(id: id, continuation: continuation, timer: timer))
        }
    }

    /// Frees a slot, handing it straight to the longest waiter if there is one.
    func release(_ endpoint: String) {
        if var queue = waiting[endpoint], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[endpoint] = queue.isEmpty ? nil : queue
            next.timer.cancel()
            next.continuation.resume()
        } else {
            active[endpoint, default: 1] -= 1
            if active[endpoint] == 0 { active[endpoint] = nil }
        }
    }

    private func expire(_ endpoint: String, id: Int, after timeout: Duration) {
        guard var queue = waiting[endpoint], let index = queue.firstIndex(where: { $0.id == id }) else { return }
        let waiter = queue.remove(at: index)
        waiting[endpoint] = queue.isEmpty ? nil : queue
        waiter.continuation.resume(throwing: SSHError.startQueueTimedOut(endpoint: endpoint, after: timeout))
    }
}
