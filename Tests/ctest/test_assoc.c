/*
 * test_assoc.c: the association table and recall by spreading activation.
 *
 * Proves: links are stored at both ends, updated, removed, bounded (MN_ERR_FULL past
 * MN_ASSOC_DEGREE_MAX either way) and validated (NaN, 0, negative, > 1, self links); removing a
 * memory removes its links in both directions; recall on small graphs gives exactly the
 * activations and hop counts computed by hand below (association links, similarity edges under
 * L2 and cosine, the two merged), honours the threshold, the hop limit, the fan-out cap and the
 * node budget; keeps the maximum over paths with synchronous rounds; is deterministic and
 * independent of insertion order (checked against an independent oracle on a random graph);
 * rejects bad parameters; and the table round-trips through its stream byte-exactly while every
 * truncation, bit flip and checksum-correct structural lie is rejected with a status.
 */
#include <xxhash.h>

#include "assoc/mn_assoc.h"
#include "mnemo/mn_hnsw.h"
#include "mn_test.h"

#define EPS 1e-6f

/* ---- helpers ---- */

static mn_hnsw *make_index(mn_metric metric, uint32_t dimension, const uint64_t *ids, const float *vectors,
                           uint32_t count) {
    mn_hnsw_params params;
    mn_hnsw_params_default(dimension, metric, &params);
    mn_hnsw *index = NULL;
    CHECK_STATUS(mn_hnsw_create(&params, &index), MN_OK);
    for (uint32_t i = 0; i < count; i++) CHECK_STATUS(mn_hnsw_insert(index, ids[i], vectors + i * dimension, dimension), MN_OK);
    return index;
}

static mn_recall_params params_assoc_only(uint32_t seeds, uint32_t hops) {
    mn_recall_params p;
    mn_recall_params_default(&p);
    p.seeds = seeds;
    p.hops = hops;
    p.decay = 0.5f;
    p.threshold = 0.01f;
    p.fan_out = 8;
    p.flags = MN_RECALL_NO_SIMILARITY;
    return p;
}

typedef struct expected {
    uint64_t id;
    float activation;
    uint32_t hops;
} expected;

static void check_results(const char *what, const mn_recall_result *got, uint32_t found, const expected *want,
                          uint32_t count) {
    CHECK(found == count, "%s: %u results, expected %u", what, found, count);
    for (uint32_t i = 0; i < found && i < count; i++) {
        CHECK(got[i].id == want[i].id && fabsf(got[i].activation - want[i].activation) <= EPS &&
                  got[i].hops == want[i].hops,
              "%s: result %u is (%llu, %.9g, %u), expected (%llu, %.9g, %u)", what, i, (unsigned long long)got[i].id,
              got[i].activation, got[i].hops, (unsigned long long)want[i].id, want[i].activation, want[i].hops);
    }
}

/* ---- the table ---- */

static void test_table(void) {
    mn_assoc *a = NULL;
    CHECK_STATUS(mn_assoc_create(&a), MN_OK);
    CHECK_STATUS(mn_assoc_link(a, 1, 2, 0.5f), MN_OK);
    CHECK_STATUS(mn_assoc_link(a, 1, 3, 1.0f), MN_OK);
    CHECK_STATUS(mn_assoc_link(a, 3, 1, 0.25f), MN_OK);
    mn_assoc_edge edges[MN_ASSOC_DEGREE_MAX];
    uint32_t n = 0;
    CHECK_STATUS(mn_assoc_links_of(a, 1, MN_ASSOC_OUT, edges, MN_ASSOC_DEGREE_MAX, &n), MN_OK);
    CHECK(n == 2 && edges[0].id == 2 && edges[0].weight == 0.5f && edges[1].id == 3 && edges[1].weight == 1.0f, "out of 1");
    CHECK_STATUS(mn_assoc_links_of(a, 1, MN_ASSOC_IN, edges, MN_ASSOC_DEGREE_MAX, &n), MN_OK);
    CHECK(n == 1 && edges[0].id == 3 && edges[0].weight == 0.25f, "in of 1");
    CHECK_STATUS(mn_assoc_links_of(a, 2, MN_ASSOC_IN, edges, MN_ASSOC_DEGREE_MAX, &n), MN_OK);
    CHECK(n == 1 && edges[0].id == 1, "in of 2");
    CHECK_STATUS(mn_assoc_links_of(a, 99, MN_ASSOC_OUT, edges, MN_ASSOC_DEGREE_MAX, &n), MN_OK);
    CHECK(n == 0, "unknown id has no links");
    CHECK_STATUS(mn_assoc_links_of(a, 1, MN_ASSOC_OUT, edges, 1, &n), MN_OK);
    CHECK(n == 1, "capacity respected");
    uint64_t count = 0;
    mn_assoc_count(a, &count);
    CHECK(count == 3, "3 links, got %llu", (unsigned long long)count);

    /* Re-linking updates the weight at both ends. */
    CHECK_STATUS(mn_assoc_link(a, 1, 2, 0.75f), MN_OK);
    mn_assoc_links_of(a, 2, MN_ASSOC_IN, edges, MN_ASSOC_DEGREE_MAX, &n);
    CHECK(n == 1 && edges[0].weight == 0.75f, "weight updated at the target");
    mn_assoc_count(a, &count);
    CHECK(count == 3, "update is not a new link");

    /* Bad weights and ids. */
    CHECK_STATUS(mn_assoc_link(a, 1, 4, NAN), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_link(a, 1, 4, 0.0f), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_link(a, 1, 4, -0.0f), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_link(a, 1, 4, -0.5f), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_link(a, 1, 4, 1.0001f), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_link(a, 1, 4, INFINITY), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_link(a, 1, 4, 1e-30f), MN_OK); /* tiny but positive */
    CHECK_STATUS(mn_assoc_link(a, 5, 5, 0.5f), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_link(NULL, 1, 2, 0.5f), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_links_of(a, 1, 7, edges, 4, &n), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_links_of(a, 1, MN_ASSOC_OUT, NULL, 4, &n), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_unlink(a, 2, 1), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_assoc_unlink(a, 77, 78), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_assoc_unlink(a, 1, 4), MN_OK);
    CHECK_STATUS(mn_assoc_unlink(a, 1, 4), MN_ERR_NOT_FOUND);

    /* remove_all: 1 has out-links to 2, 3 and an in-link from 3; all go, at both ends. */
    uint32_t removed = 0;
    CHECK_STATUS(mn_assoc_remove_all(a, 1, &removed), MN_OK);
    CHECK(removed == 3, "removed %u", removed);
    mn_assoc_links_of(a, 3, MN_ASSOC_OUT, edges, MN_ASSOC_DEGREE_MAX, &n);
    CHECK(n == 0, "3's link to 1 is gone");
    mn_assoc_links_of(a, 3, MN_ASSOC_IN, edges, MN_ASSOC_DEGREE_MAX, &n);
    CHECK(n == 0, "1's link to 3 is gone");
    mn_assoc_links_of(a, 2, MN_ASSOC_IN, edges, MN_ASSOC_DEGREE_MAX, &n);
    CHECK(n == 0, "1's link to 2 is gone");
    mn_assoc_count(a, &count);
    CHECK(count == 0, "no links left, %llu", (unsigned long long)count);
    CHECK_STATUS(mn_assoc_remove_all(a, 1, &removed), MN_OK);
    CHECK(removed == 0, "removing again removes nothing");

    /* Degree limits, out and in. */
    for (uint64_t i = 0; i < MN_ASSOC_DEGREE_MAX; i++) CHECK_STATUS(mn_assoc_link(a, 1000, 2000 + i, 0.5f), MN_OK);
    CHECK_STATUS(mn_assoc_link(a, 1000, 9999, 0.5f), MN_ERR_FULL);
    CHECK_STATUS(mn_assoc_link(a, 1000, 2000, 0.9f), MN_OK); /* an update still fits */
    for (uint64_t i = 0; i < MN_ASSOC_DEGREE_MAX; i++) CHECK_STATUS(mn_assoc_link(a, 5000 + i, 4000, 0.5f), MN_OK);
    CHECK_STATUS(mn_assoc_link(a, 9998, 4000, 0.5f), MN_ERR_FULL);
    CHECK_STATUS(mn_assoc_remove_all(a, 4000, &removed), MN_OK);
    CHECK(removed == MN_ASSOC_DEGREE_MAX, "removed %u in-links", removed);
    CHECK_STATUS(mn_assoc_link(a, 9998, 4000, 0.5f), MN_OK);
    mn_assoc_destroy(a);

    /* Many memories: the slot array is rebuilt many times; every link survives. */
    CHECK_STATUS(mn_assoc_create(&a), MN_OK);
    mn_test_rng rng = {99};
    for (uint64_t i = 0; i < 6000; i++) CHECK_STATUS(mn_assoc_link(a, i, i + 1 + mn_test_next(&rng) % 5, 0.5f), MN_OK);
    for (uint64_t i = 0; i < 6000; i += 2) CHECK_STATUS(mn_assoc_remove_all(a, i, NULL), MN_OK);
    for (uint64_t i = 0; i < 6000; i += 2) CHECK_STATUS(mn_assoc_link(a, i, i + 1, 0.25f), MN_OK);
    int wrong = 0;
    for (uint64_t i = 0; i < 6000; i += 2) {
        mn_assoc_links_of(a, i, MN_ASSOC_OUT, edges, MN_ASSOC_DEGREE_MAX, &n);
        wrong += n != 1 || edges[0].id != i + 1 || edges[0].weight != 0.25f;
    }
    CHECK(wrong == 0, "%d memories lost their links across rebuilds", wrong);
    mn_assoc_destroy(a);
    CHECK_STATUS(mn_assoc_destroy(NULL), MN_OK);
}

/* ---- recall, hand-computed ---- */

/*
 * Graph A: six memories on a line (L2, dimension 2), ids 1..6 at x = 0, 10, 20, 30, 40, 50.
 * Links: 1->2 0.8, 2->3 0.5, 1->3 0.25, 3->4 1.0, 4->5 0.9, 2->6 0.1. Cue (0, 0), one seed:
 * memory 1 at distance 0, similarity 1 / (1 + 0) = 1. decay 0.5, threshold 0.01, fan_out 8.
 *   round 1 (from 1 @ 1.0):    2 = 1.0 * 0.8 * 0.5 = 0.4;   3 = 1.0 * 0.25 * 0.5 = 0.125
 *   round 2 (2 @ 0.4, 3 @ 0.125): via 2: 3 gets 0.4 * 0.5 * 0.5 = 0.1 (< 0.125, kept 0.125),
 *                                 6 = 0.4 * 0.1 * 0.5 = 0.02;  via 3: 4 = 0.125 * 1 * 0.5 = 0.0625
 *   round 3 (4 @ 0.0625, 6 @ 0.02): 5 = 0.0625 * 0.9 * 0.5 = 0.028125
 */
static mn_hnsw *graph_a_index(void) {
    uint64_t ids[6] = {1, 2, 3, 4, 5, 6};
    float vectors[12] = {0, 0, 10, 0, 20, 0, 30, 0, 40, 0, 50, 0};
    return make_index(MN_METRIC_L2, 2, ids, vectors, 6);
}

static mn_assoc *graph_a_links(void) {
    mn_assoc *a = NULL;
    mn_assoc_create(&a);
    mn_assoc_link(a, 1, 2, 0.8f);
    mn_assoc_link(a, 2, 3, 0.5f);
    mn_assoc_link(a, 1, 3, 0.25f);
    mn_assoc_link(a, 3, 4, 1.0f);
    mn_assoc_link(a, 4, 5, 0.9f);
    mn_assoc_link(a, 2, 6, 0.1f);
    return a;
}

static void test_recall_graph_a(void) {
    mn_hnsw *index = graph_a_index();
    mn_assoc *a = graph_a_links();
    const float cue[2] = {0, 0};
    mn_recall_result r[16];
    uint32_t found = 0;

    mn_recall_params p = params_assoc_only(1, 3);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 16, &found), MN_OK);
    const expected full[] = {{1, 1.0f, 0}, {2, 0.4f, 1}, {3, 0.125f, 1}, {4, 0.0625f, 2}, {5, 0.028125f, 3}, {6, 0.02f, 2}};
    check_results("graph A", r, found, full, 6);

    /* Capacity cuts the list, keeping the order. */
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 2, &found), MN_OK);
    check_results("graph A, capacity 2", r, found, full, 2);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, NULL, 0, &found), MN_OK);
    CHECK(found == 0, "capacity 0");

    /* Hop limit 2: 5 (reached in round 3) is not recalled. */
    p.hops = 2;
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 16, &found), MN_OK);
    const expected two_hops[] = {{1, 1.0f, 0}, {2, 0.4f, 1}, {3, 0.125f, 1}, {4, 0.0625f, 2}, {6, 0.02f, 2}};
    check_results("graph A, 2 hops", r, found, two_hops, 5);
    /* Hop limit 0: the seeds alone. */
    p.hops = 0;
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 16, &found), MN_OK);
    check_results("graph A, 0 hops", r, found, full, 1);

    /* Threshold 0.05: 5 (0.028125) and 6 (0.02) fall below it. */
    p = params_assoc_only(1, 3);
    p.threshold = 0.05f;
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 16, &found), MN_OK);
    check_results("graph A, threshold 0.05", r, found, full, 4);

    /* Fan-out 1: each memory follows only its heaviest link.
     *   1 -> 2 (0.8 beats 0.25): 2 = 0.4;  2 -> 3 (0.5 beats 0.1): 3 = 0.4 * 0.5 * 0.5 = 0.1 (hop 2);
     *   3 -> 4: 4 = 0.1 * 1 * 0.5 = 0.05 (hop 3). */
    p = params_assoc_only(1, 3);
    p.fan_out = 1;
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 16, &found), MN_OK);
    const expected fan1[] = {{1, 1.0f, 0}, {2, 0.4f, 1}, {3, 0.1f, 2}, {4, 0.05f, 3}};
    check_results("graph A, fan-out 1", r, found, fan1, 4);

    /* Node budget 3: 1, 2, 3 are activated in round 1, nothing new afterwards. */
    p = params_assoc_only(1, 3);
    p.nodes_max = 3;
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 16, &found), MN_OK);
    check_results("graph A, 3 nodes", r, found, full, 3);

    /* Two seeds: memory 2 at squared distance 100 has similarity 1/101 = 0.0099 < 0.01 and is
     * no seed; with threshold 0.001 it is a seed (0.00990099, hop 0) that round 1 raises to 0.4
     * (hop 1). Its own spreading in round 1 (0.0099 * ...) is below the threshold. */
    p = params_assoc_only(2, 3);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 16, &found), MN_OK);
    check_results("graph A, two seeds", r, found, full, 6);
    p.threshold = 0.001f;
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 16, &found), MN_OK);
    /* With threshold 0.001 more survives: 5 also gets 0.028125 and the rest as before. */
    check_results("graph A, two seeds, threshold 0.001", r, found, full, 6);

    /* Maximum over paths within the hop limit: make 2 -> 3 weigh 1.0.
     *   round 1: 2 = 0.4, 3 = 0.125
     *   round 2: 3 = max(0.125, 0.4 * 1 * 0.5 = 0.2) = 0.2 (hop 2); 4 = 0.125 * 0.5 = 0.0625;
     *            6 = 0.02
     *   round 3 (3 @ 0.2, 4 @ 0.0625, 6 @ 0.02): 4 = max(0.0625, 0.2 * 0.5 = 0.1) = 0.1 (hop 3);
     *            5 = 0.0625 * 0.9 * 0.5 = 0.028125 (hop 3; the 4-hop path 1-2-3-4-5 would give
     *            0.045 but exceeds the limit, and rounds are synchronous so it is never taken) */
    mn_assoc_link(a, 2, 3, 1.0f);
    p = params_assoc_only(1, 3);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 16, &found), MN_OK);
    const expected longer[] = {{1, 1.0f, 0}, {2, 0.4f, 1}, {3, 0.2f, 2}, {4, 0.1f, 3}, {5, 0.028125f, 3}, {6, 0.02f, 2}};
    check_results("graph A, longer path wins", r, found, longer, 6);
    mn_assoc_link(a, 2, 3, 0.5f);

    /* Removing memory 3's links cuts 4 and 5 off: 1, 2 (0.4), 6 (0.02). */
    uint32_t removed = 0;
    mn_assoc_remove_all(a, 3, &removed);
    CHECK(removed == 3, "3 had 3 links (2->3, 1->3, 3->4), removed %u", removed);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 16, &found), MN_OK);
    const expected cut[] = {{1, 1.0f, 0}, {2, 0.4f, 1}, {6, 0.02f, 2}};
    check_results("graph A without 3", r, found, cut, 3);

    /* Bad parameters. */
    mn_recall_params bad;
    const mn_status invalid = MN_ERR_INVALID;
#define BAD(field, value)                                                                    \
    do {                                                                                     \
        bad = params_assoc_only(1, 3);                                                       \
        bad.field = value;                                                                   \
        CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &bad, r, 16, &found), invalid);       \
    } while (0)
    BAD(seeds, 0);
    BAD(seeds, MN_ASSOC_SEEDS_MAX + 1);
    BAD(hops, MN_ASSOC_HOPS_MAX + 1);
    BAD(fan_out, 0);
    BAD(fan_out, MN_ASSOC_FAN_OUT_MAX + 1);
    BAD(decay, 0.0f);
    BAD(decay, 1.5f);
    BAD(decay, NAN);
    BAD(threshold, -0.1f);
    BAD(threshold, NAN);
    BAD(threshold, 1.5f);
    BAD(ef, MN_HNSW_EF_MAX + 1);
    BAD(flags, 0x80);
    BAD(nodes_max, MN_ASSOC_RECALL_NODES_MAX + 1);
#undef BAD
    bad = params_assoc_only(4, 3);
    bad.nodes_max = 3;
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &bad, r, 16, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 3, &p, r, 16, &found), MN_ERR_DIMENSION);
    CHECK_STATUS(mn_assoc_recall(NULL, index, cue, 2, &p, r, 16, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_recall(a, NULL, cue, 2, &p, r, 16, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_recall(a, index, NULL, 2, &p, r, 16, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, NULL, r, 16, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, NULL, 16, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 16, NULL), MN_ERR_INVALID);
    const float nan_cue[2] = {NAN, 0};
    CHECK_STATUS(mn_assoc_recall(a, index, nan_cue, 2, &p, r, 16, &found), MN_ERR_NON_FINITE);
    mn_recall_params defaults;
    CHECK_STATUS(mn_recall_params_default(&defaults), MN_OK);
    CHECK_STATUS(mn_recall_params_default(NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &defaults, r, 16, &found), MN_OK);

    mn_assoc_destroy(a);
    mn_hnsw_destroy(index);
}

/*
 * Graph B, similarity edges (L2, dimension 2): memories 10 at x = 0, 11 at x = 1, 12 at x = 2.
 * Three nodes fit in every layer-0 list, so the graph is a triangle (checked first). Edge
 * weights 1 / (1 + squared distance): w(10,11) = 1/2 = 0.5, w(11,12) = 1/2 = 0.5,
 * w(10,12) = 1/5 = 0.2. Cue (0, 0), one seed: 10 at 1.0. decay 0.5, threshold 0.01, 2 hops:
 *   round 1 (10 @ 1.0):  11 = 1.0 * 0.5 * 0.5 = 0.25;  12 = 1.0 * 0.2 * 0.5 = 0.1
 *   round 2 (11 @ 0.25, 12 @ 0.1): 12 would get 0.25 * 0.5 * 0.5 = 0.0625 < 0.1, 11 would get
 *            0.1 * 0.5 * 0.5 = 0.025 < 0.25, 10 less than 1: nothing rises.
 * Fan-out 1: 10 expands only 11 (0.5 beats 0.2): 11 = 0.25; 11's edges to 10 and 12 tie at 0.5,
 *   the smaller id (10) wins, 10 does not rise: 12 is never reached.
 * Association 10 -> 12 of weight 0.6 (> similarity 0.2, the edge takes 0.6): 12 = 0.3 (hop 1),
 *   11 = 0.25 (round 2 via 12 offers 0.3 * 0.5 * 0.5 = 0.075).
 * Association 10 -> 11 of weight 0.3 (< similarity 0.5): the edge keeps 0.5, nothing changes.
 * Association 10 -> 11 of weight 1.0: 11 = 0.5 (hop 1); 12 = max(0.1, 0.5 * 0.5 * 0.5 = 0.125)
 *   = 0.125 at hop 2.
 */
static void test_recall_similarity(void) {
    uint64_t ids[3] = {10, 11, 12};
    float vectors[6] = {0, 0, 1, 0, 2, 0};
    mn_hnsw *index = make_index(MN_METRIC_L2, 2, ids, vectors, 3);
    uint64_t nb[8];
    for (uint64_t id = 10; id <= 12; id++) {
        uint32_t n = 0;
        mn_hnsw_neighbors(index, id, 0, nb, 8, &n);
        CHECK(n == 2, "%llu has %u neighbours, expected a triangle", (unsigned long long)id, n);
    }

    mn_assoc *a = NULL;
    mn_assoc_create(&a);
    mn_recall_params p;
    mn_recall_params_default(&p);
    p.seeds = 1;
    p.hops = 2;
    p.decay = 0.5f;
    p.threshold = 0.01f;
    const float cue[2] = {0, 0};
    mn_recall_result r[8];
    uint32_t found = 0;
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 8, &found), MN_OK);
    const expected sim[] = {{10, 1.0f, 0}, {11, 0.25f, 1}, {12, 0.1f, 1}};
    check_results("graph B, similarity", r, found, sim, 3);
    p.fan_out = 1;
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 8, &found), MN_OK);
    check_results("graph B, fan-out 1", r, found, sim, 2);
    p.fan_out = 8;
    /* Without similarity edges and without links, only the seed. */
    p.flags = MN_RECALL_NO_SIMILARITY;
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 8, &found), MN_OK);
    check_results("graph B, no similarity", r, found, sim, 1);
    p.flags = 0;

    mn_assoc_link(a, 10, 12, 0.6f);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 8, &found), MN_OK);
    const expected with_link[] = {{10, 1.0f, 0}, {12, 0.3f, 1}, {11, 0.25f, 1}};
    check_results("graph B + 10->12", r, found, with_link, 3);
    mn_assoc_unlink(a, 10, 12);
    mn_assoc_link(a, 10, 11, 0.3f);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 8, &found), MN_OK);
    check_results("graph B + weak 10->11", r, found, sim, 3);
    mn_assoc_link(a, 10, 11, 1.0f);
    CHECK_STATUS(mn_assoc_recall(a, index, cue, 2, &p, r, 8, &found), MN_OK);
    const expected strong[] = {{10, 1.0f, 0}, {11, 0.5f, 1}, {12, 0.125f, 2}};
    check_results("graph B + strong 10->11", r, found, strong, 3);
    mn_assoc_destroy(a);
    mn_hnsw_destroy(index);

    /* Cosine: cue (1, 0); memories 20 = (1, 0) (cos 1), 21 = (0.6, 0.8) (cos 0.6),
     * 22 = (-1, 0) (cos -1, similarity max(0, -1) = 0: never activated), two... three seeds,
     * links only: 21 -> 22 weight 1: 22 = 0.6 * 1 * 0.5 = 0.3 (hop 1). */
    uint64_t cids[3] = {20, 21, 22};
    float cvectors[6] = {1, 0, 0.6f, 0.8f, -1, 0};
    index = make_index(MN_METRIC_COSINE, 2, cids, cvectors, 3);
    mn_assoc_create(&a);
    const float ccue[2] = {1, 0};
    mn_recall_params c = params_assoc_only(3, 2);
    CHECK_STATUS(mn_assoc_recall(a, index, ccue, 2, &c, r, 8, &found), MN_OK);
    const expected cosine[] = {{20, 1.0f, 0}, {21, 0.6f, 0}};
    check_results("cosine seeds", r, found, cosine, 2);
    mn_assoc_link(a, 21, 22, 1.0f);
    CHECK_STATUS(mn_assoc_recall(a, index, ccue, 2, &c, r, 8, &found), MN_OK);
    const expected cosine_link[] = {{20, 1.0f, 0}, {21, 0.6f, 0}, {22, 0.3f, 1}};
    check_results("cosine seeds + link", r, found, cosine_link, 3);
    mn_assoc_destroy(a);
    mn_hnsw_destroy(index);
}

/* ---- determinism against an oracle ---- */

#define RN 300
#define RDIM 8

typedef struct oracle_edge {
    uint64_t to;
    float w;
} oracle_edge;

static int oracle_compare(const void *a, const void *b) {
    const oracle_edge *x = a, *y = b;
    if (x->w != y->w) return x->w > y->w ? -1 : 1;
    return (x->to > y->to) - (x->to < y->to);
}

/* Dense Bellman-Ford over association links only, written independently of the library. */
static void oracle(const float *link_w, const uint64_t *seed_ids, const float *seed_act, uint32_t seeds,
                   const mn_recall_params *p, float *act, uint32_t *hops) {
    for (int i = 0; i < RN; i++) {
        act[i] = 0;
        hops[i] = UINT32_MAX;
    }
    for (uint32_t s = 0; s < seeds; s++)
        if (seed_act[s] >= p->threshold && seed_act[s] > act[seed_ids[s]]) {
            act[seed_ids[s]] = seed_act[s];
            hops[seed_ids[s]] = 0;
        }
    float prev[RN];
    int rose[RN];
    for (int i = 0; i < RN; i++) rose[i] = hops[i] == 0;
    for (uint32_t h = 1; h <= p->hops; h++) {
        memcpy(prev, act, sizeof(prev));
        int rose_now[RN] = {0};
        for (int u = 0; u < RN; u++) {
            if (!rose[u]) continue;
            oracle_edge e[RN];
            int n = 0;
            for (int v = 0; v < RN; v++)
                if (link_w[u * RN + v] > 0) e[n++] = (oracle_edge){(uint64_t)v, link_w[u * RN + v]};
            qsort(e, (size_t)n, sizeof(oracle_edge), oracle_compare);
            if (n > (int)p->fan_out) n = (int)p->fan_out;
            for (int k = 0; k < n; k++) {
                float c = prev[u] * e[k].w * p->decay;
                if (c < p->threshold) continue;
                if (c > act[e[k].to]) {
                    act[e[k].to] = c;
                    hops[e[k].to] = h;
                    rose_now[e[k].to] = 1;
                }
            }
        }
        memcpy(rose, rose_now, sizeof(rose));
    }
}

static void test_determinism(void) {
    mn_test_rng rng = {2024};
    float *data = mn_test_vectors(&rng, RN, RDIM);
    uint64_t ids[RN];
    for (int i = 0; i < RN; i++) ids[i] = (uint64_t)i;
    mn_hnsw *index = make_index(MN_METRIC_L2, RDIM, ids, data, RN);
    static float link_w[RN * RN];
    memset(link_w, 0, sizeof(link_w));
    uint64_t pairs[1500][2];
    float weights[1500];
    int count = 0;
    while (count < 1500) {
        uint64_t u = mn_test_next(&rng) % RN, v = mn_test_next(&rng) % RN;
        if (u == v || link_w[u * RN + v] > 0) continue;
        /* Weights in sixteenths so ties (broken by id) are frequent. */
        float w = (float)(1 + mn_test_next(&rng) % 16) / 16.0f;
        link_w[u * RN + v] = w;
        pairs[count][0] = u;
        pairs[count][1] = v;
        weights[count++] = w;
    }
    mn_assoc *a1 = NULL, *a2 = NULL;
    mn_assoc_create(&a1);
    mn_assoc_create(&a2);
    for (int i = 0; i < count; i++) CHECK_STATUS(mn_assoc_link(a1, pairs[i][0], pairs[i][1], weights[i]), MN_OK);
    for (int i = count - 1; i >= 0; i--) CHECK_STATUS(mn_assoc_link(a2, pairs[i][0], pairs[i][1], weights[i]), MN_OK);

    static mn_recall_result r1[RN], r2[RN];
    for (int trial = 0; trial < 20; trial++) {
        const float *cue = data + (mn_test_next(&rng) % RN) * RDIM;
        mn_recall_params p;
        mn_recall_params_default(&p);
        p.seeds = 1 + (uint32_t)(mn_test_next(&rng) % 6);
        p.hops = (uint32_t)(mn_test_next(&rng) % 5);
        p.fan_out = 1 + (uint32_t)(mn_test_next(&rng) % 6);
        p.decay = 0.9f;
        p.threshold = 0.001f;
        p.ef = 400; /* exact seeds on this small index */
        uint32_t f1 = 0, f2 = 0;
        CHECK_STATUS(mn_assoc_recall(a1, index, cue, RDIM, &p, r1, RN, &f1), MN_OK);
        CHECK_STATUS(mn_assoc_recall(a2, index, cue, RDIM, &p, r2, RN, &f2), MN_OK);
        CHECK(f1 == f2 && memcmp(r1, r2, f1 * sizeof(mn_recall_result)) == 0, "trial %d: insertion order changed the result",
              trial);
        p.flags = 0;
        CHECK_STATUS(mn_assoc_recall(a1, index, cue, RDIM, &p, r1, RN, &f1), MN_OK);
        CHECK_STATUS(mn_assoc_recall(a2, index, cue, RDIM, &p, r2, RN, &f2), MN_OK);
        CHECK(f1 == f2 && memcmp(r1, r2, f1 * sizeof(mn_recall_result)) == 0, "trial %d: with similarity", trial);
        for (uint32_t i = 1; i < f1; i++)
            CHECK(r1[i - 1].activation > r1[i].activation ||
                      (r1[i - 1].activation == r1[i].activation && r1[i - 1].id < r1[i].id),
                  "trial %d: results out of order at %u", trial, i);

        /* Association-only recall against the oracle. */
        p.flags = MN_RECALL_NO_SIMILARITY;
        CHECK_STATUS(mn_assoc_recall(a1, index, cue, RDIM, &p, r1, RN, &f1), MN_OK);
        mn_hnsw_result seeds[8];
        uint32_t seed_count = 0;
        mn_hnsw_search(index, cue, RDIM, p.seeds, p.ef, seeds, &seed_count);
        uint64_t seed_ids[8];
        float seed_act[8];
        for (uint32_t s = 0; s < seed_count; s++) {
            seed_ids[s] = seeds[s].id;
            seed_act[s] = 1.0f / (1.0f + seeds[s].distance);
        }
        float act[RN];
        uint32_t hops[RN];
        oracle(link_w, seed_ids, seed_act, seed_count, &p, act, hops);
        uint32_t expected_count = 0;
        for (int i = 0; i < RN; i++) expected_count += act[i] > 0;
        CHECK(f1 == expected_count, "trial %d: %u recalled, oracle %u", trial, f1, expected_count);
        int mismatches = 0;
        for (uint32_t i = 0; i < f1; i++)
            mismatches += r1[i].id >= RN || r1[i].activation != act[r1[i].id] || r1[i].hops != hops[r1[i].id];
        CHECK(mismatches == 0, "trial %d: %d results differ from the oracle", trial, mismatches);
    }
    mn_assoc_destroy(a1);
    mn_assoc_destroy(a2);
    mn_hnsw_destroy(index);
    free(data);
}

/* ---- serialization ---- */

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void reseal(uint8_t *data, size_t size) { put_u64(data + size - 8, XXH64(data, size - 8, 0)); }

static void test_serialization(void) {
    mn_assoc *a = graph_a_links();
    mn_test_rng rng = {77};
    for (int i = 0; i < 150; i++) {
        uint64_t u = 100 + mn_test_next(&rng) % 200, v = 100 + mn_test_next(&rng) % 200;
        if (u != v) mn_assoc_link(a, u, v, (float)(1 + mn_test_next(&rng) % 1000) / 1000.0f);
    }
    mn_bytes saved = {0};
    CHECK_STATUS(mn_assoc_save(a, mn_bytes_write, &saved), MN_OK);
    mn_assoc *b = NULL;
    CHECK_STATUS(mn_assoc_load_buffer(saved.data, saved.size, &b), MN_OK);
    uint64_t ca = 0, cb = 0;
    mn_assoc_count(a, &ca);
    mn_assoc_count(b, &cb);
    CHECK(ca == cb, "link counts %llu vs %llu", (unsigned long long)ca, (unsigned long long)cb);
    int differ = 0;
    mn_assoc_edge ea[MN_ASSOC_DEGREE_MAX], eb[MN_ASSOC_DEGREE_MAX];
    for (uint64_t id = 0; id < 300; id++)
        for (int32_t dir = MN_ASSOC_OUT; dir <= MN_ASSOC_IN; dir++) {
            uint32_t na = 0, nb = 0;
            mn_assoc_links_of(a, id, dir, ea, MN_ASSOC_DEGREE_MAX, &na);
            mn_assoc_links_of(b, id, dir, eb, MN_ASSOC_DEGREE_MAX, &nb);
            differ += na != nb || memcmp(ea, eb, na * sizeof(mn_assoc_edge)) != 0;
        }
    CHECK(differ == 0, "%d link lists differ after a round trip", differ);
    mn_bytes again = {0};
    CHECK_STATUS(mn_assoc_save(b, mn_bytes_write, &again), MN_OK);
    CHECK(again.size == saved.size && memcmp(again.data, saved.data, saved.size) == 0, "second save differs");
    mn_assoc_destroy(b);
    free(again.data);

    /* An empty table round-trips too. */
    mn_assoc *empty = NULL;
    mn_assoc_create(&empty);
    mn_bytes e = {0};
    CHECK_STATUS(mn_assoc_save(empty, mn_bytes_write, &e), MN_OK);
    CHECK(e.size == 40, "empty stream is a header and a trailer (%zu)", e.size);
    CHECK_STATUS(mn_assoc_load_buffer(e.data, e.size, &b), MN_OK);
    mn_assoc_destroy(b);
    mn_assoc_destroy(empty);
    free(e.data);

    /* Every truncation fails with MN_ERR_TRUNCATED; a trailing byte with MN_ERR_CORRUPT. */
    int bad = 0;
    for (size_t size = 0; size < saved.size; size++) {
        b = NULL;
        mn_status status = mn_assoc_load_buffer(saved.data, size, &b);
        bad += status != MN_ERR_TRUNCATED || b != NULL;
    }
    CHECK(bad == 0, "%d truncations not reported as truncated", bad);
    uint8_t *longer = malloc(saved.size + 1);
    memcpy(longer, saved.data, saved.size);
    longer[saved.size] = 0;
    CHECK_STATUS(mn_assoc_load_buffer(longer, saved.size + 1, &b), MN_ERR_CORRUPT);
    free(longer);

    /* Every single bit flip is rejected (by the checksum or the header checks). */
    uint8_t *mutant = malloc(saved.size);
    bad = 0;
    for (size_t i = 0; i < saved.size; i++) {
        memcpy(mutant, saved.data, saved.size);
        mutant[i] ^= (uint8_t)(1u << (i % 8));
        b = NULL;
        mn_status status = mn_assoc_load_buffer(mutant, saved.size, &b);
        bad += !(status == MN_ERR_CORRUPT || status == MN_ERR_VERSION || status == MN_ERR_TRUNCATED) || b != NULL;
    }
    CHECK(bad == 0, "%d bit flips accepted", bad);

    /* Structural lies with a correct checksum. Layout: header 32 bytes; graph A's first
     * record is memory 1: id @32, count @40, links @44: (2, 0.8) (3, 0.25). */
    CHECK(get_u64(saved.data + 32) == 1, "first record is memory 1");
    struct {
        const char *what;
        size_t offset;
        int width; /* 4 or 8 */
        uint64_t value;
        mn_status expected;
    } lies[] = {
        {"magic", 0, 8, 0x0123456789ABCDEFull, MN_ERR_VERSION},
        {"version", 8, 4, 2, MN_ERR_VERSION},
        {"reserved", 12, 4, 1, MN_ERR_CORRUPT},
        {"node count too high", 16, 8, 1000000, MN_ERR_CORRUPT},
        {"link count too low", 24, 8, 1, MN_ERR_CORRUPT},
        {"link count off by one", 24, 8, 0, MN_ERR_CORRUPT},
        {"zero links in a record", 40, 4, 0, MN_ERR_CORRUPT},
        {"too many links in a record", 40, 4, MN_ASSOC_DEGREE_MAX + 1, MN_ERR_CORRUPT},
        {"self link", 44, 8, 1, MN_ERR_CORRUPT},
        {"targets out of order", 56, 8, 2, MN_ERR_CORRUPT},
        {"weight zero", 52, 4, 0x00000000u, MN_ERR_CORRUPT},
        {"weight NaN", 52, 4, 0x7FC00000u, MN_ERR_CORRUPT},
        {"weight 2", 52, 4, 0x40000000u, MN_ERR_CORRUPT},
        {"weight negative", 52, 4, 0xBF000000u, MN_ERR_CORRUPT},
        {"weight infinite", 52, 4, 0x7F800000u, MN_ERR_CORRUPT},
        {"memory ids out of order", 32, 8, 0xFFFFFFFFFFFFull, MN_ERR_CORRUPT},
    };
    uint64_t total_links = get_u64(saved.data + 24);
    for (size_t k = 0; k < sizeof(lies) / sizeof(lies[0]); k++) {
        memcpy(mutant, saved.data, saved.size);
        uint64_t value = lies[k].value;
        if (k == 5) value = total_links - 1;
        if (lies[k].width == 8) put_u64(mutant + lies[k].offset, value);
        else put_u32(mutant + lies[k].offset, (uint32_t)value);
        reseal(mutant, saved.size);
        b = NULL;
        mn_status status = mn_assoc_load_buffer(mutant, saved.size, &b);
        CHECK(status == lies[k].expected && b == NULL, "%s: got %d (%s)", lies[k].what, status, mn_status_string(status));
    }
    free(mutant);
    free(saved.data);
    mn_assoc_destroy(a);

    /* In-degree over the limit across records: each record is valid, the table is not. */
    size_t n = MN_ASSOC_DEGREE_MAX + 1;
    size_t size = 32 + n * (12 + 12) + 8;
    uint8_t *stream = calloc(1, size);
    memcpy(stream, "MNEMOASC", 8);
    put_u32(stream + 8, 1);
    put_u64(stream + 16, n);
    put_u64(stream + 24, n);
    for (size_t i = 0; i < n; i++) {
        uint8_t *rec = stream + 32 + i * 24;
        put_u64(rec, 100 + i);
        put_u32(rec + 8, 1);
        put_u64(rec + 12, 7);
        put_u32(rec + 20, 0x3F000000u); /* 0.5 */
    }
    reseal(stream, size);
    CHECK_STATUS(mn_assoc_load_buffer(stream, size, &b), MN_ERR_CORRUPT);
    put_u64(stream + 16, n - 1); /* one record fewer: 256 links into 7, within the limit */
    put_u64(stream + 24, n - 1);
    memmove(stream + 32 + (n - 1) * 24, stream + size - 8, 8);
    reseal(stream, size - 24);
    CHECK_STATUS(mn_assoc_load_buffer(stream, size - 24, &b), MN_OK);
    mn_assoc_edge in[MN_ASSOC_DEGREE_MAX];
    uint32_t in_count = 0;
    mn_assoc_links_of(b, 7, MN_ASSOC_IN, in, MN_ASSOC_DEGREE_MAX, &in_count);
    CHECK(in_count == MN_ASSOC_DEGREE_MAX, "256 links into 7, got %u", in_count);
    mn_assoc_destroy(b);
    free(stream);
    CHECK_STATUS(mn_assoc_load_buffer(NULL, 4, &b), MN_ERR_INVALID);
    CHECK_STATUS(mn_assoc_save(NULL, mn_bytes_write, NULL), MN_ERR_INVALID);
}

int main(void) {
    test_table();
    test_recall_graph_a();
    test_recall_similarity();
    test_determinism();
    test_serialization();
    return mn_test_finish("test_assoc");
}
