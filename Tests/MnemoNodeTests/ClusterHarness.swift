// The node tests' harness: several MnemoHTTPServers in one process, each a cluster node on its own
// loopback port with an in-memory database, all on one real etcd (the EtcdServer fixture), and a
// small HTTP client to call them. Each node has its own data directory (space moves read the log),
// removed when the node stops.
import AsyncHTTPClient
import Foundation
import Logging
import Mnemo
import MnemoCluster
import MnemoPlacement
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing
@testable import MnemoServer

/// One running node.
struct TestNode: Sendable {
    let id: NodeID
    let server: MnemoHTTPServer
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let data: URL

    var state: ServerState { server.state }
    var cluster: ClusterNode { server.state.cluster! }
    var port: Int { server.state.port ?? 0 }
    var address: String { "127.0.0.1:\(port)" }
    var database: Database { server.state.openDatabase! }

    /// Starts node `id` of cluster `name` on `etcd` and waits until it has registered.
    static func start(_ id: UInt32, etcd: String, cluster name: String, controller: Bool = false,
                      configure: @Sendable (inout ClusterConfiguration) -> Void = { _ in }) async throws -> TestNode {
        var configuration = ServerConfiguration()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-node-\(id)-\(UUID().uuidString)")
        configuration.dataPath = data.path
        configuration.port = 0
        configuration.dev = true
        configuration.databaseOptions.workers = 2
        configuration.databaseOptions.pinWorkers = false
        var cluster = ClusterConfiguration(node: NodeID(rawValue: id), etcdEndpoints: [etcd], name: name,
                                           rack: "r\(id)", leaseTTL: 10)
        cluster.loadReportMilliseconds = 300
        // The tests write assignments and moves themselves: no controller re-plans behind them.
        cluster.runsController = controller
        configure(&cluster)
        configuration.cluster = cluster
        var logger = Logger(label: "mnemo.test.n\(id)")
        logger.logLevel = .warning
        let server = MnemoHTTPServer(configuration: configuration, logger: logger)
        let application = try await server.makeApplication()
        let group = ServiceGroup(configuration: .init(services: [application], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        let node = TestNode(id: NodeID(rawValue: id), server: server, group: group, task: task, data: data)
        let joined = try await eventually { node.state.cluster?.address != nil }
        #expect(joined, "node \(id) never joined")
        return node
    }

    /// Stops the node gracefully (it leaves the cluster).
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try? FileManager.default.removeItem(at: data)
    }
}

/// A cluster of nodes on one etcd, and a client.
struct TestCluster: Sendable {
    let nodes: [TestNode]
    let http: HTTPClient
    let name: String
    let etcd: EtcdClient

    var keys: ClusterKeys { ClusterKeys(root: "/mnemo/" + name) }
    var store: AssignmentStore { AssignmentStore(client: etcd, keys: keys) }

    /// Runs `body` with `count` nodes (ids 1...count) on a fresh etcd, then stops everything.
    static func with(nodes count: Int, controller: Bool = false,
                     configure: @escaping @Sendable (inout ClusterConfiguration) -> Void = { _ in },
                     _ body: @Sendable (TestCluster) async throws -> Void) async throws {
        try await EtcdServer.with { etcd in
            let name = "t\(UInt32.random(in: 0...UInt32.max))"
            var nodes: [TestNode] = []
            for id in 1...count {
                nodes.append(try await TestNode.start(UInt32(id), etcd: etcd.endpoint, cluster: name,
                                                      controller: controller, configure: configure))
            }
            let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            let cluster = TestCluster(nodes: nodes, http: http, name: name, etcd: etcd.client)
            // Every node sees every member before the test routes anything.
            let everyone = try await eventually {
                nodes.allSatisfy { $0.cluster.table.members.members.count == count }
            }
            #expect(everyone, "not every node saw every member")
            do {
                try await body(cluster)
            } catch {
                for node in nodes { await node.stop() }
                try? await http.shutdown()
                throw error
            }
            for node in nodes { await node.stop() }
            try await http.shutdown()
        }
    }

    /// Calls `node` once, without the retries of ``call(_:_:_:json:raw:headers:)``.
    func callOnce(_ node: TestNode, _ method: HTTPMethod, _ path: String, json: [String: any Sendable]? = nil,
                  raw: [UInt8]? = nil, headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://\(node.address)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
            request.headers.add(name: "Content-Type", value: "application/json")
        } else if let raw {
            request.body = .bytes(ByteBuffer(bytes: raw))
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = Array(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        let parsed = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        return Answer(status: Int(response.status.code), json: parsed.mapValues { SendableBox.wrap($0) }, body: body,
                      headers: response.headers)
    }

    /// The node with id `id`.
    func node(_ id: NodeID) -> TestNode { nodes.first { $0.id == id }! }

    /// A response: status, parsed JSON (empty when not an object), raw body, headers.
    struct Answer: Sendable {
        let status: Int
        let json: [String: any Sendable]
        let body: [UInt8]
        let headers: HTTPHeaders

        var errorCode: String? { (json["error"] as? [String: any Sendable])?["code"] as? String }
    }

    /// Calls `node` with an optional JSON body (or raw bytes) and headers.
    func call(_ node: TestNode, _ method: HTTPMethod, _ path: String, json: [String: any Sendable]? = nil,
              raw: [UInt8]? = nil, headers: [(String, String)] = []) async throws -> Answer {
        // A 503 (ROUTING_FAILED when etcd or a peer is slow, notReady) asks the client to retry
        // shortly, as every client does; the tests assert what the retried request achieves.
        var attempt = 0
        while true {
            attempt += 1
            let answer = try await callOnce(node, method, path, json: json, raw: raw, headers: headers)
            if answer.status == 503 && attempt < 5 {
                try await Task.sleep(for: .milliseconds(200 * attempt))
                continue
            }
            return answer
        }
    }

    /// The space's stored assignment in etcd.
    func assignment(_ name: String) async throws -> StoredAssignment? {
        try await store.get(SpaceID(name: name))
    }

    /// A space of dimension 2 created through the first node of three: its assignment, its
    /// primary (a move's source), the two other nodes and its path.
    func placedSpace(_ name: String) async throws
        -> (stored: StoredAssignment, source: TestNode, target: TestNode, third: TestNode, path: String)
    {
        #expect(try await call(nodes[0], .POST, "/v1/spaces", json: ["name": name, "dimension": 2]).status == 201)
        let stored = try #require(try await assignment(name))
        let source = node(stored.assignment.primary)
        let others = nodes.filter { $0.id != source.id }
        return (stored, source, others[0], others[1], "/v1/spaces/\(pathName(name))")
    }

    /// Copies the space at `path` from `source` to `target` as a mover does: its export, imported
    /// under a `Mnemo-Move` header. Returns the import's answer.
    func copy(_ path: String, from source: TestNode, to target: TestNode) async throws -> Answer {
        let export = try await call(source, .GET, "\(path)/export")
        #expect(export.status == 200)
        return try await call(target, .PUT, "\(path)/import", raw: export.body, headers: [("Mnemo-Move", "test-move")])
    }

    /// Waits until every node's routing table shows `version` for the space.
    func awaitEverywhere(_ name: String, version: UInt64) async throws -> Bool {
        try await eventually {
            nodes.allSatisfy { $0.cluster.table.lookup(SpaceID(name: name))?.assignment.version == version }
        }
    }
}

/// JSONSerialization's values as Sendable ones (the tests read them as dictionaries, arrays,
/// strings and numbers).
enum SendableBox {
    static func wrap(_ value: Any) -> any Sendable {
        switch value {
        case let dictionary as [String: Any]: return dictionary.mapValues { wrap($0) }
        case let array as [Any]: return array.map { wrap($0) }
        case let string as String: return string
        case let number as NSNumber: return number.doubleValue
        default: return "\(value)"
        }
    }
}

/// Percent-encodes a space name for a path.
func pathName(_ name: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name
}
