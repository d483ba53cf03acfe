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
 * cds_lfht_for_each_entry's container arithmetic never offsets a NULL node.
 *
 * The space's field indexes (csrc/meta/mn_field_index.h, created with mn_space_index_create)
 * answer the leaves on indexed fields: planned against one snapshot (mn_plan), such a leaf is
 * counted exactly instead of sampled, and when the filter allows, the matching labels (or a
 * superset, for an AND with an unindexed child) are collected from the indexes instead of
 * walking every record: sorted buffers for leaves, label bitmaps for complements and
 * combinations (docs/filters.md, "Field indexes in spaces"). Sampling only happens when the
 * exact counts cannot decide the strategy alone. When the indexes answer the whole filter, a
 * search takes its matches as one bitmap of labels: the exact scan reads it in the index's
 * storage order (mn_hnsw_search_id_bitmap, no list and no sort) and the traversal tests each
 * node's bit instead of looking its record up and walking its document (docs/filters.md,
 * "Filtered search speed").
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
static double mn_sample_fraction(const mn_sample *sample, const mn_filter *filter, uint32_t leaf) {
    if (sample->count == 0) return 0.0;
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
    return (double)hits / (double)sample->count;
}

/* ---- the plan: which leaves the field indexes answer, and how many each matches ---- */

/* How a leaf maps to its field index (docs/filters.md, "Field indexes"). */
typedef struct mn_leaf_plan {
    const mn_field_index *index; /* NULL: not answerable from an index (checked on records) */
    int complement;              /* NE, NIN, EXISTS false: the live labels minus the set */
    int empty;                   /* IN []: the set is empty (and its complement every label) */
    int exact_count;             /* `count` is exact (not a sum that may count a label twice) */
    uint64_t count;              /* labels in the predicate's set (before any complement) */
    mn_field_predicate predicate;
    mn_field_value *values;      /* the predicate's operands (owned) */
} mn_leaf_plan;

/*
 * A filter planned against one field-index snapshot, inside the caller's read section: every
 * count and set comes from that snapshot, so they agree with each other. Per node: the
 * estimated fraction of the live memories it matches, whether the indexes answer it exactly
 * (AND/OR/NOT of answerable leaves) and whether they can give a superset of its matches
 * (candidates: an AND needs one answerable child; each candidate is checked on its record).
 */
typedef struct mn_plan {
    struct mn_space *space;
    const mn_filter *filter;
    const mn_field_snapshot *snapshot;
    const mn_field_index *created;
    uint64_t live;               /* labels in createdAt: the live memories of the snapshot */
    uint64_t bits;               /* a bound on every label in the snapshot (bitmap size) */
    uint32_t nodes;
    mn_leaf_plan *leaves;        /* per node (leaves only) */
    double *fraction;            /* per node */
    uint8_t *exact;              /* per node */
    uint8_t *candidates;         /* per node */
    mn_sample *sample;           /* taken when a leaf is not answerable (NULL until then) */
    int sampling;                /* 0: unanswerable leaves get no fraction (count, list) */
    int unsampled;               /* a leaf's fraction was left out (sampling 0) */
    uint32_t indexed_leaves;
    uint32_t sampled;
} mn_plan;

static void mn_plan_free(mn_plan *plan) {
    for (uint32_t i = 0; plan->leaves && i < plan->nodes; i++) free(plan->leaves[i].values);
    free(plan->leaves);
    free(plan->fraction);
    free(plan->exact);
    free(plan->candidates);
    free(plan->sample);
    memset(plan, 0, sizeof(*plan));
}

/* Typed operands of a field index from a filter operand: a keyword index holds strings (as a
 * value or as a list item: both forms, so eq "x" matches "x" and lists holding it) and bools;
 * a numeric index ints and doubles. 0: this index cannot answer the operand. */
static int mn_plan_operand(mn_field_index_kind kind, const mn_filter_value *v, mn_field_value *out,
                           uint32_t *n) {
    memset(&out[0], 0, sizeof(out[0]));
    if (kind == MN_FIELD_INDEX_KEYWORD) {
        if (v->type == MN_FILTER_VALUE_STRING) {
            memset(&out[1], 0, sizeof(out[1]));
            out[0].type = MN_FIELD_TYPE_STRING;
            out[0].string = v->string;
            out[0].length = v->bytes;
            out[1] = out[0];
            out[1].type = MN_FIELD_TYPE_STRINGS;
            *n = 2;
            return 1;
        }
        if (v->type == MN_FILTER_VALUE_BOOL) {
            out[0].type = MN_FIELD_TYPE_BOOL;
            out[0].boolean = v->b != 0;
            *n = 1;
            return 1;
        }
        return 0;
    }
    if (v->type == MN_FILTER_VALUE_INT) {
        out[0].type = MN_FIELD_TYPE_INT;
        out[0].integer = v->i;
    } else if (v->type == MN_FILTER_VALUE_DOUBLE) {
        out[0].type = MN_FIELD_TYPE_DOUBLE;
        out[0].number = v->d;
    } else {
        return 0;
    }
    *n = 1;
    return 1;
}

/* Maps leaf `node` to its index predicate and counts it; leaves plan->leaves[node].index NULL
 * when no index answers it. */
static mn_status mn_plan_leaf(mn_plan *plan, uint32_t node) {
    mn_leaf_plan *leaf = &plan->leaves[node];
    mn_filter_leaf info;
    mn_filter_node_leaf(plan->filter, node, &info);
    const mn_field_index *index = NULL;
    if (info.field == MN_FILTER_FIELD_CREATED_AT) {
        index = plan->created;
    } else if (info.field == MN_FILTER_FIELD_META) {
        index = mn_field_snapshot_find(plan->snapshot, info.name, info.name_bytes);
    }
    if (!index) return MN_OK; /* id, or a field nobody indexed */
    mn_field_index_info described;
    mn_field_index_describe(index, &described);
    mn_field_index_kind kind = described.kind;
    mn_field_predicate *p = &leaf->predicate;
    memset(p, 0, sizeof(*p));
    int exact_count = 1;
    switch (info.op) {
    case MN_FILTER_OP_EXISTS: {
        mn_filter_value v;
        mn_filter_leaf_value(plan->filter, node, 0, &v);
        p->op = MN_FIELD_OP_EXISTS;
        leaf->complement = !v.b;
        break;
    }
    case MN_FILTER_OP_EQ:
    case MN_FILTER_OP_NE:
    case MN_FILTER_OP_IN:
    case MN_FILTER_OP_NIN: {
        leaf->complement = info.op == MN_FILTER_OP_NE || info.op == MN_FILTER_OP_NIN;
        if (info.value_count == 0) {
            leaf->empty = 1;
            break;
        }
        if (info.value_count > MN_FIELD_IN_MAX / 2) return MN_OK; /* too many: checked on records */
        leaf->values = malloc((size_t)info.value_count * 2u * sizeof(mn_field_value));
        if (!leaf->values) return MN_ERR_NO_MEMORY;
        uint32_t n = 0, strings = 0;
        for (uint32_t i = 0; i < info.value_count; i++) {
            mn_filter_value v;
            mn_filter_leaf_value(plan->filter, node, i, &v);
            uint32_t made = 0;
            if (!mn_plan_operand(kind, &v, leaf->values + n, &made)) {
                free(leaf->values);
                leaf->values = NULL;
                return MN_OK; /* e.g. a number against a keyword index */
            }
            strings += v.type == MN_FILTER_VALUE_STRING;
            n += made;
        }
        p->op = n == 1 ? MN_FIELD_OP_EQ : MN_FIELD_OP_IN;
        p->values = leaf->values;
        p->value_count = n;
        /* A list may hold several of the strings: their counts then overlap. */
        exact_count = kind == MN_FIELD_INDEX_NUMERIC || strings <= 1;
        break;
    }
    case MN_FILTER_OP_GT:
    case MN_FILTER_OP_GTE:
    case MN_FILTER_OP_LT:
    case MN_FILTER_OP_LTE: {
        if (kind != MN_FIELD_INDEX_NUMERIC) return MN_OK;
        mn_filter_value v;
        mn_filter_leaf_value(plan->filter, node, 0, &v);
        mn_field_value value;
        uint32_t made = 0;
        if (!mn_plan_operand(kind, &v, &value, &made)) return MN_OK; /* string ranges */
        mn_field_bound bound = {true, info.op == MN_FILTER_OP_GTE || info.op == MN_FILTER_OP_LTE,
                                value};
        p->op = MN_FIELD_OP_RANGE;
        if (info.op == MN_FILTER_OP_GT || info.op == MN_FILTER_OP_GTE) p->low = bound;
        else p->high = bound;
        break;
    }
    default:
        return MN_OK; /* contains, icontains: substrings are not indexed */
    }
    uint64_t count = 0;
    if (!leaf->empty) {
        mn_status status = mn_field_index_count(index, p, &count);
        if (status == MN_ERR_UNSUPPORTED || status == MN_ERR_INVALID) {
            free(leaf->values);
            leaf->values = NULL;
            return MN_OK; /* the caller checks documents */
        }
        if (status != MN_OK) return status;
    }
    leaf->index = index;
    leaf->count = count;
    leaf->exact_count = exact_count;
    plan->indexed_leaves++;
    return MN_OK;
}

/* The sample of records for leaves no index answers (taken once per plan). */
static mn_status mn_plan_sample(mn_plan *plan) {
    if (plan->sample) return MN_OK;
    plan->sample = malloc(sizeof(mn_sample));
    if (!plan->sample) return MN_ERR_NO_MEMORY;
    plan->sample->count = 0;
    struct cds_lfht_iter iter;
    mn_record *record;
    cds_lfht_for_each_entry(plan->space->by_id, &iter, record, id_node) {
        MN_TSAN_OBSERVE(record);
        plan->sample->records[plan->sample->count++] = record;
        if (plan->sample->count == MN_ENGINE_FILTER_SAMPLE_MAX) break;
    }
    plan->sampled = plan->sample->count;
    return MN_OK;
}

/* Fills fraction, exact and candidates of `node` and its subtree; the same combination as
 * mn_filter_estimate (independent leaves: AND a product, OR 1 - prod(1 - p), NOT 1 - p). */
static mn_status mn_plan_node(mn_plan *plan, uint32_t node, uint32_t depth) {
    MN_ASSERT(depth <= MN_FILTER_TREE_DEPTH_MAX);
    uint32_t kind = mn_filter_node_kind(plan->filter, node);
    double live = (double)plan->live;
    if (kind == MN_FILTER_NODE_LEAF) {
        mn_status status = mn_plan_leaf(plan, node);
        if (status != MN_OK) return status;
        const mn_leaf_plan *leaf = &plan->leaves[node];
        if (leaf->index) {
            double f = live > 0 ? (double)leaf->count / live : 0.0;
            if (f > 1.0) f = 1.0;
            plan->fraction[node] = leaf->complement ? 1.0 - f : f;
            plan->exact[node] = 1;
            plan->candidates[node] = 1;
        } else if (!plan->sampling) {
            plan->fraction[node] = 1.0; /* not estimated: the caller needs no estimate */
            plan->unsampled = 1;
        } else {
            status = mn_plan_sample(plan);
            if (status != MN_OK) return status;
            plan->fraction[node] = mn_sample_fraction(plan->sample, plan->filter, node);
        }
        return MN_OK;
    }
    uint32_t children = mn_filter_node_child_count(plan->filter, node);
    int exact = 1, any_candidates = 0, all_candidates = 1;
    double product = 1.0, miss = 1.0;
    for (uint32_t i = 0; i < children; i++) {
        uint32_t child = mn_filter_node_child(plan->filter, node, i);
        mn_status status = mn_plan_node(plan, child, depth + 1);
        if (status != MN_OK) return status;
        exact &= plan->exact[child];
        any_candidates |= plan->candidates[child];
        all_candidates &= plan->candidates[child];
        product *= plan->fraction[child];
        miss *= 1.0 - plan->fraction[child];
    }
    if (kind == MN_FILTER_NODE_AND) {
        plan->fraction[node] = product; /* 1 for the empty filter {} */
        plan->exact[node] = (uint8_t)exact;
        plan->candidates[node] = (uint8_t)(exact || any_candidates);
    } else if (kind == MN_FILTER_NODE_OR) {
        plan->fraction[node] = 1.0 - miss;
        plan->exact[node] = (uint8_t)exact;
        plan->candidates[node] = (uint8_t)all_candidates;
    } else { /* NOT: its one child */
        plan->fraction[node] = 1.0 - product;
        plan->exact[node] = (uint8_t)exact;
        plan->candidates[node] = (uint8_t)exact;
    }
    return MN_OK;
}

/* Plans `filter` (not NULL, at least one node) against the space's current field indexes.
 * With `sampling`, leaves no index answers are estimated on a sample of records (what a search
 * needs to pick its strategy); without, they are not (count, list and delete only collect).
 * Inside the caller's read section; pair with mn_plan_free. */
static mn_status mn_plan_make(struct mn_space *space, const mn_filter *filter, int sampling,
                              mn_plan *plan) {
    memset(plan, 0, sizeof(*plan));
    plan->space = space;
    plan->filter = filter;
    plan->sampling = sampling;
    plan->snapshot = mn_field_indexes_snapshot(space->fields); /* acquire */
    plan->created = mn_field_snapshot_created_at(plan->snapshot);
    /* After the snapshot: the runner advances next_label before it publishes labels. */
    plan->bits = atomic_load_explicit(&space->next_label, memory_order_acquire);
    mn_field_index_info created;
    mn_field_index_describe(plan->created, &created);
    plan->live = created.entries;
    plan->nodes = mn_filter_node_count(filter);
    plan->leaves = calloc(plan->nodes, sizeof(mn_leaf_plan));
    plan->fraction = calloc(plan->nodes, sizeof(double));
    plan->exact = calloc(plan->nodes, 1);
    plan->candidates = calloc(plan->nodes, 1);
    mn_status status = MN_ERR_NO_MEMORY;
    if (plan->leaves && plan->fraction && plan->exact && plan->candidates) {
        status = mn_plan_node(plan, mn_filter_root(filter), 1);
    }
    if (status != MN_OK) mn_plan_free(plan);
    return status;
}

/* ---- label sets from the indexes ---- */

/* A sorted set of labels, ascending and unique. */
typedef struct mn_labels {
    uint64_t *items;
    size_t count;
} mn_labels;

/* The live labels of the snapshot into `bitmap` (OR). */
static mn_status mn_plan_live_bitmap(const mn_plan *plan, mn_label_bitmap *bitmap) {
    mn_field_predicate exists;
    memset(&exists, 0, sizeof(exists));
    exists.op = MN_FIELD_OP_EXISTS;
    return mn_field_index_collect_bitmap(plan->created, &exists, bitmap);
}

/* The exact set of an exactly answerable node, as a bitmap of plan->bits labels (zeroed by
 * the caller). */
static mn_status mn_plan_bitmap(const mn_plan *plan, uint32_t node, mn_label_bitmap *out) {
    uint32_t kind = mn_filter_node_kind(plan->filter, node);
    MN_ASSERT(plan->exact[node]);
    mn_label_bitmap other = {NULL, 0};
    mn_status status = MN_OK;
    if (kind == MN_FILTER_NODE_LEAF) {
        const mn_leaf_plan *leaf = &plan->leaves[node];
        if (!leaf->complement) {
            return leaf->empty ? MN_OK : mn_field_index_collect_bitmap(leaf->index, &leaf->predicate, out);
        }
        status = mn_plan_live_bitmap(plan, out);
        if (status != MN_OK || leaf->empty) return status;
        if ((status = mn_label_bitmap_init(&other, plan->bits)) != MN_OK) return status;
        status = mn_field_index_collect_bitmap(leaf->index, &leaf->predicate, &other);
        if (status == MN_OK) mn_label_bitmap_andnot(out, &other);
        mn_label_bitmap_destroy(&other);
        return status;
    }
    uint32_t children = mn_filter_node_child_count(plan->filter, node);
    if (kind == MN_FILTER_NODE_AND && children == 0) return mn_plan_live_bitmap(plan, out);
    if (kind == MN_FILTER_NODE_NOT) {
        status = mn_plan_live_bitmap(plan, out);
        if (status == MN_OK) status = mn_label_bitmap_init(&other, plan->bits);
        if (status == MN_OK) status = mn_plan_bitmap(plan, mn_filter_node_child(plan->filter, node, 0), &other);
        if (status == MN_OK) mn_label_bitmap_andnot(out, &other);
        mn_label_bitmap_destroy(&other);
        return status;
    }
    /* AND, OR: the first child into out, each other through a scratch bitmap. */
    status = mn_plan_bitmap(plan, mn_filter_node_child(plan->filter, node, 0), out);
    if (status == MN_OK && children > 1) status = mn_label_bitmap_init(&other, plan->bits);
    for (uint32_t i = 1; i < children && status == MN_OK; i++) {
        mn_label_bitmap_clear(&other);
        status = mn_plan_bitmap(plan, mn_filter_node_child(plan->filter, node, i), &other);
        if (status != MN_OK) break;
        if (kind == MN_FILTER_NODE_AND) mn_label_bitmap_and(out, &other);
        else mn_label_bitmap_or(out, &other);
    }
    mn_label_bitmap_destroy(&other);
    return status;
}

static mn_status mn_labels_from_bitmap(const mn_label_bitmap *bitmap, mn_labels *out) {
    uint64_t n = mn_label_bitmap_count(bitmap);
    out->count = 0;
    out->items = malloc((size_t)(n ? n : 1) * sizeof(uint64_t));
    if (!out->items) return MN_ERR_NO_MEMORY;
    uint64_t label = 0;
    while (out->count < n && mn_label_bitmap_next(bitmap, label, &label)) {
        out->items[out->count++] = label++;
    }
    return MN_OK;
}

/* A leaf's own set (no complement) into a sorted buffer. */
static mn_status mn_plan_collect_leaf(const mn_leaf_plan *leaf, mn_labels *out) {
    size_t capacity = (size_t)leaf->count + 16u;
    out->count = 0;
    out->items = NULL;
    if (leaf->empty) return MN_OK;
    for (;;) {
        uint64_t *items = realloc(out->items, capacity * sizeof(uint64_t));
        if (!items) return MN_ERR_NO_MEMORY;
        out->items = items;
        size_t count = 0;
        mn_status status = mn_field_index_collect(leaf->index, &leaf->predicate, out->items,
                                                  capacity, &count);
        if (status == MN_OK) {
            out->count = count;
            return MN_OK;
        }
        if (status != MN_ERR_FULL) return status;
        capacity = count; /* enough for this snapshot */
    }
}

/* The union of two sorted sets into a new one (a and b are freed). */
static mn_status mn_labels_union(mn_labels *a, mn_labels *b, mn_labels *out) {
    mn_labels merged = {malloc((a->count + b->count + 1) * sizeof(uint64_t)), 0};
    mn_status status = merged.items ? MN_OK : MN_ERR_NO_MEMORY;
    if (status == MN_OK) {
        size_t i = 0, j = 0;
        while (i < a->count || j < b->count) {
            uint64_t x;
            if (j == b->count || (i < a->count && a->items[i] < b->items[j])) x = a->items[i++];
            else if (i == a->count || b->items[j] < a->items[i]) x = b->items[j++];
            else { x = a->items[i++]; j++; }
            merged.items[merged.count++] = x;
        }
    }
    free(a->items);
    free(b->items);
    a->items = b->items = NULL;
    *out = merged;
    return status;
}

/* Estimated matches of a node (for choosing an AND's cheapest child). */
static double mn_plan_size(const mn_plan *plan, uint32_t node) {
    if (mn_filter_node_kind(plan->filter, node) == MN_FILTER_NODE_LEAF && plan->leaves[node].index &&
        !plan->leaves[node].complement) {
        return (double)plan->leaves[node].count;
    }
    return plan->fraction[node] * (double)plan->live + (plan->exact[node] ? 0.0 : 0.5);
}

/* An upper bound on node's matches from exact index counts alone (no sample): a leaf's count
 * (a sum over IN operands only over-counts), an AND's smallest child, an OR's sum; anything
 * else, every live memory. */
static uint64_t mn_plan_bound(const mn_plan *plan, uint32_t node) {
    uint32_t kind = mn_filter_node_kind(plan->filter, node);
    if (kind == MN_FILTER_NODE_LEAF) {
        const mn_leaf_plan *leaf = &plan->leaves[node];
        if (!leaf->index) return plan->live;
        uint64_t n = leaf->count > plan->live ? plan->live : leaf->count;
        if (!leaf->complement) return n;
        return leaf->exact_count ? plan->live - n : plan->live;
    }
    uint32_t children = mn_filter_node_child_count(plan->filter, node);
    if (kind == MN_FILTER_NODE_AND) {
        uint64_t bound = plan->live;
        for (uint32_t i = 0; i < children; i++) {
            uint64_t b = mn_plan_bound(plan, mn_filter_node_child(plan->filter, node, i));
            if (b < bound) bound = b;
        }
        return bound;
    }
    if (kind == MN_FILTER_NODE_OR) {
        uint64_t bound = 0;
        for (uint32_t i = 0; i < children && bound < plan->live; i++) {
            bound += mn_plan_bound(plan, mn_filter_node_child(plan->filter, node, i));
        }
        return bound < plan->live ? bound : plan->live;
    }
    return plan->live;
}

/*
 * A sorted superset of node's matches in the snapshot (plan->candidates[node] must be set);
 * *exact = 1 when it is exactly the matches. Small sets stay sorted buffers: a leaf is
 * collected directly, an AND takes its smallest answerable child's candidates (the others are
 * checked on each candidate's record); a complement, NOT, or an OR with an inexact child goes
 * through bitmaps.
 */
static mn_status mn_plan_candidates(const mn_plan *plan, uint32_t node, mn_labels *out, int *exact) {
    uint32_t kind = mn_filter_node_kind(plan->filter, node);
    out->items = NULL;
    out->count = 0;
    if (kind == MN_FILTER_NODE_LEAF && !plan->leaves[node].complement) {
        *exact = 1;
        return mn_plan_collect_leaf(&plan->leaves[node], out);
    }
    if (kind == MN_FILTER_NODE_AND && mn_filter_node_child_count(plan->filter, node) > 0) {
        uint32_t children = mn_filter_node_child_count(plan->filter, node);
        uint32_t best = UINT32_MAX;
        double best_size = 0.0;
        for (uint32_t i = 0; i < children; i++) {
            uint32_t child = mn_filter_node_child(plan->filter, node, i);
            if (!plan->candidates[child]) continue;
            double size = mn_plan_size(plan, child);
            if (best == UINT32_MAX || size < best_size) {
                best = child;
                best_size = size;
            }
        }
        MN_ASSERT(best != UINT32_MAX);
        mn_status status = mn_plan_candidates(plan, best, out, exact);
        *exact = *exact && children == 1;
        return status;
    }
    if (kind == MN_FILTER_NODE_OR && !plan->exact[node]) {
        uint32_t children = mn_filter_node_child_count(plan->filter, node);
        mn_labels all = {NULL, 0};
        for (uint32_t i = 0; i < children; i++) {
            mn_labels one;
            int ignored = 0;
            mn_status status = mn_plan_candidates(plan, mn_filter_node_child(plan->filter, node, i),
                                                  &one, &ignored);
            if (status == MN_OK) status = mn_labels_union(&all, &one, &all);
            if (status != MN_OK) {
                free(one.items);
                free(all.items);
                return status;
            }
        }
        *out = all;
        *exact = 0;
        return MN_OK;
    }
    /* Exactly answerable: through a bitmap. */
    MN_ASSERT(plan->exact[node]);
    mn_label_bitmap bitmap;
    mn_status status = mn_label_bitmap_init(&bitmap, plan->bits);
    if (status == MN_OK) status = mn_plan_bitmap(plan, node, &bitmap);
    if (status == MN_OK) status = mn_labels_from_bitmap(&bitmap, out);
    mn_label_bitmap_destroy(&bitmap);
    *exact = 1;
    return status;
}

/* The exact number of matches of an exactly answerable filter, from the indexes alone. */
static mn_status mn_plan_count(const mn_plan *plan, uint64_t *count) {
    uint32_t root = mn_filter_root(plan->filter);
    MN_ASSERT(plan->exact[root]);
    if (mn_filter_node_kind(plan->filter, root) == MN_FILTER_NODE_LEAF && plan->leaves[root].exact_count) {
        const mn_leaf_plan *leaf = &plan->leaves[root];
        uint64_t n = leaf->count > plan->live ? plan->live : leaf->count;
        *count = leaf->complement ? plan->live - n : n;
        return MN_OK;
    }
    mn_label_bitmap bitmap;
    mn_status status = mn_label_bitmap_init(&bitmap, plan->bits);
    if (status == MN_OK) status = mn_plan_bitmap(plan, root, &bitmap);
    if (status == MN_OK) *count = mn_label_bitmap_count(&bitmap);
    mn_label_bitmap_destroy(&bitmap);
    return status;
}

static int mn_filter_empty(const mn_filter *filter) {
    return !filter || mn_filter_node_count(filter) == 0;
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

/* The traversal's predicate when the indexes answer the whole filter: a bit test on the
 * matching labels of the plan's snapshot, instead of a record lookup and a document walk per
 * node. A memory written since the snapshot may be judged by its old fields here; every result
 * is checked on its record before it is handed over, as for the document predicate. */
static int mn_label_in_bitmap(uint64_t label, void *context) {
    const mn_label_bitmap *bitmap = context;
    return label < bitmap->bits && ((bitmap->words[label / 64] >> (label % 64)) & 1u);
}

/* Candidates from the indexes, checked on their records unless the set is exact: the labels
 * of the matching memories, ascending. *labels is the candidates' buffer, reused. */
static mn_status mn_plan_matching_labels(const mn_plan *plan, mn_labels *labels, int *exact) {
    mn_status status = mn_plan_candidates(plan, mn_filter_root(plan->filter), labels, exact);
    if (status != MN_OK || *exact) return status;
    size_t kept = 0;
    for (size_t i = 0; i < labels->count; i++) {
        const mn_record *record = mn_space_find_label(plan->space, labels->items[i]);
        if (record && mn_record_matches(plan->filter, record)) labels->items[kept++] = labels->items[i];
    }
    labels->count = kept;
    return MN_OK;
}

/* ---- the last filter bitmap a search built, kept for the next one ---- */

/*
 * The matching labels of one filter the indexes answer whole, computed from one field-index
 * snapshot. Snapshots are immutable and a later one of the space has a larger version, so the
 * bitmap is exact for every search that plans against a snapshot of the same version with the
 * same filter: agents repeat their filters ("kind == fact", one user's tag) between writes.
 * Immutable once published in space->filter_memo, but for its codes; the one it replaces is
 * freed after a grace period, so a search that loaded it inside its read section may go on
 * using it.
 */
struct mn_filter_memo {
    struct rcu_head rcu;
    uint64_t version;
    mn_filter *filter; /* a copy: the caller's is freed after the search */
    mn_label_bitmap bitmap;
    /* After an exact scan: the matching labels with their index slots, so the next scans
     * read just those nodes, with no id table lookups and no walk past the others
     * (mn_hnsw_search_located). NULL after a traversal. */
    mn_hnsw_located *located;
    size_t located_count;
    /* Their compact codes, built by the first search that reuses the memo and again by one
     * that finds them stale after they served (mn_filter_memo_scan); NULL before. */
    _Atomic(struct mn_memo_codes *) codes;
};

/* Codes as a memo holds them: replaced by compare-and-swap, freed after a grace period. */
struct mn_memo_codes {
    struct rcu_head rcu;
    mn_hnsw_codes *codes;
    _Atomic int served; /* a search read them (set once) */
};

static void mn_memo_codes_reclaim(struct rcu_head *head) {
    mn_rcu_grace_acquired();
    struct mn_memo_codes *held = caa_container_of(head, struct mn_memo_codes, rcu);
    mn_hnsw_codes_free(held->codes);
    free(held);
}

void mn_filter_memo_destroy(struct mn_filter_memo *memo) {
    if (!memo) return;
    mn_filter_free(memo->filter);
    mn_label_bitmap_destroy(&memo->bitmap);
    free(memo->located);
    struct mn_memo_codes *held = atomic_load_explicit(&memo->codes, memory_order_acquire);
    if (held) mn_hnsw_codes_free(held->codes);
    free(held);
    free(memo);
}

static void mn_filter_memo_reclaim(struct rcu_head *head) {
    mn_rcu_grace_acquired();
    mn_filter_memo_destroy(caa_container_of(head, struct mn_filter_memo, rcu));
}

/* The space's kept bitmap when it was built for `filter` from the plan's snapshot, else NULL.
 * Inside the caller's read section. */
static struct mn_filter_memo *mn_filter_memo_find(mn_space *space, const mn_plan *plan,
                                                  const mn_filter *filter) {
    struct mn_filter_memo *memo = atomic_load_explicit(&space->filter_memo, memory_order_acquire);
    if (!memo || memo->version != mn_field_snapshot_version(plan->snapshot)) return NULL;
    return mn_filter_same(memo->filter, filter) ? memo : NULL;
}

/* Keeps `bitmap`, built for `filter` from the plan's snapshot, as the space's memo: it is taken
 * over (the caller's is left empty) unless it is over MN_ENGINE_FILTER_MEMO_BYTES_MAX or memory
 * runs out, when nothing changes. `scanned`: the search was an exact scan of `matches`
 * memories; their slots are kept too, within the same bound. Inside the
 * caller's read section (call_rcu needs a registered thread). */
static void mn_filter_memo_keep(mn_space *space, const mn_plan *plan, const mn_filter *filter,
                                mn_label_bitmap *bitmap, int scanned, uint64_t matches) {
    const uint64_t bitmap_bytes = (bitmap->bits + 7) / 8;
    if (bitmap_bytes > MN_ENGINE_FILTER_MEMO_BYTES_MAX) return;
    struct mn_filter_memo *memo = malloc(sizeof(*memo));
    mn_filter *copy = memo ? mn_filter_copy(filter) : NULL;
    if (!copy) {
        free(memo);
        return;
    }
    memo->located = NULL;
    memo->located_count = 0;
    atomic_init(&memo->codes, NULL);
    if (scanned && matches > 0 &&
        bitmap_bytes + matches * sizeof(mn_hnsw_located) <= MN_ENGINE_FILTER_MEMO_BYTES_MAX) {
        /* Room for every set label (each at most once in the index). */
        memo->located = malloc(matches * sizeof(mn_hnsw_located));
        if (memo->located && mn_hnsw_locate(space->index, bitmap->words, bitmap->bits, memo->located, matches,
                                            &memo->located_count) != MN_OK) {
            free(memo->located); /* more present than counted: the bitmap path stays */
            memo->located = NULL;
            memo->located_count = 0;
        }
    }
    memo->version = mn_field_snapshot_version(plan->snapshot);
    memo->filter = copy;
    memo->bitmap = *bitmap;
    bitmap->words = NULL;
    bitmap->bits = 0;
    struct mn_filter_memo *old = atomic_exchange_explicit(&space->filter_memo, memo, memory_order_acq_rel);
    if (old) urcu_memb_call_rcu(&old->rcu, mn_filter_memo_reclaim);
}

/* The exact scan of a kept memo's located matches: through its codes while they hold (else
 * over the slots), and codes built for the next scans when there are none yet, or when the
 * ones there went stale after serving a search (a stream of vector changes builds them once,
 * not at every search). Codes over MN_ENGINE_FILTER_CODES_BYTES_MAX are never built. Inside
 * the caller's read section. */
static mn_status mn_filter_memo_scan(mn_space *space, struct mn_filter_memo *memo, const float *query,
                                     uint32_t dimension, uint32_t k, mn_hnsw_result *results,
                                     uint32_t *count, mn_search_stats *stats) {
    struct mn_memo_codes *held = atomic_load_explicit(&memo->codes, memory_order_acquire);
    int coded = 0;
    mn_status status;
    if (held) {
        status = mn_hnsw_search_codes(space->index, query, dimension, k, held->codes, results, count, &coded);
        if (coded) {
            stats->index_flags |= MN_SEARCH_INDEX_CODES;
            if (!atomic_load_explicit(&held->served, memory_order_relaxed))
                atomic_store_explicit(&held->served, 1, memory_order_relaxed);
        }
    } else {
        status = mn_hnsw_search_located(space->index, query, dimension, k, memo->located,
                                        memo->located_count, results, count);
    }
    if (status != MN_OK || coded || (held && !atomic_load_explicit(&held->served, memory_order_relaxed)) ||
        memo->located_count * (uint64_t)dimension > MN_ENGINE_FILTER_CODES_BYTES_MAX)
        return status;
    struct mn_memo_codes *fresh = malloc(sizeof(*fresh));
    if (!fresh) return MN_OK; /* the search is done; codes are only a speed-up */
    atomic_init(&fresh->served, 0);
    if (mn_hnsw_codes_build(space->index, memo->located, memo->located_count, &fresh->codes) != MN_OK) {
        free(fresh);
        return MN_OK;
    }
    if (atomic_compare_exchange_strong_explicit(&memo->codes, &held, fresh, memory_order_acq_rel,
                                                memory_order_acquire)) {
        if (held) urcu_memb_call_rcu(&held->rcu, mn_memo_codes_reclaim);
    } else {
        mn_hnsw_codes_free(fresh->codes); /* another search's won; this one was never seen */
        free(fresh);
    }
    return MN_OK;
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
    mn_hnsw_result stack_results[MN_ENGINE_SEARCH_STACK_K];
    mn_hnsw_result *results = NULL;
    uint32_t beam = 0;
    mn_status prepared = mn_space_search_prepare(space, k, ef, stack_results, &results, &beam);
    if (prepared != MN_OK) return prepared;
    uint32_t count = 0;
    uint64_t *labels = NULL;
    mn_labels collected = {NULL, 0};
    mn_matches matches = {NULL, 0, 0};
    mn_label_bitmap bitmap = {NULL, 0};
    mn_plan plan;
    memset(&plan, 0, sizeof(plan));
    int planned = 0;
    mn_status status = MN_OK;
    mn_rcu_read_lock();
    uint64_t live = atomic_load_explicit(&space->count, memory_order_relaxed);
    if (mn_filter_empty(filter)) {
        stats->estimated_matches = live;
    } else {
        /* First from the indexes alone: when their exact counts bound the matches under the
         * scan threshold, the strategy is decided and no record is sampled. */
        status = mn_plan_make(space, filter, 0, &plan);
        if (status != MN_OK) goto done;
        planned = 1;
        live = plan.live;
        uint32_t root = mn_filter_root(filter);
        uint64_t bound = mn_plan_bound(&plan, root);
        double fraction = plan.fraction[root];
        if (plan.unsampled && bound > MN_HNSW_FILTER_SCAN_MATCHES_MAX &&
            bound > live / MN_HNSW_FILTER_SCAN_FRACTION_DIVISOR) {
            mn_plan_free(&plan);
            status = mn_plan_make(space, filter, 1, &plan);
            if (status != MN_OK) goto done;
            live = plan.live;
            fraction = plan.fraction[root];
        }
        if (fraction < 0.0) fraction = 0.0;
        if (fraction > 1.0) fraction = 1.0;
        stats->estimated_matches = (uint64_t)(fraction * (double)live + 0.5);
        if (stats->estimated_matches > bound) stats->estimated_matches = bound;
        stats->sampled = plan.sampled;
        stats->index_leaves = plan.indexed_leaves;
        if (plan.indexed_leaves > 0) stats->index_flags |= MN_SEARCH_INDEX_ESTIMATE;
    }
    stats->live = live;
    int scan = stats->estimated_matches <= MN_HNSW_FILTER_SCAN_MATCHES_MAX ||
               stats->estimated_matches <= live / MN_HNSW_FILTER_SCAN_FRACTION_DIVISOR;
    /* A bitmap costs its words (one per 64 labels of the space) to clear and walk: for a
     * handful of matches the sorted list below is cheaper. */
    int exact_set = planned && plan.exact[mn_filter_root(filter)] &&
                    mn_plan_bound(&plan, mn_filter_root(filter)) * MN_ENGINE_FILTER_BITMAP_DIVISOR >= plan.bits;
    /* The indexes answer the whole filter: its matching labels as one bitmap (no list, no
     * sort), scanned or tested per node by the traversal; the one kept from an earlier search
     * with this filter and snapshot, else built now (and kept once the search is done). */
    const mn_label_bitmap *matching = NULL;
    struct mn_filter_memo *memo = NULL;
    if (exact_set) {
        memo = mn_filter_memo_find(space, &plan, filter);
        if (memo) {
            matching = &memo->bitmap;
            stats->index_flags |= MN_SEARCH_INDEX_REUSED;
        } else {
            status = mn_label_bitmap_init(&bitmap, plan.bits);
            if (status == MN_OK) status = mn_plan_bitmap(&plan, mn_filter_root(filter), &bitmap);
            if (status != MN_OK) goto done;
            matching = &bitmap;
        }
    }
    if (scan && exact_set) {
        stats->strategy = MN_SEARCH_STRATEGY_EXACT_SCAN;
        stats->index_flags |= MN_SEARCH_INDEX_COLLECT | MN_SEARCH_INDEX_EXACT;
        /* An exactly counted leaf knows its size; anything else is counted on the bitmap. */
        uint32_t root = mn_filter_root(filter);
        const mn_leaf_plan *leaf = &plan.leaves[root];
        if (mn_filter_node_kind(filter, root) == MN_FILTER_NODE_LEAF && leaf->exact_count) {
            uint64_t n = leaf->count > plan.live ? plan.live : leaf->count;
            stats->matches = leaf->complement ? plan.live - n : n;
        } else {
            stats->matches = mn_label_bitmap_count(matching);
        }
        if (memo && memo->located) {
            status = mn_filter_memo_scan(space, memo, query, dimension, k, results, &count, stats);
        } else {
            status = mn_hnsw_search_id_bitmap(space->index, query, dimension, k, matching->words,
                                              matching->bits, stats->matches, results, &count);
        }
    } else if (scan && planned && plan.candidates[mn_filter_root(filter)]) {
        /* The matching labels from the indexes: no walk of the records. */
        stats->strategy = MN_SEARCH_STRATEGY_EXACT_SCAN;
        int exact = 0;
        status = mn_plan_matching_labels(&plan, &collected, &exact);
        if (status != MN_OK) goto done;
        stats->index_flags |= MN_SEARCH_INDEX_COLLECT | (exact ? MN_SEARCH_INDEX_EXACT : 0u);
        stats->matches = collected.count;
        status = mn_hnsw_search_ids(space->index, query, dimension, k, collected.items,
                                    collected.count, results, &count);
    } else if (scan) {
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
        if (exact_set) {
            stats->index_flags |= MN_SEARCH_INDEX_BITMAP;
            status = mn_hnsw_search_filtered(space->index, query, dimension, k, beam,
                                             mn_label_in_bitmap, (void *)matching, results, &count,
                                             &stats->index);
        } else {
            status = mn_hnsw_search_filtered(space->index, query, dimension, k, beam,
                                             mn_label_matches, &probe, results, &count,
                                             &stats->index);
        }
        stats->matches = stats->index.matches;
    }
    if (status != MN_OK) goto done;
    uint32_t visited = 0;
    for (uint32_t start = 0; start < count; start += MN_ENGINE_SEARCH_STACK_K) {
        /* The lookups of a chunk first, each record requested as it is found, then the checks
         * and visits: the lookups do not wait on each other's misses (a result's record is a
         * few cache misses away: table, node, record, document). */
        const uint32_t chunk = count - start < MN_ENGINE_SEARCH_STACK_K ? count - start : MN_ENGINE_SEARCH_STACK_K;
        const mn_record *records[MN_ENGINE_SEARCH_STACK_K];
        for (uint32_t i = 0; i < chunk; i++) {
            records[i] = mn_space_find_label(space, results[start + i].id);
            if (records[i]) __builtin_prefetch(mn_record_metadata(records[i]));
        }
        for (uint32_t i = 0; i < chunk; i++) {
            const mn_record *record = records[i];
            if (!record) continue; /* mid-upsert or mid-delete: not a memory at this instant */
            /* Checked again on the record handed over: a patch since the check above (or since
             * the index snapshot) may have taken it out of the filter. */
            if (!mn_record_matches(filter, record)) continue;
            visited++;
            if (!visit) continue;
            mn_memory_view view = mn_record_view(record, results[start + i].distance);
            visit(context, &view);
        }
    }
    *found = visited;
    if (bitmap.words)
        mn_filter_memo_keep(space, &plan, filter, &bitmap, stats->strategy == MN_SEARCH_STRATEGY_EXACT_SCAN,
                            stats->matches);
done:
    mn_rcu_read_unlock();
    mn_plan_free(&plan);
    mn_label_bitmap_destroy(&bitmap);
    free(collected.items);
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
    mn_status status = MN_OK;
    mn_plan plan;
    memset(&plan, 0, sizeof(plan));
    mn_labels collected = {NULL, 0};
    mn_rcu_read_lock();
    /* No filter: createdAt's count is the live memories. */
    int empty = mn_filter_empty(filter);
    if (!empty) status = mn_plan_make(space, filter, 0, &plan);
    uint32_t root = empty ? 0 : mn_filter_root(filter);
    if (status != MN_OK) {
        /* planning failed: nothing counted */
    } else if (empty || plan.exact[root]) {
        /* Answered by the indexes alone, from one snapshot. */
        if (empty) {
            mn_field_index_info created;
            mn_field_index_describe(
                mn_field_snapshot_created_at(mn_field_indexes_snapshot(space->fields)), &created);
            n = created.entries;
        } else {
            status = mn_plan_count(&plan, &n);
        }
    } else if (plan.candidates[root]) {
        int exact = 0;
        status = mn_plan_matching_labels(&plan, &collected, &exact);
        n = collected.count;
    } else {
        /* The id table, not the label table: it holds each memory once even while a record
         * is being replaced (mn_space_free walks it for the same reason). */
        struct cds_lfht_iter iter;
        mn_record *record;
        cds_lfht_for_each_entry(space->by_id, &iter, record, id_node) {
            MN_TSAN_OBSERVE(record);
            n += (uint64_t)mn_record_matches(filter, record);
        }
    }
    mn_rcu_read_unlock();
    mn_plan_free(&plan);
    free(collected.items);
    if (status == MN_OK) *count = n;
    return status;
}

static int mn_match_less(const void *a, const void *b) {
    uint64_t x = ((const mn_match *)a)->label, y = ((const mn_match *)b)->label;
    return (x > y) - (x < y);
}

/* The first position in a sorted set whose label is above `cursor`. */
static size_t mn_labels_after(const mn_labels *labels, uint64_t cursor) {
    size_t lo = 0, hi = labels->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (labels->items[mid] <= cursor) lo = mid + 1;
        else hi = mid;
    }
    return lo;
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
    mn_labels candidates = {NULL, 0};
    mn_plan plan;
    memset(&plan, 0, sizeof(plan));
    mn_status status = MN_OK;
    mn_rcu_read_lock();
    int indexed = 0;
    if (!mn_filter_empty(filter)) {
        status = mn_plan_make(space, filter, 0, &plan);
        indexed = status == MN_OK && plan.candidates[mn_filter_root(filter)];
    }
    if (status == MN_OK && indexed) {
        /* Candidates in label order from the indexes: only the page's records are read. */
        int exact = 0;
        status = mn_plan_candidates(&plan, mn_filter_root(filter), &candidates, &exact);
        for (size_t i = mn_labels_after(&candidates, cursor);
             status == MN_OK && i < candidates.count && matches.count < limit; i++) {
            mn_record *record = mn_space_find_label(space, candidates.items[i]);
            /* Checked on the record listed, exact set or not (a write since the snapshot). */
            if (!record || !mn_record_matches(filter, record)) continue;
            status = mn_matches_push(&matches, record);
        }
    } else if (status == MN_OK) {
        struct cds_lfht_iter iter;
        mn_record *record;
        cds_lfht_for_each_entry(space->by_id, &iter, record, id_node) {
            MN_TSAN_OBSERVE(record);
            /* Labels start at 1 (mn_engine_space.c), so cursor 0 lists from the first. */
            if (record->label <= cursor || !mn_record_matches(filter, record)) continue;
            status = mn_matches_push(&matches, record);
            if (status != MN_OK) break;
        }
        if (status == MN_OK && matches.count > 1) {
            qsort(matches.items, matches.count, sizeof(mn_match), mn_match_less);
        }
    }
    if (status == MN_OK) {
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
    mn_plan_free(&plan);
    free(candidates.items);
    free(matches.items);
    return status;
}

/* ---- delete by filter (the runner) ---- */

mn_status mn_space_filter_records(struct mn_space *space, const mn_filter *filter,
                                  mn_record ***out, size_t *count) {
    *out = NULL;
    *count = 0;
    mn_record **records = NULL;
    size_t n = 0, capacity = 0;
    mn_plan plan;
    memset(&plan, 0, sizeof(plan));
    mn_labels candidates = {NULL, 0};
    mn_status status = MN_OK;
    int indexed = 0;
    mn_rcu_read_lock();
    if (!mn_filter_empty(filter)) {
        status = mn_plan_make(space, filter, 0, &plan);
        indexed = status == MN_OK && plan.candidates[mn_filter_root(filter)];
    }
    if (status == MN_OK && indexed) {
        int exact = 0;
        status = mn_plan_candidates(&plan, mn_filter_root(filter), &candidates, &exact);
        if (status == MN_OK && candidates.count > 0) {
            records = malloc(candidates.count * sizeof(mn_record *));
            if (!records) status = MN_ERR_NO_MEMORY;
        }
        for (size_t i = 0; status == MN_OK && i < candidates.count; i++) {
            mn_record *record = mn_space_find_label(space, candidates.items[i]);
            /* The runner's own snapshot: every candidate is a memory; checked all the same. */
            if (record && mn_record_matches(filter, record)) records[n++] = record;
        }
    } else if (status == MN_OK) {
        struct cds_lfht_iter iter;
        mn_record *record;
        cds_lfht_for_each_entry(space->by_id, &iter, record, id_node) {
            MN_TSAN_OBSERVE(record);
            if (!mn_record_matches(filter, record)) continue;
            if (n == capacity) {
                size_t grown = capacity ? capacity * 2 : 64;
                mn_record **bigger = realloc(records, grown * sizeof(*records));
                if (!bigger) {
                    status = MN_ERR_NO_MEMORY;
                    break;
                }
                records = bigger;
                capacity = grown;
            }
            records[n++] = record;
        }
    }
    mn_rcu_read_unlock();
    mn_plan_free(&plan);
    free(candidates.items);
    if (status != MN_OK) {
        free(records);
        return status;
    }
    *out = records;
    *count = n;
    return MN_OK;
}
