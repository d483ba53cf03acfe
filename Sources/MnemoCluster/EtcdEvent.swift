// A change seen by a watch. etcd's events carry the key-value after a put and only the key and the
// delete revision after a delete; the previous value comes along only when the watch asked for it.

/// One change delivered by a watch.
public struct EtcdEvent: Hashable, Sendable {
    /// The kind of change.
    public enum Kind: String, Hashable, Sendable {
        /// A put (create or update).
        case put
        /// A delete (explicit, or a lease that expired).
        case delete
    }

    /// Put or delete.
    public var kind: Kind
    /// The key-value after the change (for a delete: the key and the delete's `modRevision`).
    public var kv: EtcdKeyValue
    /// The key-value before the change, when the watch was created with `prevKV: true`.
    public var prevKV: EtcdKeyValue?

    /// Creates an event.
    public init(kind: Kind, kv: EtcdKeyValue, prevKV: EtcdKeyValue? = nil) {
        self.kind = kind
        self.kv = kv
        self.prevKV = prevKV
    }
}
