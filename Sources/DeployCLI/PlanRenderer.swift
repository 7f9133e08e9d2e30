import Inventory
import Rollout

/// The text form of a plan, for people: a header per service, its batches, then each host's steps
/// with their exact commands.
struct PlanRenderer {
    let style: TextStyle

    init(color: Bool) { style = TextStyle(color: color) }

    func render(_ plan: Plan) -> String {
        var out = ""
        for (index, service) in plan.services.enumerated() {
            if index > 0 { out += "\n" }
            render(service, into: &out)
        }
        return out
    }

    private func render(_ plan: ServicePlan, into out: inout String) {
        let service = plan.service
        out += style.bold(service.name) + "  " + headerFacts(service).joined(separator: " · ") + "\n"
        if let description = service.description { out += "  \(VisibleText.escaped(description))\n" }
        if !service.skills.isEmpty { out += "  skills: \(VisibleText.escaped(service.skills.joined(separator: ", ")))\n" }
        if !service.channels.isEmpty { out += "  channels: \(VisibleText.escaped(service.channels.joined(separator: ", ")))\n" }
        out += "  policy: \(PlanRenderer.policyText(plan.policy, healthyAfter: plan.healthyAfter))\n"
        let commit = plan.target.commit?.value ?? "resolved once at deploy time, the same commit for every host"
        out += "  target: \(plan.target.ref?.value ?? "the revision before the newest deploy, from history") (\(commit))\n"
        out += "  batches:\n"
        for (number, batch) in plan.batches.enumerated() {
            let canary = number == 0 && plan.policy.canary ? "  (canary, then bake \(formatDuration(plan.policy.bake)))" : ""
            out += "    \(number + 1). " + batch.map { "\($0.name) \($0.address):\($0.ssh.port)" }.joined(separator: ", ") + canary + "\n"
        }
        if let before = service.hooks.before {
            out += "  hook before (local, after locks and preflight, before any host changes): \(VisibleText.escaped(before.map(ShellQuote.quote).joined(separator: " ")))\n"
        }
        if let after = service.hooks.after {
            out += "  hook after (local, when the rollout ends, with OPENCLAW_RESULT): \(VisibleText.escaped(after.map(ShellQuote.quote).joined(separator: " ")))\n"
        }
        for hostPlan in plan.hosts {
            let host = hostPlan.host
            out += "  " + style.bold("\(host.name)") + " (\(host.ssh.user)@\(host.address):\(host.ssh.port))\n"
            for (number, step) in hostPlan.steps.enumerated() {
                if let group = hostPlan.sentTogether.first(where: { $0.first == step.kind }), group.count > 1 {
                    out += "    steps \(number + 1)–\(number + group.count) go to the host as one script, in one round trip: "
                        + "each framed, in this order, stopping at the first that fails\n"
                }
                render(step, "\(number + 1).", into: &out)
            }
            render(hostPlan.lockRefresh, "every \(formatDuration(ExecutorOptions.defaultLockRefreshInterval)) while locked:", into: &out)
            out += "    put back, on a host that failed after it changed:\n"
            for step in hostPlan.putBack { render(step, "-", into: &out) }
        }
    }

    private func render(_ step: PlannedStep, _ mark: String, into out: inout String) {
        out += "    \(mark) \(step.kind.rawValue): \(VisibleText.escaped(step.summary))\n"
        if let command = step.command {
            let stdin = step.input == .envFile ? "  < (the env above, secrets included)" : ""
            out += "       " + style.dim("$ " + VisibleText.escaped(command.rendered) + stdin) + "\n"
        }
    }

    private func headerFacts(_ service: Service) -> [String] {
        var facts = ["tier \(service.tier)", "\(service.hosts.count) host\(service.hosts.count == 1 ? "" : "s")"]
        if let size = service.size {
            let parts = [size.vcpu.map { "\($0) vCPU" }, size.memoryText].compactMap { $0 }
            if !parts.isEmpty { facts.append(parts.joined(separator: ", ")) }
        }
        return facts
    }

    /// `canary first, bake 60s, then 1 host at a time, healthy after 5 checks`.
    static func policyText(_ policy: TierPolicy, healthyAfter: HostValues<Int>) -> String {
        let batch: String = switch policy.batch {
        case .count(1): "1 host at a time"
        case .count(let n): "\(n) hosts at a time"
        case .percent(let p): "\(p)% of the hosts at a time (rounded up)"
        case .all: "all hosts at once"
        }
        let start = policy.canary ? "canary host alone first, bake \(formatDuration(policy.bake)), then " : ""
        let healthy = healthyAfter.uniform.map { "\($0)" } ?? healthyAfter.byHost.map { "\($0.host): \($0.value)" }.joined(separator: ", ")
        return start + batch + ", healthy after \(healthy) consecutive 2xx"
    }
}

/// ANSI bold/dim when writing to a terminal that wants colors; plain text otherwise.
struct TextStyle {
    let color: Bool

    func bold(_ text: String) -> String { color ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    func dim(_ text: String) -> String { color ? "\u{1B}[2m\(text)\u{1B}[0m" : text }
}
