// LatencySamples: the latencies of one request kind in a load test, and the percentiles a
// report prints (nearest rank on the sorted samples). Each client keeps its own and the test
// merges them at the end, so recording takes no lock.
import Foundation

/// Latencies (nanoseconds) and error counts of one request kind.
struct LatencySamples: Sendable {
    var nanoseconds: [UInt64] = []
    /// Non-2xx answers by status; 0 stands for a transport error (no answer).
    var errors: [Int: Int] = [:]

    mutating func record(_ duration: Duration) {
        let (s, atto) = duration.components
        nanoseconds.append(UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, atto)) / 1_000_000_000)
    }

    mutating func merge(_ other: LatencySamples) {
        nanoseconds += other.nanoseconds
        errors.merge(other.errors, uniquingKeysWith: +)
    }

    /// Successful requests.
    var count: Int { nanoseconds.count }

    /// The `q` quantile (0...1) in milliseconds, nearest rank; 0 with no samples.
    static func quantile(_ sorted: [UInt64], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))
        return Double(sorted[rank]) / 1e6
    }

    /// Count, p50, p99, p99.9 and the mean, in milliseconds.
    func summary() -> (count: Int, p50: Double, p99: Double, p999: Double, mean: Double) {
        let sorted = nanoseconds.sorted()
        let mean = sorted.isEmpty ? 0 : Double(sorted.reduce(0, +)) / Double(sorted.count) / 1e6
        return (sorted.count, Self.quantile(sorted, 0.5), Self.quantile(sorted, 0.99),
                Self.quantile(sorted, 0.999), mean)
    }
}
