// Publishing directory snapshots to concurrent readers.
//
// Readers must never wait for a writer. A writer publishes a new immutable snapshot under a Mutex
// and then bumps an atomic generation counter (release). Each reader (one per task or thread, see
// DirectoryReader) keeps its own retained snapshot and the generation it came from; on every
// lookup it compares the counter (one acquire load of a read-mostly cache line, no read-modify-
// write, so readers never contend with each other) and only after a publish does it take the mutex
// once to retain the new snapshot. Old snapshots are freed by ARC when their last reader moves on,
// so there is no reclamation scheme to get wrong.
//
// Synchronization table:
//   field        written by           read by                 protected by
//   current      publish() (writers)  refresh (readers, rare) Mutex
//   generation   publish(), after     every reader lookup     Atomic, release store / acquire load
//                `current` is stored

import Synchronization

/// Publishes directory snapshots; many ``DirectoryReader``s read them without locks.
///
/// ```swift
/// let publisher = DirectoryPublisher(try ring.assign(spaces))
/// var reader = publisher.reader()          // one per task
/// let primary = reader.lookup(space)?.primary
/// try publisher.publish(try publisher.current.applying(moves))
/// ```
public final class DirectoryPublisher: Sendable {
    let snapshot: Mutex<Directory>
    @usableFromInline let generationCounter: Atomic<UInt64>

    /// Creates a publisher with an initial snapshot.
    public init(_ initial: Directory) {
        self.snapshot = Mutex(initial)
        self.generationCounter = Atomic(initial.version)
    }

    /// The current snapshot (takes the mutex; use a ``DirectoryReader`` on hot paths).
    public var current: Directory { snapshot.withLock { $0 } }

    /// The current snapshot for a reader: out of line, so the mutex code stays out of the
    /// reader's lookup loop and the reader's snapshot can live in registers.
    @usableFromInline @inline(never)
    func latest() -> Directory { current }

    /// The version of the current snapshot (lock-free).
    @inlinable
    public var generation: UInt64 { generationCounter.load(ordering: .acquiring) }

    /// Publishes `directory` as the current snapshot.
    ///
    /// - Throws: `.invalidConfiguration` when its version is not above the current one (versions
    ///   only grow).
    public func publish(_ directory: Directory) throws(PlacementError) {
        let accepted = snapshot.withLock { current -> Bool in
            guard directory.version > current.version else { return false }
            current = directory
            generationCounter.store(directory.version, ordering: .releasing)
            return true
        }
        if !accepted {
            throw PlacementError(.invalidConfiguration, "directory version \(directory.version) does not grow")
        }
    }

    /// A reader holding the current snapshot.
    public func reader() -> DirectoryReader { DirectoryReader(self) }
}
