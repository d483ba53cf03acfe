// Proves creation times outside what the C core stores (Int64 nanoseconds since 1970: the years
// 1678 to 2262) are rejected with a typed invalidArgument, never a trap, on the single and the
// batch insert paths; the offending memory's position is reported and nothing is inserted; a
// time inside the range (near both ends) is stored and read back.
import Foundation
import Mnemo
import Testing

@Suite struct CreationTimeTests {
    /// Seconds since 1970 of dates the core cannot store. (The arguments are the seconds, not the
    /// dates: Foundation traps describing a NaN date, and Swift Testing describes arguments.)
    static let unrepresentable: [Double] = [
        Date.distantFuture.timeIntervalSince1970,        // year 4001
        Date.distantPast.timeIntervalSince1970,          // year 1
        .nan,
        .infinity,
        -9_300_000_000,                                  // 1675
        9_300_000_000,                                   // 2264
    ]

    @Test(arguments: unrepresentable)
    func unrepresentableTimesAreInvalidArguments(seconds: Double) async throws {
        let date = Date(timeIntervalSince1970: seconds)
        let database = try Database(options: DatabaseOptions(workers: 1))
        let space = try await database.createSpace("times", dimension: 2, metric: .l2)
        do {
            try await space.insert(Memory(id: "one", vector: [1, 0], createdAt: date))
            Issue.record("insert accepted createdAt \(seconds)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.offendingIndex == 0)
        }
        do {
            try await space.insert(contentsOf: [
                Memory(id: "fine", vector: [0, 1]),
                Memory(id: "bad", vector: [1, 1], createdAt: date),
            ])
            Issue.record("batch accepted createdAt \(seconds)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.offendingIndex == 1)
        }
        #expect(space.stats().count == 0)
        await database.close()
    }

    @Test func timesInsideTheRangeRoundTrip() async throws {
        let database = try Database(options: DatabaseOptions(workers: 1))
        let space = try await database.createSpace("times", dimension: 2, metric: .l2)
        let early = Date(timeIntervalSince1970: -9_000_000_000)   // 1684
        let late = Date(timeIntervalSince1970: 9_000_000_000)     // 2255
        try await space.insert(contentsOf: [
            Memory(id: "early", vector: [1, 0], createdAt: early),
            Memory(id: "late", vector: [0, 1], createdAt: late),
        ])
        let readEarly = try #require(try await space.get("early")?.createdAt)
        let readLate = try #require(try await space.get("late")?.createdAt)
        #expect(abs(readEarly.timeIntervalSince(early)) < 1e-3)
        #expect(abs(readLate.timeIntervalSince(late)) < 1e-3)
        await database.close()
    }

    @Test func anUpsertKeepsItsGivenTimeWhenItInserts() async throws {
        let database = try Database(options: DatabaseOptions(workers: 1))
        let space = try await database.createSpace("upserted", dimension: 2, metric: .l2)
        let given = Date(timeIntervalSince1970: 1_000_000_000)
        #expect(try await space.upsert(Memory(id: "a", vector: [1, 0], createdAt: given)) == false)
        let read = try #require(try await space.get("a")?.createdAt)
        #expect(abs(read.timeIntervalSince(given)) < 1e-3)
        // Replacing keeps the original time, whatever the new memory says.
        #expect(try await space.upsert(Memory(id: "a", vector: [0, 1], createdAt: Date())) == true)
        let kept = try #require(try await space.get("a")?.createdAt)
        #expect(abs(kept.timeIntervalSince(given)) < 1e-3)
        await database.close()
    }
}
