import CMnemo
import Foundation

// The C calls of associations and recall (mn_engine.h, "associations and recall"). Links are
// asynchronous writes through the space's mailbox, completed like inserts (CCore.submit);
// recall is a synchronous read on the caller's thread, like search.

/// Collects the memories a recall visits (the views are valid only during the visit).
private struct RecallCollector {
    var memories: [Recollection] = []
    /// Set when a visited memory's metadata document did not decode (never for documents the
    /// engine validated; reported as `.corrupt` rather than dropped silently).
    var corruptMetadata = false
}

/// Calls `body` with the UTF-8 bytes of two strings (no terminators).
private func withUTF8Pair<R>(_ a: String, _ b: String,
                             _ body: (UnsafePointer<CChar>?, UInt32, UnsafePointer<CChar>?, UInt32) -> R) -> R {
    let aBytes = Array(a.utf8), bBytes = Array(b.utf8)
    return aBytes.withUnsafeBufferPointer { aBuffer in
        bBytes.withUnsafeBufferPointer { bBuffer in
            aBuffer.withMemoryRebound(to: CChar.self) { aChars in
                bBuffer.withMemoryRebound(to: CChar.self) { bChars in
                    body(aChars.baseAddress, UInt32(clamping: aChars.count), bChars.baseAddress,
                         UInt32(clamping: bChars.count))
                }
            }
        }
    }
}

extension CCore {
    /// Queues a link and waits for it; returns `true` if the link existed (its weight was set).
    static func link(_ space: SpaceHandle, from: String, to: String, weight: Float,
                     waitWhenFull: Bool) async throws(MnemoError) -> Bool {
        let detail = try await submit("link \"\(from)\" -> \"\(to)\"", waitWhenFull: waitWhenFull) { done, context in
            withUTF8Pair(from, to) { a, aBytes, b, bBytes in
                mn_space_link(space.pointer, a, aBytes, b, bBytes, weight, 0, done, context)
            }
        }
        return detail == 1
    }

    /// Queues an unlink and waits for it (`.notFound` for an unknown id or no such link).
    static func unlink(_ space: SpaceHandle, from: String, to: String,
                       waitWhenFull: Bool) async throws(MnemoError) {
        _ = try await submit("unlink \"\(from)\" -> \"\(to)\"", waitWhenFull: waitWhenFull) { done, context in
            withUTF8Pair(from, to) { a, aBytes, b, bBytes in
                mn_space_unlink(space.pointer, a, aBytes, b, bBytes, 0, done, context)
            }
        }
    }

    static func linkCount(_ space: SpaceHandle) -> Int {
        var count: UInt64 = 0
        mn_space_link_count(space.pointer, &count)
        return Int(count)
    }

    static func recall(_ space: SpaceHandle, cue: [Float], seeds: Int, hops: Int, decay: Float,
                       threshold: Float, limit: Int, fanOut: Int, overSimilarity: Bool,
                       filter: Filter? = nil) throws(MnemoError) -> [Recollection] {
        guard let dimension = UInt32(exactly: cue.count) else {
            throw MnemoError(.wrongDimension, "cue of \(cue.count) floats")
        }
        guard let seedCount = UInt32(exactly: seeds), let hopCount = UInt32(exactly: hops),
              let fan = UInt32(exactly: fanOut), let limitValue = UInt32(exactly: limit), limit > 0 else {
            throw MnemoError(.invalidArgument,
                             "recall seeds \(seeds), hops \(hops), fanOut \(fanOut), limit \(limit)")
        }
        var params = mn_recall_params()
        mn_recall_params_default(&params)
        params.seeds = seedCount
        params.hops = hopCount
        params.fan_out = fan
        params.decay = decay
        params.threshold = threshold
        params.flags = overSimilarity ? 0 : UInt32(MN_RECALL_NO_SIMILARITY)
        // Compiled once, before the engine is asked anything: a bad filter throws
        // `.invalidFilter`. A NULL filter makes the filtered entry point mn_space_recall.
        let compiled = try filter?.compiled()
        var collector = RecallCollector()
        var found: UInt32 = 0
        let status = withExtendedLifetime(compiled) { cue.withUnsafeBufferPointer { cueBuffer in
            withUnsafeMutablePointer(to: &collector) { collectorPointer in
                mn_space_recall_filtered(space.pointer, cueBuffer.baseAddress, dimension, &params, compiled?.pointer,
                                         limitValue, { context, view in
                    guard let context, let view else { return }
                    let v = view.pointee
                    let id: String = v.id.map { pointer in
                        pointer.withMemoryRebound(to: UInt8.self, capacity: Int(v.id_bytes)) {
                            String(decoding: UnsafeBufferPointer(start: $0, count: Int(v.id_bytes)), as: UTF8.self)
                        }
                    } ?? ""
                    let content: [UInt8] = v.content.map {
                        Array(UnsafeBufferPointer(start: $0, count: Int(v.content_bytes)))
                    } ?? []
                    let metadata = CCore.decodeMetadata(UnsafeRawPointer(v.metadata), Int(v.metadata_bytes))
                    let memory = Recollection(id: id, activation: v.activation, hops: Int(v.hops), content: content,
                                              createdAt: Date(timeIntervalSince1970: Double(v.created_ns) / 1_000_000_000),
                                              metadata: metadata ?? Metadata())
                    let collector = context.assumingMemoryBound(to: RecallCollector.self)
                    if metadata == nil { collector.pointee.corruptMetadata = true }
                    collector.pointee.memories.append(memory)
                }, collectorPointer, &found)
            }
        } }
        try check(status, "recall")
        if collector.corruptMetadata { throw MnemoError(.corrupt, "recall: a metadata document does not decode") }
        return collector.memories
    }
}
