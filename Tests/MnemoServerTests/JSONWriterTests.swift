// JSONWriterTests: the hand-written JSON of the hot responses says what JSONEncoder said: the
// same members (parsed back, compared as values), floats that parse back to the same bits,
// strings with quotes, backslashes, every control character, and non-BMP scalars intact.
import Foundation
@testable import MnemoServer
import NIOCore
import Testing

@Suite("JSON writer")
struct JSONWriterTests {
    /// The parsed form of JSON text (Foundation's parser, independent of the writer).
    static func parse(_ buffer: ByteBuffer) throws -> NSObject {
        let object = try JSONSerialization.jsonObject(with: Data(buffer: buffer), options: [.fragmentsAllowed])
        return try #require(object as? NSObject)
    }

    static func encoded(_ value: some Encodable) throws -> NSObject {
        let data = try JSONResponse.encoder().encode(value)
        return try #require(try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? NSObject)
    }

    @Test("strings: quotes, backslashes, every control character, slashes and non-BMP scalars")
    func strings() throws {
        var all = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }.joined()
        all += "\"\\/ é 中 😀 \u{10FFFF} \u{7F} \u{2028} end"
        for text in [all, "", "plain", "\"", "\\", "\u{0}", "😀😀", "tail\n"] {
            var writer = JSONWriter()
            writer.string(text)
            #expect(try Self.parse(writer.buffer) as? String == text)
            let raw = String(buffer: writer.buffer)
            #expect(!raw.unicodeScalars.dropFirst().dropLast().contains { $0.value < 0x20 }, "raw control character")
        }
    }

    @Test("floats and doubles parse back to the same value; non-finite ones become null")
    func numbers() throws {
        var generator = SystemRandomNumberGenerator()
        let floats: [Float] = [0, -0, 1, -1, 0.1, 1e-7, 3.4028235e38, 1.17549435e-38, 1e-45, 123456.79]
            + (0..<500).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &generator)) }
        for value in floats where value.isFinite {
            var writer = JSONWriter()
            writer.floats([value, value])
            let parsed = try #require(try Self.parse(writer.buffer) as? [NSNumber])
            #expect(parsed.map { Float($0.doubleValue) } == [value, value], "\(value)")
        }
        for value in [0.1, 1e300, -2.5e-308, 5e-324, 9007199254740993.0] {
            var writer = JSONWriter()
            writer.double(value)
            #expect(try #require(try Self.parse(writer.buffer) as? NSNumber).doubleValue == value)
        }
        var writer = JSONWriter()
        writer.floats([.nan, .infinity])
        #expect(String(buffer: writer.buffer) == "[null,null]")
    }

    @Test("a hit, a recollection and a memory read say what JSONEncoder said")
    func memories() throws {
        var hit = MemoryOutput(id: "a/\"b\"\n😀")
        hit.distance = 0.25
        hit.score = 0.75
        hit.createdAt = Date(timeIntervalSince1970: 1_764_476_517.123)
        hit.setContent(Array("text\t\u{1}".utf8))
        hit.metadata = ["z": .int(-3), "a": .string("x\u{0}"), "n": .null, "d": .double(0.5), "b": .bool(true),
                        "l": .array([.string("1"), .int(2)]), "o": .object(["k": .string("v")])]
        hit.vector = [0.1, -2, 3.5e-9]
        var recollection = MemoryOutput(id: "r")
        recollection.activation = 0.5
        recollection.hops = 2
        recollection.setContent([0xFF, 0x00])
        recollection.vectorBase64 = "AAAA"
        for item in [hit, recollection, MemoryOutput(id: "")] {
            #expect(try Self.parse(item.body) == Self.encoded(item))
        }
        struct Hits: Encodable { var hits: [MemoryOutput] }
        #expect(try Self.parse(MemoryOutput.listBody("hits", [hit, recollection])) == Self.encoded(Hits(hits: [hit, recollection])))
        #expect(String(buffer: MemoryOutput.listBody("hits", [])) == #"{"hits":[]}"#)
        // Keys in JSONEncoder's sorted order, so responses stay byte-stable.
        #expect(String(buffer: recollection.body) == #"{"activation":0.5,"content":"/wA=","hops":2,"id":"r","vectorBase64":"AAAA"}"#)
    }
}
