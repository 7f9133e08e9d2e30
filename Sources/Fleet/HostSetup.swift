import Commands
import Engine
import Inventory
import Plan

/// One thing `setup` checks on a host (SPEC "Preparing a host"), and what it found or did.
public struct SetupCheck: Sendable, Equatable {
    /// `ssh`, `git`, `compose`, `engine`, `checkout`, `state`.
    public var check: String
    public var ok: Bool
    /// `setup` changed the host for it (a clone, a directory made).
    public var changed: Bool
    /// What was found or done; when not ok, what is missing and how to fix it.
    public var detail: String
}

/// Every check of one host; `ready` when all passed.
public struct HostSetupReport: Sendable, Equatable {
    public var host: String
    public var reachable: Bool
    public var checks: [SetupCheck]

    public var ready: Bool { reachable && checks.allSatisfy(\.ok) }
    public var changed: Bool { checks.contains { $0.changed } }
}

extension FleetInspector {
    /// Makes each host ready for its first deploy, idempotently: one read of what is there (git, the compose command,
    /// the engine, the checkout, the state directory), then only what is missing: a clone of `repo.url` where the
    /// checkout is missing, the state directory. With `dryRun` nothing is changed; what would be done is said.
    public func setup(_ service: Service, hosts: [ServiceHost], dryRun: Bool) async -> [HostSetupReport] {
        await forEach(hosts.map { (service, $0) }) { service, host, transport, connectError in
            guard let transport else {
                return HostSetupReport(host: host.name, reachable: false,
                                       checks: [SetupCheck(check: "ssh", ok: false, changed: false, detail: connectError ?? "could not connect")])
            }
            return await Self.setUp(service, host, transport, dryRun: dryRun)
        }
    }

    private static func setUp(_ service: Service, _ host: ServiceHost, _ transport: any Transport, dryRun: Bool) async -> HostSetupReport {
        let commands = HostCommands(service: service.name, host: host)
        let timeout = host.ssh.commandTimeout
        var checks: [SetupCheck] = []
        func check(_ name: String, _ ok: Bool, _ detail: String, changed: Bool = false) {
            checks.append(SetupCheck(check: name, ok: ok, changed: changed, detail: detail))
        }
        let facts: [String: String]
        do {
            let result = try await transport.run(commands.setupProbe().rendered, input: nil, timeout: timeout)
            facts = Dictionary(result.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
                guard let equals = line.firstIndex(of: "=") else { return nil }
                return (String(line[..<equals]), String(line[line.index(after: equals)...]))
            }, uniquingKeysWith: { $1 })
        } catch {
            check("ssh", false, "connected, but the checks could not run: \(error)")
            return HostSetupReport(host: host.name, reachable: true, checks: checks)
        }
        let user = facts["user"].flatMap { $0.isEmpty ? nil : $0 } ?? host.ssh.user
        check("ssh", true, "connected as \(user)")
        if let git = facts["git"] {
            check("git", true, git)
        } else {
            check("git", false, "git is not installed; install it (Debian: apt-get install git)")
        }
        let compose = host.compose.command.joined(separator: " ")
        check("compose", facts["compose"] == "ok", facts["compose"] == "ok" ? "\(compose) works"
            : "`\(compose) version` fails; install it, or set compose.command to the one the host has")
        let engine = commands.engine
        switch facts["engine"] {
        case "ok":
            check("engine", true, "\(engine) answers")
        case let error? where error.lowercased().contains("permission denied"):
            check("engine", false, "user \(user) is not allowed to use \(engine): add it to the \(engine) group "
                + "(usermod -aG \(engine) \(user)) and log in again")
        case let error:
            check("engine", false, "`\(engine) info` fails: \(error.map { $0.isEmpty ? "no message" : $0 } ?? "no answer"); "
                + "start the \(engine) service")
        }
        let path = host.repo.path
        switch facts["checkout"] {
        case "git":
            let remote = facts["remote"] ?? ""
            if remote.isEmpty {
                check("checkout", false, "\(path) has no remote named \(host.repo.remote); add it: "
                    + "git -C \(path) remote add \(host.repo.remote) URL")
            } else {
                check("checkout", true, "\(path) (\(host.repo.remote): \(remote))")
            }
        case "other":
            check("checkout", false, "\(path) exists but is not a git checkout (nor empty); move it away, then run setup again")
        default:
            if let url = host.repo.url {
                if dryRun {
                    check("checkout", false, "would clone \(url) into \(path)")
                } else {
                    do {
                        let result = try await transport.run(commands.clone(url).rendered, input: nil, timeout: timeout)
                        check("checkout", result.succeeded, result.succeeded ? "cloned \(url) into \(path)"
                            : "git clone \(url) failed: \(HostSession.reason(of: result))", changed: result.succeeded)
                    } catch {
                        check("checkout", false, "git clone \(url) failed: \(error)")
                    }
                }
            } else {
                check("checkout", false, "\(path) does not exist; set repo.url in the inventory so setup can clone it, "
                    + "or clone it on the host")
            }
        }
        if facts["state"] == "ok" {
            check("state", true, host.stateDir)
        } else if dryRun {
            check("state", false, "would create \(host.stateDir)")
        } else {
            do {
                let result = try await transport.run(commands.createStateDir().rendered, input: nil, timeout: timeout)
                check("state", result.succeeded, result.succeeded ? "created \(host.stateDir)"
                    : "could not create \(host.stateDir): \(HostSession.reason(of: result))", changed: result.succeeded)
            } catch {
                check("state", false, "could not create \(host.stateDir): \(error)")
            }
        }
        return HostSetupReport(host: host.name, reachable: true, checks: checks)
    }
}
