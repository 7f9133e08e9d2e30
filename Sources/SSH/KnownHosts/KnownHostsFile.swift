import Foundation

/// One line of an OpenSSH known_hosts file.
struct KnownHostsEntry: Sendable, Equatable {
    enum Marker: Sendable, Equatable { case none, revoked, certAuthority }

    var marker: Marker
    var hosts: HostPatternList
    var keyType: String
    var keyBlob: [UInt8]
    var line: Int
}

/// A parsed known_hosts file. Every line is checked: one that cannot be parsed is an error naming its
/// line number, never skipped, because a skipped line could have been a `@revoked` entry.
struct KnownHostsFile: Sendable {
    let path: String
    let entries: [KnownHostsEntry]

    /// A missing file holds no entries (accept-new creates it).
    static func load(path: String) throws -> KnownHostsFile {
        guard FileManager.default.fileExists(atPath: path) else { return KnownHostsFile(path: path, entries: []) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SSHError.knownHostsUnreadable(path: path, reason: error.localizedDescription)
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    static func parse(_ text: String, path: String) throws -> KnownHostsFile {
        var entries: [KnownHostsEntry] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") { continue }
            do { entries.append(try parseLine(line, number: index + 1)) } catch let problem as LineProblem {
                throw SSHError.knownHostsMalformed(path: path, line: index + 1, reason: problem.reason)
            }
        }
        return KnownHostsFile(path: path, entries: entries)
    }

    private static func parseLine(_ line: String, number: Int) throws -> KnownHostsEntry {
        var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        var marker = KnownHostsEntry.Marker.none
        if let first = fields.first, first.hasPrefix("@") {
            switch first {
            case "@revoked": marker = .revoked
            case "@cert-authority": marker = .certAuthority
            default: throw LineProblem(reason: "unknown marker \(first); expected @revoked or @cert-authority")
            }
            fields.removeFirst()
        }
        guard fields.count >= 3 else {
            throw LineProblem(reason: "expected host patterns, key type and base64 key")
        }
        let hosts = try HostPatternList(fields[0])
        guard let blobData = Data(base64Encoded: fields[2]) else {
            throw LineProblem(reason: "key is not valid base64")
        }
        let blob = [UInt8](blobData)
        guard let embeddedType = SSHWire.keyType(ofBlob: blob), embeddedType == fields[1] else {
            throw LineProblem(reason: "key data does not hold a \(fields[1]) key")
        }
        return KnownHostsEntry(marker: marker, hosts: hosts, keyType: fields[1], keyBlob: blob, line: number)
    }
}

private struct LineProblem: Error { let reason: String }

extension HostPatternList {
    fileprivate init(_ field: String) throws {
        if field.hasPrefix("|") {
            let parts = field.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 4, parts[1] == "1",
                  let salt = Data(base64Encoded: String(parts[2])), let hash = Data(base64Encoded: String(parts[3])),
                  hash.count == 20
            else { throw LineProblem(reason: "hashed host field is not of the form |1|salt|hash") }
            self = .hashed(salt: [UInt8](salt), hash: [UInt8](hash))
        } else {
            self = .patterns(field.split(separator: ",").map { $0.lowercased() })
        }
    }
}
