// JSONWriter: writes the hot responses (search hits, recollections, a memory read) as JSON
// straight into a ByteBuffer. Foundation's JSONEncoder was 11% of the server's samples under a
// search load (docs/server.md, "Load test and figures"): it boxes every value into an
// intermediate tree, sorts keys at run time and copies through Data. The shapes written here
// are fixed, so keys are written in the sorted order JSONEncoder used (responses stay
// byte-stable), numbers with Swift's shortest round-trip `description` (valid JSON for every
// finite value), and strings escaped per RFC 8259: `"`, `\` and every control character below
// U+0020 escaped; everything else, non-BMP scalars included, written as its UTF-8 bytes
// (Swift strings are always valid UTF-8, and JSON text is UTF-8).
import Foundation
import NIOCore

/// Appends JSON text to a ByteBuffer.
struct JSONWriter {
    /// The text written so far.
    var buffer: ByteBuffer
    /// Whether the next member or element of the innermost container needs a comma first.
    private var needsComma = false

    /// A writer with `capacity` bytes reserved.
    init(capacity: Int = 256) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Opens an object (as a value: call `key` first inside another object).
    mutating func beginObject() {
        buffer.writeInteger(UInt8(ascii: "{"))
        needsComma = false
    }

    /// Closes the innermost object.
    mutating func endObject() {
        buffer.writeInteger(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Opens an array.
    mutating func beginArray() {
        buffer.writeInteger(UInt8(ascii: "["))
        needsComma = false
    }

    /// Closes the innermost array.
    mutating func endArray() {
        buffer.writeInteger(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes the comma an element needs before it (arrays: call before each element value).
    mutating func element() {
        if needsComma { buffer.writeInteger(UInt8(ascii: ",")) }
        needsComma = false
    }

    /// Writes `"name":` (with the comma a previous member needs).
    mutating func key(_ name: String) {
        element()
        writeEscaped(name)
        buffer.writeInteger(UInt8(ascii: ":"))
    }

    /// Writes a string value.
    mutating func string(_ value: String) {
        writeEscaped(value)
        needsComma = true
    }

    /// Writes an integer value.
    mutating func int(_ value: some BinaryInteger) {
        buffer.writeString(String(value))
        needsComma = true
    }

    /// Writes a float value in its shortest round-trip form; a non-finite value (which the
    /// engine never returns) as `null`, since JSON has no spelling for it.
    mutating func float(_ value: Float) {
        if value.isFinite { buffer.writeString(value.description) } else { buffer.writeStaticString("null") }
        needsComma = true
    }

    /// Writes a double value, as `float` does.
    mutating func double(_ value: Double) {
        if value.isFinite { buffer.writeString(value.description) } else { buffer.writeStaticString("null") }
        needsComma = true
    }

    /// Writes `true` or `false`.
    mutating func bool(_ value: Bool) {
        buffer.writeStaticString(value ? "true" : "false")
        needsComma = true
    }

    /// Writes `null`.
    mutating func null() {
        buffer.writeStaticString("null")
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
            key(name)
            // The key is present: sorted() came from the dictionary's own keys.
            value(members[name] ?? .null)
        }
        endObject()
    }

    /// Writes `text` as a quoted JSON string.
    private mutating func writeEscaped(_ text: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if start < index { buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start..<index]))) }
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                case 0x08: buffer.writeStaticString("\\b")
                case 0x0C: buffer.writeStaticString("\\f")
                default:
                    let hex: StaticString = "0123456789abcdef"
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(hex.utf8Start[Int(byte >> 4)])
                    buffer.writeInteger(hex.utf8Start[Int(byte & 0x0F)])
                }
            }
            if start < bytes.count { buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]))) }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
