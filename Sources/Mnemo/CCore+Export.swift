import CMnemo
import Foundation

// The C calls of export and import (mn_engine.h, "export and import"). Both block their thread
// until the space's worker has reached a marker op (export) or built the records (import), so
// the public API calls them through BlockingExecutor, never on the cooperative pool.

/// Collects an export's bytes on the exporting thread (the C writer callback's).
private final class ExportSink {
    var bytes: [UInt8] = []
}

extension CCore {
    /// A consistent snapshot of the space as one stream. Blocks until the space's worker has
    /// reached the export marker and the stream is written.
    static func export(_ space: SpaceHandle, name: String) throws(MnemoError) -> [UInt8] {
        let sink = ExportSink()
        let status = withExtendedLifetime(sink) {
            mn_space_export(space.pointer, { context, data, size in
                guard let context else { return MN_ERR_INVALID }
                let sink = Unmanaged<ExportSink>.fromOpaque(context).takeUnretainedValue()
                if size > 0, let data {
                    sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size))
                }
                return MN_OK
            }, Unmanaged.passUnretained(sink).toOpaque())
        }
        try check(status, "export space \"\(name)\"")
        return sink.bytes
    }

    /// Creates the space `name` from an exported stream. Blocks until the space is built (and,
    /// in a durable engine, logged).
    static func importSpace(_ engine: EngineHandle, name: String, bytes: [UInt8]) throws(MnemoError) -> SpaceHandle {
        if name.utf8.count > Int(MN_ENGINE_NAME_BYTES_MAX) {
            throw MnemoError(.tooLarge, "space name of \(name.utf8.count) bytes (limit \(MN_ENGINE_NAME_BYTES_MAX))")
        }
        let nameBytes = Array(name.utf8)
        var pointer: OpaquePointer?
        let status = nameBytes.withUnsafeBufferPointer { nameBuffer in
            nameBuffer.withMemoryRebound(to: CChar.self) { nameChars in
                bytes.withUnsafeBytes { data in
                    mn_engine_space_import_buffer(engine.pointer, nameChars.baseAddress, UInt32(nameChars.count),
                                                  data.baseAddress, data.count, &pointer)
                }
            }
        }
        try check(status, "import space \"\(name)\"")
        guard let pointer else { throw MnemoError(.outOfMemory, "import returned no handle") }
        return SpaceHandle(pointer, engine: engine)
    }

    /// Streams a consistent snapshot of the space into `pipe`, chunk by chunk, on this
    /// (blocking) thread; the pipe holds the writer back while its consumer is behind, and a
    /// consumer that stops makes the writer fail (MN_ERR_IO), which ends the export.
    static func export(_ space: SpaceHandle, name: String, into pipe: ExportPipe) -> Result<Void, MnemoError> {
        let status = withExtendedLifetime(pipe) {
            mn_space_export(space.pointer, { context, data, size in
                guard let context else { return MN_ERR_INVALID }
                guard size > 0, let data else { return MN_OK }
                let pipe = Unmanaged<ExportPipe>.fromOpaque(context).takeUnretainedValue()
                return pipe.write(UnsafeRawBufferPointer(start: data, count: size)) ? MN_OK : MN_ERR_IO
            }, Unmanaged.passUnretained(pipe).toOpaque())
        }
        return Result { () throws(MnemoError) in try check(status, "export space \"\(name)\"") }
    }

    /// Creates the space `name` from the stream `pipe` is fed with, reading it on this
    /// (blocking) thread; a read waits while the pipe is empty and the source goes on.
    static func importSpace(_ engine: EngineHandle, name: String, reading pipe: ImportPipe) throws(MnemoError) -> SpaceHandle {
        if name.utf8.count > Int(MN_ENGINE_NAME_BYTES_MAX) {
            throw MnemoError(.tooLarge, "space name of \(name.utf8.count) bytes (limit \(MN_ENGINE_NAME_BYTES_MAX))")
        }
        let nameBytes = Array(name.utf8)
        var pointer: OpaquePointer?
        let status = withExtendedLifetime(pipe) {
            nameBytes.withUnsafeBufferPointer { nameBuffer in
                nameBuffer.withMemoryRebound(to: CChar.self) { nameChars in
                    mn_engine_space_import(engine.pointer, nameChars.baseAddress, UInt32(nameChars.count), { context, data, size in
                        guard let context else { return MN_ERR_INVALID }
                        guard size > 0 else { return MN_OK }
                        guard let data else { return MN_ERR_INVALID }
                        let pipe = Unmanaged<ImportPipe>.fromOpaque(context).takeUnretainedValue()
                        switch pipe.read(into: UnsafeMutableRawBufferPointer(start: data, count: size)) {
                        case .ok: return MN_OK
                        case .truncated: return MN_ERR_TRUNCATED
                        case .failed: return MN_ERR_IO
                        }
                    }, Unmanaged.passUnretained(pipe).toOpaque(), &pointer)
                }
            }
        }
        try check(status, "import space \"\(name)\"")
        guard let pointer else { throw MnemoError(.outOfMemory, "import returned no handle") }
        return SpaceHandle(pointer, engine: engine)
    }
}
