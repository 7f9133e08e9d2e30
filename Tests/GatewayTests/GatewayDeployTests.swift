import Commands
import ShellWords
import Foundation
import Testing
import Inventory
import Engine
import TestSupport
@testable import Gateway
import Plan

/// `gateway deploy`/`rollback` and draining against a real nginx on loopback, driven through a local shell.
@Suite("Gateway deploy against a real nginx", .serialized)
struct GatewayDeployTests {
    /// A running nginx, a fleet inventory whose gateway config is that nginx's `conf.d/openclaw.conf` and whose
    /// template listens on a free loopback port.
    struct Gateway {
        let nginx: LoopbackNginx
        let port: Int
        let inventory: Inventory
        let transport: LocalShellTransport
        var configPath: String { inventory.gateway!.configPath }
        var deployer: GatewayDeployer { GatewayDeployer(gateway: inventory.gateway!, transport: transport) }

        init() throws {
            nginx = try LoopbackNginx.start(name: "gw-deploy")
            port = try LoopbackPort.free()
            let template = try String(contentsOfFile: SampleInventory.defaultTemplate, encoding: .utf8)
                .replacingOccurrences(of: "listen 80;", with: "listen 127.0.0.1:\(port);")
            let templatePath = nginx.directory + "/gateway.conf.mustache"
            try template.write(toFile: templatePath, atomically: true, encoding: .utf8)
            var inventory = SampleInventory.fleet(template: templatePath)
            inventory.gateway!.configPath = nginx.configDirectory + "/openclaw.conf"
            inventory.gateway!.accessLogPath = nginx.directory + "/openclaw-access.log"
            self.inventory = inventory
            transport = LocalShellTransport(path: nginx.binDirectory)
        }

        /// Stops nginx and removes its directory.
        func stop() {
            nginx.stop()
            try? FileManager.default.removeItem(atPath: nginx.directory)
        }

        func render(drained: [String: Set<String>] = [:]) throws -> String {
            try GatewayRenderer.render(inventory: inventory, state: GatewayState(drained: drained))
        }

        func onDisk(_ path: String? = nil) -> String? { try? String(contentsOfFile: path ?? configPath, encoding: .utf8) }

        func health() -> Int? { try? LoopbackHTTP.get(address: "127.0.0.1", port: port, path: "/health").status }

        /// Files beside the config other than the config and its kept previous copy.
        func leftovers() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: nginx.configDirectory)
                .filter { $0 != "openclaw.conf" && $0 != ".openclaw.conf.previous" }
        }
    }

    @Test("deploy puts the config in force (nginx answers /health); the same config again changes nothing")
    func deployAndUnchanged() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        #expect(gateway.health() == nil)
        let config = try gateway.render()
        #expect(try await gateway.deployer.deploy(config) == .installed(note: nil))
        #expect(gateway.onDisk() == config)
        #expect(gateway.health() == 200)
        #expect(try gateway.leftovers() == [])
        #expect(gateway.onDisk(GatewayCommands(configPath: gateway.configPath).previousPath) == nil, "nothing was there before")
        #expect(try await gateway.deployer.deploy(config) == .unchanged)
    }

    @Test("a config nginx rejects is refused and the previous one stays in force, on disk and running")
    func rejectedConfig() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        let good = try gateway.render()
        _ = try await gateway.deployer.deploy(good)
        let broken = good.replacingOccurrences(of: "keepalive 16;", with: "keepalive sixteen;")
        do {
            _ = try await gateway.deployer.deploy(broken)
            Issue.record("a config nginx rejects was deployed")
        } catch let error as GatewayError {
            guard case .configRejected(_, let output) = error else { throw error }
            #expect(output.contains("invalid value \"sixteen\""), "\(output)")
            #expect(!error.isInventoryProblem)
        }
        #expect(gateway.onDisk() == good)
        #expect(gateway.health() == 200)
        #expect(try gateway.leftovers() == [])
    }

    @Test("a failed reload (nginx not running) puts the previous file back")
    func failedReload() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        let good = try gateway.render()
        _ = try await gateway.deployer.deploy(good)
        gateway.nginx.stop()
        let drained = try gateway.render(drained: ["customer-service": ["lighthouse-a"]])
        await #expect(throws: GatewayError.self) { _ = try await gateway.deployer.deploy(drained) }
        do {
            _ = try await gateway.deployer.deploy(drained)
        } catch let error as GatewayError {
            guard case .reloadFailed = error else { throw error }
        }
        #expect(gateway.onDisk() == good)
        #expect(try gateway.leftovers() == [])
    }

    @Test("rollback puts the previous config back in force; a second rollback returns to the newer one")
    func rollback() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        await #expect(throws: GatewayError.noPreviousConfig(host: "gateway", path: GatewayCommands(configPath: gateway.configPath).previousPath)) {
            _ = try await gateway.deployer.rollback()
        }
        let first = try gateway.render()
        let second = try gateway.render(drained: ["trading": ["trade-a"]])
        _ = try await gateway.deployer.deploy(first)
        _ = try await gateway.deployer.deploy(second)
        #expect(gateway.onDisk() == second)
        #expect(try await gateway.deployer.rollback() == .installed(note: nil))
        #expect(gateway.onDisk() == first)
        #expect(gateway.health() == 200)
        _ = try await gateway.deployer.rollback()
        #expect(gateway.onDisk() == second)
    }

    @Test("draining marks a host down and back, never takes the last host out, and finish puts every host back")
    func draining() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        let drainer = try GatewayDrainer(inventory: gateway.inventory, factory: gateway.transport, settleSeconds: 2)
        let down = "max_fails=3 fail_timeout=10s down;  # "

        #expect(try await drainer.drain(service: "customer-service", host: "lighthouse-a") == "marked down in openclaw_customer_service")
        #expect(gateway.onDisk()?.contains(down + "lighthouse-a\n") == true)
        #expect(gateway.onDisk()?.contains(down + "lighthouse-a2") == false)
        #expect(gateway.health() == 200)

        let kept = try await drainer.drain(service: "customer-service", host: "lighthouse-a2")
        #expect(kept == "kept in openclaw_customer_service: no other host of customer-service is in rotation")
        #expect(gateway.onDisk()?.contains(down + "lighthouse-a2") == false)

        #expect(try await drainer.restore(service: "customer-service", host: "lighthouse-a") == "back in openclaw_customer_service")
        #expect(gateway.onDisk()?.contains(" down;") == false)
        #expect(try await drainer.drain(service: "internal-tools", host: "tools-1") == "not behind the gateway")

        _ = try await drainer.drain(service: "trading", host: "trade-b")
        #expect(gateway.onDisk()?.contains(down + "trade-b") == true)
        #expect(await drainer.finish() == [])
        #expect(gateway.onDisk()?.contains(" down;") == false)
        #expect(gateway.onDisk(GatewayCommands(configPath: gateway.configPath).previousPath) == nil,
                "draining never replaces the copy kept for `gateway rollback`")
    }

    @Test("a drain and a restore send the gateway host the plan's gateway steps, late values filled in, and nothing else")
    func drainingRunsThePlansCommands() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        let plan = Planner.gatewayPlan(gateway: gateway.inventory.gateway!, services: ["customer-service"], settleSeconds: 1)
        let drainer = try GatewayDrainer(inventory: gateway.inventory, plan: plan, factory: gateway.transport)
        #expect(try await drainer.drain(service: "customer-service", host: "lighthouse-a") == "marked down in openclaw_customer_service")
        #expect(try await drainer.restore(service: "customer-service", host: "lighthouse-a") == "back in openclaw_customer_service")
        // A service the plan does not drain is not sent anything.
        #expect(try await drainer.drain(service: "trading", host: "trade-b") == "not behind the gateway")
        #expect(await drainer.finish() == [])

        let change = [plan.drainLock, plan.readDrained, plan.writeDrained, plan.touchDrainLock, plan.uploadConfig, plan.installConfig,
                      plan.drainUnlock]
        let expected = change + change
        let sent = gateway.transport.history
        #expect(sent.count == expected.count, "sent:\n\(sent.joined(separator: "\n"))")
        for (line, step) in zip(sent, expected) {
            #expect(Self.matches(line, step.command.rendered), "\(step.kind.rawValue):\nran:     \(line)\nplanned: \(step.command.rendered)")
        }
        // The config went up with its real size, and the drained set named the host.
        #expect(sent[2].contains("customer-service lighthouse-a"))
        #expect(!sent[5].contains("<config bytes>") && !sent[4].contains("<config chunk>"))
    }

    @Test("maintenance: the route answers 503 with Retry-After and the page, other routes do not; a drain keeps it; off ends it")
    func maintenance() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        _ = try await gateway.deployer.deploy(try gateway.render())
        let plan = Planner.gatewayPlan(gateway: gateway.inventory.gateway!, services: ["customer-service"], settleSeconds: 1)
        let editor = GatewayStateEditor(inventory: gateway.inventory, plan: plan, deployer: gateway.deployer)
        func get(_ path: String) throws -> LoopbackHTTP.Response {
            try LoopbackHTTP.get(address: "127.0.0.1", port: gateway.port, path: path, timeout: .seconds(15))
        }
        let tradingBefore = try get("/api/trading/x").status
        // `$HOME` would be an unknown nginx variable (nginx -t fails), the tags would be markup, the quote would end
        // the directive's string.
        let message = "Back at 3 <b>UTC</b>, \"promise\" \\ $HOME"
        let entry = GatewayState.Maintenance(retryAfterSeconds: 120, since: "2026-12-07T03:00:00Z", setBy: "ops", message: message)
        _ = try await editor.change { $0.maintenance["customer-service"] = entry }

        let page = try get("/api/customer/v1/chat")
        #expect(page.status == 503)
        #expect(page.headers["retry-after"] == "120")
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true, "\(page.headers)")
        #expect(page.body.contains("Back at 3 &lt;b&gt;UTC&lt;/b&gt;, &quot;promise&quot; \\ &#36;HOME"), "\(page.body)")
        #expect(try get("/api/trading/x").status == tradingBefore, "another route is untouched")
        #expect(try get("/health").status == 200)
        let shared = try String(contentsOfFile: GatewayCommands(configPath: gateway.configPath).maintenancePath, encoding: .utf8)
        #expect(shared == "customer-service\t120\t2026-12-07T03:00:00Z\tops\t\(message)\n")

        // A rollout's drain renders from the whole state: the maintenance stays on.
        let drainer = try GatewayDrainer(inventory: gateway.inventory, plan: plan, factory: gateway.transport)
        _ = try await drainer.drain(service: "customer-service", host: "lighthouse-a")
        #expect(gateway.onDisk()?.contains(" down;  # lighthouse-a\n") == true)
        #expect(try get("/api/customer/v1/chat").status == 503)
        #expect(await drainer.finish() == [])
        #expect(try get("/api/customer/v1/chat").status == 503)

        _ = try await editor.change { $0.maintenance["customer-service"] = nil }
        #expect(try get("/api/customer/v1/chat").status != 503)
        #expect(gateway.onDisk() == (try gateway.render()))
        #expect((try? String(contentsOfFile: GatewayCommands(configPath: gateway.configPath).maintenancePath, encoding: .utf8)) == "")
    }

    @Test("every routed request is one JSON line in gateway.access_log, as the traffic judge reads it")
    func accessLog() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        _ = try await gateway.deployer.deploy(try gateway.render())
        let answer = try LoopbackHTTP.get(address: "127.0.0.1", port: gateway.port, path: "/api/trading/v1/quote", timeout: .seconds(15))
        _ = try LoopbackHTTP.get(address: "127.0.0.1", port: gateway.port, path: "/health")
        var lines: [AccessLogLine] = []
        for _ in 0..<50 where lines.isEmpty {
            lines = AccessLogLine.parse((try? String(contentsOfFile: gateway.inventory.gateway!.accessLogPath, encoding: .utf8)) ?? "")
            usleep(20_000)
        }
        // The gateway's own /health is not a routed request.
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.service == "trading" && lines.first?.status == answer.status, "\(lines)")
        #expect(lines.first?.upstream?.hasSuffix(":9090") == true, "the address that answered last: \(lines)")
    }

    @Test("a maintenance the gateway cannot put in force leaves the state file as it was")
    func maintenanceRefused() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        _ = try await gateway.deployer.deploy(try gateway.render())
        let plan = Planner.gatewayPlan(gateway: gateway.inventory.gateway!, services: [], settleSeconds: 1)
        let editor = GatewayStateEditor(inventory: gateway.inventory, plan: plan, deployer: gateway.deployer)
        let before = gateway.onDisk()
        // nginx stopped: the reload fails, the config and the state go back.
        gateway.nginx.stop()
        let entry = GatewayState.Maintenance(retryAfterSeconds: 60, since: "2026-12-07T03:00:00Z", setBy: "ops", message: "later")
        await #expect(throws: GatewayError.self) { _ = try await editor.change { $0.maintenance["trading"] = entry } }
        #expect(gateway.onDisk() == before)
        let shared = try? String(contentsOfFile: GatewayCommands(configPath: gateway.configPath).maintenancePath, encoding: .utf8)
        #expect(shared == nil || shared == "", "the state file says what is in force: \(shared ?? "")")
    }

    /// Whether `line` is `planned` with each `<late value>` replaced by something.
    static func matches(_ line: String, _ planned: String) -> Bool {
        let parts = planned.split(separator: try! Regex("<[a-z][a-z ]*>"), omittingEmptySubsequences: false)
        let pattern = "(?s)^" + parts.map { NSRegularExpression.escapedPattern(for: String($0)) }.joined(separator: ".+") + "$"
        return line.range(of: pattern, options: .regularExpression) != nil
    }

    @Test("two rollouts through one gateway share its drained set: neither puts the other's drained host back")
    func sharedDrains() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        // Two runs, as two operators' processes would be: separate drainers, one gateway host.
        let first = try GatewayDrainer(inventory: gateway.inventory, factory: gateway.transport, settleSeconds: 1)
        let second = try GatewayDrainer(inventory: gateway.inventory, factory: gateway.transport, settleSeconds: 1)
        let down = "max_fails=3 fail_timeout=10s down;  # "
        let commands = GatewayCommands(configPath: gateway.configPath)

        _ = try await first.drain(service: "customer-service", host: "lighthouse-a")
        _ = try await second.drain(service: "trading", host: "trade-b")
        #expect(gateway.onDisk()?.contains(down + "lighthouse-a\n") == true && gateway.onDisk()?.contains(down + "trade-b") == true)
        #expect(gateway.onDisk(commands.drainedPath) == "customer-service lighthouse-a\ntrading trade-b\n")

        // The first run's restore keeps the second run's host down, and the other way round.
        _ = try await first.restore(service: "customer-service", host: "lighthouse-a")
        #expect(gateway.onDisk()?.contains(down + "lighthouse-a") == false && gateway.onDisk()?.contains(down + "trade-b") == true)
        _ = try await first.drain(service: "customer-service", host: "lighthouse-a2")
        #expect(await second.finish() == [])
        #expect(gateway.onDisk()?.contains(down + "trade-b") == false && gateway.onDisk()?.contains(down + "lighthouse-a2") == true)
        #expect(await first.finish() == [])
        #expect(gateway.onDisk()?.contains(" down;") == false)
        #expect(gateway.onDisk(commands.drainedPath) == "")
        #expect(!FileManager.default.fileExists(atPath: commands.drainLockPath), "every change released the drain lock")
    }

    @Test("the drain lock: one holder at a time, a stale one is taken over, only the holder's token releases it")
    func drainLock() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        let commands = GatewayCommands(configPath: gateway.configPath)
        let shell = gateway.transport
        // With the default 10-minute command timeout a live change may hold it over half an hour.
        let stale = GatewayCommands.drainLockStaleMinutes(commandTimeout: .seconds(600), settleSeconds: 10)
        #expect(stale == 32)
        #expect(GatewayCommands.drainLockStaleMinutes(commandTimeout: .seconds(5), settleSeconds: 1) == 2)
        #expect(try await shell.run(commands.takeDrainLock(token: .arg("aa"), staleMinutes: stale).rendered, timeout: .seconds(5)).exitStatus == 0)
        #expect(try await shell.run(commands.takeDrainLock(token: .arg("bb"), staleMinutes: stale).rendered, timeout: .seconds(5)).exitStatus == 3)
        _ = try await shell.run(commands.releaseDrainLock(token: .arg("bb")).rendered, timeout: .seconds(5))
        #expect(FileManager.default.fileExists(atPath: commands.drainLockPath), "another token does not release it")
        // Held for five minutes by a change whose steps may each run ten: still live.
        _ = try await shell.run("touch -d '5 minutes ago' \(ShellQuote.quote(commands.drainLockPath))", timeout: .seconds(5))
        #expect(try await shell.run(commands.takeDrainLock(token: .arg("bb"), staleMinutes: stale).rendered, timeout: .seconds(5)).exitStatus == 3)
        // Its holder touches it before a step; another token's touch changes nothing.
        _ = try await shell.run(commands.touchDrainLock(token: .arg("bb")).rendered, timeout: .seconds(5))
        #expect(try await shell.run("find \(ShellQuote.quote(commands.drainLockPath)) -maxdepth 0 -mmin +4", timeout: .seconds(5)).stdout != "")
        _ = try await shell.run(commands.touchDrainLock(token: .arg("aa")).rendered, timeout: .seconds(5))
        #expect(try await shell.run("find \(ShellQuote.quote(commands.drainLockPath)) -maxdepth 0 -mmin +4", timeout: .seconds(5)).stdout == "")
        // Left by a run that died 33 minutes ago: stale, taken over.
        _ = try await shell.run("touch -d '33 minutes ago' \(ShellQuote.quote(commands.drainLockPath))", timeout: .seconds(5))
        #expect(try await shell.run(commands.takeDrainLock(token: .arg("bb"), staleMinutes: stale).rendered, timeout: .seconds(5)).exitStatus == 0)
        _ = try await shell.run(commands.releaseDrainLock(token: .arg("bb")).rendered, timeout: .seconds(5))
        #expect(!FileManager.default.fileExists(atPath: commands.drainLockPath))

        // A drainer waits for the holder, boundedly, and says why it gave up.
        #expect(try await shell.run(commands.takeDrainLock(token: .arg("cc"), staleMinutes: stale).rendered, timeout: .seconds(5)).exitStatus == 0)
        let drainer = try GatewayDrainer(inventory: gateway.inventory, factory: gateway.transport, settleSeconds: 1, lockWait: .milliseconds(500))
        await #expect(throws: GatewayError.self) { _ = try await drainer.drain(service: "trading", host: "trade-a") }
        #expect(await drainer.drainedHosts == [:])
    }

    @Test("a drain the gateway refuses fails, and the host stays in rotation")
    func refusedDrain() async throws {
        let gateway = try Gateway()
        defer { gateway.stop() }
        let drainer = try GatewayDrainer(inventory: gateway.inventory, factory: gateway.transport)
        gateway.nginx.stop()
        await #expect(throws: GatewayError.self) { _ = try await drainer.drain(service: "trading", host: "trade-a") }
        #expect(await drainer.drainedHosts == [:])
    }
}

@Suite("Gateway remote commands")
struct GatewayCommandsTests {
    let commands = GatewayCommands(configPath: "/etc/nginx/conf.d/openclaw.conf")

    @Test("temporary, backup and previous files sit beside the config, hidden from include globs")
    func paths() {
        #expect(commands.incomingPath == "/etc/nginx/conf.d/.openclaw.conf.new")
        #expect(commands.backupPath == "/etc/nginx/conf.d/.openclaw.conf.backup")
        #expect(commands.previousPath == "/etc/nginx/conf.d/.openclaw.conf.previous")
        #expect(GatewayCommands(configPath: "~/nginx/gw.conf").incomingPath == "~/nginx/.gw.conf.new")
    }

    @Test("exact command lines")
    func golden() {
        #expect(commands.readCurrent().rendered
                == "if [ -f /etc/nginx/conf.d/openclaw.conf ]; then cat /etc/nginx/conf.d/openclaw.conf ; else exit 3; fi")
        #expect(commands.upload("a 'b'\n").map(\.rendered)
                == ["umask 022 && printf %s 'a '\\''b'\\''\n' > /etc/nginx/conf.d/.openclaw.conf.new"])
        let install = commands.install(expectedBytes: .arg("42"), keepPrevious: true, settleSeconds: 5).rendered
        #expect(install.hasPrefix("sh -c '"))
        #expect(install.hasSuffix("' sh /etc/nginx/conf.d/openclaw.conf /etc/nginx/conf.d/.openclaw.conf.new "
                                  + "/etc/nginx/conf.d/.openclaw.conf.backup /etc/nginx/conf.d/.openclaw.conf.previous 42 1 50"))
    }

    @Test("a large config is uploaded in several commands that put back exactly the same bytes")
    func chunkedUpload() async throws {
        let directory = try TemporaryDirectory.make(prefix: "gw-upload")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let commands = GatewayCommands(configPath: directory + "/openclaw.conf")
        let line = "    server 203.0.113.10:8080 max_fails=3; # 'quoted' \"double\" $var é\n"
        let config = String(repeating: line, count: 1500)
        let upload = commands.upload(config)
        #expect(upload.count > 2)
        let shell = LocalShellTransport(path: "/usr/bin")
        for command in upload {
            #expect(try await shell.run(command.rendered, timeout: .seconds(10)).succeeded)
        }
        #expect(try String(contentsOfFile: commands.incomingPath, encoding: .utf8) == config)
    }
}
