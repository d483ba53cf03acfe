// The test fixture: a real etcd (LocalEtcd: Debian's etcd-server, /usr/bin/etcd, or MNEMO_ETCD) on
// free loopback ports with a temporary data dir, stopped at the end. Each test gets its own
// server, so a compaction or an expired lease in one test cannot disturb another. Without etcd
// the suites are skipped with a message, unless CI=true, where a missing etcd must fail.

import Foundation
import Synchronization
import MnemoCluster
import Testing

/// A running etcd owned by one test.
final class EtcdServer: Sendable {
    /// Whether the etcd tests run: etcd is installed, or CI=true (where its absence must fail).
    static let enabled = LocalEtcd.binary != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    let etcd: LocalEtcd
    let client: EtcdClient
    var endpoint: String { etcd.endpoint }

    private init(etcd: LocalEtcd) {
        self.etcd = etcd
        self.client = etcd.makeClient()
    }

    /// Starts etcd, runs `body` with it, then stops it, whatever `body` did.
    static func with<T>(_ body: (EtcdServer) async throws -> T) async throws -> T {
        let server = EtcdServer(etcd: try await LocalEtcd.start())
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Makes a second client of this server (a second node).
    func makeClient() -> EtcdClient { etcd.makeClient() }

    func stop() async {
        try? await client.shutdown()
        await etcd.stop()
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
