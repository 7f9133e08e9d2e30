import Commands
import Plan
/// Takes hosts out of the API gateway's rotation while they change, so a rolling deploy loses no request.
/// The executor calls `drain` before the first change to a host, `restore` after its health gate passed or
/// after it was put back, and `finish` once when the run ends. Implementations are idempotent: draining a
/// drained host or restoring one in rotation does nothing.
public protocol GatewayHook: Sendable {
    /// Returns a short line for the step report (`marked down in openclaw_customer_service`). Throwing stops
    /// the host before any change: it then counts as failed, unchanged.
    func drain(service: String, host: String) async throws -> String
    /// Returns a short line for the step report. Throwing does not undo the host's result; it is reported.
    func restore(service: String, host: String) async throws -> String
    /// Puts back every host still drained (after a stop or a failure) and ends the gateway connection.
    /// Returns one line per problem, for the operator.
    func finish() async -> [String]
    /// The requests the gateway logged for `service` from byte `offset` of its access log (negative: from that many
    /// bytes before its end), with the upstream address of each of its hosts; nil when the plan judges none of its
    /// traffic. One round trip to the gateway host.
    func readTraffic(service: String, from offset: Int64) async throws -> TrafficReading?
}

extension GatewayHook {
    public func readTraffic(service: String, from offset: Int64) async throws -> TrafficReading? { nil }
}
