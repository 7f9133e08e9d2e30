/// The validated inventory: every default and override already applied, every value checked.
/// Services and hosts are kept sorted by name so that everything derived from them is stable.
public struct Inventory: Sendable, Equatable {
    /// Path of the file this inventory was read from, as given by the user.
    public var sourcePath: String
    public var version: Int
    /// Tier policies: the built-in ones with any `tiers:` overrides and additions applied.
    public var tiers: [String: TierPolicy]
    /// Services sorted by name.
    public var services: [Service]
    public var gateway: GatewaySettings?
    /// Every local file the inventory names (keys, known_hosts, the gateway template), where it names it.
    public var localFiles: [LocalFileReference] = []

    public init(sourcePath: String, version: Int, tiers: [String: TierPolicy], services: [Service], gateway: GatewaySettings?) {
        self.sourcePath = sourcePath
        self.version = version
        self.tiers = tiers
        self.services = services
        self.gateway = gateway
    }

    /// The inventory file's directory, absolute: where local hooks and `from_command` run, and what relative
    /// local paths are resolved against.
    public var directory: String { LocalPaths(inventoryPath: sourcePath, environment: [:]).baseDirectory }

    public func service(named name: String) -> Service? {
        services.first { $0.name == name }
    }
}

public struct Service: Sendable, Equatable {
    public var name: String
    public var description: String?
    /// The tier name as written (`"99.9"`), and its resolved policy.
    public var tier: String
    public var policy: TierPolicy
    public var size: ResourceSize?
    public var skills: [String]
    public var channels: [String]
    public var route: Route?
    /// Hosts sorted by name, each with the service's settings merged in.
    public var hosts: [ServiceHost]
    public var hooks: Hooks

    public init(name: String, description: String?, tier: String, policy: TierPolicy, size: ResourceSize?,
                skills: [String], channels: [String], route: Route?, hosts: [ServiceHost], hooks: Hooks = Hooks()) {
        self.name = name
        self.description = description
        self.tier = tier
        self.policy = policy
        self.size = size
        self.skills = skills
        self.channels = channels
        self.route = route
        self.hosts = hosts
        self.hooks = hooks
    }
}

/// One host of a service, with everything it inherits from `defaults` and its service resolved.
public struct ServiceHost: Sendable, Equatable {
    public var name: String
    /// IPv4/IPv6 literal or DNS name the tool connects to.
    public var address: String
    public var ssh: SSHSettings
    public var repo: RepoSettings
    public var compose: ComposeSettings
    public var health: HealthSettings
    /// Directory on the host holding the lock and `history.jsonl`. May start with `~/`, meaning the
    /// remote user's home. Default `~/.openclaw-deploy/<service>`.
    public var stateDir: String
    /// The inventory's variables for this host (defaults, service and host merged key by key), sorted by name.
    /// The built-in `OPENCLAW_*` variables are added when the rollout is planned.
    public var env: [EnvVariable]

    public init(name: String, address: String, ssh: SSHSettings, repo: RepoSettings, compose: ComposeSettings,
                health: HealthSettings, stateDir: String, env: [EnvVariable] = []) {
        self.name = name
        self.address = address
        self.ssh = ssh
        self.repo = repo
        self.compose = compose
        self.health = health
        self.stateDir = stateDir
        self.env = env
    }

    /// Where to connect to reach this host.
    public var endpoint: Endpoint { Endpoint(name: name, address: address, ssh: ssh) }
}

public struct SSHSettings: Sendable, Equatable {
    public var user: String
    public var port: Int
    /// Private key file (with `~` expanded on the local machine); nil means use ssh-agent.
    public var identity: String?
    /// known_hosts file on the local machine, `~` expanded.
    public var knownHosts: String
    public var connectTimeout: Duration
    public var commandTimeout: Duration

    public init(user: String = "deploy", port: Int = 22, identity: String? = nil, knownHosts: String,
                connectTimeout: Duration = .seconds(10), commandTimeout: Duration = .seconds(600)) {
        self.user = user
        self.port = port
        self.identity = identity
        self.knownHosts = knownHosts
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }
}

public struct RepoSettings: Sendable, Equatable {
    /// Absolute path of the git checkout on the host (or `~/...`).
    public var path: String
    public var remote: String
    public var branch: GitRef
    /// Where `setup` clones the checkout from when `path` is missing (the remote named `remote`); only `setup`
    /// reads it.
    public var url: String?

    public init(path: String, remote: String = "origin", branch: GitRef = "main", url: String? = nil) {
        self.path = path
        self.remote = remote
        self.branch = branch
        self.url = url
    }
}

public struct ComposeSettings: Sendable, Equatable {
    /// The compose command as argv: `["docker", "compose"]`, `["docker-compose"]`, `["podman-compose"]` or
    /// `["podman", "compose"]`.
    public var command: [String]
    public var file: String
    /// Compose project name; nil lets compose derive it.
    public var project: String?
    public var build: Bool
    public var upArgs: [String]
    /// The container engine the compose command drives, whose `ps` and `inspect` tell the containers' state.
    public var engine: ContainerEngine

    /// The compose commands the inventory accepts, as written in YAML.
    public static let allowedCommands = ["docker compose", "docker-compose", "podman-compose", "podman compose"]

    public init(command: [String] = ["docker", "compose"], file: String = "docker-compose.yml", project: String? = nil,
                build: Bool = false, upArgs: [String] = [], engine: ContainerEngine? = nil) {
        self.command = command
        self.file = file
        self.project = project
        self.build = build
        self.upArgs = upArgs
        self.engine = engine ?? ComposeFrontEnd(command: command).defaultEngine
    }

    /// Which compose this is: what it can do and how it says it.
    public var frontEnd: ComposeFrontEnd { ComposeFrontEnd(command: command) }
}

/// The container engines a compose command drives.
public enum ContainerEngine: String, Sendable, Equatable, CaseIterable {
    case docker, podman
}

/// The four compose front ends (SPEC "Runtimes"): each command works on all of them, or is refused for the one
/// that lacks what it needs, before any host is contacted.
public enum ComposeFrontEnd: String, Sendable, Equatable {
    /// `docker compose`, the Go plugin.
    case composeV2 = "docker compose"
    /// `docker-compose` 1.x, the Python one.
    case composeV1 = "docker-compose"
    case podmanCompose = "podman-compose"
    /// `podman compose`, which runs an external compose provider.
    case podmanSubcommand = "podman compose"

    public init(command: [String]) {
        self = ComposeFrontEnd(rawValue: command.joined(separator: " ")) ?? .composeV2
    }

    /// The engine a front end drives unless `compose.engine` says otherwise.
    public var defaultEngine: ContainerEngine {
        switch self {
        case .composeV2, .composeV1: return .docker
        case .podmanCompose, .podmanSubcommand: return .podman
        }
    }

    /// `logs --since`: Compose v1 has `--tail`, `-f` and `--no-color`, but no `--since`.
    public var logsSince: Bool { self != .composeV1 }

    /// `logs --no-color`: the docker front ends colour each container's prefix even on a pipe; podman-compose
    /// neither colours nor takes the option.
    public var logsNoColor: Bool { defaultEngine == .docker }

    /// For messages: `docker-compose (Compose v1)`.
    public var spokenName: String {
        switch self {
        case .composeV2: return "docker compose (Compose v2)"
        case .composeV1: return "docker-compose (Compose v1)"
        case .podmanCompose: return "podman-compose"
        case .podmanSubcommand: return "podman compose"
        }
    }
}

public struct HealthSettings: Sendable, Equatable {
    public var url: HealthURL
    public var timeout: Duration
    public var interval: Duration
    /// Consecutive 2xx answers needed: the value given under `health:`, else the tier's.
    public var healthyAfter: Int

    public init(url: HealthURL, timeout: Duration = .seconds(60), interval: Duration = .seconds(2), healthyAfter: Int) {
        self.url = url
        self.timeout = timeout
        self.interval = interval
        self.healthyAfter = healthyAfter
    }
}

/// `http://HOST:PORT/PATH`, the only form a health URL may take. The request is made through the SSH
/// connection, to HOST:PORT as seen from the host itself.
public struct HealthURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Starts with `/`.
    public var path: String

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h):\(port)\(path)"
    }
}

public struct Route: Sendable, Equatable {
    /// Path prefix on the gateway, starts and ends with `/` (`/api/customer/`).
    public var prefix: String
    /// Port the service listens on, on each of its hosts.
    public var port: Int

    public init(prefix: String, port: Int) {
        self.prefix = prefix
        self.port = port
    }
}

public struct ResourceSize: Sendable, Equatable {
    public var vcpu: Int?
    /// Memory in bytes, and as written (`8GiB`).
    public var memoryBytes: UInt64?
    public var memoryText: String?

    public init(vcpu: Int?, memoryBytes: UInt64?, memoryText: String?) {
        self.vcpu = vcpu
        self.memoryBytes = memoryBytes
        self.memoryText = memoryText
    }
}

public struct GatewaySettings: Sendable, Equatable {
    public var host: Endpoint
    public var configPath: String
    /// Template path resolved against the inventory file's directory.
    public var templatePath: String
    /// The page a service in maintenance answers with (a Mustache template, resolved like `templatePath`); nil for
    /// the built-in page.
    public var maintenancePagePath: String?
    /// Where nginx writes every routed request as a JSON line (`gateway.access_log`), for the traffic judge.
    public var accessLogPath: String

    public static let defaultAccessLog = "/var/log/nginx/openclaw-access.log"

    public init(host: Endpoint, configPath: String, templatePath: String, maintenancePagePath: String? = nil,
                accessLogPath: String = GatewaySettings.defaultAccessLog) {
        self.host = host
        self.configPath = configPath
        self.templatePath = templatePath
        self.maintenancePagePath = maintenancePagePath
        self.accessLogPath = accessLogPath
    }
}

/// What a connection needs: a name for messages, the address and the SSH settings. Every host the tool
/// connects to (a service's host, the gateway) is one.
public struct Endpoint: Sendable, Equatable {
    public var name: String
    public var address: String
    public var ssh: SSHSettings

    public init(name: String, address: String, ssh: SSHSettings) {
        self.name = name
        self.address = address
        self.ssh = ssh
    }
}

/// A path on this machine the inventory names: `inventory check` makes sure the file is there.
public struct LocalFileReference: Sendable, Equatable {
    /// Where it is set, as a key path (`defaults.ssh.identity`).
    public var key: String
    /// Resolved: absolute, `~` expanded.
    public var path: String
    public var line: Int
    public var column: Int

    public init(key: String, path: String, line: Int, column: Int) {
        self.key = key
        self.path = path
        self.line = line
        self.column = column
    }
}
