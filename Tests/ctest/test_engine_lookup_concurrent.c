/*
 * test_engine_lookup_concurrent.c: readers never miss a memory while the runner resizes the
 * space's id and label tables under them.
 *
 * The runner grows both tables (cds_lfht_resize) as a space passes each power of two and
 * shrinks them when it falls below an eighth (mn_space_tables_fit), while readers look ids up
 * on their own threads and searches turn labels into records. Here a set of stable memories is
 * inserted first and never touched; then the main thread grows the space with batches of churn
 * memories (several grows) and deletes them again (several shrinks), twice, while reader
 * threads get every stable id, and search, over and over: a stable id must always be found
 * with its content, and every search result must be a memory. Run under ThreadSanitizer
 * (the _concurrent label).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mn_engine_internal.h"
#include "mnemo/mn_engine.h"
#include "test_engine_support.h"

#define LC_DIMENSION 4u
#define LC_STABLE 500u
#define LC_CHURN 8000u    /* from 2^9 past 2^13: grows 4 times, then shrinks back */
#define LC_BATCH 500u
#define LC_ROUNDS 2u
#define LC_READERS 2u
#define LC_ID_BYTES 16u
#define LC_K 5u

typedef struct lc_shared {
    mn_space *space;
    atomic_int stop;
    atomic_uint_fast64_t misses;     /* a stable id not found, or found with wrong content */
    atomic_uint_fast64_t reads;
    atomic_uint_fast64_t bad_results;
} lc_shared;

typedef struct lc_seen {
    int visits;
    uint8_t first;
} lc_seen;

static void lc_on_get(void *context, const mn_memory_view *view) {
    lc_seen *s = context;
    s->visits++;
    s->first = view->content_bytes == 1 ? view->content[0] : 0;
}

static void lc_on_result(void *context, const mn_memory_view *view) {
    lc_shared *shared = context;
    if (view->id_bytes == 0 || (view->id[0] != 's' && view->id[0] != 'c')) {
        atomic_fetch_add(&shared->bad_results, 1);
    }
}

static void *lc_reader(void *argument) {
    lc_shared *shared = argument;
    char id[LC_ID_BYTES];
    float query[LC_DIMENSION];
    uint64_t round = 0;
    while (!atomic_load_explicit(&shared->stop, memory_order_acquire)) {
        for (uint32_t i = 0; i < LC_STABLE; i++) {
            int bytes = snprintf(id, sizeof(id), "s%u", i);
            lc_seen s = {0, 0};
            mn_status status =
                mn_space_get(shared->space, id, (uint32_t)bytes, NULL, 0, lc_on_get, &s);
            if (status != MN_OK || s.visits != 1 || s.first != 's') {
                atomic_fetch_add(&shared->misses, 1);
            }
        }
        te_vector(round++, query, LC_DIMENSION);
        uint32_t found = 0;
        if (mn_space_search(shared->space, query, LC_DIMENSION, LC_K, 0, lc_on_result, shared,
                            &found) != MN_OK) {
            atomic_fetch_add(&shared->bad_results, 1);
        }
        atomic_fetch_add(&shared->reads, 1);
    }
    return NULL;
}

/* Inserts ids <prefix><first ...> in awaited batches, each with content <prefix>. */
static void lc_insert(mn_space *space, char prefix, uint32_t first, uint32_t count) {
    char ids[LC_BATCH * LC_ID_BYTES];
    uint64_t id_offsets[LC_BATCH + 1];
    uint64_t content_offsets[LC_BATCH + 1];
    uint8_t contents[LC_BATCH];
    float vectors[LC_BATCH * LC_DIMENSION];
    for (uint32_t start = first; start < first + count; start += LC_BATCH) {
        uint32_t n = first + count - start < LC_BATCH ? first + count - start : LC_BATCH;
        id_offsets[0] = 0;
        content_offsets[0] = 0;
        for (uint32_t i = 0; i < n; i++) {
            int bytes = snprintf(ids + id_offsets[i], LC_ID_BYTES, "%c%u", prefix, start + i);
            id_offsets[i + 1] = id_offsets[i] + (uint64_t)bytes;
            contents[i] = (uint8_t)prefix;
            content_offsets[i + 1] = i + 1;
            te_vector(start + i + (prefix == 'c' ? 1000000u : 0u), vectors + i * LC_DIMENSION,
                      LC_DIMENSION);
        }
        mn_batch_in in = {.count = n, .dimension = LC_DIMENSION, .vectors = vectors, .ids = ids,
                          .id_offsets = id_offsets, .contents = contents,
                          .content_offsets = content_offsets, .created_ns = NULL};
        te_wait w;
        te_wait_init(&w);
        CHECK_STATUS(mn_space_insert_batch(space, &in, MN_SUBMIT_WAIT, te_wait_done, &w, NULL),
                     MN_OK);
        CHECK_STATUS(te_wait_for(&w), MN_OK);
    }
}

int main(void) {
    mn_engine *engine = te_engine(2, 1024);
    mn_hnsw_params params;
    mn_hnsw_params_default(LC_DIMENSION, MN_METRIC_L2, &params);
    params.m = 8;
    params.ef_construction = 16;
    mn_space *space = NULL;
    CHECK_STATUS(mn_engine_space_create(engine, "resize", 6, &params, &space), MN_OK);
    lc_insert(space, 's', 0, LC_STABLE);

    lc_shared shared = {.space = space};
    atomic_init(&shared.stop, 0);
    atomic_init(&shared.misses, 0);
    atomic_init(&shared.reads, 0);
    atomic_init(&shared.bad_results, 0);
    pthread_t readers[LC_READERS];
    for (uint32_t r = 0; r < LC_READERS; r++) {
        CHECK(pthread_create(&readers[r], NULL, lc_reader, &shared) == 0);
    }
    uint32_t smallest = UINT32_MAX, largest = 0;
    for (uint32_t round = 0; round < LC_ROUNDS; round++) {
        lc_insert(space, 'c', 0, LC_CHURN);
        if (space->table_order > largest) largest = space->table_order;
        char id[LC_ID_BYTES];
        for (uint32_t i = 0; i < LC_CHURN; i++) {
            int bytes = snprintf(id, sizeof(id), "c%u", i);
            te_wait w;
            te_wait_init(&w);
            CHECK_STATUS(mn_space_delete(space, id, (uint32_t)bytes, MN_SUBMIT_WAIT, te_wait_done,
                                         &w),
                         MN_OK);
            CHECK_STATUS(te_wait_for(&w), MN_OK);
        }
        if (space->table_order < smallest) smallest = space->table_order;
    }
    /* Let the readers run at least once more after the last resize. */
    uint64_t reads = atomic_load(&shared.reads);
    while (atomic_load(&shared.reads) < reads + LC_READERS) sched_yield();
    atomic_store_explicit(&shared.stop, 1, memory_order_release);
    for (uint32_t r = 0; r < LC_READERS; r++) pthread_join(readers[r], NULL);

    CHECK(atomic_load(&shared.misses) == 0);
    CHECK(atomic_load(&shared.bad_results) == 0);
    CHECK(atomic_load(&shared.reads) > 0);
    CHECK((1ull << largest) >= LC_STABLE + LC_CHURN); /* the tables grew ... */
    CHECK(smallest < largest);                        /* ... and shrank again */
    mn_space_stats stats;
    CHECK_STATUS(mn_space_stats_get(space, &stats), MN_OK);
    CHECK(stats.count == LC_STABLE);
    mn_space_release(space);
    mn_engine_destroy(engine);
    return te_report();
}
