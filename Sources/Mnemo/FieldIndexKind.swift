/// The kind of a field index of a space (``Space/createIndex(_:kind:)``): which values of the
/// field it holds, and so which filter conditions it answers.
///
/// ```swift
/// try await space.createIndex("kind", kind: .keyword)      // "fact", "chat", tags, bools
/// try await space.createIndex("priority", kind: .numeric)  // ints and doubles
/// ```
public enum FieldIndexKind: Sendable, Hashable, CustomStringConvertible {
    /// Strings, the items of string lists, and bools: answers `==`, `in`, `!=`, `notIn`,
    /// `exists` and `missing` (a list field matches `==` when it holds the string).
    case keyword
    /// Ints and doubles, compared exactly: answers `==`, `in`, `<`, `<=`, `>`, `>=`, `!=`,
    /// `notIn`, `exists` and `missing`. ``Filter/createdAt`` has a built-in one.
    case numeric

    /// `"keyword"` or `"numeric"`.
    ///
    /// ```swift
    /// print(FieldIndexKind.numeric)   // numeric
    /// ```
    public var description: String {
        switch self {
        case .keyword: "keyword"
        case .numeric: "numeric"
        }
    }
}
