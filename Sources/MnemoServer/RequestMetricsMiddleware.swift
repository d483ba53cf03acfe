// RequestMetricsMiddleware: counts every request and times it into ServerMetrics, labelled by
// the matched route pattern (Hummingbird's endpointPath, e.g. /v1/spaces/{space}/search),
// method and status. Unmatched paths share one label, so a scanner cannot grow the page.
// Hummingbird's own MetricsMiddleware records through the process-wide MetricsSystem; this one
// records into the server's own registry (see ServerMetrics).
import Foundation
import Hummingbird

/// Records request counts and latencies by route and status.
///
/// ```swift
/// router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
/// ```
public struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The route label of a request no route matched (Hummingbird's router sets this endpoint
    /// path on its not-found responder; used here too if none is set).
    public static var unmatchedRoute: String { "NotFound" }

    let metrics: ServerMetrics

    /// Records into `metrics`.
    public init(metrics: ServerMetrics) {
        self.metrics = metrics
    }

    /// Times `next` and records the outcome (a thrown error's status when it is an HTTP
    /// error, else 500). The time ends when the response's head is ready: a streamed body
    /// (an export) is not included.
    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let response = try await next(request, context)
            metrics.record(route: context.endpointPath ?? Self.unmatchedRoute,
                           method: request.method.rawValue, status: Int(response.status.code),
                           duration: clock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.record(route: context.endpointPath ?? Self.unmatchedRoute,
                           method: request.method.rawValue, status: Int(status),
                           duration: clock.now - start)
            throw error
        }
    }
}
