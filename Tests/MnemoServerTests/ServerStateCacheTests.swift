// ServerStateCacheTests: the server's cache of open Space values does not pin spaces in memory.
// A cached value keeps its space loaded (Database.unloadIdleSpaces skips it), a recently used
// entry survives an idle eviction, and ServerState.unloadIdleSpaces(idleFor:) evicts the idle
// entries first so a durable database does unload the space, which loads again on next use.
import Foundation
import Mnemo
@testable import MnemoServer
import Testing

@Suite struct ServerStateCacheTests {
    @Test func idleCachedSpacesAreEvictedSoTheyCanUnload() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-cache-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = DatabaseOptions(workers: 2, pinWorkers: false)
        options.durability = .sync
        let database = try await Database(path: path, options: options)
        _ = try await database.createSpace("a", dimension: 2, metric: .l2)
        let state = ServerState(configuration: ServerConfiguration())
        state.transition(to: .ready(database))
        do {
            let space = try await state.space("a")
            try await space.insert(Memory(id: "x", vector: [1, 0], text: "kept"))
        }
        try await database.checkpoint()

        // The cached value holds "a" loaded; a just-used entry is not idle.
        #expect(state.cachedSpaceNames == ["a"])
        #expect(try await database.unloadIdleSpaces() == 0)
        #expect(state.evictIdleSpaces(idleFor: .seconds(3600)) == 0)
        #expect(state.cachedSpaceNames == ["a"])

        // Evicting idle entries lets the database unload it (its worker may still be finishing
        // the first load: retry).
        var unloaded = 0
        for _ in 0..<100 where unloaded == 0 {
            unloaded = try await state.unloadIdleSpaces(idleFor: .zero)
            if unloaded == 0 { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(unloaded == 1)
        #expect(state.cachedSpaceNames.isEmpty)
        let again = try await state.space("a")
        #expect(try await again.get("x")?.text == "kept")
        await database.close()
    }
}
