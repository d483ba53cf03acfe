import CMnemo

// The C calls of a space's field indexes (mn_engine.h, "field indexes"): create and drop are
// writes, queued in order with the space's other writes and awaited like a delete; the list is
// a read on the caller's thread (one RCU read section, never blocking). Statuses that mean
// something particular here get their own messages: a completed MN_ERR_FULL is the limit of 64
// indexes (not the mailbox's back-pressure, so it becomes `.tooLarge` and is never retried),
// MN_ERR_DUPLICATE an existing index, MN_ERR_NOT_FOUND a field not indexed.

extension CCore {
    /// The C constant of a kind.
    private static func cKind(_ kind: FieldIndexKind) -> UInt32 {
        switch kind {
        case .keyword: UInt32(MN_INDEX_KEYWORD)
        case .numeric: UInt32(MN_INDEX_NUMERIC)
        }
    }

    /// A clearer error for a name refused on submission (the C core says only "invalid
    /// argument" or "too large"); errors already named (`field` set: the completions mapped
    /// above) pass unchanged.
    private static func nameError(_ error: MnemoError, _ what: String, field: String) -> MnemoError {
        guard error.field == nil else { return error }
        switch error.code {
        case .invalidArgument:
            return MnemoError(.invalidArgument,
                              "\(what): not a metadata field name (empty, starting with $, or the built-in id or createdAt)",
                              field: field, reason: "not a metadata field name", status: .invalidArgument)
        case .tooLarge:
            return MnemoError(.tooLarge,
                              "\(what): field name of \(field.utf8.count) bytes (limit \(MN_META_NAME_BYTES_MAX))",
                              field: field, reason: "name too long", status: .tooLarge)
        default:
            return error
        }
    }

    /// Creates an index of `kind` on `field` and waits until it is backfilled; returns the
    /// number of memories that have the field.
    static func createIndex(_ space: SpaceHandle, field: String, kind: FieldIndexKind,
                            waitWhenFull: Bool) async throws(MnemoError) -> Int {
        let what = "create \(kind) index on \"\(field)\""
        do {
            let detail = try await submit(what, waitWhenFull: waitWhenFull, { done, context in
                withUTF8(field) { pointer, bytes in
                    mn_space_index_create(space.pointer, pointer, bytes, cKind(kind), 0, done, context)
                }
            }, completionError: { status in
                switch status {
                case MN_ERR_FULL:
                    MnemoError(.tooLarge,
                               "\(what): the space has \(MN_ENGINE_FIELD_INDEXES_MAX) field indexes already (the limit); drop one first",
                               field: field, reason: "too many field indexes", status: .full)
                case MN_ERR_DUPLICATE:
                    MnemoError(.duplicateID, "\(what): the field is already indexed", field: field,
                               reason: "already indexed", status: .duplicateID)
                default:
                    nil
                }
            })
            return Int(clamping: detail)
        } catch {
            throw nameError(error, what, field: field)
        }
    }

    /// Drops the index on `field` and waits until it is gone.
    static func dropIndex(_ space: SpaceHandle, field: String, waitWhenFull: Bool) async throws(MnemoError) {
        let what = "drop index on \"\(field)\""
        do {
            _ = try await submit(what, waitWhenFull: waitWhenFull, { done, context in
                withUTF8(field) { pointer, bytes in
                    mn_space_index_drop(space.pointer, pointer, bytes, 0, done, context)
                }
            }, completionError: { status in
                status == MN_ERR_NOT_FOUND
                    ? MnemoError(.notFound, "\(what): the field is not indexed", field: field,
                                 reason: "not indexed", status: .notFound)
                    : nil
            })
        } catch {
            throw nameError(error, what, field: field)
        }
    }

    /// The space's field indexes: `createdAt` first, then the created ones in creation order.
    static func indexes(_ space: SpaceHandle) throws(MnemoError) -> [FieldIndexInfo] {
        var infos: [FieldIndexInfo] = []
        var count: UInt32 = 0
        let status = withUnsafeMutablePointer(to: &infos) { infosPointer in
            mn_space_index_list(space.pointer, { context, info in
                guard let context, let info else { return }
                let i = info.pointee
                context.assumingMemoryBound(to: [FieldIndexInfo].self).pointee.append(
                    FieldIndexInfo(name: CCore.text(i.name, i.name_bytes),
                                   kind: i.kind == UInt32(MN_INDEX_KEYWORD) ? .keyword : .numeric,
                                   entries: Int(clamping: i.entries), present: Int(clamping: i.present),
                                   bytes: Int(clamping: i.bytes), isBuiltIn: i.builtin != 0))
            }, infosPointer, &count)
        }
        try check(status, "list indexes")
        return infos
    }
}
