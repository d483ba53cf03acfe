/*
 * test_engine_filter_bitmap.c: proves that a filtered search answered from the field indexes
 * through a bitmap of matching labels (docs/filters.md, "Filtered search speed") gives exactly
 * what the same search gives when the filter is checked on each memory's metadata document.
 *
 * One space of 10,000 memories (dimension 16, L2) with metadata attr = (i * 7919) mod 1000,
 * kind = "a".."d" (i mod 4) and flag = i odd; 200 of them deleted. Ten filters, six planned as
 * traversals (about 45% to 75% of the memories: a range, a NOT, a keyword $in, a $ne, an AND
 * and an OR of indexed leaves) and four as exact scans (10%, 5% as an AND, 1% and 0.1%), are
 * searched with 30 queries each, first with no field index (the traversal looks each
 * node's record up and walks its document; the scan walks every record), then after numeric
 * and keyword indexes on attr, kind and flag (the traversal tests each node against the
 * bitmap; the scan reads the bitmap in storage order or, for the smallest sets, the sorted
 * list). The oracle is the first phase: the second must return the same memories with the
 * same distances bit for bit, in the same order, under the same strategy, and its traversals
 * must visit and score exactly the same nodes (a predicate that answers the same for every
 * node walks the same graph path); the new paths must be the ones taken (index_flags), and
 * every result must satisfy the filter by this test's own evaluator.
 *
 * The 30 searches of one filter run back to back, so from the second on each bitmap must be
 * the one the space kept from the first (MN_SEARCH_INDEX_REUSED) and still give the same
 * results, and the scans from the third on must read the compact codes kept from the second
 * (MN_SEARCH_INDEX_CODES). Then a memory is deleted: the next search with a kept filter must
 * build its bitmap anew (the field indexes changed) and must not return it. And a scanned
 * memory's vector is upserted onto the query, metadata unchanged: the next search must not
 * trust the codes and must return it first; the codes are built again and read after that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/mn_filter.h"
#include "mnemo/mn_meta.h"
#include "test_engine_support.h"

#define DIM 16u
#define MEMORIES 10000u
#define DELETED 200u
#define QUERIES 30u
#define K 10u
#define EF 48u
#define FILTERS 10

static const char *const FILTER_JSON[FILTERS] = {
    "{\"attr\": {\"$lt\": 500}}",
    "{\"$not\": {\"attr\": {\"$lt\": 300}}}",
    "{\"kind\": {\"$in\": [\"a\", \"b\", \"c\"]}}",
    "{\"kind\": {\"$ne\": \"d\"}}",
    "{\"$and\": [{\"attr\": {\"$lt\": 900}}, {\"flag\": true}]}",
    "{\"$or\": [{\"attr\": {\"$lt\": 300}}, {\"kind\": \"a\"}]}",
    "{\"attr\": {\"$lt\": 100}}",
    "{\"$and\": [{\"attr\": {\"$lt\": 200}}, {\"kind\": \"b\"}]}",
    "{\"attr\": {\"$lt\": 10}}",
    "{\"attr\": {\"$lt\": 1}}",
};
/* The first six are large enough for the planner's traversal, the rest are scanned. */
#define TRAVERSALS 6

static uint32_t attr_of(uint32_t i) { return (uint32_t)((i * 7919ull) % 1000); }
static char kind_of(uint32_t i) { return (char)('a' + i % 4); }
static int flag_of(uint32_t i) { return (int)(i & 1u); }

/* The filters, evaluated here from the memory's number (not through mn_filter_match). */
static int oracle(int f, uint32_t i) {
    uint32_t attr = attr_of(i);
    char kind = kind_of(i);
    switch (f) {
    case 0: return attr < 500;
    case 1: return !(attr < 300);
    case 2: return kind != 'd';
    case 3: return kind != 'd';
    case 4: return attr < 900 && flag_of(i);
    case 5: return attr < 300 || kind == 'a';
    case 6: return attr < 100;
    case 7: return attr < 200 && kind == 'b';
    case 8: return attr < 10;
    default: return attr < 1;
    }
}

static int deleted(uint32_t i) { return i % (MEMORIES / DELETED) == 7; }

typedef struct hit {
    uint32_t memory;
    float distance;
} hit;

typedef struct answer {
    hit hits[K];
    uint32_t count;
    int bad_id;
} answer;

static void collect(void *context, const mn_memory_view *view) {
    answer *a = context;
    char text[16];
    uint32_t n = view->id_bytes < sizeof(text) - 1 ? view->id_bytes : (uint32_t)sizeof(text) - 1;
    memcpy(text, view->id, n);
    text[n] = 0;
    if (a->count >= K || text[0] != 'm') {
        a->bad_id = 1;
        return;
    }
    a->hits[a->count].memory = (uint32_t)strtoul(text + 1, NULL, 10);
    a->hits[a->count].distance = view->distance;
    a->count++;
}

/* Memory i's metadata document (the caller frees it with mn_meta_free). */
static void *document_of(uint32_t i, size_t *bytes) {
    mn_meta_builder *b = NULL;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    char kind = kind_of(i);
    mn_meta_builder_add_int(b, "attr", 4, (int64_t)attr_of(i));
    mn_meta_builder_add_string(b, "kind", 4, &kind, 1);
    mn_meta_builder_add_bool(b, "flag", 4, flag_of(i));
    void *doc = NULL;
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, bytes, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    return doc;
}

static void fill(mn_space *space) {
    te_wait w;
    te_wait_init(&w);
    for (uint32_t i = 0; i < MEMORIES; i++) {
        char id[16];
        snprintf(id, sizeof(id), "m%u", i);
        float v[DIM];
        te_vector(i + 1, v, DIM);
        size_t bytes = 0;
        void *doc = document_of(i, &bytes);
        int last = i + 1 == MEMORIES;
        CHECK_STATUS(mn_space_insert_meta(space, id, (uint32_t)strlen(id), v, DIM, NULL, 0, doc, bytes,
                                          MN_SUBMIT_WAIT, last ? te_wait_done : NULL, last ? &w : NULL, NULL),
                     MN_OK);
        mn_meta_free(doc);
    }
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    te_wait d;
    te_wait_init(&d);
    for (uint32_t i = 0; i < MEMORIES; i++) {
        if (!deleted(i)) continue;
        char id[16];
        snprintf(id, sizeof(id), "m%u", i);
        int last = i + MEMORIES / DELETED >= MEMORIES;
        CHECK_STATUS(mn_space_delete(space, id, (uint32_t)strlen(id), MN_SUBMIT_WAIT, last ? te_wait_done : NULL,
                                     last ? &d : NULL),
                     MN_OK);
    }
    CHECK_STATUS(te_wait_for(&d), MN_OK);
}

static void index_create(mn_space *space, const char *field, uint32_t kind) {
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_index_create(space, field, (uint32_t)strlen(field), kind, MN_SUBMIT_WAIT, te_wait_done, &w),
                 MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
}

typedef struct phase {
    answer answers[FILTERS][QUERIES];
    mn_search_stats stats[FILTERS][QUERIES];
} phase;

static void run(mn_space *space, mn_filter *const *filters, phase *out) {
    for (int f = 0; f < FILTERS; f++) {
        for (uint32_t q = 0; q < QUERIES; q++) {
            float query[DIM];
            te_vector(900000 + q, query, DIM);
            answer *a = &out->answers[f][q];
            memset(a, 0, sizeof(*a));
            uint32_t found = 0;
            CHECK_STATUS(mn_space_search_filtered(space, query, DIM, K, EF, filters[f], collect, a, &found,
                                                  &out->stats[f][q]),
                         MN_OK);
            CHECK(found == a->count && !a->bad_id);
            for (uint32_t i = 0; i < a->count; i++) {
                uint32_t m = a->hits[i].memory;
                if (!(m < MEMORIES && oracle(f, m) && !deleted(m))) {
                    fprintf(stderr, "filter %d query %u: m%u does not match\n", f, q, m);
                    CHECK(0);
                }
            }
        }
    }
}

/* Searches filter 0 with query 0 twice (the second reuses the bitmap), deletes its nearest
 * match, and searches again: a new bitmap, without the deleted memory. */
static void deleted_then_searched(mn_space *space, mn_filter *filter, const answer *before) {
    float query[DIM];
    te_vector(900000, query, DIM);
    answer a;
    mn_search_stats stats;
    uint32_t found = 0;
    for (int pass = 0; pass < 2; pass++) {
        memset(&a, 0, sizeof(a));
        CHECK_STATUS(mn_space_search_filtered(space, query, DIM, K, EF, filter, collect, &a, &found, &stats), MN_OK);
        CHECK(a.count == before->count && a.hits[0].memory == before->hits[0].memory);
    }
    CHECK(stats.index_flags & MN_SEARCH_INDEX_REUSED);
    char id[16];
    snprintf(id, sizeof(id), "m%u", before->hits[0].memory);
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_delete(space, id, (uint32_t)strlen(id), MN_SUBMIT_WAIT, te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    memset(&a, 0, sizeof(a));
    CHECK_STATUS(mn_space_search_filtered(space, query, DIM, K, EF, filter, collect, &a, &found, &stats), MN_OK);
    CHECK(!(stats.index_flags & MN_SEARCH_INDEX_REUSED) && (stats.index_flags & MN_SEARCH_INDEX_BITMAP));
    CHECK(a.count == K);
    for (uint32_t i = 0; i < a.count; i++) CHECK(a.hits[i].memory != before->hits[0].memory);
}

/* Scans `filter` (exact, attr < 100) three times (the third reads the codes), then upserts
 * memory `m` (which matches) onto the query with its metadata unchanged: the next search must
 * return it first at distance 0 without reading the stale codes, and the codes come back. */
static void upserted_then_searched(mn_space *space, mn_filter *filter, uint32_t m) {
    float query[DIM];
    te_vector(900001, query, DIM);
    answer a;
    mn_search_stats stats;
    uint32_t found = 0;
    for (int pass = 0; pass < 3; pass++) {
        memset(&a, 0, sizeof(a));
        CHECK_STATUS(mn_space_search_filtered(space, query, DIM, K, EF, filter, collect, &a, &found, &stats), MN_OK);
    }
    CHECK(stats.strategy == MN_SEARCH_STRATEGY_EXACT_SCAN && (stats.index_flags & MN_SEARCH_INDEX_CODES));
    CHECK(a.count == K && a.hits[0].memory != m);
    char id[16];
    snprintf(id, sizeof(id), "m%u", m);
    size_t bytes = 0;
    void *doc = document_of(m, &bytes);
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_upsert_meta(space, id, (uint32_t)strlen(id), query, DIM, NULL, 0, doc, bytes,
                                      MN_SUBMIT_WAIT, te_wait_done, &w, NULL),
                 MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    mn_meta_free(doc);
    memset(&a, 0, sizeof(a));
    CHECK_STATUS(mn_space_search_filtered(space, query, DIM, K, EF, filter, collect, &a, &found, &stats), MN_OK);
    CHECK(!(stats.index_flags & MN_SEARCH_INDEX_CODES));
    CHECK(a.count == K && a.hits[0].memory == m && a.hits[0].distance == 0.0f);
    for (int pass = 0; pass < 2; pass++) {
        memset(&a, 0, sizeof(a));
        CHECK_STATUS(mn_space_search_filtered(space, query, DIM, K, EF, filter, collect, &a, &found, &stats), MN_OK);
    }
    CHECK(stats.index_flags & MN_SEARCH_INDEX_CODES);
    CHECK(a.count == K && a.hits[0].memory == m && a.hits[0].distance == 0.0f);
}

int main(void) {
    mn_engine *engine = te_engine(2, 256);
    mn_space *space = te_space(engine, "bitmap", DIM, MN_METRIC_L2);
    fill(space);
    mn_filter *filters[FILTERS];
    for (int f = 0; f < FILTERS; f++) {
        CHECK_STATUS(mn_filter_parse(FILTER_JSON[f], strlen(FILTER_JSON[f]), &filters[f], NULL), MN_OK);
    }
    phase *documents = calloc(1, sizeof(phase));
    phase *bitmaps = calloc(1, sizeof(phase));
    if (!documents || !bitmaps) return 2;
    run(space, filters, documents);
    index_create(space, "attr", MN_INDEX_NUMERIC);
    index_create(space, "kind", MN_INDEX_KEYWORD);
    index_create(space, "flag", MN_INDEX_KEYWORD);
    run(space, filters, bitmaps);

    int differ = 0, wrong_path = 0, wrong_strategy = 0, walked_otherwise = 0, wrong_reuse = 0, wrong_codes = 0;
    int coded = 0;
    for (int f = 0; f < FILTERS; f++) {
        uint32_t expected_strategy = f < TRAVERSALS ? MN_SEARCH_STRATEGY_TRAVERSAL : MN_SEARCH_STRATEGY_EXACT_SCAN;
        for (uint32_t q = 0; q < QUERIES; q++) {
            const answer *a = &documents->answers[f][q], *b = &bitmaps->answers[f][q];
            const mn_search_stats *sa = &documents->stats[f][q], *sb = &bitmaps->stats[f][q];
            int same = a->count == b->count && a->count == K;
            for (uint32_t i = 0; same && i < a->count; i++) {
                same = a->hits[i].memory == b->hits[i].memory &&
                       memcmp(&a->hits[i].distance, &b->hits[i].distance, sizeof(float)) == 0;
            }
            if (!same) {
                fprintf(stderr, "filter %d query %u: %u results from documents, %u from the bitmap, not equal\n", f,
                        q, a->count, b->count);
                differ++;
            }
            if (sa->strategy != expected_strategy || sb->strategy != expected_strategy) {
                if (q == 0)
                    fprintf(stderr, "filter %d: strategies %u and %u, estimated %llu and %llu\n", f, sa->strategy,
                            sb->strategy, (unsigned long long)sa->estimated_matches,
                            (unsigned long long)sb->estimated_matches);
                wrong_strategy++;
            }
            /* The first search of a filter builds its bitmap, the others reuse it. */
            const int reused = (sb->index_flags & MN_SEARCH_INDEX_REUSED) != 0;
            wrong_reuse += q == 0 ? reused : (f < TRAVERSALS && !reused);
            wrong_reuse += (sa->index_flags & MN_SEARCH_INDEX_REUSED) != 0;
            /* A reused scan reads codes from the third search of its filter (the second built them). */
            const int codes = (sb->index_flags & MN_SEARCH_INDEX_CODES) != 0;
            coded += codes;
            wrong_codes += (sa->index_flags & MN_SEARCH_INDEX_CODES) != 0 ||
                           (codes != (f >= TRAVERSALS && reused && q >= 2));
            if (f < TRAVERSALS) {
                wrong_path += !(sb->index_flags & MN_SEARCH_INDEX_BITMAP) || (sa->index_flags & MN_SEARCH_INDEX_BITMAP);
                walked_otherwise += sa->index.visited != sb->index.visited ||
                                    sa->index.distances != sb->index.distances ||
                                    sa->index.matches != sb->index.matches;
            } else {
                const uint32_t want = MN_SEARCH_INDEX_COLLECT | MN_SEARCH_INDEX_EXACT;
                wrong_path += (sb->index_flags & want) != want || (sa->index_flags & want) != 0;
                CHECK(sa->matches == sb->matches && sb->matches > 0);
            }
        }
    }
    CHECK(differ == 0);
    CHECK(wrong_strategy == 0);
    CHECK(wrong_path == 0);
    CHECK(walked_otherwise == 0);
    CHECK(wrong_reuse == 0);
    CHECK(wrong_codes == 0 && coded >= 2 * (int)(QUERIES - 2));
    deleted_then_searched(space, filters[0], &bitmaps->answers[0][0]);
    uint32_t m = 0;
    while (!(oracle(TRAVERSALS, m) && !deleted(m))) m++;
    upserted_then_searched(space, filters[TRAVERSALS], m);
    printf("test_engine_filter_bitmap: %d of %u searches differ, %d off the expected path, %d walked otherwise, "
           "%d reused wrongly, %d read codes (%d wrongly)\n",
           differ, FILTERS * QUERIES, wrong_path, walked_otherwise, wrong_reuse, coded, wrong_codes);
    for (int f = 0; f < FILTERS; f++) mn_filter_free(filters[f]);
    free(documents);
    free(bitmaps);
    mn_space_release(space);
    mn_engine_destroy(engine);
    return te_report();
}
