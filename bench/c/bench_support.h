/*
 * bench_support.h: what the C microbenchmarks share: a monotonic clock in seconds, a small
 * deterministic generator for synthetic data, and a comparator for sorting latencies.
 */
#ifndef BENCH_SUPPORT_H
#define BENCH_SUPPORT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* CPU seconds of the calling thread: on a machine shared with other work, time spent waiting
 * for a core is not the benchmark's. */
static inline double bench_thread_cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads a texmex file (.fvecs / .ivecs: each row an int32 dimension, then that many 4-byte
 * values) into one malloc'd array of rows; NULL when unreadable or ragged. */
static inline void *bench_read_vecs(const char *path, uint32_t *dimension, size_t *rows) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    int32_t d = 0;
    if (fread(&d, 4, 1, file) != 1 || d <= 0 || d > 65536) {
        fclose(file);
        return NULL;
    }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    size_t row_bytes = 4 * ((size_t)d + 1);
    if (size <= 0 || (size_t)size % row_bytes != 0) {
        fclose(file);
        return NULL;
    }
    *rows = (size_t)size / row_bytes;
    *dimension = (uint32_t)d;
    uint8_t *raw = malloc((size_t)size);
    float *out = malloc(*rows * (size_t)d * 4);
    if (!raw || !out || fread(raw, 1, (size_t)size, file) != (size_t)size) {
        free(raw);
        free(out);
        fclose(file);
        return NULL;
    }
    for (size_t r = 0; r < *rows; r++) memcpy(out + r * (size_t)d, raw + r * row_bytes + 4, (size_t)d * 4);
    free(raw);
    fclose(file);
    return out;
}

#endif /* BENCH_SUPPORT_H */
