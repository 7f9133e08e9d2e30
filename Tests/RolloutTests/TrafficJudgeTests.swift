import Commands
import Inventory
import Plan
import Testing
@testable import Engine

@Suite("traffic judge: changed hosts against the baseline, on the gateway's logged requests")
struct TrafficJudgeTests {
    /// Lines as the gateway's `openclaw_json` format writes them (escape=json; a retried request lists both addresses).
    static let sample = """
        {"time":"2026-12-07T15:20:01+00:00","service":"customer-service","upstream":"127.0.0.11:18080","status":200,"request_time":0.002}
        {"time":"2026-12-07T15:20:01+00:00","service":"customer-service","upstream":"127.0.0.12:18080","status":500,"request_time":0.001}
        {"time":"2026-12-07T15:20:01+00:00","service":"customer-service","upstream":"127.0.0.12:18080, 127.0.0.11:18080","status":200,"request_time":0.004}
        {"time":"2026-12-07T15:20:02+00:00","service":"content","upstream":"127.0.0.21:18080","status":200,"request_time":0.010}
        {"time":"2026-12-07T15:20:02+00:00","service":"customer-service","upstream":"openclaw_customer_service","status":502,"request_time":0.000}
        {"time":"2026-12-07T15:20:03+00:00","service":"customer-se
        """

    @Test("log lines: the answering address is the last one tried; a torn line is skipped")
    func parse() {
        let lines = AccessLogLine.parse(Self.sample)
        #expect(lines.count == 5)
        #expect(lines[0] == AccessLogLine(service: "customer-service", upstream: "127.0.0.11:18080", status: 200, requestTime: 0.002))
        #expect(lines[2].upstream == "127.0.0.11:18080")
        #expect(lines[3].service == "content")
        #expect(lines[4].upstream == "openclaw_customer_service" && lines[4].status == 502)
    }

    static func requests(_ count: Int, status: Int = 200, time: Double = 0.010, at address: String) -> [AccessLogLine] {
        (0..<count).map { _ in AccessLogLine(service: "svc", upstream: address, status: status, requestTime: time) }
    }

    @Test("a release answering 500 to its API fails on its 5xx share, however healthy its /health is")
    func errorsFail() {
        let changed = Self.requests(60, status: 500, at: "a") + Self.requests(40, at: "a")
        let verdict = TrafficVerdict.judge(changed: changed, baseline: Self.requests(100, at: "b"), thresholds: TrafficThresholds())
        #expect(verdict.changed.requests == 100 && verdict.changed.errors == 60)
        #expect(verdict.outcome == .failed("5xx on changed hosts 60.0% against 0.0% on the baseline (+60.0%, at most +1.0%)"))
        #expect(verdict.summary == "changed: 100 requests, 60.0% 5xx, p95 10ms; baseline: 100 requests, 0.0% 5xx, p95 10ms")
    }

    @Test("an increase within the threshold passes; the baseline's own errors are allowed for")
    func errorsWithin() {
        let changed = Self.requests(2, status: 503, at: "a") + Self.requests(98, at: "a")
        let baseline = Self.requests(2, status: 500, at: "b") + Self.requests(198, at: "b")
        #expect(TrafficVerdict.judge(changed: changed, baseline: baseline, thresholds: TrafficThresholds()).outcome == .passed)
    }

    @Test("slower: p95 of the changed hosts over 1.5 times the baseline's fails")
    func latencyFails() {
        let changed = Self.requests(90, time: 0.010, at: "a") + Self.requests(10, time: 0.200, at: "a")
        let verdict = TrafficVerdict.judge(changed: changed, baseline: Self.requests(100, time: 0.010, at: "b"), thresholds: TrafficThresholds())
        #expect(verdict.changed.p95 == 0.200)
        #expect(verdict.outcome == .failed("p95 latency on changed hosts 200ms against 10ms on the baseline (20.00x, at most 1.50x)"))
        // The nearest-rank p95 of 100 requests is the 95th: with 5 slow ones it is still fast.
        let few = Self.requests(95, time: 0.010, at: "a") + Self.requests(5, time: 0.900, at: "a")
        #expect(TrafficVerdict.judge(changed: few, baseline: Self.requests(100, time: 0.010, at: "b"), thresholds: TrafficThresholds()).outcome == .passed)
    }

    @Test("too few requests on either side: not judged, and said so")
    func tooFew() {
        let verdict = TrafficVerdict.judge(changed: Self.requests(49, status: 500, at: "a"), baseline: Self.requests(500, at: "b"),
                                           thresholds: TrafficThresholds())
        #expect(verdict.outcome == .notJudged("not judged: 49 requests to changed hosts and 500 to the baseline, at least 50 needed on each side"))
    }

    @Test("a baseline faster than a millisecond counts as one")
    func zeroBaseline() {
        let verdict = TrafficVerdict.judge(changed: Self.requests(50, time: 0.001, at: "a"), baseline: Self.requests(50, time: 0, at: "b"),
                                           thresholds: TrafficThresholds())
        #expect(verdict.outcome == .passed)
    }
}
