import Commands
import Inventory
import Plan
import Engine
import Fleet
import Testing

/// SPEC "Runtimes": container state comes from the engine by the compose project's label, the same way on docker
/// and podman, whatever compose front end started the containers. The samples are what the engines print for
/// `HostCommands.containerStateFormat` (docker 20.10 and podman 4.3 here; Compose v2's container names, with
/// hyphens, as its documentation gives them).
@Suite("Container state from the engine")
struct ContainerStateTests {
    @Test("docker's and podman's inspect lines, a HEALTHCHECK's verdict, exits and restarts")
    func parsing() {
        let docker = """
            /openclaw-trading-engine-1|running|0|0|healthy
            /openclaw-trading-worker-1|running|0|2|unhealthy
            /openclaw-trading-migrate-1|exited|1|0|
            """
        let states = ContainerState.parse(docker)
        #expect(states == [
            ContainerState(name: "openclaw-trading-engine-1", state: "running", health: "healthy"),
            ContainerState(name: "openclaw-trading-worker-1", state: "running", restarts: 2, health: "unhealthy"),
            ContainerState(name: "openclaw-trading-migrate-1", state: "exited", exitCode: 1),
        ])
        #expect(states.map(\.isUp) == [true, false, false])
        #expect(states.map(\.summary) == ["running (healthy)", "running but unhealthy after 2 restarts", "exited with 1"])
        // podman: no leading slash, and a warning line the engine may print is skipped.
        let podman = ContainerState.parse("sandbox-cs-1_app_1|running|0|0|\ntime=\"…\" level=warning msg=\"…\"\n")
        #expect(podman == [ContainerState(name: "sandbox-cs-1_app_1", state: "running")])
        #expect(podman[0].isUp)
    }

    @Test("the table of compose ps, in any front end's layout, is not read as containers")
    func composeTablesAreNotState() {
        let v1 = """
               Name                  Command               State    Ports
            ----------------------------------------------------------------
            sandbox-cs-1_app_1   /bin/sh /start   Up      127.0.0.11:18080->8080/tcp
            """
        let v2 = """
            NAME                        IMAGE          COMMAND          SERVICE   CREATED         STATUS         PORTS
            openclaw-trading-engine-1   trading:1.4    "/bin/engine"    engine    2 minutes ago   Up 2 minutes   8080/tcp
            """
        #expect(ContainerState.parse(v1).isEmpty && ContainerState.parse(v2).isEmpty)
    }

    @Test("every front end reads state through its engine: docker for docker compose and docker-compose, podman for both podman ones")
    func enginePerFrontEnd() {
        let commands: [([String], ContainerEngine)] = [
            (["docker", "compose"], .docker), (["docker-compose"], .docker), (["podman-compose"], .podman), (["podman", "compose"], .podman),
        ]
        for (command, engine) in commands {
            #expect(ComposeSettings(command: command).engine == engine, "\(command)")
            let host = ServiceHost(name: "h", address: "10.0.0.1", ssh: SSHSettings(user: "u", port: 22, identity: nil, knownHosts: "/dev/null"),
                                   repo: RepoSettings(path: "/srv/app"),
                                   compose: ComposeSettings(command: command, project: "app"),
                                   health: HealthSettings(url: try! HealthURL.parse("http://127.0.0.1:8080/health"), healthyAfter: 1),
                                   stateDir: "/var/lib/app")
            let line = HostCommands(service: "app", host: host).containerStates().rendered
            #expect(line.hasPrefix("ids=$( \(engine.rawValue) ps -aq --filter label=com.docker.compose.project=app )"), "\(line)")
            #expect(!line.contains(" ps\n") && !line.contains(command.joined(separator: " ") + " "), "\(line)")
        }
        // compose.engine wins over the default.
        #expect(ComposeSettings(command: ["docker", "compose"], engine: .podman).engine == .podman)
        #expect(ComposeFrontEnd(command: ["docker-compose"]).logsSince == false)
        #expect([["docker", "compose"], ["podman-compose"], ["podman", "compose"]].allSatisfy { ComposeFrontEnd(command: $0).logsSince })
    }
}
