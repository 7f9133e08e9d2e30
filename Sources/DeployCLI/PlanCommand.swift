import ArgumentParser
import Commands
import Foundation
import Inventory
import Plan
import Engine
import Fleet

/// `plan`: the dry run. Offline by default, so CI can print and diff it; `--check` looks at the hosts.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what a deploy would do, host by host, without changing anything.",
        discussion: "Offline unless --check is given: no host is contacted, and the target commit shows as "
            + "<sha of REMOTE/REF> until a deploy resolves it. --check connects read-only (strict host keys) and "
            + "exits 4 when a host cannot be reached."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var hostKeys: HostKeyOptions

    @OptionGroup var selection: ServiceSelectionOptions

    @OptionGroup var policy: PolicyOverrideOptions

    @Option(help: "Branch, tag or commit to deploy (default: each service's branch).", transform: refArgument)
    var ref: GitRef?

    @Flag(help: "Connect read-only, fetch, and show each host's current revision against the target.")
    var check = false

    @Flag(name: .customLong("detailed-exitcode"), help: "With --check: exit 2 when a host would change, 0 when none would.")
    var detailedExitcode = false

    @Flag(help: "Show every remote command under its step, and each host's lock refresh and put-back branch (JSON always has them).")
    var commands = false

    @Option(help: ArgumentHelp("Also save the plan to this file, for `deploy --plan FILE` (with --check: the target commits and "
                               + "each host's revision too).", valueName: "file"))
    var out: String?

    func validate() throws {
        if detailedExitcode && !check { throw ValidationError("--detailed-exitcode only applies with --check.") }
    }

    /// What `--out` records beside the plan: the request it was made of and the inventory it was made from.
    private func record(revisions: [String: [String: String]]?) throws -> SavedPlanRecord {
        SavedPlanRecord(inventorySHA256: try SavedPlan.digest(ofInventoryAt: global.inventoryPath), services: selection.services,
                        all: selection.all, hosts: selection.hosts, ref: ref?.value, batch: policy.batch?.description, noBake: policy.noBake,
                        revisions: revisions)
    }

    func run() async throws {
        let inventory = try global.loadInventory()
        let chosen = try selection.select(from: inventory)
        let plan = Planner.plan(chosen, ref: ref, overrides: policy.overrides, gateway: inventory.gateway)
        guard check else {
            if let out { try SavedPlan.write(plan, record: try record(revisions: nil), to: out) }
            switch global.format {
            case .json: plan.writeJSON { LineOutput.standardOutput.write(bytes: $0) }
            case .text:
                // With --commands the command lines stay whole: they are for reading exactly, and copying.
                let text = PlanRenderer(color: global.useColor, commands: commands).render(plan)
                LineOutput.standardOutput.write(commands ? text : TextFit.wrappedLines(text, width: global.textWidth))
            }
            return
        }
        // The environment a deploy would write is compared too, so the secrets are read first (exit 65 if one is missing).
        let secrets = try await plan.readSecrets(inventory)
        let report = await PlanCheck.run(plan, factory: hostKeys.factory, secrets: secrets)
        // The plan saved is the one the deploy will run: with the target commits the hosts resolved, and where each host was.
        if let out, !report.hasUnreachableHosts, !report.hasFailures {
            let resolved = report.services.reduce(into: [String: CommitID]()) { $0[$1.service.name] = $1.sha }
            let revisions = report.services.reduce(into: [String: [String: String]]()) { all, service in
                all[service.service.name] = service.hosts.reduce(into: [:]) { $0[$1.host.name] = $1.current?.value }
            }
            try SavedPlan.write(Planner.plan(chosen, ref: ref, resolved: resolved, overrides: policy.overrides,
                                             gateway: inventory.gateway),
                                record: try record(revisions: revisions), to: out)
        }
        let text = global.format == .json ? report.jsonDocument
            : TextFit.wrappedLines(PlanCheckRenderer(color: global.useColor).render(report), width: global.textWidth)
        LineOutput.standardOutput.write(text)
        // The report already names every host; the exit code only summarises it.
        if report.hasUnreachableHosts || report.hasFailures, let out {
            // An older plan left at that path must not be taken for this one.
            try? FileManager.default.removeItem(atPath: out)
            LineOutput.standardError.write("error: \(out) was not written: a plan is saved only when every host could be read\n")
        }
        if report.hasUnreachableHosts { throw ReportedOutcome(category: .unreachable) }
        if report.hasFailures { throw ReportedOutcome(category: .failed) }
        if detailedExitcode && report.hasPendingChanges { throw ReportedOutcome(category: .needsAttention) }
    }
}
