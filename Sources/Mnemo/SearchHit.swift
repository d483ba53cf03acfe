import Foundation

/// One result of ``Space/search(_:k:ef:filter:)``: a memory's id, content, creation time and
/// metadata, and its distance to the query (smaller is closer).
///
/// ```swift
/// for hit in try await space.search(query, k: 5) {
///     print(hit.id, hit.distance, hit.text ?? "", hit.metadata["kind"]?.stringValue ?? "")
/// }
/// ```
public struct SearchHit: Sendable, Hashable {
    /// The memory's id.
    public let id: String
    /// The distance to the query under the space's metric.
    public let distance: Float
    /// The memory's content.
    public let content: [UInt8]
    /// When the memory was created.
    public let createdAt: Date
    /// The memory's metadata fields (empty: none).
    public let metadata: Metadata

    /// Creates a hit (results come from ``Space/search(_:k:ef:filter:)``; this is for tests and mocks).
    ///
    /// ```swift
    /// let hit = SearchHit(id: "m1", distance: 0.1, content: [], createdAt: Date(), metadata: ["kind": "fact"])
    /// ```
    public init(id: String, distance: Float, content: [UInt8], createdAt: Date, metadata: Metadata = [:]) {
        self.id = id
        self.distance = distance
        self.content = content
        self.createdAt = createdAt
        self.metadata = metadata
    }

    /// The content as text, or `nil` when it is not valid UTF-8.
    public var text: String? { String(validating: content, as: UTF8.self) }
}
