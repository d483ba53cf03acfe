// The test fixture: a real etcd (Debian's etcd-server, /usr/bin/etcd, or MNEMO_ETCD) started on two
// free loopback ports (client and peer) with a temporary data dir, explicit auto-compaction and
// backend quota, and killed at the end. Each test gets its own server, so a compaction or an
// expired lease in one test cannot disturb another. Without etcd the suites are skipped with a
// message, unless CI=true, where a missing etcd must fail.

import Foundation
import Synchronization
import MnemoCluster
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A running etcd owned by one test.
final class EtcdServer: @unchecked Sendable {
    /// The etcd binary (MNEMO_ETCD when set, else the usual places), nil when none is installed.
    static let binary: String? = {
        if let path = ProcessInfo.processInfo.environment["MNEMO_ETCD"], !path.isEmpty {
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        for path in ["/usr/bin/etcd", "/usr/local/bin/etcd"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return nil
    }()

    /// Whether the etcd tests run: etcd is installed, or CI=true (where its absence must fail).
    static let enabled = binary != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    let process: Process
    let directory: URL
    let endpoint: String
    let client: EtcdClient

    private init(process: Process, directory: URL, endpoint: String, client: EtcdClient) {
        self.process = process
        self.directory = directory
        self.endpoint = endpoint
        self.client = client
    }

    /// Starts etcd, runs `body` with it, then stops it, whatever `body` did.
    static func with<T>(_ body: (EtcdServer) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Starts etcd; tries again on fresh ports when it exits at once (a probed port can be taken
    /// by someone else, e.g. a parallel test, before etcd binds it).
    private static func start() async throws -> EtcdServer {
        var failure: (any Error)?
        for _ in 0..<3 {
            do {
                return try await startOnce()
            } catch let error as EtcdFixtureError where error.exited {
                FileHandle.standardError.write(Data("etcd fixture: retrying on new ports after: \(error)\n".utf8))
                failure = error
            }
        }
        throw failure ?? EtcdFixtureError("etcd did not start")
    }

    private static func startOnce() async throws -> EtcdServer {
        guard let binary else {
            throw EtcdFixtureError("etcd is not installed (apt-get install etcd-server) and CI=true")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mnemo-etcd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (clientPort, peerPort) = try (freePort(), freePort())
        let clientURL = "http://127.0.0.1:\(clientPort)"
        let peerURL = "http://127.0.0.1:\(peerPort)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--name", "test",
            "--data-dir", directory.appendingPathComponent("data").path,
            "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
            "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
            "--initial-cluster", "test=\(peerURL)", "--initial-cluster-state", "new",
            // The same explicit limits as production (docs/cluster.md), scaled to a test.
            "--auto-compaction-mode", "periodic", "--auto-compaction-retention", "1h",
            "--quota-backend-bytes", String(256 << 20),
            "--logger", "zap", "--log-level", "error",
        ]
        let log = directory.appendingPathComponent("etcd.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let client = EtcdClient(configuration: .init(endpoint: clientURL, requestTimeout: .seconds(5)))
        let server = EtcdServer(process: process, directory: directory, endpoint: clientURL, client: client)
        // Ready when a read answers; a port taken between probing and binding shows up as exit.
        for _ in 0..<200 {
            if !process.isRunning { break }
            if (try? await client.get("/ready")) != nil { return server }
            try await Task.sleep(for: .milliseconds(50))
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let exited = !process.isRunning
        await server.stop()
        throw EtcdFixtureError("etcd did not start on \(clientURL): \(text.suffix(2000))", exited: exited)
    }

    /// Makes a second client of this server (a second node).
    func makeClient() -> EtcdClient {
        EtcdClient(configuration: .init(endpoint: endpoint, requestTimeout: .seconds(5)))
    }

    func stop() async {
        try? await client.shutdown()
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// A loopback port nobody listens on now (bind to port 0, read it back, close).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EtcdFixtureError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw EtcdFixtureError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw EtcdFixtureError("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A fixture failure (etcd missing under CI, or not starting).
struct EtcdFixtureError: Error, CustomStringConvertible {
    let description: String
    /// Whether etcd exited on its own (a port clash), so a retry on other ports may work.
    let exited: Bool
    init(_ description: String, exited: Bool = false) {
        self.description = description
        self.exited = exited
    }
}

/// The skip message of every etcd suite.
let etcdMissing: Comment = "etcd not installed (apt-get install etcd-server): etcd tests skipped"

/// Polls `condition` every 100 ms until it holds or `limit` passes; returns whether it held. The
/// limit only keeps a broken build from hanging: tests assert the outcome, never the time taken.
func eventually(limit: Duration = .seconds(20),
                _ condition: () async throws -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + limit
    while clock.now < end {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// The next `count` events of `watch` (fewer if it ends); cancels the watch after `limit`, so a
/// missing event fails the test instead of hanging it.
func collect(_ watch: EtcdWatch, count: Int, limit: Duration = .seconds(20)) async throws -> [EtcdEvent] {
    let guardTask = Task {
        try? await Task.sleep(for: limit)
        watch.cancel()
    }
    defer { guardTask.cancel() }
    var events: [EtcdEvent] = []
    var batches = watch.makeAsyncIterator()
    while events.count < count, let batch = try await batches.next() {
        events.append(contentsOf: batch.events)
    }
    return events
}

/// Bytes of a string.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A value shared between a test and the tasks it starts.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
