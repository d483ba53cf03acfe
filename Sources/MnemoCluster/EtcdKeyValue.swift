// One key and its value as etcd stores it, with the three revisions that make compare-and-swap
// possible. Keys are UTF-8 strings here (every key Mnemo writes is one); values stay bytes, because
// etcd does not care and the callers encode their own JSON.

/// A key, its value and its revisions.
public struct EtcdKeyValue: Hashable, Sendable {
    /// The key.
    public var key: String
    /// The value's bytes (empty for a delete event).
    public var value: [UInt8]
    /// The revision at which the key was created (0 when absent); stays fixed until deleted.
    public var createRevision: Int64
    /// The revision of the last change to the key.
    public var modRevision: Int64
    /// How many times the key changed since it was created (1 after the first put).
    public var version: Int64
    /// The lease the key is attached to, 0 when none.
    public var lease: Int64

    /// Creates a key-value.
    public init(key: String, value: [UInt8], createRevision: Int64 = 0, modRevision: Int64 = 0,
                version: Int64 = 0, lease: Int64 = 0) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    /// The value decoded as UTF-8.
    public var valueString: String { String(decoding: value, as: UTF8.self) }
}
