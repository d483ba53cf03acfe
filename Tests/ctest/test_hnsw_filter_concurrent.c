/*
 * test_hnsw_filter_concurrent.c: proves that the filtered search (mn_hnsw_search_filtered) and
 * the exact search over ids (mn_hnsw_search_ids) return only matching, live ids while other
 * threads insert, update and remove, and run clean under ThreadSanitizer (CI builds it with
 * -fsanitize=thread).
 *
 * "Live" is checked the only way a concurrent reader can: every removal is stamped with a
 * sequence number after mn_hnsw_remove returns, and a reader reads the sequence before it
 * searches; an id whose removal was stamped at or before that point finished leaving the index
 * before the search began and must not be returned. Ids never inserted must not appear either.
 * The filters used (10%, 1%, 0.1% of ids) drive all three paths of the traversal: dense
 * expansion, two-hop expansion, and the exact fallback scan, which reaches nodes by slot while
 * removed slots are reused by new inserts (repair passes run: most inserted ids are removed
 * again, and a fifth of the initial ones are removed for good).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "mnemo/mn_hnsw.h"
#include "mn_test.h"

#define DIM 32
#define NODES 2000
#define EXTRA 1200
#define UPDATES 1500
#define READERS 2
#define K 10
#define EF 32
#define ID_LIMIT (NODES + EXTRA)

static mn_hnsw *index_under_test;
static float *vectors;
static float *moved;
static _Atomic uint64_t removal_sequence;
static _Atomic uint64_t removed_at[ID_LIMIT]; /* 0: not removed */
static atomic_int writers_running;
static atomic_int errors;
static atomic_int not_matching;
static atomic_int removed_returned;
static atomic_int unknown_returned;
static atomic_int unsorted;
static atomic_int fallbacks;
static atomic_int two_hops;

static const uint32_t thresholds[] = {100, 10, 1}; /* of 1,000: 10%, 1%, 0.1% */

static int match_below(uint64_t id, void *context) {
    return (uint32_t)((id * 7919u) % 1000u) < *(const uint32_t *)context;
}

static void removed_now(uint64_t id) {
    atomic_store(&removed_at[id], atomic_fetch_add(&removal_sequence, 1) + 1);
}

/* Inserts the extras, removing three in four again (repair passes, slot reuse), and removes
 * every fifth initial id for good. */
static void *inserter(void *arg) {
    (void)arg;
    for (uint64_t i = 0; i < EXTRA; i++) {
        uint64_t id = NODES + i;
        if (mn_hnsw_insert(index_under_test, id, vectors + id * DIM, DIM) != MN_OK) atomic_fetch_add(&errors, 1);
        if (i % 4 != 0) {
            if (mn_hnsw_remove(index_under_test, id) != MN_OK) atomic_fetch_add(&errors, 1);
            removed_now(id);
        }
        if (i % 3 == 0 && (i / 3) * 5 < NODES) {
            uint64_t doomed = (i / 3) * 5;
            if (mn_hnsw_remove(index_under_test, doomed) != MN_OK) atomic_fetch_add(&errors, 1);
            removed_now(doomed);
        }
    }
    atomic_fetch_sub(&writers_running, 1);
    return NULL;
}

/* Moves initial nodes that are never removed (ids not a multiple of 5) to new vectors. */
static void *updater(void *arg) {
    (void)arg;
    mn_test_rng rng = {0x5151};
    for (int i = 0; i < UPDATES; i++) {
        uint64_t id = mn_test_next(&rng) % NODES;
        if (id % 5 == 0) id++;
        const float *vector = (i & 1 ? moved : vectors) + id * DIM;
        if (mn_hnsw_update(index_under_test, id, vector, DIM) != MN_OK) atomic_fetch_add(&errors, 1);
    }
    atomic_fetch_sub(&writers_running, 1);
    return NULL;
}

/* Checks one result list against the filter and the removals stamped before `before`. */
static void check_results(const mn_hnsw_result *results, uint32_t found, uint32_t threshold, uint64_t before) {
    for (uint32_t i = 0; i < found; i++) {
        uint64_t id = results[i].id;
        if (id >= ID_LIMIT) {
            atomic_fetch_add(&unknown_returned, 1);
            continue;
        }
        if (!match_below(id, &threshold)) atomic_fetch_add(&not_matching, 1);
        uint64_t removed = atomic_load(&removed_at[id]);
        if (removed != 0 && removed <= before) atomic_fetch_add(&removed_returned, 1);
        if (i > 0 && results[i].distance < results[i - 1].distance) atomic_fetch_add(&unsorted, 1);
    }
}

static void *reader(void *arg) {
    mn_test_rng rng = {(uint64_t)(uintptr_t)arg * 104729 + 3};
    mn_hnsw_result results[K];
    uint64_t *ids = malloc(ID_LIMIT * sizeof(uint64_t));
    uint32_t round = 0;
    while (atomic_load(&writers_running) > 0) {
        uint32_t threshold = thresholds[round++ % 3];
        const float *query = vectors + (mn_test_next(&rng) % ID_LIMIT) * DIM;
        uint64_t before = atomic_load(&removal_sequence);
        uint32_t found = 0;
        mn_hnsw_filter_stats stats;
        if (mn_hnsw_search_filtered(index_under_test, query, DIM, K, EF, match_below, &threshold, results, &found,
                                    &stats) != MN_OK) {
            atomic_fetch_add(&errors, 1);
            continue;
        }
        check_results(results, found, threshold, before);
        atomic_fetch_add(&fallbacks, (int)stats.exact_fallback);
        atomic_fetch_add(&two_hops, stats.two_hop > 0);
        /* The exact path over every id that might match, present or not. */
        size_t count = 0;
        for (uint64_t id = 0; id < ID_LIMIT; id++)
            if (match_below(id, &threshold)) ids[count++] = id;
        before = atomic_load(&removal_sequence);
        if (mn_hnsw_search_ids(index_under_test, query, DIM, K, ids, count, results, &found) != MN_OK) {
            atomic_fetch_add(&errors, 1);
            continue;
        }
        check_results(results, found, threshold, before);
    }
    free(ids);
    return NULL;
}

int main(void) {
    mn_test_rng rng = {0xf17e};
    vectors = mn_test_vectors(&rng, ID_LIMIT, DIM);
    moved = mn_test_vectors(&rng, ID_LIMIT, DIM);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    params.ef_construction = 64;
    CHECK_STATUS(mn_hnsw_create(&params, &index_under_test), MN_OK);
    for (uint64_t i = 0; i < NODES; i++) CHECK_STATUS(mn_hnsw_insert(index_under_test, i, vectors + i * DIM, DIM), MN_OK);

    atomic_store(&writers_running, 2);
    pthread_t threads[READERS + 2];
    pthread_create(&threads[0], NULL, inserter, NULL);
    pthread_create(&threads[1], NULL, updater, NULL);
    for (uintptr_t i = 0; i < READERS; i++) pthread_create(&threads[2 + i], NULL, reader, (void *)(i + 1));
    for (int i = 0; i < READERS + 2; i++) pthread_join(threads[i], NULL);

    printf("concurrent filtered searches: %d exact fallbacks, %d with two-hop expansion\n", atomic_load(&fallbacks),
           atomic_load(&two_hops));
    CHECK(atomic_load(&errors) == 0, "%d calls failed", atomic_load(&errors));
    CHECK(atomic_load(&not_matching) == 0, "%d non-matching ids returned", atomic_load(&not_matching));
    CHECK(atomic_load(&removed_returned) == 0, "%d ids returned after their removal", atomic_load(&removed_returned));
    CHECK(atomic_load(&unknown_returned) == 0, "%d unknown ids returned", atomic_load(&unknown_returned));
    CHECK(atomic_load(&unsorted) == 0, "%d results out of order", atomic_load(&unsorted));

    /* Quiescent: every filter's result is exactly the live matches' nearest, and all live. */
    int dead = 0, short_results = 0;
    for (size_t t = 0; t < 3; t++) {
        uint32_t threshold = thresholds[t];
        uint32_t live_matches = 0;
        for (uint64_t id = 0; id < ID_LIMIT; id++) {
            int present = 0;
            mn_hnsw_contains(index_under_test, id, &present);
            live_matches += present && match_below(id, &threshold);
        }
        for (int q = 0; q < 20; q++) {
            mn_hnsw_result results[K];
            uint32_t found = 0;
            CHECK_STATUS(mn_hnsw_search_filtered(index_under_test, vectors + (size_t)q * DIM, DIM, K, EF, match_below,
                                                 &threshold, results, &found, NULL),
                         MN_OK);
            short_results += found != (live_matches < K ? live_matches : K);
            for (uint32_t i = 0; i < found; i++) {
                int present = 0;
                mn_hnsw_contains(index_under_test, results[i].id, &present);
                dead += !present || !match_below(results[i].id, &threshold);
            }
        }
    }
    CHECK(dead == 0, "%d removed or non-matching ids returned at rest", dead);
    CHECK(short_results == 0, "%d searches returned fewer than min(k, live matches)", short_results);
    mn_hnsw_destroy(index_under_test);
    free(vectors);
    free(moved);
    return mn_test_finish("test_hnsw_filter_concurrent");
}
