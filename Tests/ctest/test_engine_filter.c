/*
 * test_engine_filter.c: filtered reads of an engine space (mn_space_search_filtered,
 * mn_space_count_filtered, mn_space_list_filtered) against a brute-force oracle in this file.
 *
 * Proves: (1) at selectivities 0.5, 0.1, 0.01 and 0.001 (the attribute trick of
 * test_hnsw_filter: memory i has attr = (i * 7919) mod 1000, so "attr < 1000 s" matches exactly
 * the fraction s) every result matches, results are nearest first, and recall@10 against the
 * exact filtered top 10 (distances computed here) is at least 0.95; the planner picks the
 * traversal at 0.5 and the exact scan at 0.01 and 0.001, and reports the scan's exact match
 * count; (2) random filters over random metadata (strings, lists, numbers, bools, absent
 * fields, id and createdAt; $and/$or/$not), written as JSON text, never give a non-matching
 * result, give min(k, matches) results, count exactly and list exactly in label order through
 * cursor pages; (3) the empty filter and NULL behave as "every memory"; (4)
 * mn_space_delete_filtered deletes exactly the matches as one write (a bad filter is refused
 * with nothing queued), and a durable engine replays it from its log on reopen; (5) with field
 * indexes created on attr, kind, tags, level and flag (mn_space_index_create) every answer of
 * (1) to (3) is the same: the leaves on indexed fields are counted exactly (no sampling: the
 * estimate equals the match count of a one-leaf filter), the exact scan collects its matches
 * from the indexes (and when the whole filter is indexable, exactly), count, list and the scan
 * agree with the oracle, and a delete by filter collects from the indexes too.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/mn_filter.h"
#include "mnemo/mn_meta.h"
#include "mn_test_dir.h"
#include "test_durable_support.h"
#include "test_engine_support.h"

#define DIM 16u
#define N 10000u
#define K 10u
#define QUERIES 40u
#define ATTR_MODULUS 1000u
#define CREATED_BASE 1700000000000000000ll
#define CREATED_STEP 1000ll
#define RANDOM_FILTERS 150u

static const char *const KINDS[3] = {"fact", "chat", "pref"};
static const char *const TAGS[4] = {"x", "y", "z", "w"};

/* The test's own copy of every memory's fields (the oracle's input). */
typedef struct memory {
    uint32_t attr;
    int has_kind;
    uint32_t kind;
    uint32_t tag_mask; /* bit t: TAGS[t] is in the list */
    int has_tags;
    int64_t level;     /* int field, present when has_level */
    int has_level;
    int flag;          /* bool field, always present */
    int64_t created;
    char id[16];
} memory;

static memory memories[N];
static float vectors[N * DIM];

static uint32_t attr_of(uint32_t i) { return (uint32_t)((i * 7919ull) % ATTR_MODULUS); }

/* ---- building the space ---- */

static void build_doc(const memory *m, void **bytes, size_t *size) {
    mn_meta_builder *b = NULL;
    if (mn_meta_builder_create(&b) != MN_OK) exit(2);
    mn_meta_builder_add_int(b, "attr", 4, m->attr);
    if (m->has_kind) mn_meta_builder_add_string(b, "kind", 4, KINDS[m->kind], 4);
    if (m->has_tags) {
        const char *items[4];
        uint32_t lengths[4], n = 0;
        for (uint32_t t = 0; t < 4; t++) {
            if (m->tag_mask & (1u << t)) {
                items[n] = TAGS[t];
                lengths[n++] = 1;
            }
        }
        mn_meta_builder_add_strings(b, "tags", 4, items, lengths, n);
    }
    if (m->has_level) mn_meta_builder_add_int(b, "level", 5, m->level);
    mn_meta_builder_add_bool(b, "flag", 4, m->flag);
    if (mn_meta_builder_finish(b, bytes, size, NULL) != MN_OK) exit(2);
    mn_meta_builder_destroy(b);
}

static mn_space *build_space(mn_engine *engine) {
    mn_space *space = te_space(engine, "f", DIM, MN_METRIC_L2);
    uint64_t state = 12345;
    char *ids = malloc((size_t)N * 16);
    uint64_t *id_offsets = malloc((N + 1) * sizeof(uint64_t));
    uint64_t *content_offsets = calloc(N + 1, sizeof(uint64_t));
    uint64_t *meta_offsets = malloc((N + 1) * sizeof(uint64_t));
    int64_t *created = malloc(N * sizeof(int64_t));
    uint8_t *packed = malloc((size_t)N * 128);
    if (!ids || !id_offsets || !content_offsets || !meta_offsets || !created || !packed) exit(2);
    size_t id_at = 0, meta_at = 0;
    id_offsets[0] = 0;
    meta_offsets[0] = 0;
    for (uint32_t i = 0; i < N; i++) {
        memory *m = &memories[i];
        m->attr = attr_of(i);
        m->has_kind = te_next(&state) % 5 != 0;
        m->kind = (uint32_t)(te_next(&state) % 3);
        m->has_tags = te_next(&state) % 4 != 0;
        m->tag_mask = (uint32_t)(te_next(&state) % 16);
        m->has_level = te_next(&state) % 2 == 0;
        m->level = (int64_t)(te_next(&state) % 100) - 50;
        m->flag = (int)(te_next(&state) % 2);
        m->created = CREATED_BASE + (int64_t)i * CREATED_STEP;
        snprintf(m->id, sizeof(m->id), "m%05u", i);
        te_vector(i + 1, vectors + (size_t)i * DIM, DIM);
        size_t len = strlen(m->id);
        memcpy(ids + id_at, m->id, len);
        id_at += len;
        id_offsets[i + 1] = id_at;
        created[i] = m->created;
        void *doc = NULL;
        size_t size = 0;
        build_doc(m, &doc, &size);
        if (size > 128) exit(2);
        memcpy(packed + meta_at, doc, size);
        meta_at += size;
        meta_offsets[i + 1] = meta_at;
        mn_meta_free(doc);
    }
    mn_batch_in batch = {N, DIM, vectors, ids, id_offsets, NULL, content_offsets, created};
    te_wait w;
    te_wait_init(&w);
    size_t failed = 0;
    CHECK_STATUS(mn_space_insert_batch_meta(space, &batch, packed, meta_offsets, MN_SUBMIT_WAIT,
                                            te_wait_done, &w, &failed, NULL),
                 MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    free(ids);
    free(id_offsets);
    free(content_offsets);
    free(meta_offsets);
    free(created);
    free(packed);
    return space;
}

/* ---- random filters: a tree rendered as JSON and evaluated by the oracle ---- */

enum { F_AND, F_OR, F_NOT, F_KIND_EQ, F_KIND_NE, F_KIND_IN, F_TAG, F_TAG_NIN, F_LEVEL_GTE,
       F_LEVEL_LT, F_ATTR_LT, F_FLAG, F_LEVEL_EXISTS, F_ID_LT, F_CREATED_GTE, F_LEAF_KINDS };

typedef struct fnode {
    int kind;
    int64_t value;
    struct fnode *child[3];
    int children;
} fnode;

static fnode *fnode_random(uint64_t *state, int depth) {
    fnode *n = calloc(1, sizeof(fnode));
    if (!n) exit(2);
    int logical = depth < 3 && te_next(state) % 3 == 0;
    if (logical) {
        n->kind = (int)(te_next(state) % 3);
        n->children = n->kind == F_NOT ? 1 : 2 + (int)(te_next(state) % 2);
        for (int c = 0; c < n->children; c++) n->child[c] = fnode_random(state, depth + 1);
        return n;
    }
    n->kind = F_KIND_EQ + (int)(te_next(state) % (F_LEAF_KINDS - F_KIND_EQ));
    switch (n->kind) {
    case F_KIND_EQ: case F_KIND_NE: n->value = (int64_t)(te_next(state) % 3); break;
    case F_KIND_IN: n->value = (int64_t)(1 + te_next(state) % 7); break; /* a mask of KINDS */
    case F_TAG: case F_TAG_NIN: n->value = (int64_t)(te_next(state) % 4); break;
    case F_LEVEL_GTE: case F_LEVEL_LT: n->value = (int64_t)(te_next(state) % 100) - 50; break;
    case F_ATTR_LT: n->value = (int64_t)(te_next(state) % 1001); break;
    case F_FLAG: n->value = (int64_t)(te_next(state) % 2); break;
    case F_LEVEL_EXISTS: n->value = (int64_t)(te_next(state) % 2); break;
    case F_ID_LT: n->value = (int64_t)(te_next(state) % N); break;
    case F_CREATED_GTE: n->value = (int64_t)(te_next(state) % N); break;
    default: break;
    }
    return n;
}

static void fnode_free(fnode *n) {
    for (int c = 0; c < n->children; c++) fnode_free(n->child[c]);
    free(n);
}

static void json_append(char *out, size_t cap, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void json_append(char *out, size_t cap, const char *format, ...) {
    size_t used = strlen(out);
    va_list args;
    va_start(args, format);
    vsnprintf(out + used, cap - used, format, args);
    va_end(args);
}

static void fnode_json(const fnode *n, char *out, size_t cap) {
    switch (n->kind) {
    case F_AND: case F_OR:
        json_append(out, cap, "{\"%s\": [", n->kind == F_AND ? "$and" : "$or");
        for (int c = 0; c < n->children; c++) {
            if (c) json_append(out, cap, ", ");
            fnode_json(n->child[c], out, cap);
        }
        json_append(out, cap, "]}");
        break;
    case F_NOT:
        json_append(out, cap, "{\"$not\": ");
        fnode_json(n->child[0], out, cap);
        json_append(out, cap, "}");
        break;
    case F_KIND_EQ: json_append(out, cap, "{\"kind\": \"%s\"}", KINDS[n->value]); break;
    case F_KIND_NE: json_append(out, cap, "{\"kind\": {\"$ne\": \"%s\"}}", KINDS[n->value]); break;
    case F_KIND_IN: {
        json_append(out, cap, "{\"kind\": {\"$in\": [");
        int first = 1;
        for (int k = 0; k < 3; k++) {
            if (!(n->value & (1 << k))) continue;
            json_append(out, cap, "%s\"%s\"", first ? "" : ", ", KINDS[k]);
            first = 0;
        }
        json_append(out, cap, "]}}");
        break;
    }
    case F_TAG: json_append(out, cap, "{\"tags\": {\"$contains\": \"%s\"}}", TAGS[n->value]); break;
    case F_TAG_NIN: json_append(out, cap, "{\"tags\": {\"$nin\": [\"%s\"]}}", TAGS[n->value]); break;
    case F_LEVEL_GTE: json_append(out, cap, "{\"level\": {\"$gte\": %lld}}", (long long)n->value); break;
    case F_LEVEL_LT: json_append(out, cap, "{\"level\": {\"$lt\": %.1f}}", (double)n->value + 0.5); break;
    case F_ATTR_LT: json_append(out, cap, "{\"attr\": {\"$lt\": %lld}}", (long long)n->value); break;
    case F_FLAG: json_append(out, cap, "{\"flag\": %s}", n->value ? "true" : "false"); break;
    case F_LEVEL_EXISTS: json_append(out, cap, "{\"level\": {\"$exists\": %s}}", n->value ? "true" : "false"); break;
    case F_ID_LT: json_append(out, cap, "{\"id\": {\"$lt\": \"m%05lld\"}}", (long long)n->value); break;
    case F_CREATED_GTE:
        json_append(out, cap, "{\"createdAt\": {\"$gte\": %lld}}",
                    (long long)(CREATED_BASE + n->value * CREATED_STEP));
        break;
    default: break;
    }
}

static int fnode_eval(const fnode *n, const memory *m) {
    switch (n->kind) {
    case F_AND:
        for (int c = 0; c < n->children; c++) if (!fnode_eval(n->child[c], m)) return 0;
        return 1;
    case F_OR:
        for (int c = 0; c < n->children; c++) if (fnode_eval(n->child[c], m)) return 1;
        return 0;
    case F_NOT: return !fnode_eval(n->child[0], m);
    case F_KIND_EQ: return m->has_kind && m->kind == (uint32_t)n->value;
    case F_KIND_NE: return !(m->has_kind && m->kind == (uint32_t)n->value);
    case F_KIND_IN: return m->has_kind && (n->value & (1 << m->kind)) != 0;
    case F_TAG: return m->has_tags && (m->tag_mask & (1u << n->value)) != 0;
    case F_TAG_NIN: return !(m->has_tags && (m->tag_mask & (1u << n->value)) != 0);
    case F_LEVEL_GTE: return m->has_level && m->level >= n->value;
    case F_LEVEL_LT: return m->has_level && (double)m->level < (double)n->value + 0.5;
    case F_ATTR_LT: return (int64_t)m->attr < n->value;
    case F_FLAG: return m->flag == (int)n->value;
    case F_LEVEL_EXISTS: return m->has_level == (int)n->value;
    case F_ID_LT: {
        char bound[16];
        snprintf(bound, sizeof(bound), "m%05lld", (long long)n->value);
        return strcmp(m->id, bound) < 0;
    }
    case F_CREATED_GTE: return m->created >= CREATED_BASE + n->value * CREATED_STEP;
    default: return 0;
    }
}

/* ---- the oracle's top k and what a search returned ---- */

static float l2(const float *a, const float *b) {
    float s = 0.0f;
    for (uint32_t d = 0; d < DIM; d++) s += (a[d] - b[d]) * (a[d] - b[d]);
    return s;
}

typedef struct hit {
    uint32_t index;
    float distance;
} hit;

static int hit_less(const void *a, const void *b) {
    const hit *x = a, *y = b;
    if (x->distance != y->distance) return x->distance < y->distance ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* The exact filtered top k (match[i]: memory i matches); returns how many. */
static uint32_t oracle_top(const float *query, const uint8_t *match, uint32_t k, uint32_t *out) {
    static hit all[N];
    uint32_t n = 0;
    for (uint32_t i = 0; i < N; i++) {
        if (!match[i]) continue;
        all[n].index = i;
        all[n].distance = l2(query, vectors + (size_t)i * DIM);
        n++;
    }
    qsort(all, n, sizeof(hit), hit_less);
    uint32_t top = n < k ? n : k;
    for (uint32_t i = 0; i < top; i++) out[i] = all[i].index;
    return top;
}

typedef struct got {
    uint32_t count;
    uint32_t index[64];
    float distance[64];
    int bad_id;
} got;

static void visit_got(void *context, const mn_memory_view *view) {
    got *g = context;
    uint32_t i = 0;
    if (view->id_bytes != 6 || view->id[0] != 'm' || sscanf(view->id + 1, "%5u", &i) != 1 || i >= N) {
        g->bad_id = 1;
        return;
    }
    if (g->count < 64) {
        g->index[g->count] = i;
        g->distance[g->count] = view->distance;
    }
    g->count++;
}

static mn_filter *parse(const char *json) {
    mn_filter *filter = NULL;
    mn_filter_error error;
    mn_status status = mn_filter_parse(json, strlen(json), &filter, &error);
    if (status != MN_OK) {
        fprintf(stderr, "parse %s: %s\n", json, mn_status_string(status));
        exit(2);
    }
    return filter;
}

/* Searches with `filter`, checks every result against match[], the order and the count, and
 * returns the hits of the oracle's top k it found. */
static uint32_t search_check(mn_space *space, const float *query, const mn_filter *filter,
                             const uint8_t *match, uint32_t matches, uint32_t ef,
                             mn_search_stats *stats, uint32_t *expected) {
    got g;
    memset(&g, 0, sizeof(g));
    uint32_t found = 0;
    CHECK_STATUS(mn_space_search_filtered(space, query, DIM, K, ef, filter, visit_got, &g,
                                          &found, stats),
                 MN_OK);
    CHECK(!g.bad_id && g.count == found);
    uint32_t want = matches < K ? matches : K;
    CHECK(found == want);
    for (uint32_t r = 0; r < found && r < 64; r++) {
        CHECK(match[g.index[r]]);
        if (r) CHECK(g.distance[r] >= g.distance[r - 1]);
    }
    uint32_t truth[K];
    uint32_t top = oracle_top(query, match, K, truth);
    *expected = top;
    uint32_t hits = 0;
    for (uint32_t t = 0; t < top; t++) {
        for (uint32_t r = 0; r < found && r < 64; r++) {
            if (g.index[r] == truth[t]) {
                hits++;
                break;
            }
        }
    }
    return hits;
}

/* ---- the tests ---- */

static int indexed; /* the space has its field indexes (part (5)) */

static void test_selectivities(mn_space *space) {
    static const double selectivity[4] = {0.5, 0.1, 0.01, 0.001};
    static uint8_t match[N];
    for (int s = 0; s < 4; s++) {
        uint32_t threshold = (uint32_t)(selectivity[s] * ATTR_MODULUS + 0.5);
        char json[64];
        snprintf(json, sizeof(json), "{\"attr\": {\"$lt\": %u}}", threshold);
        mn_filter *filter = parse(json);
        uint32_t matches = 0;
        for (uint32_t i = 0; i < N; i++) matches += match[i] = memories[i].attr < threshold;
        CHECK(matches == (uint32_t)(selectivity[s] * N + 0.5));
        uint64_t hits = 0, expected = 0;
        uint32_t strategy = 0, mixed = 0;
        for (uint32_t q = 0; q < QUERIES; q++) {
            float query[DIM];
            te_vector(1000000 + q, query, DIM);
            mn_search_stats stats;
            uint32_t want = 0;
            hits += search_check(space, query, filter, match, matches, 64, &stats, &want);
            expected += want;
            if (q == 0) strategy = stats.strategy;
            mixed |= stats.strategy != strategy;
            CHECK(stats.live == N);
            if (!indexed) {
                CHECK(stats.sampled == MN_ENGINE_FILTER_SAMPLE_MAX && stats.index_flags == 0);
            } else {
                /* attr is indexed: counted, not sampled, and exactly. */
                CHECK(stats.sampled == 0 && stats.index_leaves == 1);
                CHECK((stats.index_flags & MN_SEARCH_INDEX_ESTIMATE) != 0);
                CHECK(stats.estimated_matches == matches);
                if (stats.strategy == MN_SEARCH_STRATEGY_EXACT_SCAN) {
                    CHECK((stats.index_flags & MN_SEARCH_INDEX_COLLECT) != 0);
                    CHECK((stats.index_flags & MN_SEARCH_INDEX_EXACT) != 0);
                }
            }
            if (stats.strategy == MN_SEARCH_STRATEGY_EXACT_SCAN) CHECK(stats.matches == matches);
        }
        double recall = (double)hits / (double)expected;
        printf("selectivity %.3f: strategy %s, recall@10 %.4f\n", selectivity[s],
               strategy == MN_SEARCH_STRATEGY_EXACT_SCAN ? "scan" : "traversal", recall);
        CHECK(recall >= 0.95);
        CHECK(!mixed); /* the plan depends on the space and the filter, not the query */
        if (s == 0) CHECK(strategy == MN_SEARCH_STRATEGY_TRAVERSAL);
        if (s >= 2) CHECK(strategy == MN_SEARCH_STRATEGY_EXACT_SCAN);
        uint64_t count = 0;
        CHECK_STATUS(mn_space_count_filtered(space, filter, &count), MN_OK);
        CHECK(count == matches);
        mn_filter_free(filter);
    }
}

/* Lists every match through pages of `limit`, checking label (= insertion) order. */
static uint32_t list_all(mn_space *space, const mn_filter *filter, uint32_t limit,
                         const uint8_t *match) {
    uint64_t cursor = 0;
    uint32_t total = 0, last = 0, pages = 0;
    int first = 1;
    for (;;) {
        got g;
        memset(&g, 0, sizeof(g));
        uint32_t found = 0;
        uint64_t next = 0;
        CHECK_STATUS(mn_space_list_filtered(space, filter, cursor, limit, visit_got, &g, &found,
                                            &next),
                     MN_OK);
        CHECK(!g.bad_id && g.count == found && found <= limit);
        for (uint32_t r = 0; r < found && r < 64; r++) {
            CHECK(match[g.index[r]]);
            CHECK(first || g.index[r] > last);
            first = 0;
            last = g.index[r];
        }
        total += found;
        if (found < limit || ++pages > N) break;
        CHECK(next > cursor);
        cursor = next;
    }
    return total;
}

static void test_random_filters(mn_space *space) {
    static uint8_t match[N];
    uint64_t state = 777;
    uint64_t hits = 0, expected = 0;
    uint32_t scans = 0, traversals = 0, collected = 0, exact = 0;
    for (uint32_t f = 0; f < RANDOM_FILTERS; f++) {
        int failed_before = te_failed;
        fnode *tree = fnode_random(&state, 1);
        char json[4096] = {0};
        fnode_json(tree, json, sizeof(json));
        mn_filter *filter = parse(json);
        uint32_t matches = 0;
        for (uint32_t i = 0; i < N; i++) matches += match[i] = (uint8_t)fnode_eval(tree, &memories[i]);
        float query[DIM];
        te_vector(2000000 + f, query, DIM);
        mn_search_stats stats;
        uint32_t want = 0;
        uint32_t h = search_check(space, query, filter, match, matches, 64, &stats, &want);
        hits += h;
        expected += want;
        scans += stats.strategy == MN_SEARCH_STRATEGY_EXACT_SCAN;
        traversals += stats.strategy == MN_SEARCH_STRATEGY_TRAVERSAL;
        if (stats.strategy == MN_SEARCH_STRATEGY_EXACT_SCAN) CHECK(h == want); /* exact */
        /* Before part (5) only createdAt, which every space indexes, is counted. */
        if (!indexed && !strstr(json, "createdAt")) CHECK(stats.index_flags == 0);
        collected += (stats.index_flags & MN_SEARCH_INDEX_COLLECT) != 0;
        exact += (stats.index_flags & MN_SEARCH_INDEX_EXACT) != 0;
        /* The scan's match count is exact whether or not the indexes gave the candidates. */
        if (stats.strategy == MN_SEARCH_STRATEGY_EXACT_SCAN) CHECK(stats.matches == matches);
        uint64_t count = 0;
        CHECK_STATUS(mn_space_count_filtered(space, filter, &count), MN_OK);
        CHECK(count == matches);
        if (f % 10 == 0) CHECK(list_all(space, filter, 1 + f % 53, match) == matches);
        if (te_failed > failed_before) fprintf(stderr, "filter %u: %s (%u matches)\n", f, json, matches);
        mn_filter_free(filter);
        fnode_free(tree);
    }
    double recall = expected ? (double)hits / (double)expected : 1.0;
    printf("random filters%s: %u scans (%u from indexes, %u exactly), %u traversals, "
           "recall@10 %.4f\n", indexed ? " (indexed)" : "", scans, collected, exact, traversals,
           recall);
    CHECK(recall >= 0.95);
    CHECK(scans > 0 && traversals > 0);
    if (indexed) CHECK(collected > 0 && exact > 0);
}

static void test_all(mn_space *space) {
    static uint8_t match[N];
    memset(match, 1, sizeof(match));
    mn_filter *empty = parse("{}");
    float query[DIM];
    te_vector(3000000, query, DIM);
    mn_search_stats stats;
    uint32_t want = 0;
    uint32_t h = search_check(space, query, empty, match, N, 64, &stats, &want);
    CHECK(stats.strategy == MN_SEARCH_STRATEGY_TRAVERSAL && stats.estimated_matches == N);
    CHECK(h >= 9);
    h = search_check(space, query, NULL, match, N, 64, &stats, &want);
    CHECK(stats.strategy == MN_SEARCH_STRATEGY_TRAVERSAL && h >= 9);
    uint64_t count = 0;
    CHECK_STATUS(mn_space_count_filtered(space, NULL, &count), MN_OK);
    CHECK(count == N);
    CHECK(list_all(space, empty, 64, match) == N);
    /* bad arguments */
    uint32_t found = 0;
    CHECK_STATUS(mn_space_search_filtered(space, query, DIM, 0, 0, empty, NULL, NULL, &found, NULL),
                 MN_ERR_INVALID);
    CHECK_STATUS(mn_space_search_filtered(space, query, DIM + 1, 5, 0, empty, NULL, NULL, &found,
                                          NULL),
                 MN_ERR_DIMENSION);
    CHECK_STATUS(mn_space_list_filtered(space, empty, 0, 0, NULL, NULL, &found, NULL),
                 MN_ERR_INVALID);
    CHECK_STATUS(mn_space_list_filtered(space, empty, 0, MN_ENGINE_LIST_LIMIT_MAX + 1, NULL, NULL,
                                        &found, NULL),
                 MN_ERR_INVALID);
    CHECK_STATUS(mn_space_count_filtered(space, empty, NULL), MN_ERR_INVALID);
    /* a filter nothing matches: the scan, nothing found */
    mn_filter *none = parse("{\"kind\": \"nothing\"}");
    CHECK_STATUS(mn_space_search_filtered(space, query, DIM, 5, 0, none, NULL, NULL, &found, &stats),
                 MN_OK);
    CHECK(found == 0 && stats.strategy == MN_SEARCH_STRATEGY_EXACT_SCAN && stats.matches == 0);
    mn_filter_free(none);
    mn_filter_free(empty);
}

static uint64_t count_of(mn_space *space, const char *json) {
    mn_filter *filter = json ? parse(json) : NULL;
    uint64_t count = UINT64_MAX;
    CHECK_STATUS(mn_space_count_filtered(space, filter, &count), MN_OK);
    mn_filter_free(filter);
    return count;
}

static mn_status delete_where(mn_space *space, const char *json, uint64_t *detail) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_delete_filtered(space, json, strlen(json), MN_SUBMIT_WAIT,
                                                te_wait_done, &w, NULL);
    if (status != MN_OK) return status;
    status = te_wait_for(&w);
    *detail = w.detail;
    return status;
}

#define DELETE_MEMORIES 300u

static void test_delete_filtered(void) {
    char root[] = "/tmp/mn_engine_filter_XXXXXX";
    CHECK(mkdtemp(root) != NULL);
    mn_engine *engine = td_open(root, 2, MN_WAL_SYNC, 0, 0, 0, NULL, NULL);
    CHECK(engine != NULL);
    if (!engine) return;
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    mn_space *space = NULL;
    CHECK_STATUS(mn_engine_space_create(engine, "d", 1, &params, &space), MN_OK);
    for (uint32_t i = 0; i < DELETE_MEMORIES; i++) {
        memory m;
        memset(&m, 0, sizeof(m));
        m.attr = i % 10;
        m.has_kind = 1;
        m.kind = i % 3;
        void *doc = NULL;
        size_t size = 0;
        build_doc(&m, &doc, &size);
        char id[16];
        snprintf(id, sizeof(id), "d%u", i);
        CHECK_STATUS(mn_space_insert_meta(space, id, (uint32_t)strlen(id),
                                          vectors + (size_t)i * DIM, DIM, NULL, 0, doc, size,
                                          MN_SUBMIT_WAIT, NULL, NULL, NULL),
                     MN_OK);
        mn_meta_free(doc);
    }
    uint64_t detail = 0;
    /* a bad filter: refused at once, nothing queued */
    mn_filter_error error;
    const char *bad = "{\"attr\": {\"$bad\": 1}}";
    CHECK_STATUS(mn_space_delete_filtered(space, bad, strlen(bad), MN_SUBMIT_WAIT, NULL, NULL,
                                          &error),
                 MN_ERR_INVALID);
    CHECK(error.code == MN_FILTER_ERROR_UNKNOWN_OPERATOR);
    CHECK_STATUS(delete_where(space, "{\"kind\": \"nothing\"}", &detail), MN_OK);
    CHECK(detail == 0);
    CHECK(count_of(space, NULL) == DELETE_MEMORIES);
    /* attr < 3: 90 memories; then chat among the rest: 70 */
    CHECK_STATUS(delete_where(space, "{\"attr\": {\"$lt\": 3}}", &detail), MN_OK);
    CHECK(detail == 90);
    CHECK(count_of(space, NULL) == DELETE_MEMORIES - 90);
    CHECK(count_of(space, "{\"attr\": {\"$lt\": 3}}") == 0);
    CHECK_STATUS(delete_where(space, "{\"kind\": \"chat\"}", &detail), MN_OK);
    CHECK(detail == 70);
    CHECK(count_of(space, NULL) == DELETE_MEMORIES - 160);
    float query[DIM];
    te_vector(4000000, query, DIM);
    uint32_t found = 0;
    CHECK_STATUS(mn_space_search(space, query, DIM, 10, 0, NULL, NULL, &found), MN_OK);
    CHECK(found == 10);
    mn_space_release(space);
    mn_engine_destroy(engine);

    /* the log replays both deletes */
    engine = td_reopen(root);
    CHECK(engine != NULL);
    if (engine) {
        space = td_open_space(engine, "d");
        CHECK(count_of(space, NULL) == DELETE_MEMORIES - 160);
        CHECK(count_of(space, "{\"attr\": {\"$lt\": 3}}") == 0);
        CHECK(count_of(space, "{\"kind\": \"chat\"}") == 0);
        CHECK(count_of(space, "{\"kind\": \"fact\"}") == 70);
        CHECK_STATUS(delete_where(space, "{}", &detail), MN_OK);
        CHECK(detail == DELETE_MEMORIES - 160 && count_of(space, NULL) == 0);
        mn_space_release(space);
        mn_engine_destroy(engine);
    }
    mn_test_remove_tree(root);
}

/* Creates an index and waits for it; returns the completion's detail. */
static uint64_t index_create(mn_space *space, const char *field, uint32_t kind) {
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_index_create(space, field, (uint32_t)strlen(field), kind,
                                       MN_SUBMIT_WAIT, te_wait_done, &w),
                 MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    return w.detail;
}

static void create_indexes(mn_space *space) {
    uint32_t with_kind = 0, with_tags = 0, with_level = 0;
    for (uint32_t i = 0; i < N; i++) {
        with_kind += memories[i].has_kind;
        with_tags += memories[i].has_tags;
        with_level += memories[i].has_level;
    }
    /* The completion's detail: the memories that have the field. */
    CHECK(index_create(space, "attr", MN_INDEX_NUMERIC) == N);
    CHECK(index_create(space, "kind", MN_INDEX_KEYWORD) == with_kind);
    CHECK(index_create(space, "tags", MN_INDEX_KEYWORD) == with_tags);
    CHECK(index_create(space, "level", MN_INDEX_NUMERIC) == with_level);
    CHECK(index_create(space, "flag", MN_INDEX_KEYWORD) == N);
    indexed = 1;
}

int main(void) {
    mn_engine *engine = te_engine(2, 64);
    mn_space *space = build_space(engine);
    test_selectivities(space);
    test_random_filters(space);
    test_all(space);
    test_delete_filtered();
    create_indexes(space);
    test_selectivities(space);
    test_random_filters(space);
    test_all(space);
    mn_space_release(space);
    mn_engine_destroy(engine);
    return te_report();
}
