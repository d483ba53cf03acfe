// JSONWriter: writes the hot responses (search hits, recollections, a memory read) as JSON into
// one byte array, handed over as a ByteBuffer at the end (one copy: appending to an array costs
// a capacity check, a ByteBuffer write an index and uniqueness dance per call, which was most
// of a search response's writing time). Foundation's JSONEncoder was 11% of the server's
// samples under a search load (docs/server.md, "Load test and figures"): it boxes every value
// into an intermediate tree, sorts keys at run time and copies through Data. The shapes written
// here are fixed, so keys are written in the sorted order JSONEncoder used (responses stay
// byte-stable), numbers with Swift's shortest round-trip `description` (valid JSON for every
// finite value), and strings escaped per RFC 8259: `"`, `\` and every control character below
// U+0020 escaped; everything else, non-BMP scalars included, written as its UTF-8 bytes (Swift
// strings are always valid UTF-8, and JSON text is UTF-8).
import Foundation
import NIOCore

/// Appends JSON text to a byte array.
struct JSONWriter {
    /// The text written so far.
    private(set) var bytes: [UInt8] = []
    /// Whether the next member or element of the innermost container needs a comma first.
    private var needsComma = false

    /// A writer with `capacity` bytes reserved.
    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// The text written so far, as a ByteBuffer.
    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    /// Opens an object (as a value: call `key` first inside another object).
    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    /// Closes the innermost object.
    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Opens an array.
    mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    /// Closes the innermost array.
    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes the comma an element needs before it (arrays: call before each element value).
    mutating func element() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = false
    }

    /// Writes `"name":` for a name known at compile time, which must need no escaping (the
    /// response shapes' own member names).
    mutating func key(_ name: StaticString) {
        element()
        bytes.append(UInt8(ascii: "\""))
        append(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes `"name":` for any name (metadata members), escaped.
    mutating func key(escaping name: String) {
        element()
        writeEscaped(name)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes a string value.
    mutating func string(_ value: String) {
        writeEscaped(value)
        needsComma = true
    }

    /// Writes a date as the RFC 3339 string of ServerDates.
    mutating func date(_ value: Date) {
        bytes.append(UInt8(ascii: "\""))
        ServerDates.write(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// Writes an integer value.
    mutating func int(_ value: some BinaryInteger) {
        appendUTF8(String(value))
        needsComma = true
    }

    /// Writes a float value in its shortest round-trip form; a non-finite value (which the
    /// engine never returns) as `null`, since JSON has no spelling for it.
    mutating func float(_ value: Float) {
        if value.isFinite { appendUTF8(value.description) } else { append("null") }
        needsComma = true
    }

    /// Writes a double value, as `float` does.
    mutating func double(_ value: Double) {
        if value.isFinite { appendUTF8(value.description) } else { append("null") }
        needsComma = true
    }

    /// Writes `true` or `false`.
    mutating func bool(_ value: Bool) {
        append(value ? "true" : "false")
        needsComma = true
    }

    /// Writes `null`.
    mutating func null() {
        append("null")
        needsComma = true
    }

    /// Writes an array of floats.
    mutating func floats(_ values: [Float]) {
        beginArray()
        for value in values {
            element()
            float(value)
        }
        endArray()
    }

    /// Writes any JSON value, object keys in sorted order.
    mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .int(let number): int(number)
        case .double(let number): double(number)
        case .string(let text): string(text)
        case .array(let items):
            beginArray()
            for item in items {
                element()
                self.value(item)
            }
            endArray()
        case .object(let members):
            object(members)
        }
    }

    /// Writes an object of JSON values, keys in sorted order.
    mutating func object(_ members: [String: JSONValue]) {
        beginObject()
        for name in members.keys.sorted() {
            key(escaping: name)
            // The key is present: sorted() came from the dictionary's own keys.
            value(members[name] ?? .null)
        }
        endObject()
    }

    private mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func appendUTF8(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Writes `text` as a quoted JSON string.
    private mutating func writeEscaped(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if start < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index])) }
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case 0x0A: append("\\n")
                case 0x0D: append("\\r")
                case 0x09: append("\\t")
                case 0x08: append("\\b")
                case 0x0C: append("\\f")
                default:
                    let hex: StaticString = "0123456789abcdef"
                    append("\\u00")
                    bytes.append(hex.utf8Start[Int(byte >> 4)])
                    bytes.append(hex.utf8Start[Int(byte & 0x0F)])
                }
            }
            if start < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
