/// Durations as written in the inventory: a whole number and a unit (`500ms`, `10s`, `2m`, `1h`),
/// several of them concatenated from the largest unit down, each unit at most once (`1m30s`; not
/// `30s1m` or `1h1h`), or a bare `0`.
public func parseDuration(_ text: String) -> Duration? {
    // Longest suffix first where one is a prefix of another ("ms" before "m"); `order` is h, m, s, ms.
    let units: [(suffix: String, milliseconds: Int64, order: Int)] = [("ms", 1, 3), ("h", 3_600_000, 0), ("m", 60_000, 1), ("s", 1000, 2)]
    if text == "0" { return .zero }
    var rest = Substring(text)
    var total: Int64 = 0
    var lastOrder = -1
    guard !rest.isEmpty else { return nil }
    while !rest.isEmpty {
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 12, let number = Int64(digits) else { return nil }
        rest = rest.dropFirst(digits.count)
        guard let unit = units.first(where: { rest.hasPrefix($0.suffix) }), unit.order > lastOrder else { return nil }
        lastOrder = unit.order
        rest = rest.dropFirst(unit.suffix.count)
        let (part, overflow1) = number.multipliedReportingOverflow(by: unit.milliseconds)
        let (sum, overflow2) = total.addingReportingOverflow(part)
        guard !overflow1, !overflow2 else { return nil }
        total = sum
    }
    return .milliseconds(total)
}

/// The inverse of `parseDuration`: the shortest text that reads back as the same value (`1m30s`, `500ms`, `0s`).
/// Precision below a millisecond is dropped.
public func formatDuration(_ duration: Duration) -> String {
    var remaining = max(duration.milliseconds, 0)
    if remaining == 0 { return "0s" }
    var text = ""
    for (suffix, size) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000), ("ms", 1)] where remaining >= size {
        text += "\(remaining / size)\(suffix)"
        remaining %= size
    }
    return text
}
