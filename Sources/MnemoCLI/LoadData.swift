// LoadData: the vectors a load test sends: an .fvecs file's rows (upserts and prepared
// memories) and queries (a query file, else the same rows), or seeded random unit vectors.
import Foundation
import Mnemo

/// Rows of float vectors of one dimension.
struct VectorRows: Sendable {
    let dimension: Int
    let values: [Float]
    var count: Int { dimension == 0 ? 0 : values.count / dimension }
    subscript(row: Int) -> ArraySlice<Float> { values[row * dimension ..< (row + 1) * dimension] }

    init(dimension: Int, values: [Float]) {
        self.dimension = dimension
        self.values = values
    }

    /// The rows of an .fvecs file.
    init(fvecs path: String) throws {
        let file = try VectorFile<Float>(contentsOf: path)
        self.init(dimension: file.dimension, values: file.values)
    }
}

/// Vectors for a load test.
struct LoadData: Sendable {
    let base: VectorRows
    let queries: VectorRows
    var dimension: Int { base.dimension }
    /// Random vectors made when no file is given.
    static let randomRows = 10_000

    init(fvecs: String?, queries: String?, dimension: Int) throws {
        if let fvecs {
            base = try VectorRows(fvecs: fvecs)
        } else {
            var random = LoadRandom(state: 7)
            var values = [Float]()
            values.reserveCapacity(Self.randomRows * dimension)
            for _ in 0..<Self.randomRows {
                var row = (0..<dimension).map { _ in Float(Int64(random.next() >> 40) - (1 << 23)) / Float(1 << 23) }
                let norm = (row.reduce(0) { $0 + $1 * $1 }).squareRoot()
                if norm > 0 { row = row.map { $0 / norm } }
                values += row
            }
            base = VectorRows(dimension: dimension, values: values)
        }
        if let queries {
            self.queries = try VectorRows(fvecs: queries)
        } else {
            self.queries = base
        }
    }
}
