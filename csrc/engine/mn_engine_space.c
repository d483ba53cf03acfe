/*
 * mn_engine_space.c: one memory space: its records, its two RCU hash tables and its HNSW index.
 *
 * A memory's id is a caller string; the index wants a 64-bit id, so the space gives every
 * record a fresh label (never reused) and keeps two liburcu lock-free hash tables (cds_lfht):
 * id -> record for get, delete and duplicate checks, and label -> record to turn search results
 * into memories. Only the worker running the space writes them (one at a time, so there is no
 * writer lock); readers look them up inside RCU read-side sections on their own threads.
 *
 * Publication order is what makes concurrent reads consistent without locks:
 *   insert   record -> label table -> index (now searchable) -> id table (now gettable)
 *   upsert   index node updated in place (same label; same vector: nothing) -> label table
 *            replace -> id table replace -> old record freed after a grace period
 *   delete   id table -> index -> its links (mn_engine_assoc.c) -> label table -> freed after a
 *            grace period
 *   patch    (metadata) a new record with the merged document -> label table replace -> id
 *            table replace -> old record freed after a grace period (the index untouched)
 * An upsert keeps the memory's label, so its links stay as they are; a search may see the new
 * vector with the old record for an instant (or the old vector with the new record, never
 * both halves of one: see mn_hnsw_update). A search result whose label has no record (a
 * transient of delete) is skipped.
 * The space's field indexes (mn_field_index.h) change with every write: the write's index
 * changes are staged and prepared in one transaction before anything else is published (the
 * steps that can fail), published once the index step that can fail has succeeded, or aborted;
 * so a write refused for lack of memory leaves records, graph and field indexes as they were.
 * The completion callback runs after the last step, so a search or get issued after it sees
 * the change.
 *
 * The runner sizes both tables itself (mn_space_tables_fit): as the live count passes the
 * bucket count they grow to the next power of two, before a batch's records are published
 * and after every single add, so a lookup walks about one node at any size. liburcu's own
 * auto-resize (CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING) did not keep up with the engine's
 * pattern of adds on pinned worker threads: lookups grew linearly with the space (see
 * docs/engine.md, "Record lookups").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "engine/mn_engine_internal.h"
#include "meta/mn_filter_internal.h"
#include "numa/mn_numa.h"
#include "util/mn_rcu.h"

#define MN_SPACE_TABLE_ORDER_MIN 4u        /* 16 buckets: a new space costs little */
#define MN_SPACE_TABLE_BUCKETS_INIT (1ul << MN_SPACE_TABLE_ORDER_MIN)
/* Shrink only below 1/8 of the buckets, to twice the count: a space oscillating around a power
 * of two does not resize back and forth (each shrink waits for grace periods). */
#define MN_SPACE_TABLE_SHRINK_DIVISOR 8u
/* 2^40 buckets (16 TiB of bucket nodes): more live memories than that cannot be held, so the
 * cap is never what limits a load factor. */
#define MN_SPACE_TABLE_ORDER_MAX 40u
#define MN_SPACE_ID_HASH_SEED 0x6d6e656d6f696473ull /* "mnemoids" */
/* Label-table adds of a batch are done in read-side sections of this many (bounds each one). */
#define MN_SPACE_PUBLISH_CHUNK 256u

typedef struct mn_id_key {
    const char *id;
    uint32_t bytes;
} mn_id_key;

static unsigned long mn_hash_id(const char *id, uint32_t bytes) {
    return (unsigned long)XXH64(id, bytes, MN_SPACE_ID_HASH_SEED);
}

static unsigned long mn_hash_label(uint64_t label) {
    uint64_t z = label + 0x9e3779b97f4a7c15ull; /* splitmix64 finaliser */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (unsigned long)(z ^ (z >> 31));
}

static int mn_match_id(struct cds_lfht_node *node, const void *key) {
    const mn_record *record = caa_container_of(node, mn_record, id_node);
    MN_TSAN_OBSERVE(record);
    const mn_id_key *k = key;
    return record->id_bytes == k->bytes && memcmp(record->data, k->id, k->bytes) == 0;
}

static int mn_match_label(struct cds_lfht_node *node, const void *key) {
    const mn_record *record = caa_container_of(node, mn_record, label_node);
    MN_TSAN_OBSERVE(record);
    return record->label == *(const uint64_t *)key;
}

/* Caller is inside a read-side section. */
static mn_record *mn_find_id(struct mn_space *space, const char *id, uint32_t bytes) {
    mn_id_key key = {id, bytes};
    struct cds_lfht_iter iter;
    cds_lfht_lookup(space->by_id, mn_hash_id(id, bytes), mn_match_id, &key, &iter);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter);
    if (!node) return NULL;
    mn_record *record = caa_container_of(node, mn_record, id_node);
    MN_TSAN_OBSERVE(record);
    return record;
}

/* Caller is inside a read-side section. */
static mn_record *mn_find_label(struct mn_space *space, uint64_t label) {
    struct cds_lfht_iter iter;
    cds_lfht_lookup(space->by_label, mn_hash_label(label), mn_match_label, &label, &iter);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter);
    if (!node) return NULL;
    mn_record *record = caa_container_of(node, mn_record, label_node);
    MN_TSAN_OBSERVE(record);
    return record;
}

/* ---- records ---- */

static mn_record *mn_record_new(mn_worker *worker, uint64_t label, const char *id,
                                uint32_t id_bytes, const uint8_t *content,
                                uint64_t content_bytes, const uint8_t *metadata,
                                uint64_t metadata_bytes, int64_t created_ns, uint64_t *charged) {
    MN_ASSERT(metadata_bytes <= MN_META_DOC_BYTES_MAX); /* checked at submission or load */
    size_t size = sizeof(mn_record) + (size_t)id_bytes + (size_t)content_bytes +
                  (size_t)metadata_bytes;
    mn_record *record = mn_arena_alloc(&worker->arena, size, charged);
    if (!record) return NULL;
    memset(record, 0, sizeof(mn_record));
    record->label = label;
    record->created_ns = created_ns;
    record->content_bytes = content_bytes;
    record->id_bytes = id_bytes;
    record->metadata_bytes = (uint32_t)metadata_bytes;
    memcpy(record->data, id, id_bytes);
    if (content_bytes) memcpy(record->data + id_bytes, content, (size_t)content_bytes);
    if (metadata_bytes) {
        memcpy(record->data + id_bytes + content_bytes, metadata, (size_t)metadata_bytes);
    }
    return record;
}

static void mn_record_reclaim(struct rcu_head *head) {
    mn_record *record = caa_container_of(head, mn_record, rcu);
    mn_rcu_grace_acquired(); /* every reader that could see it has left its section */
    MN_TSAN_OBSERVE(record);
    mn_arena_free_block(record);
}

/* Frees an unlinked record after a grace period. The thread must be RCU-registered. */
static void mn_record_retire(mn_record *record) {
    MN_TSAN_PUBLISH(record);
    urcu_memb_call_rcu(&record->rcu, mn_record_reclaim);
}

static void mn_label_publish(struct mn_space *space, mn_record *record) {
    MN_TSAN_PUBLISH(record);
    cds_lfht_add(space->by_label, mn_hash_label(record->label), &record->label_node);
}

static void mn_id_publish(struct mn_space *space, mn_record *record) {
    MN_TSAN_PUBLISH(record);
    cds_lfht_add(space->by_id, mn_hash_id(record->data, record->id_bytes), &record->id_node);
}

static void mn_lfht_unlink(struct cds_lfht *table, struct cds_lfht_node *node) {
    int rc = cds_lfht_del(table, node);
    MN_ASSERT(rc == 0); /* only the runner removes, so the node is still there */
}

/* The smallest table order whose buckets cover `count` (a load factor of at most 1). */
static uint32_t mn_table_order_for(uint64_t count) {
    uint32_t order = MN_SPACE_TABLE_ORDER_MIN;
    while (order < MN_SPACE_TABLE_ORDER_MAX && (1ull << order) < count) order++;
    return order;
}

void mn_space_tables_fit(struct mn_space *space, uint64_t expected) {
    uint32_t order = space->table_order;
    uint64_t buckets = 1ull << order;
    uint32_t target = order;
    if (expected > buckets) {
        target = mn_table_order_for(expected);
    } else if (order > MN_SPACE_TABLE_ORDER_MIN &&
               expected < buckets / MN_SPACE_TABLE_SHRINK_DIVISOR) {
        target = mn_table_order_for(2 * expected);
    }
    if (target == order) return;
    MN_ASSERT(!urcu_memb_read_ongoing()); /* a shrink inside a section would wait for itself */
    /* Synchronous, on this thread: readers keep finding every node while the bucket index
     * changes under them (split-ordered lists); a grow adds bucket nodes (with helper threads
     * for large tables), a shrink waits for grace periods before it frees them. */
    cds_lfht_resize(space->by_id, 1ul << target);
    cds_lfht_resize(space->by_label, 1ul << target);
    space->table_order = target;
}

/* ---- lifetime ---- */

mn_status mn_space_create_internal(struct mn_engine *engine, const char *name, uint32_t bytes,
                                   uint64_t name_hash, const mn_hnsw_params *params,
                                   struct mn_space **out) {
    uint32_t home = (uint32_t)(name_hash % engine->worker_count);
    int node = engine->workers[home]->numa_node;
    struct mn_space *space = mn_numa_alloc(sizeof(struct mn_space), node);
    if (!space) return MN_ERR_NO_MEMORY;
    mn_status status = MN_ERR_NO_MEMORY;
    uint64_t depth = engine->options.mailbox_depth;
    space->cells = mn_numa_alloc(depth * sizeof(mn_mailbox_cell), node);
    if (!space->cells) goto fail;
    for (uint64_t i = 0; i < depth; i++) atomic_init(&space->cells[i].sequence, i);
    space->mask = depth - 1;
    atomic_init(&space->enqueue_pos, 0);
    atomic_init(&space->queued_bytes, 0);
    atomic_init(&space->room_waiters, 0);
    atomic_init(&space->room_sequence, 0);
    atomic_init(&space->dequeue_pos, 0);
    atomic_init(&space->scheduled, 0);
    atomic_init(&space->running_worker, -1);
    atomic_init(&space->refs, 0);
    atomic_init(&space->dropped, 0);
    atomic_init(&space->count, 0);
    atomic_init(&space->record_bytes, 0);
    atomic_init(&space->ops_applied, 0);
    space->next_label = 1;
    space->log_sequence = 0;
    space->void_first = 0;
    space->void_last = 0;
    space->engine = engine;
    space->params = *params;
    space->params.numa_node = node;
    space->name_hash = name_hash;
    space->home = home;
    space->name_bytes = bytes;
    memcpy(space->name, name, bytes);
    space->name[bytes] = '\0';
    status = mn_hnsw_create(&space->params, &space->index);
    if (status != MN_OK) goto fail;
    mn_hnsw_params_get(space->index, &space->params);
    status = MN_ERR_NO_MEMORY;
    /* No CDS_LFHT_AUTO_RESIZE / ACCOUNTING: the runner sizes the tables (mn_space_tables_fit),
     * and an add does not pay for the per-CPU counters. */
    space->table_order = MN_SPACE_TABLE_ORDER_MIN;
    space->by_id = cds_lfht_new_flavor(MN_SPACE_TABLE_BUCKETS_INIT, MN_SPACE_TABLE_BUCKETS_INIT,
                                       0, 0, &urcu_memb_flavor, NULL);
    space->by_label = cds_lfht_new_flavor(MN_SPACE_TABLE_BUCKETS_INIT,
                                          MN_SPACE_TABLE_BUCKETS_INIT, 0, 0, &urcu_memb_flavor,
                                          NULL);
    if (!space->by_id || !space->by_label) goto fail;
    status = mn_assoc_create(&space->assoc);
    if (status != MN_OK) goto fail;
    status = mn_field_indexes_create(&space->fields);
    if (status != MN_OK) goto fail;
    *out = space;
    return MN_OK;
fail:
    if (space->by_id) cds_lfht_destroy(space->by_id, NULL);
    if (space->by_label) cds_lfht_destroy(space->by_label, NULL);
    mn_hnsw_destroy(space->index);
    mn_assoc_destroy(space->assoc);
    mn_field_indexes_destroy(space->fields);
    mn_filter_memo_destroy(atomic_load_explicit(&space->filter_memo, memory_order_acquire));
    mn_numa_free(space->cells);
    mn_numa_free(space);
    return status;
}

void mn_space_acquire(struct mn_space *space) {
    int64_t before = atomic_fetch_add_explicit(&space->refs, 1, memory_order_relaxed);
    MN_ASSERT(before >= 0);
}

static void mn_space_free(struct mn_space *space) {
    MN_ASSERT(atomic_load_explicit(&space->scheduled, memory_order_relaxed) == 0);
    MN_ASSERT(mn_mailbox_depth(space) == 0);
    mn_rcu_read_lock(); /* registers this thread, which call_rcu requires */
    struct cds_lfht_iter iter;
    mn_record *record;
    cds_lfht_for_each_entry(space->by_id, &iter, record, id_node) {
        mn_lfht_unlink(space->by_id, &record->id_node);
        mn_lfht_unlink(space->by_label, &record->label_node);
        mn_record_retire(record);
    }
    mn_rcu_read_unlock();
    int rc = cds_lfht_destroy(space->by_id, NULL);
    MN_ASSERT(rc == 0);
    rc = cds_lfht_destroy(space->by_label, NULL);
    MN_ASSERT(rc == 0); /* every label belongs to a record of the id table at rest */
    mn_hnsw_destroy(space->index);
    mn_assoc_destroy(space->assoc);
    /* No reader is left (each holds a reference); retire batches still pending keep what
     * they need (mn_field_index.c). */
    mn_field_indexes_destroy(space->fields);
    mn_filter_memo_destroy(atomic_load_explicit(&space->filter_memo, memory_order_acquire));
    mn_numa_free(space->cells);
    mn_numa_free(space);
}

void mn_space_unref(struct mn_space *space) {
    int64_t before = atomic_fetch_sub_explicit(&space->refs, 1, memory_order_acq_rel);
    MN_ASSERT(before >= 1);
    if (before == 1) mn_space_free(space);
}

/* ---- applying operations (the running worker only) ---- */

/* Counts a change (runner only, outside read-side sections) and keeps the tables sized. */
static void mn_space_account(struct mn_space *space, int64_t count_delta, int64_t bytes_delta) {
    uint64_t count = atomic_load_explicit(&space->count, memory_order_relaxed);
    uint64_t now = (uint64_t)((int64_t)count + count_delta);
    atomic_store_explicit(&space->count, now, memory_order_relaxed);
    uint64_t bytes = atomic_load_explicit(&space->record_bytes, memory_order_relaxed);
    atomic_store_explicit(&space->record_bytes, (uint64_t)((int64_t)bytes + bytes_delta),
                          memory_order_relaxed);
    if (count_delta != 0) mn_space_tables_fit(space, now);
}

static mn_record *mn_find_id_locked(struct mn_space *space, const char *id, uint32_t bytes) {
    mn_rcu_read_lock();
    mn_record *record = mn_find_id(space, id, bytes);
    mn_rcu_read_unlock();
    return record; /* stays valid: only this writer could retire it */
}

/* The three kinds of change a memory makes to the field indexes. */
#define MN_FIELDS_INSERT 1
#define MN_FIELDS_REMOVE 2
#define MN_FIELDS_UPDATE 3

/* Stages one memory's change into the transaction already open on the space's field indexes.
 * On an error the transaction is aborted and closed (mn_field_index.h). */
static mn_status mn_space_fields_stage(struct mn_space *space, int change, uint64_t label,
                                       int64_t created_ns, const uint8_t *old_doc,
                                       uint64_t old_bytes, const uint8_t *new_doc,
                                       uint64_t new_bytes) {
    switch (change) {
    case MN_FIELDS_INSERT:
        return mn_field_indexes_txn_insert(space->fields, label, created_ns, new_doc,
                                           (size_t)new_bytes);
    case MN_FIELDS_REMOVE:
        return mn_field_indexes_txn_remove(space->fields, label, created_ns, old_doc,
                                           (size_t)old_bytes);
    default:
        return mn_field_indexes_txn_update(space->fields, label, old_doc, (size_t)old_bytes,
                                           new_doc, (size_t)new_bytes);
    }
}

/* Opens a transaction holding one memory's change and prepares it: on MN_OK the caller
 * publishes it (mn_field_indexes_txn_publish, which cannot fail) or aborts it; on an error
 * (MN_ERR_NO_MEMORY) nothing changed and no transaction is open. */
static mn_status mn_space_fields_stage_one(struct mn_space *space, int change, uint64_t label,
                                           int64_t created_ns, const uint8_t *old_doc,
                                           uint64_t old_bytes, const uint8_t *new_doc,
                                           uint64_t new_bytes) {
    mn_field_indexes_txn_begin(space->fields);
    mn_status status = mn_space_fields_stage(space, change, label, created_ns, old_doc,
                                             old_bytes, new_doc, new_bytes);
    if (status == MN_OK) status = mn_field_indexes_txn_prepare(space->fields);
    return status;
}

/* Inserts item `i` of `op` as a new memory (the id is known to be absent). */
static mn_status mn_apply_insert_one(struct mn_space *space, mn_op *op, uint64_t i,
                                     int64_t created_ns, mn_worker *worker) {
    const char *id = op->ids + op->id_offsets[i];
    uint32_t id_bytes = (uint32_t)(op->id_offsets[i + 1] - op->id_offsets[i]);
    if (space->next_label >= MN_ENGINE_LABEL_MAX) return MN_ERR_TOO_LARGE; /* labels used up */
    uint64_t charged = 0;
    mn_record *record = mn_record_new(worker, space->next_label, id, id_bytes,
                                      op->contents + op->content_offsets[i],
                                      op->content_offsets[i + 1] - op->content_offsets[i],
                                      op->metadata + op->metadata_offsets[i],
                                      op->metadata_offsets[i + 1] - op->metadata_offsets[i],
                                      created_ns, &charged);
    if (!record) return MN_ERR_NO_MEMORY;
    /* The field indexes first, prepared but not published (every step that can fail before
     * anything is visible), then the index insert, then publish or abort. */
    mn_status status = mn_space_fields_stage_one(space, MN_FIELDS_INSERT, record->label,
                                                 created_ns, NULL, 0, mn_record_metadata(record),
                                                 record->metadata_bytes);
    if (status != MN_OK) {
        mn_arena_free_block(record); /* never published */
        return status;
    }
    space->next_label++;
    mn_rcu_read_lock();
    mn_label_publish(space, record);
    mn_rcu_read_unlock();
    status = mn_hnsw_insert(space->index, record->label, op->vectors + (size_t)i * op->dimension,
                            op->dimension);
    if (status == MN_OK) mn_field_indexes_txn_publish(space->fields);
    else mn_field_indexes_txn_abort(space->fields);
    mn_rcu_read_lock();
    if (status == MN_OK) {
        mn_id_publish(space, record);
    } else {
        mn_lfht_unlink(space->by_label, &record->label_node);
        mn_record_retire(record);
    }
    mn_rcu_read_unlock();
    if (status == MN_OK) mn_space_account(space, 1, (int64_t)charged);
    return status;
}

/* Puts `record` (same id and label, not yet published) in place of `old` in both tables and
 * retires `old`: the memory's links, keyed by label, stay as they are. */
static void mn_space_replace_record(struct mn_space *space, mn_record *old, mn_record *record,
                                    uint64_t charged) {
    const char *id = record->data;
    uint32_t id_bytes = record->id_bytes;
    mn_rcu_read_lock();
    struct cds_lfht_iter iter;
    uint64_t label = old->label;
    cds_lfht_lookup(space->by_label, mn_hash_label(label), mn_match_label, &label, &iter);
    MN_ASSERT(cds_lfht_iter_get_node(&iter) == &old->label_node);
    MN_TSAN_PUBLISH(record);
    int rc = cds_lfht_replace(space->by_label, &iter, mn_hash_label(label), mn_match_label,
                              &label, &record->label_node);
    MN_ASSERT(rc == 0);
    mn_id_key key = {id, id_bytes};
    cds_lfht_lookup(space->by_id, mn_hash_id(id, id_bytes), mn_match_id, &key, &iter);
    MN_ASSERT(cds_lfht_iter_get_node(&iter) == &old->id_node);
    rc = cds_lfht_replace(space->by_id, &iter, mn_hash_id(id, id_bytes), mn_match_id, &key,
                          &record->id_node);
    MN_ASSERT(rc == 0);
    uint64_t old_bytes = mn_arena_block_bytes(old);
    mn_record_retire(old); /* the same memory: its links, keyed by label, stay as they are */
    mn_rcu_read_unlock();
    mn_space_account(space, 0, (int64_t)charged - (int64_t)old_bytes);
}

static mn_status mn_apply_upsert(struct mn_space *space, mn_op *op, mn_worker *worker,
                                 uint64_t *detail) {
    const char *id = op->ids;
    uint32_t id_bytes = (uint32_t)op->id_offsets[1];
    mn_record *old = mn_find_id_locked(space, id, id_bytes);
    if (!old) {
        *detail = 0;
        return mn_apply_insert_one(space, op, 0, op->created_ns[0], worker);
    }
    *detail = 1;
    uint64_t charged = 0;
    mn_record *record = mn_record_new(worker, old->label, id, id_bytes, op->contents,
                                      op->content_offsets[1], op->metadata,
                                      op->metadata_offsets[1], old->created_ns, &charged);
    if (!record) return MN_ERR_NO_MEMORY;
    mn_status status = mn_space_fields_stage_one(space, MN_FIELDS_UPDATE, old->label, 0,
                                                 mn_record_metadata(old), old->metadata_bytes,
                                                 mn_record_metadata(record),
                                                 record->metadata_bytes);
    if (status != MN_OK) {
        mn_arena_free_block(record);
        return status;
    }
    /* The node is updated in place under the same label (same vector: no graph work); a bad
     * vector is refused before anything changes, and the record was never published. */
    status = mn_hnsw_update(space->index, old->label, op->vectors, op->dimension);
    if (status != MN_OK) {
        mn_field_indexes_txn_abort(space->fields);
        mn_arena_free_block(record);
        return status;
    }
    mn_field_indexes_txn_publish(space->fields);
    mn_space_replace_record(space, old, record, charged);
    return MN_OK;
}

/* A metadata patch: the memory's document merged with the patch, in a new record that
 * replaces the old one (same label, content and creation time; the index is not touched). A
 * merged document over the codec's limits is refused and nothing changes. */
static mn_status mn_apply_patch(struct mn_space *space, mn_op *op, mn_worker *worker,
                                uint64_t *detail) {
    mn_record *old = mn_find_id_locked(space, op->ids, (uint32_t)op->id_offsets[1]);
    if (!old) return MN_ERR_NOT_FOUND;
    uint8_t *merged = NULL;
    uint64_t merged_bytes = 0;
    mn_status status = mn_engine_meta_merge(mn_record_metadata(old), old->metadata_bytes,
                                            op->metadata, op->metadata_offsets[1], &merged,
                                            &merged_bytes);
    if (status != MN_OK) return status;
    uint64_t charged = 0;
    mn_record *record = mn_record_new(worker, old->label, old->data, old->id_bytes,
                                      mn_record_content(old), old->content_bytes, merged,
                                      merged_bytes, old->created_ns, &charged);
    mn_meta_free(merged);
    if (!record) return MN_ERR_NO_MEMORY;
    status = mn_space_fields_stage_one(space, MN_FIELDS_UPDATE, old->label, 0,
                                       mn_record_metadata(old), old->metadata_bytes,
                                       mn_record_metadata(record), record->metadata_bytes);
    if (status != MN_OK) {
        mn_arena_free_block(record); /* never published */
        return status;
    }
    mn_field_indexes_txn_publish(space->fields);
    mn_space_replace_record(space, old, record, charged);
    *detail = 1;
    return MN_OK;
}

/* Removes one memory whose field-index entries are already gone (runner only): cannot fail. */
static void mn_delete_record(struct mn_space *space, mn_record *old) {
    uint64_t old_bytes = mn_arena_block_bytes(old);
    mn_rcu_read_lock();
    mn_lfht_unlink(space->by_id, &old->id_node);
    mn_rcu_read_unlock();
    mn_status status = mn_hnsw_remove(space->index, old->label);
    MN_ASSERT(status == MN_OK);
    /* Its links go with it. On ENOMEM they stay as dangling links to a label that is never
     * reused: recall skips labels without a record, so they are harmless. */
    (void)mn_assoc_remove_all(space->assoc, old->label, NULL);
    mn_rcu_read_lock();
    mn_lfht_unlink(space->by_label, &old->label_node);
    mn_record_retire(old);
    mn_rcu_read_unlock();
    mn_space_account(space, -1, -(int64_t)old_bytes);
}

static mn_status mn_apply_delete(struct mn_space *space, mn_op *op, uint64_t *detail) {
    mn_record *old = mn_find_id_locked(space, op->ids, (uint32_t)op->id_offsets[1]);
    if (!old) return MN_ERR_NOT_FOUND;
    /* The field indexes are the one step that can fail (a removal copies a path): first. */
    mn_status status = mn_space_fields_stage_one(space, MN_FIELDS_REMOVE, old->label,
                                                 old->created_ns, mn_record_metadata(old),
                                                 old->metadata_bytes, NULL, 0);
    if (status != MN_OK) return status;
    mn_field_indexes_txn_publish(space->fields);
    mn_delete_record(space, old);
    *detail = 1;
    return MN_OK;
}

/* Deletes every memory matching the op's filter text, or none: the matches are collected
 * (from the field indexes when the filter allows, mn_engine_filter.c) and their field-index
 * entries removed in one prepared transaction (the steps that can fail), then the transaction
 * is published and the memories deleted one by one (which cannot fail). The runner is the
 * space's only writer, so nothing changes between the steps. */
static mn_status mn_apply_delete_filter(struct mn_space *space, mn_op *op, uint64_t *detail) {
    mn_filter *filter = NULL;
    mn_status status = mn_filter_parse((const char *)op->contents, (size_t)op->content_offsets[1],
                                       &filter, NULL);
    if (status != MN_OK) return status;
    mn_record **matches = NULL;
    size_t count = 0;
    status = mn_space_filter_records(space, filter, &matches, &count);
    mn_filter_free(filter);
    if (status == MN_OK && count > 0) {
        mn_field_indexes_txn_begin(space->fields);
        for (size_t i = 0; i < count && status == MN_OK; i++) {
            const mn_record *record = matches[i];
            status = mn_space_fields_stage(space, MN_FIELDS_REMOVE, record->label,
                                           record->created_ns, mn_record_metadata(record),
                                           record->metadata_bytes, NULL, 0);
        }
        if (status == MN_OK) status = mn_field_indexes_txn_prepare(space->fields);
        if (status == MN_OK) mn_field_indexes_txn_publish(space->fields);
    }
    if (status == MN_OK) {
        for (size_t i = 0; i < count; i++) mn_delete_record(space, matches[i]);
        *detail = count;
    }
    free(matches);
    return status;
}

/* One new memory for mn_space_add_new: pointers into the op (or ops) that carry it. */
typedef struct mn_new_memory {
    const char *id;
    uint32_t id_bytes;
    const uint8_t *content;
    uint64_t content_bytes;
    int64_t created_ns;
    const uint8_t *metadata;
    uint64_t metadata_bytes;
} mn_new_memory;

/* Publishes records [0, n) to the label table, or takes them back out (retired after a grace
 * period), in read-side sections of MN_SPACE_PUBLISH_CHUNK. */
static void mn_labels_publish(struct mn_space *space, mn_record **records, uint64_t n, int publish) {
    for (uint64_t start = 0; start < n; start += MN_SPACE_PUBLISH_CHUNK) {
        uint64_t stop = start + MN_SPACE_PUBLISH_CHUNK < n ? start + MN_SPACE_PUBLISH_CHUNK : n;
        mn_rcu_read_lock();
        for (uint64_t i = start; i < stop; i++) {
            if (publish) {
                mn_label_publish(space, records[i]);
            } else {
                mn_lfht_unlink(space->by_label, &records[i]->label_node);
                mn_record_retire(records[i]);
            }
        }
        mn_rcu_read_unlock();
    }
}

/*
 * Adds n memories whose ids are known to be absent (and distinct), all or nothing: records
 * under fresh labels, then one batch insert of their vectors (row-major) into the index, linked
 * with idle workers' help when `help` is set, then their ids. Out of memory changes nothing
 * but the labels it used; *failed is the offender of a refused batch (an index error).
 */
static mn_status mn_space_add_new(struct mn_space *space, mn_worker *worker,
                                  const mn_new_memory *memories, uint64_t n,
                                  const float *vectors, uint32_t dimension, int help,
                                  uint64_t *failed) {
    if (n == 0) return MN_OK;
    if (n > MN_ENGINE_LABEL_MAX - space->next_label) return MN_ERR_TOO_LARGE; /* labels used up */
    mn_record **records = calloc((size_t)n, sizeof(mn_record *));
    uint64_t *labels = malloc((size_t)n * sizeof(uint64_t));
    mn_status status = MN_ERR_NO_MEMORY;
    uint64_t charged_total = 0;
    uint64_t made = 0;
    if (!records || !labels) goto fail;
    for (; made < n; made++) {
        const mn_new_memory *memory = &memories[made];
        uint64_t charged = 0;
        records[made] = mn_record_new(worker, space->next_label + made, memory->id,
                                      memory->id_bytes, memory->content, memory->content_bytes,
                                      memory->metadata, memory->metadata_bytes,
                                      memory->created_ns, &charged);
        if (!records[made]) goto fail;
        labels[made] = records[made]->label;
        charged_total += charged;
    }
    /* Their field-index entries, prepared in one transaction (published after the index has
     * linked them, or aborted). */
    mn_field_indexes_txn_begin(space->fields);
    status = MN_OK;
    for (uint64_t i = 0; i < n && status == MN_OK; i++) {
        status = mn_space_fields_stage(space, MN_FIELDS_INSERT, labels[i], memories[i].created_ns,
                                       NULL, 0, memories[i].metadata, memories[i].metadata_bytes);
    }
    if (status == MN_OK) status = mn_field_indexes_txn_prepare(space->fields);
    if (status != MN_OK) goto fail; /* the transaction is closed */
    mn_hnsw_batch *batch = NULL;
    size_t refused = 0;
    status = mn_hnsw_batch_begin(space->index, labels, vectors, (size_t)n, dimension, &batch,
                                 &refused);
    if (status != MN_OK) {
        mn_field_indexes_txn_abort(space->fields);
        *failed = refused;
        goto fail;
    }
    space->next_label += n;
    /* Sized for the whole batch before its records go in (a batch of a million does not walk
     * chains grown by its own adds). */
    mn_space_tables_fit(space, atomic_load_explicit(&space->count, memory_order_relaxed) + n);
    mn_labels_publish(space, records, n, 1);
    if (help) {
        mn_worker_link_batch(worker, batch);
    } else {
        size_t linked = 0;
        (void)mn_hnsw_batch_work(batch, &linked); /* an error is reported by batch_end */
    }
    status = mn_hnsw_batch_end(batch);
    if (status != MN_OK) {
        /* Out of memory while linking: the index took the whole batch back. The records were
         * findable by label (a search may have returned one, as during any batch): unpublish
         * them and free them after a grace period. No id was published; the labels stay used
         * (labels are never reused). */
        mn_field_indexes_txn_abort(space->fields);
        mn_labels_publish(space, records, n, 0);
        free(records);
        free(labels);
        return status;
    }
    mn_field_indexes_txn_publish(space->fields);
    for (uint64_t start = 0; start < n; start += MN_SPACE_PUBLISH_CHUNK) {
        uint64_t stop = start + MN_SPACE_PUBLISH_CHUNK < n ? start + MN_SPACE_PUBLISH_CHUNK : n;
        mn_rcu_read_lock();
        for (uint64_t i = start; i < stop; i++) mn_id_publish(space, records[i]);
        mn_rcu_read_unlock();
    }
    mn_space_account(space, (int64_t)n, (int64_t)charged_total);
    free(records);
    free(labels);
    return MN_OK;
fail:
    /* Nothing was published: the records can be freed at once. */
    for (uint64_t i = 0; records && i < made; i++) mn_arena_free_block(records[i]);
    free(records);
    free(labels);
    return status;
}

/* Memory i of a batch record, as mn_space_add_new takes it. */
static mn_new_memory mn_op_memory(const mn_op *op, uint64_t i) {
    return (mn_new_memory){
        .id = op->ids + op->id_offsets[i],
        .id_bytes = (uint32_t)(op->id_offsets[i + 1] - op->id_offsets[i]),
        .content = op->contents + op->content_offsets[i],
        .content_bytes = op->content_offsets[i + 1] - op->content_offsets[i],
        .created_ns = op->created_ns[i],
        .metadata = op->metadata + op->metadata_offsets[i],
        .metadata_bytes = op->metadata_offsets[i + 1] - op->metadata_offsets[i]};
}

/* Whether n new memories of one batch are linked with idle workers' help. */
static int mn_batch_helped(const struct mn_space *space, uint64_t n) {
    uint32_t threshold = space->engine->options.parallel_batch_min;
    return threshold != 0 && n >= threshold && space->engine->worker_count > 1;
}

static mn_status mn_apply_batch(struct mn_space *space, mn_op *op, mn_worker *worker,
                                uint64_t *detail) {
    uint64_t n = op->count;
    /* All-or-nothing: every id must be new before anything changes. */
    mn_rcu_read_lock();
    for (uint64_t i = 0; i < n; i++) {
        uint32_t bytes = (uint32_t)(op->id_offsets[i + 1] - op->id_offsets[i]);
        if (mn_find_id(space, op->ids + op->id_offsets[i], bytes)) {
            mn_rcu_read_unlock();
            *detail = i;
            return MN_ERR_DUPLICATE;
        }
    }
    mn_rcu_read_unlock();
    mn_new_memory *memories = malloc((size_t)n * sizeof(mn_new_memory));
    if (!memories) return MN_ERR_NO_MEMORY;
    for (uint64_t i = 0; i < n; i++) {
        memories[i] = mn_op_memory(op, i);
    }
    mn_status status = mn_space_add_new(space, worker, memories, n, op->vectors, op->dimension,
                                        mn_batch_helped(space, n), detail);
    free(memories);
    return status;
}

static mn_status mn_apply_upsert_batch(struct mn_space *space, mn_op *op, mn_worker *worker,
                                       uint64_t *detail);

void mn_space_apply(struct mn_space *space, mn_op *op, mn_worker *worker) {
    mn_status status = MN_OK;
    uint64_t detail = 0;
    uint64_t memories = 0;
    switch (op->kind) {
    case MN_OP_INSERT: {
        uint32_t bytes = (uint32_t)op->id_offsets[1];
        if (mn_find_id_locked(space, op->ids, bytes)) {
            status = MN_ERR_DUPLICATE;
        } else {
            status = mn_apply_insert_one(space, op, 0, op->created_ns[0], worker);
        }
        memories = status == MN_OK;
        break;
    }
    case MN_OP_UPSERT:
        status = mn_apply_upsert(space, op, worker, &detail);
        memories = status == MN_OK;
        break;
    case MN_OP_DELETE:
        status = mn_apply_delete(space, op, &detail);
        memories = status == MN_OK;
        break;
    case MN_OP_PATCH:
        status = mn_apply_patch(space, op, worker, &detail);
        memories = status == MN_OK;
        break;
    case MN_OP_DELETE_FILTER:
        status = mn_apply_delete_filter(space, op, &detail);
        memories = detail;
        break;
    case MN_OP_BATCH:
        status = mn_apply_batch(space, op, worker, &detail);
        memories = status == MN_OK ? op->count : 0;
        atomic_fetch_add_explicit(&worker->batches, 1, memory_order_relaxed);
        break;
    case MN_OP_UPSERT_BATCH:
        status = mn_apply_upsert_batch(space, op, worker, &detail);
        memories = status == MN_OK ? op->count : 0;
        atomic_fetch_add_explicit(&worker->batches, 1, memory_order_relaxed);
        break;
    case MN_OP_BARRIER:
        break;
    case MN_OP_INDEX_CREATE:
        status = mn_space_apply_index_create(space, op, &detail);
        break;
    case MN_OP_INDEX_DROP:
        status = mn_space_apply_index_drop(space, op, &detail);
        break;
    case MN_OP_LINK:
        status = mn_space_apply_link(space, op, &detail);
        break;
    case MN_OP_UNLINK:
        status = mn_space_apply_unlink(space, op);
        break;
    case MN_OP_EXPORT: /* frozen by mn_worker_run, never applied */
    case MN_OP_RESTORE:
        status = mn_space_apply_restore(space, op, worker);
        break;
    default:
        MN_ASSERT(!"unknown operation kind");
    }
    atomic_fetch_add_explicit(&worker->ops, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&worker->memories, memories, memory_order_relaxed);
    atomic_fetch_add_explicit(&space->ops_applied, 1, memory_order_relaxed);
    if (op->done) op->done(op->context, status, detail);
    free(op);
}

/* ---- a group of single writes (a backed-up mailbox) ---- */

#define MN_GROUP_NONE UINT32_MAX

/* One distinct id of a group. */
typedef struct mn_group_entry {
    const char *id;
    uint32_t id_bytes;
    uint32_t creator;   /* a new id: the op that creates it (its creation time) */
    uint32_t last;      /* the op whose vector and content it ends with; NONE: unchanged */
    mn_record *old;     /* its record before the group; NULL: a new id */
    mn_status failed;   /* MN_OK, or why its change was not made */
} mn_group_entry;

/* Links a group's nodes with idle workers' help when there are enough of them to share. */
static int mn_group_helped(const struct mn_space *space, uint64_t items) {
    const struct mn_engine *engine = space->engine;
    return engine->options.stealing && engine->worker_count > 1 && items >= MN_ENGINE_GROUP_HELP_MIN;
}

/*
 * Replaces n existing memories (distinct, n <= MN_HNSW_SETTLE_BATCH) with their new records
 * (made, not yet published, under the same labels) and the vectors given row-major: their
 * documents' field-index changes in one prepared transaction, one update batch of the index
 * (the same vector: no graph work), linked by idle workers too when there are enough, then the
 * records change places. Out of memory refuses all n and frees the new records; an update batch
 * that began always ends well (mn_hnsw_batch.h), so nothing fails after it.
 */
_Static_assert(MN_ENGINE_RUN_QUANTUM <= MN_HNSW_SETTLE_BATCH,
               "a group's changed ids are replaced as one chunk");
static mn_status mn_space_replace_chunk(struct mn_space *space, mn_worker *worker,
                                        mn_record *const *olds, mn_record *const *records,
                                        const uint64_t *charged, const float *vectors,
                                        uint64_t n) {
    MN_ASSERT(n > 0 && n <= MN_HNSW_SETTLE_BATCH);
    uint64_t labels[MN_HNSW_SETTLE_BATCH];
    mn_status status = MN_OK;
    mn_field_indexes_txn_begin(space->fields);
    for (uint64_t c = 0; c < n && status == MN_OK; c++) {
        labels[c] = olds[c]->label;
        status = mn_space_fields_stage(space, MN_FIELDS_UPDATE, olds[c]->label, 0,
                                       mn_record_metadata(olds[c]), olds[c]->metadata_bytes,
                                       mn_record_metadata(records[c]), records[c]->metadata_bytes);
    }
    if (status == MN_OK) status = mn_field_indexes_txn_prepare(space->fields);
    mn_hnsw_batch *batch = NULL;
    if (status == MN_OK) {
        status = mn_hnsw_update_batch_begin(space->index, labels, vectors, n,
                                            space->params.dimension, &batch, NULL);
        if (status != MN_OK) mn_field_indexes_txn_abort(space->fields);
    }
    if (status != MN_OK) { /* a failed stage or prepare closed the transaction itself */
        for (uint64_t c = 0; c < n; c++) mn_arena_free_block(records[c]); /* never published */
        return status;
    }
    if (mn_group_helped(space, n)) {
        mn_worker_link_batch(worker, batch);
    } else {
        size_t applied = 0;
        (void)mn_hnsw_batch_work(batch, &applied); /* an update item never fails */
    }
    status = mn_hnsw_batch_end(batch);
    MN_ASSERT(status == MN_OK);
    mn_field_indexes_txn_publish(space->fields);
    for (uint64_t c = 0; c < n; c++) mn_space_replace_record(space, olds[c], records[c], charged[c]);
    return MN_OK;
}

/*
 * An upsert batch (MN_OP_UPSERT_BATCH): the new records of its existing ids are made first,
 * then its new ids go in as one batch insert (all or nothing), then the existing ids are
 * replaced MN_HNSW_SETTLE_BATCH at a time (mn_space_replace_chunk). Nothing has changed unless
 * the first two steps succeed. *detail: how many it replaced, or a refusal's offender.
 */
static mn_status mn_apply_upsert_batch(struct mn_space *space, mn_op *op, mn_worker *worker,
                                       uint64_t *detail) {
    const uint64_t n = op->count;
    const uint32_t dimension = op->dimension;
    const size_t row = (size_t)dimension * sizeof(float);
    *detail = 0;
    /* Checked at submission too; a replayed record's ids are checked again (a valid checksum
     * does not make them distinct). */
    size_t repeat = 0;
    mn_status status = mn_engine_batch_find_repeat(op->ids, op->id_offsets, (size_t)n, &repeat);
    if (status != MN_OK) {
        if (status == MN_ERR_DUPLICATE) *detail = repeat;
        return status;
    }
    uint64_t *changed_at = malloc((size_t)n * sizeof(uint64_t));
    uint64_t *fresh_at = malloc((size_t)n * sizeof(uint64_t));
    mn_record **olds = malloc((size_t)n * sizeof(mn_record *));
    mn_record **records = malloc((size_t)n * sizeof(mn_record *));
    uint64_t *charged = malloc((size_t)n * sizeof(uint64_t));
    mn_new_memory *fresh = NULL;
    float *vectors = NULL;
    uint64_t changed = 0, added = 0, made = 0, owned_from = 0;
    status = MN_ERR_NO_MEMORY;
    if (!changed_at || !fresh_at || !olds || !records || !charged) goto done;
    for (uint64_t i = 0; i < n; i++) {
        mn_record *old = mn_find_id_locked(space, op->ids + op->id_offsets[i],
                                           (uint32_t)(op->id_offsets[i + 1] - op->id_offsets[i]));
        if (old) {
            olds[changed] = old;
            changed_at[changed++] = i;
        } else {
            fresh_at[added++] = i;
        }
    }
    for (; made < changed; made++) {
        const uint64_t i = changed_at[made];
        const mn_record *old = olds[made];
        records[made] = mn_record_new(worker, old->label, op->ids + op->id_offsets[i],
                                      old->id_bytes, op->contents + op->content_offsets[i],
                                      op->content_offsets[i + 1] - op->content_offsets[i],
                                      op->metadata + op->metadata_offsets[i],
                                      op->metadata_offsets[i + 1] - op->metadata_offsets[i],
                                      old->created_ns, &charged[made]);
        if (!records[made]) goto done;
    }
    /* Rows for the new ids (none when every id is new: the op's own rows serve) and for one
     * chunk of the existing ones. */
    uint64_t chunk_rows = changed < MN_HNSW_SETTLE_BATCH ? changed : MN_HNSW_SETTLE_BATCH;
    uint64_t rows = added == n ? 0 : (added > chunk_rows ? added : chunk_rows);
    if (rows > 0 && !(vectors = malloc((size_t)rows * row))) goto done;
    if (added > 0) {
        fresh = malloc((size_t)added * sizeof(mn_new_memory));
        if (!fresh) goto done;
        for (uint64_t a = 0; a < added; a++) {
            const uint64_t i = fresh_at[a];
            fresh[a] = mn_op_memory(op, i);
            if (vectors) memcpy(vectors + a * dimension, op->vectors + i * dimension, row);
        }
        uint64_t refused = 0;
        status = mn_space_add_new(space, worker, fresh, added, vectors ? vectors : op->vectors,
                                  dimension, mn_batch_helped(space, added), &refused);
        if (status != MN_OK) {
            if (refused < added) *detail = fresh_at[refused];
            goto done;
        }
    }
    status = MN_OK;
    for (uint64_t start = 0; start < changed && status == MN_OK; start += MN_HNSW_SETTLE_BATCH) {
        uint64_t count = changed - start < MN_HNSW_SETTLE_BATCH ? changed - start
                                                                : MN_HNSW_SETTLE_BATCH;
        for (uint64_t c = 0; c < count; c++)
            memcpy(vectors + c * dimension, op->vectors + changed_at[start + c] * dimension, row);
        status = mn_space_replace_chunk(space, worker, olds + start, records + start,
                                        charged + start, vectors, count);
        owned_from = start + count; /* the chunk took its records, replaced or freed */
    }
    if (status == MN_OK) *detail = changed;
done:
    for (uint64_t c = owned_from; records && c < made; c++) mn_arena_free_block(records[c]);
    free(changed_at);
    free(fresh_at);
    free(olds);
    free(records);
    free(charged);
    free(fresh);
    free(vectors);
    return status;
}

/*
 * Applies n single inserts and upserts of one space, in the order given, as one group (the
 * runner drained them from a backed-up mailbox and logged them in one append): the state
 * after the group, and every op's status and detail, are those of applying them one by one,
 * but each id's vector reaches the index once (its last write), new ids are added as one
 * batch insert and existing ones changed as one update batch, both linked by idle workers
 * too (work stealing inside a hot space). The new ids of a group are added all or nothing: out
 * of memory (or the index full) fails every op that would have created one.
 */
void mn_space_apply_writes(struct mn_space *space, mn_op **ops, uint32_t n, mn_worker *worker) {
    MN_ASSERT(n <= MN_ENGINE_RUN_QUANTUM);
    mn_group_entry entries[MN_ENGINE_RUN_QUANTUM];
    uint32_t entry_of[MN_ENGINE_RUN_QUANTUM];
    uint8_t present[MN_ENGINE_RUN_QUANTUM];
    mn_status status[MN_ENGINE_RUN_QUANTUM];
    uint64_t detail[MN_ENGINE_RUN_QUANTUM];
    uint32_t count = 0;
    /* Each op's outcome in order, against the state its predecessors leave. */
    for (uint32_t i = 0; i < n; i++) {
        const mn_op *op = ops[i];
        MN_ASSERT(op->kind == MN_OP_INSERT || op->kind == MN_OP_UPSERT);
        uint32_t id_bytes = (uint32_t)op->id_offsets[1];
        uint32_t e = 0;
        while (e < count && !(entries[e].id_bytes == id_bytes &&
                              memcmp(entries[e].id, op->ids, id_bytes) == 0))
            e++;
        if (e == count) {
            mn_record *old = mn_find_id_locked(space, op->ids, id_bytes);
            entries[count++] = (mn_group_entry){op->ids, id_bytes, MN_GROUP_NONE, MN_GROUP_NONE,
                                                old, MN_OK};
            present[e] = old != NULL;
        }
        entry_of[i] = e;
        detail[i] = 0;
        if (op->kind == MN_OP_INSERT && present[e]) {
            status[i] = MN_ERR_DUPLICATE;
            continue;
        }
        status[i] = MN_OK;
        if (op->kind == MN_OP_UPSERT) detail[i] = present[e]; /* 1: replaced */
        if (!present[e]) entries[e].creator = i;
        present[e] = 1;
        entries[e].last = i;
    }
    /* The vectors of the new ids, then of the changed ones, row-major. */
    const uint32_t dimension = space->params.dimension;
    const size_t row = (size_t)dimension * sizeof(float);
    float *vectors = malloc((size_t)count * row);
    mn_new_memory fresh[MN_ENGINE_RUN_QUANTUM];
    mn_record *records[MN_ENGINE_RUN_QUANTUM];
    uint64_t charged[MN_ENGINE_RUN_QUANTUM];
    uint32_t changed_entry[MN_ENGINE_RUN_QUANTUM];
    uint64_t added = 0, changed = 0;
    for (uint32_t e = 0; e < count; e++) {
        if (entries[e].last == MN_GROUP_NONE) continue;
        if (!vectors) {
            entries[e].failed = MN_ERR_NO_MEMORY;
            continue;
        }
        const mn_op *last = ops[entries[e].last];
        if (entries[e].old) continue;
        fresh[added] = (mn_new_memory){entries[e].id, entries[e].id_bytes, last->contents,
                                       last->content_offsets[1],
                                       ops[entries[e].creator]->created_ns[0], last->metadata,
                                       last->metadata_offsets[1]};
        memcpy(vectors + added * dimension, last->vectors, row);
        added++;
    }
    if (added > 0) {
        uint64_t refused = 0;
        mn_status added_status = mn_space_add_new(space, worker, fresh, added, vectors, dimension,
                                                  mn_group_helped(space, added), &refused);
        for (uint32_t e = 0; e < count && added_status != MN_OK; e++)
            if (!entries[e].old && entries[e].last != MN_GROUP_NONE) entries[e].failed = added_status;
    }
    /* Existing ids: their new records first (out of memory refuses that id alone), then one
     * chunk of replacements (mn_space_replace_chunk). */
    for (uint32_t e = 0; vectors && e < count; e++) {
        mn_record *old = entries[e].old;
        if (!old || entries[e].last == MN_GROUP_NONE) continue;
        const mn_op *last = ops[entries[e].last];
        records[changed] = mn_record_new(worker, old->label, entries[e].id, entries[e].id_bytes,
                                         last->contents, last->content_offsets[1],
                                         last->metadata, last->metadata_offsets[1],
                                         old->created_ns, &charged[changed]);
        if (!records[changed]) {
            entries[e].failed = MN_ERR_NO_MEMORY;
            continue;
        }
        memcpy(vectors + changed * dimension, last->vectors, row);
        changed_entry[changed++] = e;
    }
    if (changed > 0) {
        mn_record *olds[MN_ENGINE_RUN_QUANTUM];
        for (uint64_t c = 0; c < changed; c++) olds[c] = entries[changed_entry[c]].old;
        mn_status update = mn_space_replace_chunk(space, worker, olds, records, charged, vectors,
                                                  changed);
        for (uint64_t c = 0; c < changed && update != MN_OK; c++)
            entries[changed_entry[c]].failed = update;
    }
    free(vectors);
    /* Outcomes first, then the counters, then the completions (as mn_space_apply does): a
     * caller that has seen every completion sees them counted. */
    uint64_t memories = 0, coalesced = 0;
    for (uint32_t i = 0; i < n; i++) {
        const mn_group_entry *entry = &entries[entry_of[i]];
        /* A failed id reports its failure on every op that changed it, and on every op of an
         * id that would have been created (its duplicates did not meet a memory after all). */
        if (entry->failed != MN_OK && (status[i] == MN_OK || !entry->old)) {
            status[i] = entry->failed;
            detail[i] = 0;
        }
        memories += status[i] == MN_OK;
        coalesced += status[i] == MN_OK && entry->last != i;
    }
    atomic_fetch_add_explicit(&worker->ops, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&worker->grouped, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&worker->coalesced, coalesced, memory_order_relaxed);
    atomic_fetch_add_explicit(&worker->memories, memories, memory_order_relaxed);
    atomic_fetch_add_explicit(&space->ops_applied, n, memory_order_relaxed);
    for (uint32_t i = 0; i < n; i++) {
        if (ops[i]->done) ops[i]->done(ops[i]->context, status[i], detail[i]);
        free(ops[i]);
    }
}

/* What one more memory costs beyond its id and content: its record header, its node (vector
 * and header, as the index lays it out) and a full layer-0 list. The index's own figure
 * (mn_hnsw_bytes) already counts whole segments, so the sum is an upper estimate. */
#define MN_SPACE_NODE_HEADER_ESTIMATE 64u  /* a node's header and vector padding */
#define MN_SPACE_LIST_HEADER_ESTIMATE 16u  /* a neighbour list's header and malloc overhead */
static uint64_t mn_space_item_bytes(const struct mn_space *space) {
    return sizeof(mn_record) + MN_SPACE_NODE_HEADER_ESTIMATE +
           (uint64_t)space->params.dimension * sizeof(float) +
           (uint64_t)space->params.m * 2u * sizeof(uint32_t) + MN_SPACE_LIST_HEADER_ESTIMATE;
}

mn_status mn_space_room_check(struct mn_space *space, const mn_op *op) {
    uint64_t limit = space->engine->options.space_bytes_max;
    uint64_t index_bytes = 0;
    mn_hnsw_bytes(space->index, &index_bytes);
    uint64_t held = atomic_load_explicit(&space->record_bytes, memory_order_relaxed) + index_bytes +
                    mn_field_indexes_bytes(space->fields) +
                    atomic_load_explicit(&space->queued_bytes, memory_order_relaxed);
    /* A patch adds at most its own bytes to a document (and no node); the others add whole
     * memories, metadata included. */
    uint64_t adds = op->metadata_offsets[op->count];
    if (op->kind != MN_OP_PATCH) {
        adds += op->count * mn_space_item_bytes(space) + op->id_offsets[op->count] +
                op->content_offsets[op->count];
    }
    if (held >= limit || adds > limit - held) return MN_ERR_TOO_LARGE;
    return MN_OK;
}

mn_status mn_space_records(struct mn_space *space, mn_record ***out, size_t *count) {
    size_t capacity = (size_t)atomic_load_explicit(&space->count, memory_order_relaxed) + 1;
    mn_record **records = malloc(capacity * sizeof(mn_record *));
    if (!records) return MN_ERR_NO_MEMORY;
    size_t n = 0;
    mn_status status = MN_OK;
    struct cds_lfht_iter iter;
    mn_record *record;
    mn_rcu_read_lock();
    cds_lfht_for_each_entry(space->by_id, &iter, record, id_node) {
        MN_TSAN_OBSERVE(record);
        if (n == capacity) {
            capacity *= 2;
            mn_record **grown = realloc(records, capacity * sizeof(mn_record *));
            if (!grown) {
                status = MN_ERR_NO_MEMORY;
                break;
            }
            records = grown;
        }
        records[n++] = record;
    }
    mn_rcu_read_unlock();
    if (status != MN_OK) {
        free(records);
        return status;
    }
    *out = records;
    *count = n;
    return MN_OK;
}

mn_record *mn_space_find_id(struct mn_space *space, const char *id, uint32_t bytes) {
    return mn_find_id(space, id, bytes);
}

mn_record *mn_space_find_label(struct mn_space *space, uint64_t label) {
    return mn_find_label(space, label);
}

mn_status mn_space_restore_record(struct mn_space *space, mn_worker *worker, uint64_t label,
                                  const char *id, uint32_t id_bytes, const uint8_t *content,
                                  uint64_t content_bytes, const uint8_t *metadata,
                                  uint32_t metadata_bytes, int64_t created_ns) {
    uint64_t charged = 0;
    mn_record *record = mn_record_new(worker, label, id, id_bytes, content, content_bytes,
                                      metadata, metadata_bytes, created_ns, &charged);
    if (!record) return MN_ERR_NO_MEMORY;
    mn_rcu_read_lock();
    mn_label_publish(space, record);
    mn_id_publish(space, record);
    mn_rcu_read_unlock();
    mn_space_account(space, 1, (int64_t)charged);
    return MN_OK;
}

/* ---- reads (any thread) ---- */

mn_status mn_space_get(mn_space *space, const char *id, uint32_t id_bytes, float *vector,
                       uint32_t dimension, mn_memory_visit_fn visit, void *context) {
    if (!space || !id) return MN_ERR_INVALID;
    if (id_bytes == 0) return MN_ERR_INVALID;
    if (id_bytes > MN_ENGINE_ID_BYTES_MAX) return MN_ERR_TOO_LARGE;
    if (vector && dimension != space->params.dimension) return MN_ERR_DIMENSION;
    if (atomic_load_explicit(&space->dropped, memory_order_acquire)) {
        return MN_ERR_UNKNOWN_SPACE;
    }
    mn_status status = MN_ERR_NOT_FOUND;
    mn_record *previous = NULL;
    mn_rcu_read_lock();
    for (;;) {
        mn_record *record = mn_find_id(space, id, id_bytes);
        if (!record) {
            status = MN_ERR_NOT_FOUND;
            break;
        }
        if (vector) {
            status = mn_hnsw_get(space->index, record->label, vector, dimension);
            /* An upsert may have replaced the record between the lookup and the copy: look
             * again; the same record failing twice was deleted, which is a valid answer. */
            if (status == MN_ERR_NOT_FOUND && record != previous) {
                previous = record;
                continue;
            }
            if (status != MN_OK) break;
        }
        status = MN_OK;
        if (visit) {
            mn_memory_view view = {
                .id = record->data,
                .id_bytes = record->id_bytes,
                .distance = 0.0f,
                .content = mn_record_content(record),
                .content_bytes = record->content_bytes,
                .created_ns = record->created_ns,
                .metadata = mn_record_metadata(record),
                .metadata_bytes = record->metadata_bytes,
            };
            visit(context, &view);
        }
        break;
    }
    mn_rcu_read_unlock();
    return status;
}

mn_status mn_space_search_prepare(mn_space *space, uint32_t k, uint32_t ef,
                                  mn_hnsw_result *stack_results, mn_hnsw_result **results,
                                  uint32_t *beam) {
    if (k == 0 || k > MN_HNSW_K_MAX || ef > MN_HNSW_EF_MAX) return MN_ERR_INVALID;
    if (atomic_load_explicit(&space->dropped, memory_order_acquire)) return MN_ERR_UNKNOWN_SPACE;
    *results = stack_results;
    if (k > MN_ENGINE_SEARCH_STACK_K) {
        *results = malloc((size_t)k * sizeof(mn_hnsw_result));
        if (!*results) return MN_ERR_NO_MEMORY;
    }
    *beam = ef != 0 ? ef : (k > MN_ENGINE_SEARCH_EF_DEFAULT ? k : MN_ENGINE_SEARCH_EF_DEFAULT);
    return MN_OK;
}

mn_status mn_space_search(mn_space *space, const float *query, uint32_t dimension, uint32_t k,
                          uint32_t ef, mn_memory_visit_fn visit, void *context,
                          uint32_t *found) {
    if (!space || !query || !found) return MN_ERR_INVALID;
    *found = 0;
    mn_hnsw_result stack_results[MN_ENGINE_SEARCH_STACK_K];
    mn_hnsw_result *results = NULL;
    uint32_t beam = 0;
    mn_status status = mn_space_search_prepare(space, k, ef, stack_results, &results, &beam);
    if (status != MN_OK) return status;
    uint32_t count = 0;
    mn_rcu_read_lock();
    status = mn_hnsw_search(space->index, query, dimension, k, beam, results, &count);
    uint32_t visited = 0;
    if (status == MN_OK) {
        for (uint32_t i = 0; i < count; i++) {
            mn_record *record = mn_find_label(space, results[i].id);
            if (!record) continue; /* mid-upsert or mid-delete: not a memory at this instant */
            visited++;
            if (!visit) continue;
            mn_memory_view view = {
                .id = record->data,
                .id_bytes = record->id_bytes,
                .distance = results[i].distance,
                .content = mn_record_content(record),
                .content_bytes = record->content_bytes,
                .created_ns = record->created_ns,
                .metadata = mn_record_metadata(record),
                .metadata_bytes = record->metadata_bytes,
            };
            visit(context, &view);
        }
    }
    mn_rcu_read_unlock();
    if (results != stack_results) free(results);
    *found = visited;
    return status;
}

mn_status mn_space_params(const mn_space *space, mn_hnsw_params *out) {
    if (!space || !out) return MN_ERR_INVALID;
    *out = space->params;
    return MN_OK;
}

mn_status mn_space_stats_get(const mn_space *space, mn_space_stats *out) {
    if (!space || !out) return MN_ERR_INVALID;
    struct mn_space *s = (struct mn_space *)space;
    uint64_t index_bytes = 0;
    mn_hnsw_bytes(s->index, &index_bytes);
    out->count = atomic_load_explicit(&s->count, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&s->record_bytes, memory_order_relaxed) + index_bytes +
                 mn_field_indexes_bytes(s->fields);
    out->queue_depth = mn_mailbox_depth(s);
    out->ops_applied = atomic_load_explicit(&s->ops_applied, memory_order_relaxed);
    out->home_worker = s->home;
    out->dimension = s->params.dimension;
    out->metric = s->params.metric;
    out->reserved = 0;
    return MN_OK;
}
