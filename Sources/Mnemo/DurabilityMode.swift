/// When a durable ``Database`` acknowledges a write (see <doc:WorkerModel> and
/// `docs/durability.md`).
///
/// Every write of a database opened with ``Database/init(path:options:)`` goes to a
/// write-ahead log first; the mode decides when that log is forced to disk.
///
/// ```swift
/// var options = DatabaseOptions()
/// options.durability = .batched(milliseconds: 10)
/// let database = try await Database(path: "/var/lib/mnemo", options: options)
/// ```
public enum DurabilityMode: Sendable, Hashable {
    /// Acknowledged after `fdatasync`: nothing acknowledged is lost, even on power loss.
    /// Writes drained together by one worker share one `fdatasync` (group commit).
    case sync
    /// Acknowledged after the log write; `fdatasync` at most every `milliseconds`
    /// (1 ... 10,000). A power loss may lose the acknowledged writes of that window; a
    /// process crash loses nothing.
    case batched(milliseconds: Int)
    /// Never `fdatasync`: survives a process crash (the page cache keeps the log), not a
    /// power loss.
    case none
}
