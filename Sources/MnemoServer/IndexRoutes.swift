// IndexRoutes: a space's field indexes (docs/filters.md, "Field indexes in spaces"): list them,
// create one on a metadata field (built from the memories present, then kept current by every
// write), drop one. An index changes how fast filtered reads are, never what they answer.
// Creating and dropping change the space's layout, as creating the space does: admin scope.
import Foundation
import Hummingbird
import Mnemo

/// `GET /v1/spaces/{space}/indexes`, `PUT` and `DELETE /v1/spaces/{space}/indexes/{field}`.
struct IndexRoutes: Sendable {
    let state: ServerState

    struct CreateRequest: Decodable {
        var kind: String
    }

    struct IndexOutput: Encodable {
        var field: String
        var kind: String
        var entries: Int
        var present: Int
        var bytes: Int
        var builtIn: Bool

        init(_ info: FieldIndexInfo) {
            field = info.name
            kind = info.kind.description
            entries = info.entries
            present = info.present
            bytes = info.bytes
            builtIn = info.isBuiltIn
        }
    }

    struct ListResponse: Encodable {
        var indexes: [IndexOutput]
    }

    struct CreateResponse: Encodable {
        var field: String
        var kind: String
        var present: Int
    }

    func register(on router: RouterGroup<ServerContext>) {
        router.get("spaces/:space/indexes") { request, context in try await list(request, context) }
        router.put("spaces/:space/indexes/:field") { request, context in try await create(request, context) }
        router.delete("spaces/:space/indexes/:field") { request, context in try await drop(request, context) }
    }

    func list(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.read, space: name)
        let indexes = try await state.withSpace(name) { space throws(MnemoError) in try space.indexes() }
        return JSONResponse.make(status: .ok, ListResponse(indexes: indexes.map(IndexOutput.init)))
    }

    func create(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        let field = try PathParameter.decoded("field", in: context)
        try context.require(.admin, space: name)
        let body = try await RequestJSON.decode(CreateRequest.self, from: request, limit: state.configuration.maxBodyBytes)
        let kind: FieldIndexKind
        switch body.kind {
        case "keyword": kind = .keyword
        case "numeric": kind = .numeric
        default: throw .badRequest("kind must be \"keyword\" or \"numeric\"", field: "kind")
        }
        let present = try await state.withWritableSpace(name, field: "field") { space throws(MnemoError) in
            try await space.createIndex(field, kind: kind)
        }
        return JSONResponse.make(status: .created, CreateResponse(field: field, kind: body.kind, present: present))
    }

    func drop(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        let field = try PathParameter.decoded("field", in: context)
        try context.require(.admin, space: name)
        try await state.withWritableSpace(name, field: "field") { space throws(MnemoError) in
            try await space.dropIndex(field)
        }
        return Response(status: .noContent)
    }
}
