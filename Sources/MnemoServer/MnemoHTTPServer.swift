// MnemoHTTPServer: `mnemo serve` as a value: it builds the router (every route under /v1 plus
// the health routes), the Hummingbird application (plain HTTP or TLS) and the service group that
// runs it with the database service, and shuts both down gracefully on SIGTERM and SIGINT.
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Mnemo
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The Mnemo HTTP server.
///
/// ```swift
/// var configuration = ServerConfiguration()
/// configuration.dataPath = "/var/lib/mnemo"
/// configuration.dev = true
/// try await MnemoHTTPServer(configuration: configuration).run()
/// ```
public struct MnemoHTTPServer: Sendable {
    /// The `Server` field of every response.
    static let serverName = "mnemo"
    /// The shared state: configuration, readiness, the database once open.
    public let state: ServerState
    /// The server's logger.
    public let logger: Logger
    private let open: @Sendable () async throws -> Database

    /// Creates a server. `openDatabase` replaces how the database is opened (tests hold it to
    /// observe a slow recovery); by default it opens ``ServerConfiguration/dataPath`` (or an
    /// in-memory database).
    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "mnemo.server"),
                openDatabase: (@Sendable () async throws -> Database)? = nil) {
        var configuration = configuration
        configuration.databaseOptions.waitWhenFull = false
        self.state = ServerState(configuration: configuration, logger: logger)
        self.logger = logger
        let options = configuration.databaseOptions
        let path = configuration.dataPath
        if let openDatabase {
            self.open = openDatabase
        } else {
            self.open = { @Sendable () async throws -> Database in
                if let path { return try await Database(path: path, options: options) }
                return try Database(options: options)
            }
        }
    }

    /// The authenticator of the configuration: everyone is the admin in dev mode; otherwise the
    /// admin key and tokens signed by the key set (a random one when no file is given).
    public func makeAuthenticator() async throws(AuthError) -> Authenticator {
        let configuration = state.configuration
        if configuration.dev { return try await Authenticator.development() }
        guard let text = configuration.adminKey else {
            throw AuthError.invalidConfiguration("authentication is on and there is no admin key")
        }
        let adminKey = try AdminKey(text)
        let keys: TokenKeySet
        if let path = configuration.tokenKeysPath {
            keys = try TokenKeySet(contentsOfFile: path)
        } else {
            keys = try TokenKeySet.generated()
        }
        return await Authenticator(adminKey: adminKey, keys: keys)
    }

    /// The router: the health routes at the root, everything else under `/v1` behind
    /// authentication and the readiness gate.
    public func buildRouter(authenticator: Authenticator) -> Router<ServerContext> {
        makeRouter(authenticator: authenticator).router
    }

    /// ``buildRouter(authenticator:)`` and the request metrics it records into.
    private func makeRouter(authenticator: Authenticator) -> (router: Router<ServerContext>, metrics: ServerMetrics) {
        let router = Router(context: ServerContext.self)
        let allowed = AllowedMethods()
        router.middlewares.add(RequestLogMiddleware(allowed: allowed))
        let metrics = MetricsEndpoint.install(on: router, state: state, authenticator: authenticator)
        HealthRoutes(state: state).register(on: router)
        let v1 = router.group("v1")
            .add(middleware: AuthMiddleware<ServerContext>(authenticator: authenticator))
            .add(middleware: ReadinessMiddleware(state: state))
        if let cluster = state.cluster {
            v1.add(middleware: ClusterRouter(state: state, node: cluster))
        }
        ClusterRoutes(state: state).register(on: v1)
        CrossSpaceSearchRoutes(state: state).register(on: v1)
        TokenRoutes(state: state, authenticator: authenticator).register(on: v1)
        SpaceRoutes(state: state).register(on: v1)
        MemoryRoutes(state: state).register(on: v1)
        SearchRoutes(state: state).register(on: v1)
        LinkRoutes(state: state).register(on: v1)
        FilterRoutes(state: state).register(on: v1)
        IndexRoutes(state: state).register(on: v1)
        TransferRoutes(state: state).register(on: v1)
        LogRoutes(state: state).register(on: v1)
        allowed.record(router)
        return (router, metrics)
    }

    /// The Hummingbird application with the database service, ready to run (or to test).
    public func makeApplication() async throws -> some ApplicationProtocol {
        let authenticator = try await makeAuthenticator()
        let configuration = state.configuration
        let (listening, signal) = AsyncStream<Void>.makeStream()
        let state = self.state
        let logger = self.logger
        let (router, metrics) = makeRouter(authenticator: authenticator)
        // Searches are answered in the channel pipeline when they can be (FastSearch).
        let search = FastSearch(state: state, authenticator: authenticator, metrics: metrics, logger: logger)
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: configuration.searchOnEventLoop
                                                ? [FastSearchHandler(search: search)] : [])
        let server: HTTPServerBuilder
        if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath {
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            let tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(privateKey))
            server = try .tls(.http1(configuration: http1), tlsConfiguration: tls)
        } else {
            server = .http1(configuration: http1)
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                 serverName: Self.serverName),
            services: services(listening: listening),
            onServerRunning: { channel in
                let port = channel.localAddress?.port
                state.setPort(port)
                logger.notice("listening", metadata: [
                    "host": "\(configuration.host)", "port": "\(port.map(String.init) ?? "?")",
                    "tls": "\(configuration.tlsCertificatePath != nil)",
                ])
                signal.yield()
                signal.finish()
            },
            logger: logger
        )
    }

    /// The database service, and in cluster mode the cluster node after it (shut down first:
    /// the node leaves the cluster before the database closes).
    private func services(listening: AsyncStream<Void>) -> [any Service] {
        var services: [any Service] = [DatabaseService(state: state, logger: logger, listening: listening, open: open)]
        if let cluster = state.cluster {
            services.append(ClusterService(state: state, node: cluster, logger: logger))
        }
        return services
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully: stop accepting, drain the
    /// requests in flight, close the database.
    public func run() async throws {
        let application = try await makeApplication()
        try await application.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}

extension MnemoHTTPServer {
    /// Makes SwiftNIO's event loop threads (one per core) Swift concurrency's global executor,
    /// so a request's handler task runs on the thread that read the request instead of hopping
    /// to the cooperative pool and back (two thread wake-ups a request, the largest cost after
    /// the search itself under a search load; docs/server.md, "Load test and figures").
    /// Nothing a handler awaits blocks: the engine's blocking calls run on the Mnemo module's
    /// own threads, and a search is a non-blocking read. Call once, at the start of the
    /// process, before other tasks run; false when the platform does not allow it.
    public static func runTasksOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
