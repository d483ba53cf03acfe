import CMnemo

// The C calls of the replication seam (mnemo/mn_replica.h): a space's last logged sequence,
// its log records since a sequence (as frames, handed to an async consumer through a pipe),
// and records from another node applied. All three block their thread (barriers, log reads,
// fdatasync): the public API calls them through BlockingExecutor, never on the cooperative pool.

/// The reading side's state on the reading thread: the batch being filled and the pipe.
private final class LogFrameSink {
    let pipe: ExportPipe
    let batchBytes: Int
    var frames: [UInt8] = []
    var count = 0

    init(pipe: ExportPipe, batchBytes: Int) {
        self.pipe = pipe
        self.batchBytes = batchBytes
    }

    /// Queues the batch being filled; false once the consumer has stopped.
    func flush() -> Bool {
        guard count > 0 else { return true }
        let full = frames
        frames = []
        count = 0
        return pipe.push(full)
    }
}

extension CCore {
    /// The last sequence the space has logged. Blocks (a barrier).
    static func logSequence(_ space: SpaceHandle, name: String) throws(MnemoError) -> UInt64 {
        var sequence: UInt64 = 0
        try check(mn_replica_sequence(space.pointer, &sequence), "log sequence of space \"\(name)\"")
        return sequence
    }

    /// Reads the space's records above `after` as frames into `pipe`, in batches of whole
    /// frames of about `batchBytes` (at most MN_REPLICA_BATCH_MAX records each), on this
    /// (blocking) thread. A consumer that stops makes the next batch fail (MN_ERR_IO), which
    /// ends the read and lets checkpoints run again.
    static func logRecords(_ space: SpaceHandle, name: String, after: UInt64, batchBytes: Int,
                           into pipe: ExportPipe) -> Result<Void, MnemoError> {
        let sink = LogFrameSink(pipe: pipe, batchBytes: batchBytes)
        var status = withExtendedLifetime(sink) {
            mn_replica_records_since(space.pointer, after, { context, record in
                guard let context, let record else { return MN_ERR_INVALID }
                let sink = Unmanaged<LogFrameSink>.fromOpaque(context).takeUnretainedValue()
                let payload = UnsafeRawBufferPointer(start: record.pointee.payload,
                                                     count: Int(record.pointee.payload_bytes))
                LogFrame.append(type: record.pointee.type, sequence: record.pointee.sequence,
                                payload: payload, to: &sink.frames)
                sink.count += 1
                if sink.frames.count >= sink.batchBytes || sink.count >= Int(MN_REPLICA_BATCH_MAX) {
                    return sink.flush() ? MN_OK : MN_ERR_IO
                }
                return MN_OK
            }, Unmanaged.passUnretained(sink).toOpaque(), nil)
        }
        if status == MN_OK && !sink.flush() { status = MN_ERR_IO }
        if status == MN_ERR_NOT_FOUND {
            return .failure(MnemoError(.logTruncated, "log records of space \"\(name)\" after \(after): a checkpoint has cut them; start from an export",
                                       status: .notFound))
        }
        return Result { () throws(MnemoError) in try check(status, "log records of space \"\(name)\" after \(after)") }
    }

    /// Applies checked frames of `bytes` to the space, MN_REPLICA_BATCH_MAX records per call,
    /// and returns the space's last sequence. Blocks until they are logged, applied and synced.
    static func applyLogRecords(_ space: SpaceHandle, name: String, bytes: [UInt8],
                                frames: [LogFrame]) throws(MnemoError) -> UInt64 {
        let batch = Int(MN_REPLICA_BATCH_MAX)
        var refusal = MN_REPLICA_ACCEPTED
        var start = 0
        while start < frames.count {
            let end = min(start + batch, frames.count)
            let status: mn_status = bytes.withUnsafeBytes { raw in
                let records = frames[start..<end].map { frame in
                    mn_replica_record(space: 0, sequence: frame.sequence, type: frame.type,
                                      payload_bytes: UInt32(frame.payloadBytes),
                                      payload: frame.payloadBytes == 0 ? nil : raw.baseAddress.map { $0 + frame.payloadOffset })
                }
                return records.withUnsafeBufferPointer { buffer in
                    mn_replica_apply(space.pointer, buffer.baseAddress, UInt32(buffer.count), &refusal)
                }
            }
            if status == MN_ERR_INVALID && refusal != MN_REPLICA_ACCEPTED {
                let first = frames[start].sequence
                switch refusal {
                case MN_REPLICA_GAP:
                    throw MnemoError(.logGap, "log records from \(first) do not continue space \"\(name)\"",
                                     offendingIndex: start, status: .invalidArgument)
                case MN_REPLICA_DUPLICATE:
                    throw MnemoError(.logDuplicate, "space \"\(name)\" already holds log record \(first)",
                                     offendingIndex: start, status: .invalidArgument)
                default:
                    throw MnemoError(.corrupt, "log records from \(first) for space \"\(name)\": not writes in sequence order",
                                     offendingIndex: start)
                }
            }
            try check(status, "apply log records \(frames[start].sequence)...\(frames[end - 1].sequence) to space \"\(name)\"")
            start = end
        }
        return frames.last?.sequence ?? 0
    }
}
