// SpaceRoutes: the space collection. Create (201), list with cursor pagination (names in
// byte order; the cursor is the last name of a page), describe (stats) and drop.
import Foundation
import Hummingbird
import Mnemo

/// `POST/GET /v1/spaces`, `GET/DELETE /v1/spaces/{space}`.
struct SpaceRoutes: Sendable {
    let state: ServerState

    struct CreateRequest: Decodable {
        var name: String
        var dimension: Int
        var metric: String?
        var m: Int?
        var efConstruction: Int?
        /// The space's own write quorum in a cluster (`one`, `majority`); kept in its assignment.
        var writeQuorum: String?
    }

    struct SpaceInfo: Encodable {
        var name: String
        var dimension: Int
        var metric: String
        var count: Int
        var bytes: Int
        var queueDepth: Int
        var operationsApplied: Int
        var homeWorker: Int
        var linkCount: Int
    }

    struct ListEntry: Encodable { var name: String }

    struct ListResponse: Encodable {
        var spaces: [ListEntry]
        var nextCursor: String?
    }

    /// The most names one page may hold.
    static let pageLimitMax = 1000

    func register(on router: RouterGroup<ServerContext>) {
        router.post("spaces") { request, context in try await create(request, context) }
        router.get("spaces") { request, context in try await list(request, context) }
        router.get("spaces/:space") { _, context in try await describe(context) }
        router.delete("spaces/:space") { request, context in try await drop(request, context) }
    }

    static func metric(_ name: String?) throws(ServerError) -> Metric {
        switch name {
        case nil, "cosine": .cosine
        case "l2": .l2
        case "ip", "innerProduct": .innerProduct
        default: throw .badRequest("metric is cosine, l2 or ip", field: "metric")
        }
    }

    static func info(_ space: Space) -> SpaceInfo {
        let stats = space.stats()
        return SpaceInfo(name: space.name, dimension: stats.dimension, metric: stats.metric.rawValue,
                         count: stats.count, bytes: stats.bytes, queueDepth: stats.queueDepth,
                         operationsApplied: stats.operationsApplied, homeWorker: stats.homeWorker,
                         linkCount: space.linkCount)
    }

    func create(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let body = try await RequestJSON.decode(CreateRequest.self, from: request, limit: state.configuration.maxBodyBytes)
        try context.require(.admin, space: body.name)
        if body.name.isEmpty { throw .badRequest("name must not be empty", field: "name") }
        if body.name.utf8.count > 128 { throw .badRequest("name is at most 128 bytes", field: "name") }
        if body.dimension < 1 || body.dimension > 4096 {
            throw .badRequest("dimension must be between 1 and 4096", field: "dimension")
        }
        let metric = try Self.metric(body.metric)
        if let quorum = body.writeQuorum, WriteQuorum(rawValue: quorum) == nil {
            throw .badRequest("writeQuorum must be one or majority", field: "writeQuorum")
        }
        var parameters = HNSWIndex.Parameters()
        if let m = body.m {
            guard (2...128).contains(m) else { throw .badRequest("m must be between 2 and 128", field: "m") }
            parameters.m = m
        }
        if let ef = body.efConstruction {
            guard (1...32768).contains(ef) else {
                throw .badRequest("efConstruction must be between 1 and 32768", field: "efConstruction")
            }
            parameters.efConstruction = ef
        }
        let database = try state.database()
        do {
            let space = try await database.createSpace(body.name, dimension: body.dimension, metric: metric,
                                                       parameters: parameters)
            state.forget(body.name)
            var response = JSONResponse.make(status: .created, Self.info(space))
            response.headers[.location] = "/v1/spaces/" + Self.encode(body.name)
            return response
        } catch {
            throw ServerError(error, field: error.code == .wrongDimension ? "dimension" : "name")
        }
    }

    func list(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        do {
            try context.principal.authorizeListing()
        } catch {
            throw ServerError(error)
        }
        let database = try state.database()
        let query = request.uri.queryParameters
        var limit = 100
        if let text = query.get("limit") {
            guard let value = Int(text), (1...Self.pageLimitMax).contains(value) else {
                throw .badRequest("limit must be between 1 and \(Self.pageLimitMax)", field: "limit")
            }
            limit = value
        }
        let cursor = query.get("cursor")
        let prefix = query.get("prefix")
        let names = await database.spaces()
        var page: [ListEntry] = []
        var next: String?
        for name in names {
            if let cursor, !cursor.utf8.lexicographicallyPrecedes(name.utf8) { continue }
            if let prefix, !name.hasPrefix(prefix) { continue }
            if !context.principal.canSee(space: name) { continue }
            if page.count == limit {
                next = page.last?.name
                break
            }
            page.append(ListEntry(name: name))
        }
        return JSONResponse.make(status: .ok, ListResponse(spaces: page, nextCursor: next))
    }

    func describe(_ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.read, space: name)
        let space = try await state.space(name)
        return JSONResponse.make(status: .ok, Self.info(space))
    }

    func drop(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.admin, space: name)
        let database = try state.database()
        // A move deleting its incoming copy (`Mnemo-Move`) deletes only that copy.
        if let move = request.headers[IncomingMoves.header], state.incomingMoves.move(of: name) != move {
            throw ServerError(status: .conflict, code: "notIncomingCopy",
                              message: "space \"\(name)\" is not the incoming copy of move \(move)", field: "space")
        }
        state.forget(name)
        do {
            try await database.dropSpace(name)
        } catch {
            throw ServerError(error)
        }
        state.forget(name)
        state.incomingMoves.forget(name)
        return Response(status: .noContent)
    }

    /// Percent-encodes a name for a path segment (everything but unreserved characters).
    static func encode(_ name: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name
    }
}
