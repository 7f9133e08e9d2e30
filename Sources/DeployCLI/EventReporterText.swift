import Foundation
import Inventory
import Rollout

/// Output for people: one line per host step with its time, health progress (rewritten in place on a
/// terminal), and a summary table per service at the end.
final class TextEventReporter: EventReporter, @unchecked Sendable {
    private let out: LineOutput
    private let palette: Palette
    /// Whether the last thing written is a progress line to be overwritten.
    private var progressShown = false
    /// Last health answer per host, so that piped output shows changes rather than every probe.
    private var lastAnswer: [String: String] = [:]
    private let hostWidth: Int
    private let serviceWidth: Int

    init(out: LineOutput = .standardOutput, color: Bool, hostNames: [String], serviceNames: [String]) {
        self.out = out
        self.palette = Palette(enabled: color)
        self.hostWidth = max(4, hostNames.map(\.count).max() ?? 0)
        self.serviceWidth = max(7, serviceNames.map(\.count).max() ?? 0)
    }

    func emit(_ event: RolloutEvent) {
        switch event.payload {
        case .healthProbe(let probe): progress(event, probe)
        default:
            if let line = line(for: event) { print(line) }
        }
    }

    func finish(_ report: RolloutReport) {
        for problem in report.gatewayProblems { print(palette.yellow("gateway: \(VisibleText.escaped(problem))")) }
    }

    private func line(for event: RolloutEvent) -> String? {
        let who = "\(pad(event.service, serviceWidth))  \(pad(event.host ?? "", hostWidth))"
        switch event.payload {
        case .deployStarted(let started):
            let batches = started.batches.map { "[" + $0.joined(separator: " ") + "]" }.joined(separator: " ")
            let target = started.ref.map { "to \($0)" } ?? "to the revision before the newest deploy that changed a host"
            return palette.bold("\(started.action.rawValue) \(event.service) \(target)")
                + palette.dim("  tier \(started.tier): batches \(batches)"
                    + (started.canary ? ", canary then \(started.bakeSeconds)s bake" : "")
                    + ", " + healthyAnswers(started.healthyAfter))
        case .hostStarted(let batch, let revision):
            return "\(who)  " + palette.bold("batch \(batch)") + palette.dim(" starting at \(shortRevision(revision))")
        case .step(let step):
            let status = step.status == .ok ? palette.green("ok    ") : palette.red("FAILED")
            let name = (step.phase == .putBack ? "put back: " : "") + step.step
            return "\(who)  \(pad(name, 26)) \(status) \(pad(spokenDuration(step.elapsed), 7, right: true))"
                + (step.detail.map { "  " + VisibleText.escaped($0) } ?? "")
        case .hostSucceeded(let outcome):
            let what = outcome.result == .noChange
                ? "no change: already on \(shortRevision(outcome.to)) and healthy"
                : "succeeded: \(shortRevision(outcome.from)) → \(shortRevision(outcome.to))"
            return "\(who)  " + palette.green("✔ " + what) + palette.dim(" (\(spokenDuration(outcome.elapsed)))")
        case .hostFailed(let failure):
            return "\(who)  " + palette.red("✘ failed at \(failure.step): \(VisibleText.escaped(failure.reason))")
                + (failure.changed ? palette.dim(" (putting it back)") : "")
        case .hostRolledBack(let outcome):
            return "\(who)  " + palette.yellow("↩ back on \(shortRevision(outcome.revision)), healthy")
        case .deployFinished(let outcome):
            return summary(outcome)
        case .healthProbe:
            return nil
        case .diagnostics(let diagnostics):
            // The host's own words, indented under a line that says what they are.
            var lines = diagnostics.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
            if lines.isEmpty { lines = ["(empty)"] }
            return "\(who)  " + palette.dim(VisibleText.escaped(diagnostics.title) + ":") + "\n"
                + lines.map { "    " + VisibleText.escaped($0) }.joined(separator: "\n")
        }
    }

    private func progress(_ event: RolloutEvent, _ probe: HealthProbeReport) {
        let answer = probe.status.map { "HTTP \($0)" } ?? "no answer (\(VisibleText.escaped(probe.error ?? "?")))"
        let text = "\(pad(event.service, serviceWidth))  \(pad(event.host ?? "", hostWidth))  "
            + palette.dim("health: attempt \(probe.attempt), \(answer), \(probe.consecutive)/\(probe.needed) in a row, "
                + "\(spokenDuration(probe.timeLeft)) left")
        out.withLock {
            if out.isTerminal {
                out.writeLocked("\r\u{1B}[2K" + text)
                progressShown = true
                return
            }
            // Not a terminal: a line when the answer changes, and every tenth probe while it does not.
            let key = "\(event.service)/\(event.host ?? "")"
            if lastAnswer[key] != answer || probe.attempt % 10 == 0 {
                out.writeLocked(text + "\n")
            }
            lastAnswer[key] = answer
        }
    }

    private func print(_ line: String) {
        out.withLock {
            if progressShown {
                out.writeLocked("\r\u{1B}[2K")
                progressShown = false
            }
            out.writeLocked(line + "\n")
        }
    }

    private func summary(_ outcome: ServiceOutcome) -> String {
        let verdict: String
        switch outcome.result {
        case .succeeded: verdict = palette.green("succeeded")
        case .noChange: verdict = palette.green("no change")
        case .rolledBack where !outcome.hosts.contains(where: { $0.result == .rolledBack }):
            // The SPEC's result set has no word for "stopped before any host changed"; say it plainly here.
            verdict = palette.yellow("failed before any host changed")
        case .rolledBack: verdict = palette.yellow("rolled back")
        case .rollbackFailed: verdict = palette.red("ROLLBACK FAILED")
        }
        var lines = ["", palette.bold("\(outcome.service): \(outcome.action.rawValue) ") + verdict
            + (outcome.sha.map { " (\(outcome.ref ?? "") = \(shortRevision($0)))" } ?? "")
            + " in \(spokenDuration(outcome.elapsed))"]
        let header = [pad("HOST", hostWidth), pad("RESULT", 15), pad("FROM", 12), pad("TO", 12), pad("NOW ON", 12), "NOTE"]
        lines.append("  " + palette.dim(header.joined(separator: "  ")))
        for host in outcome.hosts {
            let note = VisibleText.escaped([host.failedStep.map { "failed at \($0)" }, host.reason].compactMap { $0 }.joined(separator: ": "))
            let row = [pad(host.host, hostWidth), pad(host.result.rawValue, 15), pad(shortRevision(host.from), 12),
                       pad(shortRevision(host.to), 12), pad(shortRevision(host.revision), 12), note].joined(separator: "  ")
            lines.append("  " + String(row.reversed().drop(while: { $0 == " " }).reversed()))
        }
        if !outcome.locksLeft.isEmpty {
            lines.append(palette.red("  lock left on \(outcome.locksLeft.joined(separator: ", ")): "
                + "run `openclaw-deploy lock release \(outcome.service) --force` once the host is reachable"))
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
    if let uniform = values.uniform { return "\(uniform) healthy answers" }
    return "healthy answers " + values.byHost.map { "\($0.host): \($0.value)" }.joined(separator: ", ")
}
