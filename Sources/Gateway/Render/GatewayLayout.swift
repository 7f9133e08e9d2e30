import Commands
import Foundation
import Inventory
import Plan
import Engine

/// What the gateway config says, decided from the inventory before any template is involved: one upstream per
/// routed service, one location per route prefix, and the services left out with the reason why.
public struct GatewayLayout: Sendable, Equatable {
    public struct Server: Sendable, Equatable {
        public var host: String
        /// As nginx writes it: IPv6 literals in brackets.
        public var address: String
        public var port: Int
        /// Taken out of rotation while the host changes (`down` in nginx).
        public var down: Bool
    }

    public struct Upstream: Sendable, Equatable {
        /// A valid nginx identifier derived from the service name (`openclaw_customer_service`).
        public var name: String
        public var service: String
        public var prefix: String
        public var servers: [Server]
        /// Set while the service is in maintenance: its route answers 503 with a page instead of reaching a host.
        public var maintenance: GatewayState.Maintenance?
    }

    public struct Unrouted: Sendable, Equatable {
        public var service: String
        public var reason: String
    }

    /// File name of the inventory, not its full path, so the output is the same on every machine.
    public var source: String
    /// In service-name order.
    public var upstreams: [Upstream]
    public var unrouted: [Unrouted]

    /// `state` holds the hosts to mark `down` and the services in maintenance, keyed by service name.
    public init(inventory: Inventory, state: GatewayState = GatewayState()) throws {
        // Only plain file-name characters reach the template: a name with a newline could otherwise write
        // a line of nginx config of its own.
        let name = inventory.sourcePath.split(separator: "/").last.map(String.init) ?? inventory.sourcePath
        source = String(name.unicodeScalars.prefix(200).map { scalar -> Character in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar)) ? Character(scalar) : "_"
        })
        upstreams = []
        unrouted = []
        var servicesByPrefix: [String: String] = [:]
        for service in inventory.services.sorted(by: { $0.name < $1.name }) {
            guard let route = service.route else {
                unrouted.append(Unrouted(service: service.name, reason: "no `route:` in the inventory, not routed by the gateway"))
                continue
            }
            guard !service.hosts.isEmpty else {
                unrouted.append(Unrouted(service: service.name, reason: "no hosts, not routed by the gateway"))
                continue
            }
            guard Self.isSafePrefix(route.prefix) else {
                throw GatewayError.unsafeValue(service: service.name, field: "route.prefix", value: route.prefix)
            }
            if let other = servicesByPrefix[route.prefix] {
                throw GatewayError.duplicateRoute(prefix: route.prefix, services: [other, service.name])
            }
            servicesByPrefix[route.prefix] = service.name
            let down = state.drained[service.name] ?? []
            let servers = try service.hosts.sorted(by: { $0.name < $1.name }).map { host in
                Server(host: host.name, address: try Self.nginxAddress(host.address, service: service.name),
                       port: route.port, down: down.contains(host.name))
            }
            upstreams.append(Upstream(name: Self.upstreamName(service.name), service: service.name,
                                      prefix: route.prefix, servers: servers, maintenance: state.maintenance[service.name]))
        }
    }

    /// `customer-service` → `openclaw_customer_service`: service names are `[a-z0-9-]`, nginx names are `[A-Za-z0-9_]`.
    public static func upstreamName(_ service: String) -> String {
        "openclaw_" + String(service.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// An address as an nginx `server` line needs it; refuses anything that could break out of the directive.
    static func nginxAddress(_ address: String, service: String) throws -> String {
        let bare = address.hasPrefix("[") && address.hasSuffix("]") ? String(address.dropFirst().dropLast()) : address
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:%")
        guard !bare.isEmpty, !bare.hasPrefix("-"), bare.allSatisfy(allowed.contains) else {
            throw GatewayError.unsafeValue(service: service, field: "host address", value: address)
        }
        return bare.contains(":") ? "[\(bare)]" : bare
    }

    static func isSafePrefix(_ prefix: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-_.")
        return prefix.hasPrefix("/") && prefix.hasSuffix("/") && prefix.allSatisfy(allowed.contains)
    }
}
