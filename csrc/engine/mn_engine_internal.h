/*
 * mn_engine_internal.h: the layouts of the engine's shared structures (private to csrc/engine).
 *
 * The public header (include/mnemo/mn_engine.h) keeps every type opaque because these structs
 * are over-aligned and hold _Atomic fields, which Swift cannot import. Each group of fields
 * written by one thread and read by another is its own cache-line aligned member, and the
 * _Static_asserts below check that no two such groups share a line (false sharing between a
 * space's producers and its runner would serialise exactly the traffic the design spreads out).
 *
 * Pieces and their files:
 *   mn_engine.c          engine create/close/destroy, space table, submission (copy + enqueue)
 *   mn_engine_mailbox.c  the bounded lock-free MPSC ring of each space (Vyukov)
 *   mn_engine_worker.c   workers: run queues, stealing, idle waits, helping parallel batches
 *   mn_engine_space.c    a space's records and hash tables: applying ops, get, search
 *   mn_engine_arena.c    per-worker NUMA arenas for records, with a lock-free remote-free stack
 *   mn_engine_durability.h  the hook table through which the engine calls durability
 *   mn_engine_durable.c  durable engines: per-worker write-ahead logs, group commit, open
 *   mn_engine_replay.c   durable engines: recovery, reading the logs back
 *   mn_engine_checkpoint.c  durable engines: checkpoints
 *   mn_engine_lazy.c     durable engines: lazy spaces (stubs until first use)
 *   mn_engine_replica.c  durable engines: the replication seam
 *   mn_engine_assoc.c   associations between a space's memories (link, unlink) and recall
 *   mn_engine_export.c  one self-describing stream per space: export and import
 *   mn_engine_meta.c    the engine's calls into the metadata codec (mn_meta.h)
 *   mn_engine_filter.c  filtered search, count and list, and the planner over field indexes
 *   mn_engine_index.c   field indexes of a space: create, drop, list, restore
 */
#ifndef MN_ENGINE_INTERNAL_H
#define MN_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include "assoc/mn_assoc.h"
#include "meta/mn_field_index.h"
#include "hnsw/mn_hnsw_batch.h"
#include "mnemo/mn_engine.h"
#include "mnemo/mn_hnsw.h"
#include "mnemo/mn_limits.h"
#include "mnemo/mn_meta.h"
#include "util/mn_assert.h"

/* ---- ThreadSanitizer: liburcu is not instrumented, so its publications are annotated ---- */

#if defined(__SANITIZE_THREAD__)
#define MN_ENGINE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MN_ENGINE_TSAN 1
#endif
#endif

#ifdef MN_ENGINE_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
/* A record is published by cds_lfht_add (release inside the library) and found by a lookup. */
#define MN_TSAN_PUBLISH(p) __tsan_release((void *)(p))
#define MN_TSAN_OBSERVE(p) __tsan_acquire((void *)(p))
#else
#define MN_TSAN_PUBLISH(p) ((void)(p))
#define MN_TSAN_OBSERVE(p) ((void)(p))
#endif

/* ---- arena (mn_engine_arena.c) ---- */

/** A free block on a class list or on the remote-free stack (overlays the block's memory). */
typedef struct mn_arena_free {
    struct mn_arena_free *next;
} mn_arena_free;

/** A chunk carved into blocks; chunks are freed only when the arena is destroyed. */
typedef struct mn_arena_chunk {
    struct mn_arena_chunk *next;
} mn_arena_chunk;

/**
 * One worker's arena. The owner allocates (no lock: only the worker thread that owns it calls
 * mn_arena_alloc); any thread frees by pushing onto `remote_free`, and the owner takes the whole
 * stack with one exchange when a class list runs dry (pop-all, so no ABA).
 */
typedef struct mn_arena {
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic(mn_arena_free *) remote_free; /* any thread pushes */
    _Alignas(MN_CACHE_LINE_SIZE) mn_arena_free *free_lists[MN_ENGINE_ARENA_CLASSES]; /* owner */
    uint8_t *cursor;          /* owner: bump pointer in the newest chunk */
    uint8_t *end;
    mn_arena_chunk *chunks;   /* owner; read by destroy */
    int numa_node;
    _Atomic uint64_t reserved_bytes; /* owner writes, stats read */
} mn_arena;

_Static_assert(offsetof(mn_arena, free_lists) % MN_CACHE_LINE_SIZE == 0, "remote stack alone");

/** Every block starts with this header; the caller's memory follows it. */
typedef struct mn_arena_block {
    mn_arena *arena;          /* NULL for a large block from mn_numa_alloc */
    uint32_t size_class;      /* class index, or MN_ARENA_CLASS_LARGE */
    uint32_t large_bytes;     /* bytes of a large block (records stay under 4 GiB) */
} mn_arena_block;
#define MN_ARENA_CLASS_LARGE UINT32_MAX

void mn_arena_init(mn_arena *arena, int numa_node);
/** Frees every chunk. Every block must be free or abandoned (no frees may follow). */
void mn_arena_destroy(mn_arena *arena);
/** Allocates `size` bytes (16-byte aligned). Owner thread only. NULL on failure. */
void *mn_arena_alloc(mn_arena *arena, size_t size, uint64_t *charged_bytes);
/** Frees a block from mn_arena_alloc; any thread. */
void mn_arena_free_block(void *memory);
/** The bytes charged for a block (its class size, or its size for a large block). */
uint64_t mn_arena_block_bytes(const void *memory);

/* A run of at least this many single inserts and upserts in one drained quantum is applied as
 * one group (mn_space_apply_writes); idle workers help link a group's new or changed nodes once
 * it has MN_ENGINE_GROUP_HELP_MIN of either (below that, waking a helper costs more than the
 * linking it would take over). */
#define MN_ENGINE_GROUP_MIN 2u
/* Groups a backed-up space may apply in one turn (see mn_worker_run). */
#define MN_ENGINE_HOT_TURNS 4u
/* A thief looks at this many spaces at the head of its victim's run queue and takes the one
 * with the most queued records (a hot space before the single writes of cold ones). */
#define MN_ENGINE_STEAL_SCAN 8u
#define MN_ENGINE_GROUP_HELP_MIN 8u

/* ---- operations (mailbox records) ---- */

/* FORMAT CONSTANTS: INSERT, UPSERT, DELETE, BATCH, LINK and UNLINK are also the record types of
 * the write-ahead log (docs/formats.md), pinned by _Static_assert in mn_engine_durable.c: never
 * renumber them. */
#define MN_OP_INSERT  1u
#define MN_OP_UPSERT  2u
#define MN_OP_DELETE  3u
#define MN_OP_BATCH   4u
#define MN_OP_BARRIER 5u
/* Associations (mn_engine_assoc.c): count 2, ids = from then to; LINK has dimension 1 and
 * vectors[0] = the weight, UNLINK has dimension 0. Both are writes (a log records them). */
#define MN_OP_LINK    6u
#define MN_OP_UNLINK  7u
/* Export and import (mn_engine_export.c): not writes, never logged. EXPORT freezes the space
 * between two writes (its worker leaves it and runs others) while the exporting thread reads
 * it, until mn_space_resume; RESTORE fills a new,
 * unpublished space with imported records. Both keep their state in op->context. */
#define MN_OP_EXPORT  8u
#define MN_OP_RESTORE 9u
/* Metadata patch (mn_space_patch_metadata): count 1, dimension 0, no content; the metadata
 * section holds the encoded patch (mn_meta.h), applied to the memory's document by the runner
 * without touching its vector. A write (logged as record type 10). */
#define MN_OP_PATCH   10u
/* Delete by filter (mn_space_delete_filtered): count 1, dimension 0, id "$" (a placeholder: ids
 * cannot be empty), content = the filter's JSON text (mn_filter.h), parsed again by the runner
 * and matched against the memories at that point of the write order; every match is deleted,
 * or none. A write (logged as record type 11). */
#define MN_OP_DELETE_FILTER 11u
/* The placeholder id of a delete-by-filter record. */
#define MN_OP_DELETE_FILTER_ID "$"
/* Field indexes (mn_space_index_create / _drop, mn_engine_index.c): count 1, dimension 0, id =
 * the field name, content = the kind as a u32 (little-endian) for CREATE, empty for DROP. The
 * runner backfills a created index from the space's records. Writes (logged as record types
 * 12 and 13). */
#define MN_OP_INDEX_CREATE 12u
#define MN_OP_INDEX_DROP 13u
#define MN_OP_INDEX_KIND_BYTES 4u
/* A batch of upserts (mn_space_upsert_batch_meta): the packed layout of a BATCH, applied as one
 * write (each id replaced or inserted) and logged as one record (type 14), so a crash keeps the
 * whole batch or none of it. */
#define MN_OP_UPSERT_BATCH 14u

/**
 * One mailbox record: an operation and a packed copy of its input, in one allocation, in a
 * form a write-ahead log could append as is (the durability issue logs these records).
 *
 *   offset  size                field
 *   0       sizeof(mn_op)       this header
 *   ...     8*(count+1)         id_offsets
 *   ...     8*(count+1)         content_offsets
 *   ...     8*(count+1)         metadata_offsets (all 0 when no item has metadata)
 *   ...     8*count             created_ns
 *   ...     4*count*dimension   vectors (aligned to 8)
 *   ...     id bytes            ids (aligned to 8)
 *   ...     content bytes       contents
 *   ...     metadata bytes      metadata documents (mn_meta.h), or a PATCH op's patch
 */
typedef struct mn_op {
    uint32_t kind;
    uint32_t dimension;
    uint64_t count;
    uint64_t bytes;             /* the whole allocation: what it weighs in its mailbox */
    mn_completion_fn done;
    void *context;
    /* 0, or the log sequence this write must get (a record replicated from another node,
     * mn_engine_replica.c): the runner refuses it with MN_ERR_INVALID when the space's next
     * sequence differs. */
    uint64_t expect_sequence;
    uint64_t *id_offsets;
    uint64_t *content_offsets;
    uint64_t *metadata_offsets;
    int64_t *created_ns;
    float *vectors;
    char *ids;
    uint8_t *contents;
    uint8_t *metadata;
} mn_op;

/* ---- mailbox (mn_engine_mailbox.c) ---- */

typedef struct mn_mailbox_cell {
    _Atomic uint64_t sequence;
    mn_op *op;
} mn_mailbox_cell;

/* ---- records ---- */

/**
 * A memory as the space stores it, allocated from the running worker's arena.
 *
 *   offset  size           field          written by / read by / protected by
 *   0       16             id_node        cds_lfht (by id): the runner / readers / RCU
 *   16      16             label_node     cds_lfht (by label): the runner / readers / RCU
 *   32      16             rcu            call_rcu linkage, after both unlinks
 *   48      8              label          runner before publication / readers / immutable
 *   56      8              created_ns     immutable after publication
 *   64      8              content_bytes  immutable after publication
 *   72      4              id_bytes       immutable after publication
 *   76      4              metadata_bytes immutable after publication (0: no metadata; at most
 *                                         MN_META_DOC_BYTES_MAX)
 *   80      id_bytes       id
 *   ...     content_bytes  content
 *   ...     metadata_bytes metadata document (mn_meta.h)
 *
 * Metadata took the former padding word, so a memory without it is exactly as large as before.
 * A change of metadata (upsert, patch) publishes a new record, as an upsert always has: readers
 * never see a document being rewritten.
 */
typedef struct mn_record {
    struct cds_lfht_node id_node;
    struct cds_lfht_node label_node;
    struct rcu_head rcu;
    uint64_t label;
    int64_t created_ns;
    uint64_t content_bytes;
    uint32_t id_bytes;
    uint32_t metadata_bytes;
    char data[];
} mn_record;

_Static_assert(offsetof(mn_record, label) == 48, "record layout: label");
_Static_assert(offsetof(mn_record, data) == 80, "record layout: data");

static inline const uint8_t *mn_record_content(const mn_record *record) {
    return (const uint8_t *)record->data + record->id_bytes;
}

static inline const uint8_t *mn_record_metadata(const mn_record *record) {
    return mn_record_content(record) + record->content_bytes;
}

/* ---- spaces ---- */

struct mn_worker;

/** A space. Each member group is cache-line aligned; see the synchronization table. */
struct mn_space {
    /* Producers: claim mailbox slots. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint64_t enqueue_pos;
    /* Bytes of the ops in the mailbox: producers add before they push (bounded by the
     * engine's queue_bytes_max), the runner subtracts as it pops (mn_engine_mailbox.c). */
    _Atomic uint64_t queued_bytes;
    /* Producers sleeping until the mailbox has room (MN_SUBMIT_WAIT on a full one). */
    _Atomic uint32_t room_waiters;

    /* The runner: consumes the mailbox. Stats read it (relaxed). */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint64_t dequeue_pos;
    /* Bumped by the runner, then woken (a futex), after it made room with waiters present. */
    _Atomic uint32_t room_sequence;

    /* Scheduling: producers and runners; run_next is under the holding run queue's mutex. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint32_t scheduled;
    _Atomic int32_t running_worker;       /* -1, or the worker running the space now */
    struct mn_space *run_next;
    uint64_t run_weight;                  /* under the run queue's mutex: records it brought */

    /* Lifetime: handles, table membership and scheduling each hold one reference. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic int64_t refs;
    _Atomic uint32_t dropped;
    /* Any filtered search: the last bitmap of matches it built, for the next one with the same
     * filter (mn_engine_filter.c); replaced by exchange, the old one freed after a grace period. */
    _Atomic(struct mn_filter_memo *) filter_memo;

    /* Writer state: only the runner writes; stats read the atomics (relaxed). */
    /* Atomic because filtered reads size their label bitmaps by it: the runner advances it
     * before it publishes a field-index snapshot holding the new labels, so a reader that
     * loads it after taking a snapshot (acquire) gets a bound on every label in it. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint64_t next_label;
    _Atomic uint64_t count;
    _Atomic uint64_t record_bytes;
    _Atomic uint64_t ops_applied;
    uint64_t log_sequence;          /* durable engines: last WAL sequence number given out */
    uint32_t frozen_worker;         /* the worker whose export marker froze the space (set
                                     * before the marker is applied, read by mn_space_resume) */
    uint32_t table_order;           /* by_id and by_label have 2^table_order buckets: sized by
                                     * the runner alone (mn_space_tables_fit) */
    /* Durable engines: sequences void_first..void_last were in appends that failed and could
     * not be cut off their log; a VOID record naming them is not durable yet (0: none). */
    uint64_t void_first;
    uint64_t void_last;

    /* Immutable after creation (table_next is under the engine's table mutex). */
    _Alignas(MN_CACHE_LINE_SIZE) struct mn_engine *engine;
    mn_mailbox_cell *cells;
    uint64_t mask;
    mn_hnsw *index;
    mn_assoc *assoc;             /* associations between labels (mn_engine_assoc.c) */
    /* The field indexes (csrc/meta/mn_field_index.h): createdAt and the indexes created with
     * mn_space_index_create. The runner is their one writer (every apply path keeps them in
     * step with the records); readers take a snapshot inside their RCU read section. */
    mn_field_indexes *fields;
    struct cds_lfht *by_id;
    struct cds_lfht *by_label;
    mn_hnsw_params params;
    uint64_t name_hash;
    uint64_t space_id;              /* durable engines: the id its WAL records carry */
    uint32_t home;
    uint32_t name_bytes;
    struct mn_space *table_next;
    char name[MN_ENGINE_NAME_BYTES_MAX + 1];

    /* Durable engines: checkpoint bookkeeping, under durable->checkpoint_lock
     * (mn_engine_checkpoint.c). checkpoint_enqueued is enqueue_pos just after the last
     * checkpoint's export op was queued, when nothing else was queued in between; a space whose
     * enqueue_pos differs may have changed since (every write goes through the mailbox). */
    uint64_t checkpoint_enqueued;
    uint32_t checkpointed;          /* 1: a checkpoint entry holds it */
    uint32_t checkpoint_dead;       /* 1: dropped; no checkpoint of it may be renamed in */
};

_Static_assert(offsetof(struct mn_space, dequeue_pos) == 1 * MN_CACHE_LINE_SIZE, "own line");
_Static_assert(offsetof(struct mn_space, scheduled) == 2 * MN_CACHE_LINE_SIZE, "own line");
_Static_assert(offsetof(struct mn_space, refs) == 3 * MN_CACHE_LINE_SIZE, "own line");
_Static_assert(offsetof(struct mn_space, next_label) == 4 * MN_CACHE_LINE_SIZE, "own line");
_Static_assert(offsetof(struct mn_space, engine) == 5 * MN_CACHE_LINE_SIZE, "own line");
_Static_assert(sizeof(struct mn_space) % MN_CACHE_LINE_SIZE == 0, "whole lines");

/* ---- workers and parallel batches ---- */

/** A batch being linked by its runner with help from idle workers. */
typedef struct mn_help_job {
    mn_hnsw_batch *batch;
    uint64_t sequence;          /* set under the help mutex */
    _Atomic uint32_t helpers;   /* workers inside mn_hnsw_batch_work for this job */
    struct mn_help_job *next;   /* under the engine's help mutex */
} mn_help_job;

/** One shard worker. */
typedef struct mn_worker {
    /* The run queue: producers, the owner and thieves, under `lock`. */
    _Alignas(MN_CACHE_LINE_SIZE) pthread_mutex_t lock;
    pthread_cond_t wake;
    struct mn_space *head;
    struct mn_space *tail;
    uint32_t sleeping;          /* under lock: the owner waits on `wake` */
    uint32_t wake_pending;      /* under lock: a wake-up arrived while it was not sleeping */
    _Atomic uint64_t depth;     /* also read without the lock by thieves choosing a victim */
    _Atomic uint64_t weight;    /* queued records (estimate: run_weight of its spaces); ditto */

    /* Counters: the worker writes (relaxed), anyone reads. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint64_t ops;
    _Atomic uint64_t batches;
    _Atomic uint64_t memories;
    _Atomic uint64_t steals;
    _Atomic uint64_t helps;
    _Atomic uint64_t grouped;   /* single writes applied in groups (mn_space_apply_writes) */
    _Atomic uint64_t coalesced; /* grouped writes a later one to the same id superseded */
    _Atomic uint64_t busy_ns;

    /* The worker's arena (its own lines). */
    mn_arena arena;

    /* Immutable after start. */
    _Alignas(MN_CACHE_LINE_SIZE) struct mn_engine *engine;
    pthread_t thread;
    uint32_t index;
    int32_t cpu;
    int32_t numa_node;
    uint32_t started;
    uint64_t last_help;         /* the worker's own: sequence of the last job it joined */
} mn_worker;

_Static_assert(offsetof(mn_worker, ops) % MN_CACHE_LINE_SIZE == 0, "counters on own line");
_Static_assert(offsetof(mn_worker, arena) % MN_CACHE_LINE_SIZE == 0, "arena on own line");
_Static_assert(offsetof(mn_worker, engine) % MN_CACHE_LINE_SIZE == 0, "immutable on own line");
_Static_assert(sizeof(mn_worker) % MN_CACHE_LINE_SIZE == 0, "whole lines");

/* ---- the engine ---- */

struct mn_engine {
    /* Submissions in flight (close waits for them), and the closed flag. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint64_t submitters;
    _Atomic uint32_t closed;
    _Atomic uint32_t stopping;   /* workers exit once their queues are empty */

    /* Sleeping workers (a hint for waking thieves and helpers). */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint32_t sleepers;
    /* Spaces frozen by an export (mn_engine_export.c): the worker that froze one adds,
     * mn_space_resume subtracts after requeueing it; stopping workers wait for 0 (seq_cst). */
    _Atomic uint32_t frozen;

    /* Parallel batches that idle workers may join. */
    _Alignas(MN_CACHE_LINE_SIZE) pthread_mutex_t help_lock;
    mn_help_job *help_jobs;
    uint64_t help_sequence;          /* under help_lock: numbers jobs so a helper joins once */
    _Atomic uint32_t help_available; /* a hint read without the lock */

    /* The space table: name -> space, chained, under table_lock. */
    _Alignas(MN_CACHE_LINE_SIZE) pthread_mutex_t table_lock;
    struct mn_space **buckets;
    uint64_t bucket_count;       /* a power of two */
    uint64_t space_count;

    /* Immutable after create. */
    _Alignas(MN_CACHE_LINE_SIZE) mn_engine_options options;
    pthread_mutex_t close_lock;  /* serialises close */
    uint32_t worker_count;
    mn_worker **workers;         /* worker_count workers, each allocated on its own node */
    int32_t *cpus;               /* CPUs this process may use, for pinning */
    uint32_t cpu_count;
    /* Durability: the one table the engine calls it through (mn_engine_durability.h), and
     * that table's state (NULL for the in-memory null object; only the table reads it). */
    const struct mn_durability_hooks *durability;
    struct mn_durable *durable;
};

_Static_assert(offsetof(struct mn_engine, sleepers) % MN_CACHE_LINE_SIZE == 0, "own line");
_Static_assert(offsetof(struct mn_engine, help_lock) % MN_CACHE_LINE_SIZE == 0, "own line");
_Static_assert(offsetof(struct mn_engine, table_lock) % MN_CACHE_LINE_SIZE == 0, "own line");

/* ---- functions shared between the engine's files ---- */

/* mailbox */
mn_status mn_mailbox_push(struct mn_space *space, mn_op *op);
mn_op *mn_mailbox_pop(struct mn_space *space);
int mn_mailbox_empty(struct mn_space *space);
/** The runner, after popping: wakes producers waiting for room, if any. */
void mn_mailbox_room_made(struct mn_space *space);
/** A producer that found the mailbox full: sleeps until the runner makes room or `timeout_ns`
 *  passes, unless room was made since it read `sequence` (room_sequence, read before it last
 *  tried). The caller has added itself to room_waiters before that try. */
void mn_mailbox_room_wait(struct mn_space *space, uint32_t sequence, long timeout_ns);
uint64_t mn_mailbox_depth(const struct mn_space *space);

/* spaces (mn_engine_space.c) */
mn_status mn_space_create_internal(struct mn_engine *engine, const char *name, uint32_t bytes,
                                   uint64_t name_hash, const mn_hnsw_params *params,
                                   struct mn_space **out);
void mn_space_acquire(struct mn_space *space);
/** Drops one reference; the last frees the space (its records, tables, index, mailbox). */
void mn_space_unref(struct mn_space *space);
/** Applies one record on the worker running the space and completes it. */
void mn_space_apply(struct mn_space *space, mn_op *op, mn_worker *worker);
/** Applies n consecutive single inserts and upserts (logged) as one group; completes them. */
void mn_space_apply_writes(struct mn_space *space, mn_op **ops, uint32_t n, mn_worker *worker);
/* Finds an id repeated among ids[id_offsets[i] .. id_offsets[i+1]), i < count: MN_ERR_DUPLICATE
 * with the later position in *failed, MN_OK, or MN_ERR_NO_MEMORY. */
mn_status mn_engine_batch_find_repeat(const char *ids, const uint64_t *id_offsets, size_t count,
                                      size_t *failed);
/** MN_ERR_TOO_LARGE when queuing `op` (an insert, upsert or batch) would take the space past
 *  the engine's space_bytes_max (an upper estimate; any thread). */
mn_status mn_space_room_check(struct mn_space *space, const mn_op *op);

/* Looks an id or a label up; the caller is inside a read-side section (or is the runner). */
/* Every record of the space, in hash order, into a malloc'd array (*count of them): the caller
 * is the space's runner, or the space is frozen, so none is retired while it holds them. */
mn_status mn_space_records(struct mn_space *space, mn_record ***out, size_t *count);
/* What every search starts with: k and ef checked, a dropped space refused, *results pointing
 * at `stack_results` (MN_ENGINE_SEARCH_STACK_K entries) or, for a larger k, at a malloc'd array
 * the caller frees, and *beam = ef, or max(k, MN_ENGINE_SEARCH_EF_DEFAULT) for ef 0. */
mn_status mn_space_search_prepare(mn_space *space, uint32_t k, uint32_t ef,
                                  mn_hnsw_result *stack_results, mn_hnsw_result **results,
                                  uint32_t *beam);
mn_record *mn_space_find_id(struct mn_space *space, const char *id, uint32_t bytes);
mn_record *mn_space_find_label(struct mn_space *space, uint64_t label);
/** Sizes the space's id and label tables for `expected` live memories (grows them to the power
 *  of two at or above it; shrinks them when it fell below an eighth of their buckets). The
 *  runner only, outside any read-side section: a shrink waits for grace periods. */
void mn_space_tables_fit(struct mn_space *space, uint64_t expected);
/** Frees a space's kept filter bitmap at once (mn_engine_filter.c): no reader may be left. */
void mn_filter_memo_destroy(struct mn_filter_memo *memo);
/* Adds one imported record under `label` and publishes it (RESTORE, on the runner only; the
 * label is already a live member of the index). */
mn_status mn_space_restore_record(struct mn_space *space, mn_worker *worker, uint64_t label,
                                  const char *id, uint32_t id_bytes, const uint8_t *content,
                                  uint64_t content_bytes, const uint8_t *metadata,
                                  uint32_t metadata_bytes, int64_t created_ns);

/* submission and the space table (mn_engine.c), for ops built outside it */
mn_op *mn_engine_op_new(uint32_t kind, uint64_t count, uint32_t dimension, uint64_t id_bytes,
                        uint64_t content_bytes);
/** mn_engine_op_new with room for `metadata_bytes` of metadata (every offset starts at 0). */
mn_op *mn_engine_op_new_meta(uint32_t kind, uint64_t count, uint32_t dimension,
                             uint64_t id_bytes, uint64_t content_bytes, uint64_t metadata_bytes);
/** Queues a filled op as the public submit functions do (frees it if it was not queued). */
mn_status mn_engine_submit_op(struct mn_space *space, mn_op *op, uint32_t flags,
                              mn_completion_fn done, void *context);
/** Creates a space that is not yet in the table, holding one reference for the caller.
 *  Errors as mn_engine_space_create (MN_ERR_DUPLICATE if the name is taken now). */
mn_status mn_engine_space_new_detached(struct mn_engine *engine, const char *name,
                                       uint32_t name_bytes, const mn_hnsw_params *params,
                                       struct mn_space **out);
/** The space named `name` in the table, or NULL; the caller holds table_lock. */
struct mn_space *mn_engine_table_find_locked(struct mn_engine *engine, const char *name,
                                             uint32_t name_bytes);
/** Puts a detached space in the table (taking the table's reference) and, when out is not
 *  NULL, a new handle in *out. MN_ERR_DUPLICATE if the name was taken meanwhile. */
mn_status mn_engine_space_publish(struct mn_engine *engine, struct mn_space *space,
                                  struct mn_space **out);

/* associations and export (mn_engine_assoc.c, mn_engine_export.c), on the runner */
mn_status mn_space_apply_link(struct mn_space *space, mn_op *op, uint64_t *detail);
mn_status mn_space_apply_unlink(struct mn_space *space, mn_op *op);
/** An export in progress on the exporting thread (mn_engine_export.c): freeze the space
 *  (queue the marker), wait until its runner has applied every earlier op and left it, read
 *  it, resume it. Lets a checkpoint freeze many spaces at once and read them one by one. */
typedef struct mn_space_freeze mn_space_freeze;
/** Queues the export marker (MN_SUBMIT_WAIT); *out gets the freeze (pair with _end). */
mn_status mn_space_freeze_begin(struct mn_space *space, mn_space_freeze **out);
/** Waits until the space is frozen; an error when the marker was not applied (e.g. closed). */
mn_status mn_space_freeze_wait(mn_space_freeze *freeze);
/** Writes the export stream of a frozen space, calling `write` outside any RCU read-side
 *  section and with no engine lock held (only the index's writers lock, which nobody but the
 *  frozen space's runner takes); the space's worker runs its other spaces meanwhile. */
mn_status mn_space_export_frozen(struct mn_space *space, mn_write_fn write, void *context);
/** Resumes a frozen space (or waits for a marker that was never applied) and frees `freeze`. */
void mn_space_freeze_end(mn_space_freeze *freeze);
mn_status mn_space_apply_restore(struct mn_space *space, mn_op *op, mn_worker *worker);

/* workers (mn_engine_worker.c) */
mn_status mn_workers_start(struct mn_engine *engine);
/** Sets `stopping`, wakes every worker and joins them (each drains its queue first). */
void mn_workers_stop(struct mn_engine *engine);
/** Frees the workers and their arenas (after stop, and after every record is reclaimed). */
void mn_workers_free(struct mn_engine *engine);
/** Makes a space runnable on its home worker (the caller won the scheduled flag). */
void mn_worker_schedule(struct mn_engine *engine, struct mn_space *space);
/** Makes a space frozen by an export runnable again: requeued on the worker that froze it
 *  (which does not exit while a space is frozen) when its mailbox holds ops, else
 *  unscheduled (dropping the scheduling reference). Any thread. */
void mn_space_resume(struct mn_engine *engine, struct mn_space *space);
/** Links a prepared batch with the help of idle workers; returns when every item is linked
 *  or, after a failure, when no worker links any more (mn_hnsw_batch_end reports it). */
void mn_worker_link_batch(mn_worker *worker, mn_hnsw_batch *batch);

/* metadata (mn_engine_meta.c): the engine's only calls into the codec of mn_meta.h */
/** The largest encoded patch (mn_meta_patch_encode): u32 set bytes, a whole document, u16
 *  remove count, and at most MN_META_FIELDS_MAX names of u8 length each. A PATCH op never
 *  carries more. */
#define MN_ENGINE_META_PATCH_BYTES_MAX \
    (4u + MN_META_DOC_BYTES_MAX + 2u + MN_META_FIELDS_MAX * (1u + MN_META_NAME_BYTES_MAX))
/** MN_OK for no metadata (0 bytes) or a valid document of at most MN_META_DOC_BYTES_MAX;
 *  else the codec's status, with *error (may be NULL) naming the field. Any thread. */
mn_status mn_engine_meta_check_doc(const uint8_t *doc, uint64_t bytes, mn_meta_error *error);
/** MN_OK for a well-formed patch (1 ... MN_ENGINE_META_PATCH_BYTES_MAX bytes). Any thread. */
mn_status mn_engine_meta_check_patch(const uint8_t *patch, uint64_t bytes,
                                     mn_meta_error *error);
/** Applies a checked patch to a stored document (0 bytes: none) into *out (free with
 *  mn_meta_free; NULL with *out_bytes 0 when the result has no field). An error (the merged
 *  document over the codec's limits) leaves nothing allocated. */
mn_status mn_engine_meta_merge(const uint8_t *old, uint64_t old_bytes, const uint8_t *patch,
                               uint64_t patch_bytes, uint8_t **out, uint64_t *out_bytes);

/* filtered reads (mn_engine_filter.c) */
/** Every memory matching `filter` (NULL: all), checked on its record, into *out (free() it;
 *  NULL when *count is 0): from the field indexes when the filter allows, else by walking
 *  the records. For the runner (delete by filter): no record is retired meanwhile. */
mn_status mn_space_filter_records(struct mn_space *space, const mn_filter *filter,
                                  mn_record ***out, size_t *count);

/* field indexes (mn_engine_index.c), on the runner */
mn_status mn_space_apply_index_create(struct mn_space *space, mn_op *op, uint64_t *detail);
mn_status mn_space_apply_index_drop(struct mn_space *space, mn_op *op, uint64_t *detail);
/** Checks a logged CREATE/DROP op's name and kind (replay): MN_OK or MN_ERR_CORRUPT. */
mn_status mn_engine_index_check_op(uint32_t kind, const char *name, uint64_t name_bytes,
                                   const uint8_t *content, uint64_t content_bytes);
/** Adds every memory of a space filled by RESTORE (records published, no reader yet) to its
 *  field indexes in one transaction (definitions already added). */
mn_status mn_space_index_restore(struct mn_space *space);

/* clocks */
int64_t mn_engine_now_ns(void);
int64_t mn_engine_monotonic_ns(void);

#endif /* MN_ENGINE_INTERNAL_H */
