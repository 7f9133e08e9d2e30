import Dispatch
import Foundation
import Rollout

/// Ctrl-C, SIGTERM and SIGHUP (the terminal or the SSH session to a bastion went away) during a
/// rollout, all alike. The first one asks the executor to stop (no new host starts;
/// hosts in flight finish their current command and are put back; locks are released). The second one
/// cancels the rollout at once, prints where each host was left, and exits if the rollout does not
/// come back within a few seconds.
final class InterruptHandling: @unchecked Sendable {
    private let stop: StopSignal
    private let monitor: RolloutMonitor
    private let err: LineOutput
    private let lock = NSLock()
    private var sources: [DispatchSourceSignal] = []
    private var onAbort: (@Sendable () -> Void)?

    /// Seconds the rollout gets to unwind after the second signal before the process exits by itself.
    static let abortGrace: Double = 3

    init(stop: StopSignal, monitor: RolloutMonitor, err: LineOutput = .standardError) {
        self.stop = stop
        self.monitor = monitor
        self.err = err
    }

    static let handled = [SIGINT, SIGTERM, SIGHUP]

    /// Starts handling the signals of `handled`; `onAbort` cancels the rollout's task.
    func install(onAbort: @escaping @Sendable () -> Void) {
        lock.withLock { self.onAbort = onAbort }
        for signo in Self.handled {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler { [weak self] in self?.received() }
            source.resume()
            lock.withLock { sources.append(source) }
        }
    }

    /// Back to the default behaviour (a later Ctrl-C ends the process).
    func uninstall() {
        let installed = lock.withLock { () -> [DispatchSourceSignal] in
            defer { sources = [] }
            return sources
        }
        for source in installed { source.cancel() }
        for signo in Self.handled { signal(signo, SIG_DFL) }
    }

    private func received() {
        let count = stop.request()
        if count == 1 {
            err.write("\nstopping: no new host starts; hosts in flight finish their current step and are put back; "
                + "locks are released. Press Ctrl-C again to stop at once.\n")
            return
        }
        guard count == 2 else { return }
        err.write("\nstopping at once.\n")
        lock.withLock { onAbort }?()
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.abortGrace) { [monitor, err] in
            err.write(Self.describe(monitor))
            let services = Set(monitor.snapshot().map(\.service)).sorted()
            err.write("locks may still be held: once the hosts are checked, run "
                + services.map { "`openclaw-deploy lock release \($0) --force`" }.joined(separator: ", ") + "\n")
            let attention = monitor.snapshot().contains { $0.state.needsAttention }
            exit(ExitStatus.of(attention ? .needsAttention : .failed).rawValue)
        }
    }

    /// One line per host: where it was left.
    static func describe(_ monitor: RolloutMonitor) -> String {
        let rows = monitor.snapshot()
        guard !rows.isEmpty else { return "" }
        return "state of each host when the rollout stopped:\n"
            + rows.map { "  \($0.service) \($0.host): \($0.state.description)\($0.state.needsAttention ? "  <- look at it" : "")\n" }.joined()
    }
}
