import Commands
import Engine
import Foundation
import Inventory
import Plan

/// One host as `status` shows it.
public struct HostStatus: Sendable, Equatable {
    public var service: String
    public var host: String
    public var address: String
    public var reachable: Bool
    /// Why the host could not be reached, or a read that failed on it.
    public var error: String?
    public var revision: String?
    /// The compose project's containers as the engine reports them; nil when they could not be read.
    public var containerStates: [ContainerState]?
    /// Why they could not be read (the engine's own words).
    public var containerError: String?
    /// How many containers the project has, and how many of them are up; nil when they could not be read.
    public var containers: Int? { containerStates?.count }
    public var containersUp: Int? { containerStates?.filter(\.isUp).count }
    /// One GET of the health URL: its status, or why there was none.
    public var healthStatus: Int?
    public var healthError: String?
    public var lock: LockHolder?
    /// Why the lock is stale (expired, or its holder's process on this machine is gone); nil when live.
    public var lockStale: LockHolder.Staleness?
    /// The host's newest history row is a rollout that was interrupted (killed after it started changing the host).
    public var interrupted: HistoryRecord?
    /// Why the host is below the inventory's declared `size`; nil when it is not (or nothing is declared).
    public var sizeWarning: String?

    public var healthy: Bool { healthStatus.map { (200..<300).contains($0) } ?? false }

    /// Reachable, healthy, every container up, and not left by an interrupted rollout.
    public var isSound: Bool {
        reachable && healthy && interrupted == nil && containers.map { $0 > 0 && containersUp == $0 } ?? false
    }
}

/// What happened to one host's lock on `lock release`.
public struct LockRelease: Sendable, Equatable {
    public enum Outcome: String, Sendable, Equatable {
        case released
        case notLocked = "not_locked"
        /// Held by a live rollout and `--force` not given.
        case keptLive = "kept_live"
        case failed
    }

    public var host: String
    public var outcome: Outcome
    public var holder: LockHolder?
    public var stale: LockHolder.Staleness?
    public var error: String?
}

/// Read-only looks at hosts (status, history, locks) and the one lock write an operator may ask for,
/// over the same connections, limits and commands as a rollout.
public struct FleetInspector: Sendable {
    let connector: HostConnector
    /// This machine's name, to tell a lock whose holder ran here and is gone.
    let machine: String

    public init(factory: any TransportFactory, options: ExecutorOptions = ExecutorOptions()) {
        connector = HostConnector(factory: factory, options: options)
        machine = options.machine
    }

    public func status(of targets: [(service: Service, host: ServiceHost)]) async -> [HostStatus] {
        let machine = machine
        return await forEach(targets) { service, host, transport, connectError in
            var row = HostStatus(service: service.name, host: host.name, address: host.address, reachable: transport != nil,
                                 error: connectError)
            guard let transport else { return row }
            let commands = HostCommands(service: service.name, host: host)
            let timeout = min(host.ssh.commandTimeout, .seconds(30))
            // Every read in one round trip, and one health probe through the same connection while they run.
            let script = ReadScript([.init("revision", commands.currentRevision()), .init("compose", commands.containerStates()),
                                     .init("lock", commands.lockRead()), .init("history", commands.historyRead(limit: 20)),
                                     .init("resources", commands.resources())])
            var reads: [String: CommandResult] = [:]
            do {
                let answer = try await transport.runReads(script, timeout: timeout, alongside: host.health.url, httpTimeout: Self.probeTimeout)
                reads = answer.reads
                switch answer.response {
                case .success(let response): row.healthStatus = response.status
                case .failure(let error): row.healthError = String(describing: error)
                }
            } catch {
                row.error = String(describing: error)
                // The reads failed (a timeout drops the connection): the probe goes on its own, on a fresh one if need be.
                (row.healthStatus, row.healthError) = await probe(transport, host)
            }
            let revision = reads["revision"], compose = reads["compose"], lock = reads["lock"], history = reads["history"]
            if let result = reads["resources"], result.succeeded {
                row.sizeWarning = HostResources.parse(result.stdout)?.shortfall(against: service.size)
            }
            if let result = revision, result.succeeded { row.revision = result.stdout.firstLine }
            if let result = compose, result.succeeded {
                row.containerStates = ContainerState.parse(result.stdout)
            } else if let result = compose {
                row.containerError = HostSession.reason(of: result)
            }
            if let result = lock, result.succeeded {
                row.lock = LockHolder.parse(result.stdout)
                row.lockStale = row.lock?.staleness(localMachine: machine)
            }
            if let result = history, result.succeeded {
                let live: Set<String> = row.lockStale == nil ? Set([row.lock?.token].compactMap { $0 }) : []
                let newest = HistoryLog.rows(HistoryLog.parse(result.stdout), liveRollouts: live).first
                row.interrupted = newest?.result == HistoryLog.interrupted ? newest : nil
            }
            return row
        }
    }

    /// The history of the service's hosts as rows (one per rollout and host, newest first, at most `limit`
    /// rollouts), a `started` record without its final one shown as `in_progress` while a live lock carries
    /// its id, else `interrupted`; and the hosts that could not be read.
    public func history(of service: Service, hosts: [ServiceHost], limit: Int?) async -> (records: [HistoryRecord], problems: [String]) {
        let machine = machine
        let reads = await forEach(hosts.map { (service, $0) }) { service, host, transport, connectError -> ([HistoryRecord], String?, String?) in
            guard let transport else { return ([], nil, connectError) }
            let commands = HostCommands(service: service.name, host: host)
            let timeout = min(host.ssh.commandTimeout, .seconds(30))
            do {
                // The lock (whose token marks a rollout still in progress) and the history in one round trip.
                let script = ReadScript([.init("lock", commands.lockRead()), .init("history", commands.historyRead(limit: nil))])
                let reads = try await transport.runReads(script, timeout: timeout)
                let holder = reads["lock"].flatMap { LockHolder.parse($0.stdout) }
                let live = holder.flatMap { $0.staleness(localMachine: machine) == nil ? $0.token : nil }
                guard let result = reads["history"] else { return ([], live, "\(host.name): the history could not be read") }
                guard result.succeeded else { return ([], live, "\(host.name): \(HostSession.reason(of: result))") }
                return (HistoryLog.parse(result.stdout), live, nil)
            } catch {
                return ([], nil, String(describing: error))
            }
        }
        let live = Set(reads.compactMap(\.1))
        return (HistoryLog.rows(reads.flatMap(\.0), liveRollouts: live, limit: limit), reads.compactMap(\.2))
    }

    /// Removes the service's lock on each host: a stale one always, a live one only with `force`.
    public func releaseLocks(of service: Service, hosts: [ServiceHost], force: Bool) async -> [LockRelease] {
        let machine = machine
        return await forEach(hosts.map { (service, $0) }) { service, host, transport, connectError in
            guard let transport else {
                return LockRelease(host: host.name, outcome: .failed, holder: nil, stale: nil, error: connectError)
            }
            let commands = HostCommands(service: service.name, host: host)
            let timeout = min(host.ssh.commandTimeout, .seconds(30))
            do {
                let read = try await transport.run(commands.lockRead().rendered, timeout: timeout)
                guard read.succeeded else {
                    return LockRelease(host: host.name, outcome: .failed, holder: nil, stale: nil, error: HostSession.reason(of: read))
                }
                guard let holder = LockHolder.parse(read.stdout) else {
                    return LockRelease(host: host.name, outcome: .notLocked, holder: nil, stale: nil)
                }
                let stale = holder.staleness(localMachine: machine)
                guard force || stale != nil else { return LockRelease(host: host.name, outcome: .keptLive, holder: holder, stale: nil) }
                let removed = try await transport.run(commands.lockForceRelease().rendered, timeout: timeout)
                guard removed.succeeded else {
                    return LockRelease(host: host.name, outcome: .failed, holder: holder, stale: stale, error: HostSession.reason(of: removed))
                }
                return LockRelease(host: host.name, outcome: .released, holder: holder, stale: stale)
            } catch {
                return LockRelease(host: host.name, outcome: .failed, holder: nil, stale: nil, error: String(describing: error))
            }
        }
    }

    /// Runs `body` for every target with its connection (or, when it could not be opened, nil and why), at most
    /// `limit` targets at once, and returns the results in the targets' order.
    func forEach<T: Sendable>(_ targets: [(service: Service, host: ServiceHost)], limit: Int = .max,
                              _ body: @escaping @Sendable (Service, ServiceHost, (any Transport)?, String?) async -> T) async -> [T] {
        let connector = connector
        return await BoundedConcurrency.map(targets, limit: limit) { target in
            do {
                let transport = try await connector.connect(target.host.endpoint)
                let value = await body(target.service, target.host, transport, nil)
                await transport.close()
                return value
            } catch {
                return await body(target.service, target.host, nil, String(describing: error))
            }
        }.map { $0! }
    }

    /// How long `status` and `plan --check` wait for a host's one health answer.
    static let probeTimeout: Duration = .seconds(5)

    private func probe(_ transport: any Transport, _ host: ServiceHost) async -> (Int?, String?) {
        let url = host.health.url
        do {
            let response = try await transport.httpGet(url, timeout: Self.probeTimeout)
            return (response.status, nil)
        } catch {
            return (nil, String(describing: error))
        }
    }
}
