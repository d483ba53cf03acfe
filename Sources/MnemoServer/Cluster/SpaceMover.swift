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
    public func move(space name: String, to address: String, moveID: String, rate: UInt64,
                     freeze: SpaceFreezes, cutOver: @Sendable () async throws -> Bool) async throws -> MoveOutcome {
        let started = ContinuousClock.now
        let target = Target(http: http, base: Self.baseURL(address), name: name, moveID: moveID,
                            authorization: authorization)
        let pacer = MovePacer(bytesPerSecond: rate)
        var outcome = MoveOutcome()
        let space = try await database.space(name)
        var copied: UInt64 = 0
        do {
            attempts: while true {
                outcome.attempts += 1
                do {
                    copied = try await sendExport(space, to: target, pacer: pacer, outcome: &outcome)
                    for _ in 0..<Self.tailRounds {
                        let current = try await space.logSequence()
                        if current - copied < Self.lagRecords { break }
                        copied = try await sendTail(space, after: copied, to: target, pacer: pacer, outcome: &outcome)
                    }
                    break attempts
                } catch let error as MnemoError where error.code == .logTruncated && outcome.attempts < Self.maxAttempts {
                    logger.notice("move: log cut by a checkpoint, exporting again", metadata: ["space": "\(name)", "move": "\(moveID)"])
                } catch let error as Backoff where outcome.attempts < Self.maxAttempts {
                    try await Task.sleep(for: .seconds(error.seconds))
                } catch let error as Backoff {
                    throw SpaceMoveError(message: "move \(moveID) of \(name): the target kept refusing: \(error.reason)")
                }
            }
        } catch {
            await deleteCopy(target)
            throw error
        }

        // Freeze, ship the last records, check, cut over.
        guard await freeze.freeze(name) else {
            await deleteCopy(target)
            throw SpaceMoveError(message: "move \(moveID) of \(name): writes in flight did not finish; not frozen")
        }
        let frozen = ContinuousClock.now
        var cutOverThrew = false
        let accepted: Bool
        do {
            let last = try await space.logSequence()
            if last > copied {
                copied = try await sendTail(space, after: copied, to: target, pacer: pacer, outcome: &outcome)
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
            if !cutOverThrew { await deleteCopy(target) }
            throw error
        }
        outcome.frozenMilliseconds = Self.milliseconds(ContinuousClock.now - frozen)
        guard accepted else {
            freeze.thaw(name)
            await deleteCopy(target)
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

    private func deleteCopy(_ target: Target) async {
        do {
            try await target.deleteCopy()
        } catch {
            logger.error("move: the target's incoming copy could not be deleted",
                         metadata: ["space": "\(target.name)", "move": "\(target.moveID)", "error": "\(error)"])
        }
    }

    /// Streams an export to the target's import; returns the copy's sequence.
    private func sendExport(_ space: Space, to target: Target, pacer: MovePacer, outcome: inout MoveOutcome) async throws -> UInt64 {
        let sent = Counter()
        if space.stats().bytes <= Self.bufferedExportBytes {
            // A snapshot in memory holds the space's writes back only while it is taken, not
            // while it is sent at the move's rate.
            let stream = try await space.export()
            let chunks = ChunkedBytes(bytes: stream, chunkBytes: Self.chunkBytes).map { chunk -> ByteBuffer in
                await pacer.pace(chunk.count)
                sent.add(chunk.count)
                return ByteBuffer(bytes: chunk)
            }
            try await target.importCopy(chunks)
        } else {
            let export = try await space.export(chunkBytes: Self.chunkBytes)
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
    private func sendTail(_ space: Space, after: UInt64, to target: Target, pacer: MovePacer, outcome: inout MoveOutcome) async throws -> UInt64 {
        var held = after
        var bytes = 0, records = 0
        try await space.logRecords(after: after, batchBytes: Self.logBatchBytes) { batch in
            await pacer.pace(batch.bytes.count)
            held = try await target.apply(batch)
            guard held == batch.lastSequence else {
                throw SpaceMoveError(message: "move \(target.moveID) of \(target.name): the target answered sequence \(held) after \(batch.lastSequence)")
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

/// The target answered 429 or 503: wait and start again.
struct Backoff: Error {
    let seconds: Double
    let reason: String
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

/// The target node's routes a move uses.
private struct Target: Sendable {
    let http: HTTPClient
    let base: String
    let name: String
    let moveID: String
    let authorization: String?

    var spaceURL: String { "\(base)/v1/spaces/\(SpaceRoutes.encode(name))" }

    func request(_ url: String, _ method: HTTPMethod, contentType: String? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.headers.add(name: "Mnemo-Move", value: moveID)
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        return request
    }

    /// Throws Backoff for 429/503, Failure for any other status but `expected`.
    func check(_ response: HTTPClientResponse, _ what: String, expected: HTTPResponseStatus) async throws -> ByteBuffer {
        let body = try await response.body.collect(upTo: 1 << 20)
        if response.status == expected { return body }
        let text = String(buffer: body)
        if response.status == .tooManyRequests || response.status == .serviceUnavailable {
            let seconds = response.headers.first(name: "Retry-After").flatMap(Double.init) ?? 1
            throw Backoff(seconds: min(max(seconds, 0.05), 10), reason: "\(what): \(response.status.code) \(text)")
        }
        throw SpaceMoveError(message: "move \(moveID) of \(name): \(what) answered \(response.status.code) \(text)")
    }

    func importCopy<Chunks: AsyncSequence & Sendable>(_ chunks: Chunks) async throws where Chunks.Element == ByteBuffer {
        var request = request("\(spaceURL)/import", .PUT, contentType: "application/octet-stream")
        request.body = .stream(chunks, length: .unknown)
        let response = try await http.execute(request, timeout: .seconds(600))
        _ = try await check(response, "import", expected: .created)
    }

    /// POSTs frames; the target's sequence after them.
    func apply(_ batch: LogRecordBatch) async throws -> UInt64 {
        while true {
            var request = request("\(spaceURL)/log", .POST, contentType: LogRoutes.mediaType)
            request.body = .bytes(ByteBuffer(bytes: batch.bytes))
            let response = try await http.execute(request, timeout: .seconds(120))
            do {
                return try Self.sequence(try await check(response, "log", expected: .ok))
            } catch let error as Backoff {
                try await Task.sleep(for: .seconds(error.seconds))
            }
        }
    }

    /// The copy's sequence (an empty POST to its log).
    func sequence() async throws -> UInt64 {
        var request = request("\(spaceURL)/log", .POST, contentType: LogRoutes.mediaType)
        request.body = .bytes(ByteBuffer())
        let response = try await http.execute(request, timeout: .seconds(60))
        return try Self.sequence(try await check(response, "log sequence", expected: .ok))
    }

    func deleteCopy() async throws {
        let response = try await http.execute(request(spaceURL, .DELETE), timeout: .seconds(60))
        if response.status == .notFound { return }
        _ = try await check(response, "delete the incoming copy", expected: .noContent)
    }

    static func sequence(_ body: ByteBuffer) throws -> UInt64 {
        struct Answer: Decodable { let sequence: UInt64 }
        return try JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView)).sequence
    }
}
