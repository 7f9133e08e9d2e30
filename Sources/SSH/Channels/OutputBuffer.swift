/// Collects one output stream up to a limit, counting what was dropped past it.
struct OutputBuffer {
    let limit: Int
    private(set) var kept: [UInt8] = []
    private(set) var total = 0

    init(limit: Int) { self.limit = max(0, limit) }

    var truncated: Bool { total > kept.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        total += bytes.count
        let room = limit - kept.count
        if room > 0 { kept.append(contentsOf: bytes.prefix(room)) }
    }

    /// The kept text, followed by a marker line when bytes were dropped.
    var text: String {
        let decoded = String(decoding: kept, as: UTF8.self)
        guard truncated else { return decoded }
        return decoded + "\n[output cut: kept the first \(kept.count) of \(total) bytes]\n"
    }
}
