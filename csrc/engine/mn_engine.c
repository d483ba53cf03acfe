/*
 * mn_engine.c: the engine object: options, the space table, submission, close and destroy.
 *
 * The engine owns everything (workers, spaces, arenas); there is no global mutable state, so
 * several engines can live in one process (tests do). Space management (create, open, drop,
 * list) is rare and goes through one table mutex. Submission is the hot path: it validates the
 * input on the caller's thread (so a bad memory is rejected before it costs a worker anything),
 * copies it into one mailbox record (mn_op), pushes it into the space's lock-free mailbox and,
 * if the space was idle, schedules it on its home worker.
 *
 * Close protocol: `closed` is set, then close waits for every submission that passed the closed
 * check to finish scheduling (`submitters` drops to 0; store-then-load on both sides, seq_cst),
 * so that when the workers are told to stop, every accepted record is in a mailbox whose space
 * is on a run queue, and the workers drain their queues before they exit.
 */
#define _GNU_SOURCE
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "engine/mn_engine_durability.h"
#include "engine/mn_engine_internal.h"
#include "numa/mn_numa.h"
#include "util/mn_rcu.h"

#define MN_ENGINE_NAME_HASH_SEED 0x6d6e656d6f686f6dull /* "mnemohom" */
#define MN_ENGINE_TABLE_BUCKETS_INIT 64u
/* A producer waiting for room looks again at least this often (see mn_engine_mailbox.c). */
#define MN_ENGINE_ROOM_WAIT_NS 1000000L

mn_status mn_engine_options_default(mn_engine_options *out) {
    if (!out) return MN_ERR_INVALID;
    out->workers = 0;
    out->pin_workers = 1;
    out->stealing = 1;
    out->mailbox_depth = MN_ENGINE_MAILBOX_DEPTH_DEFAULT;
    out->content_bytes_max = MN_ENGINE_CONTENT_BYTES_DEFAULT;
    out->parallel_batch_min = MN_ENGINE_PARALLEL_BATCH_DEFAULT;
    out->reserved = 0;
    out->queue_bytes_max = MN_ENGINE_QUEUE_BYTES_DEFAULT;
    out->space_bytes_max = MN_ENGINE_SPACE_BYTES_DEFAULT;
    return MN_OK;
}

/* ---- validation helpers ---- */

/* Returns 1 if bytes[0..size) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int mn_utf8_valid(const unsigned char *bytes, size_t size) {
    size_t i = 0;
    while (i < size) {
        unsigned char c = bytes[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t length;
        uint32_t point;
        if ((c & 0xE0) == 0xC0) {
            length = 2;
            point = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            length = 3;
            point = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            length = 4;
            point = c & 0x07;
        } else {
            return 0;
        }
        if (i + length > size) return 0;
        for (size_t j = 1; j < length; j++) {
            if ((bytes[i + j] & 0xC0) != 0x80) return 0;
            point = (point << 6) | (bytes[i + j] & 0x3F);
        }
        static const uint32_t minimum[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (point < minimum[length] || point > 0x10FFFF) return 0;
        if (point >= 0xD800 && point <= 0xDFFF) return 0;
        i += length;
    }
    return 1;
}

static mn_status mn_validate_name(const char *name, uint32_t bytes) {
    if (!name || bytes == 0) return MN_ERR_INVALID;
    if (bytes > MN_ENGINE_NAME_BYTES_MAX) return MN_ERR_TOO_LARGE;
    if (!mn_utf8_valid((const unsigned char *)name, bytes)) return MN_ERR_INVALID;
    return MN_OK;
}

static mn_status mn_validate_id(const char *id, uint64_t bytes) {
    if (!id || bytes == 0) return MN_ERR_INVALID;
    if (bytes > MN_ENGINE_ID_BYTES_MAX) return MN_ERR_TOO_LARGE;
    return MN_OK;
}

static mn_status mn_validate_vector(const mn_space *space, const float *vector,
                                    uint32_t dimension) {
    if (dimension != space->params.dimension) return MN_ERR_DIMENSION;
    if (!vector) return MN_ERR_INVALID;
    int nonzero = 0;
    for (uint32_t i = 0; i < dimension; i++) {
        if (!isfinite(vector[i])) return MN_ERR_NON_FINITE;
        nonzero |= vector[i] != 0.0f;
    }
    if (!nonzero && space->params.metric == MN_METRIC_COSINE) return MN_ERR_ZERO_VECTOR;
    return MN_OK;
}

static mn_status mn_validate_content(const mn_space *space, const uint8_t *content,
                                     uint64_t bytes) {
    if (bytes > space->engine->options.content_bytes_max) return MN_ERR_TOO_LARGE;
    if (bytes > 0 && !content) return MN_ERR_INVALID;
    return MN_OK;
}

/* ---- mailbox records ---- */

static size_t mn_align8(size_t size) { return (size + 7u) & ~(size_t)7u; }

/* Allocates a record with room for `count` memories; the caller fills it (every metadata
 * offset starts at 0: no item has metadata unless the caller says so). */
static mn_op *mn_op_new(uint32_t kind, uint64_t count, uint32_t dimension, uint64_t id_bytes,
                        uint64_t content_bytes, uint64_t metadata_bytes) {
    size_t offsets = mn_align8((size_t)(count + 1) * sizeof(uint64_t));
    size_t created = (size_t)count * sizeof(int64_t);
    size_t vectors = mn_align8((size_t)count * dimension * sizeof(float));
    size_t total = mn_align8(sizeof(mn_op)) + 3 * offsets + created + vectors +
                   mn_align8((size_t)id_bytes) + (size_t)content_bytes + (size_t)metadata_bytes;
    uint8_t *memory = malloc(total);
    if (!memory) return NULL;
    mn_op *op = (mn_op *)memory;
    uint8_t *cursor = memory + mn_align8(sizeof(mn_op));
    op->kind = kind;
    op->dimension = dimension;
    op->count = count;
    op->bytes = total;
    op->done = NULL;
    op->context = NULL;
    op->expect_sequence = 0;
    op->id_offsets = (uint64_t *)cursor;
    cursor += offsets;
    op->content_offsets = (uint64_t *)cursor;
    cursor += offsets;
    op->metadata_offsets = (uint64_t *)cursor;
    memset(op->metadata_offsets, 0, (size_t)(count + 1) * sizeof(uint64_t));
    cursor += offsets;
    op->created_ns = (int64_t *)cursor;
    cursor += created;
    op->vectors = (float *)cursor;
    cursor += vectors;
    op->ids = (char *)cursor;
    cursor += mn_align8((size_t)id_bytes);
    op->contents = cursor;
    cursor += content_bytes;
    op->metadata = cursor;
    return op;
}

/* Takes `bytes` of the space's queue budget: 1 when they fit. A record alone in the queue
 * always fits, so an internal record over the limit (replay of a batch logged under a larger
 * limit) waits for an empty queue instead of forever; public submits refuse those first
 * (mn_submit_checked). */
static int mn_queue_reserve(mn_space *space, uint64_t bytes) {
    uint64_t limit = space->engine->options.queue_bytes_max;
    uint64_t queued = atomic_load_explicit(&space->queued_bytes, memory_order_relaxed);
    for (;;) {
        if (queued != 0 && (queued >= limit || bytes > limit - queued)) return 0;
        if (atomic_compare_exchange_weak_explicit(&space->queued_bytes, &queued, queued + bytes,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            return 1;
        }
    }
}

/* Queues a filled record; frees it if it was not queued. */
static mn_status mn_submit(mn_space *space, mn_op *op, uint32_t flags, mn_completion_fn done,
                           void *context) {
    struct mn_engine *engine = space->engine;
    op->done = done;
    op->context = context;
    mn_status status = MN_OK;
    atomic_fetch_add_explicit(&engine->submitters, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&engine->closed, memory_order_seq_cst)) {
        status = MN_ERR_CLOSED;
        goto out;
    }
    if (atomic_load_explicit(&space->dropped, memory_order_acquire)) {
        status = MN_ERR_UNKNOWN_SPACE;
        goto out;
    }
    int waiting = 0; /* counted in room_waiters */
    for (;;) {
        uint32_t sequence = atomic_load_explicit(&space->room_sequence, memory_order_seq_cst);
        /* Room in bytes first (reserved before the push, given back if the ring is full),
         * then a cell of the ring. */
        if (mn_queue_reserve(space, op->bytes)) {
            status = mn_mailbox_push(space, op);
            if (status == MN_OK) break;
            atomic_fetch_sub_explicit(&space->queued_bytes, op->bytes, memory_order_relaxed);
        } else {
            status = MN_ERR_FULL;
        }
        if (status != MN_ERR_FULL || !(flags & MN_SUBMIT_WAIT)) break;
        if (!waiting) { /* counted, then tried again before the first sleep */
            atomic_fetch_add_explicit(&space->room_waiters, 1, memory_order_seq_cst);
            atomic_thread_fence(memory_order_seq_cst); /* the count before the next try */
            waiting = 1;
            continue;
        }
        mn_mailbox_room_wait(space, sequence, MN_ENGINE_ROOM_WAIT_NS);
    }
    if (waiting) atomic_fetch_sub_explicit(&space->room_waiters, 1, memory_order_relaxed);
    if (status != MN_OK) goto out;
    /* Publish (above), fence, then look at the flag: pairs with the worker's store of 0,
     * fence, then look at the mailbox. One of the two sees the other. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_exchange_explicit(&space->scheduled, 1, memory_order_seq_cst) == 0) {
        mn_space_acquire(space); /* the scheduling reference, dropped by the worker */
        mn_worker_schedule(engine, space);
    }
out:
    atomic_fetch_sub_explicit(&engine->submitters, 1, memory_order_seq_cst);
    if (status != MN_OK) free(op);
    return status;
}

/* mn_submit for the public writes: first the byte limits (a record that can never queue, a
 * space that would grow past its cap), which internal records (replay, export) skip. */
static mn_status mn_submit_checked(mn_space *space, mn_op *op, uint32_t flags,
                                   mn_completion_fn done, void *context) {
    mn_status status = MN_OK;
    if (op->bytes > space->engine->options.queue_bytes_max) status = MN_ERR_TOO_LARGE;
    if (status == MN_OK && op->kind != MN_OP_DELETE && op->kind != MN_OP_DELETE_FILTER) {
        status = mn_space_room_check(space, op);
    }
    if (status != MN_OK) {
        free(op);
        return status;
    }
    return mn_submit(space, op, flags, done, context);
}

static mn_status mn_submit_one(mn_space *space, uint32_t kind, const char *id, uint32_t id_bytes,
                               const float *vector, uint32_t dimension, const uint8_t *content,
                               uint64_t content_bytes, const uint8_t *metadata,
                               uint64_t metadata_bytes, uint32_t flags, mn_completion_fn done,
                               void *context, mn_meta_error *error) {
    if (error) memset(error, 0, sizeof(*error));
    if (!space) return MN_ERR_INVALID;
    mn_status status = mn_validate_id(id, id_bytes);
    if (status != MN_OK) return status;
    uint32_t stored_dimension = 0;
    if (kind == MN_OP_INSERT || kind == MN_OP_UPSERT) {
        status = mn_validate_vector(space, vector, dimension);
        if (status != MN_OK) return status;
        status = mn_validate_content(space, content, content_bytes);
        if (status != MN_OK) return status;
        status = mn_engine_meta_check_doc(metadata, metadata_bytes, error);
        if (status != MN_OK) return status;
        stored_dimension = dimension;
    } else if (kind == MN_OP_PATCH) {
        content_bytes = 0;
        status = mn_engine_meta_check_patch(metadata, metadata_bytes, error);
        if (status != MN_OK) return status;
    } else if (kind == MN_OP_DELETE_FILTER) {
        metadata_bytes = 0; /* content: the filter text, checked by the caller */
    } else {
        content_bytes = 0;
        metadata_bytes = 0;
    }
    mn_op *op = mn_op_new(kind, 1, stored_dimension, id_bytes, content_bytes, metadata_bytes);
    if (!op) return MN_ERR_NO_MEMORY;
    op->id_offsets[0] = 0;
    op->id_offsets[1] = id_bytes;
    op->content_offsets[0] = 0;
    op->content_offsets[1] = content_bytes;
    op->metadata_offsets[1] = metadata_bytes;
    op->created_ns[0] = mn_engine_now_ns();
    memcpy(op->ids, id, id_bytes);
    if (stored_dimension) memcpy(op->vectors, vector, (size_t)dimension * sizeof(float));
    if (content_bytes) memcpy(op->contents, content, (size_t)content_bytes);
    if (metadata_bytes) memcpy(op->metadata, metadata, (size_t)metadata_bytes);
    return mn_submit_checked(space, op, flags, done, context);
}

mn_status mn_space_insert(mn_space *space, const char *id, uint32_t id_bytes,
                          const float *vector, uint32_t dimension, const uint8_t *content,
                          uint64_t content_bytes, uint32_t flags, mn_completion_fn done,
                          void *context) {
    return mn_submit_one(space, MN_OP_INSERT, id, id_bytes, vector, dimension, content,
                         content_bytes, NULL, 0, flags, done, context, NULL);
}

mn_status mn_space_upsert(mn_space *space, const char *id, uint32_t id_bytes,
                          const float *vector, uint32_t dimension, const uint8_t *content,
                          uint64_t content_bytes, uint32_t flags, mn_completion_fn done,
                          void *context) {
    return mn_submit_one(space, MN_OP_UPSERT, id, id_bytes, vector, dimension, content,
                         content_bytes, NULL, 0, flags, done, context, NULL);
}

mn_status mn_space_insert_meta(mn_space *space, const char *id, uint32_t id_bytes,
                               const float *vector, uint32_t dimension, const uint8_t *content,
                               uint64_t content_bytes, const uint8_t *metadata,
                               uint64_t metadata_bytes, uint32_t flags, mn_completion_fn done,
                               void *context, mn_meta_error *error) {
    return mn_submit_one(space, MN_OP_INSERT, id, id_bytes, vector, dimension, content,
                         content_bytes, metadata, metadata_bytes, flags, done, context, error);
}

mn_status mn_space_upsert_meta(mn_space *space, const char *id, uint32_t id_bytes,
                               const float *vector, uint32_t dimension, const uint8_t *content,
                               uint64_t content_bytes, const uint8_t *metadata,
                               uint64_t metadata_bytes, uint32_t flags, mn_completion_fn done,
                               void *context, mn_meta_error *error) {
    return mn_submit_one(space, MN_OP_UPSERT, id, id_bytes, vector, dimension, content,
                         content_bytes, metadata, metadata_bytes, flags, done, context, error);
}

mn_status mn_space_patch_metadata(mn_space *space, const char *id, uint32_t id_bytes,
                                  const uint8_t *patch, uint64_t patch_bytes, uint32_t flags,
                                  mn_completion_fn done, void *context, mn_meta_error *error) {
    return mn_submit_one(space, MN_OP_PATCH, id, id_bytes, NULL, 0, NULL, 0, patch, patch_bytes,
                         flags, done, context, error);
}

mn_status mn_space_delete(mn_space *space, const char *id, uint32_t id_bytes, uint32_t flags,
                          mn_completion_fn done, void *context) {
    return mn_submit_one(space, MN_OP_DELETE, id, id_bytes, NULL, 0, NULL, 0, NULL, 0, flags,
                         done, context, NULL);
}

mn_status mn_space_delete_filtered(mn_space *space, const char *filter_json, size_t filter_bytes,
                                   uint32_t flags, mn_completion_fn done, void *context,
                                   mn_filter_error *error) {
    mn_filter_error scratch;
    if (!error) error = &scratch;
    memset(error, 0, sizeof(*error));
    if (!space || !filter_json) return MN_ERR_INVALID;
    /* Parsed here for the caller's error, and again by the runner (and by a replay): the text
     * is what the record carries, so the log holds the filter exactly as it was given. */
    mn_filter *filter = NULL;
    mn_status status = mn_filter_parse(filter_json, filter_bytes, &filter, error);
    if (status != MN_OK) return status;
    mn_filter_free(filter);
    return mn_submit_one(space, MN_OP_DELETE_FILTER, MN_OP_DELETE_FILTER_ID,
                         (uint32_t)strlen(MN_OP_DELETE_FILTER_ID), NULL, 0,
                         (const uint8_t *)filter_json, filter_bytes, NULL, 0, flags, done,
                         context, NULL);
}

mn_status mn_space_barrier(mn_space *space, uint32_t flags, mn_completion_fn done,
                           void *context) {
    if (!space) return MN_ERR_INVALID;
    mn_op *op = mn_op_new(MN_OP_BARRIER, 0, 0, 0, 0, 0);
    if (!op) return MN_ERR_NO_MEMORY;
    op->id_offsets[0] = 0;
    op->content_offsets[0] = 0;
    return mn_submit(space, op, flags, done, context);
}

mn_op *mn_engine_op_new(uint32_t kind, uint64_t count, uint32_t dimension, uint64_t id_bytes,
                        uint64_t content_bytes) {
    return mn_op_new(kind, count, dimension, id_bytes, content_bytes, 0);
}

mn_op *mn_engine_op_new_meta(uint32_t kind, uint64_t count, uint32_t dimension,
                             uint64_t id_bytes, uint64_t content_bytes, uint64_t metadata_bytes) {
    return mn_op_new(kind, count, dimension, id_bytes, content_bytes, metadata_bytes);
}

mn_status mn_engine_submit_op(struct mn_space *space, mn_op *op, uint32_t flags,
                              mn_completion_fn done, void *context) {
    return mn_submit(space, op, flags, done, context);
}

mn_status mn_engine_batch_find_repeat(const char *ids, const uint64_t *id_offsets, size_t count,
                                      size_t *failed) {
    size_t capacity = 16;
    while (capacity < count * 2) capacity <<= 1;
    size_t *slots = malloc(capacity * sizeof(size_t));
    if (!slots) return MN_ERR_NO_MEMORY;
    for (size_t i = 0; i < capacity; i++) slots[i] = SIZE_MAX;
    mn_status status = MN_OK;
    for (size_t i = 0; i < count && status == MN_OK; i++) {
        const char *id = ids + id_offsets[i];
        size_t bytes = (size_t)(id_offsets[i + 1] - id_offsets[i]);
        size_t slot = (size_t)XXH64(id, bytes, 0) & (capacity - 1);
        while (slots[slot] != SIZE_MAX) {
            size_t j = slots[slot];
            size_t other = (size_t)(id_offsets[j + 1] - id_offsets[j]);
            if (other == bytes && memcmp(ids + id_offsets[j], id, bytes) == 0) {
                *failed = i;
                status = MN_ERR_DUPLICATE;
                break;
            }
            slot = (slot + 1) & (capacity - 1);
        }
        if (status == MN_OK) slots[slot] = i;
    }
    free(slots);
    return status;
}

mn_status mn_space_insert_batch(mn_space *space, const mn_batch_in *batch, uint32_t flags,
                                mn_completion_fn done, void *context, size_t *failed_index) {
    return mn_space_insert_batch_meta(space, batch, NULL, NULL, flags, done, context,
                                      failed_index, NULL);
}

/* Validates a batch whole (nothing is queued unless every memory is good) and queues it as
 * one record of `kind` (MN_OP_BATCH or MN_OP_UPSERT_BATCH). */
static mn_status mn_submit_batch(mn_space *space, uint32_t kind, const mn_batch_in *batch,
                                 const uint8_t *metadata, const uint64_t *metadata_offsets,
                                 uint32_t flags, mn_completion_fn done, void *context,
                                 size_t *failed_index, mn_meta_error *error) {
    size_t failed_scratch = 0;
    size_t *failed = failed_index ? failed_index : &failed_scratch;
    *failed = 0;
    if (error) memset(error, 0, sizeof(*error));
    if (!space || !batch) return MN_ERR_INVALID;
    if (batch->count == 0) return MN_ERR_INVALID;
    if (batch->count > MN_ENGINE_BATCH_COUNT_MAX) return MN_ERR_TOO_LARGE;
    if (!batch->ids || !batch->id_offsets || !batch->content_offsets || !batch->vectors) {
        return MN_ERR_INVALID;
    }
    if (batch->dimension != space->params.dimension) return MN_ERR_DIMENSION;
    if (batch->id_offsets[0] != 0 || batch->content_offsets[0] != 0) return MN_ERR_INVALID;
    if (metadata_offsets && metadata_offsets[0] != 0) return MN_ERR_INVALID;
    uint32_t dimension = batch->dimension;
    /* Validate every memory before anything is copied or queued: all-or-nothing. */
    for (size_t i = 0; i < batch->count; i++) {
        mn_status status = MN_OK;
        uint64_t id_start = batch->id_offsets[i], id_end = batch->id_offsets[i + 1];
        uint64_t content_start = batch->content_offsets[i];
        uint64_t content_end = batch->content_offsets[i + 1];
        uint64_t meta_start = metadata_offsets ? metadata_offsets[i] : 0;
        uint64_t meta_end = metadata_offsets ? metadata_offsets[i + 1] : 0;
        if (id_end < id_start || content_end < content_start || meta_end < meta_start) {
            status = MN_ERR_INVALID;
        } else {
            status = mn_validate_id(batch->ids + id_start, id_end - id_start);
        }
        if (status == MN_OK) {
            status = mn_validate_vector(space, batch->vectors + i * dimension, dimension);
        }
        if (status == MN_OK && content_end > content_start && !batch->contents) {
            status = MN_ERR_INVALID;
        }
        if (status == MN_OK) {
            status = mn_validate_content(space, batch->contents, content_end - content_start);
        }
        if (status == MN_OK && meta_end > meta_start) {
            status = metadata ? mn_engine_meta_check_doc(metadata + meta_start,
                                                         meta_end - meta_start, error)
                              : MN_ERR_INVALID;
        }
        if (status != MN_OK) {
            *failed = i;
            return status;
        }
    }
    mn_status status = mn_engine_batch_find_repeat(batch->ids, batch->id_offsets, batch->count,
                                                   failed);
    if (status != MN_OK) return status;
    uint64_t id_total = batch->id_offsets[batch->count];
    uint64_t content_total = batch->content_offsets[batch->count];
    uint64_t meta_total = metadata_offsets ? metadata_offsets[batch->count] : 0;
    mn_op *op = mn_op_new(kind, batch->count, dimension, id_total, content_total, meta_total);
    if (!op) return MN_ERR_NO_MEMORY;
    memcpy(op->id_offsets, batch->id_offsets, (batch->count + 1) * sizeof(uint64_t));
    memcpy(op->content_offsets, batch->content_offsets, (batch->count + 1) * sizeof(uint64_t));
    if (metadata_offsets) {
        memcpy(op->metadata_offsets, metadata_offsets, (batch->count + 1) * sizeof(uint64_t));
    }
    if (batch->created_ns) {
        memcpy(op->created_ns, batch->created_ns, batch->count * sizeof(int64_t));
    } else {
        int64_t now = mn_engine_now_ns();
        for (size_t i = 0; i < batch->count; i++) op->created_ns[i] = now;
    }
    memcpy(op->vectors, batch->vectors, batch->count * dimension * sizeof(float));
    memcpy(op->ids, batch->ids, (size_t)id_total);
    if (content_total) memcpy(op->contents, batch->contents, (size_t)content_total);
    if (meta_total) memcpy(op->metadata, metadata, (size_t)meta_total);
    return mn_submit_checked(space, op, flags, done, context);
}

mn_status mn_space_insert_batch_meta(mn_space *space, const mn_batch_in *batch,
                                     const uint8_t *metadata, const uint64_t *metadata_offsets,
                                     uint32_t flags, mn_completion_fn done, void *context,
                                     size_t *failed_index, mn_meta_error *error) {
    return mn_submit_batch(space, MN_OP_BATCH, batch, metadata, metadata_offsets, flags, done,
                           context, failed_index, error);
}

mn_status mn_space_upsert_batch_meta(mn_space *space, const mn_batch_in *batch,
                                     const uint8_t *metadata, const uint64_t *metadata_offsets,
                                     uint32_t flags, mn_completion_fn done, void *context,
                                     size_t *failed_index, mn_meta_error *error) {
    return mn_submit_batch(space, MN_OP_UPSERT_BATCH, batch, metadata, metadata_offsets, flags,
                           done, context, failed_index, error);
}

/* ---- the space table ---- */

static uint64_t mn_name_hash(const char *name, uint32_t bytes) {
    return XXH64(name, bytes, MN_ENGINE_NAME_HASH_SEED);
}

/* Caller holds table_lock. Returns the link that points at the space, or at NULL. */
static struct mn_space **mn_table_find_locked(struct mn_engine *engine, const char *name,
                                              uint32_t bytes, uint64_t hash) {
    struct mn_space **link = &engine->buckets[hash & (engine->bucket_count - 1)];
    while (*link) {
        struct mn_space *space = *link;
        if (space->name_hash == hash && space->name_bytes == bytes &&
            memcmp(space->name, name, bytes) == 0) {
            break;
        }
        link = &space->table_next;
    }
    return link;
}

/* Doubles the bucket array when the table is full; on ENOMEM the chains just grow longer. */
static void mn_table_grow_locked(struct mn_engine *engine) {
    if (engine->space_count < engine->bucket_count) return;
    uint64_t count = engine->bucket_count * 2;
    struct mn_space **buckets = calloc((size_t)count, sizeof(struct mn_space *));
    if (!buckets) return;
    for (uint64_t b = 0; b < engine->bucket_count; b++) {
        struct mn_space *space = engine->buckets[b];
        while (space) {
            struct mn_space *next = space->table_next;
            struct mn_space **head = &buckets[space->name_hash & (count - 1)];
            space->table_next = *head;
            *head = space;
            space = next;
        }
    }
    free(engine->buckets);
    engine->buckets = buckets;
    engine->bucket_count = count;
}

mn_status mn_engine_space_home(const mn_engine *engine, const char *name, uint32_t name_bytes,
                               uint32_t *out) {
    if (!engine || !out) return MN_ERR_INVALID;
    mn_status status = mn_validate_name(name, name_bytes);
    if (status != MN_OK) return status;
    *out = (uint32_t)(mn_name_hash(name, name_bytes) % engine->worker_count);
    return MN_OK;
}

/* Puts `space` under its name (taking the table's reference, and one for *out when out is not
 * NULL), or returns MN_ERR_DUPLICATE if the name is taken. Caller holds table_lock. */
static mn_status mn_table_insert_locked(struct mn_engine *engine, struct mn_space *space,
                                        struct mn_space **out) {
    struct mn_space **link = mn_table_find_locked(engine, space->name, space->name_bytes,
                                                  space->name_hash);
    if (*link) return MN_ERR_DUPLICATE;
    mn_space_acquire(space); /* the table's reference */
    space->table_next = NULL;
    *link = space;
    engine->space_count++;
    mn_table_grow_locked(engine);
    if (out) {
        mn_space_acquire(space);
        *out = space;
    }
    return MN_OK;
}

/* Checks a new space's name: valid, engine open, no loaded space by that name (a creation that
 * races this one is caught again when the space is inserted). *hash gets the name's hash. */
static mn_status mn_space_name_free(mn_engine *engine, const char *name, uint32_t name_bytes,
                                    uint64_t *hash) {
    mn_status status = mn_validate_name(name, name_bytes);
    if (status != MN_OK) return status;
    if (atomic_load_explicit(&engine->closed, memory_order_acquire)) return MN_ERR_CLOSED;
    *hash = mn_name_hash(name, name_bytes);
    pthread_mutex_lock(&engine->table_lock);
    int exists = *mn_table_find_locked(engine, name, name_bytes, *hash) != NULL;
    pthread_mutex_unlock(&engine->table_lock);
    return exists ? MN_ERR_DUPLICATE : MN_OK;
}

mn_status mn_engine_space_create(mn_engine *engine, const char *name, uint32_t name_bytes,
                                 const mn_hnsw_params *params, mn_space **out) {
    if (out) *out = NULL;
    if (!engine || !params) return MN_ERR_INVALID;
    uint64_t hash = 0;
    mn_status status = mn_space_name_free(engine, name, name_bytes, &hash);
    if (status != MN_OK) return status;
    const mn_durability_hooks *durability = engine->durability;
    if (durability->stub_exists(engine, name, name_bytes)) return MN_ERR_DUPLICATE; /* lazy */
    struct mn_space *space = NULL;
    status = mn_space_create_internal(engine, name, name_bytes, hash, params, &space);
    if (status != MN_OK) return status;
    status = durability->log_create(engine, space); /* durable before anyone can see it */
    if (status != MN_OK) {
        mn_space_acquire(space);
        mn_space_unref(space);
        return status;
    }
    pthread_mutex_lock(&engine->table_lock);
    status = mn_table_insert_locked(engine, space, out); /* or created meanwhile: DUPLICATE */
    pthread_mutex_unlock(&engine->table_lock);
    durability->create_done(engine);
    if (status != MN_OK) {
        durability->log_drop(engine, space); /* its logged creation is void */
        mn_space_acquire(space);
        mn_space_unref(space); /* frees it */
    }
    return status;
}

struct mn_space *mn_engine_table_find_locked(struct mn_engine *engine, const char *name,
                                             uint32_t name_bytes) {
    return *mn_table_find_locked(engine, name, name_bytes, mn_name_hash(name, name_bytes));
}

mn_status mn_engine_space_new_detached(struct mn_engine *engine, const char *name,
                                       uint32_t name_bytes, const mn_hnsw_params *params,
                                       struct mn_space **out) {
    *out = NULL;
    /* Unlike mn_engine_space_create, no lazy-stub check here: loading a stub builds its space
     * through this function while holding the stub lock; publishing checks stubs instead. */
    uint64_t hash = 0;
    mn_status status = mn_space_name_free(engine, name, name_bytes, &hash);
    if (status != MN_OK) return status;
    struct mn_space *space = NULL;
    status = mn_space_create_internal(engine, name, name_bytes, hash, params, &space);
    if (status != MN_OK) return status;
    mn_space_acquire(space); /* the caller's reference */
    *out = space;
    return MN_OK;
}

mn_status mn_engine_space_publish(struct mn_engine *engine, struct mn_space *space,
                                  struct mn_space **out) {
    if (out) *out = NULL;
    pthread_mutex_lock(&engine->table_lock);
    mn_status status = mn_table_insert_locked(engine, space, out);
    pthread_mutex_unlock(&engine->table_lock);
    return status;
}

mn_status mn_engine_space_open(mn_engine *engine, const char *name, uint32_t name_bytes,
                               mn_space **out) {
    if (!engine || !out) return MN_ERR_INVALID;
    *out = NULL;
    mn_status status = mn_validate_name(name, name_bytes);
    if (status != MN_OK) return status;
    if (atomic_load_explicit(&engine->closed, memory_order_acquire)) return MN_ERR_CLOSED;
    uint64_t hash = mn_name_hash(name, name_bytes);
    pthread_mutex_lock(&engine->table_lock);
    struct mn_space *space = *mn_table_find_locked(engine, name, name_bytes, hash);
    if (space) mn_space_acquire(space);
    pthread_mutex_unlock(&engine->table_lock);
    if (!space) { /* a lazy space: loaded from its checkpoint now (or loaded meanwhile) */
        status = engine->durability->space_load(engine, name, name_bytes, &space);
        if (status != MN_OK) return status;
    }
    if (!space) return MN_ERR_UNKNOWN_SPACE;
    *out = space;
    return MN_OK;
}

mn_status mn_engine_space_drop(mn_engine *engine, const char *name, uint32_t name_bytes) {
    if (!engine) return MN_ERR_INVALID;
    mn_status status = mn_validate_name(name, name_bytes);
    if (status != MN_OK) return status;
    uint64_t hash = mn_name_hash(name, name_bytes);
    /* A lazy space is loaded first, then dropped as any other. (A closed durable engine
     * refuses here with MN_ERR_CLOSED: it no longer holds its directory's lock.) */
    struct mn_space *loaded = NULL;
    status = engine->durability->space_load(engine, name, name_bytes, &loaded);
    if (status != MN_OK) return status;
    if (loaded) mn_space_release(loaded);
    pthread_mutex_lock(&engine->table_lock);
    struct mn_space **link = mn_table_find_locked(engine, name, name_bytes, hash);
    struct mn_space *space = *link;
    if (space) {
        /* Logged under the table lock so a concurrent drop of the same name logs once. */
        status = engine->durability->log_drop(engine, space);
        if (status == MN_DURABLE_STATUS_UNKNOWN) {
            /* Its drop record may or may not survive a restart: the space goes now (no write
             * can be acknowledged and then lost with it), and the caller hears MN_ERR_IO. */
            status = MN_ERR_IO;
        } else if (status != MN_OK) {
            pthread_mutex_unlock(&engine->table_lock);
            return status;
        }
        *link = space->table_next;
        space->table_next = NULL;
        engine->space_count--;
        atomic_store_explicit(&space->dropped, 1, memory_order_release);
    }
    pthread_mutex_unlock(&engine->table_lock);
    if (!space) return MN_ERR_UNKNOWN_SPACE;
    mn_space_unref(space); /* the table's reference */
    return status;
}

mn_status mn_engine_space_list(mn_engine *engine, mn_name_visit_fn visit, void *context) {
    if (!engine || !visit) return MN_ERR_INVALID;
    return engine->durability->space_list(engine, visit, context); /* durable: + stubs */
}

mn_status mn_engine_space_count(mn_engine *engine, uint64_t *out) {
    if (!engine || !out) return MN_ERR_INVALID;
    return engine->durability->space_count(engine, out); /* durable: + stubs */
}

mn_status mn_engine_space_stats_visit(mn_engine *engine, mn_space_stats_visit_fn visit,
                                      void *context) {
    if (!engine || !visit) return MN_ERR_INVALID;
    /* Handles first, under the lock; statistics and the visits after it, so a slow visitor
     * never holds up a create or a drop. A space dropped meanwhile is still visited once (its
     * handle keeps it alive), as a list taken a moment earlier would show it. */
    pthread_mutex_lock(&engine->table_lock);
    struct mn_space **spaces = malloc((size_t)(engine->space_count + 1) * sizeof(*spaces));
    uint64_t count = 0;
    if (spaces) {
        for (uint64_t b = 0; b < engine->bucket_count; b++) {
            for (struct mn_space *space = engine->buckets[b]; space; space = space->table_next) {
                mn_space_acquire(space);
                spaces[count++] = space;
            }
        }
    }
    pthread_mutex_unlock(&engine->table_lock);
    if (!spaces) return MN_ERR_NO_MEMORY;
    for (uint64_t i = 0; i < count; i++) {
        mn_space_stats stats;
        mn_status status = mn_space_stats_get(spaces[i], &stats);
        MN_ASSERT(status == MN_OK);
        visit(context, spaces[i]->name, spaces[i]->name_bytes, &stats);
        mn_space_release(spaces[i]);
    }
    free(spaces);
    return MN_OK;
}

mn_status mn_space_release(mn_space *space) {
    if (!space) return MN_OK;
    mn_space_unref(space);
    return MN_OK;
}

/* ---- the null durability object: an in-memory engine (mn_engine_durability.h) ----
 * Nothing is logged and every logging hook succeeds; there are no lazy spaces, so a name is
 * never a stub, nothing loads, and list and count are the table's. */

static void mn_memory_log_group(mn_worker *worker, struct mn_space *space, mn_op **group,
                                uint32_t count, mn_status *statuses) {
    (void)worker, (void)space, (void)group, (void)count, (void)statuses; /* all MN_OK */
}

static int mn_memory_tick(mn_worker *worker) {
    (void)worker;
    return 0;
}

static int mn_memory_stub_exists(struct mn_engine *engine, const char *name,
                                 uint32_t name_bytes) {
    (void)engine, (void)name, (void)name_bytes;
    return 0;
}

static mn_status mn_memory_log_space(struct mn_engine *engine, struct mn_space *space) {
    (void)engine, (void)space;
    return MN_OK;
}

static void mn_memory_engine_noop(struct mn_engine *engine) { (void)engine; }

static mn_status mn_memory_space_load(struct mn_engine *engine, const char *name,
                                      uint32_t name_bytes, struct mn_space **out) {
    (void)engine, (void)name, (void)name_bytes;
    *out = NULL; /* the caller looked the table up already */
    return MN_OK;
}

mn_status mn_engine_table_list(struct mn_engine *engine, mn_name_visit_fn visit, void *context) {
    pthread_mutex_lock(&engine->table_lock);
    for (uint64_t b = 0; b < engine->bucket_count; b++) {
        for (struct mn_space *space = engine->buckets[b]; space; space = space->table_next) {
            visit(context, space->name, space->name_bytes);
        }
    }
    pthread_mutex_unlock(&engine->table_lock);
    return MN_OK;
}

static mn_status mn_memory_space_count(struct mn_engine *engine, uint64_t *out) {
    pthread_mutex_lock(&engine->table_lock);
    *out = engine->space_count;
    pthread_mutex_unlock(&engine->table_lock);
    return MN_OK;
}

static mn_status mn_memory_publish_imported(struct mn_engine *engine, struct mn_space *space,
                                            struct mn_space **out) {
    return mn_engine_space_publish(engine, space, out);
}

static const mn_durability_hooks mn_memory_durability = {
    .log_group = mn_memory_log_group,
    .tick = mn_memory_tick,
    .stub_exists = mn_memory_stub_exists,
    .log_create = mn_memory_log_space,
    .create_done = mn_memory_engine_noop,
    .log_drop = mn_memory_log_space,
    .space_load = mn_memory_space_load,
    .space_count = mn_memory_space_count,
    .space_list = mn_engine_table_list,
    .publish_imported = mn_memory_publish_imported,
    .stop = mn_memory_engine_noop,
    .close = mn_memory_engine_noop,
    .free = mn_memory_engine_noop,
};

/* ---- the engine ---- */

static mn_status mn_engine_cpus(struct mn_engine *engine) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return MN_OK; /* unpinned */
    int count = CPU_COUNT(&set);
    if (count <= 0) return MN_OK;
    engine->cpus = calloc((size_t)count, sizeof(int32_t));
    if (!engine->cpus) return MN_ERR_NO_MEMORY;
    for (int cpu = 0; cpu < CPU_SETSIZE && engine->cpu_count < (uint32_t)count; cpu++) {
        if (CPU_ISSET(cpu, &set)) engine->cpus[engine->cpu_count++] = cpu;
    }
    return MN_OK;
}

mn_status mn_engine_create(const mn_engine_options *options, mn_engine **out) {
    return mn_engine_create_with(options, &mn_memory_durability, NULL, out);
}

mn_status mn_engine_create_with(const mn_engine_options *options,
                                const mn_durability_hooks *durability, struct mn_durable *state,
                                mn_engine **out) {
    if (!out) return MN_ERR_INVALID;
    MN_ASSERT(durability && "the null object stands for no durability, not NULL");
    *out = NULL;
    mn_engine_options chosen;
    mn_engine_options_default(&chosen);
    if (options) chosen = *options;
    if (chosen.mailbox_depth == 0) chosen.mailbox_depth = MN_ENGINE_MAILBOX_DEPTH_DEFAULT;
    if (chosen.queue_bytes_max == 0) chosen.queue_bytes_max = MN_ENGINE_QUEUE_BYTES_DEFAULT;
    if (chosen.space_bytes_max == 0) chosen.space_bytes_max = MN_ENGINE_SPACE_BYTES_DEFAULT;
    if (chosen.content_bytes_max == 0) chosen.content_bytes_max = MN_ENGINE_CONTENT_BYTES_DEFAULT;
    if (chosen.mailbox_depth < MN_ENGINE_MAILBOX_DEPTH_MIN ||
        chosen.mailbox_depth > MN_ENGINE_MAILBOX_DEPTH_MAX ||
        (chosen.mailbox_depth & (chosen.mailbox_depth - 1)) != 0) {
        return MN_ERR_INVALID;
    }
    if (chosen.content_bytes_max > MN_ENGINE_CONTENT_BYTES_MAX) return MN_ERR_INVALID;
    if (chosen.workers > MN_ENGINE_WORKERS_MAX) return MN_ERR_TOO_LARGE;
    struct mn_engine *engine = mn_numa_alloc(sizeof(struct mn_engine), -1);
    if (!engine) return MN_ERR_NO_MEMORY;
    mn_status status = mn_engine_cpus(engine);
    if (status != MN_OK) goto fail;
    if (chosen.workers == 0) {
        chosen.workers = engine->cpu_count > 0 ? engine->cpu_count : 1;
        if (chosen.workers > MN_ENGINE_WORKERS_MAX) chosen.workers = MN_ENGINE_WORKERS_MAX;
    }
    engine->options = chosen;
    engine->worker_count = chosen.workers;
    /* Before the workers start: they read both without a lock. */
    engine->durability = durability;
    engine->durable = state;
    atomic_init(&engine->submitters, 0);
    atomic_init(&engine->closed, 0);
    atomic_init(&engine->stopping, 0);
    atomic_init(&engine->sleepers, 0);
    atomic_init(&engine->frozen, 0);
    atomic_init(&engine->help_available, 0);
    pthread_mutex_init(&engine->help_lock, NULL);
    pthread_mutex_init(&engine->table_lock, NULL);
    pthread_mutex_init(&engine->close_lock, NULL);
    status = MN_ERR_NO_MEMORY;
    engine->bucket_count = MN_ENGINE_TABLE_BUCKETS_INIT;
    engine->buckets = calloc(engine->bucket_count, sizeof(struct mn_space *));
    engine->workers = calloc(engine->worker_count, sizeof(mn_worker *));
    if (!engine->buckets || !engine->workers) goto fail;
    status = mn_workers_start(engine);
    if (status != MN_OK) goto fail;
    *out = engine;
    return MN_OK;
fail:
    if (engine->workers) {
        atomic_store(&engine->closed, 1);
        mn_workers_stop(engine);
        mn_workers_free(engine);
    }
    free(engine->workers);
    free(engine->buckets);
    free(engine->cpus);
    mn_numa_free(engine);
    return status;
}

mn_status mn_engine_close(mn_engine *engine) {
    if (!engine) return MN_ERR_INVALID;
    engine->durability->stop(engine); /* a checkpoint in progress needs the workers */
    pthread_mutex_lock(&engine->close_lock);
    if (!atomic_load_explicit(&engine->stopping, memory_order_acquire)) {
        atomic_store_explicit(&engine->closed, 1, memory_order_seq_cst);
        while (atomic_load_explicit(&engine->submitters, memory_order_seq_cst) != 0) {
            sched_yield();
        }
        mn_workers_stop(engine);
        engine->durability->close(engine); /* the directory is free for another engine now */
    }
    pthread_mutex_unlock(&engine->close_lock);
    return MN_OK;
}

mn_status mn_engine_destroy(mn_engine *engine) {
    if (!engine) return MN_OK;
    mn_engine_close(engine);
    for (uint64_t b = 0; b < engine->bucket_count; b++) {
        struct mn_space *space = engine->buckets[b];
        while (space) {
            struct mn_space *next = space->table_next;
            MN_ASSERT(atomic_load_explicit(&space->refs, memory_order_acquire) == 1 &&
                      "every space handle is released before mn_engine_destroy");
            mn_space_unref(space);
            space = next;
        }
    }
    mn_rcu_barrier(); /* every record retired through call_rcu is back in its arena */
    engine->durability->free(engine);
    mn_workers_free(engine);
    pthread_mutex_destroy(&engine->help_lock);
    pthread_mutex_destroy(&engine->table_lock);
    pthread_mutex_destroy(&engine->close_lock);
    free(engine->workers);
    free(engine->buckets);
    free(engine->cpus);
    mn_numa_free(engine);
    return MN_OK;
}
