import CMnemo

/// The one place the `Mnemo` module calls the HNSW functions of the C core.
///
/// It maps every `mn_status` to a ``MnemoError`` and owns every unsafe pointer; the public
/// types above it hold an `OpaquePointer` they got from here and never see a C type.
enum CCore {
    /// Throws the ``MnemoError`` for a failing status; returns for `MN_OK`.
    static func check(_ status: mn_status, _ context: @autoclosure () -> String,
                      offendingIndex: Int? = nil) throws(MnemoError) {
        guard status != MN_OK else { return }
        let message = String(cString: mn_status_string(status))
        throw MnemoError(MnemoError.Code(rawValue: status), "\(context()): \(message)",
                         offendingIndex: offendingIndex)
    }

    /// The C core's value for a metric.
    static func cMetric(_ metric: Metric) -> mn_metric {
        switch metric {
        case .l2: MN_METRIC_L2
        case .innerProduct: MN_METRIC_IP
        case .cosine: MN_METRIC_COSINE
        }
    }

    /// The metric of a C value (an unknown value, which the core never reports, reads as L2).
    static func metric(_ value: mn_metric) -> Metric {
        switch value {
        case MN_METRIC_IP: .innerProduct
        case MN_METRIC_COSINE: .cosine
        default: .l2
        }
    }

    /// The C core's name for a status (`mn_status_string`): "unknown status" for a value that
    /// is no status.
    static func statusName(_ rawValue: Int32) -> String {
        String(cString: mn_status_string(rawValue))
    }

    /// The C parameters of an index (or a space's index), checked for what C cannot express.
    static func hnswParams(dimension: Int, metric: Metric,
                           parameters: HNSWIndex.Parameters) throws(MnemoError) -> mn_hnsw_params {
        guard dimension > 0, dimension <= Int(MN_DIMENSION_MAX) else {
            throw MnemoError(.wrongDimension, "dimension \(dimension) is not in 1...\(MN_DIMENSION_MAX)")
        }
        guard let m = UInt32(exactly: parameters.m), let ef = UInt32(exactly: parameters.efConstruction) else {
            throw MnemoError(.invalidArgument, "m and efConstruction must be positive 32-bit values")
        }
        var params = mn_hnsw_params()
        mn_hnsw_params_default(UInt32(dimension), cMetric(metric), &params)
        params.m = m
        params.ef_construction = ef
        params.seed = parameters.seed
        return params
    }

    /// Creates an index.
    static func createIndex(dimension: Int, metric: Metric,
                            parameters: HNSWIndex.Parameters) throws(MnemoError) -> OpaquePointer {
        var params = try hnswParams(dimension: dimension, metric: metric, parameters: parameters)
        var handle: OpaquePointer?
        try check(mn_hnsw_create(&params, &handle), "create index")
        guard let handle else { throw MnemoError(.outOfMemory, "create index returned no handle") }
        return handle
    }

    /// Loads an index from a stream written by ``serialize(_:)``.
    static func loadIndex(_ bytes: [UInt8]) throws(MnemoError) -> OpaquePointer {
        var handle: OpaquePointer?
        let status = bytes.withUnsafeBytes { mn_hnsw_load_buffer($0.baseAddress, $0.count, &handle) }
        try check(status, "load index")
        guard let handle else { throw MnemoError(.outOfMemory, "load returned no handle") }
        return handle
    }

    /// Reads back an index's dimension, metric and parameters.
    static func parameters(of handle: OpaquePointer) -> (dimension: Int, metric: Metric, HNSWIndex.Parameters) {
        var params = mn_hnsw_params()
        mn_hnsw_params_get(handle, &params)
        return (Int(params.dimension), metric(params.metric),
                HNSWIndex.Parameters(m: Int(params.m), efConstruction: Int(params.ef_construction), seed: params.seed))
    }

    static func destroy(_ handle: OpaquePointer) {
        mn_hnsw_destroy(handle)
    }

    static func insert(_ handle: OpaquePointer, id: UInt64, vector: [Float]) throws(MnemoError) {
        guard let dimension = UInt32(exactly: vector.count) else {
            throw MnemoError(.wrongDimension, "vector of \(vector.count) floats")
        }
        let status = vector.withUnsafeBufferPointer { mn_hnsw_insert(handle, id, $0.baseAddress, dimension) }
        try check(status, "insert id \(id)")
    }

    static func insertBatch(_ handle: OpaquePointer, ids: [UInt64], vectors: [Float], dimension: Int,
                            threads: Int) throws(MnemoError) {
        guard let threadCount = UInt32(exactly: threads) else {
            throw MnemoError(.invalidArgument, "threads \(threads)")
        }
        var failed = 0
        let status = ids.withUnsafeBufferPointer { idBuffer in
            vectors.withUnsafeBufferPointer { vectorBuffer in
                mn_hnsw_insert_batch(handle, idBuffer.baseAddress, vectorBuffer.baseAddress, ids.count,
                                     UInt32(dimension), threadCount, &failed)
            }
        }
        try check(status, "insert batch of \(ids.count)", offendingIndex: status == MN_OK ? nil : failed)
    }

    static func search(_ handle: OpaquePointer, query: [Float], k: Int, ef: Int) throws(MnemoError) -> [Neighbor] {
        guard let dimension = UInt32(exactly: query.count), let kValue = UInt32(exactly: k),
              let efValue = UInt32(exactly: ef), k <= Int(MN_HNSW_K_MAX) else {
            throw MnemoError(.invalidArgument, "k \(k) or ef \(ef) out of range")
        }
        var found: UInt32 = 0
        var neighbors: [Neighbor] = []
        let status = withUnsafeTemporaryAllocation(of: mn_hnsw_result.self, capacity: max(k, 1)) { results in
            let status = query.withUnsafeBufferPointer {
                mn_hnsw_search(handle, $0.baseAddress, dimension, kValue, efValue, results.baseAddress, &found)
            }
            if status == MN_OK {
                neighbors.reserveCapacity(Int(found))
                for i in 0..<Int(found) {
                    neighbors.append(Neighbor(id: results[i].id, distance: results[i].distance))
                }
            }
            return status
        }
        try check(status, "search")
        return neighbors
    }

    static func remove(_ handle: OpaquePointer, id: UInt64) throws(MnemoError) {
        try check(mn_hnsw_remove(handle, id), "remove id \(id)")
    }

    static func vector(_ handle: OpaquePointer, id: UInt64, dimension: Int) throws(MnemoError) -> [Float] {
        var vector = [Float](repeating: 0, count: dimension)
        let status = vector.withUnsafeMutableBufferPointer {
            mn_hnsw_get(handle, id, $0.baseAddress, UInt32(dimension))
        }
        try check(status, "get id \(id)")
        return vector
    }

    static func contains(_ handle: OpaquePointer, id: UInt64) -> Bool {
        var present: Int32 = 0
        mn_hnsw_contains(handle, id, &present)
        return present != 0
    }

    static func neighbors(_ handle: OpaquePointer, id: UInt64, level: Int) throws(MnemoError) -> [UInt64] {
        guard let levelValue = UInt32(exactly: level) else {
            throw MnemoError(.invalidArgument, "level \(level)")
        }
        let capacity = 2 * Int(MN_HNSW_M_MAX)
        var ids = [UInt64](repeating: 0, count: capacity)
        var count: UInt32 = 0
        let status = ids.withUnsafeMutableBufferPointer {
            mn_hnsw_neighbors(handle, id, levelValue, $0.baseAddress, UInt32(capacity), &count)
        }
        try check(status, "neighbours of id \(id)")
        return Array(ids.prefix(Int(count)))
    }

    static func count(_ handle: OpaquePointer) -> Int {
        var count: UInt64 = 0
        mn_hnsw_count(handle, &count)
        return Int(count)
    }

    static func bytes(_ handle: OpaquePointer) -> Int {
        var bytes: UInt64 = 0
        mn_hnsw_bytes(handle, &bytes)
        return Int(bytes)
    }

    /// Collects a saved stream in memory.
    private final class ByteSink {
        var bytes: [UInt8] = []
    }

    static func serialize(_ handle: OpaquePointer) throws(MnemoError) -> [UInt8] {
        let sink = ByteSink()
        let context = Unmanaged.passUnretained(sink).toOpaque()
        let status = withExtendedLifetime(sink) {
            mn_hnsw_save(handle, { context, data, size in
                guard let context, let data else { return MN_ERR_INVALID }
                let sink = Unmanaged<ByteSink>.fromOpaque(context).takeUnretainedValue()
                sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size))
                return MN_OK
            }, context)
        }
        try check(status, "save index")
        return sink.bytes
    }

    /// The SIMD level the distance kernels use on this CPU ("scalar", "avx2", "avx512").
    static func simdLevelName() -> String {
        var level: mn_simd_level = MN_SIMD_SCALAR
        mn_simd_level_best(&level)
        var name: UnsafePointer<CChar>?
        mn_simd_level_name(level, &name)
        return name.map { String(cString: $0) } ?? "unknown"
    }
}
