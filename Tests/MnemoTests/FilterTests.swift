// Proves the Swift Filter builder and its JSON: each operator renders to the form of
// docs/filters.md ("Filter JSON") exactly (shorthand $eq, flattened $and/$or, escapes, numbers,
// dates as nanoseconds); 3,000 random filters built with every operator, operand type and
// combinator, with awkward field names and strings, all parse in the C core (mn_filter_parse)
// and parse back to the same text; Filter(json:) accepts what the C parser accepts and turns
// every refusal (bad JSON, unknown operator, operand type, bad date, depth 17 by $not, $and and
// $or, a long name, a non-finite operand) into `.invalidFilter` naming the field, the offset and
// the C status.
import Foundation
@testable import Mnemo
import Testing

@Suite struct FilterTests {
    @Test func operatorsRenderTheDocumentedJSON() {
        let kind = Filter.field("kind")
        let cases: [(Filter, String)] = [
            (Filter.all, "{}"),
            (kind == "fact", #"{"kind":"fact"}"#),
            (kind != "chat", #"{"kind":{"$ne":"chat"}}"#),
            (Filter.field("n") < 3, #"{"n":{"$lt":3}}"#),
            (Filter.field("n") <= Int64(-9_223_372_036_854_775_808), #"{"n":{"$lte":-9223372036854775808}}"#),
            (Filter.field("s") > 0.5, #"{"s":{"$gt":0.5}}"#),
            (Filter.field("s") >= 1e300, #"{"s":{"$gte":1e+300}}"#),
            (Filter.field("p") == true, #"{"p":true}"#),
            (Filter.createdAt >= Date(timeIntervalSince1970: 1.5), #"{"createdAt":{"$gte":1500000000}}"#),
            (Filter.createdAt < Date.distantFuture, #"{"createdAt":{"$lt":9223372036854775807}}"#),
            (Filter.id.in(["m1", "m7"]), #"{"id":{"$in":["m1","m7"]}}"#),
            (kind.notIn(["chat", "mail"]), #"{"kind":{"$nin":["chat","mail"]}}"#),
            (kind.in([1, "one", 2.5, false] as [Filter.Operand]), #"{"kind":{"$in":[1,"one",2.5,false]}}"#),
            (kind.in([String]()), #"{"kind":{"$in":[]}}"#),
            (Filter.field("tags").contains("x"), #"{"tags":{"$contains":"x"}}"#),
            (Filter.field("title").containsIgnoringCase("Travel"), #"{"title":{"$icontains":"Travel"}}"#),
            (Filter.field("score").exists, #"{"score":{"$exists":true}}"#),
            (Filter.field("score").missing, #"{"score":{"$exists":false}}"#),
            (!(kind == "fact"), #"{"$not":{"kind":"fact"}}"#),
            (kind == "fact" && Filter.field("n") > 2, #"{"$and":[{"kind":"fact"},{"n":{"$gt":2}}]}"#),
            (kind == "a" && kind == "b" && kind == "c", #"{"$and":[{"kind":"a"},{"kind":"b"},{"kind":"c"}]}"#),
            (kind == "a" || kind == "b" || kind == "c", #"{"$or":[{"kind":"a"},{"kind":"b"},{"kind":"c"}]}"#),
            ((kind == "a" || kind == "b") && kind.exists,
             #"{"$and":[{"$or":[{"kind":"a"},{"kind":"b"}]},{"kind":{"$exists":true}}]}"#),
            (Filter.all && kind == "a", #"{"kind":"a"}"#),
            (kind == "a" && Filter.all, #"{"kind":"a"}"#),
            (kind == "a" || Filter.all, "{}"),
            (Filter.field("a\"b\\c") == "line\nfeed\t\u{1}é", #"{"a\"b\\c":"line\nfeed\t\u0001é"}"#),
        ]
        for (filter, json) in cases {
            #expect(filter.json == json)
            #expect(filter.description == json)
            #expect(throws: Never.self, "\(json)") { try filter.validate() }
        }
        #expect((kind == "fact") == (kind == "fact"))
        #expect((kind == "fact") != (kind == "chat"))
        let lastWeek = Date().addingTimeInterval(-7 * 86_400)
        let built = Filter.field("kind") == "fact" && Filter.createdAt >= lastWeek
        #expect(built.json.hasPrefix(#"{"$and":[{"kind":"fact"},{"createdAt":{"$gte":"#))
        // The example of docs/filters.md, "Swift API".
        let documented = Filter.field("kind") == "fact" && Filter.createdAt >= lastWeek
            && (Filter.field("tags").contains("travel") || Filter.field("title").containsIgnoringCase("paris"))
            && !Filter.id.in(["m7", "m9"]) && Filter.field("score").exists
        #expect(throws: Never.self) { try documented.validate() }
        #expect(documented.json.hasSuffix(#"{"$or":[{"tags":{"$contains":"travel"}},{"title":{"$icontains":"paris"}}]},"#
            + #"{"$not":{"id":{"$in":["m7","m9"]}}},{"score":{"$exists":true}}]}"#))
    }

    /// A small deterministic generator (the tests' LCG).
    struct Generator {
        var state: UInt64
        /// Nodes made for the current filter: past 150 only leaves follow, so a filter stays far
        /// below the 1024-node and 64 KiB limits whatever the draws.
        var nodes = 0
        init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

        static let names = ["kind", "n", "score", "tags", "a b", "quo\"te", "back\\slash", "tab\tname", "é",
                            "東京", "emoji🚀", String(repeating: "x", count: 64), "id2", "createdAtX", "_"]
        static let strings = ["", "fact", "with \"quotes\"", "back\\slash", "ctl\u{1}\u{1f}\n\r\t", "Zürich",
                              "🚀", String(repeating: "long", count: 20), "$not", "{}", "\u{7f}"]

        mutating func string() -> String { pick(Self.strings) }

        mutating func number() -> Filter.Operand {
            switch below(5) {
            case 0: return .int(pick([0, 1, -1, Int64.max, Int64.min, 1 << 53 + 1]))
            case 1: return .int(Int64(bitPattern: next() &* 2654435761))
            case 2: return .double(pick([0.5, -0.0, 1e-300, Double.leastNonzeroMagnitude, 1.7976931348623157e308, -2.5e10, 3.0]))
            default:
                let double = Double(bitPattern: next() &* 0x9E37_79B9)
                return .double(double.isFinite ? double : 1.25)
            }
        }

        mutating func date() -> Filter.Operand {
            // 1700 ... 2200, in nanoseconds well inside the int64 range.
            let seconds = -8_520_336_000.0 + Double(below(1_000_000)) * 15_778.0 + Double(below(1000)) / 1000
            return .date(Date(timeIntervalSince1970: seconds))
        }

        mutating func operand() -> Filter.Operand {
            switch below(4) {
            case 0: return .string(string())
            case 1: return number()
            case 2: return .bool(below(2) == 0)
            default: return date()
            }
        }

        /// A condition the C parser must accept: operand types respect each operator and field.
        mutating func condition() -> Filter {
            switch below(10) {
            case 0, 1: // id: string operands only, every operator
                let id = Filter.id
                switch below(6) {
                case 0: return id == string()
                case 1: return id != string()
                case 2: return pick([id < string(), id <= string(), id > string(), id >= string()])
                case 3: return id.in((0..<below(4)).map { _ in string() })
                case 4: return id.notIn((0..<below(4)).map { _ in string() })
                default: return below(2) == 0 ? id.contains(string()) : id.containsIgnoringCase(string())
                }
            case 2: // createdAt: integers or dates, no contains
                let created = Filter.createdAt
                let value: Filter.Operand = below(2) == 0 ? date() : .int(Int64(bitPattern: next()))
                switch below(8) {
                case 0: return created == value
                case 1: return created != value
                case 2: return created < value
                case 3: return created <= value
                case 4: return created > value
                case 5: return created >= value
                case 6: return created.in((0..<below(4)).map { _ in date() })
                default: return created.notIn((0..<below(4)).map { _ in date() })
                }
            default:
                let field = Filter.field(pick(Self.names))
                switch below(12) {
                case 0: return field == operand()
                case 1: return field != operand()
                case 2: return field < (below(2) == 0 ? number() : .string(string()))
                case 3: return field <= (below(2) == 0 ? number() : .string(string()))
                case 4: return field > (below(2) == 0 ? number() : .string(string()))
                case 5: return field >= (below(2) == 0 ? number() : date())
                case 6: return field.in((0..<below(5)).map { _ in operand() })
                case 7: return field.notIn((0..<below(5)).map { _ in operand() })
                case 8: return field.contains(string())
                case 9: return field.containsIgnoringCase(string())
                case 10: return field.exists
                default: return field.missing
                }
            }
        }

        /// A filter at most `depth` levels deep (the root is level 1).
        mutating func filter(depth: Int) -> Filter {
            nodes += 1
            if depth <= 1 || nodes > 150 || below(3) == 0 {
                return below(20) == 0 ? Filter.all : condition()
            }
            switch below(3) {
            case 0: return !filter(depth: depth - 1)
            case 1: return (0..<(2 + below(3))).map { _ in filter(depth: depth - 1) }.reduce(Filter.all, &&)
            default:
                return (0..<(2 + below(3))).map { _ in filter(depth: depth - 1) }
                    .dropFirst().reduce(filter(depth: depth - 1), ||)
            }
        }
    }

    @Test func everyBuiltFilterParsesInC() throws {
        var generator = Generator(seed: 11)
        var lengths = 0
        for round in 0..<3_000 {
            generator.nodes = 0
            let filter = generator.filter(depth: 1 + round % 16)
            let json = filter.json
            lengths += json.utf8.count
            do {
                try filter.validate()
                let parsed = try Filter(json: json)
                #expect(parsed.json == json)
                _ = try parsed.compiled()
            } catch {
                Issue.record("round \(round): \(error) for \(json)")
            }
        }
        #expect(lengths > 100_000, "the generator made only \(lengths) bytes of filters")
    }

    @Test func parsedTextIsKeptAndCombines() throws {
        let text = #" {"kind": {"$in": ["fact", "preference"]}, "createdAt": {"$gte": "2026-11-01T00:00:00Z"}} "#
        let parsed = try Filter(json: text)
        #expect(parsed.json == text)
        let combined = parsed && Filter.field("n") > 1
        #expect(combined.json == #"{"$and":["# + text + #",{"n":{"$gt":1}}]}"#)
        try combined.validate()
        try (!parsed || Filter.all).validate()
        #expect(try Filter(json: "{}").json == "{}")
        try (!Filter.all).validate()
    }

    func expectInvalid(_ json: String, field: String?, status: MnemoError.Code = .invalidArgument, offset: Int? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try Filter(json: json)
            Issue.record("accepted \(json)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == .invalidFilter, "\(error)", sourceLocation: sourceLocation)
            #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
            #expect(error.status == status, "\(error)", sourceLocation: sourceLocation)
            #expect(error.reason?.isEmpty == false, sourceLocation: sourceLocation)
            #expect(error.offset != nil, sourceLocation: sourceLocation)
            if let offset { #expect(error.offset == offset, "\(error)", sourceLocation: sourceLocation) }
        }
    }

    @Test func malformedFiltersAreTypedErrors() {
        expectInvalid(#"{"kind": }"#, field: "kind", offset: 9)
        expectInvalid(#"{"kind": "fact",}"#, field: "kind", offset: 16)
        expectInvalid("", field: nil)
        expectInvalid("[]", field: nil)
        expectInvalid(#"{"kind": {"$regex": "x"}}"#, field: "kind")
        expectInvalid(#"{"n": {"$gt": true}}"#, field: "n")
        expectInvalid(#"{"n": null}"#, field: "n")
        expectInvalid(#"{"id": 5}"#, field: "id")
        expectInvalid(#"{"createdAt": {"$gte": "2026-11-01"}}"#, field: "createdAt")
        expectInvalid(#"{"createdAt": {"$contains": "x"}}"#, field: "createdAt")
        expectInvalid(#"{"$and": []}"#, field: "$and")
        expectInvalid(#"{"a": 1, "a": 2}"#, field: "a")
        let long = String(repeating: "n", count: 65)
        expectInvalid("{\"" + long + "\": 1}", field: long, status: .tooLarge, offset: 1)
    }

    @Test func depthSeventeenIsRefused() throws {
        func nots(_ count: Int) -> String {
            String(repeating: #"{"$not":"#, count: count) + #"{"k":1}"# + String(repeating: "}", count: count)
        }
        func chain(_ op: String, _ count: Int) -> String {
            String(repeating: "{\"\(op)\":[", count: count) + #"{"k":1}"# + String(repeating: "]}", count: count)
        }
        // Depth 16 (15 operators around a condition) is accepted, depth 17 is not.
        _ = try Filter(json: nots(15))
        _ = try Filter(json: chain("$and", 15))
        _ = try Filter(json: chain("$or", 15))
        expectInvalid(nots(16), field: "$not", status: .tooLarge)
        expectInvalid(chain("$and", 16), field: "$and", status: .tooLarge)
        expectInvalid(chain("$or", 16), field: "$or", status: .tooLarge)

        // The same through the builder: fifteen `!` parse, sixteen throw on use.
        var filter = Filter.field("k") == 1
        for _ in 0..<15 { filter = !filter }
        try filter.validate()
        filter = !filter
        do {
            try filter.validate()
            Issue.record("depth 17 accepted")
        } catch {
            #expect(error.code == .invalidFilter && error.status == .tooLarge, "\(error)")
            #expect(error.field == "$not", "\(error)")
        }
    }

    @Test func invalidBuiltFiltersThrowWhenUsed() {
        for (filter, field, status) in [
            (Filter.field("s") > Double.nan, "s", MnemoError.Code.invalidArgument),
            (Filter.field("s") == -Double.infinity, "s", .invalidArgument),
            (Filter.field("s").in([1, Double.infinity]), "s", .invalidArgument),
            (Filter.id == 5, "id", .invalidArgument),
            (Filter.field("p") > true, "p", .invalidArgument),
            (Filter.field(String(repeating: "x", count: 65)) == 1, nil, .tooLarge),
        ] as [(Filter, String?, MnemoError.Code)] {
            do {
                try filter.validate()
                Issue.record("accepted \(filter.json)")
            } catch {
                #expect(error.code == .invalidFilter, "\(error)")
                #expect(error.status == status, "\(error)")
                if let field { #expect(error.field == field, "\(error)") }
            }
        }
    }
}
