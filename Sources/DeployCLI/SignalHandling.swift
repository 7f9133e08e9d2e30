import Commands
import Dispatch
import Foundation
import Plan
import Engine
import Synchronization

/// The process's one handler of SIGINT, SIGTERM and SIGHUP, installed once: each signal goes to the handler
/// pushed last (reading secrets, a rollout, a stream of logs), or, with none, ends the process as by default.
/// One installation only, because libdispatch installs its own handler when a signal's first source is made
/// and never again: a disposition reset in between (to end the process) would leave later sources deaf.
final class SignalRouter: Sendable {
    static let shared = SignalRouter()

    private struct State {
        var handlers: [(id: Int, body: @Sendable () -> Void)] = []
        var nextID = 0
        var sources: [DispatchSourceSignal] = []
    }
    private let state = Mutex(State())

    /// Routes the signals to `body` until `remove` is called with the id returned.
    func push(_ body: @escaping @Sendable () -> Void) -> Int {
        state.withLock { state in
            if state.sources.isEmpty {
                for signo in InterruptHandling.handled {
                    signal(signo, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
                    source.setEventHandler { [unowned self] in deliver(signo) }
                    source.resume()
                    state.sources.append(source)
                }
            }
            state.nextID += 1
            state.handlers.append((state.nextID, body))
            return state.nextID
        }
    }

    func remove(_ id: Int) {
        state.withLock { $0.handlers.removeAll { $0.id == id } }
    }

    private func deliver(_ signo: Int32) {
        guard let handler = state.withLock({ $0.handlers.last?.body }) else {
            // Nobody is handling it: what the signal does by default (the process ends by it).
            signal(signo, SIG_DFL)
            raise(signo)
            return
        }
        handler()
    }
}

/// Ctrl-C, SIGTERM and SIGHUP (the terminal or the SSH session to a bastion went away) during a
/// rollout, all alike. The first one asks the executor to stop (no new host starts;
/// hosts in flight finish their current command and are put back; locks are released). The second one
/// cancels the rollout at once, prints where each host was left, and exits if the rollout does not
/// come back within a few seconds.
final class InterruptHandling: Sendable {
    private let stop: StopSignal
    private let monitor: RolloutMonitor
    private let err: LineOutput
    private struct State {
        /// Its place in the `SignalRouter` while installed.
        var route: Int?
        var onAbort: (@Sendable () -> Void)?
        /// What the reporter still owes its reader when the process exits by the second signal's timer.
        var lastWords: (@Sendable () -> Void)?
        /// The exit a second signal schedules in case the rollout does not come back; cancelled when it does.
        var pendingExit: DispatchWorkItem?
        /// Set once the process is on its way out, by the rollout's own end or by the pending exit: only one of them
        /// reports and exits.
        var finished = false
    }
    private let state = Mutex(State())

    /// Seconds the rollout gets to unwind after the second signal before the process exits by itself.
    static let abortGrace: Double = 3

    init(stop: StopSignal, monitor: RolloutMonitor, err: LineOutput = .standardError) {
        self.stop = stop
        self.monitor = monitor
        self.err = err
    }

    static let handled = [SIGINT, SIGTERM, SIGHUP]

    /// Starts handling the signals of `handled`; `onAbort` cancels the rollout's task; `lastWords` runs before the
    /// process exits when the rollout did not come back in time (a JSON stream ends each service it started).
    func install(onAbort: @escaping @Sendable () -> Void, lastWords: (@Sendable () -> Void)? = nil) {
        state.withLock {
            $0.onAbort = onAbort
            $0.lastWords = lastWords
        }
        let id = SignalRouter.shared.push { [weak self] in self?.received() }
        state.withLock { $0.route = id }
    }

    /// Back to the default behaviour (a later Ctrl-C ends the process). The rollout came back: an exit a second
    /// signal scheduled is called off, so it cannot cut the report short or exit with another code. Returns false
    /// when that exit is already under way (the caller must then not report or exit itself).
    @discardableResult
    func uninstall() -> Bool {
        let (id, mine) = state.withLock { state -> (Int?, Bool) in
            defer { state.route = nil }
            state.pendingExit?.cancel()
            let mine = !state.finished
            state.finished = true
            return (state.route, mine)
        }
        if let id { SignalRouter.shared.remove(id) }
        if !mine {
            // The pending exit is printing and exiting; wait for it rather than race it.
            while true { pause() }
        }
        return mine
    }

    private func received() {
        let count = stop.request()
        if count == 1 {
            err.write("\nstopping: no new host starts; hosts in flight finish their current step and are put back "
                + "(during the watch after the last batch, the watch ends and the new revision stays); "
                + "locks are released. Press Ctrl-C again to stop at once.\n")
            return
        }
        guard count == 2 else { return }
        err.write("\nstopping at once.\n")
        state.withLock { $0.onAbort }?()
        // Made and scheduled under the lock, so `uninstall` either finds it to cancel or runs before it exists.
        state.withLock { state in
            let exit = DispatchWorkItem { [weak self, monitor, err] in
                guard let self, self.state.withLock({ state -> Bool in
                    defer { state.finished = true }
                    return !state.finished
                }) else { return }
                // Local hooks still running are not waited for: they end with the process.
                ChildProcess.killRunningGroups()
                self.state.withLock { $0.lastWords }?()
                err.write(Self.abortReport(monitor))
                // As the rollout's own end would decide: a host left changed (put back or not) needs a person.
                let attention = monitor.snapshot().contains { $0.state.needsAttention || $0.state.isOnTarget }
                Foundation.exit(ExitStatus.of(attention ? .needsAttention : .failed).rawValue)
            }
            state.pendingExit = exit
            DispatchQueue.global().asyncAfter(deadline: .now() + Self.abortGrace, execute: exit)
        }
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
