// Building the next directory: moves, explicit updates and failover. Each change copies the slots
// once, points the changed spaces at assignments of the new version (one per distinct copy set)
// and publishes the copy as a new immutable snapshot whose version is one above the old one; only
// changed entries carry the new version. The set of spaces, hence the perfect hash, is shared.

extension Directory {
    /// The directory after `moves`, at version `version + 1`.
    ///
    /// A move replaces its `from` copy by its `to` copy in place (the new copy, caught up, takes
    /// the old one's role). When a Critical move replaces a lost primary, the first surviving
    /// replica becomes primary and the new copy goes last. A move with no `from` adds a copy; one
    /// with no `to` drops one.
    ///
    /// ```swift
    /// let next = try directory.applying(plan.moves)
    /// ```
    ///
    /// - Throws: `.unknownSpace` for a space not in the directory, `.invalidMove` when `from` does
    ///   not hold the space, `to` already does, or the space would be left with no copy,
    ///   `.invalidConfiguration` past 16,777,215 distinct (copies, version) pairs in use.
    public func applying(_ moves: some Sequence<Move>) throws(PlacementError) -> Directory {
        var editor = Editor(self)
        for move in moves {
            let (position, assignment) = try editor.entry(move.space)
            var copies = assignment.copies
            try Directory.apply(move, to: &copies)
            try editor.set(position, to: copies)
        }
        return editor.finish()
    }

    /// Applies one move to a copy set (see ``applying(_:)``).
    static func apply(_ move: Move, to copies: inout CopySet) throws(PlacementError) {
        if let to = move.to, copies.contains(to) {
            throw PlacementError(.invalidMove, "\(to) already holds \(move.space)")
        }
        if let from = move.from {
            guard let position = copies.position(of: from) else {
                throw PlacementError(.invalidMove, "\(from) does not hold \(move.space)")
            }
            if let to = move.to {
                if position == 0 && move.priority == .critical && copies.count > 1 {
                    copies.remove(at: 0)
                    copies.append(to)
                } else {
                    copies[position] = to
                }
            } else {
                guard copies.count > 1 else {
                    throw PlacementError(.invalidMove, "dropping \(from) leaves \(move.space) with no copy")
                }
                copies.remove(at: position)
            }
        } else if let to = move.to {
            guard copies.count < CopySet.capacity else {
                throw PlacementError(.invalidMove, "\(move.space) already has \(CopySet.capacity) copies")
            }
            copies.append(to)
        }
    }

    /// The directory with the given spaces set to new copies, at version `version + 1`.
    ///
    /// - Throws: `.unknownSpace`, or `.invalidConfiguration` for an empty copy set or past
    ///   16,777,215 distinct (copies, version) pairs in use.
    public func updating(_ changes: [(SpaceID, CopySet)]) throws(PlacementError) -> Directory {
        var editor = Editor(self)
        for (space, copies) in changes {
            let (position, _) = try editor.entry(space)
            if copies.isEmpty { throw PlacementError(.invalidConfiguration, "space \(space) has no copy") }
            try editor.set(position, to: copies)
        }
        return editor.finish()
    }

    /// The directory with every copy on a node of `dead` moved behind the live copies, so each
    /// space whose primary died is served by its first surviving replica at once (no data moves).
    /// Spaces with no copy on `dead`, or with no live copy at all, are unchanged.
    ///
    /// ```swift
    /// let routed = try directory.failingOver([3])
    /// ```
    public func failingOver(_ dead: Set<NodeID>) throws(PlacementError) -> Directory {
        var changes: [(SpaceID, CopySet)] = []
        for (space, assignment) in self where dead.contains(assignment.primary) {
            let live = assignment.copies.filter { !dead.contains($0) }
            if live.isEmpty { continue }
            changes.append((space, CopySet(live + assignment.copies.filter { dead.contains($0) })))
        }
        return try updating(changes)
    }

    /// A copy of a snapshot's slots being edited into the next version (or, from slots that
    /// point at no assignment yet, a new directory being filled).
    struct Editor {
        let hash: SpaceHash
        let version: UInt64
        var slots: ContiguousArray<UInt64>
        var assignments: ContiguousArray<Assignment>
        /// The assignments of the new version, by copy set.
        var fresh: [CopySet: Int] = [:]
        /// How many assignments were in use at the last compaction.
        var compacted: Int

        init(hash: SpaceHash, slots: ContiguousArray<UInt64>, assignments: ContiguousArray<Assignment>,
             compacted: Int, version: UInt64)
        {
            self.hash = hash
            self.slots = slots
            self.assignments = assignments
            self.compacted = compacted
            self.version = version
        }

        /// An editor of the snapshot after `directory`.
        init(_ directory: Directory) {
            let base = directory.storage
            self.init(hash: base.hash,
                      slots: ContiguousArray(base.slots), assignments: ContiguousArray(base.assignments),
                      compacted: base.compactedCount, version: directory.version + 1)
        }

        /// The position and current assignment of `space`.
        ///
        /// - Throws: `.unknownSpace` when it is not in the directory.
        func entry(_ space: SpaceID) throws(PlacementError) -> (Int, Assignment) {
            guard let position = hash.position(of: space.rawValue) else {
                throw PlacementError(.unknownSpace, "space \(space) is not in the directory")
            }
            return (position, assignments[Int(truncatingIfNeeded: slots[position] & Storage.indexMask)])
        }

        /// Points `position` at `copies` with the new version.
        ///
        /// - Throws: `.invalidConfiguration` when more than ``Storage/maxAssignments`` distinct
        ///   assignments would be in use.
        mutating func set(_ position: Int, to copies: CopySet) throws(PlacementError) {
            let index: Int
            if let known = fresh[copies] {
                index = known
            } else {
                if assignments.count > Storage.maxAssignments { compact() }
                guard assignments.count <= Storage.maxAssignments else {
                    throw PlacementError(.invalidConfiguration,
                                         "more than \(Storage.maxAssignments) distinct assignments in use")
                }
                index = assignments.count
                fresh[copies] = index
                assignments.append(Assignment(copies: copies, version: version))
            }
            slots[position] = slots[position] & ~Storage.indexMask | UInt64(index)
        }

        /// Drops the assignments no slot points at and renumbers the rest.
        mutating func compact() {
            var remap = [Int](repeating: 0, count: assignments.count)
            var kept: ContiguousArray<Assignment> = [assignments[0]]
            for i in slots.indices {
                let old = Int(truncatingIfNeeded: slots[i] & Storage.indexMask)
                if old != 0 && remap[old] == 0 {
                    remap[old] = kept.count
                    kept.append(assignments[old])
                }
                slots[i] = slots[i] & ~Storage.indexMask | UInt64(remap[old])
            }
            fresh = fresh.compactMapValues { remap[$0] == 0 ? nil : remap[$0] }
            assignments = kept
            compacted = kept.count
        }

        /// The new snapshot, compacted first once unused assignments outnumber the ones in use
        /// at the last compaction.
        mutating func finish() -> Directory {
            if assignments.count > 2 * compacted + 1024 { compact() }
            return Directory(storage: Storage(hash: hash, slots: slots, assignments: assignments,
                                              compactedCount: compacted), version: version)
        }
    }
}
