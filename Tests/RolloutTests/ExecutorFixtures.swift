import Commands
import Foundation
import Inventory
import Plan
import Engine
import TestSupport

let oldSHA = String(repeating: "a", count: 40)
let newSHA = String(repeating: "b", count: 40)
let oldCommit = CommitID(oldSHA)!
let newCommit = CommitID(newSHA)!
let movedSHA = String(repeating: "c", count: 40)

/// Hosts of one service simulated over a `ScriptedTransportFactory`: each keeps a checked-out revision,
/// a lock and a history file, and answers health by the revision it runs.
final class FakeFleet: @unchecked Sendable {
    let scripted = ScriptedTransportFactory()
    let service: Service
    private let lock = NSLock()
    private var heads: [String: String] = [:]
    private var locks: [String: String] = [:]
    private var historyLines: [String: [String]] = [:]
    /// Each host's `<state>/env`, and the one it replaced (what the put back restores).
    private var envs: [String: String] = [:]
    private var envsBefore: [String: String] = [:]
    private var unhealthy: Set<[String]> = []
    private var resolveAnswers: [String]
    private(set) var resolveCount = 0

    init(service: Service, head: String = oldSHA, resolvesTo: [String] = [newSHA]) {
        self.service = service
        self.resolveAnswers = resolvesTo
        for host in service.hosts { heads[host.name] = head }
        install()
    }

    func head(_ host: String) -> String? { locked { heads[host] } }
    func env(_ host: String) -> String? { locked { envs[host] } }

    /// Gives each host of `plan` the environment its plan renders for `target`, as an earlier deploy would have.
    func seedEnvironment(_ plan: Plan, target: String, secrets: Secrets = Secrets()) throws {
        for hostPlan in plan.services[0].hosts {
            let text = try hostPlan.env.rendered(secrets: secrets, values: [.targetCommit: target])
            locked { envs[hostPlan.host.name] = text }
        }
    }
    func setHead(_ host: String, _ sha: String) { locked { heads[host] = sha } }
    func lockHolder(_ host: String) -> String? { locked { locks[host] } }
    func history(_ host: String) -> [HistoryRecord] { HistoryLog.parse(locked { historyLines[host] ?? [] }.joined(separator: "\n")) }

    /// Makes `host` answer 503 while it runs `sha` (every host when nil).
    func unhealthy(on host: String?, at sha: String) {
        locked { _ = unhealthy.insert([host ?? "*", sha]) }
    }

    /// Puts another rollout's lock on `host`.
    func holdLock(_ host: String, expires: Date = Date().addingTimeInterval(100), machine: String = "laptop", pid: Int32 = 42) {
        let formatter = ISO8601DateFormatter()
        let owner = LockOwner(operator: "alice", machine: machine, pid: pid, started: "2026-01-01T10:00:00Z",
                              target: "deploy main", expires: formatter.string(from: expires), token: "other")
        locked { locks[host] = owner.jsonLine }
    }

    /// Puts `json` as the lock's owner.json on `host`, as a hand-made or older lock would be.
    func holdLock(_ host: String, ownerJSON json: String) { locked { locks[host] = json } }

    /// What `lock release --force` does behind a rollout's back.
    func removeLock(_ host: String) { locked { locks[host] = nil } }

    func addHistory(_ host: String, _ record: HistoryRecord) {
        locked { historyLines[host, default: []].append(record.jsonLine) }
    }

    func checkouts(on host: String) -> [String] {
        scripted.commands(on: host).filter { $0.contains("checkout --quiet --detach") }.compactMap { $0.split(separator: " ").last.map(String.init) }
    }

    func commands(on host: String, containing pattern: String) -> [String] {
        scripted.commands(on: host).filter { $0.contains(pattern) }
    }

    private func install() {
        scripted.on("mktemp -d .lock-new") { [self] host, command in
            locked {
                if let holder = locks[host] { return CommandResult(exitStatus: 3, stdout: holder + "\n") }
                locks[host] = Self.quotedJSON(in: command) ?? "?"
                return CommandResult(exitStatus: 0)
            }
        }
        scripted.on(".lock-gone") { [self] host, command in
            locked {
                guard let holder = locks[host] else { return CommandResult(exitStatus: 0) }
                if command.contains("grep"), let token = Self.token(in: holder), !command.contains(token) {
                    return CommandResult(exitStatus: 3, stdout: holder + "\n")
                }
                locks[host] = nil
                return CommandResult(exitStatus: 0)
            }
        }
        scripted.on("lock/owner.json 2>/dev/null || true") { [self] host, _ in
            CommandResult(exitStatus: 0, stdout: lockHolder(host).map { $0 + "\n" } ?? "")
        }
        scripted.on("lock/.owner.json.new") { [self] host, _ in
            CommandResult(exitStatus: locked { locks[host] } == nil ? 3 : 0)
        }
        scripted.on("rev-parse --verify HEAD") { [self] host, _ in
            CommandResult(exitStatus: 0, stdout: (head(host) ?? "") + "\n")
        }
        scripted.on("^{commit}") { [self] _, _ in
            let sha: String = locked {
                resolveCount += 1
                return resolveAnswers.count > 1 ? resolveAnswers.removeFirst() : resolveAnswers[0]
            }
            return CommandResult(exitStatus: 0, stdout: sha + "\n")
        }
        scripted.on("cat-file commit") { _, command in
            let sha = command.split(separator: " ").first { $0.count == 40 }.map(String.init) ?? ""
            return CommandResult(exitStatus: 0, stdout: sha + "\n")
        }
        scripted.on("checkout --quiet --detach") { [self] host, command in
            setHead(host, String(command.split(separator: " ").last ?? ""))
            return CommandResult(exitStatus: 0)
        }
        scripted.on("cat > .env.new") { [self] host, command in
            let input = scripted.calls.last { $0.host == host && $0.command == command }?.input ?? ""
            locked {
                envsBefore[host] = envs[host]
                envs[host] = input
            }
            return CommandResult(exitStatus: 0)
        }
        scripted.on("if [ -f env.before ]") { [self] host, _ in
            locked { envs[host] = envsBefore[host] }
            return CommandResult(exitStatus: 0)
        }
        scripted.on("sha256sum <") { [self] host, _ in
            CommandResult(exitStatus: 0, stdout: env(host).map { EnvFile.digest(ofRendered: $0) + "  -\n" } ?? "")
        }
        scripted.on("history.jsonl") { [self] host, command in
            if command.contains(">>") {
                locked { historyLines[host, default: []].append(Self.quotedJSON(in: command) ?? "") }
                return CommandResult(exitStatus: 0)
            }
            return CommandResult(exitStatus: 0, stdout: locked { historyLines[host] ?? [] }.map { $0 + "\n" }.joined())
        }
        scripted.onHTTP { [self] host, _ in
            let bad = locked { () -> Bool in
                let sha = heads[host] ?? ""
                return unhealthy.contains([host, sha]) || unhealthy.contains(["*", sha])
            }
            return HTTPResponse(status: bad ? 503 : 200)
        }
    }

    /// The single-quoted JSON argument a lock or history command carries.
    static func quotedJSON(in command: String) -> String? {
        guard let start = command.range(of: "'{"), let end = command.range(of: "}'", range: start.upperBound..<command.endIndex) else { return nil }
        return String(command[command.index(after: start.lowerBound)..<command.index(before: end.upperBound)])
    }

    static func token(in json: String) -> String? {
        LockHolder.parse(json)?.token
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// Collects events for assertions.
final class EventLog: RolloutEventSink, @unchecked Sendable {
    private let lock = NSLock()
    private var events: [RolloutEvent] = []
    /// Called for each `host_succeeded`, to change a scripted host at that moment.
    var onHostSucceeded: (@Sendable (String) -> Void)?
    /// Called for each event, to act at a given moment (a stop request during a gate).
    var onEvent: (@Sendable (RolloutEvent) -> Void)?

    func emit(_ event: RolloutEvent) {
        lock.lock()
        events.append(event)
        lock.unlock()
        if case .hostSucceeded = event.payload, let host = event.host { onHostSucceeded?(host) }
        onEvent?(event)
    }

    var all: [RolloutEvent] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }

    var names: [String] { all.map(\.name) }

    /// The health probes made on `host` while rolling it out (not while putting it back).
    func rolloutProbes(_ host: String) -> [HealthProbeReport] {
        all.compactMap { event in
            guard event.host == host, case .healthProbe(let probe) = event.payload, probe.phase == .rollout else { return nil }
            return probe
        }
    }

    func steps(_ host: String) -> [StepReport] {
        all.compactMap { event in
            guard event.host == host, case .step(let report) = event.payload else { return nil }
            return report
        }
    }
}

enum Fixtures {
    static func host(_ name: String, healthyAfter: Int = 2, timeout: Duration = .seconds(2),
                     commandTimeout: Duration = .seconds(5)) -> ServiceHost {
        ServiceHost(name: name, address: "127.0.0.1",
             ssh: SSHSettings(user: "deploy", port: 22, identity: nil, knownHosts: "/dev/null", commandTimeout: commandTimeout),
             repo: RepoSettings(path: "/srv/app", remote: "origin", branch: "main"),
             compose: ComposeSettings(command: ["podman-compose"], file: "docker-compose.yml", project: "app"),
             health: HealthSettings(url: HealthURL(host: "127.0.0.1", port: 8080, path: "/health"),
                                    timeout: timeout, interval: .milliseconds(10), healthyAfter: healthyAfter),
             stateDir: "~/.openclaw-deploy/app")
    }

    /// The tier's policy without its watch (a rollout of these tests would otherwise keep probing for minutes), unless
    /// `policy` is given.
    static func service(_ name: String = "app", hosts: [ServiceHost], tier: String = "99.9", policy: TierPolicy? = nil) -> Service {
        var tierPolicy = TierPolicy.builtIn[tier]!
        tierPolicy.watch = .zero
        return Service(name: name, description: nil, tier: tier, policy: policy ?? tierPolicy, size: nil,
                skills: [], channels: [], route: nil, hosts: hosts)
    }

    static func hosts(_ names: String...) -> [ServiceHost] { names.map { host($0) } }

    /// The planner's plan of one service, with the hosts grouped into the batches given.
    static func plan(_ service: Service, batches: [[String]], ref: String? = "main", action: RolloutAction = .deploy,
                     resolvedSHA: String? = nil) throws -> Plan {
        var plan = Planner.plan([SelectedService(service: service, hosts: service.hosts)], action: action,
                                ref: try ref.map { try GitRef(validating: $0) },
                                resolved: resolvedSHA.flatMap(CommitID.init).map { [service.name: $0] } ?? [:])
        let byName = Dictionary(uniqueKeysWithValues: service.hosts.map { ($0.name, $0) })
        plan.services[0].batches = batches.map { $0.map { byName[$0]! } }
        return plan
    }

    static func options(refresh: Duration = .seconds(20)) -> ExecutorOptions {
        ExecutorOptions(operatorName: "tester", machine: "ci", pid: 7, lockRefreshInterval: refresh,
                        bookkeepingTimeout: .seconds(2))
    }
}
