import ArgumentParser
import Commands
import ExitCategories
import Foundation
import Gateway
import Inventory
import Plan
import Engine

/// `maintenance on|off SERVICE`: the gateway answers the service's route with 503, `Retry-After` and a page, or
/// routes it to its hosts again. The state is kept on the gateway host, beside the config.
public struct MaintenanceCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "maintenance",
        abstract: "Take a service's route out of the gateway on purpose (503 and a page), or put it back.",
        subcommands: [MaintenanceOnCommand.self, MaintenanceOffCommand.self]
    )

    public init() {}
}

struct MaintenanceOnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "on",
        abstract: "The gateway answers the service's route with 503, Retry-After and the maintenance page.",
        usage: "openclaw-deploy maintenance on <service> [--message <text>] [opts]",
        discussion: """
            Other routes are untouched. The state lives on the gateway host, so every operator's `status` shows it, \
            and rollouts (which re-render the gateway's config to drain hosts) and `gateway deploy` keep it on until \
            `maintenance off`. The page is gateway.maintenance_page (a Mustache template) or a built-in one.
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var hostKeys: HostKeyOptions

    @Argument(help: "The service.", completion: .custom(InventoryCompletion.services))
    var service: String

    @Option(help: ArgumentHelp("One line shown on the page (HTML-escaped).", valueName: "text"))
    var message: String?

    @Option(name: .customLong("retry-after"), help: ArgumentHelp("What Retry-After tells clients (default 5m).", valueName: "duration"))
    var retryAfter: DurationArgument?

    func validate() throws {
        if let message, let problem = MaintenanceMessage.problem(message) {
            throw ValidationError("--message \(problem)")
        }
    }

    func run() async throws {
        let inventory = try global.loadInventory()
        let target = try MaintenanceTarget(inventory: inventory, service: service)
        let seconds = Int(retryAfter?.value.components.seconds ?? 300)
        let text = message ?? "\(service) is down for maintenance and will be back shortly."
        let setBy = ExecutorOptions.currentUser()
        let entry = GatewayState.Maintenance(retryAfterSeconds: seconds, since: Timestamp.string(Date()),
                                             setBy: MaintenanceMessage.problem(setBy) == nil ? setBy : "unknown", message: text)
        try target.checkTemplateUses(entry)
        let service = service
        let outcome = try await target.change(hostKeys: hostKeys) { state in
            guard let current = state.maintenance[service] else {
                state.maintenance[service] = entry
                return
            }
            // Already on: the message or Retry-After may change, the time it began does not.
            if current.message != entry.message || current.retryAfterSeconds != entry.retryAfterSeconds {
                state.maintenance[service] = GatewayState.Maintenance(retryAfterSeconds: entry.retryAfterSeconds, since: current.since,
                                                                      setBy: entry.setBy, message: entry.message)
            }
        }
        target.report(on: true, outcome, format: global.format)
    }
}

struct MaintenanceOffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "off",
        abstract: "The gateway routes the service to its hosts again.",
        usage: "openclaw-deploy maintenance off <service> [opts]"
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var hostKeys: HostKeyOptions

    @Argument(help: "The service.", completion: .custom(InventoryCompletion.services))
    var service: String

    func run() async throws {
        let inventory = try global.loadInventory()
        let target = try MaintenanceTarget(inventory: inventory, service: service)
        let service = service
        let outcome = try await target.change(hostKeys: hostKeys) { state in state.maintenance[service] = nil }
        target.report(on: false, outcome, format: global.format)
    }
}

/// A routed service of an inventory with a gateway: what `maintenance on|off` acts on.
struct MaintenanceTarget {
    let inventory: Inventory
    let gateway: GatewaySettings
    let service: String
    let prefix: String

    init(inventory: Inventory, service: String) throws {
        guard let gateway = inventory.gateway else { throw GatewayError.noGatewaySection(inventory: inventory.sourcePath) }
        _ = try inventory.select(services: [service], all: false, hosts: [])
        let layout = try GatewayLayout(inventory: inventory)
        guard let upstream = layout.upstreams.first(where: { $0.service == service }) else {
            let reason = layout.unrouted.first { $0.service == service }?.reason ?? "not routed by the gateway"
            throw NotRouted(service: service, reason: reason)
        }
        self.inventory = inventory
        self.gateway = gateway
        self.service = service
        prefix = upstream.prefix
    }

    /// Refuses a gateway template that would ignore the maintenance (its routes never ask for `maintenance`), before
    /// the gateway host is contacted.
    func checkTemplateUses(_ entry: GatewayState.Maintenance) throws {
        let plain = try GatewayRenderer.render(inventory: inventory)
        let inMaintenance = try GatewayRenderer.render(inventory: inventory, state: GatewayState(maintenance: [service: entry]))
        if plain == inMaintenance { throw TemplateIgnoresMaintenance(path: gateway.templatePath) }
    }

    struct Outcome {
        var changed: Bool
        /// The service's maintenance after the command (on), or the one it ended (off); nil when there was none.
        var entry: GatewayState.Maintenance?
        var note: String?
    }

    /// One connection to the gateway host; the change under its drain lock, the config rendered from the new state.
    func change(hostKeys: HostKeyOptions,
                _ edit: @Sendable @escaping (inout GatewayState) -> Void) async throws -> Outcome {
        let transport = try await hostKeys.factory.open(gateway.host)
        let editor = GatewayStateEditor(inventory: inventory, plan: Planner.gatewayPlan(gateway: gateway, services: []),
                                        deployer: GatewayDeployer(gateway: gateway, transport: transport))
        let service = service
        do {
            let (result, note) = try await editor.change { state in
                let before = state.maintenance[service]
                edit(&state)
                return (before: before, after: state.maintenance[service])
            }
            await transport.close()
            return Outcome(changed: result.before != result.after, entry: result.after ?? result.before, note: note)
        } catch {
            await transport.close()
            throw error
        }
    }

    func report(on: Bool, _ outcome: Outcome, format: OutputFormat) {
        switch format {
        case .json:
            LineOutput.standardOutput.write(JSONValue.object([
                ("action", .string(on ? "maintenance_on" : "maintenance_off")), ("service", .string(service)),
                ("gateway", .string(gateway.host.name)), ("route", .string(prefix)),
                ("result", .string(outcome.changed ? "changed" : "unchanged")),
                ("maintenance", outcome.entry.map(MaintenanceJSON.entry) ?? .null),
                ("note", .optional(outcome.note)),
            ]).compact + "\n")
        case .text:
            var line: String
            switch (on, outcome.changed) {
            case (true, true):
                line = "\(service): maintenance on: gateway \(gateway.host.name) answers \(prefix) with 503 and the page "
                    + "(Retry-After: \(outcome.entry?.retryAfterSeconds ?? 0)); other routes are untouched"
            case (true, false):
                line = "\(service): already in maintenance since \(outcome.entry?.since ?? "?"); nothing changed"
            case (false, true):
                line = "\(service): maintenance off: gateway \(gateway.host.name) routes \(prefix) to its hosts again"
            case (false, false):
                line = "\(service): not in maintenance; nothing changed"
            }
            LineOutput.standardOutput.write(VisibleText.escaped(line) + "\n" + (outcome.note.map { "note: \(VisibleText.escaped($0))\n" } ?? ""))
        }
    }

    struct NotRouted: CategorizedError {
        var service: String
        var reason: String
        var category: ExitCategory { .usage }
        var description: String { "\(service): \(reason); maintenance works through its route at the gateway" }
    }

    struct TemplateIgnoresMaintenance: CategorizedError {
        var path: String
        var category: ExitCategory { .invalidInventory }
        var description: String {
            "the gateway template \(path) does not use `maintenance` in its routes, so a maintenance would change nothing; "
                + "add the `{{#maintenance}}` block of templates/nginx-gateway.conf.mustache to each route's location. "
                + "Nothing was changed."
        }
    }
}

enum MaintenanceJSON {
    static func entry(_ entry: GatewayState.Maintenance) -> JSONValue {
        .object([("since", .string(entry.since)), ("set_by", .string(entry.setBy)),
                 ("retry_after", .int(Int64(entry.retryAfterSeconds))), ("message", .string(entry.message))])
    }
}
