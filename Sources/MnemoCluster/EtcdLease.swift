// A lease as granted: its id and the TTL etcd actually chose (etcd raises TTLs below its minimum,
// about 1.5 x the election timeout, so callers must use the granted TTL, not the one they asked for).

/// A granted lease.
public struct EtcdLease: Hashable, Sendable {
    /// The lease id (attach keys to it with `put(_:value:lease:)`).
    public var id: Int64
    /// The TTL in seconds that etcd granted.
    public var ttl: Int64

    /// Creates a lease value.
    public init(id: Int64, ttl: Int64) {
        self.id = id
        self.ttl = ttl
    }
}
