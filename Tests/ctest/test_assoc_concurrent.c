/*
 * test_assoc_concurrent.c: one writer links, relinks, unlinks and removes memories' links while
 * three threads recall and read link lists (CI runs it under ThreadSanitizer).
 *
 * Proves: readers never see a torn list (every list they copy is sorted by id, every weight is
 * one the writer could have written, and nothing points to itself); every recall returns
 * well-formed results (ordered, activations in [threshold, 1], hops within the limit, ids of
 * the space); slot-array rebuilds and list retirement under RCU are race-free (TSan); and after
 * the writer stops, the table equals the writer's own model of it, link for link.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "assoc/mn_assoc.h"
#include "mnemo/mn_hnsw.h"
#include "mn_test.h"

#define N 400
#define DIM 8
#define READERS 3
#define WRITES 12000
#define RECALLS_MIN 3000L /* the writer keeps going until the readers have done this many */
#define WRITES_MAX 2000000

typedef struct shared {
    mn_assoc *assoc;
    mn_hnsw *index;
    const float *data;
    atomic_int stop;
    atomic_int bad;
    atomic_long recalls;
} shared;

/* Weights are multiples of 1/64: a reader can tell a real one from garbage. */
static int weight_ok(float w) {
    float k = w * 64.0f;
    return w > 0.0f && w <= 1.0f && k == (float)(int)k;
}

static void *reader(void *arg) {
    shared *s = arg;
    mn_test_rng rng = {(uint64_t)(uintptr_t)&rng | 1};
    mn_recall_result results[256];
    mn_assoc_edge edges[MN_ASSOC_DEGREE_MAX];
    while (!atomic_load_explicit(&s->stop, memory_order_acquire)) {
        mn_recall_params p;
        mn_recall_params_default(&p);
        p.seeds = 1 + (uint32_t)(mn_test_next(&rng) % 4);
        p.hops = 3;
        p.fan_out = 6;
        p.decay = 0.8f;
        p.threshold = 0.01f;
        p.flags = (mn_test_next(&rng) & 1) ? MN_RECALL_NO_SIMILARITY : 0;
        const float *cue = s->data + (mn_test_next(&rng) % N) * DIM;
        uint32_t found = 0;
        mn_status status = mn_assoc_recall(s->assoc, s->index, cue, DIM, &p, results, 256, &found);
        int bad = status != MN_OK;
        for (uint32_t i = 0; i < found && !bad; i++) {
            bad |= results[i].id >= N || !(results[i].activation >= p.threshold && results[i].activation <= 1.0f) ||
                   results[i].hops > p.hops;
            if (i > 0)
                bad |= !(results[i - 1].activation > results[i].activation ||
                         (results[i - 1].activation == results[i].activation && results[i - 1].id < results[i].id));
        }
        uint64_t id = mn_test_next(&rng) % N;
        for (int32_t dir = MN_ASSOC_OUT; dir <= MN_ASSOC_IN && !bad; dir++) {
            uint32_t n = 0;
            bad |= mn_assoc_links_of(s->assoc, id, dir, edges, MN_ASSOC_DEGREE_MAX, &n) != MN_OK;
            for (uint32_t i = 0; i < n; i++) {
                bad |= edges[i].id == id || edges[i].id >= N || !weight_ok(edges[i].weight);
                if (i > 0) bad |= edges[i - 1].id >= edges[i].id;
            }
        }
        if (bad) atomic_fetch_add(&s->bad, 1);
        atomic_fetch_add_explicit(&s->recalls, 1, memory_order_relaxed);
    }
    return NULL;
}

int main(void) {
    mn_test_rng rng = {8080};
    float *data = mn_test_vectors(&rng, N, DIM);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    params.ef_construction = 64;
    mn_hnsw *index = NULL;
    CHECK_STATUS(mn_hnsw_create(&params, &index), MN_OK);
    for (uint64_t i = 0; i < N; i++) mn_hnsw_insert(index, i, data + i * DIM, DIM);
    mn_assoc *assoc = NULL;
    CHECK_STATUS(mn_assoc_create(&assoc), MN_OK);

    shared s = {.assoc = assoc, .index = index, .data = data};
    atomic_init(&s.stop, 0);
    atomic_init(&s.bad, 0);
    atomic_init(&s.recalls, 0);
    pthread_t threads[READERS];
    for (int t = 0; t < READERS; t++) pthread_create(&threads[t], NULL, reader, &s);

    /* The writer, with its model: model[u][v] is the weight of u -> v, 0 for none. */
    static float model[N][N];
    int failures = 0;
    int op = 0;
    for (; op < WRITES_MAX && (op < WRITES || atomic_load_explicit(&s.recalls, memory_order_relaxed) < RECALLS_MIN);
         op++) {
        /* Links cluster on a few hubs so degrees grow and lists get long. */
        uint64_t u = mn_test_next(&rng) % (op % 3 == 0 ? 16 : N), v = mn_test_next(&rng) % N;
        uint64_t kind = mn_test_next(&rng) % 16;
        if (kind < 10) {
            if (u == v) continue;
            float w = (float)(1 + mn_test_next(&rng) % 64) / 64.0f;
            mn_status status = mn_assoc_link(assoc, u, v, w);
            if (status == MN_OK) model[u][v] = w;
            else failures += status != MN_ERR_FULL;
        } else if (kind < 15) {
            mn_status status = mn_assoc_unlink(assoc, u, v);
            failures += status != (model[u][v] > 0 ? MN_OK : MN_ERR_NOT_FOUND);
            model[u][v] = 0;
        } else {
            uint32_t removed = 0, expected = 0;
            for (int k = 0; k < N; k++) expected += (model[u][k] > 0) + (model[k][u] > 0);
            failures += mn_assoc_remove_all(assoc, u, &removed) != MN_OK || removed != expected;
            for (int k = 0; k < N; k++) model[u][k] = model[k][u] = 0;
        }
    }
    atomic_store_explicit(&s.stop, 1, memory_order_release);
    for (int t = 0; t < READERS; t++) pthread_join(threads[t], NULL);
    CHECK(failures == 0, "%d writer operations returned the wrong status", failures);
    CHECK(atomic_load(&s.bad) == 0, "%d reads saw malformed data", atomic_load(&s.bad));
    CHECK(atomic_load(&s.recalls) > 0, "readers ran");

    /* The table equals the model. */
    int differ = 0;
    uint64_t links = 0;
    mn_assoc_edge edges[MN_ASSOC_DEGREE_MAX];
    for (uint64_t u = 0; u < N; u++) {
        uint32_t n = 0, expected = 0;
        mn_assoc_links_of(assoc, u, MN_ASSOC_OUT, edges, MN_ASSOC_DEGREE_MAX, &n);
        for (uint64_t v = 0; v < N; v++) expected += model[u][v] > 0;
        links += expected;
        differ += n != expected;
        for (uint32_t i = 0; i < n; i++) differ += model[u][edges[i].id] != edges[i].weight;
        mn_assoc_links_of(assoc, u, MN_ASSOC_IN, edges, MN_ASSOC_DEGREE_MAX, &n);
        for (uint32_t i = 0; i < n; i++) differ += model[edges[i].id][u] != edges[i].weight;
    }
    uint64_t count = 0;
    mn_assoc_count(assoc, &count);
    CHECK(differ == 0 && count == links, "table differs from the model in %d places (count %llu vs %llu)", differ,
          (unsigned long long)count, (unsigned long long)links);
    printf("test_assoc_concurrent: %ld recalls during %d writes\n", atomic_load(&s.recalls), op);
    mn_assoc_destroy(assoc);
    mn_hnsw_destroy(index);
    free(data);
    return mn_test_finish("test_assoc_concurrent");
}
