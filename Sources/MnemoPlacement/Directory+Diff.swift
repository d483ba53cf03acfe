// The difference between two directories as moves: what a transfer layer must do to go from one
// routing table to the other. Used to count data movement of any placement scheme the same way.

extension Directory {
    /// The moves that turn this directory into `target`.
    ///
    /// For each space whose copy set differs, copies only in this directory are paired, in order,
    /// with copies only in `target`; unpaired ones become pure drops or pure additions. Spaces only
    /// in one directory are ignored. Moves are sorted by space id; their priority is `.low` and
    /// their bytes come from `workload` (0 when none is given).
    ///
    /// ```swift
    /// let moved = before.diff(after).count
    /// ```
    public func diff(_ target: Directory, workload: Workload? = nil) -> [Move] {
        var moves: [Move] = []
        for (space, assignment) in self {
            guard let other = target.lookup(space) else { continue }
            let old = assignment.copies
            let new = other.copies
            if old == new { continue }
            let removed = old.filter { !new.contains($0) }
            let added = new.filter { !old.contains($0) }
            let bytes = workload?[space].bytes ?? 0
            for i in 0..<Swift.max(removed.count, added.count) {
                let from = i < removed.count ? removed[i] : nil
                let to = i < added.count ? added[i] : nil
                moves.append(Move(space: space, from: from, to: to,
                                  source: old.first { !removed.contains($0) } ?? from,
                                  bytes: to == nil ? 0 : bytes, priority: .low))
            }
        }
        moves.sort { $0.space != $1.space ? $0.space < $1.space : ($0.from?.rawValue ?? 0) < ($1.from?.rawValue ?? 0) }
        return moves
    }
}
