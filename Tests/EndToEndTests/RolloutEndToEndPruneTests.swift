import Foundation
import Plan
import Testing

/// SPEC "prune", end to end: five releases of customer-service built on the sandbox hosts (each a new image), then
/// `prune` removes the images of the oldest ones and never the rollback target's, and `rollback` still works.
/// Part of the serialized sandbox suite.
extension RolloutEndToEndTests {
    /// The images a host recorded for `revision` (one rollout's last history step writes them).
    static func recordedImages(_ host: String, _ revision: String) throws -> [String] {
        try Sandbox.ssh(host, "cat ~/.openclaw-deploy/customer-service/images/\(revision) 2>/dev/null || true").checked().stdout
            .split(whereSeparator: \.isNewline).map(String.init)
    }

    /// Whether the host's engine still has `image`.
    static func engineHas(_ host: String, _ image: String) throws -> Bool {
        try Sandbox.ssh(host, "\(Sandbox.runtime) image inspect \(image) >/dev/null 2>&1 && echo yes || echo no").checked().stdout
            .contains("yes")
    }

    @Test func pruneAfterFiveReleasesKeepsTheNewestThreeAndTheRollbackTarget() throws {
        var releases: [String] = []
        for n in 1...5 {
            let sha = try Self.pushRelease("e2e-prune-\(n)") { work in
                try "prune-\(n)\n".write(toFile: work + "/www/version", atomically: true, encoding: .utf8)
            }
            let deploy = try Sandbox.deployTool(["deploy", "customer-service", "--ref", "e2e-prune-\(n)", "--batch", "all", "--no-bake"])
            #expect(deploy.status == 0, "release \(n): \(deploy.stderr)\(deploy.stdout)")
            releases.append(sha)
        }
        var images: [String: [String: String]] = [:]
        for host in ["cs-1", "cs-2"] {
            for sha in releases {
                let recorded = try Self.recordedImages(host, sha)
                #expect(recorded.count == 1, "\(host) recorded the image of \(sha.prefix(12)): \(recorded)")
                images[host, default: [:]][sha] = recorded.first ?? ""
            }
            #expect(Set(images[host]!.values).count == 5, "each release built its own image on \(host)")
        }

        let dryRun = try Sandbox.deployTool(["prune", "customer-service", "--dry-run", "--format", "json"])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        let planned = try jsonDocument(dryRun.stdout)
        #expect(planned["rollback_target"] as? String == releases[3])
        for host in ["cs-1", "cs-2"] {
            for sha in releases { #expect(try Self.engineHas(host, images[host]![sha]!), "a dry run removes nothing") }
        }
        let plannedHosts = try #require(planned["hosts"] as? [[String: Any]])
        for entry in plannedHosts {
            let removed = (entry["removed"] as? [[String: Any]] ?? []).compactMap { $0["revisions"] as? [String] }
            #expect(Set(removed.flatMap { $0 }).isSubset(of: Set(releases.prefix(2))), "\(entry)")
            #expect(entry["kept_revisions"] as? [String] == [releases[4], releases[3], releases[2]], "\(entry)")
        }

        // One host at a time: the sandbox's hosts share one container engine, in which the same build on two hosts is one
        // image, so two hosts pruning at once race on it: under load, a host's record was read back while the other
        // host's removal of that image was not done, and stayed. A real host has an engine of its own.
        for host in ["cs-1", "cs-2"] {
            let prune = try Sandbox.deployTool(["prune", "customer-service", "--host", host])
            #expect(prune.status == 0, "\(host): \(prune.stderr)\(prune.stdout)")
            #expect(prune.stdout.contains("freed on 1 host"), "\(prune.stdout)")
            print("prune end to end:\n\(prune.stdout)")
        }
        for host in ["cs-1", "cs-2"] {
            for (index, sha) in releases.enumerated() {
                #expect(try Self.engineHas(host, images[host]![sha]!) == (index >= 2),
                        "\(host): the image of release \(index + 1) \(index >= 2 ? "stays" : "is removed")")
            }
            #expect(try Self.recordedImages(host, releases[0]).isEmpty, "a revision whose images are gone is no longer listed")
        }

        // keep 1: the newest stays, and so does the rollback target (release 4) though it is older.
        for host in ["cs-1", "cs-2"] {
            let one = try Sandbox.deployTool(["prune", "customer-service", "--keep", "1", "--host", host])
            #expect(one.status == 0, "\(host): \(one.stderr)\(one.stdout)")
        }
        for host in ["cs-1", "cs-2"] {
            #expect(try !Self.engineHas(host, images[host]![releases[2]]!), "\(host): release 3 goes with --keep 1")
            #expect(try Self.engineHas(host, images[host]![releases[3]]!), "\(host): the rollback target's image stays")
            #expect(try Self.engineHas(host, images[host]![releases[4]]!), "\(host): the running release's image stays")
        }
        let again = try Sandbox.deployTool(["prune", "customer-service", "--keep", "1"])
        #expect(again.stdout.contains("cs-1: nothing to remove"), "\(again.stdout)")

        let rollback = try Sandbox.deployTool(["rollback", "customer-service", "--no-bake"])
        #expect(rollback.status == 0, "\(rollback.stderr)\(rollback.stdout)")
        for host in ["cs-1", "cs-2"] {
            #expect(try Sandbox.revision(host) == releases[3])
            #expect(try Sandbox.ssh(host, "cat ~/openclaw/customer-service/www/version").checked().stdout == "prune-4\n")
        }
    }
}
