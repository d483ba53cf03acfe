// ServerDateTests: the hand-written RFC 3339 formatter (used for every hit's createdAt) agrees
// with Foundation's ISO8601DateFormatter, and what it writes parses back.
import Foundation
@testable import MnemoServer
import Testing

@Suite("Server dates")
struct ServerDateTests {
    @Test("the hand-written RFC 3339 form agrees with ISO8601DateFormatter")
    func agreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SystemRandomNumberGenerator()
        let samples: [Double] = [0, 0.001, 0.999, -0.001, -1, 951_782_400.5, 1_764_476_517.123, 4_102_444_800.25]
            + (0..<500).map { _ in Double.random(in: -2_000_000_000...4_000_000_000, using: &generator) }
        for sample in samples {
            let date = Date(timeIntervalSince1970: (sample * 1000).rounded(.down) / 1000)
            #expect(ServerDates.format(date) == formatter.string(from: date), "\(sample)")
            #expect(ServerDates.parse(ServerDates.format(date)).map { abs($0.timeIntervalSince(date)) < 0.001 } == true)
        }
    }
}
