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

    /// The default number of chunks a streaming import reads ahead of the engine.
    public static let importBufferedChunks = 4

    /// Creates the space `name` from a stream written by ``Space/export()`` that arrives in
    /// chunks (a network body, a file read piece by piece, a ``SpaceExport``), never holding it
    /// whole: the engine reads it on a thread of its own while this task feeds it at most
    /// `bufferedChunks` chunks ahead. Nothing is created unless the whole stream is valid.
    ///
    /// ```swift
    /// let copy = try await database.importSpace("alice-copy", from: try await alice.export(chunkBytes: 65536))
    /// ```
    ///
    /// - Throws: the errors of the byte-array form: ``MnemoError/Code/truncated``
    ///   when `chunks` ends early, ``MnemoError/Code/corrupt`` when bytes follow the stream; an
    ///   error `chunks` throws is rethrown when it is a ``MnemoError``, else thrown as
    ///   ``MnemoError/Code/io``. No space is created on any error.
    public func importSpace<Chunks: AsyncSequence>(_ name: String, from chunks: Chunks,
                                                   bufferedChunks: Int = Database.importBufferedChunks)
        async throws(MnemoError) -> Space where Chunks.Element == [UInt8] {
        let engine = self.engine
        let pipe = ImportPipe(capacity: bufferedChunks)
        BlockingExecutor.detach {
            pipe.finish(Result { () throws(MnemoError) -> SpaceHandle in
                try CCore.importSpace(engine, name: name, reading: pipe)
            })
        }
        do {
            feeding: for try await chunk in chunks where !chunk.isEmpty {
                if await !pipe.push(chunk) { break feeding }
            }
            pipe.endSource(nil)
        } catch let error as MnemoError {
            pipe.endSource(error)
        } catch {
            pipe.endSource(MnemoError(.io, "import stream of \"\(name)\": \(error)"))
        }
        switch await pipe.outcome() {
        case .success(let handle):
            let sourceError = pipe.sourceError
            if pipe.trailing || sourceError != nil {
                // The engine read a whole valid stream, but more bytes followed it (or the source
                // failed after it): the upload is not what was exported. The space exists by
                // now; take it back.
                try? await dropSpace(name)
                throw sourceError ?? MnemoError(.corrupt, "import space \"\(name)\": bytes follow the end of the stream")
            }
            return Space(handle: handle, name: name, waitWhenFull: options.waitWhenFull)
        case .failure(let error):
            throw pipe.sourceError ?? error
        }
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
