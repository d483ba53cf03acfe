// Associations between a space's memories, and recall by spreading activation over them and
// over the index's similarity graph (the C core's mn_space_link / _unlink / _recall).

extension Space {
    /// Links memory `from` to memory `to`: activation reaching `from` flows on to `to`,
    /// multiplied by `weight`. Linking again sets the weight. A link is a write, applied in
    /// order with the space's other writes; deleting either memory removes it, and an upsert
    /// keeps it (the id is the same memory).
    ///
    /// ```swift
    /// try await space.link("paris", to: "eiffel-tower", weight: 0.9)
    /// ```
    ///
    /// - Parameters:
    ///   - from: the id of the memory the link starts at.
    ///   - to: the id of the memory it leads to (not `from`).
    ///   - weight: in (0, 1].
    /// - Returns: `true` if the link existed and its weight was set, `false` if it is new.
    /// - Throws: ``MnemoError/Code/notFound`` if either id is not a memory of the space,
    ///   ``MnemoError/Code/invalidArgument`` (a weight outside (0, 1], a link to itself, an empty
    ///   id), ``MnemoError/Code/tooLarge`` (an id over 256 bytes), ``MnemoError/Code/full`` (a
    ///   memory already has 256 links that way, or a full mailbox when not waiting),
    ///   ``MnemoError/Code/unknownSpace``, ``MnemoError/Code/closed``.
    @discardableResult
    public func link(_ from: String, to: String, weight: Float = 1) async throws(MnemoError) -> Bool {
        try await CCore.link(handle, from: from, to: to, weight: weight, waitWhenFull: waitWhenFull)
    }

    /// Removes the link from `from` to `to`.
    ///
    /// ```swift
    /// try await space.unlink("paris", to: "eiffel-tower")
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/notFound`` if either id is unknown or there is no such link,
    ///   and the argument errors of ``link(_:to:weight:)``.
    public func unlink(_ from: String, to: String) async throws(MnemoError) {
        try await CCore.unlink(handle, from: from, to: to, waitWhenFull: waitWhenFull)
    }

    /// The number of links in the space (each directed link once).
    ///
    /// ```swift
    /// print(space.linkCount)
    /// ```
    public var linkCount: Int { CCore.linkCount(handle) }

    /// Recalls memories by spreading activation: the `seeds` memories nearest to `cue` start
    /// with their similarity to it (1 / (1 + squared distance) under L2, the clamped cosine or
    /// dot product otherwise); in each of up to `hops` rounds every memory whose activation
    /// rose passes `activation × weight × decay` along its strongest `fanOut` edges: its
    /// links and, with `overSimilarity`, its nearest neighbours in the index (weighted by
    /// their similarity). A memory keeps the largest activation it is offered; offers below
    /// `threshold` are dropped. Deterministic and bounded; runs concurrently with writes.
    ///
    /// With a `filter`, activation still starts at the nearest memories and spreads through
    /// every memory, matching or not (a fact is often reached through a chat turn the filter
    /// excludes); only the answer is filtered: the `limit` most activated memories that match.
    /// It equals the unfiltered recall of every activated memory with the non-matching ones
    /// removed.
    ///
    /// ```swift
    /// let recalled = try await space.recall(cue: embedding, seeds: 5, hops: 2, limit: 20)
    /// for memory in recalled where memory.hops > 0 {
    ///     print("associated:", memory.id, memory.activation)
    /// }
    /// let facts = try await space.recall(cue: embedding, limit: 5, filter: Filter.field("kind") == "fact")
    /// ```
    ///
    /// - Parameters:
    ///   - cue: a vector of the space's dimension.
    ///   - seeds: how many nearest memories start the spread (1 ... 1024).
    ///   - hops: rounds of spreading (0 ... 8).
    ///   - decay: the factor applied at each hop, in (0, 1].
    ///   - threshold: the smallest activation kept, in [0, 1].
    ///   - limit: the most memories returned (1 ... 1,048,576).
    ///   - fanOut: the most edges one memory passes activation along (1 ... 512).
    ///   - overSimilarity: `false` spreads over links only.
    ///   - filter: only memories it matches are returned; `nil` (or ``Filter/all``) returns all.
    /// - Returns: the activated memories (that match), most activated first (ties: earliest
    ///   inserted first), with their metadata.
    /// - Throws: ``MnemoError/Code/invalidFilter`` naming the field for a filter the parser
    ///   refuses, ``MnemoError/Code/invalidArgument`` for a parameter out of range,
    ///   ``MnemoError/Code/wrongDimension``, ``MnemoError/Code/nonFinite``,
    ///   ``MnemoError/Code/zeroVector`` (cosine), ``MnemoError/Code/unknownSpace`` (dropped).
    public func recall(cue: [Float], seeds: Int = 10, hops: Int = 3, decay: Float = 0.5,
                       threshold: Float = 0.01, limit: Int = 10, fanOut: Int = 8,
                       overSimilarity: Bool = true, filter: Filter? = nil) async throws(MnemoError) -> [Recollection] {
        try CCore.recall(handle, cue: cue, seeds: seeds, hops: hops, decay: decay, threshold: threshold,
                         limit: limit, fanOut: fanOut, overSimilarity: overSimilarity, filter: filter)
    }
}
