import ArgumentParser
import Foundation
import Rollout

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

    @Option(help: "Branch, tag or commit to deploy (default: each service's branch).")
    var ref: String?

    @Flag(help: "Connect read-only, fetch, and show each host's current revision against the target.")
    var check = false

    @Flag(name: .customLong("detailed-exitcode"), help: "With --check: exit 2 when a host would change, 0 when none would.")
    var detailedExitcode = false

    @Flag(help: "Show every remote command under its step, and each host's lock refresh and put-back branch (JSON always has them).")
    var commands = false

    func validate() throws {
        if detailedExitcode && !check { throw ValidationError("--detailed-exitcode only applies with --check.") }
    }

    func run() async throws {
        let inventory = try global.loadInventory()
        let plan = Planner.plan(try selection.select(from: inventory), ref: try parseRef(ref), overrides: policy.overrides,
                                gateway: inventory.gateway)
        guard check else {
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
        let text = global.format == .json ? report.jsonDocument
            : TextFit.wrappedLines(PlanCheckRenderer(color: global.useColor).render(report), width: global.textWidth)
        LineOutput.standardOutput.write(text)
        // The report already names every host; the exit code only summarises it.
        if report.hasUnreachableHosts { throw ReportedOutcome(category: .unreachable) }
        if report.hasFailures { throw ReportedOutcome(category: .failed) }
        if detailedExitcode && report.hasPendingChanges { throw ReportedOutcome(category: .needsAttention) }
    }
}
