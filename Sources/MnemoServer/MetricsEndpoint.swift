// MetricsEndpoint: GET /metrics, the Prometheus page (no credential, like /healthz: it carries
// counts and sizes, never contents; space names appear as labels). The route is registered by
// the server's router builder with one line: `MetricsEndpoint(...).register(on: router)`.
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

    /// Serves `metrics`, with the engine figures of whatever `database` returns at each scrape
    /// (`nil` while it is recovering or closing: request metrics only).
    public init(metrics: ServerMetrics, database: @escaping @Sendable () -> Database?) {
        self.metrics = metrics
        self.database = database
    }

    /// Adds `GET /metrics` to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("metrics") { _, _ -> Response in
            let page = await metrics.render(database: database())
            return Response(status: .ok, headers: [.contentType: Self.contentType],
                            body: .init(byteBuffer: ByteBuffer(string: page)))
        }
    }
}
