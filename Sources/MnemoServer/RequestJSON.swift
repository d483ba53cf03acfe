// RequestJSON: reads and decodes a JSON request body under the configured size limit. The
// limit is checked against Content-Length before anything is read, and again while the body is
// collected (chunked uploads), so an oversized body is answered 413 without being held whole.
// A body that does not decode is answered 400 naming the field, before any engine call: a
// malformed body never changes anything.
import Foundation
import Hummingbird
import NIOCore

/// Decodes JSON request bodies with the server's limit.
enum RequestJSON {
    /// Throws 413 when the declared Content-Length is over `limit`.
    static func checkDeclaredLength(_ request: Request, limit: Int) throws(ServerError) {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw .payloadTooLarge(limit)
        }
    }

    /// The body, at most `limit` bytes (413 past it).
    static func collect(_ request: Request, limit: Int) async throws(ServerError) -> ByteBuffer {
        try checkDeclaredLength(request, limit: limit)
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw .payloadTooLarge(limit)
        } catch {
            throw .badRequest("the request body could not be read: \(error)")
        }
    }

    /// Decodes the body as `T`; 400 naming the field when it does not fit.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws(ServerError) -> T {
        let buffer = try await collect(request, limit: limit)
        return try decode(type, from: buffer)
    }

    /// Decodes `buffer` as `T`; 400 naming the field when it does not fit.
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws(ServerError) -> T {
        if buffer.readableBytes == 0 {
            throw .badRequest("a JSON request body is required")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw describe(error)
        } catch let error as ServerError {
            throw error
        } catch {
            throw .badRequest("the request body is not valid JSON: \(error)")
        }
    }

    /// The 400 of a decoding error, with the coding path as the field.
    static func describe(_ error: DecodingError) -> ServerError {
        func path(_ keys: [any CodingKey]) -> String? {
            var out = ""
            for key in keys {
                if let index = key.intValue {
                    out += "[\(index)]"
                } else {
                    out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return out.isEmpty ? nil : out
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return .badRequest("missing required field \(field ?? key.stringValue)", field: field)
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return .badRequest("wrong type at \(field ?? "the top level"): expected \(type)", field: field)
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return .badRequest("null at \(field ?? "the top level"): expected \(type)", field: field)
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            if field == nil {
                return .badRequest("the request body is not valid JSON")
            }
            return .badRequest("invalid value at \(field ?? ""): \(context.debugDescription)", field: field)
        @unknown default:
            return .badRequest("the request body does not decode")
        }
    }
}
