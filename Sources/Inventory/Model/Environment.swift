/// One variable of a service's environment, as the inventory gives it (after defaults, service and host
/// were merged key by key).
public struct EnvVariable: Sendable, Equatable {
    public var name: String
    public var value: EnvValue

    public init(name: String, value: EnvValue) {
        self.name = name
        self.value = value
    }
}

public enum EnvValue: Sendable, Equatable {
    /// Written in the inventory: shown in plans.
    case plain(String)
    /// Read on the operator's machine when a rollout starts; never shown.
    case secret(SecretSource)
}

/// Where a secret's value comes from, and where the inventory asks for it (for messages).
public struct SecretSource: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A variable of the deploying process's environment.
        case environment(String)
        /// A local file (already resolved against the inventory's directory); one trailing newline is dropped.
        case file(String)
        /// The stdout of a local command (argv, no shell), run in the inventory's directory.
        case command([String])
    }

    public var kind: Kind
    /// Dotted key path, e.g. `services.customer-service.env.WHATSAPP_TOKEN`.
    public var keyPath: String
    /// `FILE:LINE:COLUMN` of the key in the inventory.
    public var position: String

    public init(kind: Kind, keyPath: String, position: String) {
        self.kind = kind
        self.keyPath = keyPath
        self.position = position
    }

    /// The source in the inventory's own words: `from_env: WHATSAPP_TOKEN`.
    public var description: String {
        switch kind {
        case .environment(let name): return "from_env: \(name)"
        case .file(let path): return "from_file: \(path)"
        case .command(let argv): return "from_command: [\(argv.joined(separator: ", "))]"
        }
    }
}

/// The service's hooks: local commands around the rollout, and a remote one before each host's compose up.
public struct Hooks: Sendable, Equatable {
    /// argv run on the operator's machine after locks and preflight, before the first host changes.
    public var before: [String]?
    /// argv run on the operator's machine when the service's rollout ends, whatever the result.
    public var after: [String]?
    /// A shell command run on each host, in the checkout with the service's environment, before compose up.
    public var beforeUp: String?

    public init(before: [String]? = nil, after: [String]? = nil, beforeUp: String? = nil) {
        self.before = before
        self.after = after
        self.beforeUp = beforeUp
    }

    public var isEmpty: Bool { before == nil && after == nil && beforeUp == nil }
}

public enum EnvNames {
    /// Variables the tool sets itself on every host; the inventory may not set them.
    public static let reservedPrefix = "OPENCLAW_"

    /// nil when `name` is a valid variable name, else the reason.
    public static func problem(_ name: String) -> String? {
        let first = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ_".unicodeScalars)
        let rest = first.union(Set("0123456789".unicodeScalars))
        guard let head = name.unicodeScalars.first, first.contains(head), name.unicodeScalars.allSatisfy(rest.contains) else {
            return "a variable name is upper-case letters, digits and `_`, not starting with a digit (`[A-Z_][A-Z0-9_]*`)"
        }
        if name.count > 128 { return "a variable name has at most 128 characters" }
        if name.hasPrefix(reservedPrefix) { return "names starting with `\(reservedPrefix)` are set by openclaw-deploy itself" }
        if refused.contains(name) || refusedPrefixes.contains(where: name.hasPrefix) {
            return "`\(name)` would change how the shell or compose runs openclaw-deploy's own commands on the host "
                + "(refused: \(refusedList)); pick another name"
        }
        return nil
    }

    /// Names a host's shell or compose reads for itself: set from `env:`, they would break the tool's own
    /// commands there (`UID` is read-only in bash, `PATH` would replace the compose command, `COMPOSE_FILE`
    /// would point compose elsewhere).
    public static let refused: Set<String> = [
        "PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "UID", "EUID", "PPID", "GROUPS", "HOME", "SHELL",
        "COMPOSE_PROJECT_NAME", "COMPOSE_FILE",
    ]
    /// Prefixes of refused names: the dynamic loader's (`LD_PRELOAD`, …) and bash's own (`BASH_*`).
    public static let refusedPrefixes = ["LD_", "BASH_"]

    static var refusedList: String { (refused.sorted() + refusedPrefixes.map { $0 + "*" }).joined(separator: ", ") }

    /// nil when `value` can be a variable's value (one line), else the reason.
    public static func valueProblem(_ value: String) -> String? {
        if value.unicodeScalars.contains(where: { $0 == "\0" || $0 == "\n" || $0 == "\r" }) {
            return "a value is one line: no NUL, newline or carriage return"
        }
        if value.utf8.count > 65536 { return "a value has at most 64 KiB" }
        return nil
    }
}
