/*
 * mn_engine_durable.h: durable engines: a data directory, a write-ahead log per shard worker,
 * group commit, durability modes and recovery on open.
 *
 * mn_engine_open opens (or creates) a data directory and returns an ordinary engine
 * (mn_engine.h): every function of that header works on it unchanged. What differs is the
 * write path. A worker that runs a space drains up to MN_ENGINE_RUN_QUANTUM records from its
 * mailbox, encodes them as WAL records (each carries the space's id, the space's next sequence
 * number and a CRC32C), appends them to the worker's own log with ONE write and, per the
 * durability mode, ONE fdatasync (group commit), then applies them and completes the callers.
 * So a completion with MN_OK means the write is in the log (MN_DURABLE_SYNC: on disk).
 *
 *   MN_DURABLE_SYNC     acknowledged after fdatasync (the default)
 *   MN_DURABLE_BATCHED  acknowledged after write(); fdatasync at most every sync_interval_ms,
 *                       so a power loss (not a process crash) may lose that window of
 *                       acknowledged writes
 *   MN_DURABLE_NONE     never fdatasync: survives a process crash, not a power loss
 *
 * A write whose append fails (the write, or its fdatasync) is cut back off the log and the cut
 * synced, and completes with the error: it is never replayed, and its sequence numbers are given
 * out again. When even the cut fails the log refuses every later append (until reopened), the
 * sequences are never given out again, and a VOID record naming them is made durable in another
 * worker's log (or with the space's next successful write), so recovery skips them wherever
 * they lie. Only when no log takes that record does the write complete with MN_ERR_IO and
 * detail MN_DURABLE_DETAIL_UNKNOWN: it may or may not be there after a restart.
 *
 * Creating and dropping a space are logged (and synced) by the calling thread before they take
 * effect. Once a drop's record is durable the drop has happened (MN_OK): it touches no other
 * file (the next checkpoint's index leaves the space out). Recovery reads every log directory,
 * orders each space's records by sequence number
 * (work stealing means one space's records may sit in several workers' logs) and replays them
 * through the workers. A torn last record of a log is truncated; damage anywhere else stops the
 * open with MN_ERR_CORRUPT and the file and offset in the report, unless `repair` is set, which
 * cuts the damaged log there and reports what it dropped. A space whose records came back
 * with a gap (MN_DURABLE_BATCHED: logs synced independently, a power loss) is replayed up to its
 * first missing sequence only, and the gap reported. Recovery holds the position of every
 * record but at most `replay_bytes` of their payloads at once.
 *
 * Checkpoints (mn_engine_checkpoint, and a background thread) save every changed space into
 * one pack file with an index of every checkpointed space, and delete the log segments before
 * the cut; recovery reads the newest index first and replays only the log records above each
 * space's checkpointed sequence. The log read at open counts toward the automatic trigger,
 * and an open that read more than it checkpoints before returning, so a process restarted
 * often keeps its log (and its recovery time) bounded.
 *
 * Data directory layout:
 * | path                     | what                                                       |
 * |--------------------------|------------------------------------------------------------|
 * | <path>/wal-NNN/          | worker NNN's log (segment files), NNN = 000 ... 255        |
 * | <path>/spaces/N.pack     | checkpoint pack N (16 hex digits): entries (a header and   |
 * |                          | a space's export stream each) and an index (layout in      |
 * |                          | mn_engine_checkpoint.c, format version 2)                  |
 *
 * | <path>/LOCK              | flock'ed from open to close: one engine per directory      |
 *
 * Threads: as mn_engine.h. A directory is open in at most one engine at a time: a second
 * mn_engine_open of it, in this process or another, fails with MN_ERR_LOCKED until the first
 * engine is closed.
 */
#ifndef MN_ENGINE_DURABLE_H
#define MN_ENGINE_DURABLE_H

#include <stdint.h>

#include "mn_engine.h"
#include "mn_limits.h"
#include "mn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A durability mode: when a write is acknowledged (the values of the log's own modes). */
typedef int32_t mn_durability;
#define MN_DURABLE_SYNC    0 /**< after fdatasync (default) */
#define MN_DURABLE_BATCHED 1 /**< after write(); fdatasync at most every sync_interval_ms */
#define MN_DURABLE_NONE    2 /**< after write(); never fdatasync (page cache only) */

/** Durability options. Fill with mn_durable_options_default, then change fields. */
typedef struct mn_durable_options {
    const char *path;              /**< the data directory; created (one level) if absent */
    mn_durability durability;      /**< MN_DURABLE_SYNC (default), _BATCHED or _NONE */
    uint32_t sync_interval_ms;     /**< MN_DURABLE_BATCHED: 1 ... MN_WAL_SYNC_INTERVAL_MS_MAX */
    uint64_t segment_bytes;        /**< log segment size; default MN_WAL_SEGMENT_BYTES_DEFAULT */
    uint32_t repair;               /**< 1: cut a corrupt log at the damage instead of failing */
    uint32_t reserved;
    /** Automatic checkpoint after this many bytes of log since the last one (background
     *  thread); 0 turns automatic checkpoints off. Default MN_DURABLE_CHECKPOINT_LOG_BYTES. */
    uint64_t checkpoint_log_bytes;
    /** Recovery holds at most about this many bytes of log payload in memory at once (records
     *  read back from the logs and not yet applied; the index of every record's position is
     *  kept besides, 48 bytes a record). 0: MN_DURABLE_REPLAY_BYTES. */
    uint64_t replay_bytes;
} mn_durable_options;

/** What recovery found and did (filled by mn_engine_open, also when it fails). */
typedef struct mn_durable_report {
    uint64_t logs;                 /**< log directories read */
    uint64_t records;              /**< valid records read */
    uint64_t replayed;             /**< records replayed into spaces */
    uint64_t skipped;              /**< records of dropped or unknown spaces */
    uint64_t spaces;               /**< spaces after recovery */
    uint64_t torn_bytes;           /**< bytes of torn tails truncated (all logs) */
    int32_t repaired;              /**< 1 when `repair` dropped damaged data */
    int32_t reserved;
    uint64_t dropped_bytes;        /**< repair: bytes dropped */
    uint64_t dropped_segments;     /**< repair: whole segments dropped */
    uint64_t damaged_offset;       /**< MN_ERR_CORRUPT or repair: offset of the damaged record */
    char damaged_file[MN_DURABLE_FILE_PATH_BYTES_MAX]; /**< ... and its file ("" when none) */
    uint64_t checkpoints;          /**< checkpoint entries read (one per space) */
    uint64_t log_bytes;            /**< bytes of log records read (all logs) */
    uint64_t replay_peak_bytes;    /**< most payload bytes held at once while replaying */
    /** Spaces whose records stopped at a gap (a sequence missing, later ones present: a
     *  MN_DURABLE_BATCHED power loss), the records dropped above their gaps, and the last such
     *  space's id with its first missing sequence. */
    uint64_t gap_spaces;
    uint64_t gap_records;
    uint64_t gap_space;
    uint64_t gap_sequence;
    /** 1 when open checkpointed before returning: the log since the last checkpoint was over
     *  checkpoint_log_bytes (it counts across restarts), or a space stopped at a gap. */
    uint32_t checkpointed;
    uint32_t reserved2;
} mn_durable_report;

/** What one checkpoint did (mn_engine_checkpoint). */
typedef struct mn_checkpoint_report {
    uint64_t spaces_written;       /**< spaces whose checkpoint entry was (re)written */
    uint64_t spaces_unchanged;     /**< spaces skipped: nothing applied since their last one */
    uint64_t bytes_written;        /**< bytes of the pack file written (entries and index) */
    uint64_t segments_deleted;     /**< log segments deleted (all logs) */
} mn_checkpoint_report;

/** Buckets of mn_durable_stats.fsync_buckets (a log2 histogram of nanoseconds). */
#define MN_DURABLE_FSYNC_BUCKETS MN_WAL_SYNC_LATENCY_BUCKETS

/** Counters of a durable engine's logs and checkpoints since it was opened (for a metrics
 *  page; mn_engine_durable_stats). Every count is monotonic. */
typedef struct mn_durable_stats {
    uint64_t fsyncs;               /**< fdatasyncs of the log segments, all workers' logs */
    uint64_t fsync_ns;             /**< their total latency in nanoseconds */
    /** fsync_buckets[i]: syncs that took [2^i, 2^(i+1)) ns (bucket 0 also 0 ns); the last
     *  bucket also counts every longer one. */
    uint64_t fsync_buckets[MN_DURABLE_FSYNC_BUCKETS];
    uint64_t checkpoints;          /**< checkpoints completed (open's own, manual, background) */
    uint64_t checkpoint_failures;  /**< checkpoints that returned an error (close's stop aside) */
    int64_t last_checkpoint_unix_ns; /**< when the last one completed; 0: none since open */
    uint64_t last_checkpoint_ns;   /**< how long the last one took */
    int64_t opened_unix_ns;        /**< when the engine was opened (Unix epoch ns) */
    uint64_t logged_bytes;         /**< bytes appended to the logs since open (plus the log
                                        read at open, as the checkpoint trigger counts it) */
    uint64_t log_bytes_since_checkpoint; /**< of those, since the last checkpoint began: what
                                        a restart would replay, about */
    uint32_t durable;              /**< 1 for an engine from mn_engine_open, 0: all zeros */
    uint32_t reserved;
} mn_durable_stats;

/**
 * Copies the engine's log and checkpoint counters to *out. Reads relaxed atomics and takes no
 * lock, so a metrics scrape never waits on a log write or a checkpoint; the fields are each
 * exact but not one instant's snapshot. An in-memory engine gives MN_OK and zeros (durable 0).
 * Errors: MN_ERR_INVALID (NULL). Blocking: never.
 */
mn_status mn_engine_durable_stats(const mn_engine *engine, mn_durable_stats *out);

/** Fills *out with the defaults: `path`, MN_DURABLE_SYNC, 10 ms, 64 MiB segments, no repair.
 *  Blocking: never. */
mn_status mn_durable_options_default(const char *path, mn_durable_options *out);

/**
 * Opens or creates the data directory durable->path, recovers its spaces, and returns a
 * running engine. `options` may be NULL (defaults); `report` may be NULL. Errors:
 * MN_ERR_INVALID (NULL, a bad mode or interval), MN_ERR_TOO_LARGE (path over
 * MN_DURABLE_PATH_BYTES_MAX), MN_ERR_IO, MN_ERR_CORRUPT (report names file and offset),
 * MN_ERR_VERSION, MN_ERR_NO_MEMORY, MN_ERR_LOCKED (the directory is open in another engine, of
 * this process or another: an exclusive lock on durable->path/LOCK is held from open until
 * mn_engine_close; nothing is read or changed), and mn_engine_create's errors.
 *
 *     mn_durable_options d;
 *     mn_durable_options_default("/var/lib/mnemo", &d);
 *     mn_engine *engine = NULL;
 *     mn_status s = mn_engine_open(NULL, &d, &engine, NULL);
 *
 * Blocking: until the directory is recovered and the workers run: reads every checkpoint and
 * log, truncates, fsyncs.
 */
mn_status mn_engine_open(const mn_engine_options *options, const mn_durable_options *durable,
                         mn_engine **out, mn_durable_report *report);

/** Writes 1 to *out for an engine from mn_engine_open, 0 for an in-memory one.
 *  Blocking: never. */
mn_status mn_engine_is_durable(const mn_engine *engine, uint32_t *out);

/** Completion detail of a write that failed with MN_ERR_IO and whose record could neither be
 *  cut off its log nor voided in another: it may be present after a restart, or not. */
#define MN_DURABLE_DETAIL_UNKNOWN UINT64_MAX

/** Makes every logged write durable now (fdatasync of each worker's log; any mode but NONE).
 *  Blocking: until every log is fdatasynced. */
mn_status mn_engine_sync(mn_engine *engine);

/**
 * Checkpoints the database now and deletes the log segments it made unnecessary: (1) the cut:
 * each worker log's current segment number; (2) every space changed since its last checkpoint
 * (or never checkpointed) is exported between two of its writes into one pack file, followed
 * by an index of every checkpointed space; the pack is fsynced once and renamed into place;
 * the directory is fsynced; (3) each log's segments below the cut are deleted, then the packs
 * the new index no longer points into. Writes go on meanwhile: a space being exported takes
 * no writes until its entry is written (they wait in its mailbox), its worker runs its other
 * spaces. Blocks (file I/O). One checkpoint runs at a time (a second caller
 * waits); the background thread runs the same function when the log has grown by
 * checkpoint_log_bytes. `report` may be NULL. Callable from any thread but a completion
 * callback. A no-op for an in-memory engine. Errors: MN_ERR_INVALID (NULL), MN_ERR_IO (a file
 * could not be written; no segment is deleted), MN_ERR_CLOSED, MN_ERR_NO_MEMORY.
 *
 *     mn_checkpoint_report r;
 *     mn_status s = mn_engine_checkpoint(engine, &r); // r.segments_deleted ...
 *
 * Blocking: until the checkpoint is written, synced and the log cut (see above).
 */
mn_status mn_engine_checkpoint(mn_engine *engine, mn_checkpoint_report *report);

/**
 * Lazy spaces. On open, a space whose checkpoint holds all of it (no log record above it) is
 * not loaded: the engine keeps a stub (its id and name, ~50 bytes) and loads the checkpoint on
 * the first mn_engine_space_open (or drop); counts and lists include stubs, and a stub's name
 * cannot be created again. mn_engine_unload_idle turns every idle loaded space back into a
 * stub: no handle open, nothing queued or running, and nothing taken since its last checkpoint
 * (run mn_engine_checkpoint first). Writes the number unloaded to *unloaded (may be NULL).
 * A no-op for an in-memory engine. Errors: MN_ERR_INVALID, MN_ERR_CLOSED, MN_ERR_NO_MEMORY.
 *
 *     mn_engine_checkpoint(engine, NULL);
 *     uint64_t n = 0;
 *     mn_engine_unload_idle(engine, &n); // n spaces now take a stub each
 *
 * Blocking: on the locks a lazy load and a checkpoint hold (file reads and writes).
 */
mn_status mn_engine_unload_idle(mn_engine *engine, uint64_t *unloaded);

#ifdef __cplusplus
}
#endif

#endif /* MN_ENGINE_DURABLE_H */
