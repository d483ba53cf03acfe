/*
 * test_engine_recall_filter.c: recall with a filter (mn_space_recall_filtered).
 *
 * Proves: on a hand-computed graph, only matching memories are returned, with the activations
 * and hops of the unfiltered spread, and a match reachable only THROUGH a non-matching memory
 * is recalled (spreading ignores the filter); the view carries the memory's metadata document
 * (and unfiltered recall's view does too); NULL and {} give exactly mn_space_recall's answer;
 * on 1,500 memories with random links and random metadata, for several filters, cues, limits
 * and activation budgets, the answer is item for item (id, activation bit for bit, hops) the
 * unfiltered recall of the whole budget post-filtered by the test's own evaluator and cut at
 * the limit, and every returned memory matches; bad arguments and a dropped space are refused
 * as mn_space_recall refuses them.
 */
#include <math.h>

#include "test_space_support.h"

#define EPS 1e-6f
#define N 1500u
#define DIM 8u
#define LINKS_PER_MEMORY 3u
#define ATTR_VALUES 10
#define GROUPS 3

/* ---- writes with metadata ---- */

/* Builds a document with `kind` (may be NULL) and `attr` (negative: absent). */
static void build_doc(const char *kind, int attr, void **bytes, size_t *size) {
    mn_meta_builder *b = NULL;
    if (mn_meta_builder_create(&b) != MN_OK) exit(2);
    if (kind) mn_meta_builder_add_string(b, "kind", 4, kind, (uint32_t)strlen(kind));
    if (attr >= 0) mn_meta_builder_add_int(b, "attr", 4, attr);
    if (mn_meta_builder_finish(b, bytes, size, NULL) != MN_OK) exit(2);
    mn_meta_builder_destroy(b);
}

static mn_status insert_meta(mn_space *space, const char *id, const float *vector,
                             uint32_t dimension, const char *kind, int attr) {
    void *doc = NULL;
    size_t doc_bytes = 0;
    build_doc(kind, attr, &doc, &doc_bytes);
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_insert_meta(space, id, (uint32_t)strlen(id), vector, dimension,
                                            NULL, 0, doc, doc_bytes, MN_SUBMIT_WAIT,
                                            te_wait_done, &w, NULL);
    if (status == MN_OK) status = te_wait_for(&w);
    mn_meta_free(doc);
    return status;
}

static mn_filter *parse(const char *json) {
    mn_filter *filter = NULL;
    mn_status status = mn_filter_parse(json, strlen(json), &filter, NULL);
    if (status != MN_OK) {
        fprintf(stderr, "mn_filter_parse(%s): %s\n", json, mn_status_string(status));
        exit(2);
    }
    return filter;
}

/* ---- collecting results (any number; ts_results holds 256) ---- */

typedef struct item {
    uint32_t index; /* the memory's number, from its id "m<index>" (UINT32_MAX: another id) */
    char id[16];
    float activation;
    uint32_t hops;
    char kind[16]; /* from the view's metadata ("" when absent) */
    int attr;      /* from the view's metadata (-1 when absent) */
} item;

typedef struct collected {
    item *items;
    uint32_t count, capacity;
    int overflow;
} collected;

static void collect(void *context, const mn_recollection_view *view) {
    collected *c = context;
    if (c->count == c->capacity || view->id_bytes >= sizeof(c->items[0].id)) {
        c->overflow = 1;
        return;
    }
    item *it = &c->items[c->count++];
    memset(it, 0, sizeof(*it));
    memcpy(it->id, view->id, view->id_bytes);
    it->index = it->id[0] == 'm' ? (uint32_t)strtoul(it->id + 1, NULL, 10) : UINT32_MAX;
    it->activation = view->activation;
    it->hops = view->hops;
    it->attr = -1;
    mn_meta_value value;
    if (view->metadata_bytes > 0 &&
        mn_meta_get(view->metadata, view->metadata_bytes, "kind", 4, &value) == MN_OK &&
        value.type == MN_META_STRING && value.str_bytes < sizeof(it->kind)) {
        memcpy(it->kind, value.str, value.str_bytes);
    }
    if (view->metadata_bytes > 0 &&
        mn_meta_get(view->metadata, view->metadata_bytes, "attr", 4, &value) == MN_OK &&
        value.type == MN_META_INT) {
        it->attr = (int)value.i;
    }
}

static void collected_init(collected *c, uint32_t capacity) {
    c->items = malloc((size_t)capacity * sizeof(item));
    if (!c->items) exit(2);
    c->count = 0;
    c->capacity = capacity;
    c->overflow = 0;
}

static mn_status recall(mn_space *space, const float *cue, const mn_recall_params *p,
                        const mn_filter *filter, int filtered, uint32_t limit, collected *out) {
    out->count = 0;
    out->overflow = 0;
    uint32_t found = 0;
    mn_status status =
        filtered ? mn_space_recall_filtered(space, cue, DIM, p, filter, limit, collect, out, &found)
                 : mn_space_recall(space, cue, DIM, p, limit, collect, out, &found);
    if (status == MN_OK && (found != out->count || out->overflow)) return MN_ERR_CORRUPT;
    return status;
}

static int same_item(const item *a, const item *b) {
    return strcmp(a->id, b->id) == 0 && memcmp(&a->activation, &b->activation, sizeof(float)) == 0 &&
           a->hops == b->hops;
}

/* ---- a hand-computed graph ---- */

/*
 * Association links only, one seed (the cue is a itself, similarity 1), decay 0.5:
 *     a(chat) -0.8-> b(chat) -0.9-> c(fact)        b = 0.4 (hop 1), c = 0.18 (hop 2)
 *     a(chat) -0.5-> d(fact) -0.6-> e(no kind)     d = 0.25 (hop 1), e = 0.075 (hop 2)
 * Filter kind = fact: d (0.25, 1) then c (0.18, 2); c is reached only through b, which does
 * not match.
 */
static void test_graph(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "graph", 2, MN_METRIC_L2);
    const float at[5][2] = {{0, 0}, {10, 0}, {0, 10}, {10, 10}, {20, 20}};
    CHECK_STATUS(insert_meta(space, "a", at[0], 2, "chat", 1), MN_OK);
    CHECK_STATUS(insert_meta(space, "b", at[1], 2, "chat", 2), MN_OK);
    CHECK_STATUS(insert_meta(space, "c", at[2], 2, "fact", 3), MN_OK);
    CHECK_STATUS(insert_meta(space, "d", at[3], 2, "fact", 4), MN_OK);
    CHECK_STATUS(insert_meta(space, "e", at[4], 2, NULL, 5), MN_OK);
    CHECK_STATUS(ts_link(space, "a", "b", 0.8f, NULL), MN_OK);
    CHECK_STATUS(ts_link(space, "b", "c", 0.9f, NULL), MN_OK);
    CHECK_STATUS(ts_link(space, "a", "d", 0.5f, NULL), MN_OK);
    CHECK_STATUS(ts_link(space, "d", "e", 0.6f, NULL), MN_OK);

    mn_recall_params p;
    mn_recall_params_default(&p);
    p.seeds = 1;
    p.hops = 3;
    p.flags = MN_RECALL_NO_SIMILARITY;
    const float cue[2] = {0, 0};
    collected r;
    collected_init(&r, 64);
    uint32_t found = 0;

    mn_filter *facts = parse("{\"kind\": \"fact\"}");
    r.count = 0;
    CHECK_STATUS(mn_space_recall_filtered(space, cue, 2, &p, facts, 10, collect, &r, &found), MN_OK);
    CHECK(found == 2 && r.count == 2);
    if (r.count == 2) {
        CHECK(strcmp(r.items[0].id, "d") == 0 && fabsf(r.items[0].activation - 0.25f) <= EPS &&
              r.items[0].hops == 1);
        CHECK(strcmp(r.items[1].id, "c") == 0 && fabsf(r.items[1].activation - 0.18f) <= EPS &&
              r.items[1].hops == 2);
        /* the view carries the metadata document */
        CHECK(strcmp(r.items[0].kind, "fact") == 0 && r.items[0].attr == 4);
        CHECK(strcmp(r.items[1].kind, "fact") == 0 && r.items[1].attr == 3);
    }
    /* the limit keeps the most activated match */
    r.count = 0;
    CHECK_STATUS(mn_space_recall_filtered(space, cue, 2, &p, facts, 1, collect, &r, &found), MN_OK);
    CHECK(found == 1 && r.count == 1 && strcmp(r.items[0].id, "d") == 0);
    /* only the hop-2 match when hops allow it: with 1 hop, c is not reached at all */
    mn_recall_params one = p;
    one.hops = 1;
    r.count = 0;
    CHECK_STATUS(mn_space_recall_filtered(space, cue, 2, &one, facts, 10, collect, &r, &found), MN_OK);
    CHECK(found == 1 && strcmp(r.items[0].id, "d") == 0);

    mn_filter *no_kind = parse("{\"kind\": {\"$exists\": false}}");
    r.count = 0;
    CHECK_STATUS(mn_space_recall_filtered(space, cue, 2, &p, no_kind, 10, collect, &r, &found), MN_OK);
    CHECK(found == 1 && strcmp(r.items[0].id, "e") == 0 && fabsf(r.items[0].activation - 0.075f) <= EPS &&
          r.items[0].hops == 2 && r.items[0].kind[0] == '\0' && r.items[0].attr == 5);

    mn_filter *none = parse("{\"kind\": \"preference\"}");
    r.count = 0;
    CHECK_STATUS(mn_space_recall_filtered(space, cue, 2, &p, none, 10, collect, &r, &found), MN_OK);
    CHECK(found == 0 && r.count == 0);

    /* NULL and {} are mn_space_recall; its view carries metadata too */
    mn_filter *all = parse("{}");
    collected plain, with_null, with_all;
    collected_init(&plain, 64);
    collected_init(&with_null, 64);
    collected_init(&with_all, 64);
    CHECK_STATUS(mn_space_recall(space, cue, 2, &p, 10, collect, &plain, &found), MN_OK);
    CHECK(found == 5 && strcmp(plain.items[0].id, "a") == 0 && strcmp(plain.items[0].kind, "chat") == 0 &&
          plain.items[0].attr == 1);
    CHECK_STATUS(mn_space_recall_filtered(space, cue, 2, &p, NULL, 10, collect, &with_null, &found), MN_OK);
    CHECK_STATUS(mn_space_recall_filtered(space, cue, 2, &p, all, 10, collect, &with_all, &found), MN_OK);
    int same = plain.count == with_null.count && plain.count == with_all.count;
    for (uint32_t i = 0; same && i < plain.count; i++) {
        same = same_item(&plain.items[i], &with_null.items[i]) && same_item(&plain.items[i], &with_all.items[i]);
    }
    CHECK(same);

    /* a patch that takes d out of the filter takes it out of the answer */
    void *patch = NULL;
    size_t patch_bytes = 0;
    void *set = NULL;
    size_t set_bytes = 0;
    build_doc("chat", -1, &set, &set_bytes);
    CHECK_STATUS(mn_meta_patch_encode(set, set_bytes, NULL, NULL, 0, &patch, &patch_bytes, NULL), MN_OK);
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_patch_metadata(space, "d", 1, patch, patch_bytes, MN_SUBMIT_WAIT, te_wait_done, &w,
                                         NULL),
                 MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    r.count = 0;
    CHECK_STATUS(mn_space_recall_filtered(space, cue, 2, &p, facts, 10, collect, &r, &found), MN_OK);
    CHECK(found == 1 && strcmp(r.items[0].id, "c") == 0 && fabsf(r.items[0].activation - 0.18f) <= EPS);
    mn_meta_free(patch);
    mn_meta_free(set);

    free(r.items);
    free(plain.items);
    free(with_null.items);
    free(with_all.items);
    mn_filter_free(facts);
    mn_filter_free(no_kind);
    mn_filter_free(none);
    mn_filter_free(all);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

/* ---- random graphs against post-filtered unfiltered recall ---- */

static const char *const GROUP_NAMES[GROUPS] = {"chat", "fact", "note"};

typedef struct meta {
    int group; /* -1: no kind */
    int attr;  /* -1: no attr */
} meta;

static meta metas[N];

/* The filters below, evaluated by hand on a memory's metadata. */
#define FILTERS 5
static const char *const FILTER_JSON[FILTERS] = {
    "{\"kind\": \"fact\"}",
    "{\"attr\": {\"$lt\": 2}}",
    "{\"$or\": [{\"kind\": \"note\"}, {\"attr\": {\"$gte\": 9}}]}",
    "{\"$not\": {\"kind\": {\"$exists\": true}}}",
    "{\"$and\": [{\"kind\": {\"$ne\": \"chat\"}}, {\"attr\": {\"$in\": [1, 3, 5, 7]}}]}",
};

static int oracle(int filter, const meta *m) {
    switch (filter) {
    case 0: return m->group == 1;
    case 1: return m->attr >= 0 && m->attr < 2;
    case 2: return m->group == 2 || m->attr >= 9;
    case 3: return m->group < 0;
    default: return m->group != 0 && (m->attr == 1 || m->attr == 3 || m->attr == 5 || m->attr == 7);
    }
}

static void test_random(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "random", DIM, MN_METRIC_L2);
    uint64_t state = 4242;
    float v[DIM];
    char id[16];
    for (uint32_t i = 0; i < N; i++) {
        metas[i].group = (int)(te_next(&state) % (GROUPS + 1)) - 1;
        metas[i].attr = (int)(te_next(&state) % (ATTR_VALUES + 1)) - 1;
        te_vector(i + 1, v, DIM);
        snprintf(id, sizeof(id), "m%u", i);
        CHECK_STATUS(insert_meta(space, id, v, DIM, metas[i].group >= 0 ? GROUP_NAMES[metas[i].group] : NULL,
                                 metas[i].attr),
                     MN_OK);
    }
    for (uint32_t i = 0; i < N; i++) {
        for (uint32_t l = 0; l < LINKS_PER_MEMORY; l++) {
            uint32_t to = (uint32_t)(te_next(&state) % N);
            if (to == i) continue;
            char from_id[16], to_id[16];
            snprintf(from_id, sizeof(from_id), "m%u", i);
            snprintf(to_id, sizeof(to_id), "m%u", to);
            float weight = 0.3f + 0.7f * (float)(te_next(&state) % 1000) / 1000.0f;
            CHECK_STATUS(ts_link(space, from_id, to_id, weight, NULL), MN_OK);
        }
    }

    mn_filter *filters[FILTERS];
    for (int f = 0; f < FILTERS; f++) filters[f] = parse(FILTER_JSON[f]);
    const uint32_t budgets[2] = {200, 0}; /* a budget that binds, and the default (all of N) */
    const uint32_t limits[4] = {1, 7, 60, N};
    collected full, got;
    collected_init(&full, N);
    collected_init(&got, N);
    uint32_t compared = 0, mismatched = 0, foreign = 0, matches_seen = 0, spread = 0;
    for (uint32_t b = 0; b < 2; b++) {
        mn_recall_params p;
        mn_recall_params_default(&p);
        p.hops = 3;
        p.fan_out = 6;
        p.threshold = 0.001f;
        p.nodes_max = budgets[b];
        uint32_t budget = budgets[b] ? budgets[b] : N;
        for (uint32_t q = 0; q < 12; q++) {
            te_vector(100000 + q, v, DIM);
            CHECK_STATUS(recall(space, v, &p, NULL, 0, budget, &full), MN_OK);
            for (int f = 0; f < FILTERS; f++) {
                /* the expected answer: the unfiltered ranking, post-filtered */
                uint32_t expected_all = 0;
                for (uint32_t i = 0; i < full.count; i++) {
                    expected_all += (uint32_t)(full.items[i].index < N && oracle(f, &metas[full.items[i].index]));
                }
                for (uint32_t l = 0; l < 4; l++) {
                    CHECK_STATUS(recall(space, v, &p, filters[f], 1, limits[l], &got), MN_OK);
                    uint32_t want = expected_all < limits[l] ? expected_all : limits[l];
                    if (got.count != want) mismatched++;
                    uint32_t g = 0;
                    for (uint32_t i = 0; i < full.count && g < got.count; i++) {
                        const item *e = &full.items[i];
                        if (e->index >= N || !oracle(f, &metas[e->index])) continue;
                        if (!same_item(e, &got.items[g])) mismatched++;
                        g++;
                    }
                    for (uint32_t i = 0; i < got.count; i++) {
                        const item *it = &got.items[i];
                        if (it->index >= N || !oracle(f, &metas[it->index])) foreign++;
                        /* the view's metadata is the memory's own */
                        if (it->index < N && it->attr != metas[it->index].attr) foreign++;
                        if (it->hops > 0) spread++;
                    }
                    matches_seen += got.count;
                    compared++;
                }
            }
        }
    }
    printf("recall_filter: %u comparisons, %u matches returned, %u of them beyond the seeds\n", compared,
           matches_seen, spread);
    CHECK(compared == 2 * 12 * FILTERS * 4);
    CHECK(mismatched == 0);
    CHECK(foreign == 0);
    CHECK(matches_seen > 0 && spread > 0); /* the test exercises spreading */

    free(full.items);
    free(got.items);
    for (int f = 0; f < FILTERS; f++) mn_filter_free(filters[f]);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

/* ---- bad arguments ---- */

static void test_errors(void) {
    mn_engine *engine = te_engine(1, 0);
    mn_space *space = te_space(engine, "errors", 2, MN_METRIC_L2);
    const float v[2] = {1, 0};
    CHECK_STATUS(insert_meta(space, "x", v, 2, "fact", 1), MN_OK);
    mn_filter *facts = parse("{\"kind\": \"fact\"}");
    uint32_t found = 7;
    CHECK_STATUS(mn_space_recall_filtered(space, v, 2, NULL, facts, 0, NULL, NULL, &found), MN_ERR_INVALID);
    CHECK(found == 0);
    CHECK_STATUS(mn_space_recall_filtered(space, v, 2, NULL, facts, MN_ENGINE_RECALL_LIMIT_MAX + 1, NULL, NULL,
                                          &found),
                 MN_ERR_INVALID);
    CHECK_STATUS(mn_space_recall_filtered(space, v, 2, NULL, facts, 10, NULL, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_recall_filtered(NULL, v, 2, NULL, facts, 10, NULL, NULL, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_recall_filtered(space, NULL, 2, NULL, facts, 10, NULL, NULL, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_recall_filtered(space, v, 3, NULL, facts, 10, NULL, NULL, &found), MN_ERR_DIMENSION);
    const float nan_cue[2] = {NAN, 0};
    CHECK_STATUS(mn_space_recall_filtered(space, nan_cue, 2, NULL, facts, 10, NULL, NULL, &found),
                 MN_ERR_NON_FINITE);
    mn_recall_params bad;
    mn_recall_params_default(&bad);
    bad.nodes_max = MN_ASSOC_RECALL_NODES_MAX + 1;
    CHECK_STATUS(mn_space_recall_filtered(space, v, 2, &bad, facts, 10, NULL, NULL, &found), MN_ERR_INVALID);
    mn_recall_params_default(&bad);
    bad.seeds = 0;
    CHECK_STATUS(mn_space_recall_filtered(space, v, 2, &bad, facts, 10, NULL, NULL, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_recall_filtered(space, v, 2, NULL, facts, 10, NULL, NULL, &found), MN_OK);
    CHECK(found == 1); /* count only */
    CHECK_STATUS(mn_engine_space_drop(engine, "errors", 6), MN_OK);
    CHECK_STATUS(mn_space_recall_filtered(space, v, 2, NULL, facts, 10, NULL, NULL, &found),
                 MN_ERR_UNKNOWN_SPACE);
    mn_filter_free(facts);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

int main(void) {
    test_graph();
    test_random();
    test_errors();
    return te_report();
}
