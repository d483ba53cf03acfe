// The answer to a range read: the key-values and the store revision they were read at. The revision
// is what a caller watches from (revision + 1) to see every later change without a gap.

/// The result of reading one key or a prefix.
public struct EtcdRangeResult: Hashable, Sendable {
    /// The store's revision when the read was served (or the revision asked for).
    public var revision: Int64
    /// The key-values found, sorted by key.
    public var kvs: [EtcdKeyValue]
    /// How many keys matched (may exceed `kvs.count` when a limit applied).
    public var count: Int64
    /// Whether more keys matched than were returned.
    public var more: Bool

    /// Creates a range result.
    public init(revision: Int64, kvs: [EtcdKeyValue], count: Int64, more: Bool) {
        self.revision = revision
        self.kvs = kvs
        self.count = count
        self.more = more
    }

    /// The first key-value, for a single-key read.
    public var first: EtcdKeyValue? { kvs.first }
}
