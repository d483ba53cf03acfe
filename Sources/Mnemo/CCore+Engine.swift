import CMnemo
import Foundation

// The only Swift file that calls the engine's C functions (mn_engine.h). It owns every unsafe
// pointer and C type of the engine: the public types (Database, Space, Memory, ...) hold an
// EngineHandle or SpaceHandle and call the static functions below.
//
// Asynchronous writes: the C submit functions copy their input and queue one mailbox record;
// the worker thread that applies it calls `engineCompletion`, which resumes the awaiting
// Swift continuation (passed as an Unmanaged box in the C context pointer). Nothing blocks a
// thread of the cooperative pool: a full mailbox makes the caller sleep asynchronously and
// retry (or throw `.full`), and the worker never waits for Swift. The calls that do block
// (create, open, drop, close: logging, syncing, loading a lazy space, joining the workers) are
// synchronous here and marked so; the public API makes them through BlockingExecutor.

/// Owns an `mn_engine`; its deinit closes the engine and frees it.
final class EngineHandle: @unchecked Sendable {
    // @unchecked: the pointer is immutable and the C engine is thread safe (mn_engine.h).
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { mn_engine_destroy(pointer) }
}

/// Owns one `mn_space` handle and keeps its engine alive.
final class SpaceHandle: @unchecked Sendable {
    // @unchecked: the pointer is immutable and mn_space functions are thread safe.
    let pointer: OpaquePointer
    let engine: EngineHandle

    init(_ pointer: OpaquePointer, engine: EngineHandle) {
        self.pointer = pointer
        self.engine = engine
    }

    deinit { mn_space_release(pointer) }
}

/// The continuation of one submitted write, handed to C as an unmanaged context.
private final class CompletionBox: @unchecked Sendable {
    // @unchecked: resumed exactly once, by the worker's callback or by the submitter on failure.
    let continuation: CheckedContinuation<SubmitOutcome, Never>

    init(_ continuation: CheckedContinuation<SubmitOutcome, Never>) {
        self.continuation = continuation
    }
}

private enum SubmitOutcome: Sendable {
    case completed(mn_status, UInt64)
    case rejected(mn_status)
}

/// Collects the memories a get, search or list visits (the views are valid only during the visit).
struct VisitCollector {
    var hits: [SearchHit] = []
    /// Set when a visited memory's metadata document did not decode (never for documents the
    /// engine validated; reported as `.corrupt` rather than dropped silently).
    var corruptMetadata = false

    mutating func visit(_ view: UnsafePointer<mn_memory_view>) {
        let (hit, decoded) = copyView(view)
        if !decoded { corruptMetadata = true }
        hits.append(hit)
    }
}

/// Builds a Swift copy of a C view.
func copyView(_ view: UnsafePointer<mn_memory_view>) -> (SearchHit, Bool) {
    let v = view.pointee
    let id: String = v.id.map { pointer in
        pointer.withMemoryRebound(to: UInt8.self, capacity: Int(v.id_bytes)) {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(v.id_bytes)), as: UTF8.self)
        }
    } ?? ""
    let content: [UInt8] = v.content.map { Array(UnsafeBufferPointer(start: $0, count: Int(v.content_bytes))) } ?? []
    let created = Date(timeIntervalSince1970: Double(v.created_ns) / 1_000_000_000)
    let metadata = CCore.decodeMetadata(UnsafeRawPointer(v.metadata), Int(v.metadata_bytes))
    return (SearchHit(id: id, distance: v.distance, content: content, createdAt: created,
                      metadata: metadata ?? Metadata()), metadata != nil)
}

/// Calls `body` with the UTF-8 bytes of `string` (no terminator).
func withUTF8<R>(_ string: String, _ body: (UnsafePointer<CChar>?, UInt32) -> R) -> R {
    var copy = string
    return copy.withUTF8 { buffer in
        buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress, UInt32(clamping: $0.count)) }
    }
}

extension CCore {
    // MARK: - Engine

    /// The C engine options for `options`.
    static func engineOptions(_ options: DatabaseOptions) -> mn_engine_options {
        var c = mn_engine_options()
        mn_engine_options_default(&c)
        c.workers = UInt32(clamping: options.workers ?? 0)
        c.pin_workers = options.pinWorkers ? 1 : 0
        c.stealing = options.workStealing ? 1 : 0
        c.mailbox_depth = UInt32(clamping: options.mailboxDepth)
        c.content_bytes_max = UInt64(clamping: options.maxContentBytes)
        c.parallel_batch_min = UInt32(clamping: options.parallelBatchThreshold)
        c.queue_bytes_max = UInt64(clamping: options.maxQueuedBytes ?? 0) // 0: the C default
        c.space_bytes_max = UInt64(clamping: options.maxSpaceBytes ?? 0)
        return c
    }

    static func createEngine(_ options: DatabaseOptions) throws(MnemoError) -> EngineHandle {
        var c = engineOptions(options)
        var pointer: OpaquePointer?
        try check(mn_engine_create(&c, &pointer), "create database")
        guard let pointer else { throw MnemoError(.outOfMemory, "create database returned no engine") }
        return EngineHandle(pointer)
    }

    /// Takes the table lock (and, durable, the stub lock), which a drop holds while it logs and a
    /// lazy load while it reads: call through ``BlockingExecutor``.
    static func spaceCount(_ engine: EngineHandle) -> Int {
        var count: UInt64 = 0
        mn_engine_space_count(engine.pointer, &count)
        return Int(count)
    }

    /// Blocks until every queued write is applied and the workers stopped: call through
    /// ``BlockingExecutor``.
    static func closeEngine(_ engine: EngineHandle) {
        mn_engine_close(engine.pointer)
    }

    static func workerStats(_ engine: EngineHandle) -> [WorkerStats] {
        var count: UInt32 = 0
        mn_engine_worker_count(engine.pointer, &count)
        return (0..<count).map { index in
            var s = mn_worker_stats()
            mn_engine_worker_stats(engine.pointer, index, &s)
            return WorkerStats(index: Int(index), operations: Int(s.ops), batches: Int(s.batches),
                               memories: Int(s.memories), steals: Int(s.steals), helps: Int(s.helps),
                               grouped: Int(s.grouped), coalesced: Int(s.coalesced),
                               queueDepth: Int(s.queue_depth), busy: .nanoseconds(Int64(s.busy_ns)),
                               cpu: s.cpu >= 0 ? Int(s.cpu) : nil,
                               numaNode: s.numa_node >= 0 ? Int(s.numa_node) : nil)
        }
    }

    /// Statistics of every loaded space (lazy ones are neither loaded nor listed). Takes the
    /// table lock while it collects handles: call through ``BlockingExecutor``.
    static func loadedSpaceStats(_ engine: EngineHandle) -> [SpaceStats] {
        final class Collected {
            var stats: [SpaceStats] = []
        }
        let collected = Collected()
        let context = Unmanaged.passUnretained(collected).toOpaque()
        mn_engine_space_stats_visit(engine.pointer, { context, name, nameBytes, s in
            guard let context, let name, let s else { return }
            let collected = Unmanaged<Collected>.fromOpaque(context).takeUnretainedValue()
            let text = String(decoding: UnsafeRawBufferPointer(start: name, count: Int(nameBytes)),
                              as: UTF8.self)
            let v = s.pointee
            collected.stats.append(SpaceStats(
                name: text, count: Int(v.count), bytes: Int(v.bytes), queueDepth: Int(v.queue_depth),
                operationsApplied: Int(v.ops_applied), homeWorker: Int(v.home_worker),
                dimension: Int(v.dimension), metric: CCore.metric(v.metric)))
        }, context)
        return withExtendedLifetime(collected) { collected.stats.sorted { $0.name < $1.name } }
    }

    static func homeWorker(_ engine: EngineHandle, of name: String) throws(MnemoError) -> Int {
        var home: UInt32 = 0
        let status = withUTF8(name) { mn_engine_space_home(engine.pointer, $0, $1, &home) }
        try check(status, "space name \"\(name)\"")
        return Int(home)
    }

    // MARK: - Spaces

    private static func checkName(_ name: String) throws(MnemoError) {
        if name.utf8.count > Int(MN_ENGINE_NAME_BYTES_MAX) {
            throw MnemoError(.tooLarge, "space name of \(name.utf8.count) bytes (limit \(MN_ENGINE_NAME_BYTES_MAX))")
        }
    }

    /// Blocks (a durable engine logs and syncs the creation): call through ``BlockingExecutor``.
    static func createSpace(_ engine: EngineHandle, name: String, dimension: Int, metric: Metric,
                            parameters: HNSWIndex.Parameters) throws(MnemoError) -> SpaceHandle {
        try checkName(name)
        var params = try hnswParams(dimension: dimension, metric: metric, parameters: parameters)
        var pointer: OpaquePointer?
        let status = withUTF8(name) { mn_engine_space_create(engine.pointer, $0, $1, &params, &pointer) }
        try check(status, "create space \"\(name)\"")
        guard let pointer else { throw MnemoError(.outOfMemory, "create space returned no handle") }
        return SpaceHandle(pointer, engine: engine)
    }

    /// Blocks while a lazy space loads from its checkpoint: call through ``BlockingExecutor``.
    static func openSpace(_ engine: EngineHandle, name: String) throws(MnemoError) -> SpaceHandle {
        try checkName(name)
        var pointer: OpaquePointer?
        let status = withUTF8(name) { mn_engine_space_open(engine.pointer, $0, $1, &pointer) }
        try check(status, "space \"\(name)\"")
        guard let pointer else { throw MnemoError(.unknownSpace, "space \"\(name)\"") }
        return SpaceHandle(pointer, engine: engine)
    }

    /// Blocks (a durable engine logs and syncs the drop): call through ``BlockingExecutor``.
    static func dropSpace(_ engine: EngineHandle, name: String) throws(MnemoError) {
        try checkName(name)
        let status = withUTF8(name) { mn_engine_space_drop(engine.pointer, $0, $1) }
        try check(status, "drop space \"\(name)\"")
    }

    /// Takes the same locks as ``spaceCount(_:)``: call through ``BlockingExecutor``.
    static func spaceNames(_ engine: EngineHandle) -> [String] {
        var names: [String] = []
        withUnsafeMutablePointer(to: &names) { namesPointer in
            _ = mn_engine_space_list(engine.pointer, { context, name, bytes in
                guard let context, let name else { return }
                let names = context.assumingMemoryBound(to: [String].self)
                name.withMemoryRebound(to: UInt8.self, capacity: Int(bytes)) {
                    names.pointee.append(String(decoding: UnsafeBufferPointer(start: $0, count: Int(bytes)),
                                                as: UTF8.self))
                }
            }, namesPointer)
        }
        return names.sorted()
    }

    static func spaceDescription(_ space: SpaceHandle) -> (dimension: Int, metric: Metric) {
        var params = mn_hnsw_params()
        mn_space_params(space.pointer, &params)
        return (Int(params.dimension), metric(params.metric))
    }

    static func spaceStats(_ space: SpaceHandle, name: String) -> SpaceStats {
        var s = mn_space_stats()
        mn_space_stats_get(space.pointer, &s)
        return SpaceStats(name: name, count: Int(s.count), bytes: Int(s.bytes), queueDepth: Int(s.queue_depth),
                          operationsApplied: Int(s.ops_applied), homeWorker: Int(s.home_worker),
                          dimension: Int(s.dimension), metric: metric(s.metric))
    }

    // MARK: - Writes

    /// Submits through `body` and suspends until the worker completes the record. A full
    /// mailbox is retried after an asynchronous sleep when `waitWhenFull`, else thrown.
    /// `completionError` may name a failed completion's status its own way (a status that
    /// means something else there than on submission, such as `MN_ERR_FULL`); `nil` keeps the
    /// plain mapping.
    static func submit(_ what: @autoclosure () -> String, waitWhenFull: Bool, isBatch: Bool = false,
                               _ body: (mn_completion_fn, UnsafeMutableRawPointer) -> mn_status,
                               failedIndex: () -> Int? = { nil },
                               completionError: (mn_status) -> MnemoError? = { _ in nil }) async throws(MnemoError) -> UInt64 {
        var pause: UInt64 = 20_000
        while true {
            let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<SubmitOutcome, Never>) in
                let box = Unmanaged.passRetained(CompletionBox(continuation))
                let status = body(engineCompletion, box.toOpaque())
                if status != MN_OK {
                    box.release()
                    continuation.resume(returning: .rejected(status))
                }
            }
            switch outcome {
            case .completed(let status, let detail):
                if status != MN_OK, let error = completionError(status) { throw error }
                let offender: Int? = isBatch && status == MN_ERR_DUPLICATE ? Int(detail) : nil
                try check(status, what(), offendingIndex: offender)
                return detail
            case .rejected(let status) where status == MN_ERR_FULL && waitWhenFull:
                try? await Task.sleep(nanoseconds: pause)
                pause = min(pause * 2, 2_000_000)
            case .rejected(let status):
                try check(status, what(), offendingIndex: failedIndex())
                return 0
            }
        }
    }

    enum WriteKind { case insert, upsert }

    static func write(_ space: SpaceHandle, _ kind: WriteKind, _ memory: Memory,
                      waitWhenFull: Bool) async throws(MnemoError) -> UInt64 {
        guard let dimension = UInt32(exactly: memory.vector.count) else {
            throw MnemoError(.wrongDimension, "vector of \(memory.vector.count) floats")
        }
        let idBytes = Array(memory.id.utf8)
        let what = "\(kind == .insert ? "insert" : "upsert") \"\(memory.id)\""
        let metadata = try encodeMetadata(memory.metadata, what)
        return try await submit(what, waitWhenFull: waitWhenFull) { done, context in
            idBytes.withUnsafeBufferPointer { id in
                memory.vector.withUnsafeBufferPointer { vector in
                    memory.content.withUnsafeBufferPointer { content in
                        metadata.withUnsafeBufferPointer { metadata in
                            id.withMemoryRebound(to: CChar.self) { id in
                                // The document was built by the codec the engine checks with,
                                // so the engine's own check cannot refuse it: no error out.
                                let submit = kind == .insert ? mn_space_insert_meta : mn_space_upsert_meta
                                return submit(space.pointer, id.baseAddress, UInt32(clamping: id.count),
                                              vector.baseAddress, dimension, content.baseAddress,
                                              UInt64(content.count), metadata.baseAddress,
                                              UInt64(metadata.count), 0, done, context, nil)
                            }
                        }
                    }
                }
            }
        }
    }

    static func delete(_ space: SpaceHandle, id: String, waitWhenFull: Bool) async throws(MnemoError) -> Bool {
        let idBytes = Array(id.utf8)
        do {
            let detail = try await submit("delete \"\(id)\"", waitWhenFull: waitWhenFull) { done, context in
                idBytes.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) {
                        mn_space_delete(space.pointer, $0.baseAddress, UInt32(clamping: $0.count), 0, done, context)
                    }
                }
            }
            return detail == 1
        } catch where error.code == .notFound {
            return false
        }
    }

    /// Submits a metadata patch of memory `id`: `false` when no memory has that id. A patch the
    /// engine refuses when merging (over a limit) is replayed on the current document here, so
    /// the error names the field as a refused insert does.
    static func patchMetadata(_ space: SpaceHandle, id: String, set: Metadata, remove: [String], dimension: Int,
                              waitWhenFull: Bool) async throws(MnemoError) -> Bool {
        let what = "patch metadata of \"\(id)\""
        let patch = try encodePatch(set: set, remove: remove, what)
        let idBytes = Array(id.utf8)
        do {
            _ = try await submit(what, waitWhenFull: waitWhenFull) { done, context in
                idBytes.withUnsafeBufferPointer { idBuffer in
                    patch.withUnsafeBufferPointer { patchBuffer in
                        idBuffer.withMemoryRebound(to: CChar.self) { id in
                            // The patch was encoded by the codec the engine checks with: no
                            // error out is needed for its own check.
                            mn_space_patch_metadata(space.pointer, id.baseAddress, UInt32(clamping: id.count),
                                                    patchBuffer.baseAddress, UInt64(patchBuffer.count), 0,
                                                    done, context, nil)
                        }
                    }
                }
            }
            return true
        } catch where error.code == .notFound {
            return false
        } catch where error.code == .tooLarge || error.code == .invalidArgument || error.code == .nonFinite {
            if let document = metadataDocument(space, id: id, dimension: dimension),
               let named = patchFailure(document: document, patch: patch, what) {
                throw named
            }
            throw error
        }
    }

    /// The stored metadata document of memory `id` (empty: none), or `nil` when it is absent.
    static func metadataDocument(_ space: SpaceHandle, id: String, dimension: Int) -> [UInt8]? {
        var vector = [Float](repeating: 0, count: dimension)
        var document: [UInt8]?
        let status = withUTF8(id) { idPointer, idBytes in
            vector.withUnsafeMutableBufferPointer { vectorBuffer in
                withUnsafeMutablePointer(to: &document) { documentPointer in
                    mn_space_get(space.pointer, idPointer, idBytes, vectorBuffer.baseAddress, UInt32(dimension), { context, view in
                        guard let context, let view else { return }
                        let v = view.pointee
                        context.assumingMemoryBound(to: [UInt8]?.self).pointee =
                            v.metadata.map { Array(UnsafeBufferPointer(start: $0, count: Int(v.metadata_bytes))) } ?? []
                    }, documentPointer)
                }
            }
        }
        return status == MN_OK ? document : nil
    }

    /// A creation time as the C core's `created_ns`: nanoseconds since 1970 in an `Int64`,
    /// which spans the years 1678 to 2262. A date outside that range (`.distantFuture`,
    /// `.distantPast`) or not a number is an invalid argument, never a trap.
    static func nanosecondsSince1970(_ date: Date, offendingIndex: Int? = nil) throws(MnemoError) -> Int64 {
        let nanoseconds = (date.timeIntervalSince1970 * 1_000_000_000).rounded(.towardZero)
        guard let value = Int64(exactly: nanoseconds) else {
            throw MnemoError(.invalidArgument,
                             "createdAt \(date.timeIntervalSince1970) s since 1970 is not a time between 1678 and 2262",
                             offendingIndex: offendingIndex)
        }
        return value
    }

    /// Submits a batch as one write (inserts, or upserts); the completion's detail (an upsert
    /// batch: how many memories it replaced).
    static func writeBatch(_ space: SpaceHandle, _ memories: [Memory], kind: WriteKind, dimension: Int,
                           waitWhenFull: Bool) async throws(MnemoError) -> UInt64 {
        guard !memories.isEmpty else { return 0 }
        var vectors: [Float] = []
        vectors.reserveCapacity(memories.count * dimension)
        var ids: [UInt8] = []
        var idOffsets: [UInt64] = [0]
        idOffsets.reserveCapacity(memories.count + 1)
        var contents: [UInt8] = []
        var contentOffsets: [UInt64] = [0]
        contentOffsets.reserveCapacity(memories.count + 1)
        var metadata: [UInt8] = []
        var metadataOffsets: [UInt64] = [0]
        let anyMetadata = memories.contains { !$0.metadata.isEmpty }
        if anyMetadata { metadataOffsets.reserveCapacity(memories.count + 1) }
        let explicitTimes = memories.contains { $0.createdAt != nil }
        var created: [Int64] = []
        let now = Date()
        for (index, memory) in memories.enumerated() {
            guard memory.vector.count == dimension else {
                throw MnemoError(.wrongDimension,
                                 "vector of \(memory.vector.count) floats in a space of dimension \(dimension)",
                                 offendingIndex: index)
            }
            vectors.append(contentsOf: memory.vector)
            ids.append(contentsOf: memory.id.utf8)
            idOffsets.append(UInt64(ids.count))
            contents.append(contentsOf: memory.content)
            contentOffsets.append(UInt64(contents.count))
            if explicitTimes {
                created.append(try nanosecondsSince1970(memory.createdAt ?? now, offendingIndex: index))
            }
            if anyMetadata {
                metadata.append(contentsOf: try encodeMetadata(memory.metadata, "\(kind) batch \"\(memory.id)\"",
                                                               offendingIndex: index))
                metadataOffsets.append(UInt64(metadata.count))
            }
        }
        var failed = 0
        let submitBatch = kind == .insert ? mn_space_insert_batch_meta : mn_space_upsert_batch_meta
        return try await submit("\(kind) batch of \(memories.count)", waitWhenFull: waitWhenFull, isBatch: true, { done, context in
            vectors.withUnsafeBufferPointer { vectorBuffer in
                ids.withUnsafeBufferPointer { idBuffer in
                    idOffsets.withUnsafeBufferPointer { idOffsetBuffer in
                        contents.withUnsafeBufferPointer { contentBuffer in
                            contentOffsets.withUnsafeBufferPointer { contentOffsetBuffer in
                                created.withUnsafeBufferPointer { createdBuffer in
                                    metadata.withUnsafeBufferPointer { metadataBuffer in
                                        metadataOffsets.withUnsafeBufferPointer { metadataOffsetBuffer in
                                            idBuffer.withMemoryRebound(to: CChar.self) { idChars in
                                                var batch = mn_batch_in(
                                                    count: memories.count, dimension: UInt32(dimension),
                                                    vectors: vectorBuffer.baseAddress, ids: idChars.baseAddress,
                                                    id_offsets: idOffsetBuffer.baseAddress,
                                                    contents: contentBuffer.baseAddress,
                                                    content_offsets: contentOffsetBuffer.baseAddress,
                                                    created_ns: explicitTimes ? createdBuffer.baseAddress : nil)
                                                // Documents come from the codec: the engine's
                                                // check cannot refuse them, so no error out.
                                                return submitBatch(
                                                    space.pointer, &batch, metadataBuffer.baseAddress,
                                                    anyMetadata ? metadataOffsetBuffer.baseAddress : nil,
                                                    0, done, context, &failed, nil)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }, failedIndex: { failed })
    }

    // MARK: - Reads

    static func get(_ space: SpaceHandle, id: String, dimension: Int) throws(MnemoError) -> Memory? {
        var vector = [Float](repeating: 0, count: dimension)
        var collector = VisitCollector()
        let status = withUTF8(id) { idPointer, idBytes in
            vector.withUnsafeMutableBufferPointer { vectorBuffer in
                withUnsafeMutablePointer(to: &collector) { collectorPointer in
                    mn_space_get(space.pointer, idPointer, idBytes, vectorBuffer.baseAddress, UInt32(dimension), { context, view in
                        guard let context, let view else { return }
                        context.assumingMemoryBound(to: VisitCollector.self).pointee.visit(view)
                    }, collectorPointer)
                }
            }
        }
        if status == MN_ERR_NOT_FOUND { return nil }
        try check(status, "get \"\(id)\"")
        if collector.corruptMetadata { throw MnemoError(.corrupt, "get \"\(id)\": metadata document does not decode") }
        guard let hit = collector.hits.first else { return nil }
        return Memory(id: hit.id, vector: vector, content: hit.content, createdAt: hit.createdAt,
                      metadata: hit.metadata)
    }

    static func search(_ space: SpaceHandle, query: [Float], k: Int, ef: Int?) throws(MnemoError) -> [SearchHit] {
        guard let dimension = UInt32(exactly: query.count) else {
            throw MnemoError(.wrongDimension, "query of \(query.count) floats")
        }
        guard let kValue = UInt32(exactly: k), k > 0 else {
            throw MnemoError(.invalidArgument, "k = \(k)")
        }
        guard let efValue = UInt32(exactly: ef ?? 0) else {
            throw MnemoError(.invalidArgument, "ef = \(ef ?? 0)")
        }
        var collector = VisitCollector()
        collector.hits.reserveCapacity(min(k, 1024))
        var found: UInt32 = 0
        let status = query.withUnsafeBufferPointer { queryBuffer in
            withUnsafeMutablePointer(to: &collector) { collectorPointer in
                mn_space_search(space.pointer, queryBuffer.baseAddress, dimension, kValue, efValue, { context, view in
                    guard let context, let view else { return }
                    context.assumingMemoryBound(to: VisitCollector.self).pointee.visit(view)
                }, collectorPointer, &found)
            }
        }
        try check(status, "search")
        if collector.corruptMetadata { throw MnemoError(.corrupt, "search: a metadata document does not decode") }
        return collector.hits
    }
}

/// The C completion: runs on a worker thread and resumes the submitter's continuation.
private let engineCompletion: mn_completion_fn = { context, status, detail in
    guard let context else { return }
    let box = Unmanaged<CompletionBox>.fromOpaque(context).takeRetainedValue()
    box.continuation.resume(returning: .completed(status, detail))
}
