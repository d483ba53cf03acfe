import Foundation

/// Rows of vectors read from a texmex file (`.fvecs` floats or `.ivecs` integers), the format
/// of the ANN benchmark datasets: each row is a little-endian `int32` dimension followed by
/// that many 4-byte values.
///
/// ```swift
/// let base = try VectorFile<Float>(contentsOf: "../shared/data/sift5k_base.fvecs")
/// print(base.count, base.dimension)           // 5000 128
/// let first: ArraySlice<Float> = base[0]
/// ```
public struct VectorFile<Element: Sendable>: Sendable {
    /// Values per row.
    public let dimension: Int
    /// All rows, one after another.
    public let values: [Element]

    /// The number of rows.
    public var count: Int { dimension == 0 ? 0 : values.count / dimension }

    /// Row `row`.
    public subscript(row: Int) -> ArraySlice<Element> {
        values[(row * dimension)..<((row + 1) * dimension)]
    }
}

extension VectorFile where Element == Float {
    /// Reads an `.fvecs` file.
    /// - Throws: ``MnemoError/Code-swift.struct/io`` if it cannot be read,
    ///   ``MnemoError/Code-swift.struct/corrupt`` if rows disagree on their dimension or are cut short.
    public init(contentsOf path: String) throws(MnemoError) {
        let (dimension, words) = try VectorFileReader.read(path)
        self.dimension = dimension
        self.values = words.map { Float(bitPattern: $0) }
    }
}

extension VectorFile where Element == Int32 {
    /// Reads an `.ivecs` file.
    /// - Throws: as ``VectorFile/init(contentsOf:)-(String)`` for floats.
    public init(contentsOf path: String) throws(MnemoError) {
        let (dimension, words) = try VectorFileReader.read(path)
        self.dimension = dimension
        self.values = words.map { Int32(bitPattern: $0) }
    }
}

/// Parses the texmex row format into raw 32-bit words.
enum VectorFileReader {
    static func read(_ path: String) throws(MnemoError) -> (dimension: Int, words: [UInt32]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MnemoError(.io, "cannot read \(path)")
        }
        return try parse(data, path: path)
    }

    static func parse(_ data: Data, path: String) throws(MnemoError) -> (dimension: Int, words: [UInt32]) {
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { throw MnemoError(.corrupt, "\(path): empty or shorter than a header") }
        func word(_ offset: Int) -> UInt32 {
            UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
                | UInt32(bytes[offset + 3]) << 24
        }
        let dimension = Int(Int32(bitPattern: word(0)))
        guard dimension > 0, dimension <= 1 << 20 else {
            throw MnemoError(.corrupt, "\(path): dimension \(dimension)")
        }
        let rowBytes = 4 * (dimension + 1)
        guard bytes.count % rowBytes == 0 else {
            throw MnemoError(.corrupt, "\(path): \(bytes.count) bytes is not a whole number of \(rowBytes)-byte rows")
        }
        let rows = bytes.count / rowBytes
        var words = [UInt32]()
        words.reserveCapacity(rows * dimension)
        for row in 0..<rows {
            let start = row * rowBytes
            guard Int(Int32(bitPattern: word(start))) == dimension else {
                throw MnemoError(.corrupt, "\(path): row \(row) has another dimension")
            }
            for column in 0..<dimension { words.append(word(start + 4 + 4 * column)) }
        }
        return (dimension, words)
    }
}
