import Foundation

/// Appends host keys to a known_hosts file safely while many connections do the same (`flock`).
struct KnownHostsAppender {
    let path: String

    /// Takes the file lock, re-reads the file, and appends `line` only when `decide` still says the key is
    /// unknown. Returns what `decide` said.
    func append(line: String, decide: (KnownHostsFile) -> HostKeyVerifier.Verdict) throws -> HostKeyVerifier.Verdict {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw SSHError.cannotRecordHostKey(path: path, reason: error.localizedDescription)
            }
        }
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SSHError.cannotRecordHostKey(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        try lock(fd)
        defer { flock(fd, LOCK_UN) }

        let current = try KnownHostsFile.load(path: path)
        let verdict = decide(current)
        guard verdict == .unknown else { return verdict }
        var text = line + "\n"
        if let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, size > 0,
           !endsWithNewline(fd: fd, size: size) {
            text = "\n" + text
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw SSHError.cannotRecordHostKey(path: path, reason: String(cString: strerror(errno)))
        }
        return verdict
    }

    /// Waits for the lock for at most 5 s: holders only append one line, so a longer wait means a stuck process.
    private func lock(_ fd: Int32) throws {
        let deadline = Deadline(after: .seconds(5))
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, !deadline.hasPassed else {
                throw SSHError.cannotRecordHostKey(path: path, reason: "the file stayed locked by another process for 5 s")
            }
            usleep(2_000)
        }
    }

    private func endsWithNewline(fd: Int32, size: Int) -> Bool {
        var last: UInt8 = 0
        return pread(fd, &last, 1, off_t(size - 1)) == 1 && last == UInt8(ascii: "\n")
    }
}
