// An in-memory executor that checks the make-before-break invariant: it tracks the live copies of
// every space it touches and records the fewest copies any space had after any event.

/// A ``MoveExecutor`` that copies nothing but keeps score: live copies per space, bytes copied,
/// and any moment a space had fewer live copies than the replication factor because of a move.
///
/// ```swift
/// var executor = SimulatedExecutor(directory: directory, dead: [3], replicationFactor: 3)
/// let report = try RebalanceRunner().run(plan, directory: directory, executor: &executor)
/// assert(executor.violations == 0)
/// ```
public struct SimulatedExecutor: MoveExecutor, Sendable {
    let directory: Directory
    let dead: Set<NodeID>
    let replicationFactor: Int
    var live: [SpaceID: CopySet] = [:]
    var copied: [Move: UInt64] = [:]
    /// Bytes copied in all.
    public private(set) var copiedBytes: UInt64 = 0
    /// Moves finished.
    public private(set) var finished = 0
    /// Times a move left a space below the replication factor while it had the factor before.
    public private(set) var violations = 0
    /// The fewest live copies any touched space had after a finish.
    public private(set) var minimumLiveCopies = Int.max

    /// Creates an executor over `directory`, with the copies on `dead` nodes already lost.
    public init(directory: Directory, dead: Set<NodeID> = [], replicationFactor: Int) {
        self.directory = directory
        self.dead = dead
        self.replicationFactor = replicationFactor
    }

    mutating func liveCopies(_ space: SpaceID) throws(PlacementError) -> CopySet {
        if let copies = live[space] { return copies }
        guard let assignment = directory.lookup(space) else {
            throw PlacementError(.unknownSpace, "space \(space) is not in the directory")
        }
        let copies = CopySet(assignment.copies.filter { !dead.contains($0) })
        live[space] = copies
        return copies
    }

    /// Checks the move's endpoints and opens it.
    public mutating func start(_ move: Move) throws(PlacementError) {
        let copies = try liveCopies(move.space)
        if let to = move.to, copies.contains(to) || dead.contains(to) {
            throw PlacementError(.executorFailed, "cannot add \(to) to \(move.space)")
        }
        if let source = move.source, !copies.contains(source) {
            throw PlacementError(.executorFailed, "source \(source) does not hold \(move.space)")
        }
        copied[move] = 0
    }

    /// Copies `min(bytes, remaining)`.
    public mutating func transfer(_ move: Move, upTo bytes: UInt64) throws(PlacementError) -> MoveProgress {
        guard let done = copied[move] else {
            throw PlacementError(.executorFailed, "move \(move) was not started")
        }
        let step = min(bytes, move.bytes - done)
        copied[move] = done + step
        copiedBytes += step
        return MoveProgress(copiedBytes: done + step, caughtUp: done + step == move.bytes)
    }

    /// Adds the new copy, then drops the old one, and checks the copy count.
    public mutating func finish(_ move: Move) throws(PlacementError) {
        guard let done = copied.removeValue(forKey: move), done == move.bytes else {
            throw PlacementError(.executorFailed, "move \(move) finished before catching up")
        }
        var copies = try liveCopies(move.space)
        let before = copies.count
        if let to = move.to { copies.append(to) }
        if let from = move.from, let position = copies.position(of: from) { copies.remove(at: position) }
        if copies.count < replicationFactor && before >= replicationFactor { violations += 1 }
        minimumLiveCopies = min(minimumLiveCopies, copies.count)
        live[move.space] = copies
        finished += 1
    }
}
