import Foundation

/// One result of ``Space/recall(cue:seeds:hops:decay:threshold:limit:fanOut:overSimilarity:filter:)``:
/// a memory, how strongly the cue activated it, how many hops away from a seed it was, and its
/// metadata.
///
/// ```swift
/// for memory in try await space.recall(cue: embedding, hops: 2) {
///     print(memory.id, memory.activation, memory.hops, memory.text ?? "")
/// }
/// ```
public struct Recollection: Sendable, Hashable {
    /// The memory's id.
    public let id: String
    /// Its activation, in [threshold, 1]: a seed's similarity to the cue, or the best product
    /// of weights and decays along a path from a seed.
    public let activation: Float
    /// 0 for a seed (one of the memories nearest the cue), else the hop that gave its activation.
    public let hops: Int
    /// The memory's content.
    public let content: [UInt8]
    /// When the memory was created.
    public let createdAt: Date
    /// The memory's metadata fields (empty: none).
    public let metadata: Metadata

    /// Creates a recollection (results come from recall; this is for tests and mocks).
    ///
    /// ```swift
    /// let memory = Recollection(id: "m1", activation: 0.4, hops: 1, content: [], createdAt: Date(),
    ///                           metadata: ["kind": "fact"])
    /// ```
    public init(id: String, activation: Float, hops: Int, content: [UInt8], createdAt: Date,
                metadata: Metadata = [:]) {
        self.id = id
        self.activation = activation
        self.hops = hops
        self.content = content
        self.createdAt = createdAt
        self.metadata = metadata
    }

    /// The content as text, or `nil` when it is not valid UTF-8.
    public var text: String? { String(validating: content, as: UTF8.self) }
}
