// The wire form of one log record (docs/formats.md, "Log record frames"): encoding on the
// reading side and a checking parser for bytes that came from another node (untrusted).
//
//   offset  size  field
//   0       4     L, u32 little-endian: bytes after this field (12 + payload), 12 ... 12 + MN_WAL_PAYLOAD_BYTES_MAX
//   4       4     type, u32: the record type (formats.md, "The engine's WAL records")
//   8       8     sequence, u64: the space's sequence number of the record
//   16      L-12  payload, as the log holds it
//
// No checksum: frames travel over TCP (and TLS where configured) and every payload is decoded
// and checked against the space before anything is applied (mn_replica_apply).
import CMnemo

/// Where one frame's record lies in a buffer of frames.
struct LogFrame: Sendable, Equatable {
    /// The record type.
    let type: UInt32
    /// The record's sequence.
    let sequence: UInt64
    /// The payload's byte offset in the buffer.
    let payloadOffset: Int
    /// The payload's length.
    let payloadBytes: Int

    /// The length, type and sequence fields.
    static let headerBytes = 16
    /// The smallest L (type and sequence, empty payload).
    static let minimumLength = 12
    /// The largest L.
    static let maximumLength = 12 + Int(mn_replica_payload_bytes_max())

    static func load32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    static func load64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    /// Appends one frame for a record to `out`.
    static func append(type: UInt32, sequence: UInt64, payload: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let length = UInt32(minimumLength + payload.count)
        withUnsafeBytes(of: length.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: type.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: sequence.littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: payload)
    }

    /// Splits `bytes` into whole frames and checks that their sequences follow one another
    /// (each one past the one before). Throws ``MnemoError/Code/truncated`` for a frame cut
    /// short, ``MnemoError/Code/corrupt`` for a length out of range or a sequence below the one
    /// before, ``MnemoError/Code/logDuplicate`` for one given twice and
    /// ``MnemoError/Code/logGap`` for one skipped.
    static func parse(_ bytes: [UInt8]) throws(MnemoError) -> [LogFrame] {
        var frames: [LogFrame] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= headerBytes else {
                throw MnemoError(.truncated, "log record frame at byte \(offset): \(bytes.count - offset) bytes, a header is \(headerBytes)")
            }
            let length = Int(load32(bytes, offset))
            guard length >= minimumLength, length <= maximumLength else {
                throw MnemoError(.corrupt, "log record frame at byte \(offset): length \(length) is not in \(minimumLength)...\(maximumLength)")
            }
            guard bytes.count - offset - 4 >= length else {
                throw MnemoError(.truncated, "log record frame at byte \(offset): \(length) bytes announced, \(bytes.count - offset - 4) left")
            }
            let frame = LogFrame(type: load32(bytes, offset + 4), sequence: load64(bytes, offset + 8),
                                 payloadOffset: offset + headerBytes, payloadBytes: length - minimumLength)
            if let previous = frames.last {
                if frame.sequence == previous.sequence {
                    throw MnemoError(.logDuplicate, "log record \(frame.sequence) is given twice", offendingIndex: frames.count,
                                     status: .invalidArgument)
                }
                if frame.sequence < previous.sequence {
                    throw MnemoError(.corrupt, "log record \(frame.sequence) follows \(previous.sequence)", offendingIndex: frames.count)
                }
                if frame.sequence != previous.sequence + 1 {
                    throw MnemoError(.logGap, "log records \(previous.sequence + 1)...\(frame.sequence - 1) are missing",
                                     offendingIndex: frames.count, status: .invalidArgument)
                }
            }
            frames.append(frame)
            offset += 4 + length
        }
        return frames
    }
}
