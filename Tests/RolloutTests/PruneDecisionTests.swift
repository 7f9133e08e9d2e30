import Commands
import Plan
import Testing
@testable import Engine
import Fleet

@Suite("prune: which images go")
struct PruneDecisionTests {
    /// Commits `r1`…: 40 hex digits each.
    static func rev(_ n: Int) -> String { String(repeating: String(n), count: 40) }
    static func image(_ n: Int) -> ImageID { ImageID(String(repeating: "a", count: 60) + "000\(n)")! }

    /// Deploys r1 → r2 → … → r`count`, each succeeded on the host at a later minute, each running image n.
    static func host(deploys count: Int, extra: [HistoryRecord] = []) -> HostImages {
        var records: [HistoryRecord] = []
        for n in 1...count {
            records.append(HistoryRecord(id: "d\(n)", service: "svc", host: "h", action: "deploy", from: n == 1 ? nil : rev(n - 1),
                                         to: rev(n), result: "succeeded", startedAt: "2026-12-07T10:0\(n):00Z",
                                         finishedAt: "2026-12-07T10:0\(n):30Z", operator: "ops"))
        }
        var byRevision: [String: Set<ImageID>] = [:]
        var sizes: [ImageID: UInt64] = [:]
        for n in 1...count {
            byRevision[rev(n)] = [image(n)]
            sizes[image(n)] = UInt64(n) * 1_000_000
        }
        return HostImages(head: rev(count), records: records + extra, byRevision: byRevision, inUse: [image(count)], sizes: sizes)
    }

    @Test("after five deploys, keep 3: the newest three and the rollback target stay, the two oldest go")
    func fiveReleases() {
        let decision = PruneDecision.decide(Self.host(deploys: 5), keep: 3, rollbackTargets: [])
        #expect(decision.keptRevisions == [Self.rev(5), Self.rev(4), Self.rev(3)])
        #expect(decision.remove.map(\.image) == [Self.image(1), Self.image(2)])
        #expect(decision.remove.map(\.bytes) == [1_000_000, 2_000_000])
        #expect(decision.remove.map(\.revisions) == [[Self.rev(1)], [Self.rev(2)]])
        #expect(decision.keptImages == 3)
    }

    @Test("the service's rollback target is kept even when it is older than the newest N")
    func rollbackTargetKept() {
        let decision = PruneDecision.decide(Self.host(deploys: 5), keep: 1, rollbackTargets: [Self.rev(2)])
        // keep 1: r5; checked out: r5; the service's target r2; this host's own target (before its newest deploy) r4.
        #expect(decision.keptRevisions == [Self.rev(5), Self.rev(2), Self.rev(4)])
        #expect(decision.remove.map(\.image) == [Self.image(1), Self.image(3)])
    }

    @Test("an image a container uses, one shared with a kept revision, and one the engine no longer has are not removed")
    func protectedImages() {
        var host = Self.host(deploys: 5)
        host.inUse.insert(Self.image(1))
        host.byRevision[Self.rev(4)]!.insert(Self.image(2))
        host.sizes[Self.image(2)] = 5
        host.byRevision[Self.rev(2)]!.insert(Self.image(9))
        let decision = PruneDecision.decide(host, keep: 3, rollbackTargets: [])
        #expect(decision.remove.isEmpty, "\(decision.remove)")
    }

    @Test("a deploy that was rolled back is not one of the newest revisions")
    func rolledBackIsNotARevision() {
        let failed = HistoryRecord(id: "d6", service: "svc", host: "h", action: "deploy", from: Self.rev(5), to: Self.rev(6),
                                   result: "rolled_back", startedAt: "2026-12-07T10:07:00Z", finishedAt: "2026-12-07T10:07:30Z",
                                   operator: "ops")
        var host = Self.host(deploys: 5, extra: [failed])
        host.byRevision[Self.rev(6)] = [Self.image(6)]
        host.sizes[Self.image(6)] = 6
        let decision = PruneDecision.decide(host, keep: 2, rollbackTargets: [])
        #expect(decision.keptRevisions == [Self.rev(5), Self.rev(4)])
        #expect(decision.remove.map(\.image) == [Self.image(1), Self.image(2), Self.image(3), Self.image(6)])
    }

    @Test("image IDs: docker's sha256: form and podman's bare hex; nothing else reaches a host")
    func imageIDs() {
        #expect(ImageID("sha256:" + String(repeating: "0f", count: 32))?.short == "0f0f0f0f0f0f")
        #expect(ImageID(String(repeating: "ab", count: 32)) != nil)
        #expect(ImageID("abc") == nil)
        #expect(ImageID("ABCDEF0123456789") == nil)
        #expect(ImageID("$(reboot)0123456789") == nil)
    }
}
