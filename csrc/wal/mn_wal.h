/*
 * mn_wal.h: the write-ahead log: numbered segment files of checksummed records, appended in
 * group commits and replayed on open.
 *
 * Private to the core: the durable engine (csrc/engine/mn_engine_durable.c) and the C tests use
 * it; applications open a data directory with mn_engine_open (mnemo/mn_engine_durable.h).
 *
 * A log is a directory of segment files named by a 20-digit decimal number ("%020llu.wal"),
 * numbered without gaps; the appender writes to the highest one and rotates to the next number
 * before a batch would take the segment past its size limit (a batch never spans segments; a
 * batch larger than the limit gets a segment of its own). Every record carries its space id, a
 * per-space sequence number, a record type and a CRC32C (Castagnoli). The byte layouts are drawn
 * in csrc/wal/mn_wal_internal.h.
 *
 * Group commit: mn_wal_append encodes a whole batch into one buffer, writes it with one write
 * and then, per the durability mode, makes it durable with one fdatasync:
 *   MN_WAL_SYNC     fdatasync before every append returns (the default; acknowledge after it)
 *   MN_WAL_BATCHED  fdatasync when the last one is at least sync_interval_ms old; the caller
 *                   calls mn_wal_tick on a timer so a quiet log is synced within the interval
 *   MN_WAL_NONE     never fdatasync: records survive a process crash, not a power loss
 * The durable state of each append is reported (mn_wal_append_info.synced), so an engine can
 * acknowledge writes only once they are on disk.
 *
 * Recovery (mn_wal_recover) reads every segment in order and hands each record to a callback.
 * A damaged record is a torn tail when it is in the LAST segment and no valid record follows it
 * anywhere in that segment (a crash mid-write leaves garbage or zeros only at the end): the tail
 * is truncated and its size reported. A damaged record anywhere else, a gap in the segment
 * numbers, or a damaged record followed by a valid one stops recovery with MN_ERR_CORRUPT, the
 * file's path and the record's byte offset in the report. With MN_WAL_RECOVER_REPAIR the log is
 * instead cut at the damaged record (that segment truncated, every later one deleted) and the
 * report says exactly which file, offset, byte count and segments were dropped.
 * Limitation: a crash in MN_WAL_BATCHED or MN_WAL_NONE mode on a disk that persists a later
 * sector of an unsynced tail but not an earlier one is reported as corruption; the repair flag
 * recovers every record before the damage.
 *
 * Checkpoints: the engine saves its spaces, then calls mn_wal_delete_before with the segment that
 * was current when the checkpoint began (mn_wal_position); every record in the deleted segments
 * is covered by the checkpoint. Recovery reports each record's segment for the same purpose.
 *
 * Synchronization notes
 * ---------------------
 * | object            | written by                       | protected by                      |
 * |-------------------|----------------------------------|-----------------------------------|
 * | mn_wal (appender) | any thread calling append, tick, | one internal mutex per log, held  |
 * |                   | sync, delete_before, position    | for a whole call (fdatasync too)  |
 * | segment files     | the appender; recovery           | recovery must finish before the   |
 * |                   |                                  | log is opened for appending       |
 * The engine gives each worker its own log (one directory each), so the mutex is uncontended;
 * several workers may share one log safely, their batches then serialising on the mutex (a
 * shared log is still one group commit per call). mn_wal_close must not race any other call.
 * Recovery and delete work on files only and are not safe against a concurrent appender on the
 * same directory except through mn_wal_delete_before, which takes the appender's mutex.
 */
#ifndef MN_WAL_H
#define MN_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "mnemo/mn_limits.h"
#include "mnemo/mn_replica.h"
#include "mnemo/mn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An open log, appending. Opaque; pair mn_wal_open with mn_wal_close. */
typedef struct mn_wal mn_wal;

/** A durability mode. */
typedef int32_t mn_wal_durability;
#define MN_WAL_SYNC    0 /**< fdatasync before each append returns (default) */
#define MN_WAL_BATCHED 1 /**< fdatasync at most every sync_interval_ms (plus mn_wal_tick) */
#define MN_WAL_NONE    2 /**< never fdatasync (page cache only) */

/** Options of an appender. */
struct mn_vfs; /* csrc/util/mn_vfs.h: the file-system seam (private) */

typedef struct mn_wal_options {
    const char *directory;          /**< the log directory; created (one level) if absent */
    uint64_t segment_bytes;         /**< rotation limit, MN_WAL_SEGMENT_BYTES_MIN ... _MAX */
    mn_wal_durability durability;   /**< MN_WAL_SYNC, MN_WAL_BATCHED or MN_WAL_NONE */
    uint32_t sync_interval_ms;      /**< MN_WAL_BATCHED: 1 ... MN_WAL_SYNC_INTERVAL_MS_MAX */
    const struct mn_vfs *vfs;       /**< every file call goes through it; NULL: mn_vfs_posix() */
} mn_wal_options;

/** One record, as appended and as replayed: the replication seam's public record type
 *  (include/mnemo/mn_replica.h), so what the seam ships is what the log holds. Fields: `space`
 *  (a numeric id of the space), `sequence` (the space's sequence number of this write),
 *  `type` (caller-defined, nonzero), `payload_bytes` (0 ... MN_WAL_PAYLOAD_BYTES_MAX) and
 *  `payload` (may be NULL when payload_bytes is 0; on replay valid only during the callback). */
typedef mn_replica_record mn_wal_record;

/** Where a record lies: its segment number and the byte offset of its header in that file. */
typedef struct mn_wal_position {
    uint64_t segment;
    uint64_t offset;
} mn_wal_position;

/** What one append did. */
typedef struct mn_wal_append_info {
    mn_wal_position first; /**< position of the batch's first record */
    uint64_t bytes;        /**< bytes the batch took in the segment */
    int32_t synced;        /**< 1 when every appended record so far is durable (fdatasync) */
    int32_t rotated;       /**< 1 when this append started a new segment */
} mn_wal_append_info;

/** Fills *out with the defaults: `directory`, 64 MiB segments, MN_WAL_SYNC, 10 ms. */
mn_status mn_wal_options_default(const char *directory, mn_wal_options *out);

/**
 * Opens the log in options->directory for appending, creating the directory if absent, and
 * starts a new segment numbered one past the highest present (1 for an empty log). Run
 * mn_wal_recover on the directory first: open does not read old segments, and a torn tail
 * left in an older segment would later read as corruption. Errors: MN_ERR_INVALID (NULL, a
 * mode, size or interval out of range), MN_ERR_TOO_LARGE (path too long, too many segments),
 * MN_ERR_IO (the directory or file could not be created), MN_ERR_NO_MEMORY.
 */
mn_status mn_wal_open(const mn_wal_options *options, mn_wal **out);

/**
 * Syncs anything not yet durable (unless MN_WAL_NONE) and closes the log. NULL is accepted.
 * Returns MN_ERR_IO when that final fdatasync failed (the log is closed either way).
 */
mn_status mn_wal_close(mn_wal *wal);

/**
 * Appends `count` records as one group commit: one write of the encoded batch, then one
 * fdatasync per the durability mode (rotating first when the batch would overflow the segment).
 * The whole batch is validated first; on any error nothing is appended. Errors: MN_ERR_INVALID
 * (NULL, count 0, type 0, NULL payload with bytes), MN_ERR_TOO_LARGE (over
 * MN_WAL_BATCH_RECORDS_MAX, MN_WAL_PAYLOAD_BYTES_MAX or MN_WAL_BATCH_BYTES_MAX), MN_ERR_NO_MEMORY,
 * MN_ERR_IO (a write or fdatasync failed: the batch is cut back off the segment and, unless
 * MN_WAL_NONE, the cut fdatasynced, so it is in neither the file nor the disk and the log goes
 * on; when that cut fails too, every later append also returns MN_ERR_IO and the batch may be in
 * the file: the log must be recovered). MN_ERR_FULL for no space left, likewise.
 * `info` may be NULL.
 */
mn_status mn_wal_append(mn_wal *wal, const mn_wal_record *records, uint32_t count,
                        mn_wal_append_info *info);

/** MN_WAL_BATCHED: fdatasyncs if anything is unsynced and the interval has passed; writes 1 to
 *  *synced (may be NULL) when everything appended is durable. Other modes: a no-op (NONE: 0). */
mn_status mn_wal_tick(mn_wal *wal, int32_t *synced);

/** fdatasyncs now if anything appended is not yet durable (any mode). MN_ERR_IO on failure. */
mn_status mn_wal_sync(mn_wal *wal);

/** The log's fdatasync latency counters (each monotonic). */
typedef struct mn_wal_sync_stats {
    uint64_t syncs;        /**< fdatasyncs of the segment files (failed ones included) */
    uint64_t sync_ns;      /**< their total latency */
    uint64_t buckets[MN_WAL_SYNC_LATENCY_BUCKETS]; /**< log2 histogram (mn_limits.h) */
} mn_wal_sync_stats;

/** Bucket of a latency of `ns` nanoseconds: floor(log2(ns)), 0 for 0 and 1, at most the last. */
uint32_t mn_wal_sync_bucket(uint64_t ns);

/** Adds this log's fdatasync counters to *sum (so an engine totals its logs). Reads them with
 *  relaxed atomic loads and no lock: callable from any thread while the log appends; the
 *  counters of one call are each exact but not a snapshot of one instant (a sync that lands
 *  between two loads may be in `syncs` and not yet in its bucket). */
mn_status mn_wal_sync_stats_add(const mn_wal *wal, mn_wal_sync_stats *sum);

/** Writes the current segment and the offset where the next record will go to *out. */
mn_status mn_wal_position_get(mn_wal *wal, mn_wal_position *out);

/**
 * Deletes every segment numbered below `segment` (never the current one) and syncs the
 * directory; writes the number deleted to *deleted (may be NULL). MN_ERR_IO if an unlink failed
 * (segments already deleted stay deleted; the remaining ones are still a gap-free suffix).
 */
mn_status mn_wal_delete_before(mn_wal *wal, uint64_t segment, uint32_t *deleted);

/* ---- recovery ---- */

/** Recovery flags. */
#define MN_WAL_RECOVER_REPAIR    1u /**< cut the log at a corrupt record instead of failing */
#define MN_WAL_RECOVER_READ_ONLY 2u /**< change no file (torn tails and damage only reported) */

/** What recovery found and did. Zeroed at the start of mn_wal_recover. */
typedef struct mn_wal_recovery {
    uint64_t segments;          /**< segment files read */
    uint64_t first_segment;     /**< lowest segment number (0 when none) */
    uint64_t last_segment;      /**< highest segment number (0 when none) */
    uint64_t records;           /**< records handed to the callback */
    mn_wal_position end;        /**< end of the last valid record (after truncation) */
    uint64_t torn_bytes;        /**< bytes of a torn tail cut from the last segment (0: none) */
    uint64_t torn_segment;      /**< its segment number */
    /** The damaged record (MN_ERR_CORRUPT or a repair): its file, segment and offset. */
    char damaged_file[MN_WAL_PATH_BYTES_MAX];
    uint64_t damaged_segment;
    uint64_t damaged_offset;
    int32_t repaired;           /**< 1 when MN_WAL_RECOVER_REPAIR dropped data */
    int32_t reserved;
    uint64_t dropped_bytes;     /**< repair: bytes cut from the damaged segment, plus the
                                     sizes of the later segments deleted */
    uint64_t dropped_segments;  /**< repair: later segment files deleted (whole) */
} mn_wal_recovery;

/** Called once per record in log order; a non-OK return stops recovery with that status. */
typedef mn_status (*mn_wal_record_fn)(void *context, const mn_wal_record *record,
                                      const mn_wal_position *position);

/**
 * Reads every segment of `directory` in order, calling `callback` (may be NULL) for each valid
 * record, and fills *report (required). A missing directory is an empty log. A torn tail of the
 * last segment is truncated (a segment whose header is torn is removed) unless
 * MN_WAL_RECOVER_READ_ONLY. Errors: MN_ERR_CORRUPT (report names the file and offset; with
 * MN_WAL_RECOVER_REPAIR the log is cut there and MN_OK returned instead), MN_ERR_VERSION (a
 * segment of an unknown format version; never repaired), MN_ERR_IO, MN_ERR_NO_MEMORY,
 * MN_ERR_TOO_LARGE (path or segment count over its limit), MN_ERR_INVALID (NULL directory or
 * report, unknown flags), or the callback's status.
 */
mn_status mn_wal_recover(const char *directory, uint32_t flags, mn_wal_record_fn callback,
                         void *context, mn_wal_recovery *report);

#ifdef __cplusplus
}
#endif

#endif /* MN_WAL_H */
