/// Random identifiers for this machine's records (deploy ids, tokens, read-script nonces): `bytes` random bytes
/// as lower-case hex, two digits each.
public func randomHex(bytes: Int) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes * 2)
    for _ in 0..<bytes {
        let byte = UInt8.random(in: 0...255)
        text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]]
    }
    return String(decoding: text, as: UTF8.self)
}
