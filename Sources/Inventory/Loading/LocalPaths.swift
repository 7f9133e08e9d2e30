import Foundation

/// Resolves paths on the machine running the tool (key files, known_hosts, templates): `~` is that machine's
/// home, and relative paths are relative to the inventory file's directory, not the current directory.
struct LocalPaths {
    let home: String?
    let baseDirectory: String

    init(inventoryPath: String, environment: [String: String]) {
        home = environment["HOME"] ?? ProcessInfo.processInfo.environment["HOME"]
        let absolute = inventoryPath.hasPrefix("/")
            ? inventoryPath
            : FileManager.default.currentDirectoryPath + "/" + inventoryPath
        baseDirectory = LocalPaths.normalized((absolute as NSString).deletingLastPathComponent)
    }

    func resolve(_ path: String) -> String {
        if let home, path == "~" || path.hasPrefix("~/") {
            return LocalPaths.normalized(home + path.dropFirst())
        }
        if path.hasPrefix("/") { return LocalPaths.normalized(path) }
        return LocalPaths.normalized(baseDirectory + "/" + path)
    }

    /// Removes `.` and `..` components and repeated `/` without touching the file system, so results are
    /// predictable whether or not the file exists.
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return path.hasPrefix("/") ? "/" + parts.joined(separator: "/") : parts.joined(separator: "/")
    }
}
