import Inventory
/// Writes pretty-printed JSON (two-space indent, one key or element per line) straight into UTF-8
/// bytes, keys in the order written. Plans of thousands of hosts are megabytes of text, so nothing
/// is built as a tree first.
public struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var depth = 0
    /// Per open container: whether it already has an element, so the next one needs a comma.
    private var hasElement: [Bool] = []

    package init(reservingCapacity capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// A writer that continues inside containers another writer opened: `elementsSoFar` says, per open
    /// container from the outermost, whether it already holds an element. What it writes is exactly what
    /// the other writer would write next, so pieces of one document can be written apart and joined.
    package init(continuingInside elementsSoFar: [Bool], reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
        depth = elementsSoFar.count
        hasElement = elementsSoFar
    }

    package mutating func takeBytes() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }

    package mutating func beginObject() { open(UInt8(ascii: "{")) }
    package mutating func endObject() { close(UInt8(ascii: "}")) }
    package mutating func beginArray() { open(UInt8(ascii: "[")) }
    package mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Starts a member of the open object; its value follows.
    package mutating func key(_ name: String) {
        element()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(UInt8(ascii: " "))
        pendingValueAfterKey = true
    }

    package mutating func string(_ value: String) { valueStart(); writeString(value) }
    /// A string given as UTF-8 bytes (a command line rendered straight into a scratch buffer).
    package mutating func string(utf8 value: [UInt8]) {
        valueStart()
        value.withUnsafeBufferPointer { writeString(utf8: $0) }
    }
    package mutating func int(_ value: Int64) { valueStart(); bytes += value.description.utf8 }
    /// A finite number, with at most two decimals (`1`, `0.5`, `1.25`).
    package mutating func number(_ value: Double) { valueStart(); bytes += TrafficThresholds.number(value).utf8 }
    package mutating func bool(_ value: Bool) { valueStart(); bytes += (value ? "true" : "false").utf8 }
    package mutating func null() { valueStart(); bytes += "null".utf8 }

    package mutating func newline() { bytes.append(UInt8(ascii: "\n")) }

    /// `value` as a JSON string, quotes included: how every JSON form of the tool writes it.
    public static func quoted(_ value: String) -> String {
        var writer = JSONWriter()
        writer.writeString(value)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    // MARK: layout

    private var pendingValueAfterKey = false

    /// A value either follows its key on the same line, or is an array element on a line of its own.
    private mutating func valueStart() {
        if pendingValueAfterKey {
            pendingValueAfterKey = false
        } else if !hasElement.isEmpty {
            element()
        }
    }

    private mutating func element() {
        if let last = hasElement.last {
            if last { bytes.append(UInt8(ascii: ",")) }
            hasElement[hasElement.count - 1] = true
            bytes.append(UInt8(ascii: "\n"))
            bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
        }
    }

    private mutating func open(_ bracket: UInt8) {
        valueStart()
        bytes.append(bracket)
        depth += 1
        hasElement.append(false)
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        if hasElement.removeLast() {
            bytes.append(UInt8(ascii: "\n"))
            bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
        }
        bytes.append(bracket)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Escapes `"`, `\` and control characters; everything else, including non-ASCII, goes out as is.
    /// Runs of plain bytes are copied in one go: plan strings are mostly plain.
    private mutating func writeString(_ s: String) {
        var s = s
        s.withUTF8 { writeString(utf8: $0) }
    }

    private mutating func writeString(utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            default:
                bytes += "\\u00".utf8
                bytes += [JSONWriter.hexDigits[Int(byte >> 4)], JSONWriter.hexDigits[Int(byte & 0xF)]]
            }
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONWriter {
    package mutating func optionalStrings(_ values: [String]?) {
        guard let values else { return null() }
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    package mutating func optional(_ value: String?) {
        if let value { string(value) } else { null() }
    }
}
