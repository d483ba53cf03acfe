/// An approximate nearest-neighbour index over one set of vectors (HNSW).
///
/// Searches may run on any number of threads at the same time as inserts, and inserts may come
/// from several threads at once; the C core publishes every change under RCU, so a search never
/// sees a half-written vector or neighbour list. The index is freed when the last reference goes.
///
/// ```swift
/// let index = try HNSWIndex(dimension: 3, metric: .l2)
/// try index.insert(id: 1, vector: [0, 0, 1])
/// try index.insert(id: 2, vector: [0, 1, 0])
/// let nearest = try index.search([0, 0.1, 0.9], k: 1)   // [Neighbor(id: 1, ...)]
/// let bytes = try index.serialized()
/// let copy = try HNSWIndex(serialized: bytes)             // answers exactly like `index`
/// ```
public final class HNSWIndex: @unchecked Sendable {
    /// Construction parameters of an index.
    public struct Parameters: Sendable, Hashable {
        /// Links per node on the upper layers (twice as many on layer 0). Default 16.
        public var m: Int
        /// Beam width while inserting. Default 200.
        public var efConstruction: Int
        /// Seeds the layer of each id, so builds are reproducible. Default 42.
        public var seed: UInt64

        /// Creates parameters; the defaults suit most embeddings.
        public init(m: Int = 16, efConstruction: Int = 200, seed: UInt64 = 42) {
            self.m = m
            self.efConstruction = efConstruction
            self.seed = seed
        }
    }

    /// The length of every vector.
    public let dimension: Int
    /// How distances are measured.
    public let metric: Metric
    /// The construction parameters.
    public let parameters: Parameters
    /// Immutable after init; the C index is thread safe (hence `@unchecked Sendable`).
    private let handle: OpaquePointer

    /// Creates an empty index.
    ///
    /// - Throws: ``MnemoError/Code-swift.struct/wrongDimension`` for a dimension of 0 or over
    ///   4096, ``MnemoError/Code-swift.struct/invalidArgument`` for parameters out of range.
    public init(dimension: Int, metric: Metric, parameters: Parameters = Parameters()) throws(MnemoError) {
        handle = try CCore.createIndex(dimension: dimension, metric: metric, parameters: parameters)
        self.dimension = dimension
        self.metric = metric
        self.parameters = parameters
    }

    /// Loads an index from bytes produced by ``serialized()``.
    ///
    /// - Throws: ``MnemoError/Code-swift.struct/truncated``, ``MnemoError/Code-swift.struct/corrupt``
    ///   or ``MnemoError/Code-swift.struct/unsupportedVersion`` for a damaged stream.
    public init(serialized bytes: [UInt8]) throws(MnemoError) {
        handle = try CCore.loadIndex(bytes)
        (dimension, metric, parameters) = CCore.parameters(of: handle)
    }

    deinit {
        CCore.destroy(handle)
    }

    /// Inserts one vector under a new id.
    ///
    /// ```swift
    /// try index.insert(id: 42, vector: embedding)
    /// ```
    /// - Throws: ``MnemoError/Code-swift.struct/duplicateID``, ``MnemoError/Code-swift.struct/wrongDimension``,
    ///   ``MnemoError/Code-swift.struct/nonFinite`` or ``MnemoError/Code-swift.struct/zeroVector`` (cosine);
    ///   the index is then unchanged.
    public func insert(id: UInt64, vector: [Float]) throws(MnemoError) {
        try CCore.insert(handle, id: id, vector: vector)
    }

    /// Inserts many vectors at once, all or nothing, linking them with `threads` threads.
    ///
    /// `vectors` holds `ids.count` rows of ``dimension`` floats, one after another. A bad row
    /// or a duplicate id rejects the whole batch; the error's `offendingIndex` names it.
    ///
    /// ```swift
    /// try index.insert(ids: [1, 2], vectors: [0, 0, 1,  0, 1, 0], threads: 2)
    /// ```
    public func insert(ids: [UInt64], vectors: [Float], threads: Int = 1) throws(MnemoError) {
        guard vectors.count == ids.count * dimension else {
            throw MnemoError(.wrongDimension,
                             "\(vectors.count) floats for \(ids.count) vectors of dimension \(dimension)")
        }
        try CCore.insertBatch(handle, ids: ids, vectors: vectors, dimension: dimension, threads: threads)
    }

    /// Finds the `k` nearest vectors to `query`, nearest first.
    ///
    /// ```swift
    /// for hit in try index.search(query, k: 10, ef: 64) { print(hit.id, hit.distance) }
    /// ```
    /// - Parameters:
    ///   - k: how many results (at least 1).
    ///   - ef: the search beam; larger is slower and more exact. Defaults to `max(k, 64)`.
    public func search(_ query: [Float], k: Int, ef: Int? = nil) throws(MnemoError) -> [Neighbor] {
        guard k > 0 else { throw MnemoError(.invalidArgument, "k must be at least 1") }
        return try CCore.search(handle, query: query, k: k, ef: ef ?? max(k, 64))
    }

    /// Removes a vector: it never appears in a result after this returns.
    /// - Throws: ``MnemoError/Code-swift.struct/notFound`` for an unknown id.
    public func remove(id: UInt64) throws(MnemoError) {
        try CCore.remove(handle, id: id)
    }

    /// The stored vector of `id` (unit-normalised under ``Metric/cosine``).
    /// - Throws: ``MnemoError/Code-swift.struct/notFound`` for an unknown id.
    public func vector(for id: UInt64) throws(MnemoError) -> [Float] {
        try CCore.vector(handle, id: id, dimension: dimension)
    }

    /// Whether `id` is in the index.
    public func contains(_ id: UInt64) -> Bool {
        CCore.contains(handle, id: id)
    }

    /// The ids linked to `id` on graph layer `level` (0 is the base layer).
    public func neighbors(of id: UInt64, level: Int = 0) throws(MnemoError) -> [UInt64] {
        try CCore.neighbors(handle, id: id, level: level)
    }

    /// The number of vectors in the index.
    public var count: Int { CCore.count(handle) }

    /// The bytes the index holds: node storage, neighbour lists and the id table.
    public var bytesUsed: Int { CCore.bytes(handle) }

    /// The whole index as bytes (versioned, checksummed); load with ``init(serialized:)``.
    public func serialized() throws(MnemoError) -> [UInt8] {
        try CCore.serialize(handle)
    }

    /// The instruction set the distance kernels use on this CPU ("scalar", "avx2" or "avx512").
    public static var simdLevel: String { CCore.simdLevelName() }
}
