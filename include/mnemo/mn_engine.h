/*
 * mn_engine.h: the single-machine engine: named memory spaces served by one shard worker per CPU.
 *
 * A memory space is one isolated cognitive context (one user's or agent's memories) with its own
 * HNSW index (mn_hnsw.h), so writers of different spaces never contend. Every space has a home
 * worker, XXH64(name) mod workers. Writes (insert, upsert, delete, batch) are records queued in
 * the space's bounded lock-free mailbox; a worker that runs the space applies them in submission
 * order, one worker at a time, and completes each through a callback on the worker thread. An
 * idle worker steals runnable spaces from the busiest worker, and helps link large batches.
 * Reads (get, search) run on the caller's thread, concurrently with the space's writer, inside
 * liburcu (memb) read-side sections.
 *
 * Submission contract
 * -------------------
 * A submit function (mn_space_insert, _upsert, _delete, _insert_batch, _barrier, their _meta
 * forms, _patch_metadata, _link, _unlink) validates its input on the caller's thread and
 * copies it into one mailbox record. It returns MN_OK when the
 * record is queued: `done` is then called exactly once, on a worker thread, with the status of
 * the applied operation. Any other return means nothing was queued and `done` is never called.
 * A full mailbox (its depth of records, or queue_bytes_max bytes of them) returns MN_ERR_FULL,
 * unless `flags` has MN_SUBMIT_WAIT, in which case the caller waits (yielding the CPU) until
 * there is room. A record larger than queue_bytes_max, or a write that would take the space past
 * space_bytes_max, returns MN_ERR_TOO_LARGE. Nothing accepted is ever dropped: closing
 * the engine applies every queued record before the workers stop.
 *
 * Ordering: records from one thread into one space are applied in the order they were submitted;
 * records from several threads are applied in the order their enqueues took effect. Once `done`
 * has been called for an insert, a get or search that starts afterwards (on any thread that
 * synchronised with the callback) sees the memory.
 *
 * Synchronization table (fields live in csrc/engine/mn_engine_internal.h)
 * ------------------------------------------------------------------------
 * | field                          | written by                | read by            | protected by                          |
 * |--------------------------------|---------------------------|--------------------|---------------------------------------|
 * | space mailbox enqueue_pos      | producers (CAS)           | producers          | lock-free CAS, own cache line         |
 * | space mailbox cell sequence    | producer, then runner     | runner, producers  | acquire/release on each cell          |
 * | space mailbox dequeue_pos      | the space's runner        | stats (relaxed)    | one runner at a time (scheduled flag) |
 * | space scheduled flag           | producers, runner         | producers, runner  | atomic exchange, seq_cst fences       |
 * | space running_worker           | runner (CAS -1 -> self)   | runner (assert)    | CAS; MN_ASSERT it was -1              |
 * | space writer state (labels,    | the space's runner        | stats (relaxed)    | one runner at a time                  |
 * |   count, bytes)                |                           |                    |                                       |
 * | space id/label hash tables     | the space's runner        | any reader         | RCU (cds_lfht), records freed by      |
 * |                                |                           |                    |   call_rcu after unlinking            |
 * | space association table        | the space's runner        | recall, export     | RCU-published link arrays (mn_assoc); |
 * |                                |                           |                    |   export reads with the runner parked |
 * | space refcount                 | open/release/scheduling   | same               | atomic add/sub, acq_rel               |
 * | space table (name -> space)    | create/drop               | open/list/stats    | engine table mutex                    |
 * | worker run queue, depth        | producers, owner, thieves | owner, thieves     | worker queue mutex; depth also atomic |
 * | worker counters                | the worker                | anyone (stats)     | relaxed atomics, own cache line       |
 * | help list (parallel batches)   | batch owner               | idle workers       | engine help mutex; job helper count   |
 * | arena remote-free stack        | any thread freeing        | the arena's worker | lock-free push, exchange pop-all      |
 *
 * Every shared field sits on its own cache line (checked by _Static_assert in csrc/engine/).
 *
 * Threads: any thread may call any function except mn_engine_destroy (no other call may run
 * concurrently with or after it). Every function's comment ends with "Blocking:": whether it can
 * wait (for the disk, a lock held across I/O, or the workers) and on what. A caller with an event
 * loop or a cooperative thread pool (the Swift module) runs the ones that can on a thread of its
 * own. Callbacks run on worker threads and must not block for long; they may submit new
 * operations with flags = 0 (MN_SUBMIT_WAIT from a callback can deadlock).
 */
#ifndef MN_ENGINE_H
#define MN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "mn_distance.h"
#include "mn_filter.h"
#include "mn_hnsw.h"
#include "mn_limits.h"
#include "mn_meta.h"
#include "mn_recall.h"
#include "mn_status.h"
#include "mn_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An engine: workers, spaces and their memories. Opaque; pair mn_engine_create with _destroy. */
typedef struct mn_engine mn_engine;

/** A handle on one space. Opaque; pair mn_engine_space_create/_open with mn_space_release. */
typedef struct mn_space mn_space;

/**
 * Completion of a submitted operation, called exactly once on a worker thread. `detail` is the
 * offending item's index for a rejected batch (MN_ERR_DUPLICATE), 1 for an upsert that replaced
 * an existing memory (0 when it inserted), 1 for a delete that removed one, and 0 otherwise.
 */
typedef void (*mn_completion_fn)(void *context, mn_status status, uint64_t detail);

/** Submit flag: wait while the mailbox is full instead of returning MN_ERR_FULL. */
#define MN_SUBMIT_WAIT 1u

/** Engine options. Fill with mn_engine_options_default, then change fields. */
typedef struct mn_engine_options {
    uint32_t workers;            /**< shard workers; 0 (default): one per CPU this process may use */
    uint32_t pin_workers;        /**< 1 (default): pin worker i to the i-th allowed CPU */
    uint32_t stealing;           /**< 1 (default): idle workers steal runnable spaces */
    uint32_t mailbox_depth;      /**< entries per space mailbox, a power of two; default 1024 */
    uint64_t content_bytes_max;  /**< largest content of one memory; default 1 MiB */
    uint32_t parallel_batch_min; /**< batches this large are linked with idle workers' help;
                                      default 1000; 0 disables helping */
    uint32_t reserved;           /**< 0 */
    uint64_t queue_bytes_max;    /**< most bytes queued per space mailbox (the ops' packed
                                      copies); past it a submit is MN_ERR_FULL (or waits with
                                      MN_SUBMIT_WAIT), one op larger is MN_ERR_TOO_LARGE;
                                      0: MN_ENGINE_QUEUE_BYTES_DEFAULT (1 GiB) */
    uint64_t space_bytes_max;    /**< most bytes per space, an upper estimate: its
                                      mn_space_stats.bytes plus its queued bytes plus what the
                                      write adds; past it an insert, upsert, batch or
                                      metadata patch is MN_ERR_TOO_LARGE (deletes always pass; recovery and
                                      import are not capped); 0: MN_ENGINE_SPACE_BYTES_DEFAULT
                                      (64 GiB) */
} mn_engine_options;

/** Statistics of one space (a snapshot; fields are read without stopping the writer). */
typedef struct mn_space_stats {
    uint64_t count;          /**< live memories */
    uint64_t bytes;          /**< bytes held: records (id, content, metadata) plus the index */
    uint64_t queue_depth;    /**< records waiting in the mailbox */
    uint64_t ops_applied;    /**< records applied since creation */
    uint32_t home_worker;    /**< XXH64(name) mod workers */
    uint32_t dimension;
    mn_metric metric;
    uint32_t reserved;
} mn_space_stats;

/** Counters of one worker (relaxed reads; each is monotonic except queue_depth). */
typedef struct mn_worker_stats {
    uint64_t ops;            /**< records applied (a batch counts once) */
    uint64_t batches;        /**< batch records applied */
    uint64_t memories;       /**< memories inserted, upserted or deleted */
    uint64_t steals;         /**< spaces taken from another worker's run queue */
    uint64_t helps;          /**< parallel batches this worker helped to link */
    uint64_t grouped;        /**< single inserts and upserts applied in groups (queued behind
                                  each other in one space) */
    uint64_t coalesced;      /**< of those, writes whose vector a later write to the same id in
                                  the group superseded (no graph work of their own) */
    uint64_t queue_depth;    /**< spaces waiting in this worker's run queue now */
    uint64_t busy_ns;        /**< time spent applying records */
    int32_t cpu;             /**< CPU it is pinned to, or -1 */
    int32_t numa_node;       /**< its NUMA node, or -1 without NUMA */
} mn_worker_stats;

/**
 * A read view of one memory, valid only during the visit callback that receives it (the bytes
 * live in RCU-protected records). `distance` is set by search, 0 for get.
 */
typedef struct mn_memory_view {
    const char *id;
    uint32_t id_bytes;
    float distance;
    const uint8_t *content;
    uint64_t content_bytes;
    int64_t created_ns;      /**< creation time, nanoseconds since the Unix epoch */
    const uint8_t *metadata; /**< its metadata document (mn_meta.h); metadata_bytes 0: none */
    uint64_t metadata_bytes;
} mn_memory_view;

/** Receives each memory of a get or search, in order (nearest first for search). */
typedef void (*mn_memory_visit_fn)(void *context, const mn_memory_view *memory);

/** Receives each space name of mn_engine_space_list. */
typedef void (*mn_name_visit_fn)(void *context, const char *name, uint32_t name_bytes);

/**
 * A batch of memories in packed form, so it crosses into C once: memory i has id
 * ids[id_offsets[i] .. id_offsets[i+1]), vector vectors[i*dimension ...], content
 * contents[content_offsets[i] .. content_offsets[i+1]) and, when created_ns is not NULL,
 * creation time created_ns[i] (NULL: the submission time). Offsets have count + 1 entries.
 * (Metadata travels beside it: mn_space_insert_batch_meta.)
 */
typedef struct mn_batch_in {
    size_t count;
    uint32_t dimension;
    const float *vectors;
    const char *ids;
    const uint64_t *id_offsets;
    const uint8_t *contents;          /**< may be NULL when every content is empty */
    const uint64_t *content_offsets;
    const int64_t *created_ns;
} mn_batch_in;

/* ---- engine ---- */

/** Fills *out with the defaults (one pinned worker per CPU, stealing on, 1 MiB content).
 *  Blocking: never. */
mn_status mn_engine_options_default(mn_engine_options *out);

/**
 * Creates an engine and starts its workers. Errors: MN_ERR_INVALID (NULL out, a mailbox depth
 * that is not a power of two in range, a content limit over MN_ENGINE_CONTENT_BYTES_MAX),
 * MN_ERR_TOO_LARGE (workers over MN_ENGINE_WORKERS_MAX), MN_ERR_NO_MEMORY, MN_ERR_IO (a thread
 * could not be started). `options` may be NULL for the defaults.
 * Blocking: while it starts the worker threads; no I/O.
 */
mn_status mn_engine_create(const mn_engine_options *options, mn_engine **out);

/**
 * Stops accepting submissions (they return MN_ERR_CLOSED), applies and completes every queued
 * record, and stops the workers. Idempotent; blocks until the workers have stopped. Must not be
 * called from a completion callback. A durable engine (mn_engine_durable.h) also syncs its logs
 * and releases its data directory's lock: the directory may be opened again at once, while this
 * engine still serves reads (its creates, drops and checkpoints then return MN_ERR_CLOSED).
 * Blocking: until every queued record is applied, the workers have stopped and (durable) the
 * logs are synced.
 */
mn_status mn_engine_close(mn_engine *engine);

/**
 * Closes the engine if needed and frees it with every space. Every space handle must have been
 * released (an outstanding handle is a bug and asserts). NULL is accepted.
 * Blocking: as mn_engine_close when the engine is still open.
 */
mn_status mn_engine_destroy(mn_engine *engine);

/** Writes the number of workers to *out.
 *  Blocking: never. */
mn_status mn_engine_worker_count(const mn_engine *engine, uint32_t *out);

/** Copies worker `worker`'s counters to *out. MN_ERR_INVALID for an index out of range.
 *  Blocking: never. */
mn_status mn_engine_worker_stats(const mn_engine *engine, uint32_t worker, mn_worker_stats *out);

/** Writes the home worker of a space name (whether or not the space exists) to *out.
 *  Blocking: never. */
mn_status mn_engine_space_home(const mn_engine *engine, const char *name, uint32_t name_bytes,
                               uint32_t *out);

/* ---- spaces ---- */

/**
 * Creates a space named by `name_bytes` bytes of UTF-8 with the index parameters `params` (the
 * numa_node field is ignored: the index lives on the home worker's node). Writes a handle to
 * *out when out is not NULL (release it with mn_space_release). Errors: MN_ERR_INVALID (empty
 * name, invalid UTF-8), MN_ERR_TOO_LARGE (name over MN_ENGINE_NAME_BYTES_MAX),
 * MN_ERR_DUPLICATE (the name exists), MN_ERR_CLOSED, and mn_hnsw_create's errors.
 * Blocking: in a durable engine, until the creation is logged and synced (and on the table lock,
 * which a durable drop holds while it logs); in memory, only on that lock.
 */
mn_status mn_engine_space_create(mn_engine *engine, const char *name, uint32_t name_bytes,
                                 const mn_hnsw_params *params, mn_space **out);

/** Writes a new handle on the space `name` to *out. Errors: MN_ERR_UNKNOWN_SPACE, MN_ERR_CLOSED.
 *  Blocking: in a durable engine, while a lazy space loads from its checkpoint file (or another
 *  thread loads it); otherwise only on the table lock. */
mn_status mn_engine_space_open(mn_engine *engine, const char *name, uint32_t name_bytes,
                               mn_space **out);

/**
 * Drops the space `name`: it leaves the table at once (a new space may take the name), later
 * submissions through existing handles return MN_ERR_UNKNOWN_SPACE, records already queued are
 * still applied and completed, and its memory is freed when the last handle is released and
 * its worker is done with it. Errors: MN_ERR_UNKNOWN_SPACE, MN_ERR_CLOSED (a closed durable
 * engine).
 * Blocking: in a durable engine, until the drop is logged and synced (a lazy space is loaded
 * first); in memory, only on the table lock.
 */
mn_status mn_engine_space_drop(mn_engine *engine, const char *name, uint32_t name_bytes);

/** Calls `visit` once per space name (in no particular order), under the table lock.
 *  Blocking: on the table lock, which a durable engine holds while it logs a drop or publishes
 *  a loaded space (and, durable, on the lock a lazy load holds while it reads). */
mn_status mn_engine_space_list(mn_engine *engine, mn_name_visit_fn visit, void *context);

/** Writes the number of spaces to *out.
 *  Blocking: as mn_engine_space_list. */
mn_status mn_engine_space_count(mn_engine *engine, uint64_t *out);

/** Receives each loaded space of mn_engine_space_stats_visit: its name and statistics. */
typedef void (*mn_space_stats_visit_fn)(void *context, const char *name, uint32_t name_bytes,
                                        const mn_space_stats *stats);

/**
 * Calls `visit` once per space loaded in memory (in no particular order) with its statistics,
 * for a metrics page: unlike opening each space by name, it never loads a lazy (checkpointed,
 * unused) space of a durable engine, which is left out. The spaces are taken under the table
 * lock and visited after it is released, so `visit` may take as long as it likes (it must not
 * drop spaces of this engine). Errors: MN_ERR_INVALID (NULL), MN_ERR_NO_MEMORY.
 * Blocking: on the table lock while the handles are taken.
 */
mn_status mn_engine_space_stats_visit(mn_engine *engine, mn_space_stats_visit_fn visit,
                                      void *context);

/** Releases a handle from mn_engine_space_create or _open. NULL is accepted.
 *  Blocking: never. */
mn_status mn_space_release(mn_space *space);

/** Copies the index parameters of the space to *out.
 *  Blocking: never. */
mn_status mn_space_params(const mn_space *space, mn_hnsw_params *out);

/** Writes a snapshot of the space's statistics to *out.
 *  Blocking: never. */
mn_status mn_space_stats_get(const mn_space *space, mn_space_stats *out);

/* ---- writes (asynchronous; see the submission contract above) ---- */

/**
 * Inserts a memory. Synchronous errors (nothing queued): MN_ERR_INVALID (NULL pointers, empty
 * id), MN_ERR_TOO_LARGE (id over MN_ENGINE_ID_BYTES_MAX, content over the engine's limit,
 * the record over queue_bytes_max, the space past space_bytes_max), MN_ERR_DIMENSION, MN_ERR_NON_FINITE, MN_ERR_ZERO_VECTOR (cosine), MN_ERR_FULL,
 * MN_ERR_UNKNOWN_SPACE (dropped), MN_ERR_CLOSED, MN_ERR_NO_MEMORY. Completion statuses:
 * MN_OK, MN_ERR_DUPLICATE (the id exists; nothing changed), MN_ERR_NO_MEMORY, MN_ERR_TOO_LARGE
 * (the space's labels or log sequences are used up; see MN_ENGINE_LABEL_MAX).
 * Blocking: never, unless flags has MN_SUBMIT_WAIT and the mailbox is full (it then waits for
 * room); the work happens on a worker.
 */
mn_status mn_space_insert(mn_space *space, const char *id, uint32_t id_bytes,
                          const float *vector, uint32_t dimension, const uint8_t *content,
                          uint64_t content_bytes, uint32_t flags, mn_completion_fn done,
                          void *context);

/**
 * Inserts a memory, or replaces the vector and content of the memory with that id (keeping its
 * creation time). Errors as mn_space_insert, without MN_ERR_DUPLICATE; detail is 1 if replaced.
 * A replacement keeps the memory's index node and label (the node is updated in place, see
 * mn_hnsw_update; with the same vector bytes the graph is not touched) and its links, and
 * needs no new label.
 * Blocking: as mn_space_insert.
 */
mn_status mn_space_upsert(mn_space *space, const char *id, uint32_t id_bytes,
                          const float *vector, uint32_t dimension, const uint8_t *content,
                          uint64_t content_bytes, uint32_t flags, mn_completion_fn done,
                          void *context);

/*
 * Metadata. A memory may carry one metadata document: named fields encoded by mn_meta.h,
 * opaque bytes to the engine, at most MN_META_DOC_BYTES_MAX bytes (0 bytes: no metadata).
 * The _meta writes take it; the writes without it store none (an upsert without it removes
 * the memory's metadata: an upsert replaces the whole memory). Every document is checked
 * whole with mn_meta_validate on the caller's thread before anything is queued; a bad one
 * returns the codec's status (MN_ERR_TOO_LARGE for one over MN_META_DOC_BYTES_MAX) with
 * *error naming the field (error may be NULL), and nothing is queued. get and search return
 * it in mn_memory_view; delete removes it; it is logged, checkpointed and exported with the
 * memory, and counts in the space's bytes (mn_space_stats.bytes, space_bytes_max).
 */

/** mn_space_insert with a metadata document (see above). Errors as mn_space_insert, and the
 *  codec's for a bad document (*error names its field).
 *  Blocking: as mn_space_insert. */
mn_status mn_space_insert_meta(mn_space *space, const char *id, uint32_t id_bytes,
                               const float *vector, uint32_t dimension, const uint8_t *content,
                               uint64_t content_bytes, const uint8_t *metadata,
                               uint64_t metadata_bytes, uint32_t flags, mn_completion_fn done,
                               void *context, mn_meta_error *error);

/** mn_space_upsert with a metadata document, which replaces the memory's (none: removed).
 *  Errors as mn_space_insert_meta, without MN_ERR_DUPLICATE.
 *  Blocking: as mn_space_insert. */
mn_status mn_space_upsert_meta(mn_space *space, const char *id, uint32_t id_bytes,
                               const float *vector, uint32_t dimension, const uint8_t *content,
                               uint64_t content_bytes, const uint8_t *metadata,
                               uint64_t metadata_bytes, uint32_t flags, mn_completion_fn done,
                               void *context, mn_meta_error *error);

/**
 * Changes fields of memory `id`'s metadata without re-sending its vector: `patch` is an
 * encoded patch (mn_meta.h: fields to set, names to remove), checked whole on the caller's
 * thread. The memory's vector, content, creation time, index node and links are untouched.
 * Synchronous errors (nothing queued): MN_ERR_INVALID (NULL, empty id or patch), MN_ERR_TOO_LARGE
 * (id over MN_ENGINE_ID_BYTES_MAX, patch over 2 * MN_META_DOC_BYTES_MAX, the space past
 * space_bytes_max), the codec's status for a malformed patch (*error names the field),
 * MN_ERR_FULL, MN_ERR_UNKNOWN_SPACE, MN_ERR_CLOSED, MN_ERR_NO_MEMORY. Completion statuses: MN_OK
 * (detail 1), MN_ERR_NOT_FOUND (no such memory), the codec's status when the merged document
 * would break its limits (MN_ERR_TOO_LARGE for bytes), MN_ERR_NO_MEMORY; on error the memory is
 * unchanged.
 * Blocking: as mn_space_insert.
 */
mn_status mn_space_patch_metadata(mn_space *space, const char *id, uint32_t id_bytes,
                                  const uint8_t *patch, uint64_t patch_bytes, uint32_t flags,
                                  mn_completion_fn done, void *context, mn_meta_error *error);

/** Deletes a memory. Completes with MN_OK and detail 1 if it existed, MN_ERR_NOT_FOUND if not,
 *  MN_ERR_NO_MEMORY (its field-index entries could not be removed: nothing deleted).
 *  Blocking: as mn_space_insert. */
mn_status mn_space_delete(mn_space *space, const char *id, uint32_t id_bytes, uint32_t flags,
                          mn_completion_fn done, void *context);

/**
 * Deletes every memory matching the filter given as JSON text (mn_filter.h; `{}` deletes
 * every memory) as ONE write: queued in order with the space's other writes, logged as one
 * record (type 11, holding the text) and replayed, and applied all-or-nothing against the
 * memories present when it runs. Synchronous errors (nothing queued): mn_filter_parse's
 * statuses with *error filled (may be NULL), MN_ERR_INVALID (NULL), MN_ERR_TOO_LARGE (the
 * record over queue_bytes_max), MN_ERR_FULL, MN_ERR_UNKNOWN_SPACE, MN_ERR_CLOSED,
 * MN_ERR_NO_MEMORY. Completion: MN_OK with detail = the number of memories deleted (0 when
 * none matched), or MN_ERR_NO_MEMORY with nothing deleted. Their links go with them.
 * Blocking: as mn_space_insert.
 */
mn_status mn_space_delete_filtered(mn_space *space, const char *filter_json, size_t filter_bytes,
                                   uint32_t flags, mn_completion_fn done, void *context,
                                   mn_filter_error *error);

/* ---- field indexes (csrc/engine/mn_engine_index.c; docs/filters.md) ---- */

/** Kinds of field index (mn_space_index_create). */
#define MN_INDEX_KEYWORD 1u /**< strings, list items and bools: eq, in, ne, nin, exists */
#define MN_INDEX_NUMERIC 2u /**< ints and doubles, compared exactly: eq, in, ranges, exists */

/**
 * Creates an index of `kind` on metadata field `field` (field_bytes bytes of UTF-8, not
 * NUL-terminated) as ONE write: queued in order with the space's other writes, logged (record
 * type 12) and replayed; the runner backfills it from the space's memories and every later
 * write keeps it current. Filtered search, count, list and delete by filter then answer that
 * field's conditions from the index (docs/filters.md, "Field indexes in spaces"). Every space
 * has the built-in createdAt index.
 * Synchronous errors (nothing queued): MN_ERR_INVALID (NULL space, a kind that is neither
 * MN_INDEX_KEYWORD nor MN_INDEX_NUMERIC, a name no metadata document can hold: empty, bad UTF-8,
 * starting with '$', or the built-ins "id" and "createdAt"), MN_ERR_TOO_LARGE (name over
 * MN_META_NAME_BYTES_MAX), MN_ERR_FULL, MN_ERR_UNKNOWN_SPACE, MN_ERR_CLOSED, MN_ERR_NO_MEMORY.
 * Completion statuses: MN_OK (detail: the memories that have the field), MN_ERR_DUPLICATE (the
 * field is already indexed, of either kind: nothing changes), MN_ERR_FULL
 * (MN_ENGINE_FIELD_INDEXES_MAX indexes already), MN_ERR_NO_MEMORY (nothing changes).
 * Blocking: as mn_space_insert.
 */
mn_status mn_space_index_create(mn_space *space, const char *field, uint32_t field_bytes,
                                uint32_t kind, uint32_t flags, mn_completion_fn done,
                                void *context);

/**
 * Drops the index on `field` as ONE write (logged as record type 13, replayed). Synchronous
 * errors as mn_space_index_create's (createdAt cannot be dropped: MN_ERR_INVALID). Completion:
 * MN_OK (detail 1), MN_ERR_NOT_FOUND (no index on that field: nothing changes),
 * MN_ERR_NO_MEMORY (nothing changes).
 * Blocking: as mn_space_insert.
 */
mn_status mn_space_index_drop(mn_space *space, const char *field, uint32_t field_bytes,
                              uint32_t flags, mn_completion_fn done, void *context);

/** One field index of a space, as mn_space_index_list shows it (valid during the call). */
typedef struct mn_index_info {
    const char *name;    /**< the field name, not NUL-terminated */
    uint32_t name_bytes;
    uint32_t kind;       /**< MN_INDEX_KEYWORD or MN_INDEX_NUMERIC */
    uint64_t entries;    /**< indexed values (list items counted one by one) */
    uint64_t present;    /**< memories that have the field (of any type) */
    uint64_t bytes;      /**< memory the index holds */
    uint32_t builtin;    /**< 1 for createdAt (always present, cannot be dropped), else 0 */
    uint32_t reserved;   /**< 0 */
} mn_index_info;

typedef void (*mn_index_visit_fn)(void *context, const mn_index_info *info);

/**
 * Calls `visit` for the built-in createdAt index first, then for each created index in
 * creation order, all from one snapshot (a concurrent create or drop is seen whole or not at
 * all). Writes the number of created indexes (createdAt not counted) to *count (may be NULL).
 * Errors: MN_ERR_INVALID (NULL space), MN_ERR_UNKNOWN_SPACE (dropped).
 * Blocking: never (an RCU read section).
 */
mn_status mn_space_index_list(mn_space *space, mn_index_visit_fn visit, void *context,
                              uint32_t *count);

/**
 * Inserts a batch all-or-nothing. The whole batch is validated first on the caller's thread:
 * a bad memory (errors as mn_space_insert, or MN_ERR_DUPLICATE for an id repeated within the
 * batch) returns its status and writes its position to *failed_index (may be NULL), and nothing
 * is queued. An id already in the space is found when the batch is applied: it completes with
 * MN_ERR_DUPLICATE and detail = the offender's position, and the space is unchanged. A batch of
 * at least parallel_batch_min memories is linked by the running worker together with idle ones.
 * Blocking: as mn_space_insert.
 */
mn_status mn_space_insert_batch(mn_space *space, const mn_batch_in *batch, uint32_t flags,
                                mn_completion_fn done, void *context, size_t *failed_index);

/**
 * mn_space_insert_batch with metadata, in the batch's packed form: memory i has the document
 * metadata[metadata_offsets[i] .. metadata_offsets[i+1]) (an empty range: none), with
 * count + 1 offsets starting at 0; metadata_offsets NULL means no memory has metadata
 * (metadata may be NULL when every range is empty). A bad document returns the codec's status
 * with its position in *failed_index and its field in *error (may be NULL); nothing is queued.
 * Blocking: as mn_space_insert.
 */
mn_status mn_space_insert_batch_meta(mn_space *space, const mn_batch_in *batch,
                                     const uint8_t *metadata, const uint64_t *metadata_offsets,
                                     uint32_t flags, mn_completion_fn done, void *context,
                                     size_t *failed_index, mn_meta_error *error);

/**
 * Upserts a batch as one write: each memory replaces the memory of its id (which keeps its
 * place, creation time and links, as with mn_space_upsert) or is inserted, and a durable engine
 * logs the batch as one record, so a crash keeps all of it or none. Validation as
 * mn_space_insert_batch_meta: a bad memory, or an id repeated within the batch
 * (MN_ERR_DUPLICATE), returns its status and position and queues nothing. It completes with
 * detail = the number of memories it replaced. Refusals when it is applied (MN_ERR_TOO_LARGE:
 * the space's labels used up) change nothing, and so does running out of memory while its
 * records are made or its new memories linked (they go in together, or none). Existing ids are
 * then replaced MN_HNSW_SETTLE_BATCH at a time, each chunk whole or not at all: out of memory
 * there completes the batch with MN_ERR_NO_MEMORY, its new memories and the chunks before in
 * place (the log holds the whole batch: a reopen applies all of it).
 * Blocking: as mn_space_insert.
 */
mn_status mn_space_upsert_batch_meta(mn_space *space, const mn_batch_in *batch,
                                     const uint8_t *metadata, const uint64_t *metadata_offsets,
                                     uint32_t flags, mn_completion_fn done, void *context,
                                     size_t *failed_index, mn_meta_error *error);

/** Queues a no-op that completes (MN_OK) once every record queued before it is applied.
 *  Blocking: as mn_space_insert. */
mn_status mn_space_barrier(mn_space *space, uint32_t flags, mn_completion_fn done,
                           void *context);

/* ---- reads (synchronous, on the caller's thread, concurrent with the writer) ---- */

/**
 * Finds memory `id`: calls `visit` once with its view (content and metadata document, valid
 * during the call) and, when vector is not NULL, copies its stored vector (unit-normalised
 * under cosine) into `vector` (dimension floats).
 * Errors: MN_ERR_NOT_FOUND, MN_ERR_INVALID, MN_ERR_DIMENSION, MN_ERR_UNKNOWN_SPACE (dropped).
 * Blocking: never (an RCU read section).
 */
mn_status mn_space_get(mn_space *space, const char *id, uint32_t id_bytes, float *vector,
                       uint32_t dimension, mn_memory_visit_fn visit, void *context);

/**
 * Finds the k nearest memories to `query` (beam max(ef, k); ef 0 means
 * max(k, MN_ENGINE_SEARCH_EF_DEFAULT)) and calls `visit` for each, nearest first; writes their
 * number to *found. A search running during an upsert of an id may return that id twice (its
 * old and new vectors) for the instant between the two publications; never a torn record.
 * Errors: mn_hnsw_search's, MN_ERR_UNKNOWN_SPACE (dropped).
 * Blocking: never (an RCU read section).
 */
mn_status mn_space_search(mn_space *space, const float *query, uint32_t dimension, uint32_t k,
                          uint32_t ef, mn_memory_visit_fn visit, void *context,
                          uint32_t *found);

/* ---- filtered reads (csrc/engine/mn_engine_filter.c; docs/filters.md) ---- */

/** Strategies of mn_space_search_filtered (mn_search_stats.strategy). */
#define MN_SEARCH_STRATEGY_EXACT_SCAN 1u /**< the matching memories collected, then scored exactly */
#define MN_SEARCH_STRATEGY_TRAVERSAL 2u  /**< filtered graph traversal (mn_hnsw_search_filtered) */

/** What one filtered search did. */
typedef struct mn_search_stats {
    uint32_t strategy;          /**< MN_SEARCH_STRATEGY_* */
    uint32_t reserved;          /**< 0 */
    uint64_t live;              /**< memories in the space when the search began */
    uint64_t sampled;           /**< memories the selectivity estimate evaluated */
    uint64_t estimated_matches; /**< the planner's estimate (fraction x live, rounded) */
    uint64_t matches;           /**< exact scan: matching memories collected (exact); traversal:
                                     live matching nodes the index saw (index.matches) */
    mn_hnsw_filter_stats index; /**< the traversal's counters (all 0 for the exact scan) */
    uint32_t index_flags;       /**< MN_SEARCH_INDEX_* bits: what the field indexes did */
    uint32_t index_leaves;      /**< filter leaves counted exactly from a field index (the
                                     others were sampled) */
} mn_search_stats;

/** mn_search_stats.index_flags: some leaf's count came from a field index. */
#define MN_SEARCH_INDEX_ESTIMATE 1u
/** The exact scan took its candidates from the field indexes instead of walking every
 *  record. */
#define MN_SEARCH_INDEX_COLLECT 2u
/** The whole filter was answered by the indexes (AND/OR/NOT of indexable leaves): the
 *  collected set is exactly the matches of one snapshot. */
#define MN_SEARCH_INDEX_EXACT 4u
/** The traversal tested each node against a bitmap of the matching labels built from the
 *  field indexes (the whole filter answered by them), instead of reading the node's record. */
#define MN_SEARCH_INDEX_BITMAP 8u
/** That bitmap was the one an earlier search of the space built for the same filter from the
 *  same field-index snapshot (nothing indexed has changed since), reused instead of rebuilt. */
#define MN_SEARCH_INDEX_REUSED 16u
/** The exact scan read the compact codes the space keeps for that filter (mn_hnsw_search_codes)
 *  and scored only the memories they could not rule out. */
#define MN_SEARCH_INDEX_CODES 32u

/**
 * The k nearest memories to `query` that match `filter` (mn_filter.h; NULL or {} matches
 * every memory), nearest first: calls `visit` for each and writes their number to *found, and
 * what ran to *stats (may be NULL). Never a memory that does not match: the filter is checked
 * on the record each visit is given, in the same RCU read section (a memory patched out of
 * the filter during the search is skipped, so *found may be below k then).
 * Planner: the filter's selectivity is estimated as independent leaves (mn_filter_estimate's
 * rule), a leaf on an indexed field (mn_space_index_create, and createdAt) counted exactly from
 * the space's field indexes, the others measured on a deterministic sample of at most
 * MN_ENGINE_FILTER_SAMPLE_MAX of the space's records (the first ones in its id table's hash
 * order; skipped when exact index counts already bound the matches under the threshold); when
 * the estimated matches are at most MN_HNSW_FILTER_SCAN_MATCHES_MAX or at most
 * live / MN_HNSW_FILTER_SCAN_FRACTION_DIVISOR, the matching memories are collected (from the
 * field indexes when the filter allows, else by checking every record) and scored exactly
 * (mn_hnsw_search_ids, or mn_hnsw_search_id_bitmap when the indexes answer the whole filter
 * and the matches may number at least 1 / MN_ENGINE_FILTER_BITMAP_DIVISOR of the labels:
 * recall 1); otherwise the index is traversed with the filter checked per node
 * (mn_hnsw_search_filtered, beam max(ef, k), ef 0 as mn_space_search), as a bit test on a
 * bitmap of the matching labels when the indexes answer the whole filter
 * (MN_SEARCH_INDEX_BITMAP), else on the node's record. A space keeps the last such bitmap with
 * a copy of its filter: the next search with the same filter, while no write has changed the
 * field indexes, reuses it (MN_SEARCH_INDEX_REUSED); a bitmap over
 * MN_ENGINE_FILTER_MEMO_BYTES_MAX is not kept. After an exact scan the matches' index slots are
 * kept too, and from the first reuse their compact codes (up to
 * MN_ENGINE_FILTER_CODES_BYTES_MAX; built again once used when a vector changes): later scans
 * read the codes and score exactly only what they cannot rule out (MN_SEARCH_INDEX_CODES), with
 * the same results. stats->index_flags says what the field indexes did.
 * Errors: as mn_space_search, and MN_ERR_NO_MEMORY (the scan's label buffer or bitmap).
 * Blocking: never (an RCU read section; allocates its label buffer or bitmap).
 */
mn_status mn_space_search_filtered(mn_space *space, const float *query, uint32_t dimension,
                                   uint32_t k, uint32_t ef, const mn_filter *filter,
                                   mn_memory_visit_fn visit, void *context, uint32_t *found,
                                   mn_search_stats *stats);

/**
 * Counts the memories matching `filter` (NULL: all): from the field indexes alone when they
 * answer the whole filter (one snapshot: exact at that instant), from the candidates they give
 * checked on their records when they answer part of an AND, else by checking every record
 * (exact for the instant each record was read; writes run concurrently).
 * Errors: MN_ERR_INVALID (NULL space or count), MN_ERR_UNKNOWN_SPACE (dropped),
 * MN_ERR_NO_MEMORY (a label buffer or bitmap).
 * Blocking: never (an RCU read section; O(log n) per indexed leaf up to O(memories)).
 */
mn_status mn_space_count_filtered(mn_space *space, const mn_filter *filter, uint64_t *count);

/**
 * Lists the memories matching `filter` (NULL: all) in a stable order, the engine's internal
 * label (insertion order; an upsert or patch keeps a memory's place), from `cursor` on: the
 * first call passes 0, each next call the *next_cursor of the one before. Calls `visit` for at
 * most `limit` memories (distance 0) and writes their number to *found; *next_cursor (may be
 * NULL) receives the position after the last one visited, and *found < limit means the end was
 * reached. Memories inserted after a page was read appear on later pages; deleted ones vanish.
 * Errors: MN_ERR_INVALID (NULL space or found, limit 0 or over MN_ENGINE_LIST_LIMIT_MAX),
 * MN_ERR_UNKNOWN_SPACE (dropped), MN_ERR_NO_MEMORY.
 * The field indexes give the candidates in label order when the filter allows (each is checked
 * on its record); else every record is walked.
 * Blocking: never (an RCU read section; O(memories) and a buffer of the matches after cursor).
 */
mn_status mn_space_list_filtered(mn_space *space, const mn_filter *filter, uint64_t cursor,
                                 uint32_t limit, mn_memory_visit_fn visit, void *context,
                                 uint32_t *found, uint64_t *next_cursor);

/* ---- associations and recall (csrc/engine/mn_engine_assoc.c) ---- */

/*
 * A space's memories may be linked by directed, weighted associations (mn_recall.h defines
 * table and recall precisely). The engine keys them by the memories' string ids: links are
 * writes, queued and applied in order with the space's other writes. Deleting a memory removes
 * every link from and to it. An upsert keeps them: the id is the same memory, so its links
 * follow it to its new vector. Associations are part of an export (below).
 */

/**
 * Links memory `from` to memory `to` with `weight` in (0, 1], or sets the weight of an existing
 * link. Synchronous errors (nothing queued): MN_ERR_INVALID (NULL, empty id, from == to, weight
 * NaN, <= 0 or > 1), MN_ERR_TOO_LARGE (an id over MN_ENGINE_ID_BYTES_MAX), MN_ERR_FULL,
 * MN_ERR_UNKNOWN_SPACE, MN_ERR_CLOSED, MN_ERR_NO_MEMORY. Completion statuses: MN_OK (detail 1
 * if the link existed and its weight was set, else 0), MN_ERR_NOT_FOUND (either id is not a
 * memory of the space), MN_ERR_FULL (either end has MN_ASSOC_DEGREE_MAX links that way),
 * MN_ERR_NO_MEMORY.
 * Blocking: as mn_space_insert.
 */
mn_status mn_space_link(mn_space *space, const char *from, uint32_t from_bytes, const char *to,
                        uint32_t to_bytes, float weight, uint32_t flags, mn_completion_fn done,
                        void *context);

/**
 * Removes the link from `from` to `to`. Synchronous errors as mn_space_link (without the weight).
 * Completion: MN_OK, MN_ERR_NOT_FOUND (an unknown id, or no such link), MN_ERR_NO_MEMORY.
 * Blocking: as mn_space_insert.
 */
mn_status mn_space_unlink(mn_space *space, const char *from, uint32_t from_bytes, const char *to,
                          uint32_t to_bytes, uint32_t flags, mn_completion_fn done,
                          void *context);

/** One recalled memory, valid only during the visit callback that receives it. */
typedef struct mn_recollection_view {
    const char *id;
    uint32_t id_bytes;
    float activation;        /**< in [threshold, 1] */
    uint32_t hops;           /**< 0 for a seed, else the round that gave its activation */
    uint32_t reserved;
    const uint8_t *content;
    uint64_t content_bytes;
    int64_t created_ns;
    /* Appended after the fields above, so a caller built against the earlier layout reads
     * them unchanged (the engine owns the view and hands it over by pointer). */
    const uint8_t *metadata;  /**< its metadata document (mn_meta.h; NULL when none) */
    uint64_t metadata_bytes;  /**< 0 when none */
} mn_recollection_view;

/** Receives each recalled memory, by activation descending (then by age of insertion). */
typedef void (*mn_recollection_visit_fn)(void *context, const mn_recollection_view *memory);

/**
 * Recalls by spreading activation (mn_assoc_recall; `params` NULL means
 * mn_recall_params_default) from the nearest memories to `cue` over the space's associations
 * and its index's layer-0 neighbours, and calls `visit` for at most `limit` of the most
 * activated memories, in order; writes their number to *found. Runs on the caller's thread
 * under RCU, concurrently with writes; deterministic for a given space state. Ties in activation
 * are broken by insertion order (the engine's internal labels). Errors: MN_ERR_INVALID (NULL,
 * limit 0 or over MN_ENGINE_RECALL_LIMIT_MAX, a parameter out of range), MN_ERR_DIMENSION,
 * MN_ERR_NON_FINITE, MN_ERR_ZERO_VECTOR, MN_ERR_NO_MEMORY, MN_ERR_UNKNOWN_SPACE (dropped).
 * Blocking: never (an RCU read section).
 */
mn_status mn_space_recall(mn_space *space, const float *cue, uint32_t dimension,
                          const mn_recall_params *params, uint32_t limit,
                          mn_recollection_visit_fn visit, void *context, uint32_t *found);

/**
 * mn_space_recall returning only the memories that match `filter` (mn_filter.h; NULL or {}
 * matches every memory): activation spreads exactly as in mn_space_recall, from the nearest
 * memories to `cue` WHATEVER their metadata and through every memory, matching or not (a
 * match reached only through a non-matching memory is recalled); then the activated memories
 * are taken in order (activation descending, then insertion order) and those whose record
 * matches are visited, at most `limit` of them. So the answer is mn_space_recall's over the
 * whole activated set (limit = params->nodes_max), filtered: a non-matching memory never takes
 * a match's place, and a recall that activates fewer than `limit` matches returns them all.
 * The filter is checked on the very record handed to `visit` (a memory patched out of the
 * filter meanwhile is skipped), so a non-matching memory is never returned.
 * Errors: as mn_space_recall. Blocking: never (an RCU read section; its result buffer holds
 * the whole activation budget, params->nodes_max entries of 16 bytes).
 */
mn_status mn_space_recall_filtered(mn_space *space, const float *cue, uint32_t dimension,
                                   const mn_recall_params *params, const mn_filter *filter,
                                   uint32_t limit, mn_recollection_visit_fn visit,
                                   void *context, uint32_t *found);

/** Writes the number of links (each directed link once) in the space to *out.
 *  Blocking: never. */
mn_status mn_space_link_count(const mn_space *space, uint64_t *out);

/* ---- export and import (csrc/engine/mn_engine_export.c) ---- */

/*
 * A space exports to one self-describing stream (layout drawn in mn_engine_export.c): format
 * version, parameters, every memory with its internal label, the index stream (mn_hnsw_save),
 * the association stream (mn_assoc_save) and an XXH64 trailer over everything. An imported
 * space answers every get, search and recall exactly as the exported one did.
 */

/**
 * Writes a consistent snapshot of the space through `write` (called on the caller's thread).
 * The snapshot sits between two writes: a marker op goes through the mailbox and, when the
 * worker reaches it, the worker pauses (its other spaces wait or are stolen) while this thread
 * reads the space; reads of the space continue throughout, and writes queued meanwhile are
 * applied afterwards. Blocks until done. Must not be called from a completion callback, and
 * `write` must not wait for a write to this space. Errors: MN_ERR_INVALID (NULL),
 * MN_ERR_UNKNOWN_SPACE (dropped), MN_ERR_CLOSED, MN_ERR_NO_MEMORY, or `write`'s own status.
 * Blocking: until the snapshot is written (see above), and in `write`.
 */
mn_status mn_space_export(mn_space *space, mn_write_fn write, void *context);

/**
 * Creates the space `name` from a stream written by mn_space_export, reading it through `read`
 * on the caller's thread, and writes a handle to *out when out is not NULL. Nothing is trusted:
 * a truncated stream gives MN_ERR_TRUNCATED, a wrong magic or format version MN_ERR_VERSION,
 * any inconsistency (parameters, counts, labels, ids, the index or association streams, their
 * agreement) or a checksum mismatch MN_ERR_CORRUPT, a memory whose content is over this
 * engine's limit MN_ERR_TOO_LARGE; a failing callback's status is passed through. Name errors
 * as mn_engine_space_create (MN_ERR_DUPLICATE when the name exists). Nothing is created on
 * error. Blocks until the space is built; must not be called from a completion callback.
 * Blocking: until the space is built (durable: logged and synced), and in `read`.
 */
mn_status mn_engine_space_import(mn_engine *engine, const char *name, uint32_t name_bytes,
                                 mn_read_fn read, void *context, mn_space **out);

/** mn_engine_space_import over a byte buffer; the whole buffer must be consumed (else
 *  MN_ERR_CORRUPT).
 * Blocking: as mn_engine_space_import. */
mn_status mn_engine_space_import_buffer(mn_engine *engine, const char *name,
                                        uint32_t name_bytes, const void *data, size_t size,
                                        mn_space **out);

#ifdef __cplusplus
}
#endif

#endif /* MN_ENGINE_H */
