// SearchBodyScanner: the common search body, `{"vectorBase64": "...", "k": 10, "ef": 64}` with
// optional `include` and `vectorFormat`, read straight from its bytes. Foundation's JSONDecoder
// was the largest single cost of an HTTP search after the search itself and the socket writes
// (about 4% of the machine's CPU under wrk; docs/server.md, "Load test and figures"): it copies
// the body into Data, builds a map of the document and decodes through the Codable machinery.
//
// The scanner is an accelerator, not a second parser of record: it accepts only a strict subset
// of JSON and returns nil for anything else, and the caller then decodes with JSONDecoder, which
// answers every error. The subset: one object, whitespace as JSON defines it, each of the five
// members at most once (an unknown, repeated or `null` member: nil), strings of printable ASCII
// without escapes, integers of at most 18 digits without fraction or exponent, `include` an
// array of such strings, nothing after the object but whitespace. Every such body is valid JSON
// that JSONDecoder decodes to the same SearchRequest (SearchBodyScannerTests checks it against
// JSONDecoder on generated and mutated bodies).
import NIOCore

/// Reads the common search body without JSONDecoder; nil when the body needs it.
struct SearchBodyScanner {
    private let bytes: UnsafeRawBufferPointer
    private var at = 0

    private init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The request of `buffer`, or nil for JSONDecoder to decode (see the file's comment).
    static func scan(_ buffer: ByteBuffer) -> SearchRoutes.SearchRequest? {
        buffer.withUnsafeReadableBytes { bytes in
            var scanner = SearchBodyScanner(bytes)
            return scanner.body()
        }
    }

    private mutating func body() -> SearchRoutes.SearchRequest? {
        var request = SearchRoutes.SearchRequest()
        guard take(UInt8(ascii: "{")) else { return nil }
        if !take(UInt8(ascii: "}")) {
            repeat {
                // A member read once is set: a second one fails its `== nil`.
                guard let name = string(), take(UInt8(ascii: ":")) else { return nil }
                switch name {
                case "vectorBase64":
                    guard request.vectorBase64 == nil, let value = string() else { return nil }
                    request.vectorBase64 = value
                case "vectorFormat":
                    guard request.vectorFormat == nil, let value = string() else { return nil }
                    request.vectorFormat = value
                case "k":
                    guard request.k == nil, let value = integer() else { return nil }
                    request.k = value
                case "ef":
                    guard request.ef == nil, let value = integer() else { return nil }
                    request.ef = value
                case "include":
                    guard request.include == nil, let value = strings() else { return nil }
                    request.include = value
                default:
                    return nil
                }
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
        }
        skipWhitespace()
        return at == bytes.count ? request : nil
    }

    /// Skips whitespace, then consumes `byte` if it comes next.
    private mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard at < bytes.count, bytes[at] == byte else { return false }
        at += 1
        return true
    }

    private mutating func skipWhitespace() {
        while at < bytes.count {
            switch bytes[at] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): at += 1
            default: return
            }
        }
    }

    /// A string of printable ASCII without escapes.
    private mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = at
        while at < bytes.count {
            let byte = bytes[at]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                at += 1
                return text
            }
            guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
            at += 1
        }
        return nil
    }

    /// An integer: an optional minus, then `0` or up to 18 digits not starting with `0` (a
    /// fraction or exponent after it fails the caller's next `take`).
    private mutating func integer() -> Int? {
        skipWhitespace()
        var negative = false
        if at < bytes.count, bytes[at] == UInt8(ascii: "-") {
            negative = true
            at += 1
        }
        let start = at
        var value = 0
        while at < bytes.count, bytes[at] >= UInt8(ascii: "0"), bytes[at] <= UInt8(ascii: "9") {
            value = value * 10 + Int(bytes[at] - UInt8(ascii: "0"))
            at += 1
        }
        let digits = at - start
        guard digits >= 1, digits <= 18, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        return negative ? -value : value
    }

    /// An array of strings.
    private mutating func strings() -> [String]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var items: [String] = []
        if take(UInt8(ascii: "]")) { return items }
        repeat {
            guard let item = string() else { return nil }
            items.append(item)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? items : nil
    }
}
