import Commands
import ShellWords
import Dispatch
import Inventory

/// Turns the chosen services and the request (`plan`/`deploy`/`rollback` arguments) into a `Plan`.
/// Pure: no I/O. Every remote command a rollout sends is built here, once.
public enum Planner {
    /// - Parameters:
    ///   - selection: the services and hosts to act on (`Inventory.select`).
    ///   - action: deploy, or rollback.
    ///   - ref: `--ref` / `--to`; nil deploys each service's branch, or rolls back to the revision history names.
    ///   - resolved: target commits already known, by service name.
    ///   - overrides: `--batch` / `--no-bake` for this run.
    ///   - gateway: the inventory's gateway: its host's steps are planned when a chosen service is drained there.
    public static func plan(_ selection: [SelectedService], action: RolloutAction = .deploy, ref: GitRef? = nil,
                            resolved: [String: CommitID] = [:], overrides: PolicyOverrides = PolicyOverrides(),
                            gateway: GatewaySettings? = nil) -> Plan {
        var plan = services(selection, action: action, ref: ref, resolved: resolved, overrides: overrides)
        let drained = drainedServices(selection.map(\.service))
        if let gateway {
            for index in plan.services.indices where plan.services[index].trafficJudgeable { plan.services[index].judgesTraffic = true }
            let judged = plan.services.filter(\.judgesTraffic).map(\.service)
            if !drained.isEmpty || !judged.isEmpty { plan.gateway = gatewayPlan(gateway: gateway, services: drained, judged: judged) }
        }
        return plan
    }

    private static func services(_ selection: [SelectedService], action: RolloutAction, ref: GitRef?,
                                 resolved: [String: CommitID], overrides: PolicyOverrides) -> Plan {
        let planOne = { @Sendable (chosen: SelectedService) -> ServicePlan in
            let service = chosen.service
            let source: PlanTarget.Source
            if let ref {
                source = .ref(ref)
            } else if action == .rollback {
                source = .history
            } else {
                source = .ref(chosen.hosts[0].repo.branch)
            }
            let target = PlanTarget(source: source, commit: resolved[service.name] ?? ref?.commitID)
            let policy = overrides.applied(to: service.policy)
            let hosts = chosen.hosts.enumerated().map { index, host in
                hostPlan(service: service, host: host, target: target, first: index == 0)
            }
            return ServicePlan(service: service, action: action, target: target, policy: policy,
                               batches: batches(of: chosen.hosts, policy: policy), hosts: hosts)
        }
        // Services are planned independently; a large inventory is planned on every core.
        guard selection.count >= 64 else { return Plan(services: selection.map(planOne)) }
        let services = [ServicePlan](unsafeUninitializedCapacity: selection.count) { buffer, initialized in
            nonisolated(unsafe) let base = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: selection.count) { index in
                (base + index).initialize(to: planOne(selection[index]))
            }
            initialized = selection.count
        }
        return Plan(services: services)
    }

    /// Hosts in rollout order: with a canary, the first host alone; then batches of `policy.batch`
    /// (a percentage counts against all the hosts given, rounded up).
    public static func batches(of hosts: [ServiceHost], policy: TierPolicy) -> [[ServiceHost]] {
        guard !hosts.isEmpty else { return [] }
        let size = policy.batch.hostsPerBatch(of: hosts.count)
        var result: [[ServiceHost]] = []
        var rest = hosts[...]
        if policy.canary {
            result.append([rest.removeFirst()])
        }
        while !rest.isEmpty {
            result.append(Array(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return result
    }

    /// SPEC's "one host's rollout". Only the first host resolves the target: one commit for every host.
    private static func hostPlan(service: Service, host: ServiceHost, target: PlanTarget, first: Bool) -> HostPlan {
        let commands = HostCommands(service: service.name, host: host)
        let commit: RemoteCommand.Token = target.commit.map { .arg($0.value) } ?? .late(.targetCommit, label: targetLabel(target, host))
        let previous = RemoteCommand.Token.late(.previousCommit, label: "previous")
        let gate = GatePolicy(url: host.health.url, healthyAfter: host.health.healthyAfter,
                              timeout: host.health.timeout, interval: host.health.interval)
        let gateText = "GET \(gate.url) through the SSH connection: \(gate.healthyAfter) consecutive 2xx "
            + "within \(formatDuration(gate.timeout)), every \(formatDuration(gate.interval))"
        let composeWords = (host.compose.command + ["up", "-d"] + (host.compose.build ? ["--build"] : []) + host.compose.upArgs)
            .map(ShellQuote.quote).joined(separator: " ")
        var steps = [
            PlannedStep(kind: .lock, command: commands.lockAcquire(ownerJSON: .late(.lockOwner, label: "owner.json")),
                        summary: "lock \(host.stateDir)/lock (every host, before any change)"),
            PlannedStep(kind: .preflight, command: commands.preflight(),
                        summary: "preflight: \(host.repo.path) is a clean checkout, \(host.compose.command.joined(separator: " ")) works"),
            PlannedStep(kind: .currentRevision, command: commands.currentRevision(), summary: "read the revision running now"),
        ]
        if case .history = target.source {
            steps.append(PlannedStep(kind: .readHistory, command: commands.historyRead(limit: nil),
                                     summary: "read the history: the target is the revision before the newest deploy"))
        }
        steps.append(PlannedStep(kind: .fetch, command: commands.fetch(), summary: "fetch \(host.repo.remote)"))
        if first {
            switch target.source {
            case .ref(let ref):
                steps.append(PlannedStep(kind: .resolve, command: commands.resolve(ref),
                                         summary: "resolve \(ref) to one commit for every host"))
            case .history:
                steps.append(PlannedStep(kind: .resolve, command: commands.verifyCommit(commit),
                                         summary: "check the revision from history is a commit here"))
            }
        }
        let record = commands.historyAppend(recordJSON: .late(.historyRecord, label: "history record"))
        let env = EnvFile.of(service, on: host, revision: target.commit.map { .plain($0.value) } ?? .late(.targetCommit, label: "target"))
        steps += [
            PlannedStep(kind: .envDigest, command: commands.envDigest(),
                        summary: "read the environment's digest (the same one on the target: no change)"),
            PlannedStep(kind: .historyStarted, command: record,
                        summary: "history: write ahead a `started` record"),
            PlannedStep(kind: .checkout, command: commands.checkout(commit: commit),
                        summary: "checkout \(target.commit?.value ?? "<\(targetLabel(target, host))>")"),
            PlannedStep(kind: .env, command: commands.envWrite(),
                        summary: "env: " + (env.shownLines.filter { !$0.hasPrefix(EnvNames.reservedPrefix) } + ["OPENCLAW_*"])
                            .joined(separator: " ") + " (0600, from stdin)",
                        input: .envFile),
        ]
        if let beforeUp = service.hooks.beforeUp {
            steps.append(PlannedStep(kind: .beforeUp, command: commands.beforeUp(beforeUp),
                                     summary: "before_up: \(beforeUp)"))
        }
        steps += [
            PlannedStep(kind: .composeUp, command: commands.composeUp(), summary: "compose up: " + composeWords),
            PlannedStep(kind: .healthGate, command: nil, summary: gateText + "; on failure, put back (below)"),
            PlannedStep(kind: .history, command: commands.historyFinish(recordJSON: .late(.historyRecord, label: "history record")),
                        summary: "history: record the host's result and the images its containers run"),
            PlannedStep(kind: .unlock, command: commands.lockRelease(tokenValue: .late(.lockToken, label: "token")),
                        summary: "unlock"),
        ]
        let refresh = PlannedStep(kind: .lockRefresh,
                                  command: commands.lockRefresh(token: .late(.lockToken, label: "token"),
                                                                ownerJSON: .late(.lockOwner, label: "owner.json")),
                                  summary: "refresh the lock's expiry")
        let putBack = [
            PlannedStep(kind: .failureLogs, command: commands.composeLogs(tail: HostCommands.failureLogLines, since: nil, follow: false),
                        summary: "show the last \(HostCommands.failureLogLines) lines of its compose logs"),
            PlannedStep(kind: .checkout, command: commands.checkout(commit: previous), summary: "checkout the revision it had before"),
            PlannedStep(kind: .envRestore, command: commands.envRestore(),
                        summary: "restore the environment it had before"),
            PlannedStep(kind: .composeUp, command: commands.composeUp(), summary: "compose up again"),
            PlannedStep(kind: .healthGate, command: nil, summary: gateText),
        ]
        // What the host is asked before it changes goes in as few round trips as the values allow: one, or two
        // when the target comes from the hosts' history (the second once every host's history is read).
        let reads = steps.map(\.kind).drop { $0 != .preflight }.prefix { $0 != .historyStarted }
        let together: [[StepKind]] = switch target.source {
        case .ref: [Array(reads)]
        case .history: [Array(reads.prefix { $0 != .fetch }), Array(reads.drop { $0 != .fetch })]
        }
        return HostPlan(host: host, steps: steps, lockRefresh: refresh, putBack: putBack, gate: gate, env: env, sentTogether: together)
    }

    private static func targetLabel(_ target: PlanTarget, _ host: ServiceHost) -> String {
        switch target.source {
        case .ref(let ref): return "sha of \(host.repo.remote)/\(ref)"
        case .history: return "revision from history"
        }
    }
}

/// Tier settings changed for one run (`--batch`, `--no-bake`), for emergencies.
public struct PolicyOverrides: Sendable, Equatable {
    public var batch: BatchSize?
    public var noBake: Bool

    public init(batch: BatchSize? = nil, noBake: Bool = false) {
        self.batch = batch
        self.noBake = noBake
    }

    package func applied(to policy: TierPolicy) -> TierPolicy {
        var policy = policy
        if let batch { policy.batch = batch }
        if noBake { policy.bake = .zero }
        return policy
    }
}
