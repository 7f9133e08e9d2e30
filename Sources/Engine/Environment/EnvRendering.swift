import Commands
import Plan
import ShellWords

extension EnvFile {
    /// The file's content: one `NAME='value'` line per variable, for `set -a; . <state>/env` in a POSIX shell.
    /// Throws when a secret or a late value is missing: a host never gets a file with a hole in it.
    public func rendered(secrets: Secrets, values: [LateValue: String]) throws(EnvFileIncomplete) -> String {
        var text = ""
        for entry in entries {
            let value: String
            switch entry.value {
            case .plain(let plain): value = plain
            case .secret(let source):
                guard let secret = secrets.value(of: source) else { throw EnvFileIncomplete(name: entry.name) }
                value = secret
            case .late(let late, _):
                guard let known = values[late] else { throw EnvFileIncomplete(name: entry.name) }
                value = known
            }
            text += "\(entry.name)=\(ShellQuote.quote(value))\n"
        }
        return text
    }
}
