// The error every authentication and authorization failure throws. It carries its HTTP status and a
// stable code, and renders itself as the server's JSON error body `{error: {code, message, field?}}`
// so that a failure thrown from the middleware, before any route runs, reaches the client in the same
// shape as the routes' own errors. 401s carry `WWW-Authenticate: Bearer` (RFC 6750 §3).

import Foundation
import Hummingbird

/// An authentication (401), authorization (403), bad token request (400) or key configuration
/// failure, with a stable ``code`` clients can match.
///
/// ```swift
/// do { try principal.authorize(space: "a", scope: .write) }
/// catch let error where error.code == .forbidden { ... }
/// ```
public struct AuthError: Error, Sendable, Equatable, HTTPResponseError {
    /// A stable, machine-readable reason. Extensible: new codes may be added.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The code as it appears in the JSON body.
        public let rawValue: String
        /// Creates a code from its JSON spelling.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// No credential, or one that is malformed, unsigned, tampered with, signed by an unknown
        /// key id or not the admin key (401).
        public static let unauthorized = Code(rawValue: "unauthorized")
        /// A well-signed token whose expiry has passed (401).
        public static let tokenExpired = Code(rawValue: "tokenExpired")
        /// A valid credential without the right: another space, a missing scope, or a route that
        /// needs the admin key (403).
        public static let forbidden = Code(rawValue: "forbidden")
        /// A token request with a bad field (400); ``AuthError/field`` names it.
        public static let invalidArgument = Code(rawValue: "invalidArgument")
        /// A key set or admin key that cannot be used (a start-up error, 500 if ever served).
        public static let invalidConfiguration = Code(rawValue: "invalidConfiguration")
        /// The code's JSON spelling.
        public var description: String { rawValue }
    }

    /// The HTTP status the error is served with.
    public let status: HTTPResponse.Status
    /// The stable reason.
    public let code: Code
    /// A human-readable explanation. Never contains a credential.
    public let message: String
    /// The request field at fault, for 400s.
    public let field: String?

    /// Creates an error; prefer the static constructors.
    public init(status: HTTPResponse.Status, code: Code, message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    /// 401 `unauthorized`.
    public static func unauthorized(_ message: String) -> AuthError {
        AuthError(status: .unauthorized, code: .unauthorized, message: message)
    }

    /// 401 `tokenExpired`.
    public static func tokenExpired(_ message: String) -> AuthError {
        AuthError(status: .unauthorized, code: .tokenExpired, message: message)
    }

    static let missingCredentialMessage = "missing credential: send Authorization: Bearer <admin key or token>"

    /// 401 `unauthorized` for a request without an `Authorization` header.
    public static var missingCredential: AuthError { .unauthorized(missingCredentialMessage) }

    /// 403 `forbidden`.
    public static func forbidden(_ message: String) -> AuthError {
        AuthError(status: .forbidden, code: .forbidden, message: message)
    }

    /// 400 `invalidArgument` naming `field`.
    public static func invalidArgument(_ message: String, field: String) -> AuthError {
        AuthError(status: .badRequest, code: .invalidArgument, message: message, field: field)
    }

    /// 500 `invalidConfiguration`: a key set or admin key the server cannot start with.
    public static func invalidConfiguration(_ message: String) -> AuthError {
        AuthError(status: .internalServerError, code: .invalidConfiguration, message: message)
    }

    private struct Body: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
            let field: String?
        }
        let error: Detail
    }

    /// The JSON error response; 401s add `WWW-Authenticate: Bearer`.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(
            Body(error: .init(code: code.rawValue, message: message, field: field)))
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if status == .unauthorized {
            // RFC 6750 §3.1: no error attribute when the request carried no credential at all.
            headers[.wwwAuthenticate] = message == AuthError.missingCredentialMessage
                ? "Bearer realm=\"mnemo\"" : "Bearer realm=\"mnemo\", error=\"invalid_token\""
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension AuthError: CustomStringConvertible {
    /// `forbidden: token is for space a, not b`.
    public var description: String {
        "\(code): \(message)" + (field.map { " (field \($0))" } ?? "")
    }
}
