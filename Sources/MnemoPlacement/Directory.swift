// The routing table: space → (copies, version). Every request looks its space up here, so the
// lookup is the hot path of the whole cluster and is built for it:
//
// - an open-addressing table with linear probing, power-of-two capacity at most half full, keyed
//   by the 64-bit space id through a Fibonacci multiply (sequential ids spread evenly);
// - each 48-byte slot holds the key and the whole Assignment inline (no second memory access,
//   no pointer to chase, no reference count to touch);
// - the storage is an immutable final class: a Directory value is a snapshot that any number of
//   threads read without locks; changes build a new snapshot with a higher version.
//
// Slot layout (stride 48): key UInt64 @0, copies CopySet (7 × UInt32 + count UInt8) @8,
// version UInt64 @40. A slot whose copies are empty is free.

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
    /// One slot of the table.
    @usableFromInline
    struct Slot: Sendable {
        @usableFromInline var key: UInt64
        @usableFromInline var assignment: Assignment

        @usableFromInline static let empty = Slot(key: 0, assignment: Assignment(copies: CopySet(), version: 0))

        @inlinable init(key: UInt64, assignment: Assignment) {
            self.key = key
            self.assignment = assignment
        }
    }

    /// The immutable table shared by copies of a directory.
    @usableFromInline
    final class Storage: Sendable {
        @usableFromInline let slots: ContiguousArray<Slot>
        @usableFromInline let shift: UInt64
        @usableFromInline let mask: Int
        let count: Int

        init(slots: ContiguousArray<Slot>, count: Int) {
            self.slots = slots
            self.mask = slots.count - 1
            self.shift = UInt64(64 - (slots.count.trailingZeroBitCount))
            self.count = count
        }

        /// The home slot of `key`.
        @inlinable @inline(__always)
        func home(_ key: UInt64) -> Int {
            Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        }

        /// The slot holding `key`, or nil.
        @inlinable
        func slotIndex(_ key: UInt64) -> Int? {
            slots.withUnsafeBufferPointer { slots in
                var i = home(key)
                while true {
                    let slot = slots[i]
                    if slot.assignment.copies.length == 0 { return nil }
                    if slot.key == key { return i }
                    i = (i &+ 1) & mask
                }
            }
        }
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
        var capacity = 16
        while capacity < sorted.count * 2 { capacity *= 2 }
        var slots = ContiguousArray(repeating: Slot.empty, count: capacity)
        let shift = UInt64(64 - capacity.trailingZeroBitCount)
        for (i, (space, copies)) in sorted.enumerated() {
            if i > 0 && sorted[i - 1].0 == space {
                throw PlacementError(.duplicateSpace, "space \(space) appears twice")
            }
            if copies.isEmpty { throw PlacementError(.invalidConfiguration, "space \(space) has no copy") }
            var slot = Int(truncatingIfNeeded: (space.rawValue &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while slots[slot].assignment.copies.length != 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = Slot(key: space.rawValue, assignment: Assignment(copies: copies, version: version))
        }
        self.storage = Storage(slots: slots, count: sorted.count)
        self.version = version
    }

    init(storage: Storage, version: UInt64) {
        self.storage = storage
        self.version = version
    }

    /// An empty directory.
    public init() {
        self.storage = Storage(slots: ContiguousArray(repeating: Slot.empty, count: 16), count: 0)
        self.version = 1
    }

    /// The number of spaces.
    public var count: Int { storage.count }

    /// Whether no space is placed.
    public var isEmpty: Bool { storage.count == 0 }

    /// Where `space` lives, or nil when unknown. Allocation-free and lock-free: a hash, one or two
    /// probes of an immutable table, and a copy of a plain value.
    @inlinable
    public func lookup(_ space: SpaceID) -> Assignment? {
        let storage = self.storage
        let key = space.rawValue
        return storage.slots.withUnsafeBufferPointer { slots in
            var i = storage.home(key)
            while true {
                let slot = slots[i]
                if slot.key == key && slot.assignment.copies.length != 0 { return slot.assignment }
                if slot.assignment.copies.length == 0 { return nil }
                i = (i &+ 1) & storage.mask
            }
        }
    }

    /// Iterates the entries in table order (deterministic for the same contents).
    public struct Iterator: IteratorProtocol {
        let storage: Storage
        var index = 0

        /// The next entry.
        public mutating func next() -> (space: SpaceID, assignment: Assignment)? {
            while index < storage.slots.count {
                let slot = storage.slots[index]
                index += 1
                if slot.assignment.copies.length != 0 {
                    return (SpaceID(rawValue: slot.key), slot.assignment)
                }
            }
            return nil
        }
    }

    /// An iterator over `(space, assignment)` pairs.
    public func makeIterator() -> Iterator { Iterator(storage: storage) }

    /// The number of entries (for `Sequence` algorithms).
    public var underestimatedCount: Int { storage.count }
}
