import Foundation

// Exporting a space to one self-describing stream (the C core's mn_space_export): format
// version, parameters, memories, the index graph and the associations, under an XXH64 checksum.

extension Space {
    /// A consistent snapshot of the whole space as one self-describing stream, taken between
    /// two writes while the space keeps serving reads. ``Database/importSpace(_:from:)`` turns
    /// it back into a space that answers every get, search and recall exactly as this one did.
    /// The export runs on a thread of its own.
    ///
    /// ```swift
    /// let stream = try await space.export()
    /// let copy = try await otherDatabase.importSpace("alice-copy", from: stream)
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/unknownSpace`` (dropped), ``MnemoError/Code/closed``,
    ///   ``MnemoError/Code/outOfMemory``.
    public func export() async throws(MnemoError) -> [UInt8] {
        let handle = self.handle, name = self.name
        return try await BlockingExecutor.run { () throws(MnemoError) -> [UInt8] in
            try CCore.export(handle, name: name)
        }
    }

    /// The default bytes per chunk of a streaming export.
    public static let exportChunkBytes = 64 * 1024
    /// The default number of chunks a streaming export runs ahead of its consumer.
    public static let exportBufferedChunks = 4

    /// The same stream as ``export()``, chunk by chunk, without ever holding it whole: the
    /// export runs on a thread of its own at most `bufferedChunks` chunks of `chunkBytes`
    /// ahead of the consumer (it waits while the consumer is behind). Returns once the first
    /// chunk is ready, so an export that cannot start throws here. The space's own writes wait
    /// (queued) until the stream has been read to its end or the ``SpaceExport`` is cancelled
    /// or released.
    ///
    /// ```swift
    /// var copy: [UInt8] = []
    /// for try await chunk in try await space.export(chunkBytes: 64 * 1024) { copy += chunk }
    /// ```
    ///
    /// - Throws: the errors of ``export()``.
    public func export(chunkBytes: Int, bufferedChunks: Int = Space.exportBufferedChunks) async throws(MnemoError) -> SpaceExport {
        let handle = self.handle, name = self.name
        let pipe = ExportPipe(chunkBytes: chunkBytes, capacity: bufferedChunks)
        BlockingExecutor.detach { pipe.finish(CCore.export(handle, name: name, into: pipe)) }
        let export = SpaceExport(pipe: pipe)
        try await pipe.waitForFirst()
        return export
    }

    /// Writes ``export()``'s stream to a file (replacing it atomically).
    ///
    /// ```swift
    /// try await space.export(to: URL(fileURLWithPath: "/backups/alice.mnemo"))
    /// ```
    ///
    /// - Throws: the errors of ``export()``, and ``MnemoError/Code/io`` if the file cannot be written.
    public func export(to url: URL) async throws(MnemoError) {
        let bytes = try await export()
        // The file write blocks too: it runs on a thread of its own, like the export.
        try await BlockingExecutor.run { () throws(MnemoError) in
            do {
                try Data(bytes).write(to: url, options: .atomic)
            } catch {
                throw MnemoError(.io, "export to \(url.path): \(error.localizedDescription)")
            }
        }
    }
}
