// Proves one data directory has one open `Database` (issue 9, item 8): a second
// `Database(path:)` on an open directory throws `.locked` and changes nothing, and `close()`
// frees the directory at once, before the closed value is released.
import Foundation
import Mnemo
import Testing

@Suite struct LockTests {
    @Test func secondOpenThrowsLockedUntilClose() async throws {
        let path = try DurabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let options = DurabilityTests.options(.sync)
        let first = try await Database(path: path, options: options)
        _ = try await first.createSpace("notes", dimension: 4)
        await #expect {
            _ = try await Database(path: path, options: options)
        } throws: { error in
            (error as? MnemoError)?.code == .locked
        }
        await first.close()
        let second = try await Database(path: path, options: options)
        #expect(await second.spaces() == ["notes"])
        await second.close()
        withExtendedLifetime(first) {}
    }
}
