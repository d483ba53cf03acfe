// SpaceFreezesTests: the write gate of a space being moved. A freeze waits for the writes
// already inside the gate; writes arriving while it is closed wait and go on after a thaw; a
// write waiting longer than its timeout is refused 503 spaceFrozen; after a thaw with `moved`
// every write is refused 503 spaceMoved until forget; other spaces are never held.
import Foundation
@testable import MnemoServer
import Synchronization
import Testing

@Suite struct SpaceFreezesTests {
    @Test func freezeWaitsForWritesInsideAndHoldsNewOnes() async throws {
        let gates = SpaceFreezes()
        try await gates.enter("a")
        let frozen = Mutex(false)
        let freezing = Task {
            // A timeout no loaded machine reaches: the freeze must end only by the write leaving.
            let done = await gates.freeze("a", timeout: .seconds(3600))
            frozen.withLock { $0 = true }
            return done
        }
        // The freeze cannot finish while the write inside has not left.
        for _ in 0..<20 {
            await Task.yield()
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(frozen.withLock { $0 } == false)
        #expect(gates.isFrozen("a"))
        gates.leave("a")
        #expect(await freezing.value)

        // A new write waits until the thaw, then goes in.
        let entered = Mutex(false)
        let writer = Task {
            try await gates.enter("a", timeout: .seconds(3600))
            entered.withLock { $0 = true }
            gates.leave("a")
        }
        try await gates.enter("b") // another space is not held
        gates.leave("b")
        try await Task.sleep(for: .milliseconds(30))
        #expect(entered.withLock { $0 } == false)
        gates.thaw("a")
        try await writer.value
        #expect(entered.withLock { $0 })
    }

    @Test func waitingIsBoundedAndAMovedSpaceRefusesWrites() async throws {
        let gates = SpaceFreezes()
        #expect(await gates.freeze("a"))
        do {
            try await gates.waitIfFrozen("a", timeout: .milliseconds(20))
            Issue.record("a frozen space let a write through")
        } catch {
            #expect(error.code == "spaceFrozen" && error.status == .serviceUnavailable && error.retryAfterSeconds == 1)
        }
        gates.thaw("a", moved: true)
        do {
            try await gates.enter("a")
            Issue.record("a moved space let a write in")
        } catch {
            #expect(error.code == "spaceMoved")
        }
        gates.forget("a")
        try await gates.enter("a")
        gates.leave("a")
        try await gates.waitIfFrozen("a")
    }
}
