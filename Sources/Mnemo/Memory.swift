import Foundation

/// One memory: an id unique in its space, an embedding vector, content bytes, a creation time
/// and metadata fields that filters select on.
///
/// ```swift
/// let memory = Memory(id: "note-1", vector: embedding, text: "Paris is the capital of France",
///                     metadata: ["kind": "fact", "tags": ["geography"]])
/// try await space.insert(memory)
/// ```
public struct Memory: Sendable, Hashable {
    /// The id, 1 to 256 bytes of UTF-8, unique within its space.
    public var id: String
    /// The embedding; its length must be the space's dimension. Read back from a cosine space
    /// it is unit-normalised.
    public var vector: [Float]
    /// The content, up to ``DatabaseOptions/maxContentBytes`` bytes.
    public var content: [UInt8]
    /// When the memory was created. `nil` on insert means "now"; an upsert keeps the
    /// original time. Always set on memories read back.
    public var createdAt: Date?
    /// The memory's metadata fields (empty: none). Stored with the memory by insert and
    /// upsert (an upsert replaces them), changed alone by ``Space/patchMetadata(_:set:remove:)``,
    /// returned by get and search.
    public var metadata: Metadata

    /// Creates a memory with binary content.
    ///
    /// ```swift
    /// let memory = Memory(id: "blob-7", vector: [0.1, 0.2, 0.3], content: [0xCA, 0xFE])
    /// ```
    public init(id: String, vector: [Float], content: [UInt8] = [], createdAt: Date? = nil,
                metadata: Metadata = [:]) {
        self.id = id
        self.vector = vector
        self.content = content
        self.createdAt = createdAt
        self.metadata = metadata
    }

    /// Creates a memory whose content is UTF-8 text.
    ///
    /// ```swift
    /// let memory = Memory(id: "fact-1", vector: embedding, text: "The user prefers tea",
    ///                     metadata: ["kind": "preference"])
    /// ```
    public init(id: String, vector: [Float], text: String, createdAt: Date? = nil, metadata: Metadata = [:]) {
        self.init(id: id, vector: vector, content: Array(text.utf8), createdAt: createdAt, metadata: metadata)
    }

    /// The content as text, or `nil` when it is not valid UTF-8.
    public var text: String? { String(validating: content, as: UTF8.self) }
}
