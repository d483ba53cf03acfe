// An etcd transaction: if every comparison holds, run the success operations, else the failure
// ones, atomically at one revision. This is the only way Mnemo changes shared state (assignments,
// leadership), because comparing a key's mod_revision makes a write conditional on nobody having
// changed it since it was read.
//
// A transaction is NOT idempotent in general and the client never retries one: after a timeout or
// a dropped connection the outcome is unknown. Read it back instead: range the keys it wrote and
// check whether they hold what the transaction would have put (for a compare on mod_revision, a
// value equal to the intended one at a newer mod_revision means it applied). The failure branch
// usually reads the compared keys, so a failed transaction already returns the current state.

/// A compare-then-act transaction.
///
/// ```swift
/// let txn = EtcdTxn(
///     compare: [.modRevision("/k", .equal, 7)],
///     success: [.put("/k", value: Array("new".utf8))],
///     failure: [.get("/k")])
/// let result = try await client.txn(txn)
/// ```
public struct EtcdTxn: Sendable {
    /// How a key's field is compared.
    public enum Comparison: String, Hashable, Sendable {
        /// Equal.
        case equal = "EQUAL"
        /// Not equal.
        case notEqual = "NOT_EQUAL"
        /// The key's field is greater.
        case greater = "GREATER"
        /// The key's field is less.
        case less = "LESS"
    }

    /// One condition on one key. An absent key has revision 0, version 0 and no value.
    public struct Compare: Hashable, Sendable {
        /// The field compared and the operand.
        public enum Target: Hashable, Sendable {
            /// The key's last modification revision.
            case modRevision(Int64)
            /// The key's creation revision (0 when absent).
            case createRevision(Int64)
            /// The key's version (number of changes since creation).
            case version(Int64)
            /// The key's value bytes.
            case value([UInt8])
        }

        /// The key.
        public var key: String
        /// The comparison.
        public var comparison: Comparison
        /// The field and operand.
        public var target: Target

        /// Creates a condition.
        public init(key: String, comparison: Comparison, target: Target) {
            self.key = key
            self.comparison = comparison
            self.target = target
        }

        /// `key`'s mod_revision compared with `revision`.
        public static func modRevision(_ key: String, _ comparison: Comparison = .equal,
                                       _ revision: Int64) -> Compare {
            Compare(key: key, comparison: comparison, target: .modRevision(revision))
        }

        /// `key`'s create_revision compared with `revision` (0 tests absence).
        public static func createRevision(_ key: String, _ comparison: Comparison = .equal,
                                          _ revision: Int64) -> Compare {
            Compare(key: key, comparison: comparison, target: .createRevision(revision))
        }

        /// `key`'s version compared with `version` (0 tests absence).
        public static func version(_ key: String, _ comparison: Comparison = .equal,
                                   _ version: Int64) -> Compare {
            Compare(key: key, comparison: comparison, target: .version(version))
        }

        /// `key`'s value compared with `value`.
        public static func value(_ key: String, _ comparison: Comparison = .equal,
                                 _ value: [UInt8]) -> Compare {
            Compare(key: key, comparison: comparison, target: .value(value))
        }
    }

    /// One operation inside a branch.
    public enum Op: Hashable, Sendable {
        /// Put `value` at `key`, attached to `lease` when non-zero.
        case put(String, value: [UInt8], lease: Int64 = 0)
        /// Read one key.
        case get(String)
        /// Read every key under a prefix.
        case getPrefix(String)
        /// Delete one key.
        case delete(String)
        /// Delete every key under a prefix.
        case deletePrefix(String)
    }

    /// The conditions, all of which must hold.
    public var compare: [Compare]
    /// Operations run when every condition holds.
    public var success: [Op]
    /// Operations run otherwise.
    public var failure: [Op]

    /// Creates a transaction.
    public init(compare: [Compare], success: [Op], failure: [Op] = []) {
        self.compare = compare
        self.success = success
        self.failure = failure
    }
}
