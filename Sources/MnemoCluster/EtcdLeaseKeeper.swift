// Keeps a lease alive by renewing it every third of its TTL (one keepalive POST each), so that two
// renewals can fail in a row before the lease, and every key on it, goes away. A renewal that finds
// the lease gone marks the keeper lost and stops: the holder (a member registration, a leader) must
// treat its keys as deleted. Other errors (etcd briefly unreachable) are retried at the next tick.

import Logging
import Synchronization

/// Renews one lease in the background until stopped or lost.
public final class EtcdLeaseKeeper: Sendable {
    /// The lease being kept.
    public let lease: EtcdLease
    private let state: Mutex<State>

    private struct State {
        var task: Task<Void, Never>?
        var lost: EtcdError?
    }

    /// Starts renewing `lease` every `interval` (default: a third of its TTL, at least 100 ms).
    public init(client: EtcdClient, lease: EtcdLease, interval: Duration? = nil,
                logger: Logger = Logger(label: "mnemo.etcd.lease")) {
        self.lease = lease
        self.state = Mutex(State())
        let period = interval ?? max(.milliseconds(100), .seconds(lease.ttl) / 3)
        let task = Task { [weak self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: period)
                } catch {
                    return
                }
                do throws(EtcdError) {
                    try await client.keepAlive(lease: lease.id)
                } catch where error.code == .leaseNotFound {
                    self?.state.withLock { $0.lost = error }
                    logger.warning("lease lost", metadata: ["lease": "\(lease.id)"])
                    return
                } catch where error.code == .cancelled || error.code == .shutdown {
                    return
                } catch {
                    logger.info("lease renewal failed, retrying", metadata: ["error": "\(error)"])
                }
            }
        }
        state.withLock { $0.task = task }
    }

    /// Whether the lease was found expired or revoked by a renewal.
    public var isLost: Bool { state.withLock { $0.lost != nil } }

    /// Stops renewing without revoking: the lease runs out after its TTL (what a crash looks like).
    public func stop() {
        state.withLock { $0.task?.cancel() }
    }

    deinit {
        state.withLock { $0.task?.cancel() }
    }
}
