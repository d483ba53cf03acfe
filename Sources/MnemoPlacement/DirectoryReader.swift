// The read side of DirectoryPublisher: a per-task cache of the current snapshot, refreshed only
// when the publisher's generation moves (see DirectoryPublisher.swift for the protocol).

/// A lock-free reader of a ``DirectoryPublisher``: give each task or thread its own.
///
/// ```swift
/// var reader = publisher.reader()
/// for request in requests {
///     guard let assignment = reader.lookup(request.space) else { continue }
///     route(request, to: assignment.primary)
/// }
/// ```
public struct DirectoryReader: Sendable {
    @usableFromInline let publisher: DirectoryPublisher
    @usableFromInline var cached: Directory
    /// The lookup fields of `cached` (kept alive by it).
    @usableFromInline var probe: Directory.Probe

    init(_ publisher: DirectoryPublisher) {
        self.publisher = publisher
        self.cached = publisher.current
        self.probe = cached.storage.probe
    }

    /// The snapshot this reader used last.
    public var snapshot: Directory { cached }

    /// Where `space` lives in the newest published snapshot. Lock-free and allocation-free unless
    /// a new snapshot was published since this reader's last call (then one mutex hold to retain it).
    @inlinable
    public mutating func lookup(_ space: SpaceID) -> Assignment? {
        refreshIfNeeded()
        return probe.lookup(space)
    }

    /// Switches to the newest snapshot if the generation moved.
    @inlinable @inline(__always)
    mutating func refreshIfNeeded() {
        if publisher.generation != cached.version {
            cached = publisher.latest()
            probe = cached.storage.probe
        }
    }
}
