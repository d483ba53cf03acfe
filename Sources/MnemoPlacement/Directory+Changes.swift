// Building the next directory: moves, explicit updates and failover. Each change copies the table
// once (a memcpy of the slots), edits the copy in place and publishes it as a new immutable
// snapshot whose version is one above the old one; only changed entries carry the new version.

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
    ///   not hold the space, `to` already does, or the space would be left with no copy.
    public func applying(_ moves: some Sequence<Move>) throws(PlacementError) -> Directory {
        let next = version + 1
        var slots = storage.slots
        for move in moves {
            guard let index = storage.slotIndex(move.space.rawValue) else {
                throw PlacementError(.unknownSpace, "space \(move.space) is not in the directory")
            }
            var assignment = slots[index].assignment
            try Directory.apply(move, to: &assignment.copies)
            assignment.version = next
            slots[index].assignment = assignment
        }
        return Directory(storage: Storage(slots: slots, count: storage.count), version: next)
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
    /// - Throws: `.unknownSpace`, or `.invalidConfiguration` for an empty copy set.
    public func updating(_ changes: [(SpaceID, CopySet)]) throws(PlacementError) -> Directory {
        let next = version + 1
        var slots = storage.slots
        for (space, copies) in changes {
            guard let index = storage.slotIndex(space.rawValue) else {
                throw PlacementError(.unknownSpace, "space \(space) is not in the directory")
            }
            if copies.isEmpty { throw PlacementError(.invalidConfiguration, "space \(space) has no copy") }
            slots[index].assignment = Assignment(copies: copies, version: next)
        }
        return Directory(storage: Storage(slots: slots, count: storage.count), version: next)
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
}
