// VectorCoding: vectors on the wire, as JSON arrays of numbers or as `vectorBase64`, the
// little-endian float32 bytes in base64 (4 bytes per component, no padding between). The binary
// form saves the number parsing and printing that dominate a JSON ingest.
import Foundation

/// Decodes and encodes the two wire forms of a vector.
enum VectorCoding {
    /// The vector given as `array` or `base64` (exactly one), checked against `dimension`.
    /// `field` names the request part for errors (`vector`, `memories[2].vector`).
    static func decode(array: [Float]?, base64: String?, dimension: Int, field: String) throws(ServerError) -> [Float] {
        let arrayField = field, base64Field = field + "Base64"
        let vector: [Float]
        switch (array, base64) {
        case (let array?, nil):
            vector = array
        case (nil, let text?):
            guard let data = Data(base64Encoded: text) else {
                throw .badRequest("\(base64Field) is not valid base64", field: base64Field)
            }
            guard data.count % 4 == 0 else {
                throw .badRequest("\(base64Field) holds \(data.count) bytes, not a multiple of 4 (float32)",
                                  field: base64Field)
            }
            vector = fromLittleEndian(data)
        case (nil, nil):
            throw .badRequest("one of \(arrayField) or \(base64Field) is required", field: arrayField)
        case (_?, _?):
            throw .badRequest("give \(arrayField) or \(base64Field), not both", field: arrayField)
        }
        guard vector.count == dimension else {
            throw ServerError(status: .badRequest, code: "wrongDimension",
                              message: "\(arrayField) has \(vector.count) components; the space's dimension is \(dimension)",
                              field: base64 == nil ? arrayField : base64Field)
        }
        if let bad = vector.firstIndex(where: { !$0.isFinite }) {
            throw ServerError(status: .badRequest, code: "nonFinite",
                              message: "\(arrayField)[\(bad)] is not finite", field: base64 == nil ? arrayField : base64Field)
        }
        return vector
    }

    /// Floats from little-endian float32 bytes.
    static func fromLittleEndian(_ data: Data) -> [Float] {
        var out = [Float](repeating: 0, count: data.count / 4)
        data.withUnsafeBytes { raw in
            for index in out.indices {
                let bits = raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)
                out[index] = Float(bitPattern: UInt32(littleEndian: bits))
            }
        }
        return out
    }

    /// The base64 of `vector`'s little-endian float32 bytes.
    static func base64(_ vector: [Float]) -> String {
        var data = Data(capacity: vector.count * 4)
        for value in vector {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        return data.base64EncodedString()
    }
}
