/// Turns the merged layers for one host into its final settings, applying the built-in defaults.
extension SettingsLayer {
    /// The host's settings, or nil when a value was invalid (already reported) or a required one is missing
    /// (its dotted key is appended to `missing`).
    func resolvedHost(name: String, address: String, tierHealthyAfter: Int, localPaths: LocalPaths,
                      serviceName: String, missing: inout [String]) -> ServiceHost? {
        let sshSettings = ssh.resolved(localPaths: localPaths)
        let repoSettings = repo.resolved(missing: &missing)
        let composeSettings = compose.resolved()
        let healthSettings = health.resolved(tierHealthyAfter: tierHealthyAfter, missing: &missing)
        let stateDirectory = stateDir.resolved(default: "~/.openclaw-deploy/\(serviceName)")
        guard let sshSettings, let repoSettings, let composeSettings, let healthSettings, let stateDirectory,
              let variables = env.resolved else {
            return nil
        }
        return ServiceHost(name: name, address: address, ssh: sshSettings, repo: repoSettings, compose: composeSettings,
                           health: healthSettings, stateDir: stateDirectory, env: variables)
    }
}

extension Setting {
    /// The value, the default when nothing set it, or nil when it was invalid.
    func resolved(default fallback: @autoclosure () -> Value) -> Value? {
        switch self {
        case .set(let value): return value
        case .unset: return fallback()
        case .invalid: return nil
        }
    }

    /// The value of a required setting; nil when invalid, or when unset (then `key` is added to `missing`).
    func required(_ key: String, missing: inout [String]) -> Value? {
        switch self {
        case .set(let value): return value
        case .unset:
            missing.append(key)
            return nil
        case .invalid: return nil
        }
    }
}

extension SSHLayer {
    func resolved(localPaths: LocalPaths) -> SSHSettings? {
        guard let user = user.resolved(default: "deploy"),
              let port = port.resolved(default: 22),
              let identity = identity.resolved(default: nil),
              let knownHosts = knownHosts.resolved(default: localPaths.resolve("~/.ssh/known_hosts")),
              let connectTimeout = connectTimeout.resolved(default: .seconds(10)),
              let commandTimeout = commandTimeout.resolved(default: .seconds(600)) else { return nil }
        return SSHSettings(user: user, port: port, identity: identity, knownHosts: knownHosts,
                           connectTimeout: connectTimeout, commandTimeout: commandTimeout)
    }
}

extension RepoLayer {
    func resolved(missing: inout [String]) -> RepoSettings? {
        let path = path.required("repo.path", missing: &missing)
        // The branch passed `GitRefRule` when it was read (a refused one is already a diagnostic).
        guard let path, let remote = remote.resolved(default: "origin"), let text = branch.resolved(default: "main"),
              let branch = try? GitRef(validating: text), let url = url.optionalValue else {
            return nil
        }
        return RepoSettings(path: path, remote: remote, branch: branch, url: url)
    }
}

extension ComposeLayer {
    func resolved() -> ComposeSettings? {
        guard let command = command.resolved(default: ["docker", "compose"]),
              let file = file.resolved(default: "docker-compose.yml"),
              let project = project.resolved(default: nil),
              let build = build.resolved(default: false),
              let upArgs = upArgs.resolved(default: []), let engine = engine.optionalValue else { return nil }
        return ComposeSettings(command: command, file: file, project: project, build: build, upArgs: upArgs, engine: engine)
    }
}

extension HealthLayer {
    func resolved(tierHealthyAfter: Int, missing: inout [String]) -> HealthSettings? {
        let url = url.required("health.url", missing: &missing)
        guard let url,
              let timeout = timeout.resolved(default: .seconds(60)),
              let interval = interval.resolved(default: .seconds(2)),
              let healthyAfter = healthyAfter.resolved(default: tierHealthyAfter) else { return nil }
        return HealthSettings(url: url, timeout: timeout, interval: interval, healthyAfter: healthyAfter)
    }
}
