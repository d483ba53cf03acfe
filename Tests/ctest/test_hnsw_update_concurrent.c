/*
 * test_hnsw_update_concurrent.c: proves that in-place updates (mn_hnsw_update) never show a
 * reader a torn vector, and runs clean under ThreadSanitizer (the settle step's copy into a
 * node races no reader: CI builds it with -fsanitize=thread).
 *
 * Every node i has two vectors, A_i and B_i, far apart in every coordinate. One thread
 * updates random nodes back and forth between them (enough updates for several settle
 * steps, MN_HNSW_SETTLE_BATCH each), one inserts new nodes and removes some (so updates meet
 * inserts, removals and repair passes), and three read: get must return exactly A_i or B_i,
 * and every search result's distance must be the distance to A_i or to B_i (a vector half
 * old, half new gives a third number). At the end every node holds the vector it was last
 * given and an exact search finds it. The lower half of the nodes is updated one at a time;
 * the upper half in update batches (mn_hnsw_update_batch_begin) of BATCH distinct nodes that
 * two threads apply at once, re-selecting lists concurrently under node locks.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "hnsw/mn_hnsw_batch.h"
#include "mnemo/mn_hnsw.h"
#include "mn_test.h"

#define DIM 32
#define NODES 800
#define UPDATES 3000
#define EXTRA 400
#define READERS 3
#define BATCH 16

static mn_hnsw *index_under_test;
static float *vectors_a;
static float *vectors_b;
static float *extra;
static _Atomic unsigned char last_b[NODES]; /* which vector node i was last given */
static atomic_int writers_running;
static atomic_int torn;
static atomic_int errors;

static int same(const float *x, const float *y) { return memcmp(x, y, DIM * sizeof(float)) == 0; }

static int close_to(float d, float expected) {
    return fabsf(d - expected) <= 1e-3f * (1.0f + fabsf(expected));
}

static void *updater(void *arg) {
    (void)arg;
    mn_test_rng rng = {0xabc};
    for (int i = 0; i < UPDATES; i++) {
        uint32_t node = (uint32_t)(mn_test_next(&rng) % (NODES / 2));
        unsigned char to_b = !atomic_load(&last_b[node]);
        const float *vector = (to_b ? vectors_b : vectors_a) + (size_t)node * DIM;
        if (mn_hnsw_update(index_under_test, node, vector, DIM) != MN_OK) atomic_fetch_add(&errors, 1);
        atomic_store(&last_b[node], to_b);
    }
    atomic_fetch_sub(&writers_running, 1);
    return NULL;
}

static void *batch_helper(void *batch) {
    size_t applied = 0;
    if (mn_hnsw_batch_work(batch, &applied) != MN_OK) atomic_fetch_add(&errors, 1);
    return NULL;
}

static void *batch_updater(void *arg) {
    (void)arg;
    mn_test_rng rng = {0xbeef};
    float *rows = malloc((size_t)BATCH * DIM * sizeof(float));
    for (int i = 0; i < UPDATES; i += BATCH) {
        uint64_t ids[BATCH];
        unsigned char to_b[BATCH];
        for (int j = 0; j < BATCH; j++) {
            int fresh;
            do { /* distinct nodes of the upper half */
                ids[j] = NODES / 2 + mn_test_next(&rng) % (NODES / 2);
                fresh = 1;
                for (int k = 0; k < j; k++) fresh &= ids[k] != ids[j];
            } while (!fresh);
            to_b[j] = !atomic_load(&last_b[ids[j]]);
            memcpy(rows + (size_t)j * DIM, (to_b[j] ? vectors_b : vectors_a) + ids[j] * DIM, DIM * sizeof(float));
        }
        mn_hnsw_batch *batch = NULL;
        if (mn_hnsw_update_batch_begin(index_under_test, ids, rows, BATCH, DIM, &batch, NULL) != MN_OK) {
            atomic_fetch_add(&errors, 1);
            continue;
        }
        pthread_t helper;
        pthread_create(&helper, NULL, batch_helper, batch);
        size_t applied = 0;
        if (mn_hnsw_batch_work(batch, &applied) != MN_OK) atomic_fetch_add(&errors, 1);
        pthread_join(helper, NULL);
        if (mn_hnsw_batch_end(batch) != MN_OK) atomic_fetch_add(&errors, 1);
        for (int j = 0; j < BATCH; j++) atomic_store(&last_b[ids[j]], to_b[j]);
    }
    free(rows);
    atomic_fetch_sub(&writers_running, 1);
    return NULL;
}

static void *inserter(void *arg) {
    (void)arg;
    for (uint64_t i = 0; i < EXTRA; i++) {
        if (mn_hnsw_insert(index_under_test, NODES + i, extra + i * DIM, DIM) != MN_OK) atomic_fetch_add(&errors, 1);
        /* Remove most of them again: repair passes run among the updates. */
        if (i % 4 != 0 && mn_hnsw_remove(index_under_test, NODES + i) != MN_OK) atomic_fetch_add(&errors, 1);
    }
    atomic_fetch_sub(&writers_running, 1);
    return NULL;
}

static void *reader(void *arg) {
    mn_test_rng rng = {(uint64_t)(uintptr_t)arg * 7919 + 1};
    float got[DIM];
    mn_hnsw_result results[10];
    while (atomic_load(&writers_running) > 0) {
        uint32_t node = (uint32_t)(mn_test_next(&rng) % NODES);
        if (mn_hnsw_get(index_under_test, node, got, DIM) != MN_OK) atomic_fetch_add(&errors, 1);
        else if (!same(got, vectors_a + (size_t)node * DIM) && !same(got, vectors_b + (size_t)node * DIM))
            atomic_fetch_add(&torn, 1);
        const float *query = vectors_a + (size_t)(mn_test_next(&rng) % NODES) * DIM;
        uint32_t found = 0;
        if (mn_hnsw_search(index_under_test, query, DIM, 10, 32, results, &found) != MN_OK || found == 0) {
            atomic_fetch_add(&errors, 1);
            continue;
        }
        for (uint32_t i = 0; i < found; i++) {
            uint64_t id = results[i].id;
            if (id >= NODES) continue; /* an inserted extra: never updated */
            float da, db;
            mn_distance(MN_METRIC_L2, query, vectors_a + id * DIM, DIM, &da);
            mn_distance(MN_METRIC_L2, query, vectors_b + id * DIM, DIM, &db);
            if (!close_to(results[i].distance, da) && !close_to(results[i].distance, db)) atomic_fetch_add(&torn, 1);
        }
    }
    return NULL;
}

int main(void) {
    mn_test_rng rng = {0x1dea};
    vectors_a = mn_test_vectors(&rng, NODES, DIM);
    extra = mn_test_vectors(&rng, EXTRA, DIM);
    /* B_i: A_i moved by 3 in every coordinate, so a mix of the two is far from both. */
    vectors_b = malloc((size_t)NODES * DIM * sizeof(float));
    for (size_t i = 0; i < (size_t)NODES * DIM; i++) vectors_b[i] = vectors_a[i] + 3.0f;
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    params.ef_construction = 64;
    CHECK_STATUS(mn_hnsw_create(&params, &index_under_test), MN_OK);
    for (uint64_t i = 0; i < NODES; i++)
        CHECK_STATUS(mn_hnsw_insert(index_under_test, i, vectors_a + i * DIM, DIM), MN_OK);

    atomic_store(&writers_running, 3);
    pthread_t threads[READERS + 3];
    pthread_create(&threads[0], NULL, updater, NULL);
    pthread_create(&threads[1], NULL, inserter, NULL);
    pthread_create(&threads[2], NULL, batch_updater, NULL);
    for (uintptr_t i = 0; i < READERS; i++) pthread_create(&threads[3 + i], NULL, reader, (void *)(i + 1));
    for (int i = 0; i < READERS + 3; i++) pthread_join(threads[i], NULL);

    CHECK(atomic_load(&errors) == 0, "%d calls failed", atomic_load(&errors));
    CHECK(atomic_load(&torn) == 0, "%d torn vectors seen", atomic_load(&torn));
    uint64_t count = 0;
    mn_hnsw_count(index_under_test, &count);
    CHECK(count == NODES + EXTRA / 4, "count %llu", (unsigned long long)count);
    float got[DIM];
    int missing = 0, wrong = 0;
    for (uint64_t i = 0; i < NODES; i++) {
        const float *want = (atomic_load(&last_b[i]) ? vectors_b : vectors_a) + i * DIM;
        if (mn_hnsw_get(index_under_test, i, got, DIM) != MN_OK || !same(got, want)) wrong++;
        mn_hnsw_result result;
        uint32_t found = 0;
        mn_hnsw_search(index_under_test, want, DIM, 1, 64, &result, &found);
        if (found != 1 || result.id != i) missing++;
    }
    CHECK(wrong == 0, "%d nodes do not hold their last vector", wrong);
    CHECK(missing <= NODES / 100, "%d nodes not found at their vector", missing);
    mn_hnsw_destroy(index_under_test);
    free(vectors_a);
    free(vectors_b);
    free(extra);
    return mn_test_finish("test_hnsw_update_concurrent");
}
