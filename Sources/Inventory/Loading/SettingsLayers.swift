import Yams

/// A setting as one level of the inventory (defaults, service, host) gives it.
enum Setting<Value> {
    case unset
    /// Written but invalid, and already reported: no default applies and it is not reported as missing.
    case invalid
    case set(Value)

    /// Key-by-key inheritance: a lower level's value wins when it writes one.
    func overridden(by lower: Setting) -> Setting {
        if case .unset = lower { return self }
        return lower
    }

    init(_ value: Value?) {
        self = value.map(Setting.set) ?? .invalid
    }
}

struct SSHLayer {
    var user: Setting<String> = .unset
    var port: Setting<Int> = .unset
    /// `.set(nil)` is an explicit `identity: null`, meaning ssh-agent even if a higher level names a key.
    var identity: Setting<String?> = .unset
    var knownHosts: Setting<String> = .unset
    var connectTimeout: Setting<Duration> = .unset
    var commandTimeout: Setting<Duration> = .unset

    static let keys = ["user", "port", "identity", "known_hosts", "connect_timeout", "command_timeout"]

    func overridden(by lower: SSHLayer) -> SSHLayer {
        SSHLayer(user: user.overridden(by: lower.user), port: port.overridden(by: lower.port),
                 identity: identity.overridden(by: lower.identity), knownHosts: knownHosts.overridden(by: lower.knownHosts),
                 connectTimeout: connectTimeout.overridden(by: lower.connectTimeout),
                 commandTimeout: commandTimeout.overridden(by: lower.commandTimeout))
    }
}

struct RepoLayer {
    var path: Setting<String> = .unset
    var remote: Setting<String> = .unset
    var branch: Setting<String> = .unset
    var url: Setting<String> = .unset

    static let keys = ["path", "remote", "branch", "url"]

    func overridden(by lower: RepoLayer) -> RepoLayer {
        RepoLayer(path: path.overridden(by: lower.path), remote: remote.overridden(by: lower.remote),
                  branch: branch.overridden(by: lower.branch), url: url.overridden(by: lower.url))
    }
}

struct ComposeLayer {
    var command: Setting<[String]> = .unset
    var file: Setting<String> = .unset
    /// `.set(nil)` is an explicit `project: null`: let compose derive the name.
    var project: Setting<String?> = .unset
    var build: Setting<Bool> = .unset
    var upArgs: Setting<[String]> = .unset
    var engine: Setting<ContainerEngine> = .unset

    static let keys = ["command", "file", "project", "build", "up_args", "engine"]

    func overridden(by lower: ComposeLayer) -> ComposeLayer {
        ComposeLayer(command: command.overridden(by: lower.command), file: file.overridden(by: lower.file),
                     project: project.overridden(by: lower.project), build: build.overridden(by: lower.build),
                     upArgs: upArgs.overridden(by: lower.upArgs), engine: engine.overridden(by: lower.engine))
    }
}

struct HealthLayer {
    var url: Setting<HealthURL> = .unset
    var timeout: Setting<Duration> = .unset
    var interval: Setting<Duration> = .unset
    var healthyAfter: Setting<Int> = .unset

    static let keys = ["url", "timeout", "interval", "healthy_after"]

    func overridden(by lower: HealthLayer) -> HealthLayer {
        HealthLayer(url: url.overridden(by: lower.url), timeout: timeout.overridden(by: lower.timeout),
                    interval: interval.overridden(by: lower.interval), healthyAfter: healthyAfter.overridden(by: lower.healthyAfter))
    }
}

/// Everything one level of the inventory may set for the hosts below it.
struct SettingsLayer {
    var ssh = SSHLayer()
    var repo = RepoLayer()
    var compose = ComposeLayer()
    var health = HealthLayer()
    var stateDir: Setting<String> = .unset
    var env = EnvLayer()
    /// Read under `defaults` and a service only.
    var hooks = HooksLayer()

    func overridden(by lower: SettingsLayer) -> SettingsLayer {
        SettingsLayer(ssh: ssh.overridden(by: lower.ssh), repo: repo.overridden(by: lower.repo),
                      compose: compose.overridden(by: lower.compose), health: health.overridden(by: lower.health),
                      stateDir: stateDir.overridden(by: lower.stateDir), env: env.overridden(by: lower.env),
                      hooks: hooks.overridden(by: lower.hooks))
    }
}

extension NodeReader {
    /// Reads `ssh`, `repo`, `compose`, `health` and `state_dir` from a level's fields.
    func settingsLayer(_ fields: MappingFields, localPaths: LocalPaths) -> SettingsLayer {
        var layer = SettingsLayer()
        if let node = fields["ssh"] { layer.ssh = sshLayer(node, fields.path("ssh"), localPaths: localPaths) }
        if let node = fields["repo"] { layer.repo = repoLayer(node, fields.path("repo")) }
        if let node = fields["compose"] { layer.compose = composeLayer(node, fields.path("compose")) }
        if let node = fields["health"] { layer.health = healthLayer(node, fields.path("health")) }
        if let node = fields["state_dir"] {
            layer.stateDir = Setting(string(node, fields.path("state_dir"), rule: { RemoteValueRules.remotePath($0) }))
        }
        if let node = fields["env"] { layer.env = envLayer(node, fields.path("env"), localPaths: localPaths) }
        if let node = fields["hooks"] { layer.hooks = hooksLayer(node, fields.path("hooks")) }
        return layer
    }

    func sshLayer(_ node: Node, _ path: String, localPaths: LocalPaths) -> SSHLayer {
        guard let fields = mapping(node, path, allowed: SSHLayer.keys) else {
            return SSHLayer(user: .invalid, port: .invalid, identity: .invalid, knownHosts: .invalid,
                            connectTimeout: .invalid, commandTimeout: .invalid)
        }
        var layer = SSHLayer()
        if let node = fields["user"] { layer.user = Setting(string(node, fields.path("user"), rule: RemoteValueRules.user)) }
        if let node = fields["port"] { layer.port = Setting(int(node, fields.path("port"), in: 1...65535)) }
        if let node = fields["identity"] {
            layer.identity = isNull(node)
                ? .set(nil)
                : Setting(localPath(node, fields.path("identity"), localPaths).map(Optional.some))
        }
        if let node = fields["known_hosts"] { layer.knownHosts = Setting(localPath(node, fields.path("known_hosts"), localPaths)) }
        if let node = fields["connect_timeout"] { layer.connectTimeout = Setting(positiveDuration(node, fields.path("connect_timeout"))) }
        if let node = fields["command_timeout"] { layer.commandTimeout = Setting(positiveDuration(node, fields.path("command_timeout"))) }
        return layer
    }

    func repoLayer(_ node: Node, _ path: String) -> RepoLayer {
        guard let fields = mapping(node, path, allowed: RepoLayer.keys) else {
            return RepoLayer(path: .invalid, remote: .invalid, branch: .invalid, url: .invalid)
        }
        var layer = RepoLayer()
        if let node = fields["path"] { layer.path = Setting(string(node, fields.path("path"), rule: { RemoteValueRules.remotePath($0) })) }
        if let node = fields["remote"] { layer.remote = Setting(string(node, fields.path("remote"), rule: RemoteValueRules.gitRef)) }
        if let node = fields["branch"] { layer.branch = Setting(string(node, fields.path("branch"), rule: RemoteValueRules.gitRef)) }
        if let node = fields["url"] { layer.url = Setting(string(node, fields.path("url"), rule: RemoteValueRules.repositoryURL)) }
        return layer
    }

    func composeLayer(_ node: Node, _ path: String) -> ComposeLayer {
        guard let fields = mapping(node, path, allowed: ComposeLayer.keys) else {
            return ComposeLayer(command: .invalid, file: .invalid, project: .invalid, build: .invalid, upArgs: .invalid, engine: .invalid)
        }
        var layer = ComposeLayer()
        if let node = fields["command"] { layer.command = Setting(composeCommand(node, fields.path("command"))) }
        if let node = fields["file"] { layer.file = Setting(string(node, fields.path("file"), rule: RemoteValueRules.composeFile)) }
        if let node = fields["project"] {
            layer.project = isNull(node)
                ? .set(nil)
                : Setting(string(node, fields.path("project"), rule: RemoteValueRules.composeProject).map(Optional.some))
        }
        if let node = fields["build"] { layer.build = Setting(bool(node, fields.path("build"))) }
        if let node = fields["up_args"] { layer.upArgs = Setting(stringList(node, fields.path("up_args"))) }
        if let node = fields["engine"] { layer.engine = Setting(containerEngine(node, fields.path("engine"))) }
        return layer
    }

    func healthLayer(_ node: Node, _ path: String) -> HealthLayer {
        guard let fields = mapping(node, path, allowed: HealthLayer.keys) else {
            return HealthLayer(url: .invalid, timeout: .invalid, interval: .invalid, healthyAfter: .invalid)
        }
        var layer = HealthLayer()
        if let node = fields["url"] { layer.url = Setting(healthURL(node, fields.path("url"))) }
        if let node = fields["timeout"] { layer.timeout = Setting(positiveDuration(node, fields.path("timeout"))) }
        if let node = fields["interval"] { layer.interval = Setting(positiveDuration(node, fields.path("interval"))) }
        if let node = fields["healthy_after"] { layer.healthyAfter = Setting(int(node, fields.path("healthy_after"), in: 1...1000)) }
        return layer
    }

    // MARK: Single values

    func healthURL(_ node: Node, _ path: String) -> HealthURL? {
        guard let text = string(node, path) else { return nil }
        do {
            return try HealthURL.parse(text)
        } catch {
            self.error(at: node.mark, "`\(path)`: \(quoted(text)) is not a valid health URL: \(error); write `http://HOST:PORT/PATH`, e.g. `http://127.0.0.1:8080/health`")
            return nil
        }
    }

    func containerEngine(_ node: Node, _ path: String) -> ContainerEngine? {
        guard let text = string(node, path) else { return nil }
        guard let engine = ContainerEngine(rawValue: text) else {
            error(at: node.mark, "`\(path)`: unknown container engine \(quoted(text)); allowed: `docker`, `podman` (the default follows compose.command)")
            return nil
        }
        return engine
    }

    func composeCommand(_ node: Node, _ path: String) -> [String]? {
        guard let text = string(node, path) else { return nil }
        guard ComposeSettings.allowedCommands.contains(text) else {
            let allowed = ComposeSettings.allowedCommands.map { "`\($0)`" }.joined(separator: ", ")
            error(at: node.mark, "`\(path)`: unsupported compose command \(quoted(text)); allowed: \(allowed)")
            return nil
        }
        return text.split(separator: " ").map(String.init)
    }

    /// A duration above zero: a zero timeout or interval would make a gate that can never pass or a busy loop.
    func positiveDuration(_ node: Node, _ path: String) -> Duration? {
        guard let value = duration(node, path) else { return nil }
        guard value > .zero else {
            error(at: node.mark, "`\(path)` must be longer than zero, e.g. `10s`")
            return nil
        }
        return value
    }

    func localPath(_ node: Node, _ path: String, _ localPaths: LocalPaths) -> String? {
        guard let resolved = string(node, path, rule: RemoteValueRules.noControlCharacters).map(localPaths.resolve) else { return nil }
        let position = node.mark.map(Position.init) ?? Position(line: 1, column: 1)
        localFiles.append(LocalFileReference(key: path, path: resolved, line: position.line, column: position.column))
        return resolved
    }
}
