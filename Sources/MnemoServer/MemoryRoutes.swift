// MemoryRoutes: single memories (PUT upserts, GET, DELETE) and batches (POST, all-or-nothing).
// Every body is decoded and checked whole before the first engine call, so a malformed body
// changes nothing. A batch, of inserts or of upserts, is one engine write: the engine applies it
// whole or not at all and logs it as one record.
import Foundation
import Hummingbird
import Mnemo

/// `PUT/GET/DELETE /v1/spaces/{space}/memories/{id}`, `POST /v1/spaces/{space}/memories`.
struct MemoryRoutes: Sendable {
    let state: ServerState

    struct BatchRequest: Decodable {
        var memories: [MemoryInput]
        var upsert: Bool?
    }

    struct PutResponse: Encodable {
        var id: String
        var replaced: Bool
    }

    struct BatchResponse: Encodable {
        var inserted: Int
        var replaced: Int
    }

    /// The most memories in one batch.
    static let batchMax = 100_000

    func register(on router: RouterGroup<ServerContext>) {
        router.put("spaces/:space/memories/:id") { request, context in try await put(request, context) }
        router.get("spaces/:space/memories/:id") { request, context in try await get(request, context) }
        router.delete("spaces/:space/memories/:id") { _, context in try await delete(context) }
        router.post("spaces/:space/memories") { request, context in try await batch(request, context) }
    }

    func put(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        let id = try PathParameter.decoded("id", in: context)
        try context.require(.write, space: name)
        let input = try await RequestJSON.decode(MemoryInput.self, from: request, limit: state.configuration.maxBodyBytes)
        let space = try await state.space(name)
        let memory = try input.memory(id: id, dimension: space.dimension,
                                      maxContentBytes: state.configuration.databaseOptions.maxContentBytes, prefix: "")
        if space.metric == .cosine && memory.vector.allSatisfy({ $0 == 0 }) {
            throw ServerError(status: .badRequest, code: "zeroVector", message: "a zero vector in a cosine space",
                              field: input.vector == nil ? "vectorBase64" : "vector")
        }
        let replaced = try await state.withWritableSpace(name) { space throws(MnemoError) in try await space.upsert(memory) }
        return JSONResponse.make(status: replaced ? .ok : .created, PutResponse(id: id, replaced: replaced))
    }

    func get(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        let id = try PathParameter.decoded("id", in: context)
        try context.require(.read, space: name)
        try MemoryInput.checkID(id, field: "id")
        let query = request.uri.queryParameters
        let includeNames = query.get("include").map { $0.split(separator: ",").map(String.init) }
        let include = try MemoryOutput.Include(includeNames, vectorFormat: query.get("vectorFormat"), defaultVector: true)
        let memory = try await state.withSpace(name) { space throws(MnemoError) in try await space.get(id) }
        guard let memory else { throw .notFound("no memory \"\(id)\" in space \"\(name)\"", field: "id") }
        return JSONResponse.make(status: .ok, body: MemoryOutput(memory, include: include).body)
    }

    func delete(_ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        let id = try PathParameter.decoded("id", in: context)
        try context.require(.write, space: name)
        try MemoryInput.checkID(id, field: "id")
        let existed = try await state.withWritableSpace(name) { space throws(MnemoError) in try await space.delete(id) }
        guard existed else { throw .notFound("no memory \"\(id)\" in space \"\(name)\"", field: "id") }
        return Response(status: .noContent)
    }

    func batch(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let name = try PathParameter.space(context)
        try context.require(.write, space: name)
        let body = try await RequestJSON.decode(BatchRequest.self, from: request, limit: state.configuration.maxBodyBytes)
        if body.memories.count > Self.batchMax {
            throw ServerError(status: .contentTooLarge, code: "tooLarge",
                              message: "a batch holds at most \(Self.batchMax) memories", field: "memories")
        }
        let space = try await state.space(name)
        let limit = state.configuration.databaseOptions.maxContentBytes
        var memories: [Memory] = []
        memories.reserveCapacity(body.memories.count)
        var seen = Set<String>()
        for (index, input) in body.memories.enumerated() {
            let prefix = "memories[\(index)]."
            guard let id = input.id else {
                throw .badRequest("memories[\(index)].id is required", field: prefix + "id")
            }
            let memory = try input.memory(id: id, dimension: space.dimension, maxContentBytes: limit, prefix: prefix)
            guard seen.insert(id).inserted else {
                throw ServerError(status: .conflict, code: "duplicateID",
                                  message: "id \"\(id)\" appears twice in the batch", field: prefix + "id")
            }
            if memory.vector.allSatisfy({ $0 == 0 }) && space.metric == .cosine {
                throw ServerError(status: .badRequest, code: "zeroVector",
                                  message: "a zero vector in a cosine space", field: prefix + "vector")
            }
            memories.append(memory)
        }
        if body.upsert != true {
            try await state.withWritableSpace(name, field: "memories") { space throws(MnemoError) in
                try await space.insert(contentsOf: memories)
            }
            return JSONResponse.make(status: .ok, BatchResponse(inserted: memories.count, replaced: 0))
        }
        // The engine refuses a bad document by its position; checked here first, the error also
        // names the field inside it.
        for (index, memory) in memories.enumerated() where !memory.metadata.isEmpty {
            do {
                try memory.metadata.validate()
            } catch {
                throw ServerError(error, field: "memories[\(index)]")
            }
        }
        let replaced = try await state.withWritableSpace(name, field: "memories") { space throws(MnemoError) in
            try await space.upsert(contentsOf: memories)
        }
        return JSONResponse.make(status: .ok, BatchResponse(inserted: memories.count - replaced, replaced: replaced))
    }
}
