import Commands
import Engine
import Inventory
import Plan

/// `plan --check` and `rollback --dry-run`: each targeted host's current revision and health against the
/// target, read over the hosts' connections. Changes nothing on a host except its remote-tracking refs
/// (`git fetch`). A host on the target that does not answer its health URL with 2xx will change: a
/// deploy runs compose up and the gate on it.
public struct PlanCheckReport: Sendable {
    public enum HostStatus: String, Sendable {
        /// Already on the target commit.
        case upToDate = "up_to_date"
        /// A deploy would check out the target here.
        case willChange = "will_change"
        /// Could not connect, authenticate or verify the host key.
        case unreachable
        /// Connected, but a read failed (no repo, git error, timeout).
        case failed
    }

    public struct HostState: Sendable {
        public var host: ServiceHost
        public var current: CommitID?
        public var status: HostStatus
        /// Why the host is unreachable, failed, or will change although it is on the target.
        public var detail: String?
    }

    public struct ServiceState: Sendable {
        public var service: Service
        /// Nil for a rollback to the revision history names.
        public var ref: GitRef?
        /// The target commit; nil when no host could resolve it.
        public var sha: CommitID?
        /// Why the target could not be resolved.
        public var problem: String?
        /// What the ref resolves to on the first host now, when that was read (a plan's known target aside).
        public var resolvedNow: CommitID? = nil
        /// A rollback from history: the deploy it undoes.
        public var undoes: HistoryRecord?
        public var hosts: [HostState]
    }

    public var services: [ServiceState]

    public var hasPendingChanges: Bool { allHosts.contains { $0.status == .willChange } }
    public var hasUnreachableHosts: Bool { allHosts.contains { $0.status == .unreachable } }
    public var hasFailures: Bool { allHosts.contains { $0.status == .failed } || services.contains { $0.problem != nil } }

    private var allHosts: [HostState] { services.flatMap(\.hosts) }
}

public enum PlanCheck {
    /// Connects to every targeted host (at most `parallel` at once) and runs the plan's read-only steps:
    /// the current revision on every host; fetch and resolve on the first host, which decides the target
    /// for every host, as in a deploy.
    /// With `secrets`, a host on the target whose environment differs from the one the plan would write will
    /// change too (compared by digest, as a deploy does).
    public static func run(_ plan: Plan, factory: any TransportFactory, secrets: Secrets = Secrets(), parallel: Int = 8) async -> PlanCheckReport {
        let hosts = plan.services.flatMap { service in service.hosts.enumerated().map { (service: service, host: $0.element, first: $0.offset == 0) } }
        let reads = await BoundedConcurrency.map(hosts, limit: parallel) { entry in
            await read(entry.host, service: entry.service, resolves: entry.first, factory: factory)
        }
        var offset = 0
        var states: [PlanCheckReport.ServiceState] = []
        for service in plan.services {
            let serviceReads = (0..<service.hosts.count).map { reads[offset + $0]! }
            offset += service.hosts.count
            states.append(assess(service, serviceReads, secrets: secrets))
        }
        return PlanCheckReport(services: states)
    }

    /// What one host told us: its HEAD, its health, its history (rollback from history), and (the first
    /// host) what it resolved the target to.
    private struct HostRead: Sendable {
        var current: CommitID?
        var health: String?
        var healthy = false
        var records: [HistoryRecord] = []
        var resolved: CommitID?
        var resolveProblem: String?
        /// SHA-256 of the host's `<state>/env`; nil when it has none.
        var envDigest: String?
        /// The compose project's containers as the engine reports them; nil when they could not be read.
        var containers: [ContainerState]?
        var unreachable: String?
        var failure: String?
    }

    private static func read(_ hostPlan: HostPlan, service: ServicePlan, resolves: Bool, factory: any TransportFactory) async -> HostRead {
        let timeout = hostPlan.host.ssh.commandTimeout
        let transport: any Transport
        do {
            transport = try await factory.connect(to: hostPlan.host.endpoint)
        } catch let error as TransportError {
            if case .connectFailed(_, let reason) = error { return HostRead(unreachable: reason) }
            return HostRead(unreachable: error.description)
        } catch {
            return HostRead(unreachable: "\(error)")
        }
        // The plan's read steps for this host, in one round trip, and one health probe while they run.
        func step(_ kind: StepKind) -> ReadScript.Section? {
            guard let command = hostPlan.step(kind)?.command, command.lateValues.isEmpty else { return nil }
            return ReadScript.Section(kind.rawValue, command)
        }
        var kinds: [StepKind] = [.currentRevision, .envDigest]
        if case .history = service.target.source { kinds.append(.readHistory) }
        // A saved plan's known target is checked against what the ref resolves to now.
        let resolvesHere = resolves && service.target.ref != nil && (service.target.commit == nil || !service.recordedRevisions.isEmpty)
        if resolvesHere { kinds += [.fetch, .resolve] }
        // The containers' state from the engine, beside the plan's reads (SPEC "Runtimes").
        let containers = ReadScript.Section("containers", HostCommands(service: service.service.name, host: hostPlan.host).containerStates())
        let script = ReadScript(kinds.compactMap(step) + [containers])
        var result = HostRead()
        do {
            let (reads, response) = try await transport.runReads(script, timeout: timeout, alongside: hostPlan.gate.url,
                                                                 httpTimeout: FleetInspector.probeTimeout)
            func read(_ kind: StepKind) -> CommandResult? { reads[kind.rawValue] }
            if let head = read(.currentRevision), head.succeeded, let sha = CommitID(head.stdout.trimmingWhitespace) {
                result.current = sha
            } else {
                let said = read(.currentRevision)?.stderr ?? ""
                // A host with no checkout yet is the common case on a new host: say what makes it ready.
                result.failure = said.contains("cannot change to") || said.contains("No such file or directory")
                    ? "the checkout \(hostPlan.host.repo.path) does not exist; `openclaw-deploy setup \(service.service.name)` clones it"
                    : "git rev-parse HEAD failed on the host: \(firstLine(said, or: "no message"))"
            }
            if let digest = read(.envDigest), digest.succeeded {
                result.envDigest = digest.stdout.split(separator: " ").first.map(String.init)
            }
            if let states = reads["containers"], states.succeeded { result.containers = ContainerState.parse(states.stdout) }
            switch response {
            case .success(let answer):
                result.healthy = (200..<300).contains(answer.status)
                result.health = "HTTP \(answer.status)"
            case .failure(let error):
                result.health = "no answer (\(error))"
            }
            if case .history = service.target.source {
                if let history = read(.readHistory), history.succeeded { result.records = HistoryLog.parse(history.stdout) } else {
                    result.failure = "its history could not be read: \(firstLine(read(.readHistory)?.stderr ?? "", or: "no answer"))"
                }
            }
            if resolvesHere {
                if let fetch = read(.fetch), !fetch.succeeded {
                    result.resolveProblem = "git fetch failed: \(firstLine(fetch.stderr, or: "exit \(fetch.exitStatus)"))"
                } else if let resolve = read(.resolve), resolve.succeeded, let sha = CommitID(resolve.stdout.trimmingWhitespace) {
                    result.resolved = sha
                } else {
                    result.resolveProblem = firstLine(read(.resolve)?.stderr ?? "", or: "could not resolve the target")
                }
            }
        } catch {
            result.failure = "\(error)"
        }
        await transport.close()
        return result
    }

    /// The target is the commit the first host (by name) resolved, as a deploy would take it.
    private static func assess(_ service: ServicePlan, _ reads: [HostRead], secrets: Secrets) -> PlanCheckReport.ServiceState {
        let first = reads.first
        let firstName = service.hosts.first?.host.name ?? "the first host"
        let sha: CommitID?
        let problem: String?
        var undoes: HistoryRecord?
        if case .history = service.target.source, service.target.commit == nil {
            // Every host's history counts, as in a rollback; unreachable hosts' is not known.
            undoes = HistoryLog.deployToUndo(reads.flatMap(\.records))
            sha = undoes?.from.flatMap(CommitID.init)
            problem = sha == nil ? "the history of the reachable hosts has no deploy that changed a host; give the revision with --to REV" : nil
        } else {
            sha = service.target.commit ?? first?.resolved
            problem = sha == nil
                ? (first?.resolveProblem ?? "\(firstName), which resolves the target for every host, could not be reached") : nil
        }
        let hosts = zip(service.hosts, reads).map { hostPlan, read -> PlanCheckReport.HostState in
            if let reason = read.unreachable {
                return .init(host: hostPlan.host, current: nil, status: .unreachable, detail: reason)
            }
            if let failure = read.failure {
                return .init(host: hostPlan.host, current: read.current, status: .failed, detail: failure)
            }
            guard sha != nil else { return .init(host: hostPlan.host, current: read.current, status: .failed, detail: problem) }
            if read.current != sha { return .init(host: hostPlan.host, current: read.current, status: .willChange, detail: nil) }
            // On the target, a deploy still changes a host that is unhealthy or runs another environment.
            var reasons: [String] = []
            if !read.healthy { reasons.append("not healthy (\(read.health ?? "no answer"))") }
            if let sha, let expected = try? hostPlan.env.rendered(secrets: secrets, values: [.targetCommit: sha.value]),
               read.envDigest != EnvFile.digest(ofRendered: expected) {
                reasons.append("its environment differs")
            }
            guard reasons.isEmpty else {
                return .init(host: hostPlan.host, current: read.current, status: .willChange,
                             detail: "on the target but \(reasons.joined(separator: " and ")): compose up and the health gate would run")
            }
            // A deploy decides "no change" by the revision, the environment and the health answer, as above; a container
            // the engine reports not up is said, but changes nothing of that.
            let down = (read.containers ?? []).filter { !$0.isUp }.map { "container \($0.name) is \($0.summary)" }
            return .init(host: hostPlan.host, current: read.current, status: .upToDate,
                         detail: down.isEmpty ? nil : down.joined(separator: "; "))
        }
        var state = PlanCheckReport.ServiceState(service: service.service, ref: service.target.ref, sha: sha, problem: problem,
                                                 undoes: undoes, hosts: hosts)
        state.resolvedNow = first?.resolved
        return state
    }

    private static func firstLine(_ text: String, or fallback: String) -> String {
        text.split(separator: "\n").first.map(String.init) ?? fallback
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

extension PlanCheckReport {
    /// `{"version":1,"services":[{"name","target":{"ref","sha"},"problem","hosts":[{"name","address","port","current","status","detail"}]}]}`
    public var jsonDocument: String {
        var json = JSONWriter()
        json.beginObject()
        json.key("version"); json.int(1)
        json.key("services")
        json.beginArray()
        for service in services {
            json.beginObject()
            json.key("name"); json.string(service.service.name)
            json.key("target")
            json.beginObject()
            json.key("ref"); json.optional(service.ref?.value)
            json.key("sha"); json.optional(service.sha?.value)
            json.endObject()
            json.key("problem"); json.optional(service.problem)
            json.key("hosts")
            json.beginArray()
            for state in service.hosts {
                json.beginObject()
                json.key("name"); json.string(state.host.name)
                json.key("address"); json.string(state.host.address)
                json.key("port"); json.int(Int64(state.host.ssh.port))
                json.key("current"); json.optional(state.current?.value)
                json.key("status"); json.string(state.status.rawValue)
                json.key("detail"); json.optional(state.detail)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        json.newline()
        return String(decoding: json.takeBytes(), as: UTF8.self)
    }
}
