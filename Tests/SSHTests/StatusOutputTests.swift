import Commands
@testable import DeployCLI
import Foundation
import Plan
@testable import Engine
@testable import Fleet
import Testing

/// `status`'s table, notes and JSON for a container its own HEALTHCHECK calls unhealthy (the sandbox's images have
/// none, so the end-to-end tests cannot show it). Here beside the SSH tests because this target links the CLI.
@Suite("status output: the engine's health verdict")
struct StatusOutputTests {
    let row = HostStatus(service: "customer-service", host: "cs-1", address: "127.0.0.11", reachable: true, error: nil,
                         revision: "0123456789abcdef0123456789abcdef01234567",
                         containerStates: [ContainerState(name: "cs-web-1", state: "running", health: "healthy"),
                                           ContainerState(name: "cs-worker-1", state: "running", restarts: 2, health: "unhealthy")],
                         containerError: nil, healthStatus: 200, healthError: nil, lock: nil, lockStale: nil, interrupted: nil,
                         sizeWarning: nil)

    @Test("an unhealthy container is not up: the table counts it, a note names it, JSON says its health, the host is not sound")
    func unhealthyContainer() throws {
        #expect(!row.isSound)
        let table = StatusCommand.table([row], palette: Palette(enabled: false))
        #expect(table.contains("1/2 up, 1 unhealthy"), "\(table)")
        let notes = StatusCommand.notes([row])
        #expect(notes.contains("container cs-worker-1 is running but unhealthy after 2 restarts"), "\(notes)")
        let json = StatusCommand.document([row]).compact
        #expect(json.contains(#"{"name":"cs-worker-1","state":"running","exit_code":0,"restarts":2,"health":"unhealthy","up":false}"#), "\(json)")
        #expect(json.contains(#""containers":2,"up":1"#), "\(json)")
    }
}

@Suite("text output: counts in words")
struct CountWordsTests {
    @Test("one healthy answer, three healthy answers, and each host's when they differ")
    func healthyAnswerCounts() {
        #expect(healthyAnswers(HostValues([("a", 1), ("b", 1)])) == "1 healthy answer")
        #expect(healthyAnswers(HostValues([("a", 3)])) == "3 healthy answers")
        #expect(healthyAnswers(HostValues([("a", 3), ("b", 50)])) == "healthy answers a: 3, b: 50")
    }
}
