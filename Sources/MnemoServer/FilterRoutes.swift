// FilterRoutes: reads and deletes by metadata filter (docs/filters.md, "Filter JSON"): list
// with cursor pagination (a stable order: insertion order), count, and delete by filter (one
// write, all-or-nothing). The filter goes in the body, so these are POSTs.
import Foundation
import Hummingbird
import Mnemo

/// `POST /v1/spaces/{space}/list`, `/count`, `/delete`.
struct FilterRoutes: Sendable {
    let state: ServerState

    struct ListRequest: Decodable {
        var filter: JSONValue?
        var cursor: String?
        var limit: Int?
        var include: [String]?
        var vectorFormat: String?
    }

    struct ListResponse: Encodable {
        var memories: [MemoryOutput]
        var nextCursor: String?
    }

    struct CountRequest: Decodable {
        var filter: JSONValue?
    }

    struct CountResponse: Encodable {
        var count: Int
    }

    struct DeleteRequest: Decodable {
        var filter: JSONValue
    }

    struct DeleteResponse: Encodable {
        var deleted: Int
    }

    /// The most memories on one page (the engine's MN_ENGINE_LIST_LIMIT_MAX).
    static let pageLimitMax = 65536

    func register(on router: RouterGroup<ServerContext>) {
        router.post("spaces/:space/list") { request, context in try await list(request, context) }
        router.post("spaces/:space/count") { request, context in try await count(request, context) }
        router.post("spaces/:space/delete") { request, context in try await delete(request, context) }
    }

    func list(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.read, space: name)
        let body = try await RequestJSON.decode(ListRequest.self, from: request, limit: state.configuration.maxBodyBytes)
        let limit = body.limit ?? 100
        guard (1...Self.pageLimitMax).contains(limit) else {
            throw .badRequest("limit must be between 1 and \(Self.pageLimitMax)", field: "limit")
        }
        let include = try MemoryOutput.Include(body.include, vectorFormat: body.vectorFormat)
        let filter = try SearchRoutes.filter(body.filter)
        let page = try await state.withSpace(name, field: "cursor") { space throws(MnemoError) in
            try await SpaceReads.list(space, filter: filter, cursor: body.cursor, limit: limit)
        }
        return JSONResponse.make(status: .ok, ListResponse(memories: page.memories.map { MemoryOutput($0, include: include) },
                                                           nextCursor: page.next))
    }

    func count(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.read, space: name)
        let body = try await RequestJSON.decode(CountRequest.self, from: request, limit: state.configuration.maxBodyBytes)
        let filter = try SearchRoutes.filter(body.filter)
        let count = try await state.withSpace(name) { space throws(MnemoError) in
            try await SpaceReads.count(space, filter: filter)
        }
        return JSONResponse.make(status: .ok, CountResponse(count: count))
    }

    func delete(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.write, space: name)
        let body = try await RequestJSON.decode(DeleteRequest.self, from: request, limit: state.configuration.maxBodyBytes)
        // `{}` deletes everything: allowed, but it must be said explicitly (no absent filter).
        let filter = try SearchRoutes.filter(body.filter) ?? Filter.all
        let deleted = try await state.withWritableSpace(name) { space throws(MnemoError) in
            try await SpaceReads.delete(space, filter: filter)
        }
        return JSONResponse.make(status: .ok, DeleteResponse(deleted: deleted))
    }
}
