// A run of a space's log records in their wire form (frames), as Space.logRecords(after:) hands
// them out and Space.applyLogRecords(_:) takes them: what a space move or a replica ships.

/// Whole log record frames of one space, in sequence order, from
/// ``Space/logRecords(after:batchBytes:)``.
///
/// A frame is a little-endian `u32` length L (of what follows), the record's `u32` type, its
/// `u64` sequence and L - 12 bytes of payload, exactly as the space's write-ahead log holds it
/// (docs/formats.md, "Log record frames"). The bytes of several batches may be concatenated
/// and handed to ``Space/applyLogRecords(_:)`` of another database's copy of the space.
///
/// ```swift
/// try await source.logRecords(after: copied) { batch in
///     try await target.applyLogRecords(batch.bytes)
/// }
/// ```
public struct LogRecordBatch: Sendable, Hashable {
    /// The frames, back to back.
    public let bytes: [UInt8]
    /// How many records the frames hold.
    public let count: Int
    /// The sequence of the first record.
    public let firstSequence: UInt64
    /// The sequence of the last record.
    public let lastSequence: UInt64

    /// Describes whole frames written by the core (their layout is trusted here).
    init(frames: [UInt8]) {
        var count = 0, first: UInt64 = 0, last: UInt64 = 0
        var offset = 0
        while offset + LogFrame.headerBytes <= frames.count {
            let length = Int(LogFrame.load32(frames, offset))
            let sequence = LogFrame.load64(frames, offset + 8)
            if count == 0 { first = sequence }
            last = sequence
            count += 1
            offset += 4 + length
        }
        self.bytes = frames
        self.count = count
        self.firstSequence = first
        self.lastSequence = last
    }
}
