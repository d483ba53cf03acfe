// LocalEtcd: a real etcd started as a child process on free loopback ports with its own data
// directory, for the things that need a private control plane on one machine: the cluster
// benchmark (`mnemo cluster bench`) and the cluster tests. It passes the same explicit limits a
// production cluster sets (docs/cluster.md: periodic auto-compaction, a backend quota) and is
// ready once a read answers. A port probed free can be taken by someone else before etcd binds
// it; etcd then exits at once, and start() tries again on fresh ports. `restart(after:)` kills it
// (kill -9) and starts it again on the same ports and data (the fault benchmark's etcd restart).

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An etcd server owned by this process.
///
/// ```swift
/// let etcd = try await LocalEtcd.start()
/// let client = etcd.makeClient()
/// defer { Task { await etcd.stop() } }
/// ```
public final class LocalEtcd: Sendable {
    /// The etcd binary: MNEMO_ETCD when set, else /usr/bin/etcd or /usr/local/bin/etcd; nil when
    /// none is installed.
    public static let binary: String? = {
        if let path = ProcessInfo.processInfo.environment["MNEMO_ETCD"], !path.isEmpty {
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        return ["/usr/bin/etcd", "/usr/local/bin/etcd"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Backend quota: explicit, never etcd's default (docs/cluster.md, "Compaction and quota").
    public static let quotaBytes = 256 << 20

    /// The client URL, e.g. `http://127.0.0.1:23791`.
    public let endpoint: String
    /// The directory holding the data dir and `etcd.log` (removed by ``stop()``).
    public let directory: URL
    private let process: Mutex<Process>
    private let binary: String
    private let arguments: [String]
    private let log: URL

    private init(process: Process, binary: String, arguments: [String], log: URL, directory: URL, endpoint: String) {
        self.process = Mutex(process)
        self.binary = binary
        self.arguments = arguments
        self.log = log
        self.directory = directory
        self.endpoint = endpoint
    }

    /// Starts etcd in a fresh temporary directory and waits until it answers.
    ///
    /// - Throws: ``EtcdError`` with code `.unavailable` when etcd is not installed or does not
    ///   start (the message carries the tail of its log).
    /// `alsoOn`: another local address etcd serves clients on (the same port), for processes in
    /// a network namespace that reach this machine through a veth pair.
    public static func start(alsoOn extra: String? = nil) async throws(EtcdError) -> LocalEtcd {
        var failure = EtcdError(.unavailable, "etcd did not start")
        for _ in 0..<3 {
            do {
                return try await startOnce(alsoOn: extra)
            } catch let error where error.retryable {
                failure = error.error
            } catch {
                throw error.error
            }
        }
        throw failure
    }

    /// A start that failed, and whether new ports may help.
    private struct StartFailure: Error {
        let error: EtcdError
        let retryable: Bool
    }

    private static func startOnce(alsoOn extra: String?) async throws(StartFailure) -> LocalEtcd {
        guard let binary else {
            throw StartFailure(error: EtcdError(.unavailable, "etcd is not installed (apt-get install etcd-server)"),
                               retryable: false)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-etcd-\(UUID().uuidString)")
        let process: Process
        let arguments: [String]
        let clientURL: String
        let log = directory.appendingPathComponent("etcd.log")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let (clientPort, peerPort) = try (freeLoopbackPort(), freeLoopbackPort())
            clientURL = "http://127.0.0.1:\(clientPort)"
            let peerURL = "http://127.0.0.1:\(peerPort)"
            arguments = [
                "--name", "local",
                "--data-dir", directory.appendingPathComponent("data").path,
                "--listen-client-urls", ([clientURL] + (extra.map { ["http://\($0):\(clientPort)"] } ?? [])).joined(separator: ","),
                "--advertise-client-urls", clientURL,
                "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
                "--initial-cluster", "local=\(peerURL)", "--initial-cluster-state", "new",
                "--auto-compaction-mode", "periodic", "--auto-compaction-retention", "1h",
                "--quota-backend-bytes", String(quotaBytes),
                "--logger", "zap", "--log-level", "error",
            ]
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process = try launch(binary: binary, arguments: arguments, log: log)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw StartFailure(error: EtcdError(.unavailable, "cannot start etcd: \(error)"), retryable: false)
        }
        let server = LocalEtcd(process: process, binary: binary, arguments: arguments, log: log, directory: directory,
                               endpoint: clientURL)
        if await server.answers() { return server }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let exited = !process.isRunning
        await server.stop()
        throw StartFailure(error: EtcdError(.unavailable, "etcd did not start on \(clientURL): \(text.suffix(2000))"),
                           retryable: exited)
    }

    private static func launch(binary: String, arguments: [String], log: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Whether etcd answers a read within 10 s.
    private func answers() async -> Bool {
        let client = makeClient()
        defer { Task { try? await client.shutdown() } }
        for _ in 0..<200 where isRunning {
            if (try? await client.get("/ready")) != nil { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Kills etcd (kill -9), waits `pause`, and starts it again on the same ports and data.
    public func restart(after pause: Duration) async throws(EtcdError) {
        let old = process.withLock { $0 }
        if old.isRunning {
            kill(old.processIdentifier, SIGKILL)
            old.waitUntilExit()
        }
        try? await Task.sleep(for: pause)
        do {
            let next = try Self.launch(binary: binary, arguments: arguments, log: log)
            process.withLock { $0 = next }
        } catch {
            throw EtcdError(.unavailable, "cannot restart etcd: \(error)")
        }
        guard await answers() else { throw EtcdError(.unavailable, "etcd did not come back after its restart") }
    }

    /// The client URL on another local address it serves (`start(alsoOn:)`).
    public func endpoint(on address: String) -> String {
        guard let port = URL(string: endpoint)?.port else { return endpoint }
        return "http://\(address):\(port)"
    }

    /// A new client of this server (the caller shuts it down).
    public func makeClient(requestTimeout: Duration = .seconds(5)) -> EtcdClient {
        EtcdClient(configuration: .init(endpoint: endpoint, requestTimeout: requestTimeout))
    }

    /// Whether the process still runs.
    public var isRunning: Bool { process.withLock { $0.isRunning } }

    /// Stops etcd (SIGTERM, then waits) and removes its directory.
    public func stop() async {
        let process = process.withLock { $0 }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// A loopback TCP port nobody listens on now (bind to port 0, read it back, close).
    public static func freeLoopbackPort() throws(EtcdError) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EtcdError(.unavailable, "socket() failed") }
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
        guard bound == 0 else { throw EtcdError(.unavailable, "bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw EtcdError(.unavailable, "getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
