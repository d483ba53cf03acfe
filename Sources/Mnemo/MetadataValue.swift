/// The value of one metadata field: a string, a 64-bit integer, a finite double, a bool or a
/// list of strings (tags).
///
/// Literals make values directly, so a ``Metadata`` reads like a dictionary:
///
/// ```swift
/// let metadata: Metadata = ["kind": "fact", "priority": 3, "score": 0.5, "pinned": true,
///                           "tags": ["travel", "project-x"]]
/// ```
///
/// Limits (checked when a memory is written; ``MnemoError/Code/invalidMetadata`` otherwise):
/// strings up to 4096 bytes of UTF-8, lists up to 256 items, doubles finite. A double `-0.0`
/// is stored as `0.0`; an int and a double are different values (`.int(5) != .double(5)`),
/// though filters compare them numerically.
public enum MetadataValue: Sendable, Hashable, CustomStringConvertible {
    /// A UTF-8 string, up to 4096 bytes.
    ///
    /// ```swift
    /// let kind: MetadataValue = .string("fact")
    /// ```
    case string(String)
    /// A signed 64-bit integer.
    ///
    /// ```swift
    /// let priority: MetadataValue = .int(3)
    /// ```
    case int(Int64)
    /// A finite binary64 number.
    ///
    /// ```swift
    /// let score: MetadataValue = .double(0.75)
    /// ```
    case double(Double)
    /// A bool.
    ///
    /// ```swift
    /// let pinned: MetadataValue = .bool(true)
    /// ```
    case bool(Bool)
    /// A list of strings (tags): up to 256 items of up to 4096 bytes each.
    ///
    /// ```swift
    /// let tags: MetadataValue = .strings(["travel", "project-x"])
    /// ```
    case strings([String])

    /// The string, when the value is a string.
    ///
    /// ```swift
    /// let kind = memory.metadata["kind"]?.stringValue   // "fact"
    /// ```
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, when the value is an int.
    ///
    /// ```swift
    /// let priority = memory.metadata["priority"]?.intValue   // 3
    /// ```
    public var intValue: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The number as a double, when the value is a double or an int.
    ///
    /// ```swift
    /// let score = memory.metadata["score"]?.doubleValue   // 0.75
    /// ```
    public var doubleValue: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        default: nil
        }
    }

    /// The bool, when the value is a bool.
    ///
    /// ```swift
    /// let pinned = memory.metadata["pinned"]?.boolValue ?? false
    /// ```
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The list, when the value is a list of strings.
    ///
    /// ```swift
    /// let tags = memory.metadata["tags"]?.stringsValue ?? []
    /// ```
    public var stringsValue: [String]? {
        if case .strings(let value) = self { return value }
        return nil
    }

    /// The value as it would appear in JSON.
    ///
    /// ```swift
    /// print(MetadataValue.strings(["a", "b"]))   // ["a", "b"]
    /// ```
    public var description: String {
        switch self {
        case .string(let value): "\"\(value)\""
        case .int(let value): "\(value)"
        case .double(let value): "\(value)"
        case .bool(let value): "\(value)"
        case .strings(let values): "[" + values.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        }
    }
}

extension MetadataValue: ExpressibleByStringLiteral {
    /// A string value from a literal.
    ///
    /// ```swift
    /// let kind: MetadataValue = "fact"
    /// ```
    public init(stringLiteral value: String) { self = .string(value) }
}

extension MetadataValue: ExpressibleByIntegerLiteral {
    /// An int value from a literal.
    ///
    /// ```swift
    /// let priority: MetadataValue = 3
    /// ```
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension MetadataValue: ExpressibleByFloatLiteral {
    /// A double value from a literal.
    ///
    /// ```swift
    /// let score: MetadataValue = 0.75
    /// ```
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension MetadataValue: ExpressibleByBooleanLiteral {
    /// A bool value from a literal.
    ///
    /// ```swift
    /// let pinned: MetadataValue = true
    /// ```
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension MetadataValue: ExpressibleByArrayLiteral {
    /// A list of strings from a literal.
    ///
    /// ```swift
    /// let tags: MetadataValue = ["travel", "project-x"]
    /// ```
    public init(arrayLiteral elements: String...) { self = .strings(elements) }
}
