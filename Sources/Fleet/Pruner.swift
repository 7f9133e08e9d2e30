import Commands
import Engine
import Foundation
import Inventory
import Plan

/// What `prune` reads on one host: the revision checked out, its history, the images each revision's containers ran
/// (recorded by every rollout's final history step), the images any container uses, and the size of each recorded
/// image the engine still has.
public struct HostImages: Sendable, Equatable {
    public var head: String?
    public var records: [HistoryRecord]
    public var byRevision: [String: Set<ImageID>]
    public var inUse: Set<ImageID>
    /// Bytes of each recorded image the engine still has; an image it no longer has is absent.
    public var sizes: [ImageID: UInt64]

    public init(head: String?, records: [HistoryRecord], byRevision: [String: Set<ImageID>], inUse: Set<ImageID>,
                sizes: [ImageID: UInt64]) {
        self.head = head
        self.records = records
        self.byRevision = byRevision
        self.inUse = inUse
        self.sizes = sizes
    }

    /// From the sections of `Pruner.readScript`.
    static func parse(_ reads: [String: CommandResult]) -> HostImages {
        func lines(_ name: String) -> [[Substring]] {
            guard let result = reads[name], result.succeeded else { return [] }
            return result.stdout.split(whereSeparator: \.isNewline).map { $0.split(separator: " ") }
        }
        var byRevision: [String: Set<ImageID>] = [:]
        for fields in lines("images") where fields.count == 2 {
            guard CommitID(String(fields[0])) != nil, let image = ImageID(String(fields[1])) else { continue }
            byRevision[String(fields[0]), default: []].insert(image)
        }
        var sizes: [ImageID: UInt64] = [:]
        for fields in lines("sizes") where fields.count == 2 {
            guard let image = ImageID(String(fields[0])), let bytes = UInt64(fields[1]) else { continue }
            sizes[image] = bytes
        }
        let head = reads["head"].flatMap { $0.succeeded ? $0.stdout.firstLine : nil }.flatMap { CommitID($0)?.value }
        return HostImages(head: head, records: HistoryLog.parse(reads["history"]?.stdout ?? ""), byRevision: byRevision,
                          inUse: Set(lines("in_use").compactMap { $0.count == 1 ? ImageID(String($0[0])) : nil }), sizes: sizes)
    }
}

/// Which images of one host `prune` removes: every recorded image that no container uses and that belongs to none of
/// the kept revisions (the newest `keep` the host was left on by a rollout that succeeded, the revision checked out,
/// and the revision a `rollback` would go to). An image shared by a kept revision and an older one is kept.
public struct PruneDecision: Sendable, Equatable {
    public struct Removal: Sendable, Equatable {
        public var image: ImageID
        /// The revisions whose containers ran it.
        public var revisions: [String]
        public var bytes: UInt64
    }

    /// Newest first, each once.
    public var keptRevisions: [String]
    public var remove: [Removal]
    /// Recorded images the engine still has that stay.
    public var keptImages: Int

    public static func decide(_ host: HostImages, keep: Int, rollbackTargets: [String]) -> PruneDecision {
        var kept: [String] = []
        func add(_ revision: String?) {
            if let revision, !kept.contains(revision) { kept.append(revision) }
        }
        let rows = HistoryLog.rows(host.records)
        for row in rows where row.result == HostResult.succeeded.rawValue && kept.count < max(1, keep) { add(row.to) }
        add(host.head)
        rollbackTargets.forEach(add)
        add(HistoryLog.revisionBeforeLastChange(host.records))

        var protected = host.inUse
        for revision in kept { protected.formUnion(host.byRevision[revision] ?? []) }
        var owners: [ImageID: [String]] = [:]
        for (revision, images) in host.byRevision { for image in images { owners[image, default: []].append(revision) } }
        let remove = owners.keys.sorted().compactMap { image -> Removal? in
            guard !protected.contains(image), let bytes = host.sizes[image] else { return nil }
            return Removal(image: image, revisions: owners[image]!.sorted(), bytes: bytes)
        }
        let present = Set(owners.keys.filter { host.sizes[$0] != nil })
        return PruneDecision(keptRevisions: kept, remove: remove, keptImages: present.count - remove.count)
    }
}

/// One host's part of a prune.
public struct HostPrune: Sendable, Equatable {
    public var host: String
    /// False when it could not be connected to (then `error` says why).
    public var reachable = true
    /// Could not be connected to or read.
    public var error: String?
    /// Another rollout held the service's lock: nothing was removed.
    public var lockedBy: LockHolder?
    public var decision: PruneDecision?
    /// Images removed (or, in a dry run, that would be), with their bytes.
    public var removed: [PruneDecision.Removal] = []
    /// Images the engine refused to remove, with its reason.
    public var refused: [Refusal] = []

    public struct Refusal: Sendable, Equatable {
        public var image: ImageID
        public var reason: String
    }

    public var freedBytes: UInt64 { removed.reduce(0) { $0 + $1.bytes } }
}

/// The whole prune of one service.
public struct PruneReport: Sendable {
    public var service: String
    public var keep: Int
    public var dryRun: Bool
    /// The revision a `rollback` of the service would go to (from every host's history), kept on every host.
    public var rollbackTarget: String?
    public var hosts: [HostPrune]
}

extension FleetInspector {
    /// The reads of one host for `prune`, in one round trip.
    static func pruneReads(_ commands: HostCommands) -> ReadScript {
        ReadScript([.init("head", commands.currentRevision()), .init("history", commands.historyRead(limit: nil)),
                    .init("images", commands.recordedImages()), .init("in_use", commands.imagesInUse()),
                    .init("sizes", commands.recordedImageSizes())])
    }

    /// Removes, on each host, the service's images that no container uses and that belong to none of the newest `keep`
    /// revisions, the revision checked out or the rollback target. Every host is read first (the rollback target comes
    /// from all their histories); then each host, under the service's lock (a host whose lock another rollout holds is
    /// left alone), is read again, decided and pruned. With `dryRun` nothing is locked or removed.
    public func prune(service: Service, hosts: [ServiceHost], keep: Int, dryRun: Bool) async -> PruneReport {
        let first = await forEach(hosts.map { (service, $0) }) { service, host, transport, connectError -> (HostImages?, String?, Bool) in
            guard let transport else { return (nil, connectError, false) }
            let commands = HostCommands(service: service.name, host: host)
            do {
                return (HostImages.parse(try await transport.runReads(Self.pruneReads(commands), timeout: host.ssh.commandTimeout)), nil, true)
            } catch {
                return (nil, String(describing: error), true)
            }
        }
        let target = HistoryLog.revisionBeforeLastChange(first.compactMap(\.0).flatMap(\.records))
        let targets = [target].compactMap { $0 }
        var report = PruneReport(service: service.name, keep: keep, dryRun: dryRun, rollbackTarget: target, hosts: [])
        if dryRun {
            report.hosts = zip(hosts, first).map { host, read in
                guard let images = read.0 else { return HostPrune(host: host.name, reachable: read.2, error: read.1) }
                let decision = PruneDecision.decide(images, keep: keep, rollbackTargets: targets)
                return HostPrune(host: host.name, decision: decision, removed: decision.remove)
            }
            return report
        }
        let options = connector.options
        report.hosts = await forEach(hosts.map { (service, $0) }) { service, host, transport, connectError in
            guard let transport else { return HostPrune(host: host.name, reachable: false, error: connectError) }
            let commands = HostCommands(service: service.name, host: host)
            let timeout = host.ssh.commandTimeout
            let owner = LockSet.owner(options: options, target: "prune (keep \(keep))", token: randomHex(bytes: 16))
            do {
                let taken = try await transport.run(commands.lockAcquire(owner: owner).rendered, timeout: timeout)
                if taken.exitStatus == HostCommands.lockHeldStatus, taken.signal == nil {
                    return HostPrune(host: host.name, lockedBy: LockHolder.parse(taken.stdout))
                }
                guard taken.succeeded else { return HostPrune(host: host.name, error: HostSession.reason(of: taken)) }
                var result = HostPrune(host: host.name)
                do {
                    let images = HostImages.parse(try await transport.runReads(Self.pruneReads(commands), timeout: timeout))
                    let decision = PruneDecision.decide(images, keep: keep, rollbackTargets: targets)
                    result.decision = decision
                    // Run also when nothing is to be removed: it drops the records of images already gone (removed by
                    // hand, or by another service or host sharing the engine), which would otherwise stay listed.
                    let answer = try await transport.run(commands.removeImages(decision.remove.map(\.image)).rendered, timeout: timeout)
                    let lines = answer.stdout.split(whereSeparator: \.isNewline)
                    for removal in decision.remove {
                        if lines.contains(where: { $0 == "removed \(removal.image.value)" }) {
                            result.removed.append(removal)
                        } else if lines.contains(where: { $0 == "gone \(removal.image.value)" }) {
                            continue
                        } else {
                            let line = lines.first { $0.hasPrefix("kept \(removal.image.value) ") }
                            let reason = line.map { String($0.dropFirst("kept \(removal.image.value) ".count)) }
                            result.refused.append(HostPrune.Refusal(image: removal.image, reason: reason ?? HostSession.reason(of: answer)))
                        }
                    }
                } catch {
                    result.error = String(describing: error)
                }
                _ = try? await transport.run(commands.lockRelease(token: owner.token).rendered, timeout: timeout)
                return result
            } catch {
                return HostPrune(host: host.name, error: String(describing: error))
            }
        }
        return report
    }
}
