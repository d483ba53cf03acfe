// DatabaseService: the database's life inside the server's ServiceGroup. It opens the database
// only once the HTTP listener is up (so /healthz and /readyz answer during a long recovery),
// through the engine's async API (recovery runs on a blocking thread, never on an event loop or
// the cooperative pool), marks the server ready, and on graceful shutdown closes it. The
// Hummingbird server is the later service in the group, so it is shut down first: it stops
// accepting and drains the requests in flight, and only then does this close the database,
// which applies every queued write and syncs the logs: every acknowledged write is on disk.
import Logging
import Mnemo
import ServiceLifecycle

/// Opens the database after the listener is up and closes it last.
struct DatabaseService: Service {
    let state: ServerState
    let logger: Logger
    /// Yields once the listener is bound.
    let listening: AsyncStream<Void>
    /// Opens the database (the real one, or a test's stand-in).
    let open: @Sendable () async throws -> Database

    func run() async throws {
        var waiting = listening.makeAsyncIterator()
        guard await waiting.next() != nil else { return }
        let database: Database
        do {
            logger.info("opening the database", metadata: ["data": "\(state.configuration.dataPath ?? "(memory)")"])
            database = try await open()
        } catch {
            logger.error("the database failed to open", metadata: ["error": "\(error)"])
            state.transition(to: .failed("\(error)"))
            throw error
        }
        state.transition(to: .ready(database))
        let spaceCount = await database.stats().spaceCount
        logger.info("ready", metadata: ["spaces": "\(spaceCount)"])
        // Until shutdown: a cancellation (the group failing) closes the database the same way.
        try? await gracefulShutdown()
        state.transition(to: .closing)
        logger.info("closing the database")
        await database.close()
        logger.info("database closed")
    }
}

extension DatabaseService: CustomStringConvertible {
    /// The service's name in lifecycle logs.
    var description: String { "DatabaseService" }
}
