// CrossSpaceSearchRoutes: `POST /v1/search`, one k-nearest search over several spaces (a user's
// space and a shared team space), the one query that crosses nodes. Each space is searched where
// it lives: in process when this node owns it (or always, on a single node), else by its owner
// through `POST /v1/spaces/{space}/search` (with one re-read of the route and one retry after a
// WRONG_NODE). The hits are merged nearest first, each naming its `space`. The spaces must share
// metric and dimension, since distances of different metrics do not compare (400 otherwise).
import Foundation
import HTTPTypes
import Hummingbird
import Mnemo
import MnemoCluster
import MnemoPlacement
import NIOCore

/// `POST /v1/search`.
struct CrossSpaceSearchRoutes: Sendable {
    let state: ServerState

    struct CrossSearchRequest: Decodable {
        var spaces: [String]
        var vector: [Float]?
        var vectorBase64: String?
        var k: Int?
        var ef: Int?
        var filter: JSONValue?
        var include: [String]?
        var vectorFormat: String?
    }

    /// One space's part of the answer.
    struct Part: Sendable {
        var name: String
        var metric: String
        var dimension: Int
        var hits: [JSONValue]
    }

    struct Answer: Encodable {
        var hits: [JSONValue]
    }

    /// The most spaces one search may cover.
    static let spacesMax = 64

    func register(on router: RouterGroup<ServerContext>) {
        router.post("search") { request, context in try await search(request, context) }
    }

    func search(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let body = try await RequestJSON.decode(CrossSearchRequest.self, from: request,
                                                limit: state.configuration.maxBodyBytes)
        guard (1...Self.spacesMax).contains(body.spaces.count) else {
            throw .badRequest("spaces lists 1 to \(Self.spacesMax) names", field: "spaces")
        }
        guard Set(body.spaces).count == body.spaces.count else {
            throw .badRequest("spaces lists a name twice", field: "spaces")
        }
        for (index, name) in body.spaces.enumerated() {
            if name.isEmpty { throw .badRequest("a space name is empty", field: "spaces[\(index)]") }
            try context.require(.read, space: name)
        }
        let k = body.k ?? 10
        guard (1...SearchRoutes.kMax).contains(k) else {
            throw .badRequest("k must be between 1 and \(SearchRoutes.kMax)", field: "k")
        }
        let single = SearchRoutes.SearchRequest(vector: body.vector, vectorBase64: body.vectorBase64, k: k, ef: body.ef,
                                                filter: body.filter, include: body.include,
                                                vectorFormat: body.vectorFormat)
        let authorization = request.headers[.authorization]
        let state = self.state
        let parts: [Part]
        do {
            parts = try await withThrowingTaskGroup(of: Part.self) { group in
                for name in body.spaces {
                    group.addTask { try await Self.part(state: state, space: name, single, authorization: authorization) }
                }
                var out: [Part] = []
                for try await part in group { out.append(part) }
                return out
            }
        } catch let error as ServerError {
            throw error
        } catch {
            throw .routingFailed("a space could not be searched: \(error)")
        }
        if let first = parts.first,
           let odd = parts.first(where: { $0.metric != first.metric || $0.dimension != first.dimension }) {
            throw .badRequest("spaces \(first.name) (\(first.metric), \(first.dimension)) and \(odd.name) (\(odd.metric), \(odd.dimension)) differ in metric or dimension",
                              field: "spaces")
        }
        var merged: [(distance: Double, space: String, id: String, hit: JSONValue)] = []
        for part in parts {
            for case .object(var hit) in part.hits {
                hit["space"] = .string(part.name)
                let distance: Double
                switch hit["distance"] {
                case .double(let value)?: distance = value
                case .int(let value)?: distance = Double(value)
                default: distance = .infinity
                }
                let id: String
                if case .string(let text)? = hit["id"] { id = text } else { id = "" }
                merged.append((distance, part.name, id, .object(hit)))
            }
        }
        merged.sort { ($0.distance, $0.space, $0.id) < ($1.distance, $1.space, $1.id) }
        return JSONResponse.make(status: .ok, Answer(hits: merged.prefix(k).map(\.hit)))
    }

    /// Searches one space where it lives.
    static func part(state: ServerState, space name: String, _ body: SearchRoutes.SearchRequest,
                     authorization: String?) async throws(ServerError) -> Part {
        if let node = state.cluster, let remote = try await node.remoteSearch(space: name, body, authorization: authorization) {
            return remote
        }
        let (items, space) = try await SearchRoutes.hits(state: state, space: name, body)
        let encoded = MemoryOutput.listBody("hits", items)
        let hits = (try? JSONDecoder().decode([String: [JSONValue]].self, from: Data(buffer: encoded)))?["hits"] ?? []
        return Part(name: name, metric: space.metric.rawValue, dimension: space.dimension, hits: hits)
    }
}

extension ClusterNode {
    /// What a space's owner answered to a read this node sent it.
    private struct RemoteSpace: Decodable {
        var metric: String
        var dimension: Int
    }

    /// Searches `name` on its owner when another node owns it; nil when this node should search
    /// it itself (it owns it, or the space has no assignment).
    func remoteSearch(space name: String, _ body: SearchRoutes.SearchRequest,
                      authorization: String?) async throws(ServerError) -> CrossSpaceSearchRoutes.Part? {
        let space = SpaceID(name: name)
        var known = table.lookup(space)
        if known == nil { known = try await reread(space) }
        guard var entry = known else { return nil }
        let path = "/v1/spaces/" + SpaceRoutes.encode(name)
        var headers = HTTPFields()
        if let authorization { headers[.authorization] = authorization }
        headers[.contentType] = "application/json"
        let payload: ByteBuffer
        do {
            payload = ByteBuffer(data: try JSONEncoder().encode(body))
        } catch {
            throw .badRequest("the search does not encode: \(error)")
        }
        for attempt in 0..<2 {
            if attempt == 1 {
                guard let fresh = try await reread(space) else { return nil }
                entry = fresh
                counters.add(.retries)
            }
            if entry.assignment.primary == node { return nil }
            guard let address = table.address(of: entry.assignment.primary) else { continue }
            counters.add(.forwards)
            do {
                let version = entry.assignment.version
                async let described = exchange(.get, path, headers: headers, to: address, version: version, body: nil)
                let searched = try await exchange(.post, path + "/search", headers: headers, to: address, version: version,
                                                  body: payload)
                let info = try await described
                if searched.status == 421 || info.status == 421 { continue }
                for answer in [info, searched] where !(200..<300).contains(answer.status) {
                    throw Self.error(status: answer.status, body: answer.body)
                }
                let hits = (try? JSONDecoder().decode([String: [JSONValue]].self, from: Data(buffer: searched.body)))?["hits"]
                guard let hits, let described = try? JSONDecoder().decode(RemoteSpace.self, from: Data(buffer: info.body)) else {
                    throw ServerError.routingFailed("the owner of \(name) answered something unreadable")
                }
                return CrossSpaceSearchRoutes.Part(name: name, metric: described.metric, dimension: described.dimension,
                                                   hits: hits)
            } catch let error as ServerError {
                throw error
            } catch {
                logger.info("remote search failed", metadata: ["space": "\(name)", "error": "\(error)"])
            }
        }
        counters.add(.failures)
        throw .routingFailed("the owner of space \(name) could not be reached; retry shortly")
    }

    /// One request to another node, its whole (small) answer collected.
    private func exchange(_ method: HTTPRequest.Method, _ target: String, headers: HTTPFields, to address: String,
                          version: UInt64, body: ByteBuffer?) async throws -> (status: Int, body: ByteBuffer) {
        let answer = try await forwarder.send(method: method, target: target, headers: headers, to: address,
                                              version: version, body: body.map { .buffer($0) } ?? .none,
                                              timeout: .seconds(Int64(configuration.forwardTimeoutSeconds)))
        let bytes = try await answer.body.collect(upTo: 256 << 20)
        return (Int(answer.status.code), bytes)
    }

    /// The owner's error answer as this node's error (same status, code, message, field).
    private static func error(status: Int, body: ByteBuffer) -> ServerError {
        struct Envelope: Decodable {
            struct Body: Decodable { var code: String; var message: String; var field: String? }
            var error: Body
        }
        let decoded = try? JSONDecoder().decode(Envelope.self, from: Data(buffer: body))
        return ServerError(status: HTTPResponse.Status(code: status), code: decoded?.error.code ?? "internal",
                           message: decoded?.error.message ?? "the owning node answered \(status)",
                           field: decoded?.error.field)
    }
}
