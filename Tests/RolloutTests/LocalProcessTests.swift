import Foundation
import Plan
import Engine
import Testing
import TestSupport

/// SPEC "Local processes": hooks and `from_command` run in a process group of their own with default signal
/// handling, end when their process exits, and are stopped as a group past their deadline.
@Suite("Local processes")
struct LocalProcessTests {
    static func temporaryFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("local-process-\(UUID().uuidString)").path
    }

    @Test("a command that leaves a background process ends when its own process exits, not when the background one does")
    func aBackgroundChildHoldsNothing() throws {
        let pidFile = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let start = ContinuousClock.now
        // The background sleep keeps stdout and stderr open: a reader that waits for their end waits 300 s
        // (bounded here by the 60 s timeout, which would throw).
        let output = try ChildProcess.capture("/bin/sh", ["-c", "sleep 300 & echo $! > \(pidFile); echo notified"], timeout: .seconds(60))
        let elapsed = ContinuousClock.now - start
        #expect(output.status == 0)
        #expect(output.stdout == "notified\n")
        #expect(elapsed < .seconds(30), "took \(elapsed)")
        // The background process is its own affair: it is still there, and is ended here by the test.
        let pid = Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(kill(pid, 0) == 0)
        kill(pid, SIGKILL)
    }

    @Test("a background process that goes on writing does not keep the command from ending")
    func aBackgroundWriterHoldsNothing() throws {
        let groupFile = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: groupFile) }
        let output = try ChildProcess.capture("/bin/sh", ["-c", "\(ProcessGroups.record(to: groupFile)); yes & exit 0"], timeout: .seconds(60))
        #expect(output.status == 0)
        // It was still writing when the command ended: the test ends it.
        let (_, group) = try ProcessGroups.recorded(groupFile)
        kill(-group, SIGKILL)
    }

    @Test("past its deadline the whole process group is stopped: no process of it is left alive")
    func aTimedOutCommandLeavesNoProcessOfItsGroup() throws {
        let groupFile = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: groupFile) }
        // `sh` leads the group (its pid is the group's id); one child ignores SIGTERM, so SIGKILL must follow.
        let script = "\(ProcessGroups.record(to: groupFile)); sleep 300 & (trap '' TERM; sleep 300) & sleep 300"
        #expect {
            _ = try ChildProcess.capture("/bin/sh", ["-c", script], timeout: .seconds(1))
        } throws: { error in
            (error as? ChildProcess.Failed)?.timedOut == true
        }
        let (pid, group) = try ProcessGroups.recorded(groupFile)
        #expect(pid == group, "the command does not lead a process group of its own")
        #expect(ProcessGroups.alive(group).isEmpty, "left alive: \(ProcessGroups.alive(group))")
    }

    @Test("a child starts with no signal blocked or ignored, whatever the spawning thread blocks", arguments: [false, true])
    func childrenStartWithDefaultSignalHandling(fromBlockingThread: Bool) throws {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGHUP, SIGINT, SIGTERM] { sigaddset(&blocked, signal) }
        var previous = sigset_t()
        if fromBlockingThread { pthread_sigmask(SIG_BLOCK, &blocked, &previous) }
        let previousPipe = signal(SIGPIPE, SIG_IGN)
        defer {
            if fromBlockingThread { pthread_sigmask(SIG_SETMASK, &previous, nil) }
            signal(SIGPIPE, previousPipe)
        }
        let output = try ChildProcess.capture("/bin/grep", ["-E", "^Sig(Blk|Ign):", "/proc/self/status"], timeout: .seconds(30))
        let masks = Dictionary(uniqueKeysWithValues: output.stdout.split(separator: "\n").map { line in
            let parts = line.split(separator: ":")
            return (String(parts[0]), UInt64(parts[1].trimmingCharacters(in: .whitespaces), radix: 16) ?? .max)
        })
        #expect(masks["SigBlk"] == 0, "\(output.stdout)")
        // Signals 1-31 at their default disposition (glibc keeps its own real-time signals 32 and 33 to itself).
        #expect(masks["SigIgn"].map { $0 & 0x7FFF_FFFF } == 0, "\(output.stdout)")
    }

    @Test("at most 64 KiB of each stream is kept; the rest is counted")
    func outputIsCapped() throws {
        let output = try ChildProcess.capture("/bin/sh", ["-c", "head -c 200000 /dev/zero; head -c 70000 /dev/zero >&2"],
                                              timeout: .seconds(30))
        #expect(output.stdoutBytes.count == 65536 && output.stdoutDropped == 200000 - 65536)
        #expect(output.stderrBytes.count == 65536 && output.stderrDropped == 70000 - 65536)
    }

    @Test("cancelling the task that waits for a command stops its process group")
    func cancellingStopsTheGroup() async throws {
        let groupFile = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: groupFile) }
        let task = Task {
            try await ChildProcess.capture("/bin/sh", ["-c", "\(ProcessGroups.record(to: groupFile)); sleep 300 & sleep 300"], timeout: .seconds(600))
        }
        var leader: (pid: Int32, group: Int32)?
        for _ in 0..<500 where leader == nil {
            try await Task.sleep(for: .milliseconds(20))
            leader = try? ProcessGroups.recorded(groupFile)
        }
        let (pid, group) = try #require(leader)
        #expect(pid == group)
        task.cancel()
        await #expect(throws: ChildProcess.Failed.self) { try await task.value }
        #expect(ProcessGroups.alive(group).isEmpty, "left alive: \(ProcessGroups.alive(group))")
    }
}
