// What a transaction did: which branch ran, each operation's answer in order, and the revision the
// transaction committed at (for a successful put, that revision is the key's new mod_revision).

/// The outcome of ``EtcdClient/txn(_:)``.
public struct EtcdTxnResult: Hashable, Sendable {
    /// The answer of one operation of the branch that ran.
    public enum OpResult: Hashable, Sendable {
        /// A read's key-values.
        case range(EtcdRangeResult)
        /// A put's revision.
        case put(revision: Int64)
        /// How many keys a delete removed.
        case delete(deleted: Int64)
    }

    /// Whether every comparison held (the success branch ran).
    public var succeeded: Bool
    /// The store revision after the transaction (the writes' revision when it wrote).
    public var revision: Int64
    /// One answer per operation of the branch that ran, in order.
    public var responses: [OpResult]

    /// Creates a result.
    public init(succeeded: Bool, revision: Int64, responses: [OpResult]) {
        self.succeeded = succeeded
        self.revision = revision
        self.responses = responses
    }

    /// The key-values of the `index`-th operation when it was a read, else empty.
    public func kvs(at index: Int) -> [EtcdKeyValue] {
        guard index < responses.count, case .range(let range) = responses[index] else { return [] }
        return range.kvs
    }
}
