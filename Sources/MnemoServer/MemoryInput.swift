// MemoryInput: one memory as a request carries it (PUT one, or an item of a batch):
// `vector` or `vectorBase64`, `text` or `content` (base64), optional `metadata` (an object of
// strings, numbers, bools and string lists) and `createdAt` (RFC 3339). Turning it into a
// Mnemo Memory checks everything the server can check without the engine, naming the field.
import Foundation
import Mnemo

/// A memory in a request body.
struct MemoryInput: Decodable, Sendable {
    /// The id (batch items only; PUT takes it from the path).
    var id: String?
    var vector: [Float]?
    var vectorBase64: String?
    var text: String?
    var content: String?
    var metadata: JSONValue?
    var createdAt: String?

    /// The largest id, in UTF-8 bytes (the engine's MN_ENGINE_ID_BYTES_MAX).
    static let idBytesMax = 256

    /// The Mnemo memory, checked: `prefix` is where it sits in the request ("" for a PUT body,
    /// "memories[3]." in a batch).
    func memory(id: String, dimension: Int, maxContentBytes: Int, prefix: String) throws(ServerError) -> Memory {
        try Self.checkID(id, field: prefix.isEmpty ? "id" : prefix + "id")
        let vector = try VectorCoding.decode(array: vector, base64: vectorBase64, dimension: dimension,
                                             field: prefix + "vector")
        var bytes: [UInt8] = []
        switch (text, content) {
        case (let text?, nil): bytes = Array(text.utf8)
        case (nil, let encoded?):
            guard let data = Data(base64Encoded: encoded) else {
                throw .badRequest("\(prefix)content is not valid base64", field: prefix + "content")
            }
            bytes = [UInt8](data)
        case (nil, nil): break
        case (_?, _?): throw .badRequest("give \(prefix)text or \(prefix)content, not both", field: prefix + "text")
        }
        if bytes.count > maxContentBytes {
            throw ServerError(status: .contentTooLarge, code: "tooLarge",
                              message: "content of \(bytes.count) bytes is over the limit of \(maxContentBytes)",
                              field: prefix + (text == nil ? "content" : "text"))
        }
        var created: Date?
        if let createdAt {
            guard let date = ServerDates.parse(createdAt) else {
                throw .badRequest("\(prefix)createdAt is not an RFC 3339 date-time", field: prefix + "createdAt")
            }
            created = date
        }
        let fields = try Self.metadata(metadata, field: prefix + "metadata")
        return Memory(id: id, vector: vector, content: bytes, createdAt: created, metadata: fields)
    }

    /// Checks an id: 1 to 256 bytes of UTF-8.
    static func checkID(_ id: String, field: String) throws(ServerError) {
        if id.isEmpty { throw .badRequest("an id must not be empty", field: field) }
        if id.utf8.count > idBytesMax {
            throw .badRequest("an id is at most \(idBytesMax) bytes (this one is \(id.utf8.count))", field: field)
        }
    }

    /// Metadata from its JSON object: strings, integers, other numbers, bools, string lists.
    static func metadata(_ value: JSONValue?, field: String) throws(ServerError) -> Metadata {
        guard let value else { return [:] }
        guard case .object(let object) = value else {
            if value == .null { return [:] }
            throw .badRequest("\(field) must be an object", field: field)
        }
        var fields: [String: MetadataValue] = [:]
        for (name, item) in object {
            switch item {
            case .string(let text): fields[name] = .string(text)
            case .int(let number): fields[name] = .int(number)
            case .double(let number): fields[name] = .double(number)
            case .bool(let flag): fields[name] = .bool(flag)
            case .array(let items):
                var strings: [String] = []
                for element in items {
                    guard case .string(let text) = element else {
                        throw .badRequest("\(field).\(name): a list holds strings only", field: "\(field).\(name)")
                    }
                    strings.append(text)
                }
                fields[name] = .strings(strings)
            case .null, .object:
                throw .badRequest("\(field).\(name): a value is a string, number, bool or list of strings",
                                  field: "\(field).\(name)")
            }
        }
        return Metadata(fields)
    }
}
