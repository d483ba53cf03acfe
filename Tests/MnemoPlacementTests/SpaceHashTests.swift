// Proves the directory's perfect hash: every space of the set gets its own slot, whatever the id
// pattern (random, sequential, strided, or crafted: ids whose mixed values differ in a single bit,
// the hard case for the position mix, and ids that all fall in one bucket, as an attacker
// brute-forcing space names could make them); ids outside the set are never found by the exact
// probe; and the sizes are the advertised ones (a power-of-two number of buckets with 2 to 4
// spaces each, 1 slot per 0.97 spaces, one retry for crafted ids).

@testable import MnemoPlacement
import Testing

/// The multiplicative inverse of an odd 64-bit number (Newton's iteration, 6 steps for 64 bits).
func inverse(_ odd: UInt64) -> UInt64 {
    var x = odd
    for _ in 0..<6 { x = x &* (2 &- odd &* x) }
    return x
}

/// The id whose mixed value under `seed` is `mixed`.
func unmix(_ mixed: UInt64, seed: UInt64 = 0) -> UInt64 {
    mixed &* inverse(SpaceHash.keyMultiplier) ^ seed
}

enum IDPattern: String, CaseIterable, CustomTestStringConvertible {
    case random, sequential, strided, oneBitApart, oneBucket

    var testDescription: String { rawValue }

    func ids(_ count: Int) -> [UInt64] {
        switch self {
        case .random: return makeSpaces(count, seed: 11).map(\.rawValue)
        case .sequential: return (0..<count).map { UInt64($0) }
        case .strided: return (0..<count).map { UInt64($0) << 32 }
        case .oneBitApart:
            // Pairs whose mixed values (seed 0) differ only in bit (i mod 40): one bucket, one
            // tag above the flipped bit.
            var rng = SplitMix64(seed: 5)
            var ids: [UInt64] = []
            while ids.count < count {
                let m = rng.next()
                ids.append(unmix(m))
                if ids.count < count { ids.append(unmix(m ^ (1 << UInt64(ids.count % 40)))) }
            }
            return ids
        case .oneBucket:
            // Mixed values (seed 0) that share their top 24 bits: all in one bucket, as ids
            // brute-forced to crowd one bucket would be.
            var rng = SplitMix64(seed: 6)
            return (0..<count).map { _ in unmix(0xABCD_EF00_0000_0000 | rng.next() >> 24) }
        }
    }
}

@Suite("SpaceHash")
struct SpaceHashTests {
    @Test("every space gets its own slot", arguments: IDPattern.allCases, [0, 1, 2, 3, 7, 100, 4_096, 30_000])
    func perfect(pattern: IDPattern, count: Int) {
        let ids = pattern.ids(count)
        #expect(Set(ids).count == count)
        let hash = SpaceHash(ids)
        #expect(hash.count == count)
        #expect(Int(hash.slotCount) >= count)
        // First attempt for ordinary ids; crafted ids may need one retry (new seed, 3% more slots).
        let crafted = pattern == .oneBitApart || pattern == .oneBucket
        #expect(Double(hash.slotCount) <= (Double(count) / SpaceHash.loadFactor + 1) * (crafted ? 1.04 : 1) + 1)
        if !crafted { #expect(hash.seed == 0) }
        #expect(hash.bucketCount.nonzeroBitCount == 1 && hash.bucketCount >= 2)
        #expect(hash.bucketCount * 4 >= count && (hash.bucketCount == 2 || hash.bucketCount * 2 < count))
        var seen = Set<Int>()
        for id in ids {
            let p = hash.position(hash.mix(id))
            #expect(p >= 0 && p < Int(hash.slotCount))
            #expect(seen.insert(p).inserted)
            #expect(hash.position(of: id) == p)
            #expect(hash.keys[p] == id)
        }
        #expect((0..<Int(hash.slotCount)).filter(hash.isOccupied).count == count)
    }

    @Test("unmix inverts mix")
    func unmixInverts() {
        for id in makeSpaces(1_000, seed: 13).map(\.rawValue) + [0, 1, .max] {
            for seed: UInt64 in [0, 0x1234_5678_9ABC_DEF1] { #expect(unmix(SpaceHash.mix(id, seed: seed), seed: seed) == id) }
        }
    }

    @Test("ids outside the set are not found, even those one bit apart from a member")
    func exactMisses() {
        let ids = IDPattern.random.ids(2_000)
        let hash = SpaceHash(ids)
        let members = Set(ids)
        let strangers = makeSpaces(2_000, seed: 12).map(\.rawValue)
            + ids.map { unmix(hash.mix($0) ^ 1, seed: hash.seed) }
        for id in strangers where !members.contains(id) {
            #expect(hash.position(of: id) == nil)
        }
    }
}
