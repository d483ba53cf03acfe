/*
 * mn_engine_assoc.c: associations between a space's memories, and recall through the engine.
 *
 * The association table (mn_assoc.h) links the uint64 labels the space gives its records; the
 * engine's callers name memories by string id. So a link is a write like any other: it is
 * validated on the caller's thread, queued as one mailbox record (MN_OP_LINK or MN_OP_UNLINK,
 * the two ids packed as in a two-memory batch and the weight in the vector slot) and applied by
 * the space's runner, which turns both ids into labels at that point in the write order. An id
 * that is not a memory then completes with MN_ERR_NOT_FOUND.
 *
 * A memory keeps its label for life (an upsert updates its index node in place), so its links
 * are keyed by label and never move; a delete removes them (mn_engine_space.c).
 *
 * Recall runs on the caller's thread inside one RCU read-side section: mn_assoc_recall works
 * on labels and the labels are turned back into records exactly as a search does; a label
 * without a record (an upsert or delete in flight, or a dangling link) is skipped.
 *
 * Filtered recall (mn_space_recall_filtered) spreads exactly as unfiltered recall does, from
 * the cue's unfiltered nearest memories and through every memory, because associations and
 * similarity often lead to a match THROUGH memories the filter excludes ("the trip" -> "the
 * hotel booking" -> the fact tagged travel). Only the final ranking is filtered: the whole
 * activated set is ranked and the first `limit` matches are returned, so the answer equals the
 * unfiltered recall of the whole budget, post-filtered. Seeding from a filtered search instead
 * would cut every such path at its first step.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mn_engine_internal.h"
#include "meta/mn_filter_internal.h"
#include "util/mn_rcu.h"

/* ---- submission (any thread) ---- */

static mn_status mn_link_validate_id(const char *id, uint32_t bytes) {
    if (!id || bytes == 0) return MN_ERR_INVALID;
    if (bytes > MN_ENGINE_ID_BYTES_MAX) return MN_ERR_TOO_LARGE;
    return MN_OK;
}

static mn_status mn_link_submit(mn_space *space, uint32_t kind, const char *from,
                                uint32_t from_bytes, const char *to, uint32_t to_bytes,
                                float weight, uint32_t flags, mn_completion_fn done,
                                void *context) {
    if (!space) return MN_ERR_INVALID;
    mn_status status = mn_link_validate_id(from, from_bytes);
    if (status == MN_OK) status = mn_link_validate_id(to, to_bytes);
    if (status != MN_OK) return status;
    if (from_bytes == to_bytes && memcmp(from, to, from_bytes) == 0) return MN_ERR_INVALID;
    if (kind == MN_OP_LINK && !(weight > 0.0f && weight <= 1.0f)) return MN_ERR_INVALID;
    uint32_t dimension = kind == MN_OP_LINK ? 1u : 0u;
    mn_op *op = mn_engine_op_new(kind, 2, dimension, (uint64_t)from_bytes + to_bytes, 0);
    if (!op) return MN_ERR_NO_MEMORY;
    op->id_offsets[0] = 0;
    op->id_offsets[1] = from_bytes;
    op->id_offsets[2] = (uint64_t)from_bytes + to_bytes;
    for (int i = 0; i < 3; i++) op->content_offsets[i] = 0;
    op->created_ns[0] = 0;
    op->created_ns[1] = 0;
    if (dimension) {
        op->vectors[0] = weight;
        op->vectors[1] = 0.0f;
    }
    memcpy(op->ids, from, from_bytes);
    memcpy(op->ids + from_bytes, to, to_bytes);
    return mn_engine_submit_op(space, op, flags, done, context);
}

mn_status mn_space_link(mn_space *space, const char *from, uint32_t from_bytes, const char *to,
                        uint32_t to_bytes, float weight, uint32_t flags, mn_completion_fn done,
                        void *context) {
    return mn_link_submit(space, MN_OP_LINK, from, from_bytes, to, to_bytes, weight, flags, done,
                          context);
}

mn_status mn_space_unlink(mn_space *space, const char *from, uint32_t from_bytes, const char *to,
                          uint32_t to_bytes, uint32_t flags, mn_completion_fn done,
                          void *context) {
    return mn_link_submit(space, MN_OP_UNLINK, from, from_bytes, to, to_bytes, 1.0f, flags, done,
                          context);
}

/* ---- applying (the space's runner) ---- */

/* Turns the op's two ids into labels; MN_ERR_NOT_FOUND if either is not a memory. */
static mn_status mn_link_labels(struct mn_space *space, const mn_op *op, uint64_t *from,
                                uint64_t *to) {
    if (op->count != 2) return MN_ERR_INVALID;
    mn_status status = MN_OK;
    mn_rcu_read_lock();
    mn_record *a = mn_space_find_id(space, op->ids, (uint32_t)op->id_offsets[1]);
    mn_record *b = mn_space_find_id(space, op->ids + op->id_offsets[1],
                                    (uint32_t)(op->id_offsets[2] - op->id_offsets[1]));
    if (!a || !b) {
        status = MN_ERR_NOT_FOUND;
    } else {
        *from = a->label;
        *to = b->label;
    }
    mn_rcu_read_unlock();
    return status;
}

/* Returns 1 if the link from -> to exists (the runner's view). */
static int mn_link_exists(struct mn_space *space, uint64_t from, uint64_t to) {
    mn_assoc_edge edges[MN_ASSOC_DEGREE_MAX];
    uint32_t count = 0;
    mn_rcu_read_lock();
    mn_status status = mn_assoc_links_of(space->assoc, from, MN_ASSOC_OUT, edges,
                                         MN_ASSOC_DEGREE_MAX, &count);
    mn_rcu_read_unlock();
    if (status != MN_OK) return 0;
    for (uint32_t i = 0; i < count; i++) {
        if (edges[i].id == to) return 1;
    }
    return 0;
}

mn_status mn_space_apply_link(struct mn_space *space, mn_op *op, uint64_t *detail) {
    uint64_t from = 0, to = 0;
    mn_status status = mn_link_labels(space, op, &from, &to);
    if (status != MN_OK) return status;
    if (op->dimension != 1) return MN_ERR_INVALID;
    int existed = mn_link_exists(space, from, to);
    status = mn_assoc_link(space->assoc, from, to, op->vectors[0]);
    if (status == MN_OK) *detail = (uint64_t)existed;
    return status;
}

mn_status mn_space_apply_unlink(struct mn_space *space, mn_op *op) {
    uint64_t from = 0, to = 0;
    mn_status status = mn_link_labels(space, op, &from, &to);
    if (status != MN_OK) return status;
    return mn_assoc_unlink(space->assoc, from, to);
}

/* ---- reads (any thread) ---- */

/* The activation budget of one recall: params->nodes_max, 0 meaning the default. */
static uint32_t mn_recall_budget(const mn_recall_params *params) {
    return params->nodes_max ? params->nodes_max : MN_ASSOC_RECALL_NODES_DEFAULT;
}

/* Recall, unfiltered (filter NULL: the first `limit` activated memories) or filtered (every
 * activated memory is ranked, up to the activation budget, and the first `limit` MATCHING
 * ones are visited). Spreading never looks at the filter: mn_assoc_recall walks labels,
 * whatever the records' metadata. */
static mn_status mn_space_recall_run(mn_space *space, const float *cue, uint32_t dimension,
                                     const mn_recall_params *params, const mn_filter *filter,
                                     uint32_t limit, mn_recollection_visit_fn visit,
                                     void *context, uint32_t *found) {
    if (found) *found = 0;
    if (!space || !cue || !found) return MN_ERR_INVALID;
    if (limit == 0 || limit > MN_ENGINE_RECALL_LIMIT_MAX) return MN_ERR_INVALID;
    if (atomic_load_explicit(&space->dropped, memory_order_acquire)) {
        return MN_ERR_UNKNOWN_SPACE;
    }
    mn_recall_params defaults;
    if (!params) {
        mn_recall_params_default(&defaults);
        params = &defaults;
    }
    /* Filtered, the matches may lie anywhere in the ranking, so the whole activated set is
     * asked for (mn_assoc_recall bounds it by the budget; an out-of-range nodes_max is
     * refused there, so the budget is only trusted up to the engine's limit here). */
    if (filter && mn_filter_node_count(filter) == 0) filter = NULL; /* {}: every memory */
    uint32_t capacity = limit;
    if (filter) {
        uint32_t budget = mn_recall_budget(params);
        if (budget > MN_ENGINE_RECALL_LIMIT_MAX) budget = MN_ENGINE_RECALL_LIMIT_MAX;
        if (budget > capacity) capacity = budget;
    }
    mn_recall_result *results = malloc((size_t)capacity * sizeof(mn_recall_result));
    if (!results) return MN_ERR_NO_MEMORY;
    uint32_t count = 0, visited = 0;
    mn_rcu_read_lock();
    mn_status status = mn_assoc_recall(space->assoc, space->index, cue, dimension, params,
                                       results, capacity, &count);
    for (uint32_t i = 0; status == MN_OK && i < count && visited < limit; i++) {
        mn_record *record = mn_space_find_label(space, results[i].id);
        if (!record) continue; /* mid-upsert, mid-delete or a dangling link */
        /* Checked on the record handed over, in this read section: a memory patched out of
         * the filter since the spreading ran is skipped, never returned. */
        if (filter && !mn_filter_match(filter, mn_record_metadata(record), record->metadata_bytes,
                                       record->data, record->id_bytes, record->created_ns)) {
            continue;
        }
        visited++;
        if (!visit) continue;
        mn_recollection_view view = {
            .id = record->data,
            .id_bytes = record->id_bytes,
            .activation = results[i].activation,
            .hops = results[i].hops,
            .reserved = 0,
            .content = mn_record_content(record),
            .content_bytes = record->content_bytes,
            .created_ns = record->created_ns,
            .metadata = record->metadata_bytes ? mn_record_metadata(record) : NULL,
            .metadata_bytes = record->metadata_bytes,
        };
        visit(context, &view);
    }
    mn_rcu_read_unlock();
    free(results);
    *found = visited;
    return status;
}

mn_status mn_space_recall(mn_space *space, const float *cue, uint32_t dimension,
                          const mn_recall_params *params, uint32_t limit,
                          mn_recollection_visit_fn visit, void *context, uint32_t *found) {
    return mn_space_recall_run(space, cue, dimension, params, NULL, limit, visit, context, found);
}

mn_status mn_space_recall_filtered(mn_space *space, const float *cue, uint32_t dimension,
                                   const mn_recall_params *params, const mn_filter *filter,
                                   uint32_t limit, mn_recollection_visit_fn visit,
                                   void *context, uint32_t *found) {
    return mn_space_recall_run(space, cue, dimension, params, filter, limit, visit, context,
                               found);
}

mn_status mn_space_link_count(const mn_space *space, uint64_t *out) {
    if (!space || !out) return MN_ERR_INVALID;
    return mn_assoc_count(space->assoc, out);
}
