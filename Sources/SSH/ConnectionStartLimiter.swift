/// Bounds how many connections are between TCP connect and successful authentication at once: per
/// endpoint, because sshd counts exactly those against its `MaxStartups` (default `10:30:100`: past 10
/// it starts dropping), and in total, because each handshake costs this machine a key exchange. Starts
/// wait in one queue, first come first served among those that fit. There is no fixed spacing between
/// starts; a start the server drops anyway is retried by `SSHConnection.connect`.
public actor ConnectionStartLimiter {
    /// Shared by every connection of the process.
    public static let shared = ConnectionStartLimiter(perEndpoint: 8, total: 32)

    public let perEndpoint: Int
    public let total: Int
    private var active: [String: Int] = [:]
    private var activeTotal = 0
    private var waiting: [Waiter] = []
    private var nextID = 0

    private struct Waiter {
        let id: Int
        let endpoint: String
        let continuation: CheckedContinuation<Void, any Error>
        let timer: Task<Void, Never>
    }

    public init(perEndpoint: Int, total: Int = 32) {
        self.perEndpoint = max(1, perEndpoint)
        self.total = max(1, total)
    }

    /// Waits for a slot for `endpoint`, at most `timeout`.
    func acquire(_ endpoint: String, timeout: Duration) async throws {
        // Whoever waits, waits for a full endpoint or a full total: if this start fits, none of them would.
        if fits(endpoint) {
            take(endpoint)
            return
        }
        nextID += 1
        let id = nextID
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let timer = Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.expire(id: id, after: timeout)
            }
            waiting.append(Waiter(id: id, endpoint: endpoint, continuation: continuation, timer: timer))
        }
    }

    /// Frees a slot and starts the waiters that now fit, oldest first.
    func release(_ endpoint: String) {
        active[endpoint, default: 1] -= 1
        if active[endpoint] == 0 { active[endpoint] = nil }
        activeTotal -= 1
        while let index = waiting.firstIndex(where: { fits($0.endpoint) }) {
            let next = waiting.remove(at: index)
            take(next.endpoint)
            next.timer.cancel()
            next.continuation.resume()
        }
    }

    private func fits(_ endpoint: String) -> Bool {
        activeTotal < total && active[endpoint, default: 0] < perEndpoint
    }

    private func take(_ endpoint: String) {
        active[endpoint, default: 0] += 1
        activeTotal += 1
    }

    private func expire(id: Int, after timeout: Duration) {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiting.remove(at: index)
        waiter.continuation.resume(throwing: SSHError.startQueueTimedOut(endpoint: waiter.endpoint, after: timeout))
    }
}
