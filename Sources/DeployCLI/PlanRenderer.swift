import Commands
import ShellWords
import Inventory
import Plan
import Engine

/// The text form of a plan, for people. By default a review: a header per service, then per host one line per
/// step in words (what a pull request's reader checks); with `commands`, every remote command under its step,
/// and the lock refresh and put-back branch of each host.
struct PlanRenderer {
    let style: TextStyle
    let commands: Bool

    init(color: Bool, commands: Bool = false) {
        style = TextStyle(color: color)
        self.commands = commands
    }

    func render(_ plan: Plan) -> String {
        var out = ""
        for (index, service) in plan.services.enumerated() {
            if index > 0 { out += "\n" }
            render(service, into: &out)
        }
        if let gateway = plan.gateway {
            out += "\n"
            render(gateway, into: &out)
        }
        return out
    }

    /// The gateway host's part: which services it drains, and the steps of one drain or restore; whose traffic it
    /// judges from the access log.
    private func render(_ gateway: GatewayPlan, into out: inout String) {
        let host = gateway.host
        out += style.bold("gateway \(host.name)") + "  \(host.ssh.user)@\(host.address):\(host.ssh.port) · \(gateway.configPath)\n"
        let judged = gateway.readTraffic.keys.sorted()
        let drains = "  takes each host of \(gateway.services.joined(separator: ", ")) out of rotation while it changes (never the last one "
            + "in service)"
        let reads = "  reads the requests it logged for \(judged.joined(separator: ", ")) once a probe interval during a canary's bake "
            + "and the watch (the traffic judge)"
        guard commands else {
            if !gateway.services.isEmpty { out += drains + ": drain lock, read and write the drained set, upload the config, nginx -T, reload, unlock\n" }
            if !judged.isEmpty { out += reads + "\n" }
            return
        }
        out += [gateway.services.isEmpty ? nil : drains + "; each change", judged.isEmpty ? nil : reads].compactMap { $0 }
            .joined(separator: "\n") + ":\n"
        for (number, step) in gateway.steps.enumerated() where !gateway.services.isEmpty || step.kind == .readTraffic {
            out += "    \(number + 1). \(VisibleText.escaped(step.summary))\n"
            out += "       " + style.dim("$ " + VisibleText.escaped(step.command.rendered)) + "\n"
        }
    }

    private func render(_ plan: ServicePlan, into out: inout String) {
        let service = plan.service
        out += style.bold(service.name) + "  " + headerFacts(service).joined(separator: " · ") + "\n"
        if let description = service.description { out += "  \(VisibleText.escaped(description))\n" }
        let reach = [service.skills.isEmpty ? nil : "skills: " + service.skills.joined(separator: ", "),
                     service.channels.isEmpty ? nil : "channels: " + service.channels.joined(separator: ", ")].compactMap { $0 }
        if !reach.isEmpty { out += "  \(VisibleText.escaped(reach.joined(separator: " · ")))\n" }
        let policy = PlanRenderer.policyText(plan.policy, healthyAfter: plan.healthyAfter, hosts: plan.hosts.count,
                                             judgesTraffic: plan.judgesTraffic)
        out += "  policy: \(policy)\n"
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
        if !commands, let first = plan.hosts.first {
            // The put-back branch and the lock refresh are the same for every host: said once, in words.
            out += "  a host that fails after it changed: " + first.putBack.map(\.summary).dropLast().joined(separator: ", ")
                + ", then the gate again\n"
            out += "  while locked: \(first.lockRefresh.summary) every \(formatDuration(ExecutorOptions.defaultLockRefreshInterval))\n"
        }
        for hostPlan in plan.hosts {
            let host = hostPlan.host
            let together = hostPlan.sentTogether.compactMap { group -> String? in
                guard group.count > 1, let first = hostPlan.steps.firstIndex(where: { $0.kind == group.first }) else { return nil }
                return "steps \(first + 1)–\(first + group.count) in one round trip"
            }
            out += "  " + style.bold("\(host.name)") + "  \(host.ssh.user)@\(host.address):\(host.ssh.port)"
                + (together.isEmpty ? "" : " · " + together.joined(separator: ", ")) + "\n"
            for (number, step) in hostPlan.steps.enumerated() {
                render(step, "\(number + 1).", gate: hostPlan.gate, into: &out)
            }
            if commands {
                render(hostPlan.lockRefresh, "every \(formatDuration(ExecutorOptions.defaultLockRefreshInterval)) while locked:",
                       gate: hostPlan.gate, into: &out)
                out += "    put back, on a host that failed after it changed:\n"
                for step in hostPlan.putBack { render(step, "-", gate: hostPlan.gate, into: &out) }
            }
        }
    }

    private func render(_ step: PlannedStep, _ mark: String, gate: GatePolicy, into out: inout String) {
        // The gate's words come from its policy; every other step's from the plan.
        let words = step.kind == .healthGate
            ? "gate: \(gate.healthyAfter) healthy answer\(gate.healthyAfter == 1 ? "" : "s") from \(gate.url) within \(formatDuration(gate.timeout))"
            : step.summary
        out += "    \(mark) \(VisibleText.escaped(words))\n"
        if commands, let command = step.command {
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
    static func policyText(_ policy: TierPolicy, healthyAfter: HostValues<Int>, hosts: Int, judgesTraffic: Bool = false) -> String {
        let batch: String = switch policy.batch {
        case .count(1): "1 host at a time"
        case .count(let n): "\(n) hosts at a time"
        case .percent(let p): "\(p)% of the hosts at a time (rounded up)"
        case .all: "all hosts at once"
        }
        let start = policy.canary ? "canary host alone first, bake \(formatDuration(policy.bake)), then " : ""
        let healthy = healthyAfter.uniform.map { "\($0)" } ?? healthyAfter.byHost.map { "\($0.host): \($0.value)" }.joined(separator: ", ")
        let required = policy.minHealthy.required(of: hosts)
        let floor = required == 0 ? "no capacity floor"
            : "keeps \(required) of \(hosts) healthy in rotation (min_healthy \(policy.minHealthy))"
        let watch = policy.watch > .zero ? ", watch \(formatDuration(policy.watch)) after the last batch" : ""
        let traffic = judgesTraffic ? policy.traffic.map { ", traffic through the gateway: \($0)" } ?? "" : ""
        return start + batch + ", healthy after \(healthy) consecutive 2xx, " + floor + watch + traffic
    }
}

/// ANSI bold/dim when writing to a terminal that wants colors; plain text otherwise.
struct TextStyle {
    let color: Bool

    func bold(_ text: String) -> String { color ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    func dim(_ text: String) -> String { color ? "\u{1B}[2m\(text)\u{1B}[0m" : text }
}
