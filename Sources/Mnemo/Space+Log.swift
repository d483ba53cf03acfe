// A space's write-ahead log as a replication stream (the C core's replication seam,
// mnemo/mn_replica.h): its last sequence, its records since a sequence as frames, and frames
// from another database applied in sequence order. A copy of a space is its export (which
// records the space's sequence) plus every record above that sequence: what a space move ships.

extension Space {
    /// The default bytes of frames per ``LogRecordBatch``.
    public static let logBatchBytes = 1 << 20

    /// The last sequence the space has logged: every write, local or applied, takes the next
    /// one. A space imported from an export starts at the sequence the export recorded, so an
    /// export plus ``logRecords(after:batchBytes:body:)`` from that sequence is a whole copy.
    ///
    /// ```swift
    /// let copied = try await imported.logSequence()
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/unsupported`` (an in-memory database),
    ///   ``MnemoError/Code/unknownSpace`` (dropped), ``MnemoError/Code/closed``.
    public func logSequence() async throws(MnemoError) -> UInt64 {
        let handle = self.handle, name = self.name
        return try await BlockingExecutor.run { () throws(MnemoError) -> UInt64 in
            try CCore.logSequence(handle, name: name)
        }
    }

    /// Every log record of the space above `sequence`, up to the last one logged when the
    /// call began, in sequence order, as frames in batches of about `batchBytes` (whole frames,
    /// at most 4,096 records each). The records are read from the logs (made durable first) on
    /// a thread of their own, at most a few batches ahead of the consumer; checkpoints of the
    /// database wait until the stream is read to its end, cancelled or released. All or none:
    /// a record cut by a checkpoint is found before anything is handed out, and returns once
    /// the first batch is ready (or there is none), so a read that cannot start throws here.
    ///
    /// ```swift
    /// for try await batch in try await source.logRecords(after: copied) {
    ///     try await copy.applyLogRecords(batch.bytes)
    /// }
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/logTruncated`` (a checkpoint has cut records above
    ///   `sequence`: start from an export), ``MnemoError/Code/invalidArgument`` (`sequence`
    ///   beyond the space's), ``MnemoError/Code/unsupported`` (in memory),
    ///   ``MnemoError/Code/unknownSpace``, ``MnemoError/Code/closed``, ``MnemoError/Code/io``.
    public func logRecords(after sequence: UInt64, batchBytes: Int = Space.logBatchBytes) async throws(MnemoError) -> LogRecordStream {
        let handle = self.handle, name = self.name
        let bytes = max(1, batchBytes)
        let pipe = ExportPipe(chunkBytes: bytes, capacity: 4)
        BlockingExecutor.detach {
            pipe.finish(CCore.logRecords(handle, name: name, after: sequence, batchBytes: bytes, into: pipe))
        }
        let stream = LogRecordStream(pipe: pipe)
        try await pipe.waitForFirst()
        return stream
    }

    /// Hands `body` the batches of ``logRecords(after:batchBytes:)`` one by one.
    ///
    /// ```swift
    /// let last = try await source.logRecords(after: copied) { batch in
    ///     try await copy.applyLogRecords(batch.bytes)
    /// }
    /// ```
    ///
    /// - Returns: the last sequence handed out (`sequence` when there was none).
    /// - Throws: the errors of ``logRecords(after:batchBytes:)``, or what `body` threw (the
    ///   read then stops).
    @discardableResult
    public func logRecords(after sequence: UInt64, batchBytes: Int = Space.logBatchBytes,
                           body: (LogRecordBatch) async throws -> Void) async throws -> UInt64 {
        let stream = try await logRecords(after: sequence, batchBytes: batchBytes)
        var last = sequence
        do {
            for try await batch in stream {
                try await body(batch)
                last = batch.lastSequence
            }
        } catch {
            stream.cancel()
            throw error
        }
        return last
    }

    /// Applies log record frames from another database's copy of this space (the bytes of
    /// ``LogRecordBatch``es, or of `GET /v1/spaces/{space}/log`): they must continue this
    /// space's sequence exactly. The frames are checked whole first (lengths, consecutive
    /// sequences), then each run of up to 4,096 records is checked against the space (its
    /// sequence, every payload decoded) and logged here under its own sequences, applied and
    /// synced. A refused run changes nothing. While a space is a copy being fed this way it
    /// must not be written otherwise: a local write takes the next sequence.
    ///
    /// ```swift
    /// let applied = try await copy.applyLogRecords(frames)
    /// ```
    ///
    /// - Returns: the sequence of the last record applied (the space's sequence when `bytes`
    ///   is empty).
    /// - Throws: ``MnemoError/Code/logGap`` (a record is missing: before the first, or
    ///   between two), ``MnemoError/Code/logDuplicate`` (records the space already holds, or
    ///   a sequence given twice), ``MnemoError/Code/truncated`` (a frame cut short),
    ///   ``MnemoError/Code/corrupt`` (a frame length out of range, sequences going back, a
    ///   record that is not a write, a payload that is not a valid write of this space),
    ///   ``MnemoError/Code/tooLarge``, ``MnemoError/Code/unsupported`` (in memory),
    ///   ``MnemoError/Code/unknownSpace``, ``MnemoError/Code/closed``, ``MnemoError/Code/io``.
    ///   With more than 4,096 records, the runs before a refused one stay applied (a refusal
    ///   after the first run means a local write raced in).
    @discardableResult
    public func applyLogRecords(_ bytes: some Collection<UInt8>) async throws(MnemoError) -> UInt64 {
        let data = Array(bytes)
        let frames = try LogFrame.parse(data)
        if frames.isEmpty { return try await logSequence() }
        let handle = self.handle, name = self.name
        return try await BlockingExecutor.run { () throws(MnemoError) -> UInt64 in
            try CCore.applyLogRecords(handle, name: name, bytes: data, frames: frames)
        }
    }
}
