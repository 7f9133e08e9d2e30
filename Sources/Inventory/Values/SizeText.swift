/// Binary units the inventory accepts for sizes, largest first.
private let sizeUnits: [(suffix: String, bytes: UInt64)] = [
    ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
]

/// Sizes as written in the inventory: a whole number and a binary unit (`512MiB`, `8GiB`; also `KiB`, `TiB`).
/// Returns bytes, or nil when the text is not of that form or does not fit in 64 bits.
public func parseSize(_ text: String) -> UInt64? {
    guard let unit = sizeUnits.first(where: { text.hasSuffix($0.suffix) }) else { return nil }
    let digits = text.dropLast(unit.suffix.count)
    guard !digits.isEmpty, digits.count <= 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
          let number = UInt64(digits) else { return nil }
    let (bytes, overflow) = number.multipliedReportingOverflow(by: unit.bytes)
    return overflow ? nil : bytes
}

/// Bytes in the largest binary unit that divides them evenly (`8GiB`, `1536MiB`), or bytes as `NB`
/// when no unit does.
public func formatSize(_ bytes: UInt64) -> String {
    for unit in sizeUnits where bytes >= unit.bytes && bytes % unit.bytes == 0 {
        return "\(bytes / unit.bytes)\(unit.suffix)"
    }
    return "\(bytes)B"
}
