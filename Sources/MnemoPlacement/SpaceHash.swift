// A perfect hash over the directory's spaces, built once per set of spaces and shared by every
// snapshot of that set, so that a lookup is two loads with no probing loop and no branch on a
// cache miss (PTHash, Pibiri & Trani, SIGIR 2021, with 16-bit pilots):
//
// - a space id is mixed to m = (id ⊕ seed) × φ (a bijection for a given seed); its bucket is the
//   top bits of m ⊕ m << 29, among B buckets, the power of two with spaces / B in (2, 4] (a shift
//   on the lookup path, not a multiply). The xorshift matters: with the top bits of m alone,
//   sequential ids fill the buckets evenly (Fibonacci hashing is low-discrepancy), and evenly
//   sized buckets are the hard case for the pilot search;
// - each bucket has a 16-bit pilot; the space's position among P = ⌈spaces / loadFactor⌉ slots
//   is ⌊h × P / 2⁶⁴⌋ with h = (m ⊕ pilot × c₁) × c₂: keys of one bucket differ in many bits of
//   m, so their positions move independently from one pilot to the next. (Not so for ids whose
//   mixed values differ in a single bit: their distance is the same for every pilot. Making the
//   pilot enter the multiplier too fixes that but costs 0.3–0.4 ns per lookup at 1,000,000
//   spaces; such ids only cost a retry, see below, and the tests build them);
// - the build takes buckets from the largest down and gives each the first pilot that sends all
//   its spaces to free, distinct positions (large buckets go first, while the table is empty).
//   If some bucket finds no pilot, the build starts again with another seed and 3% more slots.
//   The seed is what keeps chosen ids harmless: ids picked (say, by brute-forcing space names)
//   to crowd one bucket, or to sit one bit apart, under one seed are spread by the next.
//
// The pilots (2 bytes per 2–4 spaces) mostly stay in the L2 cache; the slot array the directory
// keeps per snapshot is 8 bytes × P, so 1,000,000 spaces fit in 8.2 MB of last-level cache.
// `keys` and `occupied` record which space sits where; only the cold paths (updates, iteration)
// read them.

/// The position of every space of a fixed set: a perfect hash that fills 97% of its slots.
@usableFromInline
final class SpaceHash: @unchecked Sendable {
    // @unchecked: every stored property is written in init only; the buffers are then read-only.

    /// The most spaces per bucket, on average. (With 6 or more per bucket, some mid-sized buckets
    /// find no 16-bit pilot at this load.)
    static let keysPerBucket = 4
    /// Spaces per slot on the first attempt: 3% of the slots stay empty so that the last buckets
    /// find pilots quickly.
    static let loadFactor = 0.97
    /// Attempts, each with a new seed and 3% more slots, after which the build stops. Unreachable:
    /// the first attempt succeeds for random, sequential and strided ids of every size the tests
    /// try; crafted ids need one more.
    static let maxAttempts = 64
    /// A bucket this large under some seed means crafted ids (P(≥ 40) is below 10⁻¹⁹ per bucket
    /// for random ones): the build takes the next seed at once instead of searching pilots.
    static let maxBucketSize = 40

    /// φ × 2⁶⁴ (odd, so multiplying by it is a bijection).
    @usableFromInline static let keyMultiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
    @usableFromInline static let pilotMultiplier: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let positionMultiplier: UInt64 = 0xFF51_AFD7_ED55_8CCD

    /// One 16-bit pilot per bucket.
    @usableFromInline let pilots: UnsafeMutablePointer<UInt16>
    /// 64 − log₂(bucketCount).
    @usableFromInline let bucketShift: UInt64
    /// The number of slots (≥ 1).
    @usableFromInline let slotCount: UInt64
    /// The seed of the key mix (0 unless the first attempt failed).
    @usableFromInline let seed: UInt64
    /// The space id at each occupied position.
    let keys: UnsafeMutablePointer<UInt64>
    /// One bit per position: set where a space sits.
    let occupied: [UInt64]
    /// The number of spaces.
    let count: Int

    /// The number of buckets: a power of two, at least 2.
    var bucketCount: Int { 1 << (64 - Int(bucketShift)) }

    /// The mixed key of `space` under `seed`: a bijection, so distinct spaces never share it.
    @inlinable @inline(__always)
    static func mix(_ space: UInt64, seed: UInt64) -> UInt64 { (space ^ seed) &* keyMultiplier }

    /// The bucket of a mixed key.
    @inlinable @inline(__always)
    static func bucket(_ mixed: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (mixed ^ mixed &<< 29) &>> shift)
    }

    /// The position of a mixed key under `pilot` among `slots`.
    @inlinable @inline(__always)
    static func position(_ mixed: UInt64, pilot: UInt16, of slots: UInt64) -> Int {
        let h = (mixed ^ UInt64(pilot) &* pilotMultiplier) &* positionMultiplier
        return Int(truncatingIfNeeded: h.multipliedFullWidth(by: slots).high)
    }

    /// The mixed key of `space` in this hash.
    func mix(_ space: UInt64) -> UInt64 { SpaceHash.mix(space, seed: seed) }

    /// The position of a mixed key (where the space sits if it is in the set).
    func position(_ mixed: UInt64) -> Int {
        SpaceHash.position(mixed, pilot: pilots[SpaceHash.bucket(mixed, shift: bucketShift)], of: slotCount)
    }

    /// The position of `space`, or nil when it is not in the set (exact: compares the full id).
    func position(of space: UInt64) -> Int? {
        let p = position(mix(space))
        return isOccupied(p) && keys[p] == space ? p : nil
    }

    /// Whether a space sits at `position`.
    func isOccupied(_ position: Int) -> Bool { occupied[position >> 6] >> UInt64(position & 63) & 1 != 0 }

    /// Builds the hash of `spaces` (distinct ids; the caller checks).
    init(_ spaces: [UInt64]) {
        let count = spaces.count
        var buckets = 2
        while buckets * SpaceHash.keysPerBucket < count { buckets *= 2 }
        let shift = UInt64(64 - buckets.trailingZeroBitCount)
        let pilots = UnsafeMutablePointer<UInt16>.allocate(capacity: buckets)
        var slots = max(1, Int((Double(count) / SpaceHash.loadFactor).rounded(.up)))
        var seeds = SplitMix64(seed: 0)
        var seed: UInt64 = 0
        var attempt = 1
        var occupied = SpaceHash.search(spaces, seed: seed, shift: shift, slots: slots, pilots: pilots)
        while occupied == nil {
            precondition(attempt < SpaceHash.maxAttempts, "no perfect hash for \(count) spaces")
            attempt += 1
            seed = seeds.next()
            slots += (slots + 32) / 33
            occupied = SpaceHash.search(spaces, seed: seed, shift: shift, slots: slots, pilots: pilots)
        }
        self.count = count
        self.pilots = pilots
        self.bucketShift = shift
        self.slotCount = UInt64(slots)
        self.seed = seed
        self.occupied = occupied ?? []
        self.keys = .allocate(capacity: slots)
        keys.initialize(repeating: 0, count: slots)
        for space in spaces { keys[position(mix(space))] = space }
    }

    deinit {
        pilots.deallocate()
        keys.deallocate()
    }

    /// Finds a pilot for every bucket; returns the occupied bitmap, or nil when some bucket has
    /// no pilot. Static, so it runs before `self` is initialised.
    private static func search(_ spaces: [UInt64], seed: UInt64, shift: UInt64, slots: Int,
                               pilots: UnsafeMutablePointer<UInt16>) -> [UInt64]?
    {
        let buckets = 1 << (64 - Int(shift))
        let slotCount = UInt64(slots)
        // Group the mixed keys by bucket (counting sort).
        var start = [Int](repeating: 0, count: buckets + 1)
        for space in spaces { start[bucket(mix(space, seed: seed), shift: shift) + 1] += 1 }
        var largest = 0
        for b in 0..<buckets {
            largest = max(largest, start[b + 1])
            start[b + 1] += start[b]
        }
        if largest > maxBucketSize { return nil }
        var fill = start
        var grouped = [UInt64](repeating: 0, count: spaces.count)
        for space in spaces {
            let m = mix(space, seed: seed)
            let b = bucket(m, shift: shift)
            grouped[fill[b]] = m
            fill[b] += 1
        }
        // Buckets from the largest down (counting sort by size, ties by bucket index).
        var bySize = [[Int32]](repeating: [], count: largest + 1)
        for b in 0..<buckets { bySize[start[b + 1] - start[b]].append(Int32(b)) }
        var taken = [UInt64](repeating: 0, count: (slots + 63) / 64)
        pilots.initialize(repeating: 0, count: buckets)
        var chosen = [Int](repeating: 0, count: max(1, largest))
        for size in stride(from: largest, through: 1, by: -1) {
            for b in bySize[size] {
                let keys = grouped[start[Int(b)]..<start[Int(b) + 1]]
                var found = false
                pilotLoop: for pilot in 0...UInt16.max {
                    var n = 0
                    for m in keys {
                        let p = position(m, pilot: pilot, of: slotCount)
                        if taken[p >> 6] >> UInt64(p & 63) & 1 != 0 { continue pilotLoop }
                        for i in 0..<n where chosen[i] == p { continue pilotLoop }
                        chosen[n] = p
                        n += 1
                    }
                    for i in 0..<n { taken[chosen[i] >> 6] |= 1 << UInt64(chosen[i] & 63) }
                    pilots[Int(b)] = pilot
                    found = true
                    break
                }
                if !found { return nil }
            }
        }
        return taken
    }
}
