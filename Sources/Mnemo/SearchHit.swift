import Foundation

/// One result of ``Space/search(_:k:ef:)``: a memory's id, content and creation time, and its
/// distance to the query (smaller is closer).
///
/// ```swift
/// for hit in try await space.search(query, k: 5) {
///     print(hit.id, hit.distance, hit.text ?? "")
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

    /// Creates a hit (results come from ``Space/search(_:k:ef:)``; this is for tests and mocks).
    public init(id: String, distance: Float, content: [UInt8], createdAt: Date) {
        self.id = id
        self.distance = distance
        self.content = content
        self.createdAt = createdAt
    }

    /// The content as text, or `nil` when it is not valid UTF-8.
    public var text: String? { String(validating: content, as: UTF8.self) }
}
