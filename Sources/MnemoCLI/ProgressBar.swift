// ProgressBar: a one-line progress report on stderr (done/total, percent, rate, ETA), redrawn
// at most ten times a second, so a long load shows it is moving without flooding a log.
import Foundation

/// A progress line on standard error.
final class ProgressBar: @unchecked Sendable {
    // Used from one task at a time (the loader's), so no lock: @unchecked only for capture.
    let total: Int
    let label: String
    let start = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private static let width = 30

    init(total: Int, label: String) {
        self.total = max(1, total)
        self.label = label
    }

    /// Redraws for `done` items (throttled unless `force`).
    func update(_ done: Int, force: Bool = false) {
        let now = ContinuousClock.now
        guard force || now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = now
        let elapsed = Self.seconds(now - start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let left = rate > 0 ? Double(total - done) / rate : 0
        let filled = min(Self.width, Self.width * done / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: Self.width - filled)
        let line = String(format: "\r%@ [%@] %d/%d %3d%% %.0f/s ETA %@ ", label, bar, done, total,
                          100 * done / total, rate, Self.clock(left))
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Draws the final state and ends the line.
    func finish(_ done: Int) {
        update(done, force: true)
        FileHandle.standardError.write(Data("\n".utf8))
    }

    static func seconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return Double(s) + Double(atto) / 1e18
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}
