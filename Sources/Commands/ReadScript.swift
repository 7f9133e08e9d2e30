/// Several read-only commands of one host sent as one remote script, so reading them costs one round trip.
/// Each command runs in a subshell of its own (its `exit` ends only its section), with stdin closed, and its
/// stdout and exit status are framed by marker lines that carry a random nonce: no command's output can pass
/// for a marker. `parse` reads the frames back strictly; a section whose frame is missing or broken is absent.
/// With `stopsAtFailure` the sections are steps of a rollout sent together: the script stops at the first that
/// fails, so the host sees what one round trip per step would have run, in the same order.
public struct ReadScript: Sendable {
    public struct Section: Sendable {
        public var name: String
        public var command: RemoteCommand

        public init(_ name: String, _ command: RemoteCommand) {
            self.name = name
            self.command = command
        }
    }

    public let sections: [Section]
    /// The script ends after the first section that exits non-zero: the sections are steps that run one after
    /// another only while each succeeds, as they would one round trip each.
    public let stopsAtFailure: Bool
    package let nonce: String

    public init(_ sections: [Section], stopsAtFailure: Bool = false, nonce: String = ReadScript.newNonce()) {
        self.sections = sections
        self.stopsAtFailure = stopsAtFailure
        self.nonce = nonce
    }

    public static func newNonce() -> String {
        randomHex(bytes: 8)
    }

    private func begin(_ name: String) -> String { "@@openclaw-read \(nonce) \(name)@@" }
    private func end(_ name: String) -> String { "@@openclaw-done \(nonce) \(name)@@" }
    private func errorsBegin(_ name: String) -> String { "@@openclaw-stderr \(nonce) \(name)@@" }
    private func errorsEnd(_ name: String) -> String { "@@openclaw-stderr-done \(nonce) \(name)@@" }

    /// The script: for each section, its begin marker, its stdout, a newline, its end marker and exit status;
    /// then its stderr (kept in a temporary file meanwhile) framed the same way.
    public var command: RemoteCommand {
        var tokens: [RemoteCommand.Token] = [.raw("e=$(mktemp 2>/dev/null) || e=/dev/null; trap 'rm -f \"$e\"' EXIT;")]
        for section in sections {
            tokens += [.raw("printf '%s\\n'"), .arg(begin(section.name)), .raw("; (")]
            tokens += section.command.tokens
            tokens += [.raw(") </dev/null 2>\"$e\"; s=$?; printf '\\n%s %s\\n'"), .arg(end(section.name)), .raw("\"$s\";")]
            // The shell's own read loop rather than `cat`: one process less per section on every host.
            tokens += [.raw("printf '%s\\n'"), .arg(errorsBegin(section.name)),
                       .raw("; while IFS= read -r l || [ -n \"$l\" ]; do printf '%s\\n' \"$l\"; done <\"$e\"; printf '\\n%s\\n'"),
                       .arg(errorsEnd(section.name)), .raw(";")]
            if stopsAtFailure { tokens.append(.raw("[ \"$s\" -eq 0 ] || exit 0;")) }
        }
        return RemoteCommand(tokens)
    }

    /// Each section's stdout, stderr and exit status, by name.
    public func parse(_ output: String) -> [String: CommandResult] {
        var results: [String: CommandResult] = [:]
        var rest = Substring(output)
        for section in sections {
            guard let (stdout, after) = Self.frame(rest, opening: begin(section.name) + "\n", closing: "\n" + end(section.name) + " ") else {
                continue
            }
            let statusLine = after.prefix { $0 != "\n" }
            guard let status = Int32(statusLine) else { continue }
            rest = after[statusLine.endIndex...]
            var stderr = ""
            if let (text, next) = Self.frame(rest, opening: errorsBegin(section.name) + "\n", closing: "\n" + errorsEnd(section.name) + "\n") {
                stderr = String(text)
                rest = next
            }
            results[section.name] = CommandResult(exitStatus: status, stdout: String(stdout), stderr: stderr)
        }
        return results
    }

    /// The text between `opening` and `closing`, and what follows `closing`.
    private static func frame(_ text: Substring, opening: String, closing: String) -> (Substring, Substring)? {
        guard let start = text.range(of: opening), let stop = text.range(of: closing, range: start.upperBound..<text.endIndex) else {
            return nil
        }
        return (text[start.upperBound..<stop.lowerBound], text[stop.upperBound...])
    }
}
