import Commands
import Foundation
import Inventory
import Plan
import Synchronization

/// Writes one rollout's history on its hosts, ahead of change: a `started` record before a host changes,
/// and the host's final record as soon as its part ends (not when the whole service ends), so a rollout
/// killed half-way still says which hosts it had started to change.
final class HistoryBook: Sendable {
    let deployID: String
    private let service: String
    private let action: RolloutAction
    private let startedAt: String
    private let operatorName: String
    private let timeout: Duration
    /// Hosts whose lock was lost are someone else's now: nothing more is written there.
    private let lease: Lease
    /// Records are written on hosts: a reason (a command's last line) never carries a secret there.
    private let redactor: Redactor
    private struct Written {
        /// Hosts whose final record was written.
        var finished: Set<String> = []
        var ref: String?
    }
    private let written = Mutex(Written())

    /// The ref records name; set once it is known (for a rollback from history, after reading it).
    var ref: String? {
        get { written.withLock { $0.ref } }
        set { written.withLock { $0.ref = newValue } }
    }

    init(deployID: String, service: String, action: RolloutAction, options: ExecutorOptions, lease: Lease, redactor: Redactor = .none) {
        self.lease = lease
        self.redactor = redactor
        self.deployID = deployID
        self.service = service
        self.action = action
        self.startedAt = Timestamp.string(Date())
        self.operatorName = options.operatorName
        self.timeout = options.bookkeepingTimeout
    }

    /// Before `session`'s host changes from `from` to `to`. Throws when the record could not be written:
    /// the host must then not change, or a rollout killed later would leave no trace there.
    func started(_ session: HostSession, from: CommitID, to: CommitID) async throws {
        guard !lease.isLost(session.host.name) else { throw StepFailure(step: .historyStarted, reason: "the lock was lost") }
        let record = self.record(session, from: from.value, to: to.value, result: HistoryRecord.startedResult, finishedAt: nil)
        try await session.run(try session.plan.required(.historyStarted), [.historyRecord: record.jsonLine], timeout: timeout)
    }

    /// The host's part ended with `outcome` (a later final record of the same host, after a put back, replaces it).
    func finished(_ session: HostSession, _ outcome: HostOutcome, target: String?) async {
        written.withLock { _ = $0.finished.insert(session.host.name) }
        guard !lease.isLost(session.host.name) else { return }
        var record = self.record(session, from: outcome.from?.value, to: outcome.to?.value ?? target ?? "", result: outcome.result.rawValue,
                                 finishedAt: Timestamp.string(Date()))
        let why = redactor.redact([outcome.failedStep.map { "failed at \($0)" }, outcome.reason].compactMap { $0 }.joined(separator: ": "))
        // One line of the record travels as one argument: a reason is kept short (it ends in a command's last line).
        record.reason = why.isEmpty ? nil : FailureDiagnostics.prefix(why, bytes: Self.reasonBytes).text
        // A final record is bookkeeping: a host that cannot take it does not change the rollout's result.
        _ = try? await session.run(try session.plan.required(.history), [.historyRecord: record.jsonLine], timeout: timeout)
    }

    /// Bytes of a failure reason kept in a history record.
    static let reasonBytes = 1000

    func hasFinished(_ host: String) -> Bool { written.withLock { $0.finished.contains(host) } }

    private func record(_ session: HostSession, from: String?, to: String, result: String, finishedAt: String?) -> HistoryRecord {
        HistoryRecord(id: deployID, service: service, host: session.host.name, action: action.rawValue, from: from, to: to,
                      result: result, startedAt: startedAt, finishedAt: finishedAt, operator: operatorName, ref: ref)
    }
}
