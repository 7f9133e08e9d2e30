// Measures the SSH layer against OpenSSH's own client on a loopback sshd: figures are printed, not asserted.
import Foundation
import SSH
import TestSupport

let runs = 20
let fanOut = 100

func milliseconds(_ duration: Duration) -> Double { Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15 }

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func timed(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return milliseconds(ContinuousClock.now - start)
}

// MaxStartups is raised so that OpenSSH's client, which does not retry, is not measured on dropped starts.
let server = try SSHDServer.start(SSHDServer.Options(extraConfig: ["MaxStartups 200:30:300"]), name: "bench")
let knownHosts = try server.writeKnownHosts(to: server.directory + "/known_hosts")
let configuration = SSHConfiguration(host: server.host, port: server.port, user: server.user,
                                     authentication: .privateKey(path: server.userKey.privateKeyPath), knownHostsPath: knownHosts)
let sshOptions = ["-i", server.userKey.privateKeyPath, "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "GlobalKnownHostsFile=/dev/null",
                  "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-F", "/dev/null"]
let target = "\(server.user)@\(server.host)"

func libraryOnce() async throws {
    let connection = try await SSHConnection.connect(configuration)
    let result = try await connection.run("true", timeout: .seconds(30))
    precondition(result.exitStatus == 0, "true failed: \(result)")
    await connection.close()
}

func openSSHOnce() async throws {
    try await TestCommand.run("/usr/bin/ssh", sshOptions + ["-p", "\(server.port)", target, "true"])
}

// Warm-up: first connections pay for page-ins on both sides.
try await libraryOnce()
try await openSSHOnce()

var library: [Double] = [], openSSH: [Double] = []
for _ in 0..<runs {
    library.append(try await timed { try await libraryOnce() })
    openSSH.append(try await timed { try await openSSHOnce() })
}

let libraryFanOut = try await timed {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<fanOut { group.addTask { try await libraryOnce() } }
        try await group.waitForAll()
    }
}

var openSSHFailures = 0
let openSSHFanOut = try await timed {
    let children = try (0..<fanOut).map { _ in
        try ChildProcess.spawn("/usr/bin/ssh", sshOptions + ["-p", "\(server.port)", target, "true"])
    }
    for child in children where child.wait(timeout: .seconds(120)) != 0 { openSSHFailures += 1 }
}

let hostsFile = server.directory + "/pssh_hosts"
try String(repeating: "\(target):\(server.port)\n", count: fanOut).write(toFile: hostsFile, atomically: true, encoding: .utf8)
var psshNote = ""
let psshFanOut = try await timed {
    let output = try await offPool {
        try TestCommand.capture("/usr/bin/parallel-ssh", ["-h", hostsFile, "-p", "\(fanOut)", "-t", "120",
                                                          "-x", sshOptions.joined(separator: " "), "true"], timeout: .seconds(180))
    }
    if output.status != 0 { psshNote = " (exit \(output.status): \(output.stdout.components(separatedBy: "[FAILURE]").count - 1) failures)" }
}
server.stop()
try? FileManager.default.removeItem(atPath: server.directory)

func row(_ label: String, _ value: Double) -> String {
    label.padding(toLength: 58, withPad: " ", startingAt: 0) + String(format: "%9.1f ms", value)
}

let libraryMedian = median(library), openSSHMedian = median(openSSH)
print("SSH benchmark on loopback sshd (\(ProcessInfo.processInfo.activeProcessorCount) cores)")
print(row("connect+auth+exec `true`, median of \(runs), libssh2 layer", libraryMedian))
print(row("connect+auth+exec `true`, median of \(runs), OpenSSH ssh", openSSHMedian))
print(String(format: "  ratio library/ssh: %.2f", libraryMedian / openSSHMedian))
print(row("`true` on \(fanOut) connections at once, libssh2 layer", libraryFanOut))
print(row("`true` on \(fanOut) connections at once, \(fanOut) ssh processes", openSSHFanOut)
      + (openSSHFailures > 0 ? " (\(openSSHFailures) failed)" : ""))
print(row("`true` on \(fanOut) connections at once, parallel-ssh -p \(fanOut)", psshFanOut) + psshNote)
print(String(format: "  ratio library/ssh: %.2f   library/parallel-ssh: %.2f", libraryFanOut / openSSHFanOut, libraryFanOut / psshFanOut))
