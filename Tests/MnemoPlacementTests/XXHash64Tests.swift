// Proves that the pure-Swift XXH64 is bit-identical to the system libxxhash (the C core's hash)
// for every length from 0 to 300 bytes (all tail paths: <4, 4..7, 8..31, ≥32 stripes) and many
// seeds, and that the 8-byte fast path and the string overload agree with the general one.

import CXXHash
import MnemoPlacement
import Testing

@Suite("XXHash64 against libxxhash")
struct XXHash64Tests {
    static let seeds: [UInt64] = [0, 1, 42, 0x9E37_79B9_7F4A_7C15, UInt64.max, 0xDEAD_BEEF]

    @Test("matches XXH64 for lengths 0...300", arguments: seeds)
    func matchesLibrary(seed: UInt64) {
        var rng = SplitMix64(seed: seed ^ 0x1234)
        let bytes = (0..<300).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for length in 0...300 {
            let prefix = Array(bytes[0..<length])
            let expected = prefix.withUnsafeBytes { XXH64($0.baseAddress, length, seed) }
            #expect(XXHash64.hash(prefix, seed: seed) == expected, "length \(length) seed \(seed)")
        }
    }

    @Test("8-byte fast path equals the general path and the library", arguments: seeds)
    func fastPath(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<200 {
            let value = rng.next()
            let bytes = withUnsafeBytes(of: value.littleEndian) { Array($0) }
            let expected = bytes.withUnsafeBytes { XXH64($0.baseAddress, 8, seed) }
            #expect(XXHash64.hash(value, seed: seed) == expected)
            #expect(XXHash64.hash(bytes, seed: seed) == expected)
        }
    }

    @Test("strings hash their UTF-8 bytes; SpaceID(name:) uses seed 0")
    func strings() {
        for name in ["", "a", "agent-42/episodic", "épisodique — 記憶", String(repeating: "x", count: 77)] {
            let utf8 = Array(name.utf8)
            let expected = utf8.withUnsafeBytes { XXH64($0.baseAddress, utf8.count, 0) }
            #expect(XXHash64.hash(name) == expected)
            #expect(SpaceID(name: name).rawValue == expected)
        }
    }

    @Test("known vector: XXH64 of the empty input with seed 0")
    func knownVector() {
        #expect(XXHash64.hash([UInt8](), seed: 0) == 0xEF46_DB37_51D8_E999)
    }
}
