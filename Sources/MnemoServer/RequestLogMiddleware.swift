// RequestLogMiddleware: the outermost middleware. It turns every failure into the JSON error
// shape (Hummingbird's own 404 and decoding errors included, so no route answers in another
// format), answers an unknown method on a known path 405 with `Allow` (Hummingbird says 404),
// and logs one structured line per request at debug: method, path, status, duration.
import Foundation
import Hummingbird
import Logging

/// Logs each request and renders every error as `{"error": {...}}`.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    /// The router's methods per path, for 405s.
    var allowed = AllowedMethods()

    func handle(_ request: Request, context: ServerContext,
                next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as AuthError {
            // Auth renders itself in the same JSON shape, with its WWW-Authenticate header.
            response = try error.response(from: request, context: context)
        } catch let error as HTTPError where error.status == .notFound {
            // Hummingbird's router answers 404 for a path it knows under another method.
            let methods = allowed.methods(for: request.uri.path)
            if methods.isEmpty || methods.contains(request.method.rawValue) {
                // No such path, or a route of this very method said 404 itself.
                response = try Self.serverError(error).response(from: request, context: context)
            } else {
                let failure = ServerError(status: .methodNotAllowed, code: "methodNotAllowed",
                                          message: "\(request.method.rawValue) is not served here; allowed: \(methods.joined(separator: ", "))")
                response = try failure.response(from: request, context: context)
                response.headers[.allow] = methods.joined(separator: ", ")
            }
        } catch {
            let failure = Self.serverError(error)
            response = try failure.response(from: request, context: context)
        }
        Self.log(context.logger, method: request.method.rawValue, path: request.uri.path,
                 status: Int(response.status.code), elapsed: ContinuousClock.now - start)
        return response
    }

    /// Writes a request's line at debug (nothing below it): method, path, status, microseconds,
    /// and the logger's own metadata (the caller's `subject` where authentication set it).
    static func log(_ logger: Logger, method: String, path: String, status: Int, elapsed: Duration) {
        guard logger.logLevel <= .debug else { return }
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        logger.debug("request", metadata: [
            "method": "\(method)", "path": "\(path)", "status": "\(status)", "us": "\(micros)",
        ])
    }

    /// The ServerError of any error a route or Hummingbird threw.
    static func serverError(_ error: any Error) -> ServerError {
        switch error {
        case let error as ServerError: return error
        case let error as AuthError: return ServerError(error)
        case let error as HTTPError:
            let code: String
            switch error.status {
            case .notFound: code = "routeNotFound"
            case .methodNotAllowed: code = "methodNotAllowed"
            case .contentTooLarge: code = "payloadTooLarge"
            default: code = error.status.code < 500 ? "badRequest" : "internal"
            }
            return ServerError(status: error.status, code: code, message: error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError:
            return ServerError(status: error.status, code: error.status.code < 500 ? "badRequest" : "internal",
                               message: "\(error)")
        default:
            return ServerError(status: .internalServerError, code: "internal", message: "\(error)")
        }
    }
}
