import Commands
import Foundation
import Inventory
import Plan

/// One request the gateway logged (the rendered config's `openclaw_json` access log format): which service's route
/// it came in on, which upstream address answered it, its status and how long nginx took.
public struct AccessLogLine: Sendable, Equatable {
    public var service: String
    /// The address (`host:port`) that gave the final answer; nil when no upstream answered (nginx's own 502/504).
    public var upstream: String?
    public var status: Int
    /// Seconds, as nginx's `$request_time` (millisecond resolution).
    public var requestTime: Double

    public init(service: String, upstream: String?, status: Int, requestTime: Double) {
        self.service = service
        self.upstream = upstream
        self.status = status
        self.requestTime = requestTime
    }

    /// The lines of `text` that read as the gateway's JSON access log lines; others (a torn last line, another
    /// format) are skipped. `$upstream_addr` lists every address tried (`a:1, b:2`, or `a:1 : b:2` across
    /// upstream groups): the last one answered.
    public static func parse(_ text: String) -> [AccessLogLine] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let service = object["service"] as? String, let status = (object["status"] as? NSNumber)?.intValue else { return nil }
            let time = (object["request_time"] as? NSNumber)?.doubleValue ?? 0
            let tried = (object["upstream"] as? String ?? "").replacingOccurrences(of: " : ", with: ", ").components(separatedBy: ", ")
            let last = tried.last.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
            return AccessLogLine(service: service, upstream: last, status: status, requestTime: time)
        }
    }
}

/// The numbers of one side of a traffic sample.
public struct TrafficSide: Sendable, Equatable {
    public var requests: Int
    public var errors: Int
    /// 95th percentile of the request times, in seconds (0 with no request).
    public var p95: Double

    /// 5xx answers as a percentage of the requests.
    public var errorRate: Double { requests == 0 ? 0 : Double(errors) * 100 / Double(requests) }

    public init(_ lines: [AccessLogLine]) {
        requests = lines.count
        errors = lines.filter { (500..<600).contains($0.status) }.count
        let times = lines.map(\.requestTime).sorted()
        // Nearest rank: the smallest time at or above which 95% of the requests fall.
        p95 = times.isEmpty ? 0 : times[max(0, Int((0.95 * Double(times.count)).rounded(.up)) - 1)]
    }
}

/// A judgement of the changed hosts' real requests against the unchanged ones' (or, with none unchanged, against the
/// requests before the batch began).
public struct TrafficVerdict: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case passed
        /// Too few requests on a side to say anything.
        case notJudged(String)
        case failed(String)
    }

    public var changed: TrafficSide
    public var baseline: TrafficSide
    public var outcome: Outcome

    /// `changed`: requests answered by the changed hosts' addresses; `baseline`: by the others (or the window before).
    public static func judge(changed: [AccessLogLine], baseline: [AccessLogLine], thresholds: TrafficThresholds) -> TrafficVerdict {
        let new = TrafficSide(changed), old = TrafficSide(baseline)
        let minimum = max(1, thresholds.minRequests)
        guard new.requests >= minimum, old.requests >= minimum else {
            return TrafficVerdict(changed: new, baseline: old, outcome: .notJudged(
                "not judged: \(new.requests) request\(new.requests == 1 ? "" : "s") to changed hosts and \(old.requests) to the baseline, "
                    + "at least \(minimum) needed on each side"))
        }
        let increase = new.errorRate - old.errorRate
        if increase > thresholds.maxErrorRateIncrease {
            return TrafficVerdict(changed: new, baseline: old, outcome: .failed(
                "5xx on changed hosts \(percent(new.errorRate)) against \(percent(old.errorRate)) on the baseline "
                    + "(+\(percent(increase)), at most +\(percent(thresholds.maxErrorRateIncrease)))"))
        }
        // A baseline faster than nginx's resolution counts as one millisecond.
        let ratio = new.p95 / max(old.p95, 0.001)
        if ratio > thresholds.maxLatencyRatio {
            return TrafficVerdict(changed: new, baseline: old, outcome: .failed(
                "p95 latency on changed hosts \(milliseconds(new.p95)) against \(milliseconds(old.p95)) on the baseline "
                    + "(\(String(format: "%.2f", ratio))x, at most \(String(format: "%.2f", thresholds.maxLatencyRatio))x)"))
        }
        return TrafficVerdict(changed: new, baseline: old, outcome: .passed)
    }

    /// `passed`, `not_judged` or `failed`.
    public var word: String {
        switch outcome {
        case .passed: "passed"
        case .notJudged: "not_judged"
        case .failed: "failed"
        }
    }

    /// Why it was not judged, or why it failed.
    public var reason: String? {
        switch outcome {
        case .passed: nil
        case .notJudged(let why), .failed(let why): why
        }
    }

    /// `120 requests, 0.0% 5xx, p95 12ms` for each side.
    public var summary: String {
        func side(_ side: TrafficSide) -> String {
            "\(side.requests) request\(side.requests == 1 ? "" : "s"), \(Self.percent(side.errorRate)) 5xx, p95 \(Self.milliseconds(side.p95))"
        }
        return "changed: \(side(changed)); baseline: \(side(baseline))"
    }

    public static func percent(_ value: Double) -> String { String(format: "%.1f%%", value) }
    public static func milliseconds(_ seconds: Double) -> String { "\(Int((seconds * 1000).rounded()))ms" }
}

/// What one read of the gateway's access log gave for a service.
public struct TrafficReading: Sendable, Equatable {
    /// The service's requests logged in the bytes read.
    public var lines: [AccessLogLine]
    /// The offset the next read begins from.
    public var end: Int64
    /// The log's size when it was read (past `end` when the read was cut at its bound).
    public var size: Int64
    /// The service's hosts by the upstream address nginx logs for them (`127.0.0.11:18080`).
    public var hostByUpstream: [String: String]

    public init(lines: [AccessLogLine], end: Int64, size: Int64? = nil, hostByUpstream: [String: String]) {
        self.lines = lines
        self.end = end
        self.size = max(end, size ?? end)
        self.hostByUpstream = hostByUpstream
    }

    /// `readAccessLog`'s output: `resolved NAME ADDRESS` lines (on a first read), `<size> <end>`, then the lines. The
    /// addresses the gateway resolved `hosts`' names to (`host`, its name or address) with `port` are mapped onto those
    /// hosts, beside the `known` ones, and returned as well, for the reads that follow.
    public static func parse(_ output: String, hosts: [(host: String, address: String)], port: Int,
                             known: [String: String]) -> (reading: TrafficReading, resolved: [String: String])? {
        var rest = Substring(output)
        var resolved: [String: String] = [:]
        while rest.hasPrefix("resolved ") {
            let line = rest.prefix { $0 != "\n" }
            rest = rest.dropFirst(line.count).drop { $0 == "\n" }
            let words = line.split(separator: " ")
            guard words.count == 3 else { continue }
            let address = words[2].contains(":") ? "[\(words[2])]" : String(words[2])
            for host in hosts where host.address == words[1] { resolved["\(address):\(port)"] = host.host }
        }
        let header = rest.prefix { $0 != "\n" }.split(separator: " ")
        guard header.count == 2, let size = Int64(header[0]), let end = Int64(header[1]), end >= 0 else { return nil }
        let lines = rest.dropFirst(rest.prefix { $0 != "\n" }.count).dropFirst()
        return (TrafficReading(lines: AccessLogLine.parse(String(lines)), end: end, size: size,
                               hostByUpstream: known.merging(resolved) { first, _ in first }), resolved)
    }
}

/// Where a traffic sample's baseline came from.
public enum TrafficBaseline: String, Sendable, Equatable {
    /// The service's hosts not changed yet, over the same window.
    case unchangedHosts = "unchanged_hosts"
    /// The service's requests logged before the rollout's first batch (no host is left unchanged).
    case beforeRollout = "before_rollout"
}

/// One reading of the traffic judge: the numbers of both sides and the verdict, during `step` (`bake` or `watch`).
public struct TrafficSample: Sendable, Equatable {
    public var step: StepKind
    public var changedHosts: [String]
    public var baselineFrom: TrafficBaseline
    public var verdict: TrafficVerdict
    /// Why nothing was read this time (the gateway did not answer); the verdict is then the last one.
    public var readError: String?
}
