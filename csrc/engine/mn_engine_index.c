/*
 * mn_engine_index.c: field indexes attached to spaces: creating and dropping them as writes,
 * listing them, and filling them when a space is restored from a stream.
 *
 * A space's field indexes (csrc/meta/mn_field_index.h) are one set per space, written only by
 * the space's runner. Creating or dropping one is therefore a write like the others: queued
 * in order with the space's inserts and deletes (so an index created after an insert was
 * acknowledged holds that memory), logged as its own record (types 12 and 13) and replayed, so
 * a reopened space has the same indexes at the same point of its write order. The runner
 * backfills a new index from the space's records in one transaction: readers see the index
 * complete or not at all. The apply paths of mn_engine_space.c keep every index in step with
 * the records afterwards; the planner (mn_engine_filter.c) reads them.
 *
 * Names are checked on the caller's thread (mn_meta_name_validate: a name a metadata document
 * can hold, which refuses "id" and "createdAt") so a bad call queues nothing; whether the field
 * is already indexed is known only when the write is applied, and is its completion status.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/mn_engine_internal.h"
#include "util/mn_bytes.h"
#include "util/mn_rcu.h"

_Static_assert(MN_INDEX_KEYWORD == (uint32_t)MN_FIELD_INDEX_KEYWORD, "public kinds are the index's");
_Static_assert(MN_INDEX_NUMERIC == (uint32_t)MN_FIELD_INDEX_NUMERIC, "public kinds are the index's");
_Static_assert(MN_FIELD_NAME_BYTES_MAX <= MN_ENGINE_ID_BYTES_MAX, "a field name fits an op's id");

static mn_status mn_index_check_name(const char *field, uint32_t field_bytes) {
    if (!field) return MN_ERR_INVALID;
    return mn_meta_name_validate(field, field_bytes, NULL);
}

static mn_status mn_index_submit(mn_space *space, uint32_t kind, const char *field,
                                 uint32_t field_bytes, uint32_t index_kind, uint32_t flags,
                                 mn_completion_fn done, void *context) {
    uint64_t content_bytes = kind == MN_OP_INDEX_CREATE ? MN_OP_INDEX_KIND_BYTES : 0;
    mn_op *op = mn_engine_op_new(kind, 1, 0, field_bytes, content_bytes);
    if (!op) return MN_ERR_NO_MEMORY;
    op->id_offsets[0] = 0;
    op->id_offsets[1] = field_bytes;
    op->content_offsets[0] = 0;
    op->content_offsets[1] = content_bytes;
    op->created_ns[0] = mn_engine_now_ns();
    memcpy(op->ids, field, field_bytes);
    if (content_bytes) mn_put_u32(op->contents, index_kind);
    return mn_engine_submit_op(space, op, flags, done, context);
}

mn_status mn_space_index_create(mn_space *space, const char *field, uint32_t field_bytes,
                                uint32_t kind, uint32_t flags, mn_completion_fn done,
                                void *context) {
    if (!space) return MN_ERR_INVALID;
    if (kind != MN_INDEX_KEYWORD && kind != MN_INDEX_NUMERIC) return MN_ERR_INVALID;
    mn_status status = mn_index_check_name(field, field_bytes);
    if (status != MN_OK) return status;
    return mn_index_submit(space, MN_OP_INDEX_CREATE, field, field_bytes, kind, flags, done,
                           context);
}

mn_status mn_space_index_drop(mn_space *space, const char *field, uint32_t field_bytes,
                              uint32_t flags, mn_completion_fn done, void *context) {
    if (!space) return MN_ERR_INVALID;
    mn_status status = mn_index_check_name(field, field_bytes);
    if (status != MN_OK) return status;
    return mn_index_submit(space, MN_OP_INDEX_DROP, field, field_bytes, 0, flags, done, context);
}

mn_status mn_engine_index_check_op(uint32_t kind, const char *name, uint64_t name_bytes,
                                   const uint8_t *content, uint64_t content_bytes) {
    if (name_bytes > MN_FIELD_NAME_BYTES_MAX) return MN_ERR_CORRUPT;
    if (mn_index_check_name(name, (uint32_t)name_bytes) != MN_OK) return MN_ERR_CORRUPT;
    if (kind == MN_OP_INDEX_DROP) return content_bytes == 0 ? MN_OK : MN_ERR_CORRUPT;
    if (content_bytes != MN_OP_INDEX_KIND_BYTES) return MN_ERR_CORRUPT;
    uint32_t index_kind = mn_get_u32(content);
    return index_kind == MN_INDEX_KEYWORD || index_kind == MN_INDEX_NUMERIC ? MN_OK
                                                                           : MN_ERR_CORRUPT;
}

/* ---- the runner ---- */

/* The space's records for a backfill: collected first (the runner is their only writer, so
 * none is retired while the index is built), then handed out one by one. */
typedef struct mn_index_backfill {
    mn_record **records;
    size_t count;
    size_t next;
} mn_index_backfill;

static mn_status mn_index_backfill_next(void *context, uint64_t *label, const uint8_t **doc,
                                        size_t *doc_bytes, bool *more) {
    mn_index_backfill *fill = context;
    if (fill->next == fill->count) {
        *more = false;
        return MN_OK;
    }
    const mn_record *record = fill->records[fill->next++];
    *label = record->label;
    *doc = mn_record_metadata(record);
    *doc_bytes = record->metadata_bytes;
    *more = true;
    return MN_OK;
}

mn_status mn_space_apply_index_create(struct mn_space *space, mn_op *op, uint64_t *detail) {
    const char *name = op->ids;
    uint32_t name_bytes = (uint32_t)op->id_offsets[1];
    uint32_t kind = mn_get_u32(op->contents);
    mn_index_backfill fill = {NULL, 0, 0};
    mn_status status = mn_space_records(space, &fill.records, &fill.count);
    if (status != MN_OK) return status;
    status = mn_field_indexes_add(space->fields, name, name_bytes, (mn_field_index_kind)kind,
                                  mn_index_backfill_next, &fill);
    free(fill.records);
    if (status != MN_OK) return status;
    mn_rcu_read_lock();
    const mn_field_index *index =
        mn_field_snapshot_find(mn_field_indexes_snapshot(space->fields), name, name_bytes);
    MN_ASSERT(index != NULL);
    mn_field_index_info info;
    mn_field_index_describe(index, &info);
    mn_rcu_read_unlock();
    *detail = info.present;
    return MN_OK;
}

mn_status mn_space_apply_index_drop(struct mn_space *space, mn_op *op, uint64_t *detail) {
    mn_status status = mn_field_indexes_drop(space->fields, op->ids, (uint32_t)op->id_offsets[1]);
    if (status == MN_OK) *detail = 1;
    return status;
}

mn_status mn_space_index_restore(struct mn_space *space) {
    mn_record **records = NULL;
    size_t count = 0;
    mn_status status = mn_space_records(space, &records, &count);
    if (status != MN_OK) return status;
    mn_field_indexes_txn_begin(space->fields);
    for (size_t i = 0; i < count && status == MN_OK; i++) {
        const mn_record *record = records[i];
        status = mn_field_indexes_txn_insert(space->fields, record->label, record->created_ns,
                                             mn_record_metadata(record), record->metadata_bytes);
    }
    if (status == MN_OK) status = mn_field_indexes_txn_prepare(space->fields);
    if (status == MN_OK) mn_field_indexes_txn_publish(space->fields);
    free(records);
    return status;
}

/* ---- reads ---- */

static void mn_index_visit_one(const mn_field_index *index, int builtin, mn_index_visit_fn visit,
                               void *context) {
    mn_field_index_info info;
    mn_field_index_describe(index, &info);
    mn_index_info out = {
        .name = info.name,
        .name_bytes = info.name_length,
        .kind = (uint32_t)info.kind,
        .entries = info.entries,
        .present = info.present,
        .bytes = info.bytes,
        .builtin = (uint32_t)builtin,
        .reserved = 0,
    };
    visit(context, &out);
}

mn_status mn_space_index_list(mn_space *space, mn_index_visit_fn visit, void *context,
                              uint32_t *count) {
    if (count) *count = 0;
    if (!space) return MN_ERR_INVALID;
    if (atomic_load_explicit(&space->dropped, memory_order_acquire)) {
        return MN_ERR_UNKNOWN_SPACE;
    }
    mn_rcu_read_lock();
    const mn_field_snapshot *snapshot = mn_field_indexes_snapshot(space->fields);
    uint32_t n = mn_field_snapshot_count(snapshot);
    if (visit) {
        mn_index_visit_one(mn_field_snapshot_created_at(snapshot), 1, visit, context);
        for (uint32_t i = 0; i < n; i++) {
            mn_index_visit_one(mn_field_snapshot_at(snapshot, i), 0, visit, context);
        }
    }
    mn_rcu_read_unlock();
    if (count) *count = n;
    return MN_OK;
}
