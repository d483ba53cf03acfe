// MovePacer: holds a space move's sending to its rate (bytes a second, from the planner's
// MoveLimits per priority) with the planner's TokenBucket, so a move never takes more of the
// network than the controller gave it.
import MnemoPlacement
import Synchronization

/// Paces sending to a rate with the planner's TokenBucket (a burst of 100 ms).
final class MovePacer: Sendable {
    private struct State {
        var bucket: TokenBucket
        var last: ContinuousClock.Instant
    }
    private let state: Mutex<State>
    private let rate: Double?

    init(bytesPerSecond: UInt64) {
        rate = bytesPerSecond == 0 ? nil : Double(bytesPerSecond)
        state = Mutex(State(bucket: TokenBucket(bytesPerSecond: rate, burstSeconds: 0.1), last: .now))
    }

    /// Returns once `bytes` may be sent.
    func pace(_ bytes: Int) async {
        guard let rate else { return }
        var need = Double(bytes)
        while need > 0 {
            need -= state.withLock { state in
                let now = ContinuousClock.now
                let elapsed = SpaceMover.milliseconds(now - state.last) / 1000
                state.last = now
                return state.bucket.take(need, over: elapsed)
            }
            if need > 0 { try? await Task.sleep(for: .seconds(min(need / rate, 1))) }
        }
    }
}

