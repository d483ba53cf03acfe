// MemoryOutput: a memory (or a search hit, or a recollection) as responses carry it. Content is
// `text` when it is valid UTF-8, else `content` in base64; `metadata` and the vector appear when
// asked for (`include`), the vector as a JSON array or, with `vectorFormat: base64`, as
// `vectorBase64`.
import Foundation
import Mnemo
import NIOCore

/// A memory in a response body.
struct MemoryOutput: Encodable, Sendable {
    var id: String
    var distance: Float?
    var score: Float?
    var activation: Float?
    var hops: Int?
    var createdAt: Date?
    var text: String?
    var content: String?
    var metadata: [String: JSONValue]?
    var vector: [Float]?
    var vectorBase64: String?

    /// What a response carries besides the id: content, metadata, the vector (and its form).
    struct Include: Sendable {
        var content = true
        var metadata = true
        var vector = false
        var vectorBase64 = false

        /// Parses `include` (`content`, `metadata`, `vector`) and `vectorFormat` (`array`,
        /// `base64`); `nil` keeps the defaults.
        init(_ names: [String]?, vectorFormat: String?, defaultVector: Bool = false) throws(ServerError) {
            vector = defaultVector
            if let names {
                content = false
                metadata = false
                vector = false
                for (index, name) in names.enumerated() {
                    switch name {
                    case "content": content = true
                    case "metadata": metadata = true
                    case "vector": vector = true
                    default:
                        throw .badRequest("include[\(index)]: \"\(name)\" is not content, metadata or vector",
                                          field: "include[\(index)]")
                    }
                }
            }
            switch vectorFormat {
            case nil, "array": vectorBase64 = false
            case "base64": vectorBase64 = true
            default: throw .badRequest("vectorFormat is array or base64", field: "vectorFormat")
            }
        }
    }

    init(id: String) { self.id = id }

    /// Fills the content fields from `bytes`.
    mutating func setContent(_ bytes: [UInt8]) {
        if let text = String(validating: bytes, as: UTF8.self) {
            self.text = text
        } else {
            self.content = Data(bytes).base64EncodedString()
        }
    }

    /// Fills the vector in the asked-for form.
    mutating func setVector(_ values: [Float], base64: Bool) {
        if base64 { vectorBase64 = VectorCoding.base64(values) } else { vector = values }
    }

    /// A stored memory.
    init(_ memory: Memory, include: Include) {
        self.id = memory.id
        self.createdAt = memory.createdAt
        if include.content { setContent(memory.content) }
        if include.metadata { metadata = Self.json(memory.metadata) }
        if include.vector { setVector(memory.vector, base64: include.vectorBase64) }
    }

    /// Metadata as a JSON object.
    static func json(_ metadata: Metadata) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for (name, value) in metadata.fields {
            switch value {
            case .string(let text): out[name] = .string(text)
            case .int(let number): out[name] = .int(number)
            case .double(let number): out[name] = .double(number)
            case .bool(let flag): out[name] = .bool(flag)
            case .strings(let items): out[name] = .array(items.map { .string($0) })
            }
        }
        return out
    }

    /// Writes the memory as a JSON object, with the members JSONEncoder would write (absent
    /// ones left out) in the same sorted order.
    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if let activation { writer.key("activation"); writer.float(activation) }
        if let content { writer.key("content"); writer.string(content) }
        if let createdAt { writer.key("createdAt"); writer.date(createdAt) }
        if let distance { writer.key("distance"); writer.float(distance) }
        if let hops { writer.key("hops"); writer.int(hops) }
        writer.key("id"); writer.string(id)
        if let metadata { writer.key("metadata"); writer.object(metadata) }
        if let score { writer.key("score"); writer.float(score) }
        if let text { writer.key("text"); writer.string(text) }
        if let vector { writer.key("vector"); writer.floats(vector) }
        if let vectorBase64 { writer.key("vectorBase64"); writer.string(vectorBase64) }
        writer.endObject()
    }

    /// A `{"<key>": [memories]}` response body (search hits, recollections).
    static func listBody(_ key: StaticString, _ items: [MemoryOutput]) -> ByteBuffer {
        var writer = JSONWriter(capacity: 64 + 160 * items.count)
        writer.beginObject()
        writer.key(key)
        writer.beginArray()
        for item in items {
            writer.element()
            item.write(to: &writer)
        }
        writer.endArray()
        writer.endObject()
        return writer.buffer
    }

    /// The memory alone as a response body.
    var body: ByteBuffer {
        var writer = JSONWriter(capacity: 160 + 12 * (vector?.count ?? 0))
        write(to: &writer)
        return writer.buffer
    }

    /// The score of a distance: higher is better. Cosine and inner product: 1 − distance
    /// (the cosine similarity, the dot product); L2 (squared Euclidean): 1 / (1 + distance).
    static func score(distance: Float, metric: Metric) -> Float {
        switch metric {
        case .cosine, .innerProduct: 1 - distance
        case .l2: 1 / (1 + distance)
        }
    }
}
