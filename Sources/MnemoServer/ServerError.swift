// ServerError: every failure the HTTP layer answers, as an HTTP status plus a stable code string
// and, for bad input, the request field at fault. One place maps the engine's MnemoError codes to
// statuses (see docs/server.md, "Errors"), so every route reports the same failure the same way
// and the OpenAPI document can list each code once.
import Foundation
import Hummingbird
import Mnemo

/// A failure answered to an HTTP client as `{"error": {"code", "message", "field"?}}`.
///
/// ```swift
/// throw ServerError.badRequest("k must be between 1 and 32768", field: "k")
/// ```
public struct ServerError: Error, Sendable, Hashable, CustomStringConvertible, HTTPResponseError {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// The stable machine-readable code: one of the engine's (`MnemoError.Code` names such as
    /// `duplicateID`, `unknownSpace`, `full`) or one of the server's (`badRequest`,
    /// `unauthorized`, `forbidden`, `notFound`, `notReady`, `payloadTooLarge`, ...).
    public var code: String
    /// A human-readable message.
    public var message: String
    /// The request field at fault (`vector`, `memories[3].metadata.kind`), when one is.
    public var field: String?
    /// Seconds the client should wait before retrying (sent as `Retry-After`), for 429 and 503.
    public var retryAfterSeconds: Int?
    /// Whether the response carries `WWW-Authenticate: Bearer` (401s, RFC 6750).
    public var authenticate = false

    /// Creates an error.
    ///
    /// ```swift
    /// let error = ServerError(status: .conflict, code: "duplicateID", message: "space exists")
    /// ```
    public init(status: HTTPResponse.Status, code: String, message: String, field: String? = nil,
                retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// 400: the request is malformed; `field` names the part at fault.
    public static func badRequest(_ message: String, field: String? = nil) -> ServerError {
        ServerError(status: .badRequest, code: "badRequest", message: message, field: field)
    }

    /// 401: no credential, or one that is invalid or expired.
    public static func unauthorized(_ message: String) -> ServerError {
        ServerError(status: .unauthorized, code: "unauthorized", message: message)
    }

    /// 403: a valid credential without the right to this space or scope.
    public static func forbidden(_ message: String) -> ServerError {
        ServerError(status: .forbidden, code: "forbidden", message: message)
    }

    /// 404: no such memory (or link).
    public static func notFound(_ message: String, field: String? = nil) -> ServerError {
        ServerError(status: .notFound, code: "notFound", message: message, field: field)
    }

    /// 413: the request body is over the configured limit.
    public static func payloadTooLarge(_ limit: Int) -> ServerError {
        ServerError(status: .contentTooLarge, code: "payloadTooLarge",
                    message: "request body over the limit of \(limit) bytes")
    }

    /// 503: the database is still being opened (recovery) or is closing.
    public static func notReady(_ message: String) -> ServerError {
        ServerError(status: .serviceUnavailable, code: "notReady", message: message, retryAfterSeconds: 1)
    }

    /// Maps an engine error to its HTTP status, keeping the engine's stable code. `field`
    /// prefixes the engine's own field (a metadata name, a filter field) with where in the
    /// request the value came from (`metadata`, `memories[3].metadata`, `filter`).
    ///
    /// ```swift
    /// catch { throw ServerError(error, field: "vector") }
    /// ```
    public init(_ error: MnemoError, field: String? = nil) {
        var where_ = field
        if let index = error.offendingIndex, let base = where_ {
            where_ = "\(base)[\(index)]"
        }
        if let inner = error.field {
            let prefix: String
            switch error.code {
            case .invalidMetadata: prefix = "metadata"
            case .invalidFilter: prefix = "filter"
            default: prefix = ""
            }
            let path = prefix.isEmpty ? inner : "\(prefix).\(inner)"
            where_ = where_.map { "\($0).\(path)" } ?? path
        } else if error.code == .invalidFilter {
            where_ = where_.map { "\($0).filter" } ?? "filter"
        }
        var retry: Int?
        let status: HTTPResponse.Status
        switch error.code {
        case .invalidArgument, .wrongDimension, .nonFinite, .zeroVector, .invalidMetadata, .invalidFilter,
             .truncated, .corrupt, .unsupportedVersion:
            status = .badRequest
        case .duplicateID, .logGap, .logDuplicate: status = .conflict
        case .logTruncated: status = .gone
        case .notFound, .unknownSpace: status = .notFound
        case .tooLarge: status = .contentTooLarge
        case .full:
            status = .tooManyRequests
            retry = 1
        case .closed, .locked:
            status = .serviceUnavailable
            retry = 1
        case .unsupported: status = .notImplemented
        case .outOfMemory:
            status = .serviceUnavailable
            retry = 1
        default: status = .internalServerError
        }
        self.init(status: status, code: error.code.description, message: error.message, field: where_,
                  retryAfterSeconds: retry)
    }

    /// An authentication or authorization failure (401, 403, or 400 for a bad token request),
    /// with its status, code and field.
    public init(_ error: AuthError) {
        self.init(status: error.status, code: error.code.rawValue, message: error.message, field: error.field)
        authenticate = error.status == .unauthorized
    }

    /// `code: message (field)`.
    public var description: String {
        "\(status.code) \(code): \(message)" + (field.map { " (field \($0))" } ?? "")
    }

    /// The JSON error response, with `Retry-After` for 429 and 503.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(status: status, ErrorEnvelope(error: .init(code: code, message: message, field: field)))
        if let retryAfterSeconds {
            response.headers[.retryAfter] = String(retryAfterSeconds)
        }
        if authenticate {
            response.headers[.wwwAuthenticate] = "Bearer realm=\"mnemo\""
        }
        return response
    }

    /// The wire form of an error.
    struct ErrorEnvelope: Encodable {
        struct Body: Encodable {
            let code: String
            let message: String
            let field: String?
        }
        let error: Body
    }
}
