/// A memory's metadata: a small set of named, typed fields that filters select on.
///
/// A dictionary from field name to ``MetadataValue``, written with a dictionary literal:
///
/// ```swift
/// var metadata: Metadata = ["kind": "fact", "priority": 3, "tags": ["travel"]]
/// metadata["pinned"] = true
/// try await space.insert(Memory(id: "m1", vector: embedding, text: "...", metadata: metadata))
/// ```
///
/// Limits, checked whole when the memory is written (``MnemoError/Code/invalidMetadata``
/// naming the field otherwise, and nothing is written): at most 64 fields and 16384 encoded
/// bytes; names 1 to 64 bytes of UTF-8, without U+0000, not starting with `$` and not `id` or
/// `createdAt` (the built-in fields every memory has). Iteration is in the stored order: names
/// ascending bytewise (UTF-8).
public struct Metadata: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence, CustomStringConvertible {
    /// The fields by name.
    ///
    /// ```swift
    /// for (name, value) in memory.metadata.fields { print(name, value) }
    /// ```
    public var fields: [String: MetadataValue]

    /// Creates metadata from a dictionary.
    ///
    /// ```swift
    /// let metadata = Metadata(["kind": .string("fact")])
    /// ```
    public init(_ fields: [String: MetadataValue] = [:]) { self.fields = fields }

    /// Creates metadata from a dictionary literal (a name given twice keeps the last value).
    ///
    /// ```swift
    /// let metadata: Metadata = ["kind": "fact", "priority": 3]
    /// ```
    public init(dictionaryLiteral elements: (String, MetadataValue)...) {
        fields = Dictionary(elements, uniquingKeysWith: { _, last in last })
    }

    /// The value of field `name`, or `nil`; assigning `nil` removes the field.
    ///
    /// ```swift
    /// metadata["kind"] = "preference"
    /// let kind = metadata["kind"]?.stringValue
    /// ```
    public subscript(name: String) -> MetadataValue? {
        get { fields[name] }
        set { fields[name] = newValue }
    }

    /// The number of fields.
    ///
    /// ```swift
    /// let fieldCount = memory.metadata.count
    /// ```
    public var count: Int { fields.count }

    /// Whether there is no field (a memory without metadata).
    ///
    /// ```swift
    /// if memory.metadata.isEmpty { print("no metadata") }
    /// ```
    public var isEmpty: Bool { fields.isEmpty }

    /// The field names in stored order (bytewise ascending UTF-8).
    ///
    /// ```swift
    /// let names: Metadata = ["b": 1, "a": 2]
    /// print(names.names)   // ["a", "b"]
    /// ```
    public var names: [String] { sorted.map(\.name) }

    /// The fields in stored order, names ascending bytewise.
    ///
    /// ```swift
    /// for (name, value) in metadata { print(name, value) }
    /// ```
    public func makeIterator() -> IndexingIterator<[(name: String, value: MetadataValue)]> {
        sorted.makeIterator()
    }

    /// The fields as a JSON-like text, in stored order.
    ///
    /// ```swift
    /// print(Metadata(["kind": "fact"]))   // ["kind": "fact"]
    /// ```
    public var description: String {
        if isEmpty { return "[:]" }
        return "[" + sorted.map { "\"\($0.name)\": \($0.value)" }.joined(separator: ", ") + "]"
    }

    /// The fields sorted as the C core stores them: by the bytes of the UTF-8 names.
    var sorted: [(name: String, value: MetadataValue)] {
        fields.map { (name: $0.key, value: $0.value) }
            .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }
}
