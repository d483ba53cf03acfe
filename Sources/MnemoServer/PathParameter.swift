// PathParameter: path segments as routes receive them. Space names may contain `/` (tenant
// prefixes such as `tenant-7/notes`), so clients percent-encode them (`tenant-7%2Fnotes`); the
// router matches the raw segment and this decodes it.
import Foundation
import Hummingbird

/// Reads percent-encoded path parameters.
enum PathParameter {
    /// The decoded value of parameter `name`; 400 naming it when absent or badly encoded.
    static func decoded(_ name: String, in context: ServerContext) throws(ServerError) -> String {
        guard let raw = context.parameters.get(name) else {
            throw .badRequest("missing path parameter \(name)", field: name)
        }
        guard let value = decode(raw) else {
            throw .badRequest("path parameter \(name) is not valid percent-encoded UTF-8", field: name)
        }
        return value
    }

    /// The decoded text of a raw path segment; nil when it is empty or not valid
    /// percent-encoded UTF-8.
    static func decode(_ raw: String) -> String? {
        // Most names have no escape: skip Foundation's decoding (a CFString round trip) then.
        if !raw.isEmpty && !raw.utf8.contains(UInt8(ascii: "%")) { return raw }
        guard let value = raw.removingPercentEncoding, !value.isEmpty else { return nil }
        return value
    }

    /// The space name of the path.
    static func space(_ context: ServerContext) throws(ServerError) -> String {
        try decoded("space", in: context)
    }
}
