/// One field index of a space, as ``Space/indexes()`` lists it.
///
/// ```swift
/// for index in try space.indexes() where !index.isBuiltIn {
///     print(index.name, index.kind, index.present, index.entries, index.bytes)
/// }
/// ```
public struct FieldIndexInfo: Sendable, Hashable {
    /// The metadata field indexed (`"createdAt"` for the built-in index).
    public let name: String
    /// What the index holds (``FieldIndexKind/numeric`` for `createdAt`).
    public let kind: FieldIndexKind
    /// The values indexed (each item of a string list counted once).
    public let entries: Int
    /// The memories that have the field, of any type (all of them for `createdAt`).
    public let present: Int
    /// The memory the index holds, in bytes (counted in ``SpaceStats/bytes``).
    public let bytes: Int
    /// `true` for the built-in `createdAt` index, which every space has and which cannot be
    /// dropped.
    public let isBuiltIn: Bool

    /// Creates index information (it comes from ``Space/indexes()``; this is for tests and
    /// mocks).
    ///
    /// ```swift
    /// let info = FieldIndexInfo(name: "kind", kind: .keyword, entries: 120, present: 120, bytes: 4096)
    /// ```
    public init(name: String, kind: FieldIndexKind, entries: Int, present: Int, bytes: Int,
                isBuiltIn: Bool = false) {
        self.name = name
        self.kind = kind
        self.entries = entries
        self.present = present
        self.bytes = bytes
        self.isBuiltIn = isBuiltIn
    }
}
