// Checking a metadata document without writing it: the HTTP server checks every document of an
// upsert batch before its first write (the engine has no batch upsert), with the same C codec a
// write would use, so the check and the write cannot disagree.

extension Metadata {
    /// Checks the fields against every metadata limit with the C codec, as a write would.
    ///
    /// ```swift
    /// try (["$bad": 1] as Metadata).validate()   // throws .invalidMetadata, field "$bad"
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/invalidMetadata`` naming the first bad field (in name order),
    ///   ``MnemoError/Code/outOfMemory``.
    public func validate() throws(MnemoError) {
        _ = try CCore.encodeMetadata(self, "metadata")
    }
}
