// TransferRoutes: a space's export stream out, and an export stream in as a new space.
//
// Export takes the engine's consistent snapshot (Space.export, on a blocking thread, with the
// space's writes paused only while the snapshot is written to memory, never while a slow client
// reads) and sends it as a chunked response, 64 KiB per write, so the response is never copied
// into one more buffer and the client sees bytes at once. Import reads the request body as it
// arrives, under its own limit (`maxImportBytes`), and hands it to Database.importSpace, which
// checks the whole stream (checksum included) before the space exists: a truncated or damaged
// upload creates nothing.
import Foundation
import Hummingbird
import Mnemo
import NIOCore

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
        let bytes = try await state.withSpace(name) { space throws(MnemoError) in try await space.export() }
        let body = ResponseBody { writer in
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + Self.chunkBytes, bytes.count)
                try await writer.write(ByteBuffer(bytes: bytes[offset..<end]))
                offset = end
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
        let buffer = try await RequestJSON.collect(request, limit: limit)
        if buffer.readableBytes == 0 { throw .badRequest("the import stream is empty", field: "body") }
        let bytes = Array(buffer.readableBytesView)
        do {
            let space = try await database.importSpace(name, from: bytes)
            state.forget(name)
            var response = JSONResponse.make(status: .created, SpaceRoutes.info(space))
            response.headers[.location] = "/v1/spaces/" + SpaceRoutes.encode(name)
            return response
        } catch {
            throw ServerError(error, field: [.duplicateID, .invalidArgument].contains(error.code) ? "space" : "body")
        }
    }
}
