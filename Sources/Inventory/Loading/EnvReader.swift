import Yams

/// `env:` of one level (defaults, a service, a host): merged key by key, a lower level's key wins.
struct EnvLayer {
    var values: [String: EnvValue] = [:]
    /// A key was written but invalid (already reported).
    var broken = false

    func overridden(by lower: EnvLayer) -> EnvLayer {
        EnvLayer(values: values.merging(lower.values) { _, lower in lower }, broken: broken || lower.broken)
    }

    /// The variables sorted by name, or nil when one was invalid.
    var resolved: [EnvVariable]? {
        broken ? nil : values.keys.sorted().map { EnvVariable(name: $0, value: values[$0]!) }
    }
}

/// `hooks:` of defaults or a service, key by key.
struct HooksLayer {
    var before: Setting<[String]> = .unset
    var after: Setting<[String]> = .unset
    var beforeUp: Setting<String> = .unset

    static let keys = ["before", "after", "before_up"]

    func overridden(by lower: HooksLayer) -> HooksLayer {
        HooksLayer(before: before.overridden(by: lower.before), after: after.overridden(by: lower.after),
                   beforeUp: beforeUp.overridden(by: lower.beforeUp))
    }

    var resolved: Hooks? {
        guard let before = before.optionalValue, let after = after.optionalValue,
              let beforeUp = beforeUp.optionalValue else { return nil }
        return Hooks(before: before, after: after, beforeUp: beforeUp)
    }
}

extension Setting {
    /// An optional setting: `.some(nil)` when unset, nil when invalid.
    var optionalValue: Value?? {
        switch self {
        case .set(let value): return .some(value)
        case .unset: return .some(nil)
        case .invalid: return nil
        }
    }
}

extension NodeReader {
    static let secretSourceKeys = ["from_env", "from_file", "from_command"]

    func envLayer(_ node: Node, _ path: String, localPaths: LocalPaths) -> EnvLayer {
        var layer = EnvLayer()
        guard case .mapping = node else {
            if !isNull(node) {
                error(at: node.mark, "`\(path)` must be a mapping from variable names to values, e.g. `env: { LOG_LEVEL: info }`; found \(describe(node))")
                layer.broken = true
            }
            return layer
        }
        for (name, keyNode, value) in namedEntries(node, path) {
            let keyPath = "\(path).\(name)"
            if let problem = EnvNames.problem(name) {
                error(at: keyNode.mark, "`\(path)`: invalid variable name \(quoted(name)); \(problem)")
                layer.broken = true
                continue
            }
            if let parsed = envValue(value, keyPath, keyMark: keyNode.mark, localPaths: localPaths) {
                layer.values[name] = parsed
            } else {
                layer.broken = true
            }
        }
        return layer
    }

    /// A plain value (a string, number or boolean, shown in plans) or a secret source.
    private func envValue(_ node: Node, _ path: String, keyMark: Mark?, localPaths: LocalPaths) -> EnvValue? {
        switch node {
        case .scalar(let scalar) where !isNull(node):
            if let problem = EnvNames.valueProblem(scalar.string) {
                error(at: node.mark, "`\(path)`: \(problem)")
                return nil
            }
            return .plain(scalar.string)
        case .mapping:
            guard let fields = mapping(node, path, allowed: Self.secretSourceKeys) else { return nil }
            let given = Self.secretSourceKeys.filter(fields.has)
            guard given.count == 1, let key = given.first, let valueNode = fields[key] else {
                error(at: node.mark, "`\(path)` must name exactly one source: `{ from_env: NAME }`, `{ from_file: PATH }` or `{ from_command: [ARGV...] }`")
                return nil
            }
            let position = keyMark.map { "\(file):\(Position($0))" } ?? file
            let kind: SecretSource.Kind?
            switch key {
            case "from_env":
                kind = string(valueNode, fields.path(key), rule: Self.localVariableName).map(SecretSource.Kind.environment)
            case "from_file":
                kind = string(valueNode, fields.path(key), rule: RemoteValueRules.noControlCharacters).map { .file(localPaths.resolve($0)) }
            default:
                let argv = stringList(valueNode, fields.path(key))
                if let argv, argv.isEmpty {
                    error(at: valueNode.mark, "`\(fields.path(key))` is empty; write the command as a list, e.g. `[pass, show, broker/key]`")
                    return nil
                }
                kind = argv.map(SecretSource.Kind.command)
            }
            return kind.map { .secret(SecretSource(kind: $0, keyPath: path, position: position)) }
        default:
            error(at: node.mark, "`\(path)` must be a value or a secret source (`{ from_env: NAME }`, `{ from_file: PATH }`, `{ from_command: [ARGV...] }`); found \(describe(node))")
            return nil
        }
    }

    /// A variable of the operator's environment may be any portable name (`[A-Za-z_][A-Za-z0-9_]*`).
    static func localVariableName(_ name: String) -> String? {
        let first = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_".unicodeScalars)
        let rest = first.union(Set("0123456789".unicodeScalars))
        guard let head = name.unicodeScalars.first, first.contains(head), name.unicodeScalars.allSatisfy(rest.contains) else {
            return "it is not a variable name (`[A-Za-z_][A-Za-z0-9_]*`)"
        }
        return nil
    }

    func hooksLayer(_ node: Node, _ path: String) -> HooksLayer {
        guard let fields = mapping(node, path, allowed: HooksLayer.keys) else {
            return HooksLayer(before: .invalid, after: .invalid, beforeUp: .invalid)
        }
        var layer = HooksLayer()
        for key in ["before", "after"] {
            guard let value = fields[key] else { continue }
            let argv = stringList(value, fields.path(key))
            let setting: Setting<[String]>
            if let argv, argv.isEmpty {
                error(at: value.mark, "`\(fields.path(key))` is empty; write the command as a list, e.g. `[./scripts/notify, starting]`")
                setting = .invalid
            } else {
                setting = Setting(argv)
            }
            if key == "before" { layer.before = setting } else { layer.after = setting }
        }
        if let value = fields["before_up"] {
            layer.beforeUp = Setting(string(value, fields.path("before_up"), rule: RemoteValueRules.noControlCharacters))
        }
        return layer
    }
}
