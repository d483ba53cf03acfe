// Field indexes of a space: create, drop and list (the C core's mn_space_index_create, _drop
// and _list; docs/filters.md, "Field indexes in spaces" and "Swift field indexes"). An index
// changes how fast filtered reads are, never what they return: search, count, list, recall and
// delete by filter answer the same with or without it.

extension Space {
    /// Creates an index of `kind` on metadata field `field`, so filtered reads answer that
    /// field's conditions from the index instead of checking every memory: `count` of an
    /// indexed filter in O(log n), and `search`, `list` and `delete(filter:)` taking their
    /// candidates from it. The index is built from the memories present when it runs (the
    /// call returns once it is complete) and every later write keeps it current. It is ONE
    /// write: queued in order with the space's other writes, logged in a durable database (a
    /// reopen rebuilds it), and carried by ``export()`` and checkpoints.
    ///
    /// Every space also has a built-in index on ``Filter/createdAt``.
    ///
    /// ```swift
    /// try await space.createIndex("kind", kind: .keyword)
    /// try await space.createIndex("priority", kind: .numeric)
    /// let urgent = try await space.count(filter: Filter.field("kind") == "task" && Filter.field("priority") >= 8)
    /// ```
    ///
    /// - Parameters:
    ///   - field: the metadata field (1 ... 64 bytes of UTF-8, not starting with `$`, not the
    ///     built-ins `id` or `createdAt`). It need not exist yet in any memory.
    ///   - kind: ``FieldIndexKind/keyword`` for strings, tag lists and bools,
    ///     ``FieldIndexKind/numeric`` for ints and doubles. Conditions on values of the other
    ///     kind (and `contains`, `icontains`, string ranges) are still answered, by checking
    ///     the memories.
    /// - Returns: the number of memories that have the field.
    /// - Throws: ``MnemoError/Code/duplicateID`` (the field is already indexed, of either
    ///   kind), ``MnemoError/Code/invalidArgument`` (not a field name),
    ///   ``MnemoError/Code/tooLarge`` (a name over 64 bytes; or, with ``MnemoError/status``
    ///   ``MnemoError/Code/full``, the space already has 64 indexes), all with
    ///   ``MnemoError/field`` set and nothing changed; also ``MnemoError/Code/outOfMemory``
    ///   (nothing changed), ``MnemoError/Code/full`` (when not waiting: the write queue is
    ///   full), ``MnemoError/Code/unknownSpace`` (dropped), ``MnemoError/Code/closed``.
    @discardableResult
    public func createIndex(_ field: String, kind: FieldIndexKind) async throws(MnemoError) -> Int {
        try await CCore.createIndex(handle, field: field, kind: kind, waitWhenFull: waitWhenFull)
    }

    /// Drops the index on `field` as ONE write (logged; a reopen replays it). Filtered reads on
    /// that field then check the memories again: same answers, more work.
    ///
    /// ```swift
    /// try await space.dropIndex("priority")
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/notFound`` (the field is not indexed: nothing changes),
    ///   ``MnemoError/Code/invalidArgument`` (not a field name, or `createdAt`, whose index
    ///   cannot be dropped), ``MnemoError/Code/tooLarge`` (a name over 64 bytes),
    ///   ``MnemoError/Code/outOfMemory``, ``MnemoError/Code/full`` (when not waiting),
    ///   ``MnemoError/Code/unknownSpace``, ``MnemoError/Code/closed``.
    public func dropIndex(_ field: String) async throws(MnemoError) {
        try await CCore.dropIndex(handle, field: field, waitWhenFull: waitWhenFull)
    }

    /// The space's field indexes, from one snapshot: the built-in `createdAt` first
    /// (``FieldIndexInfo/isBuiltIn``), then the created ones in creation order. Never blocks.
    ///
    /// ```swift
    /// for index in try space.indexes() {
    ///     print(index.name, index.kind, "\(index.present) memories", "\(index.bytes) bytes")
    /// }
    /// // createdAt numeric 10000 memories 262144 bytes
    /// // kind keyword 8500 memories 180224 bytes
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/unknownSpace`` (the space was dropped).
    public func indexes() throws(MnemoError) -> [FieldIndexInfo] {
        try CCore.indexes(handle)
    }
}
