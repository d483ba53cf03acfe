import CMnemo

// The Swift side of filters (include/mnemo/mn_filter.h): a ``Filter`` is handed to the C core
// as its JSON text, which mn_filter_parse checks and compiles. Every rejection becomes
// `.invalidFilter` carrying the C error's field, operator, offset and message. The engine
// calls that take a filter (filtered search, list, count, delete) get a ``CompiledFilter``
// from ``Filter/compiled()`` and pass its `pointer`.

/// Owns one compiled `mn_filter`; its deinit frees it. Immutable in C, so any number of
/// threads may use it at once.
final class CompiledFilter: @unchecked Sendable {
    // @unchecked: the pointer is immutable and a compiled filter is read-only (mn_filter.h).
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { mn_filter_free(pointer) }
}

extension CCore {
    /// The text of a NUL-terminated C array imported as a tuple.
    private static func tupleText<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Parses `json` with mn_filter_parse; the compiled filter, or the typed error.
    static func compileFilter(_ json: String) throws(MnemoError) -> CompiledFilter {
        var text = Array(json.utf8)
        let count = text.count
        text.append(0) // the parser reads `count` bytes; the terminator only keeps the address valid
        var compiled: OpaquePointer?
        var error = mn_filter_error()
        let status = text.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                mn_filter_parse($0.baseAddress, count, &compiled, &error)
            }
        }
        guard status == MN_OK, let compiled else {
            throw filterError(status == MN_OK ? MN_ERR_NO_MEMORY : status, error)
        }
        return CompiledFilter(compiled)
    }

    /// Checks `json` with the C parser (and frees what it compiled).
    static func checkFilter(_ json: String) throws(MnemoError) {
        _ = try compileFilter(json)
    }

    /// The `.invalidFilter` error of a parse failure (`.outOfMemory` for an allocation failure).
    static func filterError(_ status: mn_status, _ error: mn_filter_error) -> MnemoError {
        let reason = tupleText(error.message)
        guard status == MN_ERR_INVALID || status == MN_ERR_TOO_LARGE else {
            return MnemoError(MnemoError.Code(rawValue: status), "filter: \(reason.isEmpty ? statusName(status) : reason)")
        }
        let field = tupleText(error.field)
        let op = tupleText(error.op)
        var place = "at byte \(error.offset)"
        if !field.isEmpty { place += ", field \"\(field)\"" }
        if !op.isEmpty { place += ", operator \(op)" }
        return MnemoError(.invalidFilter, "filter \(place): \(reason)", field: field.isEmpty ? nil : field,
                          reason: reason, offset: Int(error.offset), status: MnemoError.Code(rawValue: status))
    }
}
