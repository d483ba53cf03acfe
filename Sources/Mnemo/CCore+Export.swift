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
}
