import Commands
import Inventory
import Plan
import Engine
import Fleet

/// The text form of `plan --check`: per service the target, per host its revision against it.
struct PlanCheckRenderer {
    let style: TextStyle

    init(color: Bool) { style = TextStyle(color: color) }

    func render(_ report: PlanCheckReport) -> String {
        var out = ""
        for (index, service) in report.services.enumerated() {
            if index > 0 { out += "\n" }
            let ref = service.ref?.value ?? "the revision from history"
            let target = service.sha.map { "\(ref) = \($0.value)" } ?? "\(ref) (not resolved: \(VisibleText.escaped(service.problem ?? "unknown")))"
            out += style.bold(service.service.name) + "  target \(target)\n"
            if let undone = service.undoes { out += "  undoes \(VisibleText.escaped(undone.undoneDescription))\n" }
            let width = service.hosts.map(\.host.name.count).max() ?? 0
            for state in service.hosts {
                let name = state.host.name.padding(toLength: width, withPad: " ", startingAt: 0)
                out += "  \(name)  \(line(for: state, target: service.sha))\n"
            }
        }
        let hosts = report.services.flatMap(\.hosts)
        let changing = hosts.filter { $0.status == .willChange }.count
        out += "\n\(changing) of \(hosts.count) host\(hosts.count == 1 ? "" : "s") would change"
        let unreachable = hosts.filter { $0.status == .unreachable }.count
        if unreachable > 0 { out += ", \(unreachable) unreachable" }
        let failed = hosts.filter { $0.status == .failed }.count
        if failed > 0 { out += ", \(failed) could not be read" }
        return out + "\n"
    }

    private func line(for state: PlanCheckReport.HostState, target: CommitID?) -> String {
        let current = state.current?.short ?? "?"
        switch state.status {
        case .upToDate: return "\(current)  up to date" + (state.detail.map { " (\(VisibleText.escaped($0)))" } ?? "")
        case .willChange:
            return "\(current) -> \(target?.short ?? "?")  will change" + (state.detail.map { ": \(VisibleText.escaped($0))" } ?? "")
        case .unreachable: return "unreachable: \(VisibleText.escaped(state.detail ?? ""))"
        case .failed: return "failed: \(VisibleText.escaped(state.detail ?? ""))"
        }
    }
}
