// The routing table: space → (copies, version). Every request looks its space up here, so the
// lookup is the hot path of the whole cluster and is built for it:
//
// - a perfect hash of the directory's spaces (SpaceHash) gives each space its own slot: no probe
//   sequence, so no loop and no branch that waits on a cache miss;
// - a slot is one 64-bit word: the top 40 bits of the space's mixed id (its tag) and a 24-bit
//   index into a small table of distinct assignments (copies and version), so 1,000,000 spaces
//   take 8.2 MB of slots (last-level cache) and the assignments, a few thousand of them, stay in
//   L2. A lookup is: mix, bucket, pilot load, slot load, tag compare, assignment load;
// - the storage is an immutable final class: a Directory value is a snapshot that any number of
//   threads read without locks; changes copy the slots, edit the copy and publish it as a new
//   snapshot with a higher version. The perfect hash and the id of the space at each position
//   are shared by all snapshots of the same set of spaces.
//
// A space not in the directory lands on some slot too; it is reported unknown because its tag
// differs, except with probability 2⁻⁴⁰ for an id not chosen to collide (one whose mixed value
// shares its top 40 bits with the id in the slot it lands on). Lookups of spaces in the directory
// are always exact; ``contains(_:)`` and every change compare the full id.

/// A versioned, immutable map from space to ``Assignment``: the routing table.
///
/// Starts from a ring's assignment (``Ring/assign(_:)``) and records the planner's moves
/// (``applying(_:)``), so balance can be exact rather than statistical. Versions only grow.
///
/// ```swift
/// let directory = try ring.assign(spaces)
/// if let assignment = directory.lookup(spaces[0]) {
///     print(assignment.primary, assignment.version)
/// }
/// let next = try directory.applying(plan.moves)
/// precondition(next.version > directory.version)
/// ```
public struct Directory: Sendable, Sequence {
    /// The immutable slots and assignments of one snapshot.
    @usableFromInline
    final class Storage: @unchecked Sendable {
        // @unchecked: the buffers are filled in init and only read afterwards.

        /// Bits of a slot that index the assignment table; the rest is the tag.
        @usableFromInline static let indexBits: UInt64 = 24
        /// Mask of the index bits.
        @usableFromInline static let indexMask: UInt64 = (1 << indexBits) - 1
        /// The most distinct assignments a snapshot can index (index 0 means "empty").
        static let maxAssignments = Int(indexMask)

        /// Where each space sits.
        let hash: SpaceHash
        /// What a lookup reads: the hash's pilots and sizes, and this snapshot's slots (per
        /// position: tag, the top 40 bits of the mixed id, | assignment index; 0 when empty) and
        /// distinct assignments (index 0 is a placeholder), both owned by this object.
        @usableFromInline let probe: Probe
        /// The number of entries in the assignment table, placeholder included.
        let assignmentCount: Int
        /// How many assignments were in use when the table was last compacted.
        let compactedCount: Int

        init(hash: SpaceHash, slots: ContiguousArray<UInt64>, assignments: ContiguousArray<Assignment>,
             compactedCount: Int)
        {
            precondition(slots.count == Int(hash.slotCount) && assignments.count >= 1)
            let slotPointer = UnsafeMutablePointer<UInt64>.allocate(capacity: slots.count)
            _ = UnsafeMutableBufferPointer(start: slotPointer, count: slots.count).initialize(from: slots)
            let assignmentPointer = UnsafeMutablePointer<Assignment>.allocate(capacity: assignments.count)
            _ = UnsafeMutableBufferPointer(start: assignmentPointer, count: assignments.count).initialize(from: assignments)
            self.hash = hash
            self.probe = Probe(hash: hash, slots: slotPointer, assignments: assignmentPointer)
            self.assignmentCount = assignments.count
            self.compactedCount = compactedCount
        }

        deinit {
            UnsafeMutablePointer(mutating: probe.slots).deallocate()
            UnsafeMutablePointer(mutating: probe.assignments).deallocate()
        }

        /// The slot words, one per position.
        var slots: UnsafeBufferPointer<UInt64> { UnsafeBufferPointer(start: probe.slots, count: Int(hash.slotCount)) }

        /// The assignment table, placeholder first.
        var assignments: UnsafeBufferPointer<Assignment> {
            UnsafeBufferPointer(start: probe.assignments, count: assignmentCount)
        }

        /// The slot word for a space whose mixed id is `mixed`, pointing at assignment `index`.
        static func word(mixed: UInt64, index: Int) -> UInt64 {
            mixed & ~indexMask | UInt64(index)
        }

        /// The assignment index stored at `position` (0 when empty).
        func index(at position: Int) -> Int { Int(truncatingIfNeeded: slots[position] & Storage.indexMask) }
    }

    @usableFromInline let storage: Storage
    /// The directory's version: above every entry's version; it only grows.
    public let version: UInt64

    /// Creates a directory from explicit entries, all at `version`.
    ///
    /// - Throws: `.duplicateSpace` when a space appears twice, `.invalidConfiguration` when an
    ///   entry has no copy or `version` is 0.
    public init(_ entries: [(SpaceID, CopySet)], version: UInt64 = 1) throws(PlacementError) {
        guard version >= 1 else { throw PlacementError(.invalidConfiguration, "version must be ≥ 1") }
        let sorted = entries.sorted { $0.0 < $1.0 }
        for i in sorted.indices {
            if i > 0 && sorted[i - 1].0 == sorted[i].0 {
                throw PlacementError(.duplicateSpace, "space \(sorted[i].0) appears twice")
            }
            if sorted[i].1.isEmpty { throw PlacementError(.invalidConfiguration, "space \(sorted[i].0) has no copy") }
        }
        let hash = SpaceHash(sorted.map(\.0.rawValue))
        var slots = ContiguousArray<UInt64>(repeating: 0, count: Int(hash.slotCount))
        var positions: [Int] = []
        positions.reserveCapacity(sorted.count)
        for (space, _) in sorted {
            let mixed = hash.mix(space.rawValue)
            positions.append(hash.position(mixed))
            slots[positions[positions.count - 1]] = Storage.word(mixed: mixed, index: 0)
        }
        var editor = Editor(hash: hash, slots: slots, assignments: [Assignment(copies: CopySet(), version: 0)],
                            compacted: 1, version: version)
        for (position, (_, copies)) in zip(positions, sorted) { try editor.set(position, to: copies) }
        self = editor.finish()
    }

    init(storage: Storage, version: UInt64) {
        self.storage = storage
        self.version = version
    }

    /// An empty directory.
    public init() {
        let hash = SpaceHash([])
        self.storage = Storage(hash: hash, slots: ContiguousArray(repeating: 0, count: Int(hash.slotCount)),
                               assignments: [Assignment(copies: CopySet(), version: 0)], compactedCount: 1)
        self.version = 1
    }

    /// The number of spaces.
    public var count: Int { storage.hash.count }

    /// Whether no space is placed.
    public var isEmpty: Bool { storage.hash.count == 0 }

    /// Where `space` lives, or nil when it is not in the directory. Allocation-free, lock-free and
    /// loop-free: a few multiplies, a pilot load, a slot load, a compare and a copy of a plain
    /// value. Exact for every space in the directory; an id that is not in it is reported unknown
    /// except with probability 2⁻⁴⁰ for ids not chosen to collide (use ``contains(_:)`` for an
    /// exact answer).
    @inlinable
    public func lookup(_ space: SpaceID) -> Assignment? {
        withExtendedLifetime(storage) { storage.probe.lookup(space) }
    }

    /// The fields a lookup reads, copied out of a snapshot into a plain value so that a loop of
    /// lookups (a ``DirectoryReader``'s) keeps them in registers. Valid while the snapshot lives.
    @usableFromInline
    struct Probe: @unchecked Sendable {
        // @unchecked: the pointers reach immutable buffers owned by the snapshot the holder keeps.
        @usableFromInline let pilots: UnsafePointer<UInt16>
        @usableFromInline let bucketShift: UInt64
        @usableFromInline let slotCount: UInt64
        @usableFromInline let seed: UInt64
        @usableFromInline let slots: UnsafePointer<UInt64>
        @usableFromInline let assignments: UnsafePointer<Assignment>

        init(hash: SpaceHash, slots: UnsafeMutablePointer<UInt64>, assignments: UnsafeMutablePointer<Assignment>) {
            pilots = UnsafePointer(hash.pilots)
            bucketShift = hash.bucketShift
            slotCount = hash.slotCount
            seed = hash.seed
            self.slots = UnsafePointer(slots)
            self.assignments = UnsafePointer(assignments)
        }

        /// See ``Directory/lookup(_:)``.
        @inlinable @inline(__always)
        func lookup(_ space: SpaceID) -> Assignment? {
            let mixed = SpaceHash.mix(space.rawValue, seed: seed)
            let pilot = pilots[SpaceHash.bucket(mixed, shift: bucketShift)]
            let word = slots[SpaceHash.position(mixed, pilot: pilot, of: slotCount)]
            // word − tag − 1 is the index − 1 when the tags match, and ≥ 2²⁴ − 1 when they
            // differ or the slot is empty (index 0): one compare for both checks.
            let indexLessOne = word &- (mixed & ~Storage.indexMask) &- 1
            guard indexLessOne < Storage.indexMask else { return nil }
            return assignments[Int(truncatingIfNeeded: indexLessOne) &+ 1]
        }
    }

    /// Whether `space` is in the directory (exact: compares the full id).
    public func contains(_ space: SpaceID) -> Bool { position(of: space) != nil }

    /// The slot of `space`, or nil when it is not in the directory.
    func position(of space: SpaceID) -> Int? { storage.hash.position(of: space.rawValue) }

    /// The number of slots (positions run from 0 to this, exclusive).
    var slotCount: Int { Int(storage.hash.slotCount) }

    /// The entry at `position`, or nil when the slot is empty.
    func entry(at position: Int) -> (space: SpaceID, assignment: Assignment)? {
        let index = storage.index(at: position)
        guard index != 0 else { return nil }
        return (SpaceID(rawValue: storage.hash.keys[position]), storage.assignments[index])
    }

    /// Iterates the entries in slot order (deterministic for the same contents).
    public struct Iterator: IteratorProtocol {
        let directory: Directory
        var position = 0

        /// The next entry.
        public mutating func next() -> (space: SpaceID, assignment: Assignment)? {
            while position < directory.slotCount {
                defer { position += 1 }
                if let entry = directory.entry(at: position) { return entry }
            }
            return nil
        }
    }

    /// An iterator over `(space, assignment)` pairs.
    public func makeIterator() -> Iterator { Iterator(directory: self) }

    /// The number of entries (for `Sequence` algorithms).
    public var underestimatedCount: Int { count }
}
