import Inventory
import Plan

/// The traffic judge of one service's rollout, over the gateway's access log: where the next read begins, the
/// requests logged before the first batch (the baseline once no host of the service is left unchanged), and the
/// requests logged since the window began: when the canary's bake or the watch began, every changed host back in
/// rotation on the new revision (requests a host answered before it changed are not the new release's). Each read
/// is one round trip to the gateway host.
actor TrafficWindow {
    let service: String
    let gateway: any GatewayHook
    let thresholds: TrafficThresholds
    /// Every host of the service the gateway routes to (a host not changed by this rollout is a baseline host).
    let hosts: Set<String>
    private var offset: Int64 = -Int64(GatewayPlan.trafficLookbackBytes)
    private var before: [AccessLogLine] = []
    private var window: [AccessLogLine] = []
    private var hostByUpstream: [String: String] = [:]
    private var last: TrafficVerdict?

    init(service: String, gateway: any GatewayHook, thresholds: TrafficThresholds, hosts: Set<String>) {
        self.service = service
        self.gateway = gateway
        self.thresholds = thresholds
        self.hosts = hosts
    }

    /// Before the first batch: the requests logged in the log's last `trafficLookbackBytes` are the ones before the
    /// rollout. False when the gateway judges none of this service's traffic.
    func start() async throws -> Bool {
        guard let reading = try await read() else { return false }
        before = reading.lines
        return true
    }

    /// As the bake or the watch begins: what was logged since the last read is skipped, so the window holds only
    /// requests the changed hosts answered on the new revision.
    func windowBegins() async throws {
        window = []
        last = nil
        // Everything logged before now is skipped, also what lies past one read's bound on a busy gateway.
        if let reading = try await read() { offset = reading.size }
    }

    /// Reads what the gateway logged since the last read, adds it to the window and judges the window: the requests
    /// `changed` hosts answered against the ones the other hosts answered (or, with none left, those before the
    /// rollout). A failed read is said in the sample, whose verdict is then the last one (not judged before any).
    func sample(changed: Set<String>, step: StepKind) async -> TrafficSample {
        var readError: String?
        do {
            if let reading = try await read() { window += reading.lines }
        } catch is CancellationError {
            readError = "stopped"
        } catch {
            readError = "could not read the gateway's access log: \(error)"
        }
        let unchanged = hosts.subtracting(changed)
        let from: TrafficBaseline = unchanged.isEmpty ? .beforeRollout : .unchangedHosts
        var verdict: TrafficVerdict
        if readError != nil, let last {
            verdict = last
        } else {
            let answered = { (line: AccessLogLine) in line.upstream.flatMap { self.hostByUpstream[$0] } }
            let changedLines = window.filter { answered($0).map(changed.contains) ?? false }
            // Only requests a host of the service answered: not nginx's own answers (a maintenance page, no upstream).
            let baseline = (unchanged.isEmpty ? before.filter { answered($0) != nil } : window.filter { answered($0).map(unchanged.contains) ?? false })
            verdict = TrafficVerdict.judge(changed: changedLines, baseline: baseline, thresholds: thresholds)
            last = verdict
        }
        return TrafficSample(step: step, changedHosts: changed.sorted(), baselineFrom: from, verdict: verdict, readError: readError)
    }

    private func read() async throws -> TrafficReading? {
        guard let reading = try await gateway.readTraffic(service: service, from: offset) else { return nil }
        offset = reading.end
        hostByUpstream = reading.hostByUpstream
        return reading
    }
}
