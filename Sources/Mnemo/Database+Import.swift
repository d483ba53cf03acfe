import Foundation

// Importing a space from a stream written by Space.export() (the C core's
// mn_engine_space_import): everything is validated before the space exists.

extension Database {
    /// Creates the space `name` from a stream written by ``Space/export()``. The new space
    /// answers every get, search and recall exactly as the exported one did. The stream is
    /// checked whole before anything is created. The import runs on a thread of its own.
    ///
    /// ```swift
    /// let stream = try await database.space("alice").export()
    /// let copy = try await database.importSpace("alice-copy", from: stream)
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/truncated`` (the stream ends early),
    ///   ``MnemoError/Code/unsupportedVersion`` (not a space stream, or a newer format),
    ///   ``MnemoError/Code/corrupt`` (a checksum or consistency check failed, or bytes follow the
    ///   stream), ``MnemoError/Code/tooLarge`` (a memory's content is over this database's
    ///   limit, or the name is over 128 bytes), ``MnemoError/Code/duplicateID`` (the name
    ///   exists), ``MnemoError/Code/invalidArgument`` (a bad name), ``MnemoError/Code/closed``.
    public func importSpace(_ name: String, from stream: [UInt8]) async throws(MnemoError) -> Space {
        let engine = self.engine
        let handle = try await BlockingExecutor.run { () throws(MnemoError) -> SpaceHandle in
            try CCore.importSpace(engine, name: name, bytes: stream)
        }
        return Space(handle: handle, name: name, waitWhenFull: options.waitWhenFull)
    }

    /// Creates the space `name` from a file written by ``Space/export(to:)``.
    ///
    /// ```swift
    /// let alice = try await database.importSpace("alice", contentsOf: URL(fileURLWithPath: "/backups/alice.mnemo"))
    /// ```
    ///
    /// - Throws: the errors of ``importSpace(_:from:)``, and ``MnemoError/Code/io`` if the file
    ///   cannot be read.
    public func importSpace(_ name: String, contentsOf url: URL) async throws(MnemoError) -> Space {
        // The file read blocks too: it runs on a thread of its own, like the import.
        let bytes = try await BlockingExecutor.run { () throws(MnemoError) -> [UInt8] in
            do {
                return [UInt8](try Data(contentsOf: url))
            } catch {
                throw MnemoError(.io, "import from \(url.path): \(error.localizedDescription)")
            }
        }
        return try await importSpace(name, from: bytes)
    }
}
