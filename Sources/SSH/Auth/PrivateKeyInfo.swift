import Foundation

/// What can be told about a private key file without its passphrase: its type and whether it is encrypted.
/// Used to ask for the passphrase only when needed and to explain refusals (RSA against OpenSSH ≥ 8.8).
struct PrivateKeyInfo: Equatable {
    /// `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, … or nil when the format does not say.
    var type: String?
    var encrypted: Bool
    /// Fingerprint of the public half, when the file holds it (OpenSSH format does, even encrypted).
    var fingerprint: String?

    static func read(path: String) throws -> PrivateKeyInfo {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw SSHError.privateKeyUnusable(path: path, reason: "cannot read it (\(error.localizedDescription))")
        }
        if text.contains("BEGIN OPENSSH PRIVATE KEY") { return openSSHFormat(text) }
        if text.contains("BEGIN RSA PRIVATE KEY") { return PrivateKeyInfo(type: "ssh-rsa", encrypted: text.contains("ENCRYPTED")) }
        if text.contains("BEGIN EC PRIVATE KEY") { return PrivateKeyInfo(type: "ecdsa", encrypted: text.contains("ENCRYPTED")) }
        if text.contains("BEGIN ENCRYPTED PRIVATE KEY") { return PrivateKeyInfo(type: nil, encrypted: true) }
        if text.contains("PRIVATE KEY") { return PrivateKeyInfo(type: nil, encrypted: false) }
        throw SSHError.privateKeyUnusable(path: path, reason: "it is not a private key file (no PRIVATE KEY block)")
    }

    init(type: String?, encrypted: Bool, fingerprint: String? = nil) {
        self.type = type
        self.encrypted = encrypted
        self.fingerprint = fingerprint
    }

    /// `openssh-key-v1\0`, cipher name, kdf name, kdf options, key count, then the public key in clear.
    private static func openSSHFormat(_ text: String) -> PrivateKeyInfo {
        let body = text.split(separator: "\n")
            .filter { !$0.hasPrefix("-----") }
            .joined()
        guard let data = Data(base64Encoded: body) else { return PrivateKeyInfo(type: nil, encrypted: false) }
        let bytes = [UInt8](data)
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard bytes.starts(with: magic) else { return PrivateKeyInfo(type: nil, encrypted: false) }
        var offset = magic.count
        guard let cipher = SSHWire.readString(bytes, &offset),
              SSHWire.readString(bytes, &offset) != nil,
              SSHWire.readString(bytes, &offset) != nil,
              SSHWire.readUInt32(bytes, &offset) != nil,
              let publicBlob = SSHWire.readString(bytes, &offset)
        else { return PrivateKeyInfo(type: nil, encrypted: false) }
        return PrivateKeyInfo(type: SSHWire.keyType(ofBlob: publicBlob),
                              encrypted: String(decoding: cipher, as: UTF8.self) != "none",
                              fingerprint: Digest.fingerprint(ofKeyBlob: publicBlob))
    }
}
