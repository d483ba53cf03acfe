// One token-signing key with its key id (`kid`): an HS256 secret, an Ed25519 private key (signs and
// verifies) or an Ed25519 public key (verifies only, for a key retired from signing or held by
// another node). The material is checked when the key is made, so a bad key file fails at start,
// not on the first request.

import Foundation
import JWTKit

/// A key that signs or verifies tokens, named by its key id.
public struct TokenKey: Sendable {
    /// The JWS algorithm (`alg` header) the key is used with.
    public enum Algorithm: String, Sendable, Codable {
        /// HMAC with SHA-256 over a shared secret.
        case hs256 = "HS256"
        /// Ed25519 signatures.
        case eddsa = "EdDSA"
    }

    enum Material: Sendable {
        case secret([UInt8])
        case eddsaPrivate(EdDSA.PrivateKey)
        case eddsaPublic(EdDSA.PublicKey)
    }

    /// The key id tokens carry in their `kid` header.
    public let id: String
    /// The algorithm the key is used with.
    public let algorithm: Algorithm
    let material: Material

    /// Whether the key can sign (an HS256 secret or an Ed25519 private key).
    public var canSign: Bool {
        if case .eddsaPublic = material { return false }
        return true
    }

    private init(id: String, algorithm: Algorithm, material: Material) throws(AuthError) {
        let allowed = id.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard !id.isEmpty, id.utf8.count <= AuthLimits.keyIDBytesMax, allowed else {
            throw AuthError.invalidConfiguration(
                "a key id is 1 to \(AuthLimits.keyIDBytesMax) characters of A-Z a-z 0-9 - _ .")
        }
        self.id = id
        self.algorithm = algorithm
        self.material = material
    }

    /// An HS256 key.
    /// - Throws: ``AuthError`` `invalidConfiguration` for a bad id or a secret shorter than
    ///   ``AuthLimits/hmacSecretBytesMin`` bytes.
    public static func hs256(id: String, secret: [UInt8]) throws(AuthError) -> TokenKey {
        guard secret.count >= AuthLimits.hmacSecretBytesMin else {
            throw AuthError.invalidConfiguration(
                "key \(id): an HS256 secret must be at least \(AuthLimits.hmacSecretBytesMin) bytes")
        }
        return try TokenKey(id: id, algorithm: .hs256, material: .secret(secret))
    }

    /// An Ed25519 signing key from its 32-byte private scalar.
    /// - Throws: ``AuthError`` `invalidConfiguration` for a bad id or key.
    public static func eddsa(id: String, privateKey: [UInt8]) throws(AuthError) -> TokenKey {
        let key: EdDSA.PrivateKey
        do {
            key = try EdDSA.PrivateKey(d: Base64URL.encode(privateKey), curve: .ed25519)
        } catch {
            throw AuthError.invalidConfiguration("key \(id): not an Ed25519 private key")
        }
        return try TokenKey(id: id, algorithm: .eddsa, material: .eddsaPrivate(key))
    }

    /// An Ed25519 verify-only key from its 32-byte public key.
    /// - Throws: ``AuthError`` `invalidConfiguration` for a bad id or key.
    public static func eddsa(id: String, publicKey: [UInt8]) throws(AuthError) -> TokenKey {
        let key: EdDSA.PublicKey
        do {
            guard publicKey.count == 32 else { throw AuthError.invalidConfiguration("length") }
            key = try EdDSA.PublicKey(x: Base64URL.encode(publicKey), curve: .ed25519)
        } catch {
            throw AuthError.invalidConfiguration("key \(id): not an Ed25519 public key")
        }
        return try TokenKey(id: id, algorithm: .eddsa, material: .eddsaPublic(key))
    }

    /// A new HS256 key with a 32-byte secret from the system's random generator.
    public static func generateHS256(id: String) throws(AuthError) -> TokenKey {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return try hs256(id: id, secret: secret)
    }

    /// A new Ed25519 signing key.
    public static func generateEdDSA(id: String) throws(AuthError) -> TokenKey {
        let key: EdDSA.PrivateKey
        do {
            key = try EdDSA.PrivateKey(curve: .ed25519)
        } catch {
            throw AuthError.invalidConfiguration("cannot generate an Ed25519 key")
        }
        return try TokenKey(id: id, algorithm: .eddsa, material: .eddsaPrivate(key))
    }

    /// The same key without its private half: what a verify-only holder needs. An HS256 key is
    /// returned unchanged (its secret both signs and verifies).
    public var verifyOnly: TokenKey {
        guard case .eddsaPrivate(let key) = material,
              let copy = try? TokenKey(id: id, algorithm: algorithm, material: .eddsaPublic(key.publicKey))
        else { return self }
        return copy
    }

    /// Adds the key to a jwt-kit key collection under its key id.
    func add(to collection: JWTKeyCollection) async {
        let kid = JWKIdentifier(string: id)
        switch material {
        case .secret(let secret):
            await collection.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: kid)
        case .eddsaPrivate(let key):
            await collection.add(eddsa: key, kid: kid)
        case .eddsaPublic(let key):
            await collection.add(eddsa: key, kid: kid)
        }
    }
}
