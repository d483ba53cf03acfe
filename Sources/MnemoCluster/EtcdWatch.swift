// A watch as an async sequence of batches. etcd's gateway answers POST /v3/watch with one response
// that never ends: newline-separated JSON objects, one per WatchResponse. A task owned by the watch
// reads that body chunk by chunk, cuts it into lines, and turns each into a batch of events; the
// "created" line is swallowed, a "canceled" line ends the sequence with a typed error (`compacted`
// when etcd names a compact_revision, so the caller re-reads and re-watches), and a stream that
// ends for any reason ends the sequence with `unavailable`: a watch never just stops silently.
//
// Cancelling (`cancel()`, or cancelling the task that iterates) cancels the HTTP request, which
// closes its connection; the sequence then finishes without an error.

import Synchronization

/// Changes to a key or a prefix, in revision order, as they happen.
///
/// ```swift
/// let watch = client.watch(prefix: "/mnemo/a/", fromRevision: snapshot.revision + 1)
/// for try await batch in watch {
///     for event in batch.events { apply(event) }
/// }
/// ```
public final class EtcdWatch: AsyncSequence, Sendable {
    /// The events etcd sent in one message; all share the stream's order.
    public struct Batch: Hashable, Sendable {
        /// The store revision when etcd sent the batch.
        public var revision: Int64
        /// The changes, in revision order.
        public var events: [EtcdEvent]

        /// Creates a batch.
        public init(revision: Int64, events: [EtcdEvent]) {
            self.revision = revision
            self.events = events
        }
    }

    /// The sequence's element.
    public typealias Element = Batch
    /// The sequence's error.
    public typealias Failure = EtcdError

    private let stream: AsyncThrowingStream<Batch, any Error>
    private let task: Mutex<Task<Void, Never>?>

    init(stream: AsyncThrowingStream<Batch, any Error>) {
        self.stream = stream
        self.task = Mutex(nil)
    }

    func attach(_ producer: Task<Void, Never>) {
        task.withLock { $0 = producer }
    }

    /// Stops the watch: the HTTP request is cancelled and iteration finishes.
    public func cancel() {
        task.withLock { $0?.cancel() }
    }

    deinit {
        task.withLock { $0?.cancel() }
    }

    /// Iterates the batches.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<Batch, any Error>.AsyncIterator
        // Keeps the watch (and so its request) alive while someone iterates.
        let owner: EtcdWatch

        /// The next batch, nil once the watch was cancelled.
        public mutating func next() async throws(EtcdError) -> Batch? {
            do {
                return try await base.next()
            } catch let error as EtcdError {
                throw error
            } catch {
                throw EtcdError(.cancelled, "watch ended: \(error)")
            }
        }
    }

    /// Starts iterating.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), owner: self)
    }
}
