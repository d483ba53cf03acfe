import Foundation

// A streaming export, as the consumer sees it: an async sequence of byte chunks fed by the C
// export running on a blocking thread (ExportPipe). Dropping it, or cancel(), stops the export.

/// A space's export stream, chunk by chunk, from ``Space/export(chunkBytes:bufferedChunks:)``.
///
/// Iterate it once. While it is iterated the export runs on a thread of its own, at most
/// `bufferedChunks` chunks ahead of the consumer, so memory stays bounded however large the
/// space. The exported space's own writes wait (queued, not lost) until the stream is written,
/// so a consumer should keep reading or stop: ``cancel()`` or releasing the value ends the
/// export at once and lets the space's writes go on.
///
/// ```swift
/// for try await chunk in try await space.export(chunkBytes: 64 * 1024) {
///     try handle.write(contentsOf: chunk)
/// }
/// ```
public final class SpaceExport: AsyncSequence, Sendable {
    /// A chunk of the stream.
    public typealias Element = [UInt8]
    /// The export's errors.
    public typealias Failure = MnemoError

    let pipe: ExportPipe

    init(pipe: ExportPipe) { self.pipe = pipe }

    deinit { pipe.cancel() }

    /// Stops the export: the next chunk ends the sequence with an error, the exporting thread
    /// is released and the space's writes go on.
    public func cancel() { pipe.cancel() }

    /// The iterator over the chunks.
    public struct AsyncIterator: AsyncIteratorProtocol, Sendable {
        /// A chunk of the stream.
        public typealias Element = [UInt8]
        /// The export's errors.
        public typealias Failure = MnemoError

        let export: SpaceExport

        /// The next chunk, nil once the whole stream has been returned.
        /// - Throws: the export's ``MnemoError``.
        public mutating func next() async throws(MnemoError) -> [UInt8]? { try await export.pipe.next() }

        /// The next chunk, nil once the whole stream has been returned.
        /// - Throws: the export's ``MnemoError``.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(MnemoError) -> [UInt8]? {
            try await export.pipe.next()
        }
    }

    /// An iterator over the chunks (iterate once).
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(export: self) }
}
