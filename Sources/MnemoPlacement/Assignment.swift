// One directory entry: where a space lives and since which directory version. A plain value (no
// references), so copying it out of the directory is a few loads and never touches the heap.

/// Where a space lives: its copies (primary first) and the directory version that last set them.
///
/// ```swift
/// if let a = directory.lookup(space) {
///     send(request, to: a.primary)
/// }
/// ```
public struct Assignment: Hashable, Sendable {
    /// The nodes holding the space, primary first.
    public var copies: CopySet
    /// The directory version at which these copies were set; it only grows.
    public var version: UInt64

    /// Creates an entry.
    @inlinable
    public init(copies: CopySet, version: UInt64) {
        self.copies = copies
        self.version = version
    }

    /// The primary node (every stored assignment has at least one copy).
    @inlinable
    public var primary: NodeID { copies[0] }

    /// The replica nodes, after the primary.
    @inlinable
    public var replicas: CopySet.SubSequence { copies.replicas }
}
