import Commands
import Inventory

/// What a rollout sends the gateway host: the commands that take a routed host out of rotation while it changes and
/// put it back after, under the gateway's drain lock. Built once by `Planner`; the gateway drainer runs these and no
/// others, with their late values (`<drain token>`, `<drained set>`, `<config chunk>`, `<config bytes>`) filled in.
///
/// One change (a drain or a restore) runs `drainLock`, `readDrained`, then, when the change alters the shared set,
/// `writeDrained`, `touchDrainLock`, `uploadConfig` (and `appendConfig` for each further piece of a large config),
/// `installConfig`, and last `drainUnlock`. A failed install writes the set it read back with `writeDrained`.
public struct GatewayPlan: Sendable {
    public var host: Endpoint
    public var configPath: String
    /// The services of the plan whose hosts are drained while they change: routed, on more than one host.
    public var services: [String]
    public var drainLock: GatewayStep
    public var readDrained: GatewayStep
    public var writeDrained: GatewayStep
    public var touchDrainLock: GatewayStep
    public var uploadConfig: GatewayStep
    public var appendConfig: GatewayStep
    public var installConfig: GatewayStep
    public var drainUnlock: GatewayStep
    /// By service whose traffic the rollout judges (`ServicePlan.judgesTraffic`): reads the requests the gateway
    /// logged for it since `<log offset>`: once before the first batch (`-N`: the last N bytes, the requests before
    /// the rollout), then as the canary's bake and the watch begin and once a probe interval while they last.
    public var readTraffic: [String: GatewayStep]
    /// Used by `maintenance on|off` only, never by a rollout (which changes the drained set and nothing else); not
    /// in `steps`.
    public var writeMaintenance: GatewayStep

    /// Every step a rollout may run, in the order one change runs them, then the traffic reads by service.
    public var steps: [GatewayStep] {
        [drainLock, readDrained, writeDrained, touchDrainLock, uploadConfig, appendConfig, installConfig, drainUnlock]
            + readTraffic.sorted { $0.key < $1.key }.map(\.value)
    }

    /// Bytes of the access log one traffic read takes at most (a busier gateway's excess is left for the next read).
    public static let trafficReadBytes = 8 << 20
    /// An IPv4 or IPv6 address as written (`10.0.0.5`, `[::1]`, `::1`), not a name to resolve.
    public static func isAddressLiteral(_ address: String) -> Bool {
        address.contains(":") || (!address.isEmpty && address.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") })
    }

    /// Bytes before the log's end the first read takes: the requests before the rollout, the baseline when no host
    /// is left unchanged.
    public static let trafficLookbackBytes = 1 << 20
}

/// A step of the gateway host's part of a rollout; each has a command.
public typealias GatewayStep = Step<GatewayStepKind, RemoteCommand>

public enum GatewayStepKind: String, Sendable, CaseIterable {
    case drainLock = "drain_lock"
    case readDrained = "read_drained"
    case writeDrained = "write_drained"
    case touchDrainLock = "touch_drain_lock"
    case uploadConfig = "upload_config"
    /// The further pieces of a config larger than `GatewayCommands.chunkBytes`.
    case appendConfig = "append_config"
    case installConfig = "install_config"
    case drainUnlock = "drain_unlock"
    case writeMaintenance = "write_maintenance"
    case readTraffic = "read_traffic"
}

extension Planner {
    /// The services of `services` whose hosts a rollout drains at the gateway: routed, on more than one host.
    /// Draining the only host of a service would turn a short restart into an outage.
    public static func drainedServices(_ services: [Service]) -> [String] {
        services.filter { $0.route != nil && $0.hosts.count > 1 }.map(\.name)
    }

    /// The gateway host's part of a rollout of `services` (names from `drainedServices`).
    public static func gatewayPlan(gateway: GatewaySettings, services: [String], judged: [Service] = [],
                                   settleSeconds: Int = GatewayCommands.settleSeconds) -> GatewayPlan {
        let commands = GatewayCommands(configPath: gateway.configPath)
        let token = RemoteCommand.Token.late(.drainToken, label: "drain token")
        let chunk = RemoteCommand.Token.late(.configChunk, label: "config chunk")
        let staleMinutes = GatewayCommands.drainLockStaleMinutes(commandTimeout: gateway.host.ssh.commandTimeout,
                                                                 settleSeconds: settleSeconds)
        func step(_ kind: GatewayStepKind, _ command: RemoteCommand, _ summary: String) -> GatewayStep {
            GatewayStep(kind: kind, command: command, summary: summary)
        }
        return GatewayPlan(
            host: gateway.host, configPath: gateway.configPath, services: services,
            drainLock: step(.drainLock, commands.takeDrainLock(token: token, staleMinutes: staleMinutes),
                            "take \(commands.drainLockPath) (waiting while another rollout holds it; stale after \(staleMinutes) min)"),
            readDrained: step(.readDrained, commands.readState(),
                              "read the hosts every rollout has out of rotation and the services in maintenance"),
            writeDrained: step(.writeDrained, commands.writeDrained(.late(.drainedSet, label: "drained set")),
                               "write that set with this host out of (or back in) rotation"),
            touchDrainLock: step(.touchDrainLock, commands.touchDrainLock(token: token), "mark the drain lock as in use"),
            uploadConfig: step(.uploadConfig, commands.uploadChunk(chunk, first: true),
                               "upload the config rendered from the set beside \(gateway.configPath)"),
            appendConfig: step(.appendConfig, commands.uploadChunk(chunk, first: false),
                               "its further pieces of \(GatewayCommands.chunkBytes / 1024) KiB, if any"),
            installConfig: step(.installConfig, commands.install(expectedBytes: .late(.configBytes, label: "config bytes"),
                                                                 keepPrevious: false, settleSeconds: settleSeconds),
                                "swap it in, nginx -T, reload, wait up to \(settleSeconds) s for old workers"),
            drainUnlock: step(.drainUnlock, commands.releaseDrainLock(token: token), "release the drain lock"),
            readTraffic: Dictionary(uniqueKeysWithValues: judged.map { service in
                let names = Array(Set(service.hosts.map(\.address).filter { !GatewayPlan.isAddressLiteral($0) })).sorted()
                return (service.name, step(.readTraffic, GatewayCommands.readAccessLog(
                    path: gateway.accessLogPath, service: .arg(service.name), offset: .late(.logOffset, label: "log offset"),
                    maxBytes: GatewayPlan.trafficReadBytes, resolving: names),
                    "read the requests \(gateway.accessLogPath) logged for \(service.name) since <log offset> (judging its traffic)"
                        + (names.isEmpty ? "" : "; the first read resolves \(names.joined(separator: ", ")) on the gateway host")))
            }),
            writeMaintenance: step(.writeMaintenance, commands.writeMaintenance(.late(.maintenanceSet, label: "maintenance set")),
                                   "write the services in maintenance"))
    }
}
