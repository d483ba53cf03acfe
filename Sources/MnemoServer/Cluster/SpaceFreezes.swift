// SpaceFreezes: the write gate of a space being moved away. A move ships the space's export,
// then its log tail until the target has nearly caught up; for the final tail the source must
// stop writing that space, so the last records it ships are the last it will ever take. Every
// write route enters the gate (ServerState.withWritableSpace) and leaves it when its write is
// done; freeze(name) closes the gate and waits until the writes already inside have finished,
// so nothing acknowledged can land after the final tail was read. Writes that arrive while the
// gate is closed wait (bounded, 10 s, then 503 with Retry-After); after a cut-over the mover
// thaws with `moved: true` and every write still waiting, or arriving before the local copy is
// dropped, is answered 503 `spaceMoved` (retried, it is routed to the new owner): never applied
// here. Waiting polls every 2 ms: a gate is closed for milliseconds, rarely, and polling keeps
// the common path (an open gate) one lock and two dictionary updates.
import Hummingbird
import Synchronization

/// The write gates of the spaces being moved away from this node.
///
/// ```swift
/// guard await freezes.freeze("alice") else { ... }   // writes of alice wait from here on
/// defer { freezes.thaw("alice", moved: cutOver) }
/// ```
public final class SpaceFreezes: Sendable {
    /// How long a write waits for a frozen space before it is answered 503.
    public static let defaultTimeout: Duration = .seconds(10)
    /// How often a waiting write (or freeze) looks again.
    static let pollInterval: Duration = .milliseconds(2)

    private struct Gate {
        var frozen = false
        var moved = false
        var inFlight = 0
        var isIdle: Bool { !frozen && !moved && inFlight == 0 }
    }

    private let gates = Mutex<[String: Gate]>([:])
    /// Called by ``forget(_:)``: the server drops its cached handle of the space.
    private let forgotten = Mutex<(@Sendable (String) -> Void)?>(nil)

    /// An open gate for every space.
    public init() {}

    /// Sets what ``forget(_:)`` calls besides clearing the mark (the server's cache eviction).
    func onForget(_ body: @escaping @Sendable (String) -> Void) { forgotten.withLock { $0 = body } }

    /// Closes the gate of `name` and waits until the writes already admitted are done.
    /// - Returns: false when they were not all done within `timeout` (the gate is open again).
    public func freeze(_ name: String, timeout: Duration = SpaceFreezes.defaultTimeout) async -> Bool {
        gates.withLock { $0[name, default: Gate()].frozen = true }
        let deadline = ContinuousClock.now + timeout
        while gates.withLock({ $0[name]?.inFlight ?? 0 }) > 0 {
            if ContinuousClock.now >= deadline {
                thaw(name)
                return false
            }
            try? await Task.sleep(for: Self.pollInterval)
        }
        return true
    }

    /// Opens the gate of `name`. `moved`: the space now lives on another node: waiting and
    /// later writes are refused (503 `spaceMoved`) until ``forget(_:)``.
    public func thaw(_ name: String, moved: Bool = false) {
        gates.withLock { gates in
            var gate = gates[name, default: Gate()]
            gate.frozen = false
            gate.moved = moved
            gates[name] = gate.isIdle ? nil : gate
        }
    }

    /// Clears the moved mark of `name` once its local copy is gone (or it came back), and
    /// has the server forget any handle of it it kept.
    public func forget(_ name: String) {
        gates.withLock { gates in
            gates[name]?.moved = false
            if gates[name]?.isIdle == true { gates[name] = nil }
        }
        forgotten.withLock { $0 }?(name)
    }

    /// Whether writes of `name` wait now.
    public func isFrozen(_ name: String) -> Bool { gates.withLock { $0[name]?.frozen ?? false } }

    /// Waits while `name` is frozen.
    /// - Throws: 503 `spaceFrozen` after `timeout`, 503 `spaceMoved` when the space moved away.
    public func waitIfFrozen(_ name: String, timeout: Duration = SpaceFreezes.defaultTimeout) async throws(ServerError) {
        try await pass(name, timeout: timeout, admit: false)
    }

    /// Waits while `name` is frozen, then counts a write in until ``leave(_:)``.
    /// - Throws: the errors of ``waitIfFrozen(_:timeout:)``.
    func enter(_ name: String, timeout: Duration = SpaceFreezes.defaultTimeout) async throws(ServerError) {
        try await pass(name, timeout: timeout, admit: true)
    }

    /// A write counted in by ``enter(_:timeout:)`` is done.
    func leave(_ name: String) {
        gates.withLock { gates in
            guard var gate = gates[name] else { return }
            gate.inFlight -= 1
            gates[name] = gate.isIdle ? nil : gate
        }
    }

    private enum Look { case open, frozen, moved }

    private func pass(_ name: String, timeout: Duration, admit: Bool) async throws(ServerError) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let look = gates.withLock { gates -> Look in
                guard let gate = gates[name] else {
                    if admit { gates[name] = Gate(inFlight: 1) }
                    return .open
                }
                if gate.moved { return .moved }
                if gate.frozen { return .frozen }
                if admit { gates[name]?.inFlight += 1 }
                return .open
            }
            switch look {
            case .open: return
            case .moved:
                throw ServerError(status: .serviceUnavailable, code: "spaceMoved",
                                  message: "space \"\(name)\" has moved to another node; retry", retryAfterSeconds: 1)
            case .frozen:
                if ContinuousClock.now >= deadline {
                    throw ServerError(status: .serviceUnavailable, code: "spaceFrozen",
                                      message: "space \"\(name)\" is being moved; retry", retryAfterSeconds: 1)
                }
                try? await Task.sleep(for: Self.pollInterval)
            }
        }
    }
}
