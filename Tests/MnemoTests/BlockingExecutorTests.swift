// Proves the executor behind every blocking C call gives each call in flight a thread of its
// own: eight calls that each wait until all eight are running at once all finish (with a
// shared queue or a fixed pool smaller than eight they would wait out their deadline and fail),
// and results and typed errors come back to the awaiting task.
import Foundation
@testable import Mnemo
import Testing

/// Eight parties that each wait, on a plain thread, until all of them have arrived.
private final class Rendezvous: @unchecked Sendable {
    // @unchecked: `arrived` is read and written only with `condition` locked.
    private let condition = NSCondition()
    private var arrived = 0
    let parties: Int

    init(parties: Int) { self.parties = parties }

    /// Arrives and waits up to 60 s for the others; returns whether all of them arrived.
    func arriveAndWait() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: 60)
        while arrived < parties {
            if !condition.wait(until: deadline) { return arrived >= parties }
        }
        return true
    }
}

@Suite struct BlockingExecutorTests {
    @Test func everyCallInFlightHasItsOwnThread() async {
        let rendezvous = Rendezvous(parties: 8)
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask { await BlockingExecutor.run { rendezvous.arriveAndWait() } }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 8))
    }

    @Test func resultsAndErrorsComeBack() async {
        #expect(await BlockingExecutor.run { 6 * 7 } == 42)
        do {
            try await BlockingExecutor.run { () throws(MnemoError) in throw MnemoError(.io, "disk on fire") }
            Issue.record("no error")
        } catch {
            #expect(error.code == .io)
        }
    }
}
