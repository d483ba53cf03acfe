// SearchBodyScannerTests: the scanner of the common search body never disagrees with
// JSONDecoder: whatever it reads, JSONDecoder reads the same; whatever it leaves (nil),
// JSONDecoder decodes or refuses as the route always did. Checked on the common shapes (which
// it must read), on bodies generated from members it reads and members it leaves, and on
// every one-byte mutation of a few of them.
import Foundation
@testable import MnemoServer
import NIOCore
import Testing

@Suite("Search body scanner")
struct SearchBodyScannerTests {
    typealias Request = SearchRoutes.SearchRequest

    /// JSONDecoder's reading of `text`, nil when it refuses it.
    static func decoded(_ text: String) -> Request? {
        try? JSONDecoder().decode(Request.self, from: Data(text.utf8))
    }

    static func scanned(_ text: String) -> Request? {
        SearchBodyScanner.scan(ByteBuffer(string: text))
    }

    /// Fails unless the scanner left `text` or read it as JSONDecoder does; true when it read it.
    @discardableResult
    static func agrees(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard let scanned = scanned(text) else { return false }
        #expect(decoded(text) == scanned, "scanner and JSONDecoder differ on \(text)", sourceLocation: sourceLocation)
        return true
    }

    static let base64 = Data((0..<16).map { UInt8($0 * 13) }).base64EncodedString()

    @Test("the common shapes are read, as JSONDecoder reads them")
    func commonShapes() {
        let bodies = [
            #"{"vectorBase64":"\#(Self.base64)","k":10,"ef":64}"#,
            #"{"vectorBase64": "\#(Self.base64)", "k": 10}"#,
            " {\n\t\"k\" : 5 ,\r\n \"vectorBase64\":\"\(Self.base64)\" } \n",
            #"{"vectorBase64":"\#(Self.base64)","include":["content","metadata"],"vectorFormat":"base64"}"#,
            #"{"vectorBase64":"\#(Self.base64)","include":[]}"#,
            #"{"k":-0,"ef":0}"#,
            #"{}"#,
            #"{"vectorBase64":"","include":["nope"],"k":999999999999999999}"#,
        ]
        for body in bodies {
            #expect(Self.agrees(body), "not read: \(body)")
        }
        let read = Self.scanned(#"{"vectorBase64":"\#(Self.base64)","k":10,"ef":64}"#)
        #expect(read == Request(vectorBase64: Self.base64, k: 10, ef: 64))
    }

    @Test("what it leaves is left whole, for JSONDecoder")
    func leftToJSONDecoder() {
        let bodies = [
            #"{"vector":[1,2,3],"k":10}"#, // arrays of numbers
            #"{"vectorBase64":"\#(Self.base64)","filter":{"tag":"a"}}"#, // filters
            #"{"k":10.0}"#, #"{"k":1e1}"#, #"{"k":01}"#, #"{"k":1234567890123456789}"#, #"{"k":null}"#,
            #"{"k":"10"}"#, #"{"k":-}"#, #"{"k":10,"k":11}"#, #"{"vectorBase64":"a\/b"}"#,
            #"{"vectorBase64":"é"}"#, "{\"vectorBase64\":\"a\u{1}\"}", #"{"other":1}"#, #"{"k":10}x"#,
            #"{"k":10,}"#, #"{,"k":10}"#, #"{"k" 10}"#, #"["k"]"#, "", " ", #"{"k":10"#, #"{"include":["a",]}"#,
            #"{"include":"content"}"#, #"{"include":[1]}"#, #"{"vectorFormat":true}"#,
        ]
        for body in bodies {
            #expect(Self.scanned(body) == nil, "read: \(body)")
        }
    }

    @Test("generated bodies: every one read is read as JSONDecoder reads it")
    func generated() {
        var random = SystemRandomNumberGenerator()
        let members: [(String, [String])] = [
            ("vectorBase64", ["\"\(Self.base64)\"", "\"\"", "\"a\\/b\"", "null", "7"]),
            ("k", ["10", "0", "-3", "18", "999999999999999999", "1.5", "1e3", "01", "null", "\"10\""]),
            ("ef", ["64", "1", "-0", "32768", "2.0"]),
            ("include", ["[]", "[\"content\"]", "[\"content\",\"metadata\",\"vector\"]", "[ \"x\" , \"y\" ]", "[1]", "null"]),
            ("vectorFormat", ["\"base64\"", "\"array\"", "\"\"", "false"]),
            ("filter", ["{}", "{\"a\":1}", "null"]),
            ("vector", ["[1,2]", "[]"]),
        ]
        let spaces = ["", " ", "\n", "\t ", "\r\n"]
        var read = 0
        for _ in 0..<4000 {
            var parts: [String] = []
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                let (name, values) = members.randomElement(using: &random)!
                let space = spaces.randomElement(using: &random)!
                parts.append("\(space)\"\(name)\"\(space):\(space)\(values.randomElement(using: &random)!)\(space)")
            }
            let outer = spaces.randomElement(using: &random)!
            let body = outer + "{" + parts.joined(separator: ",") + "}" + outer
            if Self.agrees(body) { read += 1 }
        }
        #expect(read > 200, "the generator should give many bodies the scanner reads (read \(read))")
    }

    @Test("every one-byte mutation of a body: read as JSONDecoder reads it, or left")
    func mutations() {
        let bodies = [
            #"{"vectorBase64":"QUJD","k":10,"ef":64}"#,
            #"{ "include": ["content"], "k": -12 }"#,
        ]
        let alphabet = Array(#"{}[]":,-.0123456789eE \"\/nulltruefalsekQ"#.utf8) + [0x01, 0xC3]
        for body in bodies {
            let bytes = Array(body.utf8)
            for index in bytes.indices {
                Self.agrees(String(decoding: bytes[..<index] + bytes[(index + 1)...], as: UTF8.self)) // deleted
                for byte in alphabet {
                    var replaced = bytes
                    replaced[index] = byte
                    Self.agrees(String(decoding: replaced, as: UTF8.self))
                    var inserted = bytes
                    inserted.insert(byte, at: index)
                    Self.agrees(String(decoding: inserted, as: UTF8.self))
                }
            }
        }
    }
}
