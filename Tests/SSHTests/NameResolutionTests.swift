import Foundation
import Testing
@testable import SSH

/// Name resolution is bounded by the connect timeout like the rest of the connect.
@Suite("name resolution within the connect deadline")
struct NameResolutionTests {
    @Test func aLookupThatHangsEndsTheConnectAtItsDeadline() throws {
        let finished = CancelFlag()
        let slow: TCPConnector.Resolver = { _, _ in
            Thread.sleep(forTimeInterval: 3)
            finished.set()
            return (EAI_AGAIN, nil)
        }
        #expect(throws: SSHError.self) {
            do {
                _ = try TCPConnector.connect(host: "slow.example", port: 22, deadline: Deadline(after: .milliseconds(300)),
                                             endpoint: "slow.example:22", resolver: slow)
            } catch let error as SSHError {
                guard case .connectTimedOut(_, let stage, _) = error else {
                    Issue.record("expected a connect timeout, got \(error)")
                    throw error
                }
                #expect(stage == "name resolution")
                throw error
            }
        }
        // It gave up while the lookup still ran.
        let lookupEnded = finished.isSet
        #expect(!lookupEnded)
    }

    @Test func aLookupThatFailsSaysWhy() {
        let failing: TCPConnector.Resolver = { _, _ in (EAI_NONAME, nil) }
        #expect(throws: SSHError.cannotResolve(endpoint: "nope.example:22", reason: String(cString: gai_strerror(EAI_NONAME)))) {
            _ = try TCPConnector.connect(host: "nope.example", port: 22, deadline: Deadline(after: .seconds(5)),
                                         endpoint: "nope.example:22", resolver: failing)
        }
    }
}
