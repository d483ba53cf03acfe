// SearchRoutes: k-nearest search and recall by spreading activation, both with an optional
// filter. Hits carry `distance` (the metric's, smaller is closer) and `score` (higher is
// better: 1 − distance for cosine and inner product, 1 / (1 + distance) for L2).
import Foundation
import Hummingbird
import Mnemo

/// `POST /v1/spaces/{space}/search`, `POST /v1/spaces/{space}/recall`.
struct SearchRoutes: Sendable {
    let state: ServerState

    struct SearchRequest: Codable, Sendable, Equatable {
        var vector: [Float]?
        var vectorBase64: String?
        var k: Int?
        var ef: Int?
        var filter: JSONValue?
        var include: [String]?
        var vectorFormat: String?
    }

    struct RecallRequest: Decodable {
        var vector: [Float]?
        var vectorBase64: String?
        var seeds: Int?
        var hops: Int?
        var decay: Float?
        var threshold: Float?
        var limit: Int?
        var fanOut: Int?
        var overSimilarity: Bool?
        var filter: JSONValue?
        var include: [String]?
    }

    /// The largest `k` (and `ef`): the engine's MN_HNSW_K_MAX and MN_HNSW_EF_MAX.
    static let kMax = 32768

    func register(on router: RouterGroup<ServerContext>) {
        router.post("spaces/:space/search") { request, context in try await search(request, context) }
        router.post("spaces/:space/recall") { request, context in try await recall(request, context) }
    }

    /// The filter of a request, checked by the C parser (400 naming `filter` otherwise); `{}`
    /// and `null` are no filter.
    static func filter(_ value: JSONValue?) throws(ServerError) -> Filter? {
        guard let value, value != .null else { return nil }
        guard case .object(let object) = value else {
            throw ServerError(status: .badRequest, code: "invalidFilter", message: "filter must be a JSON object",
                              field: "filter")
        }
        if object.isEmpty { return nil }
        do {
            return try Filter(json: value.jsonText)
        } catch {
            throw ServerError(error)
        }
    }

    func search(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.read, space: name)
        let body = try Self.request(from: try await RequestJSON.collect(request, limit: state.configuration.maxBodyBytes))
        let (out, _) = try await Self.hits(state: state, space: name, body)
        return JSONResponse.make(status: .ok, body: MemoryOutput.listBody("hits", out))
    }

    /// The search body in `buffer`: the common shape read by SearchBodyScanner, anything else
    /// (and every error) by JSONDecoder.
    static func request(from buffer: ByteBuffer) throws(ServerError) -> SearchRequest {
        if let request = SearchBodyScanner.scan(buffer) { return request }
        return try RequestJSON.decode(SearchRequest.self, from: buffer)
    }

    /// A search request checked against its space: the query and what each hit returns.
    struct Query {
        var vector: [Float]
        var k: Int
        var ef: Int?
        var include: MemoryOutput.Include
        var filter: Filter?
    }

    /// Checks `body` against `space` (400 naming the field): the HTTP route and the event loop
    /// fast path (FastSearch) share it.
    static func query(_ body: SearchRequest, space: Space) throws(ServerError) -> Query {
        let vector = try VectorCoding.decode(array: body.vector, base64: body.vectorBase64, dimension: space.dimension,
                                             field: "vector")
        let k = body.k ?? 10
        guard (1...Self.kMax).contains(k) else { throw .badRequest("k must be between 1 and \(Self.kMax)", field: "k") }
        if let ef = body.ef, !(1...Self.kMax).contains(ef) {
            throw .badRequest("ef must be between 1 and \(Self.kMax)", field: "ef")
        }
        let include = try MemoryOutput.Include(body.include, vectorFormat: body.vectorFormat)
        return Query(vector: vector, k: k, ef: body.ef, include: include, filter: try Self.filter(body.filter))
    }

    /// The response items of `hits` (without vectors: hits carry none).
    static func outputs(_ hits: [SearchHit], metric: Metric, include: MemoryOutput.Include) -> [MemoryOutput] {
        var out: [MemoryOutput] = []
        out.reserveCapacity(hits.count)
        for hit in hits {
            var item = MemoryOutput(id: hit.id)
            item.distance = hit.distance
            item.score = MemoryOutput.score(distance: hit.distance, metric: metric)
            item.createdAt = hit.createdAt
            if include.content { item.setContent(hit.content) }
            if include.metadata { item.metadata = MemoryOutput.json(hit.metadata) }
            out.append(item)
        }
        return out
    }

    /// The hits of `body` in the local space `name` (the caller has checked the credential), and
    /// the space. Shared with the cross-space search.
    static func hits(state: ServerState, space name: String,
                     _ body: SearchRequest) async throws(ServerError) -> ([MemoryOutput], Space) {
        let space = try await state.space(name)
        let query = try Self.query(body, space: space)
        let hits = try await state.withSpace(name, field: "vector") { space throws(MnemoError) in
            try await SpaceReads.search(space, query.vector, k: query.k, ef: query.ef, filter: query.filter)
        }
        var out = Self.outputs(hits, metric: space.metric, include: query.include)
        if query.include.vector {
            // Hits carry no vector: read it back (a memory deleted meanwhile has none).
            for index in out.indices {
                if let memory = try? await space.get(out[index].id) {
                    out[index].setVector(memory.vector, base64: query.include.vectorBase64)
                }
            }
        }
        return (out, space)
    }

    func recall(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.read, space: name)
        let body = try await RequestJSON.decode(RecallRequest.self, from: request, limit: state.configuration.maxBodyBytes)
        let space = try await state.space(name)
        let cue = try VectorCoding.decode(array: body.vector, base64: body.vectorBase64, dimension: space.dimension,
                                          field: "vector")
        let seeds = body.seeds ?? 10, hops = body.hops ?? 3, limit = body.limit ?? 10, fanOut = body.fanOut ?? 8
        let decay = body.decay ?? 0.5, threshold = body.threshold ?? 0.01
        guard (1...1024).contains(seeds) else { throw .badRequest("seeds must be between 1 and 1024", field: "seeds") }
        guard (0...8).contains(hops) else { throw .badRequest("hops must be between 0 and 8", field: "hops") }
        guard decay > 0 && decay <= 1 else { throw .badRequest("decay must be in (0, 1]", field: "decay") }
        guard threshold >= 0 && threshold <= 1 else {
            throw .badRequest("threshold must be in [0, 1]", field: "threshold")
        }
        guard (1...1_048_576).contains(limit) else {
            throw .badRequest("limit must be between 1 and 1048576", field: "limit")
        }
        guard (1...512).contains(fanOut) else { throw .badRequest("fanOut must be between 1 and 512", field: "fanOut") }
        let include = try MemoryOutput.Include(body.include, vectorFormat: nil)
        if include.vector { throw .badRequest("recall returns content and metadata, not vectors", field: "include") }
        let filter = try Self.filter(body.filter)
        let recalled = try await state.withSpace(name, field: "vector") { space throws(MnemoError) in
            try await SpaceReads.recall(space, cue: cue, seeds: seeds, hops: hops, decay: decay, threshold: threshold,
                                        limit: limit, fanOut: fanOut, overSimilarity: body.overSimilarity ?? true,
                                        filter: filter)
        }
        let out = recalled.map { memory in
            var item = MemoryOutput(id: memory.id)
            item.activation = memory.activation
            item.hops = memory.hops
            item.createdAt = memory.createdAt
            if include.content { item.setContent(memory.content) }
            if include.metadata { item.metadata = MemoryOutput.json(memory.metadata) }
            return item
        }
        return JSONResponse.make(status: .ok, body: MemoryOutput.listBody("memories", out))
    }
}
