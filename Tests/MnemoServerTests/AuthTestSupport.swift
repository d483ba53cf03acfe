// Helpers shared by the Auth* suites: a clock tests can move, fixed key sets, and token surgery
// (re-encoding a token's header or payload while keeping its signature) to build tampered tokens.

import Foundation
import Testing
import Synchronization
@testable import MnemoServer

/// A clock the tests set by hand.
final class AuthTestClock: Sendable {
    private let time: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        time = Mutex(start)
    }

    var now: Date { time.withLock { $0 } }

    func advance(seconds: TimeInterval) {
        time.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    var closure: @Sendable () -> Date { { [self] in self.now } }
}

enum AuthFixtures {
    static let adminKeyText = "admin-key-for-tests-0123456789abcdef"

    static func secret(_ fill: UInt8) -> [UInt8] { [UInt8](repeating: fill, count: 32) }

    static func hs256(_ id: String, fill: UInt8) throws -> TokenKey {
        try TokenKey.hs256(id: id, secret: secret(fill))
    }

    static func keySet(_ id: String = "k1", fill: UInt8 = 1) throws -> TokenKeySet {
        try TokenKeySet(current: id, keys: [hs256(id, fill: fill)])
    }

    static func authenticator(keys: TokenKeySet, clock: AuthTestClock) async throws -> Authenticator {
        await Authenticator(adminKey: try AdminKey(adminKeyText), keys: keys, now: clock.closure)
    }

    /// Issues a token as the admin.
    static func token(_ authenticator: Authenticator, space: String? = nil, prefix: String? = nil,
                      scopes: [Scope], ttl: Int = 600) async throws -> TokenResponse {
        try await authenticator.issueToken(
            TokenRequest(space: space, prefix: prefix, scopes: scopes, ttlSeconds: ttl, subject: "test"),
            by: .admin)
    }

    /// The token's three segments.
    static func segments(_ token: String) -> [String] {
        token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    /// A segment's JSON object.
    static func json(_ segment: String) throws -> [String: Any] {
        let bytes = try #require(Base64URL.decode(segment))
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    /// A JSON object as a base64url segment.
    static func segment(_ object: [String: Any]) throws -> String {
        Base64URL.encode(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// The token with its payload changed by `edit`, the original header and signature kept.
    static func editingPayload(_ token: String, _ edit: (inout [String: Any]) -> Void) throws -> String {
        let parts = segments(token)
        var payload = try json(parts[1])
        edit(&payload)
        return [parts[0], try segment(payload), parts[2]].joined(separator: ".")
    }

    /// The token with its header changed by `edit`, the original payload and signature kept.
    static func editingHeader(_ token: String, _ edit: (inout [String: Any]) -> Void) throws -> String {
        let parts = segments(token)
        var header = try json(parts[0])
        edit(&header)
        return [try segment(header), parts[1], parts[2]].joined(separator: ".")
    }

    /// The token with the first byte of its signature flipped.
    static func flippingSignature(_ token: String) throws -> String {
        let parts = segments(token)
        var signature = try #require(Base64URL.decode(parts[2]))
        signature[0] ^= 0x01
        return [parts[0], parts[1], Base64URL.encode(signature)].joined(separator: ".")
    }
}
