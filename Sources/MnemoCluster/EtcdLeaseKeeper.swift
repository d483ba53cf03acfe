// Keeps a lease alive by renewing it every third of its TTL (one keepalive POST each), so that two
// renewals can fail in a row before the lease, and every key on it, goes away. A renewal that finds
// the lease gone marks the keeper lost and stops: the holder (a member registration, a leader) must
// treat its keys as deleted. Other errors (etcd briefly unreachable) are retried at the next tick.
// The keeper also knows, by the local monotonic clock, until when the lease surely lives: the send
// time of the last renewal etcd answered plus the TTL (etcd counts from its receipt, later).
// A holder that must not act once its lease may be gone (a primary accepting writes) checks
// `isHeld(margin:)` before it acts: a stalled process (SIGSTOP, a long pause) finds its lease
// expired by this clock before any renewal has told it so.

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
        var heldUntil: ContinuousClock.Instant
    }

    /// Starts renewing `lease` every `interval` (default: a third of its TTL, at least 100 ms).
    public init(client: EtcdClient, lease: EtcdLease, interval: Duration? = nil,
                logger: Logger = Logger(label: "mnemo.etcd.lease")) {
        self.lease = lease
        // The grant was answered just before: counting from now overstates the lease by one round
        // trip at most, which the holders' margin covers.
        self.state = Mutex(State(heldUntil: ContinuousClock.now + .seconds(lease.ttl)))
        let period = interval ?? max(.milliseconds(100), .seconds(lease.ttl) / 3)
        let task = Task { [weak self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: period)
                } catch {
                    return
                }
                let sent = ContinuousClock.now
                do throws(EtcdError) {
                    try await client.keepAlive(lease: lease.id)
                    self?.state.withLock { $0.heldUntil = max($0.heldUntil, sent + .seconds(lease.ttl)) }
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

    /// Whether the lease surely lives for `margin` more by this process's monotonic clock (and
    /// no renewal found it lost).
    public func isHeld(margin: Duration) -> Bool {
        state.withLock { $0.lost == nil && ContinuousClock.now + margin < $0.heldUntil }
    }

    /// Stops renewing without revoking: the lease runs out after its TTL (what a crash looks like).
    public func stop() {
        state.withLock { $0.task?.cancel() }
    }

    deinit {
        state.withLock { $0.task?.cancel() }
    }
}
