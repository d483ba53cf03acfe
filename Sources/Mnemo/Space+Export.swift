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
