import Commands
import Inventory
import Mustache

/// The values a gateway template can use, as Mustache scopes that note every name the template asks for, so a
/// misspelt name is reported instead of silently rendering as nothing.
///
/// Root: `source`, `gateway_host`, `access_log` (`gateway.access_log`), `upstreams`, `routes`, `unrouted`.
/// `upstreams[]`: `name`, `service`, `servers`. `servers[]`: `host`, `address`, `port`, `down`.
/// `routes[]`: `prefix`, `upstream`, `service`, `maintenance` (false, or while the service is in maintenance:
/// `retry_after` in seconds and `page`, the page ready to stand inside an nginx double-quoted string).
/// `unrouted[]`: `service`, `reason`.
final class TemplateData {
    let log: LookupLog
    let root: Scope

    init(layout: GatewayLayout, gatewayHost: String, pages: [String: String] = [:], accessLog: String = GatewaySettings.defaultAccessLog) {
        let log = LookupLog()
        func scope(_ values: [String: Any]) -> Scope { Scope(values: values, log: log) }
        let upstreams = layout.upstreams.map { upstream in
            scope([
                "name": upstream.name,
                "service": upstream.service,
                "servers": upstream.servers.map { server in
                    scope(["host": server.host, "address": server.address, "port": server.port, "down": server.down])
                },
            ])
        }
        let routes = layout.upstreams.map { upstream in
            let maintenance: Any = upstream.maintenance.map { entry in
                scope(["retry_after": entry.retryAfterSeconds,
                       "page": MaintenancePage.nginxQuoted(pages[upstream.service] ?? entry.message)])
            } ?? false
            return scope(["prefix": upstream.prefix, "upstream": upstream.name, "service": upstream.service,
                          "maintenance": maintenance])
        }
        let unrouted = layout.unrouted.map { scope(["service": $0.service, "reason": $0.reason]) }
        self.log = log
        root = scope([
            "source": layout.source,
            "gateway_host": gatewayHost,
            "access_log": accessLog,
            "upstreams": upstreams,
            "routes": routes,
            "unrouted": unrouted,
        ])
    }

    final class Scope: MustacheParent {
        let values: [String: Any]
        let log: LookupLog

        init(values: [String: Any], log: LookupLog) {
            self.values = values
            self.log = log
        }

        func child(named name: String) -> Any? {
            guard let value = values[name] else {
                log.missed.insert(name)
                return nil
            }
            log.found.insert(name)
            return value
        }
    }

    /// Names asked for in any scope. A miss in an inner scope is normal (Mustache then looks outward), so a name
    /// is unknown only if no scope ever had it.
    /// Every name any scope provides, listed in errors.
    static let knownNames = ["access_log", "address", "down", "gateway_host", "host", "maintenance", "name", "page", "port", "prefix",
                             "reason", "retry_after", "routes", "servers", "service", "source", "unrouted", "upstream",
                             "upstreams"]

    final class LookupLog {
        var found: Set<String> = []
        var missed: Set<String> = []

        var unknownNames: [String] { missed.subtracting(found).sorted() }
    }
}
