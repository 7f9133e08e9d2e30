import Commands
import Foundation
import Inventory
import Plan
@testable import Engine
import Testing

/// The one state each host moves through: its events, its row and what a second Ctrl-C prints all come from it.
@Suite("HostTrack: one state machine per host")
struct HostTrackTests {
    private static func track() -> (HostTrack, EventLog) {
        let events = EventLog()
        let monitor = RolloutMonitor()
        return (monitor.register(service: "svc", hosts: ["h1"], sink: events)[0], events)
    }

    private static func names(_ events: EventLog) -> [String] { events.names }

    @Test func aHostThatChangesAndPassesReportsStartedThenSucceededOnceAndItsRowComesFromItsState() {
        let (track, events) = Self.track()
        track.reached(oldCommit)
        track.started(batch: 1, target: newCommit)
        track.changing()
        #expect(track.state == .changing(previous: oldCommit, target: newCommit))
        track.succeeded()
        // A second success, or one of a host that is not changing, is no move: nothing more is reported.
        track.succeeded()
        track.unchanged()
        #expect(Self.names(events) == ["host_started", "host_succeeded"])
        #expect(track.state == .onTarget(previous: oldCommit, target: newCommit))
        let row = track.outcome
        #expect(row.result == .succeeded && row.from == oldCommit && row.to == newCommit && row.revision == newCommit)
        #expect(row.failedStep == nil && row.reason == nil)
    }

    @Test func theFirstFailureIsTheHostsCauseThroughItsPutBack() {
        let (track, events) = Self.track()
        track.reached(oldCommit)
        track.started(batch: 1, target: newCommit)
        track.changing()
        track.fail(StepName(.composeUp), "exit 1")
        track.fail(StepName(.healthGate), "a later one")
        track.puttingBack()
        track.putBackStepDone(.checkout)
        track.rolledBack()
        #expect(Self.names(events) == ["host_started", "host_failed", "host_failed", "host_rolled_back"])
        if case .hostFailed(let failure) = events.all[1].payload { #expect(failure.changed) } else { Issue.record("no host_failed") }
        let row = track.outcome
        #expect(row.result == .rolledBack && row.revision == oldCommit && row.to == newCommit)
        #expect(row.failedStep == StepName(.composeUp) && row.reason == "exit 1")
        // Ended, the host takes no other failure and reports none.
        track.fail(StepName(.traffic), "too late")
        #expect(events.all.count == 4)
        #expect(track.outcome.failedStep == StepName(.composeUp))
    }

    @Test func aFailureBeforeAnyChangeEndsTheHostFailedOnItsRevision() {
        let (track, events) = Self.track()
        track.reached(oldCommit)
        track.started(batch: 1, target: newCommit)
        track.fail(StepName(.gatewayDrain), "nginx -t failed")
        // Not changed: there is nothing to put back.
        track.puttingBack()
        track.rolledBack()
        #expect(Self.names(events) == ["host_started", "host_failed"])
        if case .hostFailed(let failure) = events.all[1].payload { #expect(!failure.changed) } else { Issue.record("no host_failed") }
        #expect(track.state == .failed(revision: oldCommit))
        let row = track.outcome
        #expect(row.result == .failed && row.revision == oldCommit && row.failedStep == StepName(.gatewayDrain))
    }

    @Test func aHostPutBackAfterItsBatchIsTimedFromItsPutBackAndAFailedPutBackNamesItsStep() {
        let (track, _) = Self.track()
        track.reached(oldCommit)
        track.started(batch: 1, target: newCommit)
        track.changing()
        track.succeeded()
        track.puttingBack()
        #expect(track.state.needsAttention)
        track.rollbackFailed(StepName(.composeUp, .putBack), "putting it back failed at compose_up: exit 1")
        let row = track.outcome
        #expect(row.result == .rollbackFailed && row.revision == nil)
        #expect(row.failedStep == StepName(.composeUp, .putBack))
    }

    @Test func stoppedAtOnceTheRowIsWhatTheStateLastWas() {
        let (changing, _) = Self.track()
        changing.reached(oldCommit)
        changing.started(batch: 1, target: newCommit)
        changing.changing()
        let row = changing.outcomeAfterAbort
        #expect(row.result == .interrupted && row.from == oldCommit && row.to == newCommit && row.revision == nil)
        #expect(row.reason?.hasPrefix("stopped at once by a second Ctrl-C; was being changed") == true)

        let (puttingBack, _) = Self.track()
        puttingBack.reached(oldCommit)
        puttingBack.started(batch: 1, target: newCommit)
        puttingBack.changing()
        puttingBack.fail(StepName(.healthGate), "unhealthy")
        puttingBack.puttingBack()
        puttingBack.putBackStepDone(.checkout)
        // What it last saw: the checkout finished.
        #expect(puttingBack.outcomeAfterAbort.result == .interrupted)
        #expect(puttingBack.outcomeAfterAbort.revision == oldCommit)

        let (waiting, _) = Self.track()
        waiting.reached(oldCommit)
        #expect(waiting.outcomeAfterAbort.result == .notStarted && waiting.outcomeAfterAbort.revision == oldCommit)
    }

    @Test func aLostLeaseLeavesAChangedHostAsItIsWithWhy() {
        let (track, events) = Self.track()
        track.reached(oldCommit)
        track.started(batch: 1, target: newCommit)
        track.changing()
        track.leftChanged(at: StepName(.lockRefresh), "the lock was taken over")
        #expect(Self.names(events) == ["host_started"])
        let row = track.outcome
        #expect(row.result == .interrupted && row.failedStep == StepName(.lockRefresh))
        #expect(row.reason == "left as it was, neither verified nor put back: the lock was taken over")
        #expect(track.state.needsAttention)
    }

    @Test func theEnvironmentDigestIsToldOnceWithWhatWasFoundOrWhyNot() {
        let (track, events) = Self.track()
        // Nothing read, nothing to tell.
        track.reportEnvironment("not compared: the host did not start")
        #expect(events.all.isEmpty)
        track.environmentRead(EnvironmentRead(digest: "abc", elapsed: .milliseconds(40)))
        track.reportEnvironment("same environment")
        track.reportEnvironment("not compared: the host did not start")
        let told = events.all.compactMap { event -> StepReport? in
            if case .step(let report) = event.payload, report.step == .envDigest { return report }
            return nil
        }
        #expect(told.map(\.detail) == ["same environment"])
        #expect(told.first?.elapsed == .milliseconds(40) && told.first?.together == true)
    }
}
