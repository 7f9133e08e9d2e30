import Foundation

/// Local process groups as tests see them: a shell that says which group it leads, and what of a group is alive.
public enum ProcessGroups {
    /// A shell snippet that writes the shell's pid and its process group to `file`.
    public static func record(to file: String) -> String { "echo $$ $(cut -d' ' -f5 /proc/$$/stat) > \(file)" }

    /// The pid and process group `record(to:)` wrote to `file`.
    public static func recorded(_ file: String) throws -> (pid: Int32, group: Int32) {
        let words = try String(contentsOfFile: file, encoding: .utf8).split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
        guard words.count == 2 else { throw TestCommand.Failed(description: "\(file) does not hold a pid and a group") }
        return (words[0], words[1])
    }

    /// The `/proc/PID/stat` lines of the processes of `group` still alive (zombies hold nothing and do not count).
    public static func alive(_ group: Int32) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { Int32($0) != nil }.compactMap { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "(comm)": state, ppid, pgrp, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[2]) == group, fields[0] != "Z" else { return nil }
            return stat
        }
    }
}
