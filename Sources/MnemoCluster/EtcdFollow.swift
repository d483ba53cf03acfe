// The follow loop shared by every table a node or the controller follows (assignments, moves,
// load reports, members): read the whole prefix, hand the snapshot over, watch from its revision + 1 and hand over every
// updated snapshot; a watch cancelled for compaction, or a stream that broke, leads to a full
// re-read and a new watch. Returns when the calling task is cancelled; other errors are thrown.

import Logging

/// Follows one key prefix into a snapshot of type `Snapshot`.
struct EtcdFollow<Snapshot: Sendable>: Sendable {
    let client: EtcdClient
    let prefix: String
    let load: @Sendable () async throws(EtcdError) -> Snapshot
    let revision: @Sendable (Snapshot) -> Int64
    let apply: @Sendable (inout Snapshot, EtcdWatch.Batch) -> Void
    let logger: Logger

    func run(from start: Snapshot?, onSnapshot: @Sendable (Snapshot) async -> Void) async throws(EtcdError) {
        var snapshot: Snapshot
        if let start {
            snapshot = start
        } else {
            snapshot = try await load()
        }
        await onSnapshot(snapshot)
        while !Task.isCancelled {
            let watch = client.watch(prefix, prefix: true, fromRevision: revision(snapshot) + 1)
            do {
                var batches = watch.makeAsyncIterator()
                while let batch = try await batches.next() {
                    apply(&snapshot, batch)
                    await onSnapshot(snapshot)
                }
                return  // cancelled
            } catch where error.code == .compacted || error.code == .unavailable {
                watch.cancel()
                if Task.isCancelled { return }
                logger.info("watch restarts from a full read", metadata: ["prefix": "\(prefix)",
                                                                          "reason": "\(error)"])
                if error.code == .unavailable { try? await Task.sleep(for: .milliseconds(200)) }
                snapshot = try await load()
                await onSnapshot(snapshot)
            } catch where error.code == .cancelled {
                return
            }
        }
    }
}
