// LinkRoutes: associations between memories of a space, which recall spreads activation along.
// PUT creates or re-weights a link; DELETE (with `from` and `to` as query parameters, since
// DELETE bodies are not portable) removes it.
import Foundation
import Hummingbird
import Mnemo

/// `PUT /v1/spaces/{space}/links`, `DELETE /v1/spaces/{space}/links?from=&to=`.
struct LinkRoutes: Sendable {
    let state: ServerState

    struct LinkRequest: Decodable {
        var from: String
        var to: String
        var weight: Float?
    }

    struct LinkResponse: Encodable {
        var from: String
        var to: String
        var weight: Float
        var created: Bool
    }

    func register(on router: RouterGroup<ServerContext>) {
        router.put("spaces/:space/links") { request, context in try await link(request, context) }
        router.delete("spaces/:space/links") { request, context in try await unlink(request, context) }
    }

    func link(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.write, space: name)
        let body = try await RequestJSON.decode(LinkRequest.self, from: request, limit: state.configuration.maxBodyBytes)
        try MemoryInput.checkID(body.from, field: "from")
        try MemoryInput.checkID(body.to, field: "to")
        if body.from == body.to { throw .badRequest("a memory cannot link to itself", field: "to") }
        let weight = body.weight ?? 1
        guard weight > 0 && weight <= 1 else { throw .badRequest("weight must be in (0, 1]", field: "weight") }
        let existed = try await state.withWritableSpace(name) { space throws(MnemoError) in
            try await space.link(body.from, to: body.to, weight: weight)
        }
        return JSONResponse.make(status: existed ? .ok : .created,
                                 LinkResponse(from: body.from, to: body.to, weight: weight, created: !existed))
    }

    func unlink(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.write, space: name)
        let query = request.uri.queryParameters
        guard let from = query.get("from") else { throw .badRequest("query parameter from is required", field: "from") }
        guard let to = query.get("to") else { throw .badRequest("query parameter to is required", field: "to") }
        try MemoryInput.checkID(from, field: "from")
        try MemoryInput.checkID(to, field: "to")
        if from == to { throw .badRequest("a memory cannot link to itself", field: "to") }
        try await state.withWritableSpace(name) { space throws(MnemoError) in try await space.unlink(from, to: to) }
        return Response(status: .noContent)
    }
}
