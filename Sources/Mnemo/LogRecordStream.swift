import Foundation

// A space's log records since a sequence, as the consumer sees them: an async sequence of
// LogRecordBatch fed by the C seam's read running on a blocking thread (through an ExportPipe
// of whole-frame chunks). Dropping it, or cancel(), stops the read and lets checkpoints run.

/// A space's log records above a sequence, batch by batch, from
/// ``Space/logRecords(after:batchBytes:)``.
///
/// Iterate it once. The read runs on a thread of its own, at most a few batches ahead of the
/// consumer; checkpoints of the database wait until it is read to its end, cancelled or
/// released, so a consumer should keep reading or stop.
///
/// ```swift
/// for try await batch in try await space.logRecords(after: copied) {
///     try await send(batch.bytes)
/// }
/// ```
public final class LogRecordStream: AsyncSequence, Sendable {
    /// A batch of whole frames.
    public typealias Element = LogRecordBatch
    /// The read's errors.
    public typealias Failure = MnemoError

    let pipe: ExportPipe

    init(pipe: ExportPipe) { self.pipe = pipe }

    deinit { pipe.cancel() }

    /// Stops the read: the next batch ends the sequence with an error and checkpoints go on.
    public func cancel() { pipe.cancel() }

    /// The iterator over the batches.
    public struct AsyncIterator: AsyncIteratorProtocol, Sendable {
        /// A batch of whole frames.
        public typealias Element = LogRecordBatch
        /// The read's errors.
        public typealias Failure = MnemoError

        let stream: LogRecordStream

        /// The next batch, nil once every record has been returned.
        /// - Throws: the read's ``MnemoError``.
        public mutating func next() async throws(MnemoError) -> LogRecordBatch? {
            try await stream.pipe.next().map(LogRecordBatch.init(frames:))
        }

        /// The next batch, nil once every record has been returned.
        /// - Throws: the read's ``MnemoError``.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(MnemoError) -> LogRecordBatch? {
            try await stream.pipe.next().map(LogRecordBatch.init(frames:))
        }
    }

    /// An iterator over the batches (iterate once).
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }
}
