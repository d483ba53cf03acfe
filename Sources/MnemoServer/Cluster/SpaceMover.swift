// SpaceMover: moves one space from this node to another over HTTP, make-before-break:
//
//   1. export the space and stream it to the target's `PUT .../import` (header `Mnemo-Move`),
//      paced to the move's rate with a TokenBucket; a target answering 429/503 is retried after
//      a pause (back-pressure), from a new export;
//   2. tail: the records since the copy's sequence (`Space.logRecords(after:)`) are POSTed to
//      the target's `.../log`, paced too, round after round while the space keeps serving,
//      until fewer than 256 records are behind (at most 3 rounds);
//   3. freeze the space's writes (SpaceFreezes: new writes wait, the ones inside finish), ship
//      the final tail and check the target holds exactly the source's sequence;
//   4. cutOver() (the caller's transaction on the assignment). True: the space is the
//      target's; writes still waiting are refused 503 `spaceMoved` (a retry is routed to the
//      owner), the local copy is dropped. False: thaw, DELETE the target's incoming copy, throw.
//      A throw (the outcome unknown) thaws and keeps the target's copy: if the assignment did
//      change, that copy is the space.
//
// Every acknowledged write is in the source's log before the freeze, so it is in a tail the
// target applied before the cut-over (never lost), and the target's apply refuses any record
// it already holds (never applied twice). Records cut by a checkpoint between the export and a
// tail read (logTruncated) restart the move from a new export (same move id: the import
// replaces the earlier copy). Independent of etcd: the caller supplies the cut-over.
import AsyncHTTPClient
import Foundation
import Logging
import Mnemo
import NIOCore
import NIOHTTP1
import Synchronization

/// Moves spaces from this node's database to another node (see the file comment).
///
/// ```swift
/// let mover = SpaceMover(database: database, http: .shared, authorization: "Bearer \(key)", logger: logger)
/// let outcome = try await mover.move(space: "alice", to: "10.0.0.4:8080", moveID: id, rate: 10 << 20,
///                                    freeze: state.freezes) { try await store.complete(record, ...) }
/// ```
public struct SpaceMover: Sendable {
    /// Fewer records than this behind the source: freeze and ship the rest.
    public static let lagRecords: UInt64 = 256
    /// Tail rounds before the freeze at most.
    public static let tailRounds = 3
    /// Exports started at most (back-pressure, records cut by a checkpoint).
    public static let maxAttempts = 5
    /// Bytes per chunk of the export stream.
    public static let chunkBytes = 64 * 1024
    /// Spaces up to this size are exported into memory first (their writes wait only while
    /// the snapshot is taken); larger ones stream, and their writes queue while it is sent.
    public static let bufferedExportBytes = 256 << 20
    /// Bytes of frames per log POST.
    public static let logBatchBytes = 1 << 20

    let database: Database
    let http: HTTPClient
    let authorization: String?
    let logger: Logger

    /// A mover of `database`'s spaces; `authorization` is the `Authorization` header value
    /// (an admin credential) sent to the target.
    public init(database: Database, http: HTTPClient, authorization: String?, logger: Logger) {
        self.database = database
        self.http = http
        self.authorization = authorization
        self.logger = logger
    }

    /// Moves the space `name` to the node at `address` ("host:port", or a URL with a scheme),
    /// sending at most `rate` bytes a second (0: unlimited). See the type's file comment for
    /// the steps and the guarantees.
    ///
    /// - Returns: what was sent, and how long the writes were frozen.
    /// - Throws: ``SpaceMoveError`` (the target refused, the copies' sequences differ, the cut-over
    ///   was refused), the engine's ``MnemoError``, the HTTP client's errors, or the error
    ///   `cutOver` threw.
    @discardableResult
    ///
    /// `intoReplica`: the target is already a replica of the space in its current assignment (the
    /// move hands the primary role over): its copy is a prefix of this node's log, so no export
    /// is sent, only the records it lacks; on failure its copy is left alone.
    public func move(space name: String, to address: String, moveID: String, rate: UInt64, intoReplica: Bool = false,
                     freeze: SpaceFreezes, cutOver: @Sendable () async throws -> Bool) async throws -> MoveOutcome {
        let started = ContinuousClock.now
        let target = CopyTarget(http: http, base: Self.baseURL(address), name: name,
                                headers: [(IncomingMoves.header, moveID)], purpose: "move \(moveID)",
                                authorization: authorization)
        let pacer = MovePacer(bytesPerSecond: rate)
        var outcome = MoveOutcome()
        let space = try await database.space(name)
        var copied: UInt64 = 0
        do {
            attempts: while true {
                outcome.attempts += 1
                do {
                    copied = intoReplica ? try await target.sequence()
                        : try await Self.sendExport(space, to: target, pacer: pacer, outcome: &outcome)
                    for _ in 0..<Self.tailRounds {
                        let current = try await space.logSequence()
                        if current - copied < Self.lagRecords { break }
                        copied = try await shipTail(space, after: copied, to: target, pacer: pacer, outcome: &outcome,
                                                    intoReplica: intoReplica)
                    }
                    break attempts
                } catch let error as MnemoError where error.code == .logTruncated && !intoReplica
                            && outcome.attempts < Self.maxAttempts {
                    logger.notice("move: log cut by a checkpoint, exporting again", metadata: ["space": "\(name)", "move": "\(moveID)"])
                } catch let error as Backoff where outcome.attempts < Self.maxAttempts {
                    try await Task.sleep(for: .seconds(error.seconds))
                } catch let error as Backoff {
                    throw SpaceMoveError(message: "move \(moveID) of \(name): the target kept refusing: \(error.reason)")
                }
            }
        } catch {
            await deleteCopy(target, moveID: moveID, intoReplica: intoReplica)
            throw error
        }

        // Freeze, ship the last records, check, cut over.
        guard await freeze.freeze(name) else {
            await deleteCopy(target, moveID: moveID, intoReplica: intoReplica)
            throw SpaceMoveError(message: "move \(moveID) of \(name): writes in flight did not finish; not frozen")
        }
        let frozen = ContinuousClock.now
        var cutOverThrew = false
        let accepted: Bool
        do {
            let last = try await space.logSequence()
            if last > copied {
                copied = try await shipTail(space, after: copied, to: target, pacer: pacer, outcome: &outcome,
                                            intoReplica: intoReplica)
            }
            let held = try await target.sequence()
            guard held == last, copied == last else {
                throw SpaceMoveError(message: "move \(moveID) of \(name): the target holds sequence \(held), the source \(last)")
            }
            outcome.sequence = last
            do {
                accepted = try await cutOver()
            } catch {
                cutOverThrew = true
                throw error
            }
        } catch {
            freeze.thaw(name)
            // After a cut-over that threw, the outcome is unknown: the copy may be the space.
            if !cutOverThrew { await deleteCopy(target, moveID: moveID, intoReplica: intoReplica) }
            throw error
        }
        outcome.frozenMilliseconds = Self.milliseconds(ContinuousClock.now - frozen)
        guard accepted else {
            freeze.thaw(name)
            await deleteCopy(target, moveID: moveID, intoReplica: intoReplica)
            throw SpaceMoveError(message: "move \(moveID) of \(name): the cut-over was refused")
        }
        freeze.thaw(name, moved: true)
        do {
            try await database.dropSpace(name)
        } catch {
            logger.error("move: the local copy could not be dropped", metadata: ["space": "\(name)", "error": "\(error)"])
        }
        freeze.forget(name)
        outcome.seconds = Self.milliseconds(ContinuousClock.now - started) / 1000
        return outcome
    }

    /// Tries to ship a tail to a copy that this node's replication also writes to.
    static let replicaTailTries = 5

    /// Ships the records above `after`; into a replica, whose primary's replication ships the
    /// same records meanwhile, a gap or duplicate it answers means: ask its sequence, go on.
    private func shipTail(_ space: Space, after: UInt64, to target: CopyTarget, pacer: MovePacer,
                          outcome: inout MoveOutcome, intoReplica: Bool) async throws -> UInt64 {
        var held = after
        for attempt in 1...Self.replicaTailTries {
            do {
                return try await Self.sendTail(space, after: held, to: target, pacer: pacer, outcome: &outcome)
            } catch let refusal as CopyRefusal
                        where intoReplica && attempt < Self.replicaTailTries
                        && (refusal.code == "logDuplicate" || refusal.code == "logGap") {
                held = try await target.sequence()
            }
        }
        return held
    }

    private func deleteCopy(_ target: CopyTarget, moveID: String, intoReplica: Bool) async {
        if intoReplica { return }
        do {
            try await target.deleteCopy()
        } catch {
            logger.error("move: the target's incoming copy could not be deleted",
                         metadata: ["space": "\(target.name)", "move": "\(moveID)", "error": "\(error)"])
        }
    }

    /// Streams an export to the target's import; returns the copy's sequence.
    static func sendExport(_ space: Space, to target: CopyTarget, pacer: MovePacer, outcome: inout MoveOutcome) async throws -> UInt64 {
        let sent = Counter()
        if space.stats().bytes <= bufferedExportBytes {
            // A snapshot in memory holds the space's writes back only while it is taken, not
            // while it is sent at the move's rate.
            let stream = try await space.export()
            let chunks = ChunkedBytes(bytes: stream, chunkBytes: chunkBytes).map { chunk -> ByteBuffer in
                await pacer.pace(chunk.count)
                sent.add(chunk.count)
                return ByteBuffer(bytes: chunk)
            }
            try await target.importCopy(chunks)
        } else {
            let export = try await space.export(chunkBytes: chunkBytes)
            let chunks = export.map { chunk -> ByteBuffer in
                await pacer.pace(chunk.count)
                sent.add(chunk.count)
                return ByteBuffer(bytes: chunk)
            }
            try await target.importCopy(chunks)
        }
        outcome.bytes += UInt64(sent.value)
        return try await target.sequence()
    }

    /// Ships the records above `after` in POSTs; returns the target's sequence after them.
    static func sendTail(_ space: Space, after: UInt64, to target: CopyTarget, pacer: MovePacer, outcome: inout MoveOutcome) async throws -> UInt64 {
        var held = after
        var bytes = 0, records = 0
        try await space.logRecords(after: after, batchBytes: logBatchBytes) { batch in
            await pacer.pace(batch.bytes.count)
            held = try await target.apply(batch)
            guard held == batch.lastSequence else {
                throw SpaceMoveError(message: "\(target.purpose) of \(target.name): the target answered sequence \(held) after \(batch.lastSequence)")
            }
            bytes += batch.bytes.count
            records += batch.count
        }
        outcome.bytes += UInt64(bytes)
        outcome.records += records
        return held
    }

    static func baseURL(_ address: String) -> String {
        address.contains("://") ? address : "http://" + address
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}

/// An export held in memory, as an async sequence of chunks.
private struct ChunkedBytes: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>
    let bytes: [UInt8]
    let chunkBytes: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let bytes: [UInt8]
        let chunkBytes: Int
        var offset = 0
        mutating func next() async -> ArraySlice<UInt8>? {
            guard offset < bytes.count else { return nil }
            let end = Swift.min(offset + chunkBytes, bytes.count)
            defer { offset = end }
            return bytes[offset..<end]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes, chunkBytes: chunkBytes) }
}

/// A byte counter the export's map closure can add to.
private final class Counter: Sendable {
    private let total = Mutex(0)
    func add(_ count: Int) { total.withLock { $0 += count } }
    var value: Int { total.withLock { $0 } }
}
