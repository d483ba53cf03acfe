// LogRoutes: a space's write-ahead log as a replication stream, the second half of a space
// move after the export (docs/cluster.md, "Space moves: log shipping"). GET streams the
// records above a sequence as frames (docs/formats.md, "Log record frames") straight from the
// engine's logs, a few 1 MiB batches ahead of the client; the response starts once the first
// batch is ready, so a read that cannot start (records cut by a checkpoint: 410 logTruncated)
// is an ordinary JSON error. While it streams, the database's checkpoints wait. POST applies
// frames to the space, which must continue its sequence exactly (409 logGap / logDuplicate,
// nothing changed), and answers the space's sequence after them. Both are admin-only: the log
// holds every write, and applying records bypasses the write routes' validation of requests
// (the engine still decodes and checks every payload).
import Foundation
import Hummingbird
import Mnemo
import NIOCore

/// `GET /v1/spaces/{space}/log?after=N`, `POST /v1/spaces/{space}/log`.
struct LogRoutes: Sendable {
    let state: ServerState

    /// The media type of a stream of log record frames.
    static let mediaType = "application/x-mnemo-log"

    func register(on router: RouterGroup<ServerContext>) {
        router.get("spaces/:space/log") { request, context in try await read(request, context) }
        router.post("spaces/:space/log") { request, context in try await apply(request, context) }
    }

    /// The answer of a POST: the space's last sequence.
    struct ApplyResponse: Encodable {
        let sequence: UInt64
    }

    func read(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.admin, space: name)
        var after: UInt64 = 0
        if let text = request.uri.queryParameters.get("after") {
            guard let value = UInt64(text) else {
                throw .badRequest("after must be a sequence number (0 or more)", field: "after")
            }
            after = value
        }
        let stream = try await state.withSpace(name, field: "after") { space throws(MnemoError) in
            try await space.logRecords(after: after)
        }
        let body = ResponseBody { writer in
            for try await batch in stream {
                try await writer.write(ByteBuffer(bytes: batch.bytes))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: Self.mediaType], body: body)
    }

    func apply(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.admin, space: name)
        let limit = state.configuration.maxImportBytes
        let buffer = try await RequestJSON.collect(request, limit: limit)
        // A primary's records that arrived slowly may have been fenced by a failover meanwhile.
        try state.cluster?.checkStillAdmitted(name, header: request.headers[ClusterHeaders.replica])
        let bytes = Array(buffer.readableBytesView)
        let sequence = try await state.withSpace(name, field: "body") { space throws(MnemoError) in
            try await space.applyLogRecords(bytes)
        }
        // A primary's replication (the cluster router checked its version): how current the copy is.
        if let cluster = state.cluster, request.headers[ClusterHeaders.replica] != nil {
            cluster.freshness.applied(name, sequence: sequence,
                                      primary: request.headers[ClusterHeaders.primarySequence].flatMap { UInt64($0) })
        }
        return JSONResponse.make(status: .ok, ApplyResponse(sequence: sequence))
    }
}
