// LocalNode: one `mnemo serve` cluster node started as a child process of this very binary, on a
// loopback port of its own with its own data directory, for `mnemo cluster bench`. Its log goes
// to node-N.log in the bench directory. stop() sends SIGTERM (a graceful drain of in-flight
// requests and a clean close) and waits; kill() is kill -9; pause() and resume() are SIGSTOP and
// SIGCONT.
import Foundation

/// A cluster node running as a child process.
final class LocalNode: @unchecked Sendable {
    /// The node id (1, 2, ...).
    let id: UInt32
    /// `127.0.0.1:<port>`.
    let address: String
    /// Its client.
    let client: ServerClient
    private let process: Process

    /// `http://127.0.0.1:<port>`.
    var url: String { "http://" + address }

    /// Where a node listens and how it is reached when it is not a loopback-only `--dev` node
    /// (the partition scenario: PartitionNetwork).
    struct Network: Sendable {
        /// A command prefix the node runs under (`ip netns exec NS`), empty for none.
        var exec: [String]
        /// The address it binds (`--host`).
        var bind: String
        /// The host others reach it at (advertised with its port).
        var host: String
        /// The admin key (authentication is on; the clients send it).
        var adminKey: String
    }

    /// Starts node `id` in rack `rack` on `port`, data in `directory/node-<id>`, joining the
    /// cluster `cluster` of etcd at `etcd`, and waits until it answers /readyz. Without a
    /// `network` it is a `--dev` node on loopback.
    static func start(id: UInt32, rack: String, port: Int, etcd: String, cluster: String,
                      directory: URL, workers: Int, maxConcurrentMoves: Int,
                      connections: Int, extraArguments: [String] = [], network: Network? = nil) async throws -> LocalNode {
        let data = directory.appendingPathComponent("node-\(id)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let process = Process()
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let address = "\(network?.host ?? "127.0.0.1"):\(port)"
        let access = network.map { ["--host", $0.bind] } ?? ["--dev"]
        let arguments = [
            "serve", "--data", data.path, "--port", String(port), "--workers", String(workers),
            "--etcd", etcd, "--cluster", cluster, "--node-id", String(id), "--rack", rack,
            "--advertise", address, "--max-concurrent-moves", String(maxConcurrentMoves),
            "--log-level", ProcessInfo.processInfo.environment["MNEMO_BENCH_LOG_LEVEL"] ?? "warning",
        ] + access + extraArguments
        if let network, let first = network.exec.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(network.exec.dropFirst()) + [binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        if let network {
            var environment = ProcessInfo.processInfo.environment
            environment["MNEMO_ADMIN_KEY"] = network.adminKey
            process.environment = environment
        }
        let log = directory.appendingPathComponent("node-\(id).log")
        // A restarted node appends to its log.
        if !FileManager.default.fileExists(atPath: log.path) {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let node = LocalNode(id: id, address: address, process: process,
                             client: ServerClient(url: "http://" + address, token: network?.adminKey,
                                                  connections: connections))
        for _ in 0..<600 {
            guard process.isRunning else { break }
            if let reply = try? await node.client.send(.GET, "/readyz"), reply.status == 200 { return node }
            try await Task.sleep(for: .milliseconds(50))
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        await node.kill()
        throw ClusterBenchError("node \(id) did not become ready on \(address): \(text.suffix(1500))")
    }

    private init(id: UInt32, address: String, process: Process, client: ServerClient) {
        self.id = id
        self.address = address
        self.process = process
        self.client = client
    }

    /// Whether the process still runs.
    var isRunning: Bool { process.isRunning }

    /// SIGTERM, then waits for the exit.
    func stop() async {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        await client.shutdown()
    }

    /// SIGSTOP: the process stops where it is (its lease runs out, its sockets stay open).
    func pause() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGSTOP) }
    }

    /// SIGCONT.
    func resume() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGCONT) }
    }

    /// SIGKILL (kill -9), then waits for the exit.
    func kill() async {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        await client.shutdown()
    }
}
