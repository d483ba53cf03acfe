// FastSearch: `POST /v1/spaces/{space}/search` answered inside the channel pipeline, on the event
// loop that read it, for the common case only: a credential that may read the space, an open
// database, a space some request has already opened, a body that decodes and checks, a search
// that succeeds and hits without vectors. Everything else (any error, a first request for a
// space, `include: [vector]`, cluster mode) returns nil and the request goes on to the
// Hummingbird route, which answers it as it always did, errors included: the two paths share
// the request checks and the response writer (SearchRoutes.query, .outputs,
// MemoryOutput.listBody), and a search changes nothing, so a request the fast path looked at and
// passed on is answered exactly as if it had not. What it saves is Hummingbird's per-request
// async machinery (a task per request, the body as an async sequence, the response writer's
// hops), about as much CPU as the search itself at ef 64 (docs/server.md, "Load test and
// figures").
import Foundation
import HTTPTypes
import Logging
import Mnemo
import NIOCore

/// Serves successful searches without leaving the event loop.
struct FastSearch: Sendable {
    /// The route label of the metrics, as Hummingbird names the route.
    static let route = "/v1/spaces/{space}/search"

    let state: ServerState
    let authenticator: Authenticator
    let metrics: ServerMetrics
    let logger: Logger

    /// The space of a request this path may take, from its head alone: POST to
    /// `/v1/spaces/{space}/search` (no query string), one node, a declared body within the
    /// limit, no `Expect` field and no `Connection` but `keep-alive` (the others need what
    /// Hummingbird does with them).
    func candidate(_ head: HTTPRequest) -> String? {
        guard state.cluster == nil, head.method == .post, let path = head.path,
              head.headerFields[.expect] == nil,
              head.headerFields[.connection].map({ $0.lowercased() == "keep-alive" }) ?? true
        else { return nil }
        if let declared = head.headerFields[.contentLength] {
            guard let length = Int(declared), length <= state.configuration.maxBodyBytes else { return nil }
        }
        let segments = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard segments.count == 5, segments[0].isEmpty,
              segments[1].elementsEqual("v1".utf8), segments[2].elementsEqual("spaces".utf8),
              segments[4].elementsEqual("search".utf8), !segments[3].isEmpty,
              !segments[3].contains(UInt8(ascii: "?")),
              let raw = String(segments[3])
        else { return nil }
        return PathParameter.decode(raw)
    }

    /// The 200 response of the search `body` in `name`, or nil for Hummingbird's route to
    /// answer (see the file's comment). Records the request's metrics and debug line when it
    /// answers.
    func respond(_ head: HTTPRequest, space name: String, body: ByteBuffer) -> ByteBuffer? {
        let start = ContinuousClock.now
        guard let principal = try? authenticator.authenticate(authorizationValues: head.headerFields[values: .authorization]),
              (try? principal.authorize(space: name, scope: .read)) != nil,
              state.isReady,
              let space = state.cachedSpace(name),
              let request = try? SearchRoutes.request(from: body),
              let query = try? SearchRoutes.query(request, space: space),
              !query.include.vector,
              let hits = try? space.searchWithoutSuspending(query.vector, k: query.k, ef: query.ef,
                                                            filter: query.filter)
        else { return nil }
        let out = SearchRoutes.outputs(hits, metric: space.metric, include: query.include)
        let response = MemoryOutput.listBody("hits", out)
        let elapsed = ContinuousClock.now - start
        metrics.record(route: Self.route, method: "POST", status: 200, duration: elapsed)
        metrics.eventLoopSearches.increment()
        if logger.logLevel <= .debug {
            var logger = logger
            logger[metadataKey: "subject"] = .string(principal.subject)
            RequestLogMiddleware.log(logger, method: "POST", path: head.path ?? "", status: 200, elapsed: elapsed)
        }
        return response
    }
}
