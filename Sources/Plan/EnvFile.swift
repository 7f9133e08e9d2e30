import Commands
import ShellWords
import Inventory

/// The environment one host's service runs with: the inventory's variables and the built-in `OPENCLAW_*`
/// ones. Written to `<state>/env` before compose up; `compose up` and `before_up` run with it exported.
/// Holds where each secret comes from, never its value: a plan can be printed whole.
public struct EnvFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public enum Value: Sendable, Equatable {
            case plain(String)
            case secret(SecretSource)
            /// Known when the rollout runs (the target commit).
            case late(LateValue, label: String)
        }

        public var name: String
        public var value: Value

        public init(name: String, value: Value) {
            self.name = name
            self.value = value
        }
    }

    /// Sorted by name: the file's bytes, and so its digest, depend only on the values.
    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// The environment of `host` in `service`; `revision` is the target commit, or a late value.
    package static func of(_ service: Service, on host: ServiceHost, revision: Entry.Value) -> EnvFile {
        var entries = host.env.map { variable -> Entry in
            switch variable.value {
            case .plain(let text): return Entry(name: variable.name, value: .plain(text))
            case .secret(let source): return Entry(name: variable.name, value: .secret(source))
            }
        }
        var builtIn: [(String, Entry.Value)] = [
            ("OPENCLAW_SERVICE", .plain(service.name)),
            ("OPENCLAW_HOST", .plain(host.name)),
            ("OPENCLAW_TIER", .plain(service.tier)),
            ("OPENCLAW_REVISION", revision),
            ("OPENCLAW_SKILLS", .plain(service.skills.joined(separator: ","))),
            ("OPENCLAW_CHANNELS", .plain(service.channels.joined(separator: ","))),
        ]
        if let vcpu = service.size?.vcpu { builtIn.append(("OPENCLAW_VCPU", .plain(String(vcpu)))) }
        if let bytes = service.size?.memoryBytes { builtIn.append(("OPENCLAW_MEMORY_MIB", .plain(String(bytes >> 20)))) }
        entries += builtIn.map { Entry(name: $0.0, value: $0.1) }
        return EnvFile(entries: entries.sorted { $0.name < $1.name })
    }

    /// `NAME=value` lines for people and plans: secrets as `(secret)`, late values as `<label>`.
    public var shownLines: [String] {
        entries.map { entry in
            switch entry.value {
            case .plain(let text): return "\(entry.name)=\(text)"
            case .secret: return "\(entry.name)=(secret)"
            case .late(_, let label): return "\(entry.name)=<\(label)>"
            }
        }
    }

    /// The names of the secret variables.
    public var secretNames: [String] {
        entries.compactMap { if case .secret = $0.value { return $0.name } else { return nil } }
    }

    /// What `sha256sum` prints for the rendered file on the host: a host is compared by it.
    public static func digest(ofRendered text: String) -> String { SHA256.hex(text) }
}

/// A variable's value was not resolved before the rollout: a defect, reported without the value.
public struct EnvFileIncomplete: Error, Sendable, CustomStringConvertible {
    public var name: String

    package init(name: String) { self.name = name }

    public var description: String { "internal error: the value of \(name) was not resolved before the rollout" }
}
