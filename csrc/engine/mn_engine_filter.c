/*
 * mn_engine_filter.c: filtered reads of a space (mn_engine.h): filtered k-NN search with a
 * planner that picks the strategy, count and list by filter.
 *
 * Filtered search has two ways to answer (docs/filters.md, "Filtered search in the index"):
 * an exact scan of the matching memories, which wins when they are few, and a traversal of
 * the graph that checks the filter per node, which wins when they are many and whose recall
 * falls when they are few. The planner estimates how many memories match and picks by the
 * index's threshold (MN_HNSW_FILTER_SCAN_MATCHES_MAX, MN_HNSW_FILTER_SCAN_FRACTION_DIVISOR).
 *
 * The estimate: mn_filter_estimate combines per-leaf fractions, and each leaf's fraction is
 * measured on a sample of the space's records: the first MN_ENGINE_FILTER_SAMPLE_MAX ones in
 * the id table's iteration order. That order is the table's hash order of ids, so the sample
 * is spread over the space's history and deterministic for a given set of ids (the same space
 * state plans the same way). Walks use the id table: its node is the record's first member, so
 * cds_lfht_for_each_entry's container arithmetic never offsets a NULL node. The space's field indexes (csrc/meta/mn_field_index.h)
 * would give exact leaf counts; they are not attached to spaces yet, so every leaf is sampled.
 *
 * Consistency: everything runs in one RCU read section, as mn_space_search does. Records are
 * immutable once published (an upsert or patch publishes a new record under the same label and
 * retires the old one after a grace period), so a record pointer read in the section stays
 * valid and unchanged to its end. Every memory handed to `visit` is checked against the filter
 * on the very record handed over, so a concurrent patch or upsert can make a memory drop out of
 * the answer but never makes a non-matching memory appear in it.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/mn_engine_internal.h"
#include "meta/mn_filter_internal.h"
#include "util/mn_rcu.h"

/* Initial capacity of a growable buffer of matches (doubles as needed). */
#define MN_FILTER_MATCHES_INITIAL 256u

static int mn_record_matches(const mn_filter *filter, const mn_record *record) {
    if (!filter) return 1;
    return mn_filter_match(filter, mn_record_metadata(record), record->metadata_bytes,
                           record->data, record->id_bytes, record->created_ns);
}

static mn_memory_view mn_record_view(const mn_record *record, float distance) {
    mn_memory_view view = {
        .id = record->data,
        .id_bytes = record->id_bytes,
        .distance = distance,
        .content = mn_record_content(record),
        .content_bytes = record->content_bytes,
        .created_ns = record->created_ns,
        .metadata = mn_record_metadata(record),
        .metadata_bytes = record->metadata_bytes,
    };
    return view;
}

/* A growable array of (label, record) pairs, within one read section. */
typedef struct mn_match {
    uint64_t label;
    const mn_record *record;
} mn_match;

typedef struct mn_matches {
    mn_match *items;
    size_t count;
    size_t capacity;
} mn_matches;

static mn_status mn_matches_push(mn_matches *m, const mn_record *record) {
    if (m->count == m->capacity) {
        size_t capacity = m->capacity ? m->capacity * 2 : MN_FILTER_MATCHES_INITIAL;
        mn_match *items = realloc(m->items, capacity * sizeof(mn_match));
        if (!items) return MN_ERR_NO_MEMORY;
        m->items = items;
        m->capacity = capacity;
    }
    m->items[m->count].label = record->label;
    m->items[m->count].record = record;
    m->count++;
    return MN_OK;
}

/* ---- the selectivity estimate ---- */

typedef struct mn_sample {
    const mn_record *records[MN_ENGINE_FILTER_SAMPLE_MAX];
    uint32_t count;
} mn_sample;

/* Leaf fraction over the sample: the leaf's field value read from each sampled record (the
 * built-ins from the record itself) and tested with the leaf's exact semantics. */
static mn_status mn_sample_fraction(void *context, const mn_filter *filter, uint32_t leaf,
                                    double *fraction) {
    const mn_sample *sample = context;
    if (sample->count == 0) {
        *fraction = 0.0;
        return MN_OK;
    }
    mn_filter_leaf info;
    mn_filter_node_leaf(filter, leaf, &info);
    uint32_t hits = 0;
    for (uint32_t i = 0; i < sample->count; i++) {
        const mn_record *record = sample->records[i];
        mn_meta_value value;
        memset(&value, 0, sizeof(value));
        const mn_meta_value *present = &value;
        if (info.field == MN_FILTER_FIELD_ID) {
            value.type = MN_META_STRING;
            value.str = record->data;
            value.str_bytes = record->id_bytes;
        } else if (info.field == MN_FILTER_FIELD_CREATED_AT) {
            value.type = MN_META_INT;
            value.i = record->created_ns;
        } else if (mn_meta_get(mn_record_metadata(record), record->metadata_bytes, info.name,
                               info.name_bytes, &value) != MN_OK) {
            present = NULL; /* absent (a stored document is valid: nothing else fails) */
        }
        hits += (uint32_t)mn_filter_leaf_match_value(filter, leaf, present);
    }
    *fraction = (double)hits / (double)sample->count;
    return MN_OK;
}

/* Estimated matches of `filter` among `live` memories, from a sample of the id table.
 * Inside the caller's read section. */
static mn_status mn_space_estimate(struct mn_space *space, const mn_filter *filter, uint64_t live,
                                   uint64_t *estimated, uint64_t *sampled) {
    *sampled = 0;
    if (!filter || mn_filter_node_count(filter) == 0) {
        *estimated = live;
        return MN_OK;
    }
    mn_sample *sample = malloc(sizeof(mn_sample));
    if (!sample) return MN_ERR_NO_MEMORY;
    sample->count = 0;
    struct cds_lfht_iter iter;
    mn_record *record;
    cds_lfht_for_each_entry(space->by_id, &iter, record, id_node) {
        MN_TSAN_OBSERVE(record);
        sample->records[sample->count++] = record;
        if (sample->count == MN_ENGINE_FILTER_SAMPLE_MAX) break;
    }
    double fraction = 1.0;
    mn_status status = mn_filter_estimate(filter, mn_sample_fraction, sample, &fraction);
    *sampled = sample->count;
    free(sample);
    if (status != MN_OK) return status;
    if (fraction < 0.0) fraction = 0.0;
    if (fraction > 1.0) fraction = 1.0;
    *estimated = (uint64_t)(fraction * (double)live + 0.5);
    return MN_OK;
}

/* ---- filtered search ---- */

typedef struct mn_filter_probe {
    struct mn_space *space;
    const mn_filter *filter;
} mn_filter_probe;

/* The traversal's predicate: the label's current record, checked against the filter. Called
 * inside the search's read section (mn_hnsw_search_filtered holds it). */
static int mn_label_matches(uint64_t label, void *context) {
    const mn_filter_probe *probe = context;
    const mn_record *record = mn_space_find_label(probe->space, label);
    if (!record) return 0; /* not a memory at this instant */
    return mn_record_matches(probe->filter, record);
}

mn_status mn_space_search_filtered(mn_space *space, const float *query, uint32_t dimension,
                                   uint32_t k, uint32_t ef, const mn_filter *filter,
                                   mn_memory_visit_fn visit, void *context, uint32_t *found,
                                   mn_search_stats *stats) {
    if (!space || !query || !found) return MN_ERR_INVALID;
    *found = 0;
    mn_search_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof(*stats));
    if (k == 0 || k > MN_HNSW_K_MAX || ef > MN_HNSW_EF_MAX) return MN_ERR_INVALID;
    if (atomic_load_explicit(&space->dropped, memory_order_acquire)) {
        return MN_ERR_UNKNOWN_SPACE;
    }
    mn_hnsw_result stack_results[MN_ENGINE_SEARCH_STACK_K];
    mn_hnsw_result *results = stack_results;
    if (k > MN_ENGINE_SEARCH_STACK_K) {
        results = malloc((size_t)k * sizeof(mn_hnsw_result));
        if (!results) return MN_ERR_NO_MEMORY;
    }
    uint32_t beam = ef;
    if (beam == 0) beam = k > MN_ENGINE_SEARCH_EF_DEFAULT ? k : MN_ENGINE_SEARCH_EF_DEFAULT;
    uint32_t count = 0;
    uint64_t *labels = NULL;
    mn_matches matches = {NULL, 0, 0};
    mn_rcu_read_lock();
    uint64_t live = atomic_load_explicit(&space->count, memory_order_relaxed);
    stats->live = live;
    mn_status status =
        mn_space_estimate(space, filter, live, &stats->estimated_matches, &stats->sampled);
    if (status != MN_OK) goto done;
    int scan = stats->estimated_matches <= MN_HNSW_FILTER_SCAN_MATCHES_MAX ||
               stats->estimated_matches <= live / MN_HNSW_FILTER_SCAN_FRACTION_DIVISOR;
    if (scan) {
        stats->strategy = MN_SEARCH_STRATEGY_EXACT_SCAN;
        /* Every record checked; a label seen twice (a record replaced while the table is
         * walked) is scored once by mn_hnsw_search_ids. */
        _Static_assert(offsetof(mn_record, id_node) == 0, "walks rely on it");
        struct cds_lfht_iter iter;
        mn_record *record;
        cds_lfht_for_each_entry(space->by_id, &iter, record, id_node) {
            MN_TSAN_OBSERVE(record);
            if (!mn_record_matches(filter, record)) continue;
            status = mn_matches_push(&matches, record);
            if (status != MN_OK) goto done;
        }
        stats->matches = matches.count;
        if (matches.count > 0) {
            labels = malloc(matches.count * sizeof(uint64_t));
            if (!labels) {
                status = MN_ERR_NO_MEMORY;
                goto done;
            }
            for (size_t i = 0; i < matches.count; i++) labels[i] = matches.items[i].label;
        }
        status = mn_hnsw_search_ids(space->index, query, dimension, k, labels, matches.count,
                                    results, &count);
    } else {
        stats->strategy = MN_SEARCH_STRATEGY_TRAVERSAL;
        mn_filter_probe probe = {space, filter};
        status = mn_hnsw_search_filtered(space->index, query, dimension, k, beam,
                                         mn_label_matches, &probe, results, &count,
                                         &stats->index);
        stats->matches = stats->index.matches;
    }
    if (status != MN_OK) goto done;
    uint32_t visited = 0;
    for (uint32_t i = 0; i < count; i++) {
        const mn_record *record = mn_space_find_label(space, results[i].id);
        if (!record) continue; /* mid-upsert or mid-delete: not a memory at this instant */
        /* Checked again on the record handed over: a patch since the check above may have
         * taken it out of the filter. */
        if (!mn_record_matches(filter, record)) continue;
        visited++;
        if (!visit) continue;
        mn_memory_view view = mn_record_view(record, results[i].distance);
        visit(context, &view);
    }
    *found = visited;
done:
    mn_rcu_read_unlock();
    free(labels);
    free(matches.items);
    if (results != stack_results) free(results);
    return status;
}

/* ---- count and list ---- */

mn_status mn_space_count_filtered(mn_space *space, const mn_filter *filter, uint64_t *count) {
    if (!space || !count) return MN_ERR_INVALID;
    *count = 0;
    if (atomic_load_explicit(&space->dropped, memory_order_acquire)) {
        return MN_ERR_UNKNOWN_SPACE;
    }
    uint64_t n = 0;
    mn_rcu_read_lock();
    /* The id table, not the label table: it holds each memory once even while a record is
     * being replaced (mn_space_free walks it for the same reason). */
    struct cds_lfht_iter iter;
    mn_record *record;
    cds_lfht_for_each_entry(space->by_id, &iter, record, id_node) {
        MN_TSAN_OBSERVE(record);
        n += (uint64_t)mn_record_matches(filter, record);
    }
    mn_rcu_read_unlock();
    *count = n;
    return MN_OK;
}

static int mn_match_less(const void *a, const void *b) {
    uint64_t x = ((const mn_match *)a)->label, y = ((const mn_match *)b)->label;
    return (x > y) - (x < y);
}

mn_status mn_space_list_filtered(mn_space *space, const mn_filter *filter, uint64_t cursor,
                                 uint32_t limit, mn_memory_visit_fn visit, void *context,
                                 uint32_t *found, uint64_t *next_cursor) {
    if (!space || !found) return MN_ERR_INVALID;
    *found = 0;
    if (next_cursor) *next_cursor = cursor;
    if (limit == 0 || limit > MN_ENGINE_LIST_LIMIT_MAX) return MN_ERR_INVALID;
    if (atomic_load_explicit(&space->dropped, memory_order_acquire)) {
        return MN_ERR_UNKNOWN_SPACE;
    }
    mn_matches matches = {NULL, 0, 0};
    mn_status status = MN_OK;
    mn_rcu_read_lock();
    struct cds_lfht_iter iter;
    mn_record *record;
    cds_lfht_for_each_entry(space->by_id, &iter, record, id_node) {
        MN_TSAN_OBSERVE(record);
        /* Labels start at 1 (mn_engine_space.c), so cursor 0 lists from the first. */
        if (record->label <= cursor || !mn_record_matches(filter, record)) continue;
        status = mn_matches_push(&matches, record);
        if (status != MN_OK) break;
    }
    if (status == MN_OK) {
        if (matches.count > 1) qsort(matches.items, matches.count, sizeof(mn_match), mn_match_less);
        uint32_t visited = 0;
        uint64_t last = cursor;
        for (size_t i = 0; i < matches.count && visited < limit; i++) {
            /* A label met twice (a record replaced during the walk of the id table) once. */
            if (i > 0 && matches.items[i].label == matches.items[i - 1].label) continue;
            visited++;
            last = matches.items[i].label;
            if (!visit) continue;
            mn_memory_view view = mn_record_view(matches.items[i].record, 0.0f);
            visit(context, &view);
        }
        *found = visited;
        if (next_cursor) *next_cursor = last;
    }
    mn_rcu_read_unlock();
    free(matches.items);
    return status;
}
