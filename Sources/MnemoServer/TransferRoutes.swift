// TransferRoutes: a space's export stream out, and an export stream in as a new space.
//
// Export streams the engine's consistent snapshot (Space.export(chunkBytes:)): the export runs
// on a blocking thread at most a few 64 KiB chunks ahead of the client, so the server never
// holds it whole; the response starts once the first chunk is ready (an export that cannot
// start is an ordinary JSON error). The price of not copying: the space's own writes wait
// (queued) while a slow client reads; a client that goes away ends the export at once. Import
// hands the request body to Database.importSpace(_:from:) chunk by chunk as it arrives, counting
// bytes against its own limit (`maxImportBytes`, 413 past it, checked on Content-Length first);
// the engine checks the whole stream (checksum included) before the space exists: a
// truncated, damaged or oversized upload creates nothing. An import carrying `Mnemo-Move` is a
// space move's incoming copy: it replaces an earlier copy of the same move (IncomingMoves); one
// carrying `Mnemo-Replica` is a primary's snapshot for its replica and replaces the replica's copy.
import Foundation
import Hummingbird
import Mnemo
import NIOCore
import Synchronization

/// `GET /v1/spaces/{space}/export`, `PUT /v1/spaces/{space}/import`.
struct TransferRoutes: Sendable {
    let state: ServerState

    /// Bytes per write of the export response.
    static let chunkBytes = 64 * 1024

    func register(on router: RouterGroup<ServerContext>) {
        router.get("spaces/:space/export") { _, context in try await export(context) }
        router.put("spaces/:space/import") { request, context in try await importSpace(request, context) }
    }

    func export(_ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.read, space: name)
        let export = try await state.withSpace(name) { space throws(MnemoError) in
            try await space.export(chunkBytes: Self.chunkBytes)
        }
        let body = ResponseBody { writer in
            for try await chunk in export {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: body)
    }

    func importSpace(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.admin, space: name)
        let database = try state.database()
        let limit = state.configuration.maxImportBytes
        try RequestJSON.checkDeclaredLength(request, limit: limit)
        let received = ByteCount()
        let chunks = request.body.map { buffer throws(MnemoError) -> [UInt8] in
            if received.add(buffer.readableBytes) > limit {
                throw MnemoError(.tooLarge, "the import stream is over \(limit) bytes")
            }
            return Array(buffer.readableBytesView)
        }
        // A move's incoming copy (`Mnemo-Move`): replaces the copy an earlier attempt of the
        // same move left here, never any other space (IncomingMoves).
        let move = request.headers[IncomingMoves.header]
        // In a cluster, a copy left here from before this node was removed from the space's
        // copy set (not dropped yet) is no space this node serves: the move replaces it.
        let stale = await state.cluster?.isStaleCopy(name) ?? false
        if let move, state.incomingMoves.move(of: name) == move || stale {
            state.forget(name)
            do {
                try await database.dropSpace(name)
            } catch where error.code == .unknownSpace {
            } catch {
                throw ServerError(error, field: "space")
            }
            state.incomingMoves.forget(name)
        }
        // A primary's snapshot for its replica (`Mnemo-Replica`, checked by the cluster router):
        // replaces this node's copy, which lags too far or diverged.
        if state.cluster != nil, request.headers[ClusterHeaders.replica] != nil {
            state.forget(name)
            do {
                try await database.dropSpace(name)
            } catch where error.code == .unknownSpace {
            } catch {
                throw ServerError(error, field: "space")
            }
        }
        let space: Space
        do {
            // Counted as arriving until the move's copy is recorded as one (ClusterNode.tend).
            space = try await state.incomingMoves.arriving(name) { () async throws(MnemoError) in
                let space = try await database.importSpace(name, from: chunks)
                if let move { state.incomingMoves.record(name, move: move) }
                return space
            }
        } catch where error.code == .tooLarge && received.total > limit {
            throw .payloadTooLarge(limit)
        } catch {
            throw ServerError(error, field: [.duplicateID, .invalidArgument].contains(error.code) ? "space" : "body")
        }
        state.forget(name)
        if let cluster = state.cluster, request.headers[ClusterHeaders.replica] != nil {
            do {
                try cluster.checkStillAdmitted(name, header: request.headers[ClusterHeaders.replica])
            } catch {
                // A snapshot of a primary failed over while it arrived: not a copy to keep.
                try? await database.dropSpace(name)
                throw error
            }
        }
        var response = JSONResponse.make(status: .created, SpaceRoutes.info(space))
        response.headers[.location] = "/v1/spaces/" + SpaceRoutes.encode(name)
        return response
    }

    /// The bytes of an import body read so far (the body's map closure may run on any thread).
    private final class ByteCount: Sendable {
        private let bytes = Mutex(0)
        /// Adds `count`; returns the new total.
        func add(_ count: Int) -> Int { bytes.withLock { $0 += count; return $0 } }
        /// The total so far.
        var total: Int { bytes.withLock { $0 } }
    }
}
