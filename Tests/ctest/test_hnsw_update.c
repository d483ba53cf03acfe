/*
 * test_hnsw_update.c: proves mn_hnsw_update, the in-place vector update.
 *
 * - An updated node keeps its slot: after rounds that rewrite every vector the index has the
 *   same slot count, no removed nodes and the same bytes of node storage; get returns the new
 *   vector and an exact search finds it.
 * - Recall after 10 rounds of moving every vector far away (to another row's vector plus
 *   noise) stays near a fresh build over the final vectors (clustered data, all three
 *   metrics, within 0.03), and on wordnet384 (its first WORDNET_ROWS rows as the space, 1,000
 *   queries) within 0.005 at M 16, ef_construction 100, ef 40 (data-dependent: skipped without
 *   ../shared/data, except under CI=true where it must run).
 * - The same vector again (content-only upsert) leaves the saved stream byte-identical, and so
 *   do refused updates (absent id, wrong dimension, NaN, zero vector under cosine).
 * - Update batches (mn_hnsw_update_batch_begin: 64 distinct ids at a time, applied by two
 *   threads at once) meet the same bars (synthetic L2 and wordnet384), and a refused batch
 *   (absent id, an id twice, a bad vector anywhere in it) changes nothing.
 * - A save taken while updates are unsettled loads into an index with the current vectors.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "hnsw/mn_hnsw_batch.h"
#include "hnsw/mn_hnsw_internal.h"
#include "mnemo/mn_hnsw.h"
#include "mn_test.h"
#include "mn_test_data.h"

#define DIM 24
#define COUNT 2000
#define QUERIES 100
#define K 10
#define ROUNDS 10
/* wordnet384: the whole set (0) would take minutes on two shared cores; this many rows, each
 * rewritten ROUNDS times, keep `make test` well under a minute. */
#ifndef WORDNET_ROWS
#define WORDNET_ROWS 5000
#endif
#define WORDNET_QUERIES 1000
#define WORDNET_EF_CONSTRUCTION 100

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double recall_of(mn_hnsw *index, mn_metric metric, const float *data, size_t count, uint32_t dim,
                        const float *queries, size_t queries_count, uint32_t ef) {
    double total = 0;
    mn_hnsw_result results[K];
    uint64_t truth[K], found[K];
    for (size_t q = 0; q < queries_count; q++) {
        uint32_t n = 0;
        CHECK_STATUS(mn_hnsw_search(index, queries + q * dim, dim, K, ef, results, &n), MN_OK);
        for (uint32_t i = 0; i < n; i++) found[i] = results[i].id;
        mn_test_brute_force(metric, data, count, dim, queries + q * dim, K, NULL, truth);
        total += mn_test_overlap(truth, found, n, K);
    }
    return total / (double)queries_count;
}

static mn_bytes save_of(mn_hnsw *index) {
    mn_bytes bytes = {0};
    CHECK_STATUS(mn_hnsw_save(index, mn_bytes_write, &bytes), MN_OK);
    return bytes;
}

static int same_bytes(const mn_bytes *a, const mn_bytes *b) {
    return a->size == b->size && memcmp(a->data, b->data, a->size) == 0;
}

/* Row i's vector for round `round`: another row's vector (a far move) plus a little noise. */
static void moved_vector(const float *base, size_t count, uint32_t dim, size_t i, int round, mn_test_rng *rng,
                         float *out) {
    const float *source = base + ((i + (size_t)round * 7919u) % count) * dim;
    for (uint32_t d = 0; d < dim; d++) out[d] = source[d] + 0.02f * mn_test_uniform(rng);
}

/* Builds an index from `data` in one batch on one thread (the same graph every run). */
static mn_hnsw *build(const mn_hnsw_params *params, const float *data, size_t count) {
    mn_hnsw *index = NULL;
    CHECK_STATUS(mn_hnsw_create(params, &index), MN_OK);
    uint64_t *ids = malloc(count * sizeof(uint64_t));
    for (size_t i = 0; i < count; i++) ids[i] = i;
    size_t failed = 0;
    CHECK_STATUS(mn_hnsw_insert_batch(index, ids, data, count, params->dimension, 1, &failed), MN_OK);
    free(ids);
    return index;
}

/* Update batches in the rounds: this many distinct ids each, worked by BATCH_THREADS threads
 * (the engine's shape when a hot space's queued upserts are applied as one group). */
#define BATCH_ITEMS 64
#define BATCH_THREADS 2

static void *batch_worker(void *batch) {
    size_t applied = 0;
    mn_hnsw_batch_work(batch, &applied);
    return NULL;
}

/* Updates ids first..first+n-1 to the given rows as one batch worked by BATCH_THREADS threads. */
static void update_batch(mn_hnsw *index, size_t first, size_t n, const float *rows, uint32_t dim) {
    uint64_t ids[BATCH_ITEMS];
    for (size_t i = 0; i < n; i++) ids[i] = first + i;
    mn_hnsw_batch *batch = NULL;
    CHECK_STATUS(mn_hnsw_update_batch_begin(index, ids, rows, n, dim, &batch, NULL), MN_OK);
    pthread_t helpers[BATCH_THREADS - 1];
    for (int t = 0; t < BATCH_THREADS - 1; t++) pthread_create(&helpers[t], NULL, batch_worker, batch);
    size_t applied = 0;
    CHECK_STATUS(mn_hnsw_batch_work(batch, &applied), MN_OK);
    for (int t = 0; t < BATCH_THREADS - 1; t++) pthread_join(helpers[t], NULL);
    CHECK_STATUS(mn_hnsw_batch_end(batch), MN_OK);
}

/*
 * Rewrites every vector of an index built over `base` ROUNDS times (one update at a time, or
 * in update batches), then compares its recall with a fresh build over the final vectors.
 * Returns (updated - fresh).
 */
static double rounds_against_fresh(const mn_hnsw_params *params, const float *base, size_t count,
                                   const float *queries, size_t queries_count, uint32_t ef, const char *name,
                                   int batched) {
    const uint32_t dim = params->dimension;
    mn_test_rng rng = {0x5eed};
    double started = now_s();
    mn_hnsw *index = build(params, base, count);
    uint32_t slots = atomic_load(&index->next_slot);
    uint64_t bytes_before = 0;
    mn_hnsw_bytes(index, &bytes_before);
    int64_t lists_before = atomic_load(&index->list_bytes);
    float *current = malloc(count * dim * sizeof(float));
    memcpy(current, base, count * dim * sizeof(float));
    double built = now_s();
    for (int round = 1; round <= ROUNDS; round++) {
        for (size_t i = 0; i < count; i++) {
            moved_vector(base, count, dim, i, round, &rng, current + i * dim);
            if (!batched) CHECK_STATUS(mn_hnsw_update(index, i, current + i * dim, dim), MN_OK);
        }
        for (size_t i = 0; batched && i < count; i += BATCH_ITEMS) {
            size_t n = count - i < BATCH_ITEMS ? count - i : BATCH_ITEMS;
            update_batch(index, i, n, current + i * dim, dim);
        }
        CHECK(atomic_load(&index->next_slot) == slots, "%s round %d: %u slots, was %u", name, round,
              atomic_load(&index->next_slot), slots);
        CHECK(atomic_load(&index->deleted_count) == 0, "%s round %d: removed nodes left", name, round);
    }
    double updated_at = now_s();
    if (params->metric == MN_METRIC_COSINE) mn_test_normalize(current, count, dim);
    uint64_t live = 0;
    mn_hnsw_count(index, &live);
    CHECK(live == count, "%s: %llu live", name, (unsigned long long)live);
    /* Node storage and the id table did not grow (lists fill towards their capacity, as they
     * do under inserts; they are bounded by it). */
    uint64_t bytes_after = 0;
    mn_hnsw_bytes(index, &bytes_after);
    int64_t lists_after = atomic_load(&index->list_bytes);
    CHECK(bytes_after - (uint64_t)lists_after == bytes_before - (uint64_t)lists_before,
          "%s: bytes outside lists %llu -> %llu", name, (unsigned long long)(bytes_before - (uint64_t)lists_before),
          (unsigned long long)(bytes_after - (uint64_t)lists_after));
    /* The vectors are the new ones. */
    float got[MN_DIMENSION_MAX];
    for (size_t i = 0; i < count; i += count / 10) {
        CHECK_STATUS(mn_hnsw_get(index, i, got, dim), MN_OK);
        CHECK(memcmp(got, current + i * dim, dim * sizeof(float)) == 0, "%s: vector %zu", name, i);
    }
    double updated_recall = recall_of(index, params->metric, current, count, dim, queries, queries_count, ef);
    mn_hnsw *fresh = build(params, current, count);
    double fresh_recall = recall_of(fresh, params->metric, current, count, dim, queries, queries_count, ef);
    printf("%s: %zu vectors x %d rounds%s: recall@%d ef %u updated %.4f fresh %.4f (build %.1f s, "
           "%d rounds %.1f s)\n",
           name, count, ROUNDS, batched ? " in update batches" : "", K, ef, updated_recall, fresh_recall,
           built - started, ROUNDS,
           updated_at - built);
    mn_hnsw_destroy(fresh);
    mn_hnsw_destroy(index);
    free(current);
    return updated_recall - fresh_recall;
}

static void test_rounds_synthetic(mn_metric metric) {
    mn_test_rng rng = {0x77 + (uint64_t)metric};
    float *data = mn_test_vectors(&rng, COUNT, DIM);
    float *queries = mn_test_vectors(&rng, QUERIES, DIM);
    if (metric != MN_METRIC_L2) {
        mn_test_normalize(data, COUNT, DIM);
        mn_test_normalize(queries, QUERIES, DIM);
    }
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, metric, &params);
    char name[32];
    snprintf(name, sizeof name, "synthetic metric %d", (int)metric);
    double delta = rounds_against_fresh(&params, data, COUNT, queries, QUERIES, 64, name, metric == MN_METRIC_L2);
    /* A sanity bar (100 queries on 24-d clusters: 0.01 is within run-to-run noise); the
     * 0.005 bar is wordnet384's, over 1,000 queries. */
    CHECK(delta >= -0.03, "%s: recall %.4f below a fresh build", name, delta);
    free(data);
    free(queries);
}

static void test_rounds_wordnet(void) {
    mn_test_set data;
    if (!mn_test_set_load("wordnet384", WORDNET_ROWS, WORDNET_QUERIES, &data)) return;
    float *base = data.base, *queries = data.queries;
    size_t count = data.count, queries_count = data.queries_count;
    uint32_t dim = data.dim;
    mn_hnsw_params params;
    mn_hnsw_params_default(dim, MN_METRIC_COSINE, &params);
    params.ef_construction = WORDNET_EF_CONSTRUCTION;
    for (int batched = 0; batched <= 1; batched++) {
        double delta = rounds_against_fresh(&params, base, count, queries, queries_count, 40, "wordnet384",
                                            batched);
        CHECK(delta >= -0.005, "wordnet384%s: recall %.4f below a fresh build",
              batched ? " (update batches)" : "", delta);
    }
    mn_test_set_free(&data);
}

static void test_same_vector_and_refusals(mn_metric metric) {
    mn_test_rng rng = {0x99 + (uint64_t)metric};
    enum { N = 500 };
    float *data = mn_test_vectors(&rng, N, DIM);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, metric, &params);
    mn_hnsw *index = build(&params, data, N);
    /* One real update first, so the same-vector path also meets a node whose vector is still
     * out of line (not settled). */
    float other[DIM];
    for (int d = 0; d < DIM; d++) other[d] = data[7 * DIM + d] + 0.5f;
    CHECK_STATUS(mn_hnsw_update(index, 3, other, DIM), MN_OK);
    mn_bytes before = save_of(index);
    /* Every vector again, as given (cosine normalises both times to the same bytes). */
    for (size_t i = 0; i < N; i++) {
        const float *vector = i == 3 ? other : data + i * DIM;
        CHECK_STATUS(mn_hnsw_update(index, i, vector, DIM), MN_OK);
    }
    mn_bytes after = save_of(index);
    CHECK(same_bytes(&before, &after), "metric %d: same-vector updates changed the graph", (int)metric);
    free(after.data);

    float bad[DIM + 1];
    memcpy(bad, data, sizeof bad);
    bad[0] += 1.0f;
    CHECK_STATUS(mn_hnsw_update(index, N + 5, bad, DIM), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_hnsw_update(index, 1, bad, DIM + 1), MN_ERR_DIMENSION);
    bad[2] = NAN;
    CHECK_STATUS(mn_hnsw_update(index, 1, bad, DIM), MN_ERR_NON_FINITE);
    if (metric == MN_METRIC_COSINE) {
        float zero[DIM] = {0};
        CHECK_STATUS(mn_hnsw_update(index, 1, zero, DIM), MN_ERR_ZERO_VECTOR);
    }
    CHECK_STATUS(mn_hnsw_update(NULL, 1, data, DIM), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_update(index, 1, NULL, DIM), MN_ERR_INVALID);
    /* Refused batches: the offender's position is reported and nothing changes, whatever
     * valid updates come before it. */
    float rows[3 * DIM];
    for (int d = 0; d < 3 * DIM; d++) rows[d] = data[(40 * DIM + d)] + 0.25f;
    mn_hnsw_batch *batch = NULL;
    size_t failed = 99;
    uint64_t absent[3] = {4, 5, N + 9};
    CHECK_STATUS(mn_hnsw_update_batch_begin(index, absent, rows, 3, DIM, &batch, &failed), MN_ERR_NOT_FOUND);
    CHECK(failed == 2, "absent id at %zu", failed);
    uint64_t twice[3] = {4, 5, 4};
    CHECK_STATUS(mn_hnsw_update_batch_begin(index, twice, rows, 3, DIM, &batch, &failed), MN_ERR_DUPLICATE);
    CHECK(failed == 2, "repeated id at %zu", failed);
    uint64_t fine[3] = {4, 5, 6};
    rows[DIM + 1] = INFINITY;
    CHECK_STATUS(mn_hnsw_update_batch_begin(index, fine, rows, 3, DIM, &batch, &failed), MN_ERR_NON_FINITE);
    CHECK(failed == 1, "non-finite vector at %zu", failed);
    uint64_t many[MN_HNSW_SETTLE_BATCH + 1] = {0};
    CHECK_STATUS(mn_hnsw_update_batch_begin(index, many, data, MN_HNSW_SETTLE_BATCH + 1, DIM, &batch, &failed),
                 MN_ERR_TOO_LARGE);
    mn_bytes refused = save_of(index);
    CHECK(same_bytes(&before, &refused), "metric %d: a refused update changed the graph", (int)metric);
    free(before.data);
    free(refused.data);
    CHECK_STATUS(mn_hnsw_remove(index, 2), MN_OK);
    CHECK_STATUS(mn_hnsw_update(index, 2, data, DIM), MN_ERR_NOT_FOUND);

    /* A save with updates unsettled holds the new vectors, and loads. */
    for (size_t i = 10; i < 20; i++) CHECK_STATUS(mn_hnsw_update(index, i, data + (i + 100) * DIM, DIM), MN_OK);
    CHECK(atomic_load(&index->moved_count) == 11, "11 unsettled (with id 3), %llu",
          (unsigned long long)atomic_load(&index->moved_count));
    mn_bytes saved = save_of(index);
    mn_hnsw *loaded = NULL;
    CHECK_STATUS(mn_hnsw_load_buffer(saved.data, saved.size, &loaded), MN_OK);
    float got[DIM], want[DIM];
    for (size_t i = 10; i < 20; i++) {
        CHECK_STATUS(mn_hnsw_get(loaded, i, got, DIM), MN_OK);
        CHECK_STATUS(mn_hnsw_get(index, i, want, DIM), MN_OK);
        CHECK(memcmp(got, want, sizeof got) == 0, "loaded vector %zu", i);
        mn_hnsw_result result;
        uint32_t found = 0;
        CHECK_STATUS(mn_hnsw_search(index, want, DIM, 1, 64, &result, &found), MN_OK);
        CHECK(found == 1 && result.distance < 1e-4f, "updated %zu not found at its new vector", i);
    }
    free(saved.data);
    mn_hnsw_destroy(loaded);
    mn_hnsw_destroy(index);
    free(data);
}

/* MN_HNSW_SETTLE_BATCH + 1 updates settle once: the batch's nodes hold their vectors inline. */
static void test_settle(void) {
    mn_test_rng rng = {0x5e};
    const size_t n = MN_HNSW_SETTLE_BATCH * 2;
    float *data = mn_test_vectors(&rng, n, DIM);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    mn_hnsw *index = build(&params, data, n);
    for (size_t i = 0; i <= MN_HNSW_SETTLE_BATCH; i++)
        CHECK_STATUS(mn_hnsw_update(index, i, data + (n - 1 - i) * DIM, DIM), MN_OK);
    CHECK(atomic_load(&index->moved_count) == 1, "after a settle: %llu unsettled",
          (unsigned long long)atomic_load(&index->moved_count));
    float got[DIM];
    for (size_t i = 0; i <= MN_HNSW_SETTLE_BATCH; i++) {
        CHECK_STATUS(mn_hnsw_get(index, i, got, DIM), MN_OK);
        CHECK(memcmp(got, data + (n - 1 - i) * DIM, sizeof got) == 0, "vector %zu after settle", i);
    }
    /* A removal's repair pass settles too (its slots must carry no copy when reused). */
    for (size_t i = 0; i <= n / MN_HNSW_REPAIR_DIVISOR; i++) CHECK_STATUS(mn_hnsw_remove(index, n - 1 - i), MN_OK);
    CHECK(atomic_load(&index->moved_count) == 0, "the repair pass settled");
    mn_hnsw_destroy(index);
    free(data);
}

int main(void) {
    test_same_vector_and_refusals(MN_METRIC_L2);
    test_same_vector_and_refusals(MN_METRIC_COSINE);
    test_settle();
    test_rounds_synthetic(MN_METRIC_L2);
    test_rounds_synthetic(MN_METRIC_IP);
    test_rounds_synthetic(MN_METRIC_COSINE);
    test_rounds_wordnet();
    return mn_test_finish("test_hnsw_update");
}
