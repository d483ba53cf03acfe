// The clockwise walk that turns a hash into copies, and the assignment of many spaces at once,
// with or without bounded loads.

extension Ring {
    /// Walks clockwise from `position` and returns up to `copies` distinct node *indices*.
    ///
    /// Nodes for which `isFull` is true are passed over. In rack-aware mode a node whose rack is
    /// already used is deferred; deferred nodes fill the remaining copies, in clockwise order, only
    /// when no unused rack is left. The walk visits each virtual node at most once.
    @usableFromInline
    func walk(from position: UInt64, copies wanted: Int, isFull: (Int) -> Bool) -> CopySet {
        let total = positions.count
        var index = firstPoint(atOrAfter: position)
        var picked = CopySet()
        var pickedRacks = CopySet()
        var deferred = CopySet()
        let rackAware = configuration.rackAware && rackCount > 1
        owners.withUnsafeBufferPointer { owners in
            for _ in 0..<total {
                let node = Int(owners[index])
                index &+= 1
                if index == total { index = 0 }
                let id = NodeID(rawValue: UInt32(node))
                if picked.contains(id) || deferred.contains(id) || isFull(node) { continue }
                let rack = NodeID(rawValue: racks[node])
                if !rackAware || !pickedRacks.contains(rack) {
                    picked.append(id)
                    if rackAware { pickedRacks.append(rack) }
                    if picked.count == wanted { return }
                } else if deferred.count + picked.count < wanted {
                    deferred.append(id)
                }
                if rackAware && pickedRacks.count == rackCount && picked.count + deferred.count >= wanted {
                    return
                }
            }
        }
        for node in deferred where picked.count < wanted { picked.append(node) }
        return picked
    }

    /// Assigns every space and returns the resulting directory (version 1).
    ///
    /// Without ``RingConfiguration/loadBound`` each space gets ``copies(for:)``. With a bound ε,
    /// spaces are placed in ring order (by hash, then id, so the result does not depend on the
    /// order of `spaces`) and a node holding ⌈(1 + ε) × copies × capacity / total capacity⌉
    /// copies is full: the walk passes over it to the next node clockwise.
    ///
    /// ```swift
    /// let directory = try ring.assign((0..<10_000).map { SpaceID(rawValue: $0) })
    /// ```
    ///
    /// - Throws: `.duplicateSpace` when a space is listed twice.
    public func assign(_ spaces: [SpaceID]) throws(PlacementError) -> Directory {
        let rf = configuration.replicationFactor
        guard let bound = configuration.loadBound else {
            var entries: [(SpaceID, CopySet)] = []
            entries.reserveCapacity(spaces.count)
            for space in spaces { entries.append((space, copies(for: space))) }
            return try Directory(entries)
        }
        let totalCapacity = nodes.reduce(0) { $0 + $1.capacity }
        let totalCopies = Double(spaces.count * rf)
        let caps = nodes.map { Int(((1 + bound) * totalCopies * $0.capacity / totalCapacity).rounded(.up)) }
        var load = [Int](repeating: 0, count: nodes.count)
        let ordered = spaces.map { (hash: hash(of: $0), space: $0) }
            .sorted { $0.hash != $1.hash ? $0.hash < $1.hash : $0.space < $1.space }
        var entries: [(SpaceID, CopySet)] = []
        entries.reserveCapacity(spaces.count)
        for (position, space) in ordered {
            var indices = walk(from: position, copies: rf) { load[$0] >= caps[$0] }
            if indices.count < rf {
                // Every node with room is already used: overflow to the plain successors.
                for extra in walk(from: position, copies: rf, isFull: { _ in false })
                where indices.count < rf && !indices.contains(extra) {
                    indices.append(extra)
                }
            }
            for index in indices { load[Int(index.rawValue)] += 1 }
            entries.append((space, nodeIDs(indices)))
        }
        return try Directory(entries)
    }
}
