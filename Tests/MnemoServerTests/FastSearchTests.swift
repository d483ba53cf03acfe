// FastSearchTests: searches answered on the event loop (FastSearch) say byte for byte what the
// router says, are counted, leave every error to the router, and keep responses in request order
// when a client pipelines a write and searches on one connection, or streams a chunked body past
// the limit.
import Foundation
import Hummingbird
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MnemoServer

@Suite("Search on the event loop")
struct FastSearchTests {
    static var memories: [[String: Any]] {
        (0..<40).map { index in
        let angle = Double(index) * 0.15
        return ["id": "m\(index)", "vector": [cos(angle), sin(angle), 0.25], "text": "memory \(index)",
                "metadata": ["n": index, "even": index % 2 == 0], "createdAt": "2026-11-30T04:21:57.123Z"]
        }
    }
    static var queries: [[String: Any]] {
        [
            ["vector": [1, 0.2, 0.25], "k": 5],
            ["vector": [0.3, 1, 0.25], "k": 3, "ef": 100, "include": ["metadata"]],
            ["vector": [-1, 0.5, 0.1], "k": 40, "filter": ["even": true]],
            ["vectorBase64": VectorCoding.base64([0.5, 0.5, 0.5]), "k": 2, "include": [String]()],
        ]
    }

    /// The bodies of `queries` against a server configured with `onEventLoop`, and its count of
    /// searches answered on the event loop.
    static func answers(onEventLoop: Bool) async throws -> (bodies: [[UInt8]], counted: Int) {
        let result = Locked<([[UInt8]], Int)>(([], 0))
        try await ServerHarness.run(configure: { $0.searchOnEventLoop = onEventLoop }) { server in
            try await server.createSpace("s", dimension: 3)
            #expect(try await server.call(.post, "/v1/spaces/s/memories", json: ["memories": memories]).status == .ok)
            var bodies: [[UInt8]] = []
            for query in queries {
                let response = try await server.call(.post, "/v1/spaces/s/search", json: query)
                #expect(response.status == .ok, "\(query): \(response.json)")
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.headers[.date] != nil && response.headers[.server] == "mnemo")
                bodies.append(response.body)
            }
            let page = String(decoding: try await server.call(.get, "/metrics").body, as: UTF8.self)
            let line = page.split(separator: "\n").first { $0.hasPrefix(ServerMetrics.eventLoopSearchesName + " ") }
            let counted = line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
            #expect(page.contains("route=\"/v1/spaces/{space}/search\",method=\"POST\",status=\"200\""))
            result.set((bodies, counted))
        }
        return result.get()
    }

    @Test("answers byte for byte as the router does, and counts what it answered")
    func sameAnswers() async throws {
        let fast = try await Self.answers(onEventLoop: true)
        let routed = try await Self.answers(onEventLoop: false)
        #expect(fast.bodies == routed.bodies)
        #expect(fast.bodies.allSatisfy { $0.count > 20 })
        #expect(fast.counted == Self.queries.count)
        #expect(routed.counted == 0)
    }

    @Test("errors and what it does not serve go to the router")
    func declines() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("s", dimension: 3)
            #expect(try await server.call(.post, "/v1/spaces/s/memories", json: ["memories": Self.memories]).status == .ok)
            let wrong = try await server.call(.post, "/v1/spaces/s/search", json: ["vector": [1, 0], "k": 2])
            #expect(wrong.status == .badRequest && ServerHarness.error(wrong.json).field == "vector")
            let badK = try await server.call(.post, "/v1/spaces/s/search", json: ["vector": [1, 0, 0], "k": 0])
            #expect(badK.status == .badRequest && ServerHarness.error(badK.json).field == "k")
            let notJSON = try await server.call(.post, "/v1/spaces/s/search", raw: Array("{".utf8))
            #expect(notJSON.status == .badRequest)
            let unknown = try await server.call(.post, "/v1/spaces/none/search", json: ["vector": [1, 0, 0]])
            #expect(unknown.status == .notFound)
            let vectors = try await server.call(.post, "/v1/spaces/s/search",
                                                json: ["vector": [1, 0, 0], "k": 1, "include": ["vector"]])
            #expect(((vectors.json["hits"] as? [[String: Any]])?.first?["vector"] as? [Double])?.count == 3)
            var twice: HTTPFields = [:]
            twice[values: .authorization] = ["Bearer a", "Bearer b"]
            let ambiguous = try await server.call(.post, "/v1/spaces/s/search", json: ["vector": [1, 0, 0]], headers: twice)
            #expect(ambiguous.status == .unauthorized)
            let badName = try await server.call(.post, "/v1/spaces/s%ZZ/search", json: ["vector": [1, 0, 0]])
            #expect(badName.status == .badRequest && ServerHarness.error(badName.json).field == "space")
            let get = try await server.call(.get, "/v1/spaces/s/search")
            #expect(get.status == .methodNotAllowed)
        }
    }

    @Test("pipelined requests are answered in order; a chunked body past the limit is 413")
    func pipelining() async throws {
        try await ServerHarness.run(configure: { $0.maxBodyBytes = 16384 }) { server in
            try await server.createSpace("s", dimension: 3)
            #expect(try await server.call(.post, "/v1/spaces/s/memories", json: ["memories": Self.memories]).status == .ok)
            let port = try #require(server.client.port)
            func request(_ method: String, _ path: String, _ body: String) -> String {
                "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
            let search = request("POST", "/v1/spaces/s/search", #"{"vector":[1,0,0.25],"k":1,"include":[]}"#)
            let put = request("PUT", "/v1/spaces/s/memories/late", #"{"vector":[0,0,1],"text":"late"}"#)
            let searchLate = request("POST", "/v1/spaces/s/search", #"{"vector":[0,0,1],"k":1,"include":[]}"#)
            // A search, a write (the router's), then searches that must wait for it.
            let responses = try RawConnection.exchange(port: port, sending: search + put + searchLate + searchLate,
                                                       responses: 4)
            #expect(responses.map(\.status) == [200, 201, 200, 200])
            #expect(responses[0].body.contains(#""id":"m0""#))
            #expect(responses[1].body.contains(#""replaced":false"#))
            #expect(responses[2].body.contains(#""id":"late""#) && responses[3].body.contains(#""id":"late""#))

            let chunk = String(repeating: " ", count: 9000)
            let chunked = "POST /v1/spaces/s/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n"
                + "\(String(chunk.utf8.count, radix: 16))\r\n\(chunk)\r\n\(String(chunk.utf8.count, radix: 16))\r\n\(chunk)\r\n"
                + "0\r\n\r\n"
            let tooLarge = try RawConnection.exchange(port: port, sending: chunked + search, responses: 2)
            #expect(tooLarge.first?.status == 413)
            // Hummingbird answers what the codec cannot parse (a 400 for no request this handler
            // passed on); the server goes on serving.
            let garbage = try RawConnection.exchange(port: port, sending: search + "NOT HTTP AT ALL\r\n\r\n", responses: 2)
            #expect(garbage.map(\.status) == [200, 400])
            #expect(try RawConnection.exchange(port: port, sending: search, responses: 1).first?.status == 200)
        }
    }

    @Test("a search whose body is still arriving when shutdown begins is answered")
    func shutdownWaitsForAHeldSearch() async throws {
        let answer = Locked<[RawConnection.Response]?>(nil)
        let finished = Locked(false)
        try await ServerHarness.run { server in
            try await server.createSpace("s", dimension: 3)
            #expect(try await server.call(.post, "/v1/spaces/s/memories", json: ["memories": Self.memories]).status == .ok)
            let body = #"{"vector":[1,0,0.25],"k":1,"include":[]}"#
            let connection = try RawConnection(port: try #require(server.client.port))
            try connection.send("POST /v1/spaces/s/search HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
                + String(body.prefix(10)))
            // Let the server read the head and the first bytes (a request it has not read yet is
            // not in flight, and shutdown closes that connection at once, as Hummingbird does).
            try await Task.sleep(nanoseconds: 200_000_000)
            // Leaving this closure starts the graceful shutdown; the rest of the body comes after.
            Thread.detachNewThread {
                usleep(300_000)
                try? connection.send(String(body.dropFirst(10)))
                answer.set(try? connection.read(responses: 1))
                finished.set(true)
            }
        }
        for _ in 0..<500 where !finished.get() { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(answer.get()?.first?.status == 200)
        #expect(answer.get()?.first?.body.contains(#""id":"m0""#) == true)
    }
}

/// Thread-safe box for a test's result.
private final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ new: Value) { lock.withLock { value = new } }
    func get() -> Value { lock.withLock { value } }
}

/// One blocking TCP connection that writes raw HTTP/1.1 bytes (several requests at once:
/// pipelining) and reads back responses with Content-Length bodies.
private final class RawConnection: @unchecked Sendable {
    struct Response: Sendable {
        var status: Int
        var body: String
    }

    private let descriptor: Int32
    private var received: [UInt8] = []

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0)
    }

    deinit { close(descriptor) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        try #require(bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) } == bytes.count)
    }

    /// The next `count` responses.
    func read(responses count: Int) throws -> [Response] {
        var out: [Response] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < count {
            if let (response, used) = Self.parse(received) {
                out.append(response)
                received.removeFirst(used)
                continue
            }
            let read = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            try #require(read > 0, "the connection ended after \(out.count) responses")
            received += buffer[0..<read]
        }
        return out
    }

    /// Sends `text` on a new connection and reads `count` responses.
    static func exchange(port: Int, sending text: String, responses count: Int) throws -> [Response] {
        let connection = try RawConnection(port: port)
        try connection.send(text)
        return try connection.read(responses: count)
    }

    /// The first whole response in `bytes` and how many bytes it took.
    static func parse(_ bytes: [UInt8]) -> (Response, Int)? {
        let separator = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            return nil
        }
        let head = String(decoding: bytes[0..<end], as: UTF8.self).split(separator: "\r\n")
        let status = head.first.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        let length = head.dropFirst().compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first ?? 0
        guard bytes.count >= end + 4 + length else { return nil }
        return (Response(status: status, body: String(decoding: bytes[(end + 4)..<(end + 4 + length)], as: UTF8.self)),
                end + 4 + length)
    }
}
