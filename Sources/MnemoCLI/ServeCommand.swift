import ArgumentParser
import Foundation
import Logging
import Mnemo
import MnemoPlacement
import MnemoServer

/// `mnemo serve`: the HTTP/JSON server over a database directory.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a Mnemo database over HTTP/JSON (see docs/server.md).",
        discussion: """
            Every option may also come from the environment: MNEMO_DATA, MNEMO_HOST, MNEMO_PORT, \
            MNEMO_ADMIN_KEY or MNEMO_ADMIN_KEY_FILE, MNEMO_TOKEN_KEYS_FILE, MNEMO_TLS_CERT, MNEMO_TLS_KEY, \
            MNEMO_MAX_BODY_BYTES, MNEMO_LOG_LEVEL, and for cluster mode MNEMO_ETCD, MNEMO_CLUSTER, \
            MNEMO_NODE_ID, MNEMO_RACK, MNEMO_CAPACITY, MNEMO_ADVERTISE, MNEMO_REPLICAS, MNEMO_WRITE_QUORUM, \
            MNEMO_LEASE_TTL. Options win over the environment. \
            With --etcd the server joins a cluster (docs/cluster.md, "Nodes and routing"): it needs \
            --node-id and --data, and the same admin key and token keys as every other node. Without a data \
            directory the database is in memory and nothing survives a restart. SIGTERM or SIGINT \
            shut down gracefully: the listener closes, requests in flight finish, the database closes \
            with every acknowledged write on disk, and the process exits 0.
            """
    )

    @Option(help: "Data directory (created if absent); none: an in-memory database.") var data: String?
    @Option(help: "Address to bind (default 127.0.0.1).") var host: String?
    @Option(help: "TCP port (default 7600; 0 picks a free one and prints it).") var port: Int?
    @Option(help: "File holding the admin key (one line).") var adminKeyFile: String?
    @Option(help: "Token key set file (JSON: current kid and HS256/EdDSA keys); none: a random key per run.")
    var tokenKeysFile: String?
    @Flag(help: "Development mode: no authentication, loopback addresses only.") var dev = false
    @Option(help: "PEM certificate chain for TLS (with --tls-key).") var tlsCert: String?
    @Option(help: "PEM private key for TLS (with --tls-cert).") var tlsKey: String?
    @Option(help: "Largest JSON request body in bytes (default 64 MiB).") var maxBodyBytes: Int?
    @Option(help: "Largest import stream in bytes (default 2 GiB, at most 4 GiB - 1).") var maxImportBytes: Int?
    @Option(help: "Shard workers (default: one per CPU).") var workers: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error (default info; debug logs every request).")
    var logLevel: String?
    @Option(help: "Cluster mode: etcd client URLs, comma-separated (e.g. http://127.0.0.1:2379).") var etcd: String?
    @Option(help: "Cluster name: the etcd root /mnemo/<name> (default \"default\").") var cluster: String?
    @Option(help: "This node's id in the cluster (a positive integer, unique).") var nodeId: UInt32?
    @Option(help: "This node's rack or failure domain (default none).") var rack: String?
    @Option(help: "This node's relative capacity (default 1).") var capacity: Double?
    @Option(help: "host:port other nodes and clients reach this node at (default: the bound host and port).")
    var advertise: String?
    @Flag(help: "Cluster mode: never campaign to be the controller (another node plans the moves).")
    var noController = false
    @Option(help: "Cluster mode: space moves a node sends or receives at once (default 8).")
    var maxConcurrentMoves: Int?
    @Option(help: "Cluster mode: copies of each space, the primary and its replicas (default 1, at most 7).")
    var replicas: Int?
    @Option(help: "Cluster mode: copies a write must reach before it is acknowledged: one or majority (default majority).")
    var writeQuorum: String?
    @Option(help: "Cluster mode: the member lease's time to live in seconds (default 5); a dead node is failed over after it.")
    var leaseTtl: Int?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        // Request tasks on the event loop threads (no hop to Swift's pool and back per
        // request); MNEMO_SWIFT_POOL=1 keeps Swift's own pool, for comparison.
        let onEventLoops = environment["MNEMO_SWIFT_POOL"] != "1" && MnemoHTTPServer.runTasksOnEventLoops()
        var configuration = ServerConfiguration()
        configuration.dataPath = data ?? environment["MNEMO_DATA"]
        configuration.host = host ?? environment["MNEMO_HOST"] ?? "127.0.0.1"
        if let port = port ?? environment["MNEMO_PORT"].flatMap({ Int($0) }) { configuration.port = port }
        configuration.dev = dev
        // MNEMO_FAST_SEARCH=0 sends every search through Hummingbird's router, for comparison.
        configuration.searchOnEventLoop = environment["MNEMO_FAST_SEARCH"] != "0"
        configuration.tokenKeysPath = tokenKeysFile ?? environment["MNEMO_TOKEN_KEYS_FILE"]
        configuration.tlsCertificatePath = tlsCert ?? environment["MNEMO_TLS_CERT"]
        configuration.tlsKeyPath = tlsKey ?? environment["MNEMO_TLS_KEY"]
        if let bytes = maxBodyBytes ?? environment["MNEMO_MAX_BODY_BYTES"].flatMap({ Int($0) }) {
            guard bytes > 0 else { throw ValidationError("--max-body-bytes must be positive") }
            configuration.maxBodyBytes = bytes
        }
        if let bytes = maxImportBytes {
            guard bytes > 0, bytes < (4 << 30) else { throw ValidationError("--max-import-bytes must be between 1 and 4 GiB - 1") }
            configuration.maxImportBytes = bytes
        }
        if let workers { configuration.databaseOptions.workers = workers }
        if (configuration.tlsCertificatePath == nil) != (configuration.tlsKeyPath == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if let file = adminKeyFile ?? environment["MNEMO_ADMIN_KEY_FILE"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("cannot read the admin key file \(file)")
            }
            configuration.adminKey = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let key = environment["MNEMO_ADMIN_KEY"] {
            configuration.adminKey = key.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if configuration.dev {
            guard configuration.bindsLoopback else {
                throw ValidationError("--dev turns authentication off and binds loopback only, not \(configuration.host)")
            }
        } else if (configuration.adminKey ?? "").isEmpty {
            throw ValidationError("authentication is on: give --admin-key-file (or MNEMO_ADMIN_KEY), or run with --dev")
        }

        if let endpoints = etcd ?? environment["MNEMO_ETCD"] {
            configuration.cluster = try clusterConfiguration(endpoints: endpoints, environment: environment,
                                                             dataPath: configuration.dataPath)
        }

        let levelName = logLevel ?? environment["MNEMO_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else { throw ValidationError("unknown log level \(levelName)") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "mnemo.server")
        if configuration.dataPath == nil {
            logger.warning("NO --data DIRECTORY: the database is IN MEMORY and everything is lost when the server stops")
            FileHandle.standardError.write(Data("mnemo serve: WARNING: no --data: in-memory database, nothing is kept\n".utf8))
        }
        if configuration.dev {
            logger.warning("--dev: authentication is OFF (loopback only)")
        }
        logger.info("tasks run on \(onEventLoops ? "the event loop threads" : "Swift's cooperative pool")")
        try await MnemoHTTPServer(configuration: configuration, logger: logger).run()
    }

    /// The cluster part of the configuration, from the options and the environment.
    private func clusterConfiguration(endpoints: String, environment: [String: String],
                                      dataPath: String?) throws -> ClusterConfiguration {
        let urls = endpoints.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !urls.isEmpty else { throw ValidationError("--etcd needs at least one URL") }
        guard let node = nodeId ?? environment["MNEMO_NODE_ID"].flatMap({ UInt32($0) }), node > 0 else {
            throw ValidationError("cluster mode (--etcd) needs --node-id N (a positive integer, or MNEMO_NODE_ID)")
        }
        guard dataPath != nil else {
            throw ValidationError("cluster mode (--etcd) needs --data: space moves read the data directory's log")
        }
        var cluster = ClusterConfiguration(node: NodeID(rawValue: node), etcdEndpoints: urls,
                                           name: self.cluster ?? environment["MNEMO_CLUSTER"] ?? "default",
                                           rack: rack ?? environment["MNEMO_RACK"] ?? "",
                                           advertise: advertise ?? environment["MNEMO_ADVERTISE"])
        cluster.runsController = !noController
        if let replicas = replicas ?? environment["MNEMO_REPLICAS"].flatMap({ Int($0) }) {
            guard (1...CopySet.capacity).contains(replicas) else {
                throw ValidationError("--replicas must be 1 to \(CopySet.capacity)")
            }
            cluster.replicationFactor = replicas
        }
        if let text = writeQuorum ?? environment["MNEMO_WRITE_QUORUM"] {
            guard let quorum = WriteQuorum(rawValue: text) else {
                throw ValidationError("--write-quorum must be one or majority")
            }
            cluster.writeQuorum = quorum
        }
        if let ttl = leaseTtl ?? environment["MNEMO_LEASE_TTL"].flatMap({ Int($0) }) {
            guard (2...60).contains(ttl) else { throw ValidationError("--lease-ttl must be 2 to 60 seconds") }
            cluster.leaseTTL = ttl
        }
        if let moves = maxConcurrentMoves {
            guard moves >= 1 else { throw ValidationError("--max-concurrent-moves must be at least 1") }
            cluster.maxConcurrentMoves = moves
        }
        if let capacity = capacity ?? environment["MNEMO_CAPACITY"].flatMap({ Double($0) }) {
            guard capacity > 0, capacity.isFinite else { throw ValidationError("--capacity must be positive") }
            cluster.capacity = capacity
        }
        return cluster
    }
}
