import CMnemo
import Foundation

// The C calls of durable databases (mn_engine_durable.h): opening a data directory with
// recovery, syncing, checkpoints, and mapping a recovery report into the thrown error's message.
// Every one of them but isDurable blocks (file I/O, fsync, waiting for workers): the public API
// calls them through BlockingExecutor, never on the cooperative pool.

extension CCore {
    /// Opens (and recovers) a data directory. Blocks.
    static func openEngine(path: String, _ options: DatabaseOptions) throws(MnemoError) -> EngineHandle {
        var c = engineOptions(options)
        var pointer: OpaquePointer?
        var report = mn_durable_report()
        let status: mn_status = path.withCString { cPath in
            var d = mn_durable_options()
            mn_durable_options_default(cPath, &d)
            switch options.durability {
            case .sync:
                d.durability = MN_DURABLE_SYNC
            case .batched(let milliseconds):
                d.durability = MN_DURABLE_BATCHED
                d.sync_interval_ms = UInt32(clamping: milliseconds)
            case .none:
                d.durability = MN_DURABLE_NONE
            }
            d.repair = options.repairLog ? 1 : 0
            return mn_engine_open(&c, &d, &pointer, &report)
        }
        if status != MN_OK {
            var context = "open database at \(path)"
            if status == MN_ERR_CORRUPT {
                let file = withUnsafeBytes(of: report.damaged_file) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                context += " (damaged record in \(file) at offset \(report.damaged_offset))"
            }
            try check(status, context)
        }
        guard let pointer else { throw MnemoError(.outOfMemory, "open database returned no engine") }
        return EngineHandle(pointer)
    }

    static func isDurable(_ engine: EngineHandle) -> Bool {
        var durable: UInt32 = 0
        mn_engine_is_durable(engine.pointer, &durable)
        return durable != 0
    }

    /// fdatasyncs every worker's log. Blocks.
    static func syncEngine(_ engine: EngineHandle) throws(MnemoError) {
        try check(mn_engine_sync(engine.pointer), "sync database")
    }

    /// Checkpoints every changed space and deletes the log segments behind them. Blocks until
    /// each space's worker has reached its export marker and the files are synced.
    static func checkpointEngine(_ engine: EngineHandle) throws(MnemoError) {
        try check(mn_engine_checkpoint(engine.pointer, nil), "checkpoint database")
    }

    /// Turns every idle, checkpointed space back into a stub; returns how many. Blocks while a
    /// lazy space is loading or a checkpoint is writing (it takes their locks).
    static func unloadIdleSpaces(_ engine: EngineHandle) throws(MnemoError) -> Int {
        var unloaded: UInt64 = 0
        try check(mn_engine_unload_idle(engine.pointer, &unloaded), "unload idle spaces")
        return Int(unloaded)
    }
}

extension CCore {
    /// The log and checkpoint counters (relaxed atomic loads; never blocks).
    static func durabilityStats(_ engine: EngineHandle) -> DurabilityStats {
        var s = mn_durable_stats()
        mn_engine_durable_stats(engine.pointer, &s)
        let buckets = withUnsafeBytes(of: s.fsync_buckets) { raw in
            raw.bindMemory(to: UInt64.self).map { Int(clamping: $0) }
        }
        func date(_ unixNanoseconds: Int64) -> Date? {
            unixNanoseconds == 0 ? nil : Date(timeIntervalSince1970: Double(unixNanoseconds) / 1e9)
        }
        return DurabilityStats(
            isDurable: s.durable != 0, fsyncs: Int(clamping: s.fsyncs),
            fsyncTotal: .nanoseconds(Int64(clamping: s.fsync_ns)), fsyncBuckets: buckets,
            checkpoints: Int(clamping: s.checkpoints),
            checkpointFailures: Int(clamping: s.checkpoint_failures),
            lastCheckpoint: date(s.last_checkpoint_unix_ns),
            lastCheckpointDuration: .nanoseconds(Int64(clamping: s.last_checkpoint_ns)),
            opened: date(s.opened_unix_ns), loggedBytes: Int(clamping: s.logged_bytes),
            logBytesSinceCheckpoint: Int(clamping: s.log_bytes_since_checkpoint))
    }
}
