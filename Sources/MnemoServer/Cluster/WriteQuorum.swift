// WriteQuorum: how many copies of a space must hold a write durably before it is acknowledged
// (docs/consistency.md). `one`: the primary's own log; a primary lost before its log reached a
// replica loses the writes it acknowledged since. `majority`: more than half of the space's copies
// (the primary and, with three copies, one replica); failover promotes the live replica with the
// highest durable sequence, which holds every write a majority acknowledged while a majority of
// the copies survives. The cluster sets a default (`--write-quorum`); a request may ask for
// another with the `Mnemo-Write-Quorum` header, which the router hands to the write as a task
// local value.

/// How many copies acknowledge a write.
public enum WriteQuorum: String, Sendable, Hashable, CaseIterable {
    /// The primary alone.
    case one
    /// More than half of the space's copies.
    case majority

    /// Copies (the primary included) that must hold a write, of `copies`.
    public func required(copies: Int) -> Int {
        switch self {
        case .one: 1
        case .majority: copies / 2 + 1
        }
    }

    /// The quorum the current request asked for (nil: the cluster's default).
    @TaskLocal static var requested: WriteQuorum?
}
