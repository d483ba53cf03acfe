import Foundation

// The bounded hand-off between a streaming import's async source and the C reader.
//
// mn_engine_space_import pulls exactly the bytes it needs, many small reads, on the importing
// (blocking) thread. The async side queues the source's chunks, at most `capacity` of them,
// and waits for room when the reader is behind; the reader copies out of the queue and waits
// (its thread blocks) when it is empty and the source has not ended. The source's end makes a
// read that wants more answer "truncated"; its error answers "failed" and is what the import
// throws. Bytes still queued, or arriving, after the reader finished successfully are bytes
// after the stream's end: `trailing`.

/// One import's chunk queue: fed by an async source, read by the importing thread.
final class ImportPipe: @unchecked Sendable {
    // @unchecked: every mutable field is read and written with `condition` locked.

    /// What a read of the importing thread got.
    enum Read {
        /// The buffer is full.
        case ok
        /// The source ended first.
        case truncated
        /// The source failed (its error is ``sourceError``).
        case failed
    }

    /// Chunks queued at most.
    let capacity: Int
    private let condition = NSCondition()
    private var ready: [[UInt8]] = []
    /// The chunk being read and how far.
    private var current: [UInt8] = []
    private var offset = 0
    /// Set when the source has ended (nil error) or failed.
    private var sourceEnded = false
    private var failure: MnemoError?
    /// The C import's result, once it has returned.
    private var result: Result<SpaceHandle, MnemoError>?
    private var waiter: CheckedContinuation<Void, Never>?
    private var trailingBytes = false
    private var peakCount = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Whether bytes followed the stream's end.
    var trailing: Bool { condition.lock(); defer { condition.unlock() }; return trailingBytes }
    /// The source's error, if it failed.
    var sourceError: MnemoError? { condition.lock(); defer { condition.unlock() }; return failure }
    /// The most chunks ever queued at once.
    var peakQueued: Int { condition.lock(); defer { condition.unlock() }; return peakCount }

    // MARK: importing thread

    /// Fills `buffer` from the queue, waiting for the source when it is empty.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Read {
        condition.lock()
        defer { condition.unlock() }
        var filled = 0
        while filled < buffer.count {
            if offset < current.count {
                let n = min(current.count - offset, buffer.count - filled)
                current.withUnsafeBytes { source in
                    UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + n)])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + n)]))
                }
                filled += n
                offset += n
            } else if !ready.isEmpty {
                current = ready.removeFirst()
                offset = 0
                wakeFeeder()
            } else if failure != nil {
                return .failed
            } else if sourceEnded {
                return .truncated
            } else {
                condition.wait()
            }
        }
        return .ok
    }

    /// Records the C import's result and wakes the feeder.
    func finish(_ outcome: Result<SpaceHandle, MnemoError>) {
        condition.lock()
        if case .success = outcome, offset < current.count || ready.contains(where: { !$0.isEmpty }) {
            trailingBytes = true
        }
        result = outcome
        ready.removeAll()
        current = []
        offset = 0
        wakeFeeder()
        condition.unlock()
    }

    /// Resumes the parked feeder (locked).
    private func wakeFeeder() {
        let feeder = waiter
        waiter = nil
        feeder?.resume()
    }

    // MARK: feeder (async)

    /// Queues `chunk` once there is room; false once the reader has finished (a non-empty
    /// chunk after a successful import is trailing data).
    func push(_ chunk: [UInt8]) async -> Bool {
        while true {
            var outcome: Bool?
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                outcome = offer(chunk, continuation)
            }
            if let outcome { return outcome }
        }
    }

    private func offer(_ chunk: [UInt8], _ continuation: CheckedContinuation<Void, Never>) -> Bool? {
        condition.lock()
        let outcome: Bool
        if let result {
            if case .success = result, !chunk.isEmpty { trailingBytes = true }
            outcome = false
        } else if ready.count < capacity {
            ready.append(chunk)
            peakCount = max(peakCount, ready.count)
            condition.signal()
            outcome = true
        } else {
            waiter = continuation
            condition.unlock()
            return nil
        }
        condition.unlock()
        continuation.resume()
        return outcome
    }

    /// The source has ended (`error` nil) or failed.
    func endSource(_ error: MnemoError?) {
        condition.lock()
        sourceEnded = true
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the C import's result.
    func outcome() async -> Result<SpaceHandle, MnemoError> {
        while true {
            var got: Result<SpaceHandle, MnemoError>?
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                condition.lock()
                got = result
                if got == nil {
                    waiter = continuation
                    condition.unlock()
                } else {
                    condition.unlock()
                    continuation.resume()
                }
            }
            if let got { return got }
        }
    }
}
