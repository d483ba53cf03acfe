import CMnemo
import Foundation

// The C calls of export and import (mn_engine.h, "export and import"). Both block their thread
// until the space's worker has reached a marker op (export) or built the records (import), so
// they run on a dedicated thread, never on the cooperative pool, and resume the caller after.

/// Collects an export's bytes; used by one thread at a time (the C writer callback's).
private final class ExportSink: @unchecked Sendable {
    // @unchecked: appended to only on the exporting thread, read after it has finished.
    var bytes: [UInt8] = []
}

/// Runs `body` on a new thread and returns its result to the awaiting task.
private func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.start()
    }
}

extension CCore {
    /// A consistent snapshot of the space as one stream.
    static func export(_ space: SpaceHandle, name: String) async throws(MnemoError) -> [UInt8] {
        let sink = ExportSink()
        let status: mn_status = await onOwnThread {
            let context = Unmanaged.passUnretained(sink).toOpaque()
            return mn_space_export(space.pointer, { context, data, size in
                guard let context else { return MN_ERR_INVALID }
                let sink = Unmanaged<ExportSink>.fromOpaque(context).takeUnretainedValue()
                if size > 0, let data {
                    sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size))
                }
                return MN_OK
            }, context)
        }
        try check(status, "export space \"\(name)\"")
        return sink.bytes
    }

    /// Creates the space `name` from an exported stream.
    static func importSpace(_ engine: EngineHandle, name: String, bytes: [UInt8]) async throws(MnemoError) -> SpaceHandle {
        if name.utf8.count > Int(MN_ENGINE_NAME_BYTES_MAX) {
            throw MnemoError(.tooLarge, "space name of \(name.utf8.count) bytes (limit \(MN_ENGINE_NAME_BYTES_MAX))")
        }
        let nameBytes = Array(name.utf8)
        let (status, raw): (mn_status, UInt) = await onOwnThread {
            var pointer: OpaquePointer?
            let status = nameBytes.withUnsafeBufferPointer { nameBuffer in
                nameBuffer.withMemoryRebound(to: CChar.self) { nameChars in
                    bytes.withUnsafeBytes { data in
                        mn_engine_space_import_buffer(engine.pointer, nameChars.baseAddress, UInt32(nameChars.count),
                                                      data.baseAddress, data.count, &pointer)
                    }
                }
            }
            // An OpaquePointer is not Sendable: it crosses back as an address.
            return (status, pointer.map { UInt(bitPattern: UnsafeRawPointer($0)) } ?? 0)
        }
        try check(status, "import space \"\(name)\"")
        guard raw != 0, let pointer = OpaquePointer(bitPattern: raw) else {
            throw MnemoError(.outOfMemory, "import returned no handle")
        }
        return SpaceHandle(pointer, engine: engine)
    }
}
