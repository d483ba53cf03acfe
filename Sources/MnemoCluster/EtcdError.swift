// The one error type of the etcd client and of everything built on it. etcd's JSON gateway reports
// failures as an HTTP status plus a gRPC status body ({"error", "message", "code"}); the transport
// (async-http-client) reports its own. Both are folded here into a small, matchable code, so a
// caller can tell "retry is safe" (unavailable before sending) from "outcome unknown" (timeout after
// sending a transaction) and can react to a compacted watch by re-reading everything.

/// An error from etcd or from the way to it.
///
/// Match on ``code``; ``message`` is for people. A watch that etcd cancels because its start
/// revision was compacted away throws code ``Code/compacted`` with ``compactRevision`` set: re-read
/// the keys (a range gives a fresh revision) and watch again from that revision + 1.
public struct EtcdError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a value a caller can switch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let rawValue: String

        /// etcd could not be reached, or the connection closed (retrying later may help).
        public static let unavailable = Code(rawValue: "unavailable")
        /// No answer within the request timeout. For a write, the outcome is UNKNOWN: read it back.
        public static let timeout = Code(rawValue: "timeout")
        /// The calling task was cancelled.
        public static let cancelled = Code(rawValue: "cancelled")
        /// The client was shut down.
        public static let shutdown = Code(rawValue: "shutdown")
        /// The requested revision (a range or a watch start) was compacted away.
        public static let compacted = Code(rawValue: "compacted")
        /// The lease does not exist (expired or revoked).
        public static let leaseNotFound = Code(rawValue: "leaseNotFound")
        /// etcd's backend quota is exhausted ("database space exceeded"): compact and defragment.
        public static let quotaExceeded = Code(rawValue: "quotaExceeded")
        /// etcd refused the request as malformed or too large.
        public static let invalidRequest = Code(rawValue: "invalidRequest")
        /// etcd cancelled a watch for a reason other than compaction.
        public static let watchCancelled = Code(rawValue: "watchCancelled")
        /// An answer that could not be decoded (not etcd, or a version that differs).
        public static let badResponse = Code(rawValue: "badResponse")
        /// Any other error etcd returned (``EtcdError/grpcCode`` says which).
        public static let server = Code(rawValue: "server")

        /// The code's name.
        public var description: String { rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A human-readable explanation (etcd's own message where it gave one).
    public var message: String
    /// The gRPC status code etcd returned, when it returned one.
    public var grpcCode: Int?
    /// For ``Code/compacted`` from a watch: the oldest revision still available.
    public var compactRevision: Int64?

    /// Creates an error.
    public init(_ code: Code, _ message: String, grpcCode: Int? = nil, compactRevision: Int64? = nil) {
        self.code = code
        self.message = message
        self.grpcCode = grpcCode
        self.compactRevision = compactRevision
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }

    /// Maps a gRPC status from the gateway to an error. etcd's codes: 5 NotFound (lease), 8
    /// ResourceExhausted (quota), 11 OutOfRange (compacted), 3 InvalidArgument, 14 Unavailable,
    /// 4 DeadlineExceeded.
    static func fromGRPC(code: Int, message: String) -> EtcdError {
        let mapped: Code
        switch code {
        case 11 where message.contains("compacted"): mapped = .compacted
        case 5 where message.contains("lease"): mapped = .leaseNotFound
        case 8: mapped = .quotaExceeded
        case 3: mapped = .invalidRequest
        case 14: mapped = .unavailable
        case 4: mapped = .timeout
        case 1: mapped = .cancelled
        default: mapped = .server
        }
        return EtcdError(mapped, message, grpcCode: code)
    }
}
