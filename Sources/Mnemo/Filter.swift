import Foundation

/// A filter on memories: conditions on their metadata fields and on the built-in fields
/// ``id`` and ``createdAt``, combined with `&&`, `||` and `!`.
///
/// A filter is an immutable value. Build it with operators, or parse it from the JSON form the
/// C core and the HTTP server take (docs/filters.md, "Filter JSON"):
///
/// ```swift
/// let filter = Filter.field("kind") == "fact" && Filter.createdAt >= lastWeek
///     && (Filter.field("tags").contains("travel") || !Filter.field("source").in(["chat", "mail"]))
/// print(filter.json)
/// let same = try Filter(json: #"{"kind": "fact", "tags": {"$contains": "travel"}}"#)
/// ```
///
/// A built filter is checked by the C parser when it is used (or by ``validate()``): a field
/// name no document can have, a NaN or infinite operand, nesting deeper than 16 or more than
/// 1024 conditions throw ``MnemoError/Code/invalidFilter`` naming the field.
public struct Filter: Sendable, Hashable, CustomStringConvertible {
    /// A value a condition compares with (see ``FilterOperand`` for the Swift types that make one).
    ///
    /// ```swift
    /// let operands: [Filter.Operand] = ["fact", 3, 0.5, true]
    /// ```
    public enum Operand: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
        ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral {
        /// A string.
        ///
        /// ```swift
        /// let kind: Filter.Operand = .string("fact")
        /// ```
        case string(String)
        /// A 64-bit integer.
        ///
        /// ```swift
        /// let priority: Filter.Operand = .int(3)
        /// ```
        case int(Int64)
        /// A finite double.
        ///
        /// ```swift
        /// let score: Filter.Operand = .double(0.5)
        /// ```
        case double(Double)
        /// A bool.
        ///
        /// ```swift
        /// let pinned: Filter.Operand = .bool(true)
        /// ```
        case bool(Bool)
        /// A time, rendered as integer nanoseconds since 1970.
        ///
        /// ```swift
        /// let since: Filter.Operand = .date(Date(timeIntervalSince1970: 0))
        /// ```
        case date(Date)

        /// A string operand from a literal.
        ///
        /// ```swift
        /// let kind: Filter.Operand = "fact"
        /// ```
        public init(stringLiteral value: String) { self = .string(value) }

        /// An integer operand from a literal.
        ///
        /// ```swift
        /// let priority: Filter.Operand = 3
        /// ```
        public init(integerLiteral value: Int64) { self = .int(value) }

        /// A double operand from a literal.
        ///
        /// ```swift
        /// let score: Filter.Operand = 0.5
        /// ```
        public init(floatLiteral value: Double) { self = .double(value) }

        /// A bool operand from a literal.
        ///
        /// ```swift
        /// let pinned: Filter.Operand = true
        /// ```
        public init(booleanLiteral value: Bool) { self = .bool(value) }
    }

    /// A field a condition is on: a metadata field (``Filter/field(_:)``) or a built-in one
    /// (``Filter/id``, ``Filter/createdAt``). Its operators and methods make filters.
    ///
    /// ```swift
    /// let kind = Filter.field("kind")
    /// let filter = kind == "fact" || kind.missing
    /// ```
    public struct Field: Sendable, Hashable {
        /// The field's name.
        ///
        /// ```swift
        /// print(Filter.field("kind").name)   // kind
        /// ```
        public let name: String

        /// A field by name (``Filter/field(_:)`` reads better).
        ///
        /// ```swift
        /// let kind = Filter.Field("kind")
        /// ```
        public init(_ name: String) { self.name = name }
    }

    /// The field operators, by their JSON names.
    enum Operator: String, Sendable, Hashable {
        case eq = "$eq", ne = "$ne", lt = "$lt", lte = "$lte", gt = "$gt", gte = "$gte"
        case isIn = "$in", notIn = "$nin", contains = "$contains", icontains = "$icontains"
    }

    /// The filter's tree. `.json` holds a text parsed by ``Filter/init(json:)`` verbatim.
    indirect enum Node: Sendable, Hashable {
        case all
        case condition(field: String, op: Operator, operand: Operand)
        case list(field: String, op: Operator, operands: [Operand])
        case exists(field: String, Bool)
        case and([Node])
        case or([Node])
        case not(Node)
        case json(String)
    }

    let node: Node

    init(_ node: Node) { self.node = node }

    /// The filter that matches every memory (`{}`).
    ///
    /// ```swift
    /// var filter = Filter.all
    /// if let kind { filter = filter && Filter.field("kind") == kind }
    /// ```
    public static let all = Filter(.all)

    /// A metadata field, by name.
    ///
    /// ```swift
    /// let facts = Filter.field("kind") == "fact"
    /// ```
    public static func field(_ name: String) -> Field { Field(name) }

    /// The built-in id of every memory (string operands; ordered bytewise).
    ///
    /// ```swift
    /// let some = Filter.id.in(["m1", "m7"])
    /// ```
    public static let id = Field("id")

    /// The built-in creation time of every memory (``Date`` or integer nanosecond operands).
    ///
    /// ```swift
    /// let recent = Filter.createdAt >= Date().addingTimeInterval(-3600)
    /// ```
    public static let createdAt = Field("createdAt")

    /// Parses and checks a filter's JSON text with the C core's parser.
    ///
    /// ```swift
    /// let filter = try Filter(json: #"{"kind": {"$in": ["fact", "preference"]}}"#)
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/invalidFilter`` with the field (or logical operator), the
    ///   byte offset and the reason (``MnemoError/status`` ``MnemoError/Code/tooLarge`` for
    ///   a limit: over 64 KiB, nested deeper than 16, over 1024 conditions, a name over 64
    ///   bytes); ``MnemoError/Code/outOfMemory``.
    public init(json: String) throws(MnemoError) {
        try CCore.checkFilter(json)
        node = .json(json)
    }

    /// The filter's JSON text: for a built filter its canonical rendering (keys in the order
    /// built, no spaces, `$eq` written as the shorthand `{"field": value}`, `&&` and `||`
    /// flattened into one `$and` / `$or`); for a parsed one, the text it was parsed from.
    ///
    /// ```swift
    /// print((Filter.field("kind") == "fact" && Filter.field("n") > 2).json)
    /// // {"$and":[{"kind":"fact"},{"n":{"$gt":2}}]}
    /// ```
    public var json: String {
        var out = ""
        Self.render(node, into: &out)
        return out
    }

    /// The JSON text (``json``).
    ///
    /// ```swift
    /// print(Filter.field("kind") == "fact")   // {"kind":"fact"}
    /// ```
    public var description: String { json }

    /// Checks the filter with the C core's parser, as a search taking it would.
    ///
    /// ```swift
    /// try (Filter.field("score") > Double.nan).validate()   // throws .invalidFilter
    /// ```
    ///
    /// - Throws: the errors of ``init(json:)``.
    public func validate() throws(MnemoError) {
        try CCore.checkFilter(json)
    }

    /// The filter compiled by the C core, for the engine calls that take one.
    func compiled() throws(MnemoError) -> CompiledFilter {
        try CCore.compileFilter(json)
    }
}

// MARK: - Combining

extension Filter {
    /// Both filters hold. `&&` chains flatten into one `$and`; ``all`` is its identity.
    ///
    /// ```swift
    /// let filter = Filter.field("kind") == "fact" && Filter.field("pinned") == true
    /// ```
    public static func && (lhs: Filter, rhs: Filter) -> Filter {
        switch (lhs.node, rhs.node) {
        case (.all, _): rhs
        case (_, .all): lhs
        case (.and(let a), .and(let b)): Filter(.and(a + b))
        case (.and(let a), let b): Filter(.and(a + [b]))
        case (let a, .and(let b)): Filter(.and([a] + b))
        case (let a, let b): Filter(.and([a, b]))
        }
    }

    /// At least one filter holds. `||` chains flatten into one `$or`; ``all`` absorbs.
    ///
    /// ```swift
    /// let filter = Filter.field("kind") == "fact" || Filter.field("kind") == "preference"
    /// ```
    public static func || (lhs: Filter, rhs: Filter) -> Filter {
        switch (lhs.node, rhs.node) {
        case (.all, _), (_, .all): .all
        case (.or(let a), .or(let b)): Filter(.or(a + b))
        case (.or(let a), let b): Filter(.or(a + [b]))
        case (let a, .or(let b)): Filter(.or([a] + b))
        case (let a, let b): Filter(.or([a, b]))
        }
    }

    /// The filter does not hold (`$not`; each `!` is one level of nesting).
    ///
    /// ```swift
    /// let notChat = !(Filter.field("source") == "chat")
    /// ```
    public static prefix func ! (filter: Filter) -> Filter {
        Filter(.not(filter.node))
    }
}

// MARK: - Conditions

extension Filter.Field {
    /// The field equals the value (`$eq`; numbers compare numerically, `5 == 5.0`).
    ///
    /// ```swift
    /// let facts = Filter.field("kind") == "fact"
    /// ```
    public static func == <Value: FilterOperand>(field: Filter.Field, value: Value) -> Filter {
        Filter(.condition(field: field.name, op: .eq, operand: value.filterOperand))
    }

    /// The field does not equal the value, or is absent, or of another type (`$ne`).
    ///
    /// ```swift
    /// let notChat = Filter.field("source") != "chat"
    /// ```
    public static func != <Value: FilterOperand>(field: Filter.Field, value: Value) -> Filter {
        Filter(.condition(field: field.name, op: .ne, operand: value.filterOperand))
    }

    /// The field is ordered before the value (`$lt`; numbers, or strings bytewise).
    ///
    /// ```swift
    /// let low = Filter.field("priority") < 2
    /// ```
    public static func < <Value: FilterOperand>(field: Filter.Field, value: Value) -> Filter {
        Filter(.condition(field: field.name, op: .lt, operand: value.filterOperand))
    }

    /// The field is ordered at or before the value (`$lte`).
    ///
    /// ```swift
    /// let old = Filter.createdAt <= cutoff
    /// ```
    public static func <= <Value: FilterOperand>(field: Filter.Field, value: Value) -> Filter {
        Filter(.condition(field: field.name, op: .lte, operand: value.filterOperand))
    }

    /// The field is ordered after the value (`$gt`).
    ///
    /// ```swift
    /// let urgent = Filter.field("priority") > 3
    /// ```
    public static func > <Value: FilterOperand>(field: Filter.Field, value: Value) -> Filter {
        Filter(.condition(field: field.name, op: .gt, operand: value.filterOperand))
    }

    /// The field is ordered at or after the value (`$gte`).
    ///
    /// ```swift
    /// let recent = Filter.createdAt >= lastWeek
    /// ```
    public static func >= <Value: FilterOperand>(field: Filter.Field, value: Value) -> Filter {
        Filter(.condition(field: field.name, op: .gte, operand: value.filterOperand))
    }

    /// The field equals one of the values (`$in`; an empty list matches nothing).
    ///
    /// ```swift
    /// let kinds = Filter.field("kind").in(["fact", "preference"])
    /// ```
    public func `in`<Values: Sequence>(_ values: Values) -> Filter where Values.Element: FilterOperand {
        Filter(.list(field: name, op: .isIn, operands: values.map(\.filterOperand)))
    }

    /// The field equals none of the values, or is absent (`$nin`).
    ///
    /// ```swift
    /// let notMine = Filter.field("source").notIn(["chat", "mail"])
    /// ```
    public func notIn<Values: Sequence>(_ values: Values) -> Filter where Values.Element: FilterOperand {
        Filter(.list(field: name, op: .notIn, operands: values.map(\.filterOperand)))
    }

    /// A string field contains the text as a substring; a list field has it as an item
    /// (`$contains`).
    ///
    /// ```swift
    /// let tagged = Filter.field("tags").contains("project-x")
    /// ```
    public func contains(_ text: String) -> Filter {
        Filter(.condition(field: name, op: .contains, operand: .string(text)))
    }

    /// As ``contains(_:)``, ignoring ASCII case (`$icontains`; `É` does not match `é`).
    ///
    /// ```swift
    /// let travel = Filter.field("title").containsIgnoringCase("travel")
    /// ```
    public func containsIgnoringCase(_ text: String) -> Filter {
        Filter(.condition(field: name, op: .icontains, operand: .string(text)))
    }

    /// The field is present (`{"$exists": true}`).
    ///
    /// ```swift
    /// let scored = Filter.field("score").exists
    /// ```
    public var exists: Filter { Filter(.exists(field: name, true)) }

    /// The field is absent (`{"$exists": false}`).
    ///
    /// ```swift
    /// let unscored = Filter.field("score").missing
    /// ```
    public var missing: Filter { Filter(.exists(field: name, false)) }
}

// MARK: - Rendering

extension Filter {
    /// Appends `node` as JSON.
    static func render(_ node: Node, into out: inout String) {
        switch node {
        case .all:
            out += "{}"
        case .json(let text):
            out += text
        case .condition(let field, let op, let operand):
            out += "{"
            appendString(field, into: &out)
            out += ":"
            if op == .eq {
                appendOperand(operand, into: &out)
            } else {
                out += "{\"\(op.rawValue)\":"
                appendOperand(operand, into: &out)
                out += "}"
            }
            out += "}"
        case .list(let field, let op, let operands):
            out += "{"
            appendString(field, into: &out)
            out += ":{\"\(op.rawValue)\":["
            for (index, operand) in operands.enumerated() {
                if index > 0 { out += "," }
                appendOperand(operand, into: &out)
            }
            out += "]}}"
        case .exists(let field, let present):
            out += "{"
            appendString(field, into: &out)
            out += present ? ":{\"$exists\":true}}" : ":{\"$exists\":false}}"
        case .and(let nodes), .or(let nodes):
            if case .and = node { out += "{\"$and\":[" } else { out += "{\"$or\":[" }
            for (index, child) in nodes.enumerated() {
                if index > 0 { out += "," }
                render(child, into: &out)
            }
            out += "]}"
        case .not(let child):
            out += "{\"$not\":"
            render(child, into: &out)
            out += "}"
        }
    }

    /// Appends an operand: a NaN or infinite double as `null`, which the parser refuses with
    /// the field named (JSON has no such number).
    static func appendOperand(_ operand: Operand, into out: inout String) {
        switch operand {
        case .string(let string): appendString(string, into: &out)
        case .int(let int): out += String(int)
        case .double(let double): out += double.isFinite ? "\(double)" : "null"
        case .bool(let bool): out += bool ? "true" : "false"
        case .date(let date): out += String(nanoseconds(date))
        }
    }

    /// A date as integer nanoseconds since 1970, truncated as the engine truncates a memory's
    /// `createdAt` (CCore.nanosecondsSince1970), clamped to the 64-bit range.
    static func nanoseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1_000_000_000).rounded(.towardZero)
        if let exact = Int64(exactly: value) { return exact }
        if value.isNaN { return 0 }
        return value > 0 ? Int64.max : Int64.min
    }

    /// Appends a JSON string literal (RFC 8259): quotes, backslashes and control characters
    /// escaped, everything else as UTF-8.
    static func appendString(_ string: String, into out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
