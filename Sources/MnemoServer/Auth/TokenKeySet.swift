// The keys tokens are signed and verified with, for rotation: new tokens are signed with the current
// key; a token signed by any key in the set verifies until its key is removed. Rotating is: add a new
// key and make it current (old tokens keep working), wait out the longest token lifetime, remove the
// old key. The file format is JWK-like JSON:
//
//   {"current": "2026-12",
//    "keys": [{"kid": "2026-12", "alg": "HS256", "k": "<base64url secret, >= 32 bytes>"},
//             {"kid": "2026-11", "alg": "HS256", "k": "..."},
//             {"kid": "ed-1", "alg": "EdDSA", "d": "<base64url 32-byte private key>"},
//             {"kid": "ed-0", "alg": "EdDSA", "x": "<base64url 32-byte public key>"}]}

import Foundation

/// A set of token keys, one of them current.
public struct TokenKeySet: Sendable {
    /// The id of the key new tokens are signed with.
    public let currentKeyID: String
    /// Every key tokens may be verified with, the current one included.
    public let keys: [TokenKey]

    /// Creates a set.
    /// - Throws: ``AuthError`` `invalidConfiguration` when empty, over ``AuthLimits/keySetKeysMax``
    ///   keys, with a repeated key id, or when `current` is absent or cannot sign.
    public init(current: String, keys: [TokenKey]) throws(AuthError) {
        guard !keys.isEmpty, keys.count <= AuthLimits.keySetKeysMax else {
            throw AuthError.invalidConfiguration("a key set holds 1 to \(AuthLimits.keySetKeysMax) keys")
        }
        guard Set(keys.map(\.id)).count == keys.count else {
            throw AuthError.invalidConfiguration("a key set repeats a key id")
        }
        guard let key = keys.first(where: { $0.id == current }) else {
            throw AuthError.invalidConfiguration("the current key \(current) is not in the key set")
        }
        guard key.canSign else {
            throw AuthError.invalidConfiguration("the current key \(current) is verify-only")
        }
        currentKeyID = current
        self.keys = keys
    }

    /// A set of one fresh random HS256 key: tokens it signs die with the process. For `--dev` and
    /// for servers started without a key file (which should say so loudly).
    public static func generated(keyID: String = "ephemeral") throws(AuthError) -> TokenKeySet {
        try TokenKeySet(current: keyID, keys: [TokenKey.generateHS256(id: keyID)])
    }

    /// This set with `key` added and made current; the old keys still verify.
    public func rotated(to key: TokenKey) throws(AuthError) -> TokenKeySet {
        try TokenKeySet(current: key.id, keys: [key] + keys)
    }

    /// This set without the key `id` (which must not be the current one).
    public func removing(keyID id: String) throws(AuthError) -> TokenKeySet {
        try TokenKeySet(current: currentKeyID, keys: keys.filter { $0.id != id })
    }

    private struct FileKey: Codable {
        let kid: String
        let alg: String
        var k: String?
        var d: String?
        var x: String?
    }

    private struct File: Codable {
        let current: String
        let keys: [FileKey]
    }

    /// Parses the key-set JSON shown at the top of this file.
    /// - Throws: ``AuthError`` `invalidConfiguration` naming what is wrong (never a secret).
    public init(json: Data) throws(AuthError) {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: json)
        } catch {
            throw AuthError.invalidConfiguration(
                "the key set is not JSON of the form {\"current\": kid, \"keys\": [{\"kid\", \"alg\", \"k\" | \"d\" | \"x\"}]}")
        }
        var keys: [TokenKey] = []
        for entry in file.keys {
            func bytes(_ field: String?, _ name: String) throws(AuthError) -> [UInt8]? {
                guard let field else { return nil }
                guard let decoded = Base64URL.decode(field) else {
                    throw AuthError.invalidConfiguration("key \(entry.kid): \(name) is not base64url")
                }
                return decoded
            }
            switch TokenKey.Algorithm(rawValue: entry.alg) {
            case .hs256:
                guard let secret = try bytes(entry.k, "k") else {
                    throw AuthError.invalidConfiguration("key \(entry.kid): an HS256 key needs \"k\"")
                }
                keys.append(try TokenKey.hs256(id: entry.kid, secret: secret))
            case .eddsa:
                if let privateKey = try bytes(entry.d, "d") {
                    let key = try TokenKey.eddsa(id: entry.kid, privateKey: privateKey)
                    if let publicKey = try bytes(entry.x, "x"),
                       case .eddsaPrivate(let material) = key.material,
                       Array(material.publicKey.rawRepresentation) != publicKey {
                        throw AuthError.invalidConfiguration("key \(entry.kid): \"x\" is not the public half of \"d\"")
                    }
                    keys.append(key)
                } else if let publicKey = try bytes(entry.x, "x") {
                    keys.append(try TokenKey.eddsa(id: entry.kid, publicKey: publicKey))
                } else {
                    throw AuthError.invalidConfiguration("key \(entry.kid): an EdDSA key needs \"d\" or \"x\"")
                }
            case nil:
                throw AuthError.invalidConfiguration("key \(entry.kid): alg must be HS256 or EdDSA")
            }
        }
        try self.init(current: file.current, keys: keys)
    }

    /// Reads and parses a key-set file.
    /// - Throws: ``AuthError`` `invalidConfiguration` when it cannot be read, is larger than
    ///   ``AuthLimits/keySetFileBytesMax`` or does not parse.
    public init(contentsOfFile path: String) throws(AuthError) {
        let failure = AuthError.invalidConfiguration(
            "cannot read the key set \(path) (at most \(AuthLimits.keySetFileBytesMax) bytes)")
        guard let handle = FileHandle(forReadingAtPath: path) else { throw failure }
        defer { try? handle.close() }
        // Read at most one byte past the limit, so a huge file is refused without reading it whole.
        guard let data = try? handle.read(upToCount: AuthLimits.keySetFileBytesMax + 1),
              data.count <= AuthLimits.keySetFileBytesMax
        else { throw failure }
        try self.init(json: data)
    }

    /// The set as key-set JSON, secrets included: write it to a file only the server can read.
    public func jsonData() -> Data {
        let entries = keys.map { key -> FileKey in
            switch key.material {
            case .secret(let secret):
                return FileKey(kid: key.id, alg: key.algorithm.rawValue, k: Base64URL.encode(secret))
            case .eddsaPrivate(let privateKey):
                return FileKey(kid: key.id, alg: key.algorithm.rawValue,
                               d: Base64URL.encode(privateKey.rawRepresentation),
                               x: Base64URL.encode(privateKey.publicKey.rawRepresentation))
            case .eddsaPublic(let publicKey):
                return FileKey(kid: key.id, alg: key.algorithm.rawValue,
                               x: Base64URL.encode(publicKey.rawRepresentation))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(File(current: currentKeyID, keys: entries))) ?? Data()
    }
}
