import CCrypto
import Foundation

/// The digests host-key handling needs, from the OpenSSL that libssh2 is built on.
enum Digest {
    static func sha256(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { openclaw_sha256(input.baseAddress, input.count, $0.baseAddress) }
        }
        return out
    }

    static func hmacSHA1(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer {
                    _ = openclaw_hmac_sha1(k.baseAddress, Int32(k.count), d.baseAddress, d.count, $0.baseAddress)
                }
            }
        }
        return out
    }

    /// A key's fingerprint as OpenSSH prints it: `SHA256:` and unpadded base64.
    static func fingerprint(ofKeyBlob blob: [UInt8]) -> String {
        let encoded = Data(sha256(blob)).base64EncodedString()
        return "SHA256:" + encoded.replacingOccurrences(of: "=", with: "")
    }
}

/// Reading the SSH wire format (RFC 4251 `string`s) out of key blobs.
enum SSHWire {
    /// The first `string` of a public-key blob: its type, such as `ssh-ed25519`.
    static func keyType(ofBlob blob: [UInt8]) -> String? {
        var offset = 0
        return readString(blob, &offset).map { String(decoding: $0, as: UTF8.self) }
    }

    static func readString(_ bytes: [UInt8], _ offset: inout Int) -> [UInt8]? {
        guard let length = readUInt32(bytes, &offset), length <= bytes.count - offset else { return nil }
        defer { offset += Int(length) }
        return Array(bytes[offset..<offset + Int(length)])
    }

    static func readUInt32(_ bytes: [UInt8], _ offset: inout Int) -> UInt32? {
        guard offset >= 0, bytes.count - offset >= 4 else { return nil }
        defer { offset += 4 }
        return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
