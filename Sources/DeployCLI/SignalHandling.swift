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
    /// The exit a second signal schedules in case the rollout does not come back; cancelled when it does.
    private var pendingExit: DispatchWorkItem?
    /// Set once the process is on its way out, by the rollout's own end or by the pending exit: only one of them
    /// reports and exits.
    private var finished = false

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

    /// Back to the default behaviour (a later Ctrl-C ends the process). The rollout came back: an exit a second
    /// signal scheduled is called off, so it cannot cut the report short or exit with another code. Returns false
    /// when that exit is already under way (the caller must then not report or exit itself).
    @discardableResult
    func uninstall() -> Bool {
        let (installed, mine) = lock.withLock { () -> ([DispatchSourceSignal], Bool) in
            defer { sources = [] }
            pendingExit?.cancel()
            let mine = !finished
            finished = true
            return (sources, mine)
        }
        for source in installed { source.cancel() }
        for signo in Self.handled { signal(signo, SIG_DFL) }
        if !mine {
            // The pending exit is printing and exiting; wait for it rather than race it.
            while true { pause() }
        }
        return mine
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
        let exit = DispatchWorkItem { [weak self, monitor, err] in
            guard let self, self.lock.withLock({ () -> Bool in
                defer { self.finished = true }
                return !self.finished
            }) else { return }
            err.write(Self.abortReport(monitor))
            let attention = monitor.snapshot().contains { $0.state.needsAttention }
            Foundation.exit(ExitStatus.of(attention ? .needsAttention : .failed).rawValue)
        }
        lock.withLock { pendingExit = exit }
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.abortGrace, execute: exit)
    }

    /// Where each host was left, and how to release the locks a stop at once left behind.
    static func abortReport(_ monitor: RolloutMonitor) -> String {
        let services = Set(monitor.snapshot().map(\.service)).sorted()
        guard !services.isEmpty else { return "" }
        return describe(monitor) + "locks may still be held: once the hosts are checked, run "
            + services.map { "`openclaw-deploy lock release \($0) --force`" }.joined(separator: ", ") + "\n"
    }

    /// One line per host: where it was left.
    static func describe(_ monitor: RolloutMonitor) -> String {
        let rows = monitor.snapshot()
        guard !rows.isEmpty else { return "" }
        return "state of each host when the rollout stopped:\n"
            + rows.map { "  \($0.service) \($0.host): \($0.state.description)\($0.state.needsAttention ? "  <- look at it" : "")\n" }.joined()
    }
}
