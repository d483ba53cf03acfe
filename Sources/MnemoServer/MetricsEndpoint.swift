// MetricsEndpoint: GET /metrics, the Prometheus page. The server's router builder wires it with
// one line (`MetricsEndpoint.install(on:state:authenticator:)`): the request metrics middleware
// on every route, and the page behind the same credential as the rest of the API with
// database-wide read access (space names appear as labels, so a token bound to one space may
// not read it; in --dev everyone may). A Prometheus scraper sends the admin key or a
// database-wide read token as its bearer token.
import Hummingbird
import Mnemo

/// Serves ServerMetrics' page at `/metrics`.
///
/// ```swift
/// MetricsEndpoint(metrics: metrics) { state.openDatabase }.register(on: router)
/// ```
public struct MetricsEndpoint: Sendable {
    /// The Prometheus text format's content type.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    let metrics: ServerMetrics
    let database: @Sendable () -> Database?
    let extra: @Sendable () -> String

    /// Serves `metrics`, with the engine figures of whatever `database` returns at each scrape
    /// (`nil` while it is recovering or closing: request metrics only), then `extra`'s text (the
    /// cluster node's routing counters).
    public init(metrics: ServerMetrics, database: @escaping @Sendable () -> Database?,
                extra: @escaping @Sendable () -> String = { "" }) {
        self.metrics = metrics
        self.database = database
        self.extra = extra
    }

    /// The server's wiring: counts and times every request of `router` and serves `/metrics`
    /// to callers with database-wide read access, with the engine figures of `state`'s
    /// database once it is open. Returns the metrics (tests read them).
    ///
    /// ```swift
    /// MetricsEndpoint.install(on: router, state: state, authenticator: authenticator)
    /// ```
    @discardableResult
    public static func install(on router: Router<ServerContext>, state: ServerState,
                               authenticator: Authenticator) -> ServerMetrics {
        let metrics = ServerMetrics()
        router.middlewares.add(RequestMetricsMiddleware<ServerContext>(metrics: metrics))
        let endpoint = MetricsEndpoint(metrics: metrics, database: {
            if case .ready(let database) = state.current { return database }
            return nil
        }, extra: { state.cluster?.metricsText() ?? "" })
        let group = router.group().add(middleware: AuthMiddleware<ServerContext>(authenticator: authenticator))
        group.get("metrics") { _, context -> Response in
            try context.require(.read, space: nil)
            return await endpoint.page()
        }
        return metrics
    }

    /// The page as a response.
    func page() async -> Response {
        var page = await metrics.render(database: database())
        page += extra()
        return Response(status: .ok, headers: [.contentType: Self.contentType],
                        body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    /// Adds `GET /metrics` to `router`, without a credential check (tests, embedding).
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("metrics") { _, _ -> Response in await page() }
    }
}
