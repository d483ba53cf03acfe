// ServerState: the server's shared state across requests: the configuration, whether the
// database is open yet (recovery runs after the listener is up, so /healthz answers while a
// large log replays and /v1 answers 503 until it is done), and a cache of open Space values so
// a search does not pay a trip to a blocking thread for its space lookup. A cached Space value
// keeps its space loaded (Database.unloadIdleSpaces skips spaces with open values), so each
// entry remembers when it was last used and unloadIdleSpaces(idleFor:) evicts the entries idle
// that long before asking the database to unload: a busy space stays cached, an idle one can go.
import Foundation
import Logging
import Mnemo
import Synchronization

/// The server's state shared by every request. Thread-safe.
public final class ServerState: Sendable {
    /// Where the database is in its life.
    public enum Phase: Sendable {
        /// Opening (recovery replays the log).
        case recovering
        /// Open and serving.
        case ready(Database)
        /// Opening failed; the message says why.
        case failed(String)
        /// Shutting down: the database is closing or closed.
        case closing
    }

    /// The configuration the server runs with.
    public let configuration: ServerConfiguration
    /// The write gates of spaces being moved away (every write route enters one).
    public let freezes = SpaceFreezes()
    /// The spaces held here as the incoming copy of a move (`Mnemo-Move` imports).
    public let incomingMoves = IncomingMoves()
    private let phase = Mutex<Phase>(.recovering)
    private let spaces = Mutex<[String: CachedSpace]>([:])
    /// A cached Space value and when a request last used it.
    private struct CachedSpace {
        var space: Space
        var lastUsed: ContinuousClock.Instant
    }
    /// The port actually bound (known once the listener is up).
    private let boundPort = Mutex<Int?>(nil)
    /// How many Space values the cache keeps; past it the cache is emptied (spaces reopen).
    static let spaceCacheLimit = 4096

    /// The node's cluster runtime in cluster mode (nil: a single node).
    public let cluster: ClusterNode?

    /// Creates the state of a server that has not opened its database yet (`logger`: the cluster
    /// node's, in cluster mode).
    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "mnemo.server")) {
        self.configuration = configuration
        self.cluster = configuration.cluster.map {
            ClusterNode(configuration: $0, tls: configuration.tlsCertificatePath != nil, logger: logger)
        }
        // A space moved away and dropped behind the cache's back (SpaceMover) leaves the cache.
        freezes.onForget { [weak self] name in self?.forget(name) }
    }

    /// The current phase.
    public var current: Phase { phase.withLock { $0 } }

    /// Whether the database is open.
    public var isReady: Bool {
        if case .ready = current { return true }
        return false
    }

    /// The database once open (nil while recovering, after a failed open and while closing):
    /// what the /metrics page reads.
    public var openDatabase: Database? {
        if case .ready(let database) = current { return database }
        return nil
    }

    /// Moves to `next`.
    func transition(to next: Phase) {
        phase.withLock { $0 = next }
        if case .ready = next { return }
        spaces.withLock { $0.removeAll() }
    }

    /// The bound port, once the listener is up.
    public var port: Int? { boundPort.withLock { $0 } }

    func setPort(_ port: Int?) { boundPort.withLock { $0 = port } }

    /// The open database, or 503 while recovering or closing.
    func database() throws(ServerError) -> Database {
        switch current {
        case .ready(let database): return database
        case .recovering: throw .notReady("the database is being opened (recovery); retry shortly")
        case .failed(let message): throw .notReady("the database failed to open: \(message)")
        case .closing: throw .notReady("the server is shutting down")
        }
    }

    /// The space named `name` (from the cache, else opened off the cooperative pool).
    func space(_ name: String) async throws(ServerError) -> Space {
        if let cached = cachedSpace(name) { return cached }
        let database = try database()
        do {
            let space = try await database.space(name)
            spaces.withLock {
                if $0.count >= Self.spaceCacheLimit { $0.removeAll() }
                $0[name] = CachedSpace(space: space, lastUsed: ContinuousClock.now)
            }
            return space
        } catch {
            throw ServerError(error, field: nil)
        }
    }

    /// The cached Space value of `name`, marked used now; nil when no request has opened it yet
    /// (or it was evicted). Never suspends: the event loop fast path (FastSearch) calls it.
    func cachedSpace(_ name: String) -> Space? {
        let now = ContinuousClock.now
        return spaces.withLock { cache -> Space? in
            cache[name]?.lastUsed = now
            return cache[name]?.space
        }
    }

    /// The names of the cached Space values.
    var cachedSpaceNames: [String] { spaces.withLock { Array($0.keys).sorted() } }

    /// Evicts the Space values no request has used for `idle`; returns how many.
    @discardableResult
    func evictIdleSpaces(idleFor idle: Duration) -> Int {
        let cutoff = ContinuousClock.now - idle
        return spaces.withLock { cache in
            let stale = cache.filter { $0.value.lastUsed <= cutoff }.map(\.key)
            for name in stale { cache.removeValue(forKey: name) }
            return stale.count
        }
    }

    /// Evicts the cached Space values idle for `idle`, then unloads every idle space of the
    /// database (Database.unloadIdleSpaces: no open value, nothing queued, checkpointed).
    /// - Returns: how many spaces were unloaded.
    @discardableResult
    public func unloadIdleSpaces(idleFor idle: Duration) async throws(ServerError) -> Int {
        let database = try database()
        evictIdleSpaces(idleFor: idle)
        do {
            return try await database.unloadIdleSpaces()
        } catch {
            throw ServerError(error, field: nil)
        }
    }

    /// Forgets the cached space `name` (after a drop, or when its handle reports it dropped).
    func forget(_ name: String) {
        _ = spaces.withLock { $0.removeValue(forKey: name) }
    }

    /// Runs the write `body` with the space `name` as ``withSpace(_:field:_:)`` does, inside
    /// the space's write gate (SpaceFreezes): it waits while the space is frozen for a move and
    /// is refused (503) once the space has moved away. Every route that changes a space's
    /// memories, links or indexes writes through here.
    ///
    /// In a cluster the write is also replicated: the node must hold its member lease (else 503
    /// `leaseExpired`, before anything is applied), and after the local write it waits until the
    /// write quorum of the space's copies holds it (ClusterNode.commit).
    func withWritableSpace<T>(_ name: String, field: String? = nil,
                              _ body: (Space) async throws(MnemoError) -> T) async throws(ServerError) -> T {
        try await freezes.enter(name)
        defer { freezes.leave(name) }
        guard let cluster else { return try await withSpace(name, field: field, body) }
        let entry = try cluster.writableEntry(name)
        var written: Space?
        // Never reopened: a copy dropped under this write (this node failed over meanwhile) may be
        // back by now as a replica's copy, which only its primary's records may change.
        let result = try await withSpace(name, field: field, reopen: false) { space throws(MnemoError) -> T in
            written = space
            return try await body(space)
        }
        if let written { try await cluster.commit(name, space: written, entry: entry) }
        return result
    }

    /// Runs `body` with the space `name`; when the cached handle turns out to belong to a
    /// space dropped (and perhaps re-created) behind it, reopens once and retries (`reopen`).
    func withSpace<T>(_ name: String, field: String? = nil, reopen: Bool = true,
                      _ body: (Space) async throws(MnemoError) -> T) async throws(ServerError) -> T {
        let space = try await self.space(name)
        do {
            return try await body(space)
        } catch where error.code == .unknownSpace {
            forget(name)
            guard reopen else { throw ServerError(error, field: field) }
            let again = try await self.space(name)
            do {
                return try await body(again)
            } catch {
                throw ServerError(error, field: field)
            }
        } catch {
            throw ServerError(error, field: field)
        }
    }
}
