// JSONResponse: builds the JSON responses of every route with one encoder configuration
// (ISO 8601 dates with fractional seconds, sorted keys so responses are byte-stable for tests).
import Foundation
import Hummingbird

/// Encodes response values as JSON bodies.
enum JSONResponse {
    /// The shared encoder settings; a fresh encoder per call (JSONEncoder is not Sendable).
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(ServerDates.format(date))
        }
        return encoder
    }

    /// A response with `body` (JSON text written by JSONWriter) as its body.
    static func make(status: HTTPResponse.Status, body: ByteBuffer) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    /// A response with `value` encoded as its JSON body.
    static func make(status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let data: Data
        do {
            data = try encoder().encode(value)
        } catch {
            // Only non-finite floats can fail to encode; the engine never returns them.
            data = Data(#"{"error":{"code":"internal","message":"response encoding failed"}}"#.utf8)
            return Response(status: .internalServerError, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
