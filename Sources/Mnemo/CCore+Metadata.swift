import CMnemo

// The Swift side of metadata documents (include/mnemo/mn_meta.h): ``Metadata`` is encoded by
// the C builder, so Swift never writes the byte layout itself and every limit is checked by
// the one codec the engine validates with; documents read back (get, search) are decoded by
// the C cursor. A refused document becomes `.invalidMetadata` naming the field.

extension CCore {
    /// The text of `count` bytes at `pointer` (not NUL-terminated), decoded as UTF-8.
    static func text(_ pointer: UnsafePointer<CChar>?, _ count: UInt32) -> String {
        guard let pointer, count > 0 else { return "" }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: Int(count)) {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(count)), as: UTF8.self)
        }
    }

    /// The `.invalidMetadata` error for a codec status and its `mn_meta_error`, or the status's
    /// own error when it is no verdict on the document (an allocation failure).
    static func metadataError(_ status: mn_status, _ error: mn_meta_error, _ context: String,
                              offendingIndex: Int? = nil) -> MnemoError {
        guard status == MN_ERR_INVALID || status == MN_ERR_TOO_LARGE || status == MN_ERR_NON_FINITE else {
            return MnemoError(MnemoError.Code(rawValue: status), "\(context): \(statusName(status))",
                              offendingIndex: offendingIndex)
        }
        let reason = error.reason.map { String(cString: $0) } ?? statusName(status)
        var field: String?
        if error.name_bytes > 0 {
            field = withUnsafeBytes(of: error.name) { raw in
                String(decoding: raw.prefix(Int(min(error.name_bytes, UInt32(MN_META_NAME_BYTES_MAX)))), as: UTF8.self)
            }
        }
        let named = field.map { "field \"\($0)\": " } ?? ""
        return MnemoError(.invalidMetadata, "\(context): \(named)\(reason)", offendingIndex: offendingIndex,
                          field: field, reason: reason, status: MnemoError.Code(rawValue: status))
    }

    /// Adds one field to a builder; the builder keeps the first failure for finish.
    private static func add(_ builder: OpaquePointer, _ name: String, _ value: MetadataValue) {
        var nameBytes = Array(name.utf8)
        nameBytes.append(0) // a terminator nobody reads: the base address is never NULL
        nameBytes.withUnsafeBufferPointer { nameBuffer in
            nameBuffer.withMemoryRebound(to: CChar.self) { nameChars in
                let namePointer = nameChars.baseAddress
                let nameCount = UInt32(clamping: nameChars.count - 1)
                switch value {
                case .string(let string):
                    var bytes = Array(string.utf8)
                    let count = UInt32(clamping: bytes.count)
                    bytes.append(0)
                    _ = bytes.withUnsafeBufferPointer { buffer in
                        buffer.withMemoryRebound(to: CChar.self) {
                            mn_meta_builder_add_string(builder, namePointer, nameCount, $0.baseAddress, count)
                        }
                    }
                case .int(let int):
                    _ = mn_meta_builder_add_int(builder, namePointer, nameCount, int)
                case .double(let double):
                    _ = mn_meta_builder_add_double(builder, namePointer, nameCount, double)
                case .bool(let bool):
                    _ = mn_meta_builder_add_bool(builder, namePointer, nameCount, bool ? 1 : 0)
                case .strings(let items):
                    var joined: [UInt8] = []
                    var lengths: [UInt32] = []
                    lengths.reserveCapacity(items.count)
                    for item in items {
                        joined.append(contentsOf: item.utf8)
                        lengths.append(UInt32(clamping: item.utf8.count))
                    }
                    joined.append(0) // so an empty item still points into the buffer
                    _ = joined.withUnsafeBufferPointer { buffer in
                        buffer.withMemoryRebound(to: CChar.self) { chars -> mn_status in
                            guard let base = chars.baseAddress else { return MN_ERR_INVALID }
                            var pointers: [UnsafePointer<CChar>?] = []
                            pointers.reserveCapacity(items.count)
                            var at = 0
                            for length in lengths {
                                pointers.append(base + at)
                                at += Int(length)
                            }
                            return mn_meta_builder_add_strings(builder, namePointer, nameCount, pointers, lengths,
                                                               UInt32(clamping: items.count))
                        }
                    }
                }
            }
        }
    }

    /// The canonical document of `metadata` (empty for no fields), built and checked whole by
    /// the C codec. Throws `.invalidMetadata` naming the first bad field (in name order).
    static func encodeMetadata(_ metadata: Metadata, _ context: @autoclosure () -> String,
                               offendingIndex: Int? = nil) throws(MnemoError) -> [UInt8] {
        if metadata.isEmpty { return [] }
        var created: OpaquePointer?
        let status = mn_meta_builder_create(&created)
        guard status == MN_OK, let builder = created else {
            throw MnemoError(.outOfMemory, "\(context()): metadata builder", offendingIndex: offendingIndex)
        }
        defer { mn_meta_builder_destroy(builder) }
        for (name, value) in metadata.sorted {
            add(builder, name, value)
        }
        var document: UnsafeMutableRawPointer?
        var bytes = 0
        var error = mn_meta_error()
        let finished = mn_meta_builder_finish(builder, &document, &bytes, &error)
        guard finished == MN_OK else {
            throw metadataError(finished, error, context(), offendingIndex: offendingIndex)
        }
        defer { mn_meta_free(document) }
        guard let document else { return [] }
        return Array(UnsafeRawBufferPointer(start: document, count: bytes))
    }

    /// Decodes a document the engine validated; `nil` when its bytes are not well formed.
    static func decodeMetadata(_ document: UnsafeRawPointer?, _ bytes: Int) -> Metadata? {
        guard bytes > 0 else { return Metadata() }
        var cursor = mn_meta_cursor()
        guard mn_meta_iter(document, bytes, &cursor) == MN_OK else { return nil }
        var fields: [String: MetadataValue] = [:]
        while true {
            var name: UnsafePointer<CChar>?
            var nameBytes: UInt32 = 0
            var value = mn_meta_value()
            let status = mn_meta_next(&cursor, &name, &nameBytes, &value)
            if status == MN_ERR_NOT_FOUND { break }
            guard status == MN_OK else { return nil }
            let key = text(name, nameBytes)
            switch value.type {
            case UInt32(MN_META_STRING):
                fields[key] = .string(text(value.str, value.str_bytes))
            case UInt32(MN_META_INT):
                fields[key] = .int(value.i)
            case UInt32(MN_META_DOUBLE):
                fields[key] = .double(value.d)
            case UInt32(MN_META_BOOL):
                fields[key] = .bool(value.b != 0)
            case UInt32(MN_META_STRINGS):
                var items: [String] = []
                items.reserveCapacity(Int(value.list_count))
                var at: UInt32 = 0
                var item: UnsafePointer<CChar>?
                var itemBytes: UInt32 = 0
                while true {
                    let next = mn_meta_list_next(&value, &at, &item, &itemBytes)
                    if next == MN_ERR_NOT_FOUND { break }
                    guard next == MN_OK else { return nil }
                    items.append(text(item, itemBytes))
                }
                fields[key] = .strings(items)
            default:
                return nil
            }
        }
        return Metadata(fields)
    }

    /// Encodes a patch (fields to set, names to remove) as the engine logs it. Throws
    /// `.invalidMetadata` naming the field for a bad `set`, a bad or repeated remove name, or a
    /// name both set and removed.
    static func encodePatch(set: Metadata, remove: [String], _ context: @autoclosure () -> String) throws(MnemoError) -> [UInt8] {
        let document = try encodeMetadata(set, context())
        var joined: [UInt8] = []
        var lengths: [UInt32] = []
        for name in remove {
            joined.append(contentsOf: name.utf8)
            lengths.append(UInt32(clamping: name.utf8.count))
        }
        joined.append(0)
        var patch: UnsafeMutableRawPointer?
        var patchBytes = 0
        var error = mn_meta_error()
        let status = document.withUnsafeBytes { set in
            joined.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars -> mn_status in
                    guard let base = chars.baseAddress else { return MN_ERR_INVALID }
                    var pointers: [UnsafePointer<CChar>?] = []
                    var at = 0
                    for length in lengths {
                        pointers.append(base + at)
                        at += Int(length)
                    }
                    return mn_meta_patch_encode(set.baseAddress, set.count, pointers, lengths,
                                                UInt32(clamping: remove.count), &patch, &patchBytes, &error)
                }
            }
        }
        guard status == MN_OK else { throw metadataError(status, error, context()) }
        defer { mn_meta_free(patch) }
        guard let patch else { throw MnemoError(.outOfMemory, "\(context()): patch encoding") }
        return Array(UnsafeRawBufferPointer(start: patch, count: patchBytes))
    }

    /// Replays `patch` on `document` in Swift's thread to name the field that made the
    /// engine refuse it (the completion carries only a status); `nil` when it applies cleanly.
    static func patchFailure(document: [UInt8], patch: [UInt8], _ context: String) -> MnemoError? {
        var out: UnsafeMutableRawPointer?
        var outBytes = 0
        var error = mn_meta_error()
        let status = document.withUnsafeBytes { old in
            patch.withUnsafeBytes { patchBuffer in
                mn_meta_patch_apply(old.baseAddress, old.count, patchBuffer.baseAddress, patchBuffer.count,
                                    &out, &outBytes, &error)
            }
        }
        mn_meta_free(out)
        return status == MN_OK ? nil : metadataError(status, error, context)
    }
}
