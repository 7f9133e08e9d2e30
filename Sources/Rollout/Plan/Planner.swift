import Inventory

/// Turns the inventory and a request (`plan`/`deploy` arguments) into a `Plan`. Pure: no I/O.
public enum Planner {
    /// - Parameters:
    ///   - services: service names in the order given; duplicates are dropped. Ignored with `all`.
    ///   - all: every service of the inventory, in name order.
    ///   - ref: `--ref`; nil deploys each service's branch.
    ///   - hosts: `--host` names; empty means every host. A chosen service with none of them is left out.
    ///   - resolvedSHAs: full commit ids already resolved, by service name.
    public static func plan(inventory: Inventory, services: [String], all: Bool, ref: String?, hosts: [String],
                            resolvedSHAs: [String: String] = [:]) throws -> Plan {
        let chosen = try chooseServices(inventory: inventory, names: services, all: all)
        let hostFilter = try checkHostFilter(hosts, services: chosen)
        let requestedRef = try ref.map(GitRef.init(validating:))
        var plans: [ServicePlan] = []
        for service in chosen {
            let targeted = service.hosts
                .filter { hostFilter.isEmpty || hostFilter.contains($0.name) }
                .sorted { $0.name < $1.name }
            guard let first = targeted.first else { continue }
            let targetRef = try requestedRef ?? GitRef(validating: first.repo.branch)
            let sha = resolvedSHAs[service.name] ?? (targetRef.isFullSHA ? targetRef.value : nil)
            let target = PlanTarget(ref: targetRef, sha: sha)
            let steps = targeted.map { host in
                HostPlan(host: host, steps: hostSteps(service: service, host: host, target: target, resolves: host.name == first.name))
            }
            plans.append(ServicePlan(service: service, target: target, batches: batches(of: targeted, policy: service.policy),
                                     hostSteps: steps))
        }
        return Plan(services: plans)
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

    private static func chooseServices(inventory: Inventory, names: [String], all: Bool) throws -> [Service] {
        let known = inventory.services.map(\.name)
        if all { return inventory.services }
        guard !names.isEmpty else { throw RolloutError.noServicesChosen(known: known) }
        var seen = Set<String>()
        let unique = names.filter { seen.insert($0).inserted }
        let unknown = unique.filter { inventory.service(named: $0) == nil }
        guard unknown.isEmpty else { throw RolloutError.unknownServices(unknown, known: known) }
        return unique.compactMap(inventory.service(named:))
    }

    private static func checkHostFilter(_ names: [String], services: [Service]) throws -> Set<String> {
        let known = Set(services.flatMap { $0.hosts.map(\.name) })
        var seen = Set<String>()
        let unknown = names.filter { !known.contains($0) && seen.insert($0).inserted }
        guard unknown.isEmpty else { throw RolloutError.unknownHosts(unknown, known: known.sorted()) }
        return Set(names)
    }

    /// SPEC's "one host's rollout". Only the first host resolves the target: one commit for every host.
    private static func hostSteps(service: Service, host: ServiceHost, target: PlanTarget, resolves: Bool) -> [PlannedStep] {
        let commands = HostCommands(service: service.name, host: host)
        let remoteRef = "\(host.repo.remote)/\(target.ref)"
        let commit: RemoteCommand.Token = target.sha.map(RemoteCommand.Token.arg) ?? .placeholder("sha of \(remoteRef)")
        let health = host.health
        var steps = [
            PlannedStep(kind: .lock, command: commands.lockAcquire(ownerJSON: .placeholder("owner.json")),
                        summary: "take the lock \(host.stateDir)/lock (on every host before any changes)"),
            PlannedStep(kind: .preflight, command: commands.preflight(),
                        summary: "check the repo exists, has no local changes and compose works"),
            PlannedStep(kind: .currentRevision, command: commands.currentRevision(), summary: "record the revision running now"),
            PlannedStep(kind: .fetch, command: commands.fetch(), summary: "fetch \(host.repo.remote)"),
        ]
        if resolves {
            steps.append(PlannedStep(kind: .resolve, command: commands.resolve(target.ref),
                                     summary: "resolve \(target.ref) to one commit for every host"))
        }
        steps += [
            PlannedStep(kind: .checkout, command: commands.checkout(commit: commit),
                        summary: "check out \(target.sha ?? "the target commit") (skipped when already there and healthy)"),
            PlannedStep(kind: .composeUp, command: commands.composeUp(), summary: "start the new revision"),
            PlannedStep(kind: .healthGate, command: nil,
                        summary: "GET \(health.url) through the SSH connection: \(health.healthyAfter) consecutive 2xx "
                            + "within \(formatDuration(health.timeout)), every \(formatDuration(health.interval)); on failure go back to the recorded revision"),
            PlannedStep(kind: .history, command: commands.historyAppend(recordJSON: .placeholder("history record")),
                        summary: "append the result to \(host.stateDir)/history.jsonl"),
            PlannedStep(kind: .unlock, command: commands.lockRelease(tokenValue: .placeholder("token")),
                        summary: "release the lock"),
        ]
        return steps
    }
}
