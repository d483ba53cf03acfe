// RequestForwarder: sends a request on to the node that owns its space, over one pooled
// AsyncHTTPClient (keep-alive connections per peer), and turns the owner's answer back into a
// Hummingbird response. What travels: the method, the raw path and query, the body, the caller's
// Authorization (every node checks credentials itself: the same admin key and token keys
// everywhere), Content-Type and Accept, plus `Mnemo-Forwarded-By` and the assignment version the
// forwarder routed by. Bodies stream both ways when the caller asks for it (imports go out as they
// arrive, exports come back chunk by chunk); hop-by-hop headers stay behind.
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import MnemoPlacement
import NIOCore
import NIOHTTP1

/// Forwards requests to other nodes.
final class RequestForwarder: Sendable {
    /// What a forwarded request carries as its body.
    enum Body: Sendable {
        /// None (GET, DELETE).
        case none
        /// Bytes already read (so the request can be sent again after a WRONG_NODE).
        case buffer(ByteBuffer)
        /// The caller's body, streamed as it arrives (sent once).
        case stream(RequestBody, length: Int?)
    }

    let http: HTTPClient
    let scheme: String
    let node: NodeID

    /// Request headers passed on (besides the cluster's own).
    static let passedOn: [HTTPField.Name] = [.authorization, .contentType, .accept, .contentLength]
    /// Response headers not passed back (hop-by-hop, or the server's own).
    static let dropped: Set<String> = ["connection", "keep-alive", "transfer-encoding", "content-length", "date",
                                       "server", "upgrade", "proxy-authenticate", "te", "trailer"]

    init(node: NodeID, tls: Bool) {
        self.node = node
        self.scheme = tls ? "https" : "http"
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(2))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Closes the connection pool.
    func shutdown() async {
        try? await http.shutdown()
    }

    /// Sends `method target` to `address` with `body`, marked as forwarded by this node and routed
    /// by `version`; returns the owner's response head and body stream.
    func send(method: HTTPRequest.Method, target: String, headers: HTTPFields, to address: String,
              version: UInt64?, body: Body, timeout: TimeAmount) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: "\(scheme)://\(address)\(target)")
        request.method = NIOHTTP1.HTTPMethod(rawValue: method.rawValue)
        for name in Self.passedOn {
            if name == .contentLength { continue }
            for value in headers[values: name] { request.headers.add(name: name.rawName, value: value) }
        }
        request.headers.replaceOrAdd(name: ClusterHeaders.forwardedBy.rawName, value: String(node.rawValue))
        if let version {
            request.headers.replaceOrAdd(name: ClusterHeaders.assignmentVersion.rawName, value: String(version))
        }
        switch body {
        case .none:
            break
        case .buffer(let buffer):
            request.body = .bytes(buffer)
        case .stream(let stream, let length):
            request.body = .stream(stream, length: length.map { .known(Int64($0)) } ?? .unknown)
        }
        return try await http.execute(request, timeout: timeout)
    }

    /// The owner's response as this node's response, its body streamed through.
    static func response(from answer: HTTPClientResponse) -> Response {
        var headers = HTTPFields()
        for header in answer.headers where !dropped.contains(header.name.lowercased()) {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        let body = answer.body
        return Response(status: HTTPResponse.Status(code: Int(answer.status.code)), headers: headers,
                        body: ResponseBody { writer in
                            for try await chunk in body { try await writer.write(chunk) }
                            try await writer.finish(nil)
                        })
    }
}
