import Inventory

/// What every operator and rollout shares on the gateway host, beside the config: the hosts out of rotation
/// (`drainedPath`) and the services in maintenance (`maintenancePath`). Each change reads both under the drain lock,
/// renders the config from them and writes back only the file it changed, so nothing one operator did is undone by
/// another's change.
public struct GatewayState: Sendable, Equatable {
    /// Host names out of rotation, by service.
    public var drained: [String: Set<String>]
    /// Services whose route answers 503 with a page, by service.
    public var maintenance: [String: Maintenance]

    public init(drained: [String: Set<String>] = [:], maintenance: [String: Maintenance] = [:]) {
        self.drained = drained
        self.maintenance = maintenance
    }

    /// One service in maintenance.
    public struct Maintenance: Sendable, Equatable {
        /// Seconds a client is told to wait (`Retry-After`).
        public var retryAfterSeconds: Int
        /// When it was turned on (ISO 8601, UTC).
        public var since: String
        /// The operator who turned it on.
        public var setBy: String
        /// The page's message, checked by `MaintenanceMessage`.
        public var message: String

        public init(retryAfterSeconds: Int, since: String, setBy: String, message: String) {
            self.retryAfterSeconds = retryAfterSeconds
            self.since = since
            self.setBy = setBy
            self.message = message
        }
    }

    /// The line `readState` prints between the two files.
    public static let maintenanceMarker = "[maintenance]"

    /// The state as `GatewayCommands.readState` prints it. Lines that do not read as the writer wrote them (a hand
    /// edit) are skipped.
    public static func parse(_ text: String) -> GatewayState {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let marker = lines.firstIndex(of: maintenanceMarker) ?? lines.endIndex
        var state = GatewayState(drained: parseDrained(lines[..<marker].joined(separator: "\n")))
        for line in lines[marker...].dropFirst() {
            let fields = line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5, RemoteValueRules.name(fields[0]) == nil, let seconds = Int(fields[1]), seconds >= 0,
                  MaintenanceMessage.problem(fields[4]) == nil, MaintenanceMessage.problem(fields[3]) == nil,
                  !fields[2].contains(where: { $0.isWhitespace }) else { continue }
            state.maintenance[fields[0]] = Maintenance(retryAfterSeconds: seconds, since: fields[2], setBy: fields[3],
                                                       message: fields[4])
        }
        return state
    }

    /// `service host` lines, sorted: the drained file's content.
    public static func drainedText(_ drained: [String: Set<String>]) -> String {
        drained.keys.sorted().flatMap { service in drained[service]!.sorted().map { "\(service) \($0)\n" } }.joined()
    }

    /// The drained set as `drainedText` wrote it; lines that are not two names are skipped (a hand edit).
    public static func parseDrained(_ text: String) -> [String: Set<String>] {
        var drained: [String: Set<String>] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 2, fields.allSatisfy({ RemoteValueRules.name($0) == nil }) else { continue }
            drained[fields[0], default: []].insert(fields[1])
        }
        return drained
    }

    /// `service<TAB>retry-after<TAB>since<TAB>operator<TAB>message` lines, sorted: the maintenance file's content.
    public static func maintenanceText(_ maintenance: [String: Maintenance]) -> String {
        maintenance.keys.sorted().map { service in
            let entry = maintenance[service]!
            return "\(service)\t\(entry.retryAfterSeconds)\t\(entry.since)\t\(entry.setBy)\t\(entry.message)\n"
        }.joined()
    }
}

/// The rules for a maintenance page's message (and the operator's name kept beside it): one line of visible text,
/// which the state file keeps on one tab-separated line and the page shows HTML-escaped.
public enum MaintenanceMessage {
    public static let maxCharacters = 300

    /// Why `text` cannot be a message, or nil when it can.
    public static func problem(_ text: String) -> String? {
        if text.count > maxCharacters { return "is \(text.count) characters long; at most \(maxCharacters) fit on the page" }
        if text.unicodeScalars.contains(where: VisibleText.isUnsafe) {
            return "contains a control character (a newline, a tab, an escape or a bidirectional override); write it on one line"
        }
        return nil
    }
}
