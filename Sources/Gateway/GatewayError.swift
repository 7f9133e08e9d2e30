import Commands
import ExitCategories
import Inventory

/// Everything that can go wrong rendering or deploying the gateway config, in the words an operator reads.
public enum GatewayError: Error, Sendable, Equatable, CategorizedError {
    /// The inventory has no `gateway:` section, so there is no template or gateway host to use.
    case noGatewaySection(inventory: String)
    case templateMissing(path: String)
    case templateUnreadable(path: String, reason: String)
    /// The template is not valid Mustache.
    case templateSyntax(path: String, line: Int, column: Int, problem: String)
    /// The template uses a name the renderer does not provide (a typo would otherwise render as nothing).
    case templateUnknownName(path: String, line: Int, name: String, known: [String])
    /// Two services claim the same route prefix; nginx would refuse the config.
    case duplicateRoute(prefix: String, services: [String])
    /// A value from the inventory cannot be written into an nginx config safely.
    case unsafeValue(service: String, field: String, value: String)
    /// A step on the gateway host failed; the config that was in force before stays in force.
    case remoteStepFailed(host: String, step: String, detail: String)
    /// `nginx -t` rejected the new config on the gateway host; the previous file was put back.
    case configRejected(host: String, output: String)
    /// `nginx -s reload` failed; the previous file was put back.
    case reloadFailed(host: String, output: String)
    /// `gateway rollback` found no earlier config to go back to.
    case noPreviousConfig(host: String, path: String)

    /// True for problems with the inventory or its template (exit 65); the others are failed deploys (exit 1).
    public var isInventoryProblem: Bool {
        switch self {
        case .noGatewaySection, .templateMissing, .templateUnreadable, .templateSyntax, .templateUnknownName,
             .duplicateRoute, .unsafeValue:
            return true
        case .remoteStepFailed, .configRejected, .reloadFailed, .noPreviousConfig:
            return false
        }
    }

    public var category: ExitCategory { isInventoryProblem ? .invalidInventory : .failed }

    public var description: String {
        switch self {
        case .noGatewaySection(let inventory):
            return "\(inventory): no `gateway:` section; add one with `host`, `config_path` and `template` (see docs/gateway.md)"
        case .templateMissing(let path):
            return "\(path): gateway template not found; fix `gateway.template` in the inventory or restore the file"
        case .templateUnreadable(let path, let reason):
            return "\(path): cannot read the gateway template: \(reason)"
        case .templateSyntax(let path, let line, let column, let problem):
            return "\(path):\(line):\(column): invalid Mustache template: \(problem)"
        case .templateUnknownName(let path, let line, let name, let known):
            let place = line > 0 ? "\(path):\(line)" : path
            return "\(place): the template uses `\(name)`, which the gateway renderer does not provide; known names: \(known.joined(separator: ", "))"
        case .duplicateRoute(let prefix, let services):
            return "route prefix \(prefix) is used by \(services.joined(separator: " and ")); give each service its own `route.prefix`"
        case .unsafeValue(let service, let field, let value):
            return "\(service): \(field) `\(value)` cannot be written into an nginx config; use only letters, digits, `.`, `-`, `:` (and `/` in prefixes)"
        case .remoteStepFailed(let host, let step, let detail):
            return "gateway \(host): \(step) failed: \(detail); the previous config stays in force"
        case .configRejected(let host, let output):
            return "gateway \(host): nginx -t rejected the new config, the previous one stays in force:\n\(output)"
        case .reloadFailed(let host, let output):
            return "gateway \(host): nginx reload failed, the previous config was put back:\n\(output)"
        case .noPreviousConfig(let host, let path):
            return "gateway \(host): no previous config to go back to (\(path) is missing); a rollback needs one earlier `gateway deploy`"
        }
    }
}
