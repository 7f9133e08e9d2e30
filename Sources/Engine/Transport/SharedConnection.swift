import Plan
/// A connection made at most once at a time and shared: callers that ask while it is being made wait for that one
/// connect instead of opening their own (which would leave one of the two open and never closed). Kept inside an
/// actor, which makes its mutations one at a time; the connect itself runs outside it.
public struct SharedConnection<Value: Sendable>: Sendable {
    private var current: (task: Task<Value, any Error>, generation: Int)?
    private var generation = 0

    public init() {}

    /// Starts from a connection made already.
    public init(_ value: Value) {
        generation = 1
        current = (Task { value }, 1)
    }

    /// The connection being made or made, and its generation; `connect` runs only when there is none.
    public mutating func claim(_ connect: @escaping @Sendable () async throws -> Value) -> (task: Task<Value, any Error>, generation: Int) {
        if let current { return current }
        generation += 1
        let made = (task: Task { try await connect() }, generation: generation)
        current = made
        return made
    }

    /// Forgets the connection of `generation` (it failed to connect, or broke), if it is still the current one; returns
    /// it, to be closed.
    public mutating func forget(_ generation: Int) -> Task<Value, any Error>? {
        guard let current, current.generation == generation else { return nil }
        self.current = nil
        return current.task
    }

    /// The connection being made or made, if any.
    public var existing: Task<Value, any Error>? { current?.task }

    /// Forgets whatever connection there is, returning it to be closed.
    public mutating func take() -> Task<Value, any Error>? {
        defer { current = nil }
        return current?.task
    }
}
