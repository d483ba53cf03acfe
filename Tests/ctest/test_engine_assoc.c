/*
 * test_engine_assoc.c: associations and recall through the engine (string ids, the mailbox).
 *
 * Proves: link and unlink are ordered writes keyed by memory id; the activations and hop counts
 * of recall on small graphs are exactly those computed by hand below (association links only;
 * similarity edges under L2; the two merged, keeping the larger weight), with the hop limit,
 * the threshold and the result limit honoured; relinking sets the weight (detail 1); deleting a
 * memory removes its links both ways; an upsert keeps them (same id, same memory, new vector);
 * bad input is refused with its status before anything is queued (weights, self links, ids),
 * unknown ids complete with MN_ERR_NOT_FOUND, a memory's 257th link with MN_ERR_FULL; recall
 * rejects bad arguments and a dropped space.
 */
#include <math.h>

#include "test_space_support.h"

#define EPS 1e-6f

typedef struct want {
    const char *id;
    float activation;
    uint32_t hops;
} want;

static void check_recall(int line, mn_space *space, const float *cue, uint32_t dimension,
                         const mn_recall_params *p, uint32_t limit, const want *expected,
                         uint32_t count) {
    ts_results r;
    mn_status status = ts_recall(space, cue, dimension, p, limit, &r);
    int ok = status == MN_OK && r.count == count;
    for (uint32_t i = 0; ok && i < count; i++) {
        ok = strcmp(r.items[i].id, expected[i].id) == 0 &&
             fabsf(r.items[i].score - expected[i].activation) <= EPS &&
             r.items[i].hops == expected[i].hops;
    }
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "  line %d: status %d, %u results:", line, status, r.count);
        for (uint32_t i = 0; i < r.count; i++) {
            fprintf(stderr, " (%s %.9g %u)", r.items[i].id, r.items[i].score, r.items[i].hops);
        }
        fprintf(stderr, "\n");
    }
}

static mn_recall_params assoc_only(uint32_t hops) {
    mn_recall_params p;
    mn_recall_params_default(&p);
    p.seeds = 1;
    p.hops = hops;
    p.decay = 0.5f;
    p.threshold = 0.01f;
    p.fan_out = 8;
    p.flags = MN_RECALL_NO_SIMILARITY;
    return p;
}

/*
 * Graph A, association links only; the cue (0, 0) is memory a itself, so a is the one seed
 * with similarity 1/(1 + 0) = 1:
 *     a -0.8-> b -0.9-> d -1.0-> e
 *     a -0.5-> c -0.6-> d
 * decay 0.5:  b = 1*0.8*0.5 = 0.4 (hop 1), c = 1*0.5*0.5 = 0.25 (hop 1),
 *             d = max(0.4*0.9*0.5, 0.25*0.6*0.5) = 0.18 (hop 2), e = 0.18*1*0.5 = 0.09 (hop 3).
 */
static void test_graph(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "graph", 2, MN_METRIC_L2);
    const char *names[5] = {"a", "b", "c", "d", "e"};
    const float at[5][2] = {{0, 0}, {10, 0}, {0, 10}, {10, 10}, {20, 20}};
    for (int i = 0; i < 5; i++) CHECK_STATUS(ts_write(space, 0, names[i], at[i], 2, names[i]), MN_OK);
    uint64_t detail = 7;
    CHECK_STATUS(ts_link(space, "a", "b", 0.8f, &detail), MN_OK);
    CHECK(detail == 0);
    CHECK_STATUS(ts_link(space, "a", "c", 0.5f, NULL), MN_OK);
    CHECK_STATUS(ts_link(space, "b", "d", 0.9f, NULL), MN_OK);
    CHECK_STATUS(ts_link(space, "c", "d", 0.6f, NULL), MN_OK);
    CHECK_STATUS(ts_link(space, "d", "e", 0.3f, NULL), MN_OK);
    CHECK_STATUS(ts_link(space, "d", "e", 1.0f, &detail), MN_OK); /* sets the weight */
    CHECK(detail == 1);
    CHECK(ts_links(space) == 5);

    const float cue[2] = {0, 0};
    float b = (1.0f * 0.8f) * 0.5f, c = (1.0f * 0.5f) * 0.5f;
    float d = (b * 0.9f) * 0.5f, e = (d * 1.0f) * 0.5f;
    mn_recall_params p3 = assoc_only(3);
    const want full[] = {{"a", 1.0f, 0}, {"b", b, 1}, {"c", c, 1}, {"d", d, 2}, {"e", e, 3}};
    check_recall(__LINE__, space, cue, 2, &p3, 100, full, 5);
    check_recall(__LINE__, space, cue, 2, &p3, 2, full, 2); /* the limit keeps the top */
    mn_recall_params p2 = assoc_only(2);
    check_recall(__LINE__, space, cue, 2, &p2, 100, full, 4); /* e is three hops away */
    mn_recall_params high = assoc_only(3);
    high.threshold = 0.1f;
    check_recall(__LINE__, space, cue, 2, &high, 100, full, 4); /* e = 0.09 < 0.1 */
    mn_recall_params zero = assoc_only(0);
    check_recall(__LINE__, space, cue, 2, &zero, 100, full, 1);

    /* An upsert keeps a memory's links: b moves, its activations do not change. */
    const float b_moved[2] = {11, 1};
    CHECK_STATUS(ts_write(space, 1, "b", b_moved, 2, "b2"), MN_OK);
    CHECK(ts_links(space) == 5);
    check_recall(__LINE__, space, cue, 2, &p3, 100, full, 5);
    float got[2];
    CHECK_STATUS(mn_space_get(space, "b", 1, got, 2, NULL, NULL), MN_OK);
    CHECK(got[0] == 11 && got[1] == 1);

    /* Unlink b -> d: d is reached through c only, d = 0.25*0.6*0.5 = 0.075, e = 0.0375. */
    CHECK_STATUS(ts_unlink(space, "b", "d"), MN_OK);
    CHECK_STATUS(ts_unlink(space, "b", "d"), MN_ERR_NOT_FOUND);
    float d2 = (c * 0.6f) * 0.5f, e2 = (d2 * 1.0f) * 0.5f;
    const want through_c[] = {{"a", 1.0f, 0}, {"b", b, 1}, {"c", c, 1}, {"d", d2, 2}, {"e", e2, 3}};
    check_recall(__LINE__, space, cue, 2, &p3, 100, through_c, 5);

    /* Deleting c removes a -> c and c -> d: d and e are unreachable. */
    CHECK_STATUS(ts_delete(space, "c"), MN_OK);
    CHECK(ts_links(space) == 2); /* a -> b, d -> e */
    const want after_delete[] = {{"a", 1.0f, 0}, {"b", b, 1}};
    check_recall(__LINE__, space, cue, 2, &p3, 100, after_delete, 2);
    /* A memory inserted again under the old id starts without links. */
    CHECK_STATUS(ts_write(space, 0, "c", at[2], 2, "c again"), MN_OK);
    check_recall(__LINE__, space, cue, 2, &p3, 100, after_delete, 2);
    CHECK_STATUS(ts_unlink(space, "a", "c"), MN_ERR_NOT_FOUND);

    mn_space_release(space);
    mn_engine_destroy(engine);
}

/*
 * Similarity edges (L2, s = 1/(1 + squared distance)): p (0,0), q (1,0), r (3,0); in a space
 * this small every memory is every other's layer-0 neighbour. The cue (0,0) seeds p with 1.
 *     s(p,q) = 1/2, s(p,r) = 1/10, s(q,r) = 1/5.
 * hops 2, decay 0.5: q = 1*0.5*0.5 = 0.25, r = 1*0.1*0.5 = 0.05 (both hop 1); round 2 offers
 * nothing larger (q -> r: 0.25*0.2*0.5 = 0.025 < 0.05; the rest are lower or below 0.01).
 * With an association p -> r of 0.9 the edge keeps the larger weight: r = 1*0.9*0.5 = 0.45.
 */
static void test_similarity(void) {
    mn_engine *engine = te_engine(1, 0);
    mn_space *space = te_space(engine, "sim", 2, MN_METRIC_L2);
    const float p[2] = {0, 0}, q[2] = {1, 0}, r[2] = {3, 0};
    CHECK_STATUS(ts_write(space, 0, "p", p, 2, NULL), MN_OK);
    CHECK_STATUS(ts_write(space, 0, "q", q, 2, NULL), MN_OK);
    CHECK_STATUS(ts_write(space, 0, "r", r, 2, NULL), MN_OK);
    mn_recall_params params;
    mn_recall_params_default(&params);
    params.seeds = 1;
    params.hops = 2;
    params.decay = 0.5f;
    params.threshold = 0.01f;
    float aq = (1.0f * (1.0f / 2.0f)) * 0.5f, ar = (1.0f * (1.0f / 10.0f)) * 0.5f;
    const want plain[] = {{"p", 1.0f, 0}, {"q", aq, 1}, {"r", ar, 1}};
    check_recall(__LINE__, space, p, 2, &params, 10, plain, 3);
    CHECK_STATUS(ts_link(space, "p", "r", 0.9f, NULL), MN_OK);
    float ar2 = (1.0f * 0.9f) * 0.5f;
    const want merged[] = {{"p", 1.0f, 0}, {"r", ar2, 1}, {"q", aq, 1}};
    check_recall(__LINE__, space, p, 2, &params, 10, merged, 3);
    /* Without similarity only the association remains. */
    params.flags = MN_RECALL_NO_SIMILARITY;
    const want links_only[] = {{"p", 1.0f, 0}, {"r", ar2, 1}};
    check_recall(__LINE__, space, p, 2, &params, 10, links_only, 2);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

static void test_errors(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "errors", 2, MN_METRIC_L2);
    const float v[2] = {1, 2};
    CHECK_STATUS(ts_write(space, 0, "x", v, 2, NULL), MN_OK);
    CHECK_STATUS(ts_write(space, 0, "y", v, 2, NULL), MN_OK);
    mn_space_stats before;
    mn_space_stats_get(space, &before);
    /* Refused before anything is queued. */
    CHECK_STATUS(ts_link(space, "x", "y", 0.0f, NULL), MN_ERR_INVALID);
    CHECK_STATUS(ts_link(space, "x", "y", -0.5f, NULL), MN_ERR_INVALID);
    CHECK_STATUS(ts_link(space, "x", "y", 1.0001f, NULL), MN_ERR_INVALID);
    CHECK_STATUS(ts_link(space, "x", "y", NAN, NULL), MN_ERR_INVALID);
    CHECK_STATUS(ts_link(space, "x", "x", 0.5f, NULL), MN_ERR_INVALID);
    CHECK_STATUS(ts_link(space, "", "y", 0.5f, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_link(NULL, "x", 1, "y", 1, 0.5f, 0, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_link(space, NULL, 1, "y", 1, 0.5f, 0, NULL, NULL), MN_ERR_INVALID);
    char long_id[MN_ENGINE_ID_BYTES_MAX + 2];
    memset(long_id, 'i', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    CHECK_STATUS(ts_link(space, long_id, "y", 0.5f, NULL), MN_ERR_TOO_LARGE);
    CHECK_STATUS(ts_unlink(space, "y", long_id), MN_ERR_TOO_LARGE);
    CHECK_STATUS(ts_unlink(space, "y", "y"), MN_ERR_INVALID);
    mn_space_stats after;
    mn_space_stats_get(space, &after);
    CHECK(after.ops_applied == before.ops_applied);
    /* Applied, and refused there. */
    CHECK_STATUS(ts_link(space, "x", "nobody", 0.5f, NULL), MN_ERR_NOT_FOUND);
    CHECK_STATUS(ts_link(space, "nobody", "x", 0.5f, NULL), MN_ERR_NOT_FOUND);
    CHECK_STATUS(ts_unlink(space, "x", "y"), MN_ERR_NOT_FOUND);
    CHECK(ts_links(space) == 0);
    CHECK_STATUS(ts_link(space, "x", "y", 1.0f, NULL), MN_OK);

    /* Degree bound: a memory's 257th outgoing link is refused. */
    char id[16];
    for (uint32_t i = 0; i <= MN_ASSOC_DEGREE_MAX; i++) {
        snprintf(id, sizeof(id), "n%u", i);
        float w[2] = {(float)i, 5};
        CHECK_STATUS(ts_write(space, 0, id, w, 2, NULL), MN_OK);
    }
    int linked = 1;
    for (uint32_t i = 0; i < MN_ASSOC_DEGREE_MAX - 1; i++) { /* x -> y is one already */
        snprintf(id, sizeof(id), "n%u", i);
        linked &= ts_link(space, "x", id, 0.5f, NULL) == MN_OK;
    }
    CHECK(linked);
    snprintf(id, sizeof(id), "n%u", MN_ASSOC_DEGREE_MAX - 1);
    CHECK_STATUS(ts_link(space, "x", id, 0.5f, NULL), MN_ERR_FULL);
    CHECK(ts_links(space) == MN_ASSOC_DEGREE_MAX);
    CHECK_STATUS(ts_delete(space, "x"), MN_OK);
    CHECK(ts_links(space) == 0);

    /* Recall arguments. */
    ts_results r;
    mn_recall_params bad;
    mn_recall_params_default(&bad);
    uint32_t found = 0;
    CHECK_STATUS(mn_space_recall(space, v, 2, NULL, 0, NULL, NULL, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_recall(space, v, 2, NULL, MN_ENGINE_RECALL_LIMIT_MAX + 1, NULL, NULL, &found),
                 MN_ERR_INVALID);
    CHECK_STATUS(mn_space_recall(space, v, 2, NULL, 10, NULL, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_recall(space, NULL, 2, NULL, 10, NULL, NULL, &found), MN_ERR_INVALID);
    CHECK_STATUS(ts_recall(space, v, 3, NULL, 10, &r), MN_ERR_DIMENSION);
    const float nan_cue[2] = {NAN, 0};
    CHECK_STATUS(ts_recall(space, nan_cue, 2, NULL, 10, &r), MN_ERR_NON_FINITE);
    bad.hops = MN_ASSOC_HOPS_MAX + 1;
    CHECK_STATUS(ts_recall(space, v, 2, &bad, 10, &r), MN_ERR_INVALID);
    CHECK_STATUS(ts_recall(space, v, 2, NULL, 10, &r), MN_OK); /* defaults */
    CHECK(r.count == 10);
    CHECK_STATUS(mn_space_recall(space, v, 2, NULL, 10, NULL, NULL, &found), MN_OK); /* count only */
    CHECK(found == 10);
    CHECK_STATUS(mn_engine_space_drop(engine, "errors", 6), MN_OK);
    CHECK_STATUS(ts_recall(space, v, 2, NULL, 10, &r), MN_ERR_UNKNOWN_SPACE);
    CHECK_STATUS(ts_link(space, "y", "n1", 0.5f, NULL), MN_ERR_UNKNOWN_SPACE);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

int main(void) {
    test_graph();
    test_similarity();
    test_errors();
    return te_report();
}
