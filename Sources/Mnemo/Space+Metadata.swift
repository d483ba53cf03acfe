extension Space {
    /// Changes fields of a memory's metadata without re-sending its vector: every field of
    /// `set` replaces the field of that name or is added (its type may change), every name in
    /// `remove` is deleted (a name the memory does not have is ignored). The vector, content,
    /// creation time and links are untouched. Applied in order with the space's other writes.
    ///
    /// ```swift
    /// try await space.patchMetadata("m1", set: ["status": "done", "priority": 1], remove: ["draft"])
    /// ```
    ///
    /// - Returns: `true` when the memory was patched, `false` when the space has no memory
    ///   with that id (nothing changes; the C core completes such a patch with "not found",
    ///   which, as for ``delete(_:)``, is an answer rather than an error).
    /// - Throws: ``MnemoError/Code/invalidMetadata`` naming the field for a bad field of `set`,
    ///   a bad or repeated name in `remove`, a name both set and removed, or a merged document
    ///   over a limit (a 65th field, more than 16384 bytes; ``MnemoError/status`` is then
    ///   ``MnemoError/Code/tooLarge``); the memory is then unchanged. Also
    ///   ``MnemoError/Code/invalidArgument`` (empty id), ``MnemoError/Code/tooLarge`` (id over
    ///   256 bytes, the space past its byte limit), ``MnemoError/Code/full`` (when not
    ///   waiting), ``MnemoError/Code/unknownSpace`` (dropped), ``MnemoError/Code/closed``.
    @discardableResult
    public func patchMetadata(_ id: String, set: Metadata = [:], remove: [String] = []) async throws(MnemoError) -> Bool {
        try await CCore.patchMetadata(handle, id: id, set: set, remove: remove, dimension: dimension,
                                      waitWhenFull: waitWhenFull)
    }
}
