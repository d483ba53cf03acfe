/*
 * mn_engine_durable_internal.h: the durable engine's private state, shared by the write path and
 * recovery (mn_engine_durable.c), checkpoints (mn_engine_checkpoint.c) and lazy spaces
 * (mn_engine_lazy.c): the files behind the write-ahead-log durability table
 * (mn_engine_durability.h), which is the only way the rest of the engine reaches them.
 *
 * Synchronization of the checkpoint fields:
 * | field                    | written by                     | protected by                   |
 * |--------------------------|--------------------------------|--------------------------------|
 * | logged_bytes             | workers (after each append)    | atomic, relaxed (a trigger)    |
 * | checkpoint_run           | -                              | serialises whole checkpoints   |
 * | checkpoint_lock          | -                              | space->checkpoint_* fields,    |
 * |                          |                                | the registry, pack numbers,    |
 * |                          |                                | renaming packs; held by a drop |
 * |                          |                                | from its record to forgetting  |
 * | create_lock (rwlock)     | creators read-hold it from     | a checkpoint's cut and space   |
 * |                          | logging a creation until the   | list (write-held) see every    |
 * |                          | space is in the table          | logged creation in the table   |
 * | stop, wake               | mn_ckpt_stop, the thread    | thread_lock                    |
 * | checkpoints_done, ...    | checkpoint runs (under         | atomics, relaxed: read by      |
 * | (the counters block)     | checkpoint_run)                | mn_engine_durable_stats        |
 * | stubs, stub_count        | open (adds), loads (remove),   | stub_lock; held by a load      |
 * | (mn_engine_lazy.c)       | mn_engine_unload_idle (adds)   | until the space is published   |
 * Lock order: stub_lock, then the engine's table_lock, then checkpoint_lock; create_lock
 * before table_lock.
 */
#ifndef MN_ENGINE_DURABLE_INTERNAL_H
#define MN_ENGINE_DURABLE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "engine/mn_engine_durability.h"
#include "engine/mn_engine_internal.h"
#include "mnemo/mn_engine_durable.h"
#include "util/mn_vfs.h"
#include "wal/mn_wal.h"

/* The public durability modes (mnemo/mn_engine_durable.h) are the log's own, value for value:
 * the engine hands its mode to each log unchanged and compares it with either set. */
_Static_assert(MN_DURABLE_SYNC == MN_WAL_SYNC, "durability modes are the log's");
_Static_assert(MN_DURABLE_BATCHED == MN_WAL_BATCHED, "durability modes are the log's");
_Static_assert(MN_DURABLE_NONE == MN_WAL_NONE, "durability modes are the log's");
_Static_assert(sizeof(((mn_durable_report *)0)->damaged_file) ==
                   sizeof(((mn_wal_recovery *)0)->damaged_file),
               "a damaged log file's path is copied whole into the durable report");

/* A checkpoint freezes this many changed spaces at once (one export marker each, queued
 * together) before reading them one by one: a worker then freezes a run of small spaces back
 * to back instead of waking once per space. Bounded: frozen spaces take no writes. */
#define MN_DURABLE_CHECKPOINT_FREEZE_BATCH 64u
/* Packs an index may point into besides its own before a checkpoint copies the entries of
 * the emptiest ones into its new pack (so they can go); a mostly dead pack is copied from
 * regardless. Bounds the file count and the dead bytes. */
#define MN_DURABLE_CHECKPOINT_PACKS_MAX 16u
/* ... and a pack is "mostly dead" when its dead bytes exceed its live ones and this. */
#define MN_DURABLE_CHECKPOINT_DEAD_BYTES_MIN (1u << 20)

/** Where a space's newest checkpoint entry lies (mn_engine_checkpoint.c): pack file number,
 *  offset and size of the entry in it. space_id 0 marks an empty registry slot. */
typedef struct mn_ckpt_location {
    uint64_t space_id;
    uint64_t pack;
    uint64_t offset;
    uint64_t bytes;
} mn_ckpt_location;

/** One worker's log and its encoding scratch. Written by that worker only (the log itself is
 *  also appended to by threads creating or dropping spaces homed here, under its mutex). */
typedef struct mn_durable_log {
    _Alignas(MN_CACHE_LINE_SIZE) mn_wal *wal;
    uint8_t *scratch;
    size_t scratch_bytes;
    mn_wal_record records[MN_ENGINE_RUN_QUANTUM + 1]; /* + a VOID record (mn_engine_durable.c) */
} mn_durable_log;

_Static_assert(sizeof(mn_durable_log) % MN_CACHE_LINE_SIZE == 0, "logs on their own lines");

struct mn_durable {
    /* Space ids: creators (fetch_add). */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint64_t next_space_id;
    /* 0 during recovery (nothing is logged), then 1: stored by open (release), read by
     * workers and creators (acquire). */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint32_t logging;
    /* Bytes appended to the logs since open: workers add (relaxed), the trigger reads. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint64_t logged_bytes;
    /* Checkpoint counters for mn_engine_durable_stats (the metrics page): stored by the
     * checkpoint run that holds checkpoint_run, loaded by anyone without a lock. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint64_t checkpoints_done;
    _Atomic uint64_t checkpoint_failures;
    _Atomic int64_t checkpoint_last_unix_ns;   /* end of the last good one; 0: none yet */
    _Atomic uint64_t checkpoint_last_ns;       /* how long it took */
    _Atomic uint64_t checkpoint_mark_bytes;    /* checkpoint_mark, for readers */
    /* Immutable after open, except replay_space_id (the recovering thread only). */
    _Alignas(MN_CACHE_LINE_SIZE) mn_durable_options options;
    uint64_t replay_space_id;
    int64_t opened_unix_ns;        /* when open began (wall clock) */
    uint32_t log_count;            /* logs opened: the engine's worker count */
    const mn_vfs *vfs;             /* every file call of the logs, checkpoints and lock */
    int lock_fd;                   /* <path>/LOCK, locked (vfs handle) until close; -1: none */
    /* Log directories of an earlier open with more workers (wal-NNN, NNN >= log_count) found
     * at open: every record in them predates this open, so the next checkpoint deletes all of
     * their segments, as it deletes the live logs' segments before its cut. Set by open,
     * cleared by that checkpoint (under checkpoint_run). */
    uint8_t stale_logs[MN_DURABLE_LOGS_MAX];
    char path[MN_DURABLE_PATH_BYTES_MAX + 1];
    mn_durable_log logs[MN_DURABLE_LOGS_MAX];
    /* Checkpoints (mn_engine_checkpoint.c); see the table above. */
    pthread_mutex_t checkpoint_run;
    pthread_mutex_t checkpoint_lock;
    pthread_rwlock_t create_lock;
    pthread_mutex_t thread_lock;
    pthread_cond_t wake;
    pthread_t thread;
    int thread_started;
    int stop;                      /* under thread_lock */
    uint64_t checkpoint_mark;      /* logged_bytes when the last checkpoint began (run lock) */
    /* Packs (under checkpoint_lock): the registry is the next index, space id -> entry, for
     * every space with an entry on disk that is not dropped; registry_dirty says it changed
     * (a drop, an import, a failed index) since the last index was written. */
    mn_ckpt_location *registry;    /* open addressing, capacity a power of two */
    uint64_t registry_capacity;
    uint64_t registry_count;
    uint64_t next_pack;            /* the number the next pack file gets */
    uint64_t index_pack;           /* the newest full pack (0: none yet) */
    uint32_t registry_dirty;
    /* Lazy spaces: spaces whose checkpoint holds everything and that nobody has opened since
     * the engine opened, kept as a stub (id and name) until first use. Under stub_lock, which
     * a load holds until the space is in the table and its stub gone. */
    pthread_mutex_t stub_lock;
    struct mn_space_stub **stubs;
    uint64_t stub_buckets;         /* 0 or a power of two */
    uint64_t stub_count;
};

_Static_assert(offsetof(struct mn_durable, logging) % MN_CACHE_LINE_SIZE == 0, "own line");
_Static_assert(offsetof(struct mn_durable, logged_bytes) % MN_CACHE_LINE_SIZE == 0, "own line");
_Static_assert(offsetof(struct mn_durable, checkpoints_done) % MN_CACHE_LINE_SIZE == 0, "own line");
_Static_assert(offsetof(struct mn_durable, options) % MN_CACHE_LINE_SIZE == 0, "own line");

/* ---- the write-ahead-log durability table (mn_engine_durability.h) ----
 * Its hooks, by file. Each is called only through engine->durability, with the calling
 * thread and locks that mn_engine_durability.h lists. */

/* mn_engine_durable.c */
/** Logs a drained group (one write, one fdatasync) and writes each op's log status to
 *  statuses[i]: MN_OK (apply it) or an error (complete it with that status, unapplied);
 *  MN_DURABLE_STATUS_UNKNOWN: complete it with MN_ERR_IO and MN_DURABLE_DETAIL_UNKNOWN. */
void mn_durable_log_group(mn_worker *worker, struct mn_space *space, mn_op **group,
                          uint32_t count, mn_status *statuses);
/** Batched mode: syncs the worker's log when the interval has passed (idle loop); 1 while
 *  it still holds unsynced data. */
int mn_durable_tick(mn_worker *worker);
/** Logs a space's creation (before it enters the table) and assigns space->space_id. */
mn_status mn_durable_log_create(struct mn_engine *engine, struct mn_space *space);
/** Called once the space is in the table (or failed to enter it) after
 *  mn_durable_log_create succeeded: a checkpoint may cut the log again. */
void mn_durable_create_done(struct mn_engine *engine);
/** Logs a space's drop (before it leaves the table): MN_OK (its record is durable: dropped),
 *  an error (nothing logged: not dropped), or MN_DURABLE_STATUS_UNKNOWN (maybe logged). */
mn_status mn_durable_log_drop(struct mn_engine *engine, struct mn_space *space);
/** Once the workers stopped: syncs the logs (any mode but NONE) and releases the directory
 *  lock, so another engine may open the directory while this one's handles still exist (they
 *  answer MN_ERR_CLOSED). */
void mn_durable_close(struct mn_engine *engine);
/** Closes the logs (after the workers stopped) and frees the durable state. */
void mn_durable_free(struct mn_engine *engine);

/* mn_engine_checkpoint.c */
/** Stops the background checkpoint thread (first thing mn_engine_close does). */
void mn_ckpt_stop(struct mn_engine *engine);
/** Import's publish: gives the detached space an id and writes its checkpoint before
 *  mn_engine_space_publish. */
mn_status mn_ckpt_publish_imported(struct mn_engine *engine, struct mn_space *space,
                                   struct mn_space **out);

/* mn_engine_lazy.c: lazy spaces */
/** Loads the stub `name` from its checkpoint into the table and writes a handle to *out;
 *  without a stub, a handle to the table's space of that name (a concurrent load may just
 *  have put it there), or NULL. */
mn_status mn_lazy_space_load(struct mn_engine *engine, const char *name, uint32_t name_bytes,
                             struct mn_space **out);
/** 1 when `name` is an unloaded space's stub (create must say MN_ERR_DUPLICATE). */
int mn_lazy_stub_exists(struct mn_engine *engine, const char *name, uint32_t name_bytes);
/** Loaded spaces and stubs together, under stub_lock then the table lock (a load in between
 *  can neither hide nor repeat one). */
mn_status mn_lazy_space_count(struct mn_engine *engine, uint64_t *out);
mn_status mn_lazy_space_list(struct mn_engine *engine, mn_name_visit_fn visit, void *context);

/* ---- mn_engine_lazy.c: the rest of the lazy spaces ---- */

struct mn_checkpoint_loaded;
/** Initialises and frees the stub table (before the engine exists; after it is gone). */
void mn_lazy_state_init(struct mn_durable *d);
void mn_lazy_state_free(struct mn_durable *d);
/** Keeps a recovered, unloaded checkpoint as a stub until the space is first used. */
mn_status mn_lazy_stub_add(struct mn_durable *d, const struct mn_checkpoint_loaded *entry);

/* ---- mn_engine_durable.c: record payloads ---- */

/** Record types of a space's creation (sequence 0) and drop (MN_DURABLE_SEQUENCE_DROP). */
#define MN_DURABLE_REC_CREATE 0x100u
#define MN_DURABLE_REC_DROP 0x101u
/** A VOID record (a sequence of its own): the space's records with sequences first..last were
 *  in appends that failed and could not be cut off their log; recovery skips them and counts
 *  them as present for the gap rule. Payload: first, last (u64 each). */
#define MN_DURABLE_REC_VOID 0x102u
#define MN_DURABLE_VOID_FIRST 0u
#define MN_DURABLE_VOID_LAST 8u
#define MN_DURABLE_VOID_BYTES 16u
_Static_assert(MN_DURABLE_VOID_LAST + 8 == MN_DURABLE_VOID_BYTES, "void payload");

/** 1 for an operation kind that is a write (logged and replayed), 0 otherwise. */
int mn_durable_kind_is_write(uint32_t kind);
/** Decodes and checks an operation record against its space into a new op (free: apply);
 *  MN_ERR_CORRUPT when the payload is not a valid operation of that space. */
mn_status mn_durable_decode_op(const mn_wal_record *record, const struct mn_space *space,
                               struct mn_op **out);
/** Creates the space of a creation record with the record's id (logging must be off). */
mn_status mn_durable_replay_create(struct mn_engine *engine, const mn_wal_record *record,
                                   struct mn_space **out);

/* ---- mn_engine_replay.c: reading the logs in bounded memory ---- */

struct mn_checkpoint_loaded;

/**
 * Recovers every wal-NNN log of the data directory (torn tails cut, damage reported or
 * repaired) and replays each space's records above its checkpoint in sequence order, stopping
 * each space at its first gap. Payload memory in flight stays under options.replay_bytes.
 * Writes the largest space id seen to *max_id (raised only), the bytes of log read to
 * *log_bytes, and 1 to *gaps when some space stopped at a gap (its log_sequence is then the
 * largest sequence the logs hold, and it must be checkpointed before anything is logged).
 */
mn_status mn_replay_logs(struct mn_engine *engine, struct mn_checkpoint_loaded *loaded,
                         size_t loaded_count, uint64_t *max_id, uint64_t *log_bytes, int *gaps,
                         mn_durable_report *report);
/** Deletes every segment of log directory `index` (oldest first), then syncs it. */
mn_status mn_replay_delete_log(struct mn_durable *d, uint32_t index, uint32_t *deleted);

/* ---- mn_engine_checkpoint.c ---- */

/** A checkpoint loaded at open: the space it rebuilt and the last sequence it holds. */
typedef struct mn_checkpoint_loaded {
    uint64_t space_id;
    uint64_t sequence;
    uint64_t next_space_id;        /* the engine's next space id when it was written */
    uint64_t replayed;             /* log records replayed on top of it */
    struct mn_space *space;        /* a handle (NULL: not loaded, a stub), released by open */
    int dropped;                   /* its space's drop record was in a log */
    int gap;                       /* its log records stopped at a gap: written again at open */
    uint32_t name_bytes;
    char name[MN_ENGINE_NAME_BYTES_MAX + 1];
} mn_checkpoint_loaded;

/** Initialises the checkpoint locks (before the engine exists). */
void mn_ckpt_state_init(struct mn_durable *d);
/** Reads the newest index in <path>/spaces/N.pack and checks every entry it names (the spaces
 *  are not loaded yet), removing leftover .tmp files and packs no index points into. *out is
 *  sorted by space id (free it). MN_ERR_CORRUPT names the pack. */
mn_status mn_ckpt_load_all(struct mn_engine *engine, mn_checkpoint_loaded **out,
                           size_t *count, uint64_t *max_id, mn_durable_report *report);
/** Loads a checkpoint's space now from its entry (import with its id); MN_ERR_CORRUPT names
 *  the pack. */
mn_status mn_ckpt_load_space(struct mn_engine *engine, mn_checkpoint_loaded *entry,
                             mn_durable_report *report);
/** Recovery found space `space_id` dropped after its checkpoint: the next index leaves its
 *  entry out (the log keeps the drop record until then). */
mn_status mn_ckpt_remove(struct mn_durable *d, uint64_t space_id);
/** Starts the background checkpoint thread (after recovery). */
mn_status mn_ckpt_thread_start(struct mn_engine *engine);
/** Marks a dropped space so that no checkpoint takes it in again and removes it from the
 *  registry (the next index leaves it out). The caller holds checkpoint_lock, and has held it
 *  since before appending the drop record (mn_durable_log_drop): an index built after a cut
 *  that lies above that record then never names the space. */
void mn_ckpt_forget_locked(struct mn_durable *d, struct mn_space *space);
/** Runs a whole checkpoint from mn_engine_open (the logs are open, logging is not on yet). */
mn_status mn_ckpt_run_at_open(struct mn_engine *engine, mn_checkpoint_report *report);
/** Frees the checkpoint locks (the thread is stopped). */
void mn_ckpt_state_free(struct mn_durable *d);

#endif /* MN_ENGINE_DURABLE_INTERNAL_H */
