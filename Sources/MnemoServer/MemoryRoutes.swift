// MemoryRoutes: single memories (PUT upserts, GET, DELETE) and batches (POST, all-or-nothing).
// Every body is decoded and checked whole before the first engine call, so a malformed body
// changes nothing. An insert batch is one engine write (the engine applies it whole or not at
// all); an upsert batch has no single engine write, so it is checked whole first (including its
// metadata, through the engine's own codec) and then applied, up to 32 upserts queued at once
// (the ids are distinct, so their order does not matter), each waiting for mailbox room instead
// of failing half-way.
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
        let replaced = try await state.withSpace(name) { space throws(MnemoError) in try await space.upsert(memory) }
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
        let existed = try await state.withSpace(name) { space throws(MnemoError) in try await space.delete(id) }
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
            try await state.withSpace(name, field: "memories") { space throws(MnemoError) in
                try await space.insert(contentsOf: memories)
            }
            return JSONResponse.make(status: .ok, BatchResponse(inserted: memories.count, replaced: 0))
        }
        // Upsert: every metadata document is checked by the engine's codec before the first
        // write, so the writes below can only fail for reasons outside the request.
        for (index, memory) in memories.enumerated() where !memory.metadata.isEmpty {
            do {
                try memory.metadata.validate()
            } catch {
                throw ServerError(error, field: "memories[\(index)]")
            }
        }
        let replaced = try await upsertAll(memories, space: name)
        return JSONResponse.make(status: .ok, BatchResponse(inserted: memories.count - replaced, replaced: replaced))
    }

    /// How many upserts of one batch are in the space's mailbox at once: their ids are distinct,
    /// so their order does not matter, and a durable log syncs the ones it holds together.
    static let upsertWindow = 32

    /// Upserts every memory (ids distinct), `upsertWindow` at a time; how many replaced one.
    private func upsertAll(_ memories: [Memory], space name: String) async throws(ServerError) -> Int {
        let result = await withTaskGroup(of: Result<Bool, ServerError>.self) { group -> Result<Int, ServerError> in
            var replaced = 0
            var failure: ServerError?
            var next = 0
            func collect(_ outcome: Result<Bool, ServerError>) {
                switch outcome {
                case .success(let wasReplaced): replaced += wasReplaced ? 1 : 0
                case .failure(let error): failure = failure ?? error
                }
            }
            while next < memories.count {
                if next >= Self.upsertWindow, let outcome = await group.next() { collect(outcome) }
                let memory = memories[next]
                next += 1
                group.addTask {
                    do throws(ServerError) {
                        return .success(try await upsertWaiting(memory, space: name))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            for await outcome in group { collect(outcome) }
            if let failure { return .failure(failure) }
            return .success(replaced)
        }
        return try result.get()
    }

    /// Upserts one memory of a batch already begun: a full mailbox is waited out (with a
    /// growing pause) rather than answered 429, so the batch is not left half applied.
    private func upsertWaiting(_ memory: Memory, space name: String) async throws(ServerError) -> Bool {
        var pause: UInt64 = 50_000
        while true {
            do {
                return try await state.withSpace(name, field: "memories") { space throws(MnemoError) in
                    try await space.upsert(memory)
                }
            } catch where error.code == "full" {
                try? await Task.sleep(nanoseconds: pause)
                pause = min(pause * 2, 5_000_000)
            }
        }
    }
}
