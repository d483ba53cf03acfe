/*
 * test_engine_support.h: helpers shared by the engine's C tests: a check macro that counts
 * passes and failures, a waitable completion, and a deterministic vector generator.
 */
#ifndef TEST_ENGINE_SUPPORT_H
#define TEST_ENGINE_SUPPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/mn_engine.h"
#include "mn_test_bytes.h"

static int te_passed;
static int te_failed;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (cond) {                                                                     \
            te_passed++;                                                                \
        } else {                                                                        \
            te_failed++;                                                                \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);             \
        }                                                                               \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                    \
    do {                                                                                \
        mn_status te_s = (expr);                                                        \
        if (te_s == (expected)) {                                                       \
            te_passed++;                                                                \
        } else {                                                                        \
            te_failed++;                                                                \
            fprintf(stderr, "FAIL %s:%d: %s = %d (%s), expected %d\n", __FILE__,        \
                    __LINE__, #expr, te_s, mn_status_string(te_s), (int)(expected));    \
        }                                                                               \
    } while (0)

static inline int te_report(void) {
    printf("%d passed, %d failed\n", te_passed, te_failed);
    return te_failed == 0 ? 0 : 1;
}

/* A completion a test thread can wait for. */
typedef struct te_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    mn_status status;
    uint64_t detail;
} te_wait;

static inline void te_wait_init(te_wait *w) {
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->done = 0;
    w->status = 1;
    w->detail = UINT64_MAX;
}

static inline void te_wait_done(void *context, mn_status status, uint64_t detail) {
    te_wait *w = context;
    pthread_mutex_lock(&w->lock);
    w->status = status;
    w->detail = detail;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static inline mn_status te_wait_for(te_wait *w) {
    pthread_mutex_lock(&w->lock);
    while (!w->done) pthread_cond_wait(&w->cond, &w->lock);
    mn_status status = w->status;
    pthread_mutex_unlock(&w->lock);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    return status;
}

/* splitmix64: deterministic pseudo-random numbers for vectors. */
static inline uint64_t te_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void te_vector(uint64_t seed, float *out, uint32_t dimension) {
    uint64_t state = seed * 7919u + 17u;
    for (uint32_t i = 0; i < dimension; i++) {
        out[i] = (float)((te_next(&state) >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
    }
}

static inline mn_engine *te_engine(uint32_t workers, uint32_t depth) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = workers;
    options.mailbox_depth = depth;
    mn_engine *engine = NULL;
    mn_status status = mn_engine_create(&options, &engine);
    if (status != MN_OK) {
        fprintf(stderr, "mn_engine_create: %s\n", mn_status_string(status));
        exit(2);
    }
    return engine;
}

/* The workers' grouped (coalesced: 0) or coalesced (1) writes, from the public counters. */
static inline uint64_t te_worker_total(mn_engine *engine, int coalesced) {
    uint32_t workers = 0;
    if (mn_engine_worker_count(engine, &workers) != MN_OK) exit(2);
    uint64_t total = 0;
    for (uint32_t w = 0; w < workers; w++) {
        mn_worker_stats stats;
        if (mn_engine_worker_stats(engine, w, &stats) != MN_OK) exit(2);
        total += coalesced ? stats.coalesced : stats.grouped;
    }
    return total;
}

static inline mn_space *te_space(mn_engine *engine, const char *name, uint32_t dimension,
                                 mn_metric metric) {
    mn_hnsw_params params;
    mn_hnsw_params_default(dimension, metric, &params);
    params.ef_construction = 64;
    mn_space *space = NULL;
    mn_status status =
        mn_engine_space_create(engine, name, (uint32_t)strlen(name), &params, &space);
    if (status != MN_OK) {
        fprintf(stderr, "mn_engine_space_create(%s): %s\n", name, mn_status_string(status));
        exit(2);
    }
    return space;
}

/* Inserts synchronously: submits (waiting when full) and waits for the completion. */
static inline mn_status te_insert(mn_space *space, const char *id, const float *vector,
                                  uint32_t dimension, const char *content, uint64_t *detail) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_insert(space, id, (uint32_t)strlen(id), vector, dimension,
                                       (const uint8_t *)content, content ? strlen(content) : 0,
                                       MN_SUBMIT_WAIT, te_wait_done, &w);
    if (status != MN_OK) return status;
    status = te_wait_for(&w);
    if (detail) *detail = w.detail;
    return status;
}

#endif /* TEST_ENGINE_SUPPORT_H */
