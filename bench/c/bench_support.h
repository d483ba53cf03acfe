/*
 * bench_support.h: what the C microbenchmarks share: a monotonic clock in seconds, a small
 * deterministic generator for synthetic data, and a comparator for sorting latencies.
 */
#ifndef BENCH_SUPPORT_H
#define BENCH_SUPPORT_H

#include <stdint.h>
#include <time.h>

static inline double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xorshift64*: fast and deterministic, enough for benchmark data. */
static inline uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, 1). */
static inline float uniform(uint64_t *state) {
    return (float)((next_random(state) >> 40) * (1.0 / 16777216.0));
}

/* qsort comparator for doubles, ascending. */
static inline int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif /* BENCH_SUPPORT_H */
