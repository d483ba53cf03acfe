/*
 * mn_test.h: the tiny harness shared by the C tests: CHECK macros that count and report,
 * a deterministic PRNG, random vectors, and a brute-force oracle for nearest neighbours.
 * Each test program ends with mn_test_finish(), which prints "NAME: N passed, M failed".
 */
#ifndef MN_TEST_H
#define MN_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/mn_distance.h"
#include "mnemo/mn_status.h"
#include "mn_test_bytes.h"

static int mn_test_passed;
static int mn_test_failed;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (cond) {                                                                        \
            mn_test_passed++;                                                              \
        } else if (mn_test_failed++ < 25) {                                                \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                       \
    do {                                                                                   \
        mn_status mn_check_status_ = (expr);                                               \
        CHECK(mn_check_status_ == (expected), "%s returned %d (%s), expected %s", #expr,   \
              mn_check_status_, mn_status_string(mn_check_status_), #expected);            \
    } while (0)

static inline int mn_test_finish(const char *name) {
    printf("%s: %d passed, %d failed\n", name, mn_test_passed, mn_test_failed);
    return mn_test_failed == 0 ? 0 : 1;
}

typedef struct mn_test_rng {
    uint64_t state;
} mn_test_rng;

static inline uint64_t mn_test_next(mn_test_rng *rng) {
    uint64_t x = rng->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline float mn_test_uniform(mn_test_rng *rng) {
    return (float)((mn_test_next(rng) >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* Clustered data (closer to real embeddings than uniform noise). */
static inline float *mn_test_vectors(mn_test_rng *rng, size_t count, uint32_t dimension) {
    float *data = malloc(count * dimension * sizeof(float));
    enum { CLUSTERS = 16 };
    float *centers = malloc(CLUSTERS * (size_t)dimension * sizeof(float));
    for (size_t i = 0; i < CLUSTERS * (size_t)dimension; i++) centers[i] = mn_test_uniform(rng);
    for (size_t i = 0; i < count; i++) {
        const float *center = centers + (mn_test_next(rng) % CLUSTERS) * dimension;
        for (uint32_t d = 0; d < dimension; d++)
            data[i * dimension + d] = center[d] + 0.35f * mn_test_uniform(rng);
    }
    free(centers);
    return data;
}

static inline void mn_test_normalize(float *data, size_t count, uint32_t dimension) {
    for (size_t i = 0; i < count; i++) {
        double norm = 0;
        for (uint32_t d = 0; d < dimension; d++) norm += (double)data[i * dimension + d] * data[i * dimension + d];
        float scale = (float)(1.0 / sqrt(norm));
        for (uint32_t d = 0; d < dimension; d++) data[i * dimension + d] *= scale;
    }
}

/* The exact k nearest rows of `data` to `query` (ids = row numbers), skipping removed rows. */
static inline void mn_test_brute_force(mn_metric metric, const float *data, size_t count, uint32_t dimension,
                                       const float *query, uint32_t k, const unsigned char *removed,
                                       uint64_t *ids) {
    float *best = malloc(k * sizeof(float));
    for (uint32_t i = 0; i < k; i++) {
        best[i] = INFINITY;
        ids[i] = UINT64_MAX;
    }
    for (size_t row = 0; row < count; row++) {
        if (removed && removed[row]) continue;
        float d;
        mn_distance(metric, query, data + row * dimension, dimension, &d);
        if (d >= best[k - 1]) continue;
        uint32_t j = k - 1;
        while (j > 0 && best[j - 1] > d) {
            best[j] = best[j - 1];
            ids[j] = ids[j - 1];
            j--;
        }
        best[j] = d;
        ids[j] = row;
    }
    free(best);
}

static inline double mn_test_overlap(const uint64_t *truth, const uint64_t *found, uint32_t found_count,
                                     uint32_t k) {
    uint32_t hits = 0;
    for (uint32_t i = 0; i < k; i++)
        for (uint32_t j = 0; j < found_count; j++)
            if (truth[i] == found[j]) {
                hits++;
                break;
            }
    return (double)hits / k;
}

#endif /* MN_TEST_H */
