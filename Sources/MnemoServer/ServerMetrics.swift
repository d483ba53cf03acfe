// ServerMetrics: the Prometheus side of the server. Request metrics go through swift-metrics
// (Counter, Timer) into a PrometheusCollectorRegistry owned by this object, through a
// PrometheusMetricsFactory handed to each metric explicitly: no process-wide
// MetricsSystem.bootstrap, so several servers (tests) in one process keep separate figures.
// The engine's figures are not kept here at all: EngineCollector reads them from the database
// when /metrics is scraped, so they are never stale and a dropped space leaves no series behind.
import CoreMetrics
import Foundation
import Mnemo
import Prometheus
import Synchronization

/// The server's metrics: request counts and latencies by route and status, and the engine's
/// figures rendered at scrape time. Thread-safe.
///
/// ```swift
/// let metrics = ServerMetrics()
/// router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
/// let page = await metrics.render(database: database)   // Prometheus text format
/// ```
public final class ServerMetrics: Sendable {
    /// Upper bounds of the request latency histogram: loopback requests take tens of
    /// microseconds to milliseconds, so the buckets start at 100 µs (the factory's default
    /// starts at 5 ms and would put every search in its first bucket).
    public static let requestLatencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]
    /// Name of the request counter (labels `route`, `method`, `status`).
    public static let requestCounterName = "mnemo_http_requests_total"
    /// Name of the request latency histogram (labels `route`, `method`, `status`).
    public static let requestLatencyName = "mnemo_http_request_duration_seconds"

    /// Name of the counter of searches answered on the event loop that read them (FastSearch);
    /// they are counted in the request metrics too, under the search route.
    public static let eventLoopSearchesName = "mnemo_http_searches_on_event_loop_total"

    /// The registry the request metrics live in.
    public let registry: PrometheusCollectorRegistry
    /// Searches answered on the event loop (``eventLoopSearchesName``).
    let eventLoopSearches: Prometheus.Counter
    private let factory: PrometheusMetricsFactory
    private let collector: EngineCollector
    /// One counter and one timer per (route, method, status): created once, then looked up.
    private let requests = Mutex<[RequestKey: RequestSeries]>([:])

    /// Creates empty metrics. `spaceSeriesLimit` bounds the per-space series of a scrape (the
    /// largest spaces by bytes are listed; totals cover every loaded space).
    public init(spaceSeriesLimit: Int = EngineCollector.defaultSpaceSeriesLimit) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [Self.requestLatencyName: Self.requestLatencyBuckets]
        self.registry = registry
        self.factory = factory
        self.collector = EngineCollector(spaceSeriesLimit: spaceSeriesLimit)
        self.eventLoopSearches = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "mnemo_http", metricName: "searches_on_event_loop", unitName: "total",
            helpText: "Searches answered on the event loop that read them, without Hummingbird's router"))
    }

    /// Counts one finished request: its route pattern (never the raw path, so the series stay
    /// bounded), method, status code and how long it took.
    public func record(route: String, method: String, status: Int, duration: Duration) {
        let key = RequestKey(route: route, method: method, status: status)
        let series = requests.withLock { table -> RequestSeries in
            if let existing = table[key] { return existing }
            let labels = [("route", route), ("method", method), ("status", String(status))]
            let made = RequestSeries(
                counter: CoreMetrics.Counter(label: Self.requestCounterName, dimensions: labels, factory: factory),
                timer: CoreMetrics.Timer(label: Self.requestLatencyName, dimensions: labels, factory: factory))
            table[key] = made
            return made
        }
        series.counter.increment()
        let (seconds, attoseconds) = duration.components
        series.timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// The whole page in Prometheus text format (version 0.0.4): the request metrics, then the
    /// engine's figures read now from `database` (none while it is not open).
    public func render(database: Database?) async -> String {
        var page = registry.emitToString()
        if let database {
            page += await collector.render(database)
        }
        return page
    }
}

/// A request series' identity.
private struct RequestKey: Hashable, Sendable {
    let route: String
    let method: String
    let status: Int
}

/// A request series' metrics.
private struct RequestSeries: @unchecked Sendable {
    // swift-metrics' Counter and Timer are thread-safe classes not marked Sendable.
    let counter: CoreMetrics.Counter
    let timer: CoreMetrics.Timer
}
