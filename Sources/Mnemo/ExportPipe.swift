import Foundation

// The bounded hand-off between a streaming export's C writer and its async consumer.
//
// mn_space_export calls its writer on the exporting (blocking) thread, many times with small
// pieces. The pipe cuts them into chunks of `chunkBytes` and queues at most `capacity` chunks;
// when the queue is full the writer WAITS (its thread blocks, which is what BlockingExecutor
// threads are for) until the consumer takes one, so a slow reader holds the export back
// instead of letting it pile up in memory. A consumer that stops (cancel(), or dropping its
// SpaceExport) makes the next write fail, which ends the C export and frees the thread.

/// One export's chunk queue: written by the exporting thread, read by one async consumer.
final class ExportPipe: @unchecked Sendable {
    // @unchecked: `filling` is touched only by the one exporting thread; every other mutable
    // field is read and written with `condition` locked.

    /// Bytes per chunk (the last may be shorter).
    let chunkBytes: Int
    /// Chunks queued at most.
    let capacity: Int
    private let condition = NSCondition()
    /// The chunk being filled (exporting thread only).
    private var filling: [UInt8] = []
    /// Chunks ready for the consumer, oldest first.
    private var ready: [[UInt8]] = []
    /// How the export ended, once it has.
    private var outcome: Result<Void, MnemoError>?
    /// Set when the consumer has stopped: later writes fail.
    private var cancelled = false
    /// The consumer, while it waits for a chunk.
    private var waiter: CheckedContinuation<Void, Never>?
    /// Chunks queued so far, and the most ever queued at once (for tests).
    private var producedCount = 0, peakCount = 0

    init(chunkBytes: Int, capacity: Int) {
        self.chunkBytes = max(1, chunkBytes)
        self.capacity = max(1, capacity)
        filling.reserveCapacity(self.chunkBytes)
    }

    /// Chunks queued so far.
    var produced: Int { condition.lock(); defer { condition.unlock() }; return producedCount }
    /// The most chunks ever queued at once.
    var peakQueued: Int { condition.lock(); defer { condition.unlock() }; return peakCount }

    // MARK: exporting thread

    /// Appends `bytes`, queueing each full chunk; false once the consumer has stopped.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var start = 0
        while start < bytes.count {
            let take = min(chunkBytes - filling.count, bytes.count - start)
            filling.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + take)]))
            start += take
            if filling.count == chunkBytes {
                guard queue(filling) else { return false }
                filling = []
                filling.reserveCapacity(chunkBytes)
            }
        }
        return true
    }

    /// Queues the last partial chunk (on success) and records how the export ended.
    func finish(_ result: Result<Void, MnemoError>) {
        if case .success = result, !filling.isEmpty { _ = queue(filling) }
        filling = []
        condition.lock()
        outcome = result
        let consumer = waiter
        waiter = nil
        condition.unlock()
        consumer?.resume()
    }

    /// Queues `chunk` whole, as one chunk of any size (a log batch of whole frames): waits for
    /// room; false once the consumer has stopped. Not mixed with ``write(_:)`` on one pipe.
    func push(_ chunk: [UInt8]) -> Bool { queue(chunk) }

    /// Waits for room, then queues `chunk`; false once the consumer has stopped.
    private func queue(_ chunk: [UInt8]) -> Bool {
        condition.lock()
        while ready.count >= capacity && !cancelled { condition.wait() }
        if cancelled {
            condition.unlock()
            return false
        }
        ready.append(chunk)
        producedCount += 1
        peakCount = max(peakCount, ready.count)
        let consumer = waiter
        waiter = nil
        condition.unlock()
        consumer?.resume()
        return true
    }

    // MARK: consumer

    /// Stops the export: queued chunks are dropped and the writer's next call fails.
    func cancel() {
        condition.lock()
        cancelled = true
        ready.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    private enum Step {
        case chunk([UInt8]), end, failed(MnemoError), wait
    }

    /// Takes the next chunk (or the end) when there is one, else parks `continuation` and
    /// says `.wait`; `remove` false leaves a chunk queued (the first-chunk wait).
    private func step(_ continuation: CheckedContinuation<Void, Never>, remove: Bool) -> Step {
        condition.lock()
        let result: Step
        if let first = ready.first {
            if remove {
                ready.removeFirst()
                condition.signal()
            }
            result = .chunk(first)
        } else if let outcome {
            switch outcome {
            case .success: result = .end
            case .failure(let error): result = .failed(error)
            }
        } else {
            waiter = continuation
            condition.unlock()
            return .wait
        }
        condition.unlock()
        continuation.resume()
        return result
    }

    private func await(remove: Bool) async throws(MnemoError) -> [UInt8]? {
        while true {
            var taken = Step.wait
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                taken = step(continuation, remove: remove)
            }
            switch taken {
            case .chunk(let chunk): return chunk
            case .end: return nil
            case .failed(let error): throw error
            case .wait: continue
            }
        }
    }

    /// The next chunk, nil at the end; throws the export's error.
    func next() async throws(MnemoError) -> [UInt8]? { try await self.await(remove: true) }

    /// Waits until the first chunk is queued or the export has ended; throws its error when it
    /// failed before writing anything.
    func waitForFirst() async throws(MnemoError) { _ = try await self.await(remove: false) }
}
