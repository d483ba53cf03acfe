// Proves key configuration: the key-set JSON round-trips (HS256, EdDSA signing and verify-only keys)
// and a round-tripped set verifies tokens the original signed; malformed sets (bad JSON, unknown
// alg, short secret, bad base64url, duplicate or bad kid, missing or verify-only current key,
// mismatched EdDSA halves, too many keys) are refused at load; the admin key is read from a file
// or the environment, trimmed, and refused when short; its comparison rejects near misses.

import Foundation
import Testing
@testable import MnemoServer

@Suite struct AuthKeySetTests {
    private func parse(_ json: String) -> AuthError.Code? {
        do {
            _ = try TokenKeySet(json: Data(json.utf8))
            return nil
        } catch {
            return error.code
        }
    }

    @Test func keySetRoundTripsAndStillVerifies() async throws {
        let ed = try TokenKey.generateEdDSA(id: "ed-1")
        let ed0 = try TokenKey.generateEdDSA(id: "ed-0").verifyOnly
        let set = try TokenKeySet(current: "ed-1", keys: [ed, AuthFixtures.hs256("h.1", fill: 7), ed0])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-keys-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keys.json").path
        try set.jsonData().write(to: URL(fileURLWithPath: path))
        let loaded = try TokenKeySet(contentsOfFile: path)
        #expect(loaded.currentKeyID == "ed-1")
        #expect(loaded.keys.map(\.id) == ["ed-1", "h.1", "ed-0"])
        #expect(loaded.keys.map(\.canSign) == [true, true, false])
        #expect(loaded.jsonData() == set.jsonData())

        let clock = AuthTestClock()
        let original = try await AuthFixtures.authenticator(keys: set, clock: clock)
        let reloaded = try await AuthFixtures.authenticator(keys: loaded, clock: clock)
        let issued = try await AuthFixtures.token(original, space: "a", scopes: [.read])
        _ = try reloaded.authenticate(authorization: "Bearer \(issued.token)")
    }

    @Test func malformedKeySetsAreRefused() throws {
        let k = Base64URL.encode(AuthFixtures.secret(1))
        let d = Base64URL.encode([UInt8](repeating: 9, count: 32))
        #expect(parse(#"{"current":"a","keys":[{"kid":"a","alg":"HS256","k":"\#(k)"}]}"#) == nil)
        let bad = [
            "not json",
            #"{"keys":[]}"#,
            #"{"current":"a","keys":[]}"#,
            #"{"current":"b","keys":[{"kid":"a","alg":"HS256","k":"\#(k)"}]}"#,
            #"{"current":"a","keys":[{"kid":"a","alg":"RS256","k":"\#(k)"}]}"#,
            #"{"current":"a","keys":[{"kid":"a","alg":"HS256","k":"c2hvcnQ"}]}"#,
            #"{"current":"a","keys":[{"kid":"a","alg":"HS256","k":"not base64!"}]}"#,
            #"{"current":"a","keys":[{"kid":"a","alg":"HS256"}]}"#,
            #"{"current":"a","keys":[{"kid":"a","alg":"HS256","k":"\#(k)"},{"kid":"a","alg":"HS256","k":"\#(k)"}]}"#,
            #"{"current":"a b","keys":[{"kid":"a b","alg":"HS256","k":"\#(k)"}]}"#,
            #"{"current":"","keys":[{"kid":"","alg":"HS256","k":"\#(k)"}]}"#,
            #"{"current":"e","keys":[{"kid":"e","alg":"EdDSA"}]}"#,
            #"{"current":"e","keys":[{"kid":"e","alg":"EdDSA","x":"\#(d)"}]}"#,
            #"{"current":"e","keys":[{"kid":"e","alg":"EdDSA","d":"c2hvcnQ"}]}"#,
            #"{"current":"e","keys":[{"kid":"e","alg":"EdDSA","d":"\#(d)","x":"\#(d)"}]}"#,
        ]
        for json in bad {
            #expect(parse(json) == .invalidConfiguration, "\(json)")
        }
        let many = (0...AuthLimits.keySetKeysMax).map { #"{"kid":"k\#($0)","alg":"HS256","k":"\#(k)"}"# }
        #expect(parse(#"{"current":"k0","keys":[\#(many.joined(separator: ","))]}"#) == .invalidConfiguration)
        #expect(throws: AuthError.self) { try TokenKeySet(contentsOfFile: "/nonexistent/keys.json") }
        #expect(throws: AuthError.self) { try TokenKeySet.generated().removing(keyID: "ephemeral") }
    }

    @Test func adminKeyLoadsFromFileOrEnvironment() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-admin-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("admin.key").path
        try Data("\(AuthFixtures.adminKeyText)\n".utf8).write(to: URL(fileURLWithPath: file))

        let fromFile = try #require(try AdminKey.load(file: file, environment: [:]))
        #expect(fromFile.matches(AuthFixtures.adminKeyText))
        let fromEnvironment = try #require(
            try AdminKey.load(file: nil, environment: [AdminKey.environmentVariable: "  env-key-0123456789abcdef "]))
        #expect(fromEnvironment.matches("env-key-0123456789abcdef"))
        // The file wins over the environment.
        let both = try #require(
            try AdminKey.load(file: file, environment: [AdminKey.environmentVariable: "env-key-0123456789abcdef"]))
        #expect(both.matches(AuthFixtures.adminKeyText))
        #expect(try AdminKey.load(file: nil, environment: [:]) == nil)
        #expect(throws: AuthError.self) { try AdminKey.load(file: directory.appendingPathComponent("none").path) }
        #expect(throws: AuthError.self) { try AdminKey("short-key") }
        #expect(try AdminKey(AdminKey.generateText()).matches(AdminKey.generateText()) == false)
    }

    @Test func adminKeyComparisonRejectsNearMisses() throws {
        let key = try AdminKey(AuthFixtures.adminKeyText)
        #expect(key.matches(AuthFixtures.adminKeyText))
        var flipped = Array(AuthFixtures.adminKeyText.utf8)
        for index in [0, flipped.count / 2, flipped.count - 1] {
            flipped[index] ^= 0x20
            #expect(!key.matches(String(decoding: flipped, as: UTF8.self)))
            flipped[index] ^= 0x20
        }
        #expect(!key.matches(""))
        #expect(!key.matches(AuthFixtures.adminKeyText + AuthFixtures.adminKeyText))
        #expect(!key.matches(AuthFixtures.adminKeyText.prefix(16)))
    }
}
