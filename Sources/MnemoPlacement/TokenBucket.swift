// A token bucket over virtual time: the byte-rate limit of one move priority.
//
// Continuous form: over an interval of `seconds`, what may be sent is the tokens in the bucket
// plus what the rate adds during the interval; unused tokens stay, up to the bucket's depth.
// By induction, everything granted up to time t is at most depth + rate × t, in every run.

/// A byte-rate limiter with a burst allowance.
///
/// ```swift
/// var bucket = TokenBucket(bytesPerSecond: 10_000_000, burstSeconds: 1)
/// let granted = bucket.take(50_000_000, over: 2)   // 10 MB burst + 20 MB refill = 30 MB
/// ```
public struct TokenBucket: Sendable {
    /// Bytes added per second (nil: unlimited).
    public let bytesPerSecond: Double?
    /// The bucket's depth in bytes.
    public let depth: Double
    /// Tokens available now.
    public private(set) var tokens: Double
    /// Bytes granted since creation.
    public private(set) var granted: Double = 0

    /// Creates a full bucket holding `burstSeconds` of rate.
    public init(bytesPerSecond: Double?, burstSeconds: Double) {
        self.bytesPerSecond = bytesPerSecond
        self.depth = (bytesPerSecond ?? 0) * burstSeconds
        self.tokens = depth
    }

    /// Grants up to `requested` bytes to be sent during the next `seconds`.
    public mutating func take(_ requested: Double, over seconds: Double) -> Double {
        guard let rate = bytesPerSecond else {
            granted += requested
            return requested
        }
        let available = tokens + rate * max(0, seconds)
        let given = min(max(0, requested), available)
        tokens = min(depth, available - given)
        granted += given
        return given
    }
}
