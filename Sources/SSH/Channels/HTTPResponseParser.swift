/// Reads an HTTP/1.x response as it arrives: head, then a body delimited by Content-Length, chunked
/// encoding, or the end of the connection.
struct HTTPResponseParser {
    struct Invalid: Error { let reason: String }

    let bodyLimit: Int
    private var head: [UInt8] = []
    private(set) var status = 0
    private(set) var headers: [SSHHTTPHeader] = []
    private var headComplete = false
    private var contentLength: Int?
    private var chunked = false
    private var rawBody: [UInt8] = []
    private var rawBodyTotal = 0

    init(bodyLimit: Int) { self.bodyLimit = max(0, bodyLimit) }

    /// True once nothing more needs reading: the whole body, or the part of it that fits under the limit.
    var isComplete: Bool {
        guard headComplete else { return false }
        if let contentLength, rawBodyTotal >= contentLength { return true }
        if chunked, rawBody.suffix(5).elementsEqual(Array("0\r\n\r\n".utf8)) { return true }
        return rawBodyTotal > bodyLimit && !chunked
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer) throws {
        guard headComplete else {
            head.append(contentsOf: bytes)
            guard let end = Self.find(Array("\r\n\r\n".utf8), in: head) else {
                if head.count > 64 << 10 { throw Invalid(reason: "response head longer than 64 KiB") }
                return
            }
            let rest = Array(head[(end + 4)...])
            try parseHead(Array(head[..<end]))
            headComplete = true
            rest.withUnsafeBytes { appendBody($0) }
            return
        }
        appendBody(bytes)
    }

    private mutating func appendBody(_ bytes: UnsafeRawBufferPointer) {
        rawBodyTotal += bytes.count
        // Chunked bodies keep some slack over the limit for their framing.
        let room = bodyLimit + (chunked ? 4096 : 0) - rawBody.count
        if room > 0 { rawBody.append(contentsOf: bytes.prefix(room)) }
    }

    /// The response once the connection ended or `isComplete`; throws if no complete head arrived.
    func response() throws -> SSHHTTPResponse {
        guard headComplete else {
            throw Invalid(reason: head.isEmpty ? "the connection closed without an answer" : "incomplete response head")
        }
        var body = chunked ? Self.dechunk(rawBody) : rawBody
        var truncated = rawBodyTotal > rawBody.count || body.count > bodyLimit
        if let contentLength, !chunked { truncated = truncated || contentLength > bodyLimit }
        if body.count > bodyLimit { body = Array(body.prefix(bodyLimit)) }
        return SSHHTTPResponse(status: status, headers: headers, body: String(decoding: body, as: UTF8.self), bodyTruncated: truncated)
    }

    private mutating func parseHead(_ bytes: [UInt8]) throws {
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let code = Int(statusParts[1]), (100...999).contains(code) else {
            throw Invalid(reason: "not an HTTP/1.x status line: \(lines[0].prefix(80))")
        }
        status = code
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw Invalid(reason: "header line without a colon: \(line.prefix(80))") }
            let header = SSHHTTPHeader(name: String(line[..<colon]),
                                       value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            headers.append(header)
            switch header.name.lowercased() {
            case "content-length": contentLength = Int(header.value)
            case "transfer-encoding": chunked = header.value.lowercased().contains("chunked")
            default: break
            }
        }
        if status == 204 || status == 304 || (100..<200).contains(status) { contentLength = 0 }
    }

    /// Joins the data of `size CRLF data CRLF` chunks; stops at the last chunk or where the bytes end.
    private static func dechunk(_ raw: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while let lineEnd = find(Array("\r\n".utf8), in: raw, from: index) {
            let sizeText = String(decoding: raw[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
            let start = lineEnd + 2
            let end = min(start + size, raw.count)
            out.append(contentsOf: raw[start..<end])
            index = end + 2
            if index >= raw.count { break }
        }
        return out
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for i in start...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }
}

import Foundation
