import Commands
import Foundation
import Inventory
import Plan
import Engine
import Synchronization

/// Output for people: one line per host step with its time, health progress (rewritten in place on a
/// terminal), and a summary table per service at the end.
final class TextEventReporter: EventReporter, Sendable {
    private let out: LineOutput
    private let palette: Palette
    private let hostWidth: Int
    private let serviceWidth: Int
    /// With one service the service column is left out: the header names it.
    private let showService: Bool
    /// Columns lines fit (nil: no limit; see `TextFit`).
    private let width: Int?
    /// What the output shows and what runs, changed only under its lock; lines are written while it is held, so
    /// a progress line and what clears it never interleave with another line.
    private struct Screen {
        /// Whether the last thing written is a progress line to be overwritten.
        var progressShown = false
        /// Last health answer per host, so that piped output shows changes rather than every probe.
        var lastAnswer: [String: String] = [:]
        /// Remote steps under way, by `service/host`, so a long one (an image build) can be shown to be alive.
        var running: [String: RunningStep] = [:]
        /// When the health progress line was last written: a running step's line does not replace it at once.
        var lastProgress: ContinuousClock.Instant?
        /// The last traffic line per service: when it was written and its verdict. A reading comes every probe
        /// interval; a line is written when the verdict changes, and otherwise every `trafficInterval`.
        var lastTraffic: [String: (at: ContinuousClock.Instant, verdict: String)] = [:]
        /// Calls `tick` every `terminalTick` until the rollout ends.
        var ticker: Task<Void, Never>?
    }
    private let screen = Mutex(Screen())
    static let trafficInterval: Duration = .seconds(10)

    private struct RunningStep {
        var who: String
        var step: String
        var started: ContinuousClock.Instant
        /// On a pipe, when the last "still running" line was written.
        var lastLine: ContinuousClock.Instant
    }

    /// On a terminal a running step's elapsed time is rewritten every `terminalTick`; on a pipe a line is
    /// written every `pipeInterval` while a step runs.
    static let terminalTick: Duration = .seconds(1)
    static let pipeInterval: Duration = .seconds(30)

    init(out: LineOutput = .standardOutput, color: Bool, hostNames: [String], serviceNames: [String], width: Int? = nil) {
        self.out = out
        self.palette = Palette(enabled: color)
        self.width = width
        self.showService = serviceNames.count > 1
        // Host names past 24 characters are shortened in the middle in the step lines (the summary shows them whole).
        self.hostWidth = min(max(4, hostNames.map(\.count).max() ?? 0), width == nil ? .max : 24)
        self.serviceWidth = max(7, serviceNames.map(\.count).max() ?? 0)
        let ticker = Task { [weak self] in
            while true {
                do { try await Task.sleep(for: Self.terminalTick) } catch { return }
                guard let self else { return }
                self.tick()
            }
        }
        screen.withLock { $0.ticker = ticker }
    }

    deinit { screen.withLock { $0.ticker?.cancel() } }

    func emit(_ event: RolloutEvent) {
        let key = "\(event.service)/\(event.host ?? "")"
        switch event.payload {
        case .healthProbe(let probe): progress(event, probe)
        case .trafficSample(let sample):
            let now = ContinuousClock.now
            // What a line is new for: the phase, the verdict, whether the read failed.
            let kind = "\(sample.step.rawValue) \(sample.verdict.word)" + (sample.readError == nil ? "" : " unread")
            let due = screen.withLock { screen -> Bool in
                let last = screen.lastTraffic[event.service]
                guard last == nil || last!.verdict != kind || last!.at.duration(to: now) >= Self.trafficInterval else { return false }
                screen.lastTraffic[event.service] = (now, kind)
                return true
            }
            if due, let line = line(for: event) { print(line) }
        case .stepStarted(let step, let phase):
            let now = ContinuousClock.now
            let name = (phase == .putBack ? "put back: " : "") + step.rawValue
            let who = who(event)
            screen.withLock { $0.running[key] = RunningStep(who: who, step: name, started: now, lastLine: now) }
        default:
            switch event.payload {
            case .step, .hostSucceeded, .hostFailed, .hostRolledBack:
                // A step cancelled at once (a second Ctrl-C) never reports its end: the host's end clears it too.
                screen.withLock { _ = $0.running.removeValue(forKey: key) }
            case .deployFinished:
                screen.withLock { $0.running = $0.running.filter { !$0.key.hasPrefix(event.service + "/") } }
            default:
                break
            }
            if let line = line(for: event) { print(line) }
        }
    }

    func finish(_ report: RolloutReport) {
        screen.withLock { screen in
            screen.ticker?.cancel()
            screen.ticker = nil
            screen.running.removeAll()
            // A tick that ran just before leaves its line without a newline: end it cleanly.
            if screen.progressShown {
                out.write("\r\u{1B}[2K")
                screen.progressShown = false
            }
        }
        for problem in report.gatewayProblems { print(palette.yellow("gateway: \(VisibleText.escaped(problem))")) }
        if report.services.count > 1 { print(combinedSummary(report.services)) }
    }

    /// One table across the services of a multi-service rollout (`--all`): each service's result, how many of its
    /// hosts ended on the target, and the first failure.
    private func combinedSummary(_ services: [ServiceOutcome]) -> String {
        var counts: [(String, Int)] = []
        for result in ["succeeded", "no_change", "stopped", "rolled_back", "rollback_failed"] {
            let count = services.filter { $0.result.rawValue == result }.count
            if count > 0 { counts.append((result.replacingOccurrences(of: "_", with: " "), count)) }
        }
        let longest = services.map(\.elapsed).max() ?? .zero
        var lines = ["", palette.bold("\(services.count) services: ") + counts.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
            + " in \(spokenDuration(longest))"]
        lines.append("  " + palette.dim([pad("SERVICE", serviceWidth), pad("RESULT", 15), pad("ON TARGET", 9), "NOTE"].joined(separator: "  ")))
        for service in services {
            let onTarget = service.hosts.filter { $0.result == .succeeded || $0.result == .noChange }.count
            let failed = service.hosts.first { $0.failedStep != nil || $0.reason != nil }
            let note = failed.map { host in
                VisibleText.escaped("\(host.host): " + [host.failedStep.map { "failed at \($0)" }, host.reason].compactMap { $0 }.joined(separator: ": "))
            } ?? (service.error.map { VisibleText.escaped($0.description) } ?? "")
            let result = service.result == .succeeded || service.result == .noChange ? palette.green(pad(service.result.rawValue, 15))
                : service.result == .rollbackFailed ? palette.red(pad(service.result.rawValue, 15)) : palette.yellow(pad(service.result.rawValue, 15))
            let row = [pad(service.service, serviceWidth), result, pad("\(onTarget)/\(service.hosts.count)", 9), note].joined(separator: "  ")
            lines.append("  " + String(row.reversed().drop(while: { $0 == " " }).reversed()))
        }
        return lines.joined(separator: "\n")
    }

    private func who(_ event: RolloutEvent) -> String {
        var host = event.host ?? ""
        if width != nil { host = TextFit.shortened(host, to: hostWidth) }
        return showService ? "\(pad(event.service, serviceWidth))  \(pad(host, hostWidth))" : pad(host, hostWidth)
    }

    /// `line` wrapped to the width, continuation lines under `indent`.
    private func wrap(_ line: String, indent: Int) -> String {
        TextFit.wrapped(line, width: width, indent: String(repeating: " ", count: indent)).joined(separator: "\n")
    }

    /// Shows that long steps are alive: on a terminal, the longest-running step's elapsed time in place (unless
    /// health progress is being shown); on a pipe, a line per step every `pipeInterval`.
    private func tick() {
        let now = ContinuousClock.now
        screen.withLock { screen in
            let running = screen.running
            guard !running.isEmpty else { return }
            if out.isTerminal {
                if let last = screen.lastProgress, now - last < .seconds(2) { return }
                guard let oldest = running.values.min(by: { $0.started < $1.started }), now - oldest.started >= .seconds(2) else { return }
                let others = running.count > 1 ? ", \(running.count - 1) more step\(running.count > 2 ? "s" : "") running" : ""
                let text = fitted(oldest.who, "\(oldest.step): running for \(spokenDuration(now - oldest.started))\(others)")
                out.write("\r\u{1B}[2K" + palette.dim(text))
                screen.progressShown = true
                return
            }
            for (key, step) in running where now - step.lastLine >= Self.pipeInterval {
                out.write("\(step.who)  \(step.step): still running after \(spokenDuration(now - step.started))\n")
                screen.running[key]?.lastLine = now
            }
        }
    }

    /// `who` and `what` on one terminal line, so rewriting it in place never leaves wrapped remains behind: when
    /// the padded columns do not fit, the host alone (shortened in the middle if need be), then `what` cut short.
    private func fitted(_ who: String, _ what: String) -> String {
        let width = max(20, out.columns - 1)
        let full = who + "  " + what
        if full.count <= width { return full }
        var host = who.split(separator: " ", omittingEmptySubsequences: true).last.map(String.init) ?? who
        let room = max(8, width - what.count - 2)
        if host.count > room { host = String(host.prefix(room / 2)) + "…" + String(host.suffix(room - room / 2 - 1)) }
        let short = host + "  " + what
        return short.count <= width ? short : String(short.prefix(width - 1)) + "…"
    }

    private func line(for event: RolloutEvent) -> String? {
        let who = self.who(event)
        let under = who.count + 4
        switch event.payload {
        case .deployStarted(let started):
            let batches = started.batches.map { "[" + $0.joined(separator: " ") + "]" }.joined(separator: " ")
            let target = started.ref.map { "to \($0)" } ?? "to the revision before the newest deploy that changed a host"
            let facts = "tier \(started.tier) · batches \(batches)" + (started.canary ? " · canary, then \(started.bakeSeconds)s bake" : "")
                + " · " + healthyAnswers(started.healthyAfter)
            let head = "\(started.action.rawValue) \(event.service) \(target)"
            // One line when it fits, else the facts on a line of their own.
            if let width, head.count + 2 + facts.count > width {
                return palette.bold(head) + "\n" + palette.dim(wrap("  " + facts, indent: 4))
            }
            return palette.bold(head) + palette.dim("  " + facts)
        case .hostStarted(let batch, let revision):
            return "\(who)  " + palette.bold("batch \(batch)") + palette.dim(" starting at \(shortRevision(revision))")
        case .step(let step):
            let status = step.status == .ok ? palette.green("ok    ") : palette.red("FAILED")
            let name = (step.phase == .putBack ? "put back: " : "") + step.step.rawValue
            // Steps sent in one round trip with the one before show no time of their own: it is that round trip's.
            let time = step.together ? "" : spokenDuration(step.elapsed)
            let start = "\(who)  \(pad(name, 20)) \(status) \(pad(time, 7, right: true))"
            guard let detail = step.detail.map(VisibleText.escaped) else { return String(start.reversed().drop { $0 == " " }.reversed()) }
            // A failed step's reason is wrapped, whole, and so is a service-wide step's word (what a rollback undoes); a
            // host's ok step's detail is shortened to stay on its line.
            if step.status == .failed || event.host == nil { return wrap(start + "  " + detail, indent: under) }
            let room = width.map { $0 - TextFit.visibleCount(start) - 2 } ?? .max
            return start + "  " + TextFit.shortened(detail, to: max(12, room))
        case .hostSucceeded(let outcome):
            let what = outcome.result == .noChange
                ? "no change: already on \(shortRevision(outcome.to)) and healthy"
                : "succeeded: \(shortRevision(outcome.from)) → \(shortRevision(outcome.to))"
            return "\(who)  " + palette.green("✔ " + what) + palette.dim(" (\(spokenDuration(outcome.elapsed)))")
        case .hostFailed(let failure):
            return palette.red(wrap("\(who)  ✘ failed at \(failure.step): \(VisibleText.escaped(failure.reason))"
                + (failure.changed ? " (putting it back)" : ""), indent: under))
        case .hostRolledBack(let outcome):
            return "\(who)  " + palette.yellow("↩ back on \(shortRevision(outcome.revision)), healthy")
        case .deployFinished(let outcome):
            return summary(outcome)
        case .lockWait(let wait):
            // The holder once, then one line a check.
            if wait.first {
                return wrap("\(who)  " + palette.yellow("locked by \(VisibleText.escaped(wait.holder))")
                    + palette.dim("; waiting up to \(spokenDuration(wait.waited + wait.left)) (--lock-wait), holding no lock"), indent: under)
            }
            return "\(who)  " + palette.dim("still locked, waited \(spokenDuration(wait.waited)), \(spokenDuration(wait.left)) left")
        case .healthProbe, .stepStarted:
            return nil
        case .trafficSample(let sample):
            let status = sample.verdict.word == "failed" ? palette.red("FAILED") : palette.green("ok    ")
            let baseline = sample.baselineFrom == .unchangedHosts ? "unchanged hosts" : "before the rollout"
            func side(_ side: TrafficSide) -> String {
                "\(side.requests) req, \(TrafficVerdict.percent(side.errorRate)) 5xx, p95 \(TrafficVerdict.milliseconds(side.p95))"
            }
            var detail = "\(sample.step.rawValue): \(sample.changedHosts.joined(separator: ", ")) \(side(sample.verdict.changed)); "
                + "\(baseline) \(side(sample.verdict.baseline))"
            if let reason = sample.verdict.reason { detail += "; \(reason)" }
            if let problem = sample.readError { detail += "; \(problem)" }
            return wrap("\(who)  \(pad("traffic", 20)) \(status) \(pad("", 7))  " + VisibleText.escaped(detail), indent: under)
        case .diagnostics(let diagnostics):
            // The host's own words, indented under a line that says what they are.
            var lines = diagnostics.text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
                .map(String.init)
            if lines.last == "" { lines.removeLast() }
            if lines.isEmpty { lines = ["(empty)"] }
            return "\(who)  " + palette.dim(VisibleText.escaped(diagnostics.title) + ":") + "\n"
                + lines.map { wrap("    " + VisibleText.escaped($0), indent: 6) }.joined(separator: "\n")
        }
    }

    private func progress(_ event: RolloutEvent, _ probe: HealthProbeReport) {
        let answer = probe.status.map { "HTTP \($0)" } ?? "no answer (\(VisibleText.escaped(probe.error ?? "?")))"
        let what = "health: attempt \(probe.attempt), \(answer), \(probe.consecutive)/\(probe.needed) in a row, "
            + "\(spokenDuration(probe.timeLeft)) left"
        let who = who(event)
        let plain = "\(who)  " + what
        screen.withLock { screen in
            if out.isTerminal {
                out.write("\r\u{1B}[2K" + palette.dim(fitted(who, what)))
                screen.progressShown = true
                screen.lastProgress = .now
                return
            }
            let text = "\(who)  " + palette.dim(String(plain.dropFirst(who.count + 2)))
            // Not a terminal: a line when the answer changes, and every tenth probe while it does not.
            let key = "\(event.service)/\(event.host ?? "")"
            if screen.lastAnswer[key] != answer || probe.attempt % 10 == 0 {
                out.write(text + "\n")
            }
            screen.lastAnswer[key] = answer
        }
    }

    private func print(_ line: String) {
        screen.withLock { screen in
            if screen.progressShown {
                out.write("\r\u{1B}[2K")
                screen.progressShown = false
            }
            out.write(line + "\n")
        }
    }

    private func summary(_ outcome: ServiceOutcome) -> String {
        let verdict: String
        switch outcome.result {
        case .succeeded: verdict = palette.green("succeeded")
        case .noChange: verdict = palette.green("no change")
        case .stopped:
            let changed = outcome.hosts.filter { $0.result == .succeeded }.map(\.host)
            verdict = palette.yellow(changed.isEmpty ? "stopped before any host changed"
                : "stopped; \(changed.joined(separator: ", ")) stayed on the new revision")
        case .rolledBack: verdict = palette.yellow("rolled back")
        case .rollbackFailed: verdict = palette.red("ROLLBACK FAILED")
        }
        var lines = ["", palette.bold("\(outcome.service): \(outcome.action.rawValue) ") + verdict
            + (outcome.sha.map { " (\(outcome.ref ?? "") = \($0.short))" } ?? "")
            + " in \(spokenDuration(outcome.elapsed))"
            + (outcome.watchCutShort ? palette.yellow("; the watch was cut short (Ctrl-C), the new revision stays") : "")]
        // Host names whole; RESULT as wide as the longest result shown. Each note (why a host failed) goes on the
        // lines under its row, wrapped, so the table stays in 80 columns whatever the reason says.
        let names = outcome.hosts.map(\.host)
        let hostColumn = max(4, names.map(\.count).max() ?? 0)
        let resultColumn = max(6, outcome.hosts.map(\.result.rawValue.count).max() ?? 0)
        let header = [pad("HOST", hostColumn), pad("RESULT", resultColumn), pad("FROM", 12), pad("TO", 12), "NOW ON"]
        lines.append("  " + palette.dim(header.joined(separator: "  ")))
        for host in outcome.hosts {
            let row = [pad(host.host, hostColumn), pad(host.result.rawValue, resultColumn), pad(shortRevision(host.from), 12),
                       pad(shortRevision(host.to), 12), shortRevision(host.revision)].joined(separator: "  ")
            lines.append("  " + row)
            let note = VisibleText.escaped([host.failedStep.map { "failed at \($0)" }, host.reason].compactMap { $0 }.joined(separator: ": "))
            if !note.isEmpty {
                let indent = String(repeating: " ", count: 4 + hostColumn)
                lines += TextFit.wrapped(indent + note, width: width, indent: indent)
            }
        }
        if !outcome.locksLeft.isEmpty {
            lines.append(palette.red(wrap("  lock left on \(outcome.locksLeft.joined(separator: ", ")): "
                + "run `openclaw-deploy lock release \(outcome.service) --force` once the host is reachable and checked", indent: 4)))
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }
}

/// `3 healthy answers`, or `healthy answers cs-1: 3, cs-2: 50` when the hosts' gates differ.
func healthyAnswers(_ values: HostValues<Int>) -> String {
    if let uniform = values.uniform { return "\(uniform) healthy answer\(uniform == 1 ? "" : "s")" }
    return "healthy answers " + values.byHost.map { "\($0.host): \($0.value)" }.joined(separator: ", ")
}
