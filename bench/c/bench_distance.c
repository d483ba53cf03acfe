/*
 * bench_distance.c: throughput of the float32 distance kernels, per metric, dimension and SIMD
 * level, with the speedup of each level over the scalar kernel.
 *
 * Throughput is counted as input read: two vectors of `dimension` floats per call, in GB/s
 * (10^9 bytes). The working set is a few dozen vector pairs (at most 256 KiB, so it stays in L2
 * and the figure measures the kernel, not DRAM); each call reads the next pair, as a search
 * walking candidates would. Each cell is calibrated to a minimum run time and the best of several
 * repetitions is kept (the least disturbed by other work on the machine). Results are summed and
 * written to a volatile sink so the compiler cannot drop the calls.
 *
 * Usage: bench_distance [--smoke]. --smoke is a tiny run (well under half a second) that still
 * prints the whole table; CTest runs it that way to prove the benchmark works, not to time it.
 * Figures are printed, never asserted: timing thresholds do not belong in tests.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mnemo/mn_distance.h"
#include "simd/mn_distance_kernels.h"

#define MN_BENCH_WORKING_SET_BYTES (256u * 1024u)
#define MN_BENCH_PAIRS_MAX 64u
#define MN_BENCH_METRICS 3

static const size_t mn_bench_dimensions[] = {128, 384, 768, 1536};
static const mn_metric mn_bench_metrics[MN_BENCH_METRICS] = {MN_METRIC_L2, MN_METRIC_IP,
                                                             MN_METRIC_COSINE};
static const char *const mn_bench_metric_names[MN_BENCH_METRICS] = {"l2", "ip", "cosine"};

/* Keeps every result live: the sum of each timed round is stored here. */
static volatile double mn_bench_sink;

static uint64_t mn_bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs `rounds` passes over all pairs; returns the elapsed nanoseconds. */
static uint64_t mn_bench_run(mn_distance_fn fn, const float *a, const float *b, size_t pairs,
                             size_t dimension, uint64_t rounds) {
    double sum = 0.0;
    uint64_t start = mn_bench_now_ns();
    for (uint64_t r = 0; r < rounds; r++) {
        for (size_t p = 0; p < pairs; p++) {
            sum += fn(a + p * dimension, b + p * dimension, dimension);
        }
    }
    uint64_t elapsed = mn_bench_now_ns() - start;
    mn_bench_sink += sum;
    return elapsed;
}

/*
 * Nanoseconds per call: double the number of rounds until one run lasts target_ns, then keep the
 * fastest of `repetitions` runs of that length.
 */
static double mn_bench_measure(mn_distance_fn fn, const float *a, const float *b, size_t pairs,
                               size_t dimension, uint64_t target_ns, int repetitions) {
    uint64_t rounds = 1;
    uint64_t elapsed = mn_bench_run(fn, a, b, pairs, dimension, rounds); /* also warms caches */
    while (elapsed < target_ns && rounds < (UINT64_C(1) << 40)) {
        rounds *= 2;
        elapsed = mn_bench_run(fn, a, b, pairs, dimension, rounds);
    }
    uint64_t best = elapsed;
    for (int i = 1; i < repetitions; i++) {
        elapsed = mn_bench_run(fn, a, b, pairs, dimension, rounds);
        if (elapsed < best) {
            best = elapsed;
        }
    }
    return (double)best / (double)(rounds * pairs);
}

/* Uniform [0, 1) from a fixed-seed xorshift64*, so every run times the same data. */
static float mn_bench_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (float)((x * 0x2545F4914F6CDD1Dull) >> 40) * (1.0f / 16777216.0f);
}

int main(int argc, char **argv) {
    int smoke = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            smoke = 1;
        } else {
            fprintf(stderr, "usage: %s [--smoke]\n", argv[0]);
            return 2;
        }
    }
    uint64_t target_ns = smoke ? 200000u : 20000000u; /* 0.2 ms or 20 ms per run */
    int repetitions = smoke ? 1 : 5;

    mn_simd_level best = MN_SIMD_SCALAR;
    const char *best_name = NULL;
    if (mn_simd_level_best(&best) != MN_OK || mn_simd_level_name(best, &best_name) != MN_OK) {
        fprintf(stderr, "bench_distance: cannot detect the SIMD level\n");
        return 1;
    }

    size_t floats_max = (size_t)MN_BENCH_PAIRS_MAX * 1536u;
    float *a = NULL, *b = NULL;
    if (posix_memalign((void **)&a, 64, floats_max * sizeof(float)) != 0 ||
        posix_memalign((void **)&b, 64, floats_max * sizeof(float)) != 0) {
        fprintf(stderr, "bench_distance: out of memory\n");
        free(a);
        return 1;
    }
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < floats_max; i++) {
        a[i] = mn_bench_random(&state);
        b[i] = mn_bench_random(&state);
    }

    uint64_t started = mn_bench_now_ns();
    printf("bench_distance%s: best level %s; GB/s = input read (2 x dim x 4 bytes per call)\n",
           smoke ? " (smoke run, figures not meaningful)" : "", best_name);
    printf("%6s  %-6s  %-6s  %5s  %9s  %8s  %7s\n", "dim", "metric", "level", "pairs", "ns/call",
           "GB/s", "speedup");
    for (size_t di = 0; di < sizeof mn_bench_dimensions / sizeof mn_bench_dimensions[0]; di++) {
        size_t dim = mn_bench_dimensions[di];
        size_t pairs = MN_BENCH_WORKING_SET_BYTES / (2u * dim * sizeof(float));
        if (pairs > MN_BENCH_PAIRS_MAX) {
            pairs = MN_BENCH_PAIRS_MAX;
        }
        for (int m = 0; m < MN_BENCH_METRICS; m++) {
            double scalar_ns = 0.0;
            for (mn_simd_level level = MN_SIMD_SCALAR; level <= best; level++) {
                mn_distance_fn fn = NULL;
                const char *level_name = NULL;
                if (mn_distance_kernel(mn_bench_metrics[m], level, &fn) != MN_OK ||
                    mn_simd_level_name(level, &level_name) != MN_OK) {
                    fprintf(stderr, "bench_distance: no kernel for level %d\n", (int)level);
                    free(a);
                    free(b);
                    return 1;
                }
                double ns = mn_bench_measure(fn, a, b, pairs, dim, target_ns, repetitions);
                if (level == MN_SIMD_SCALAR) {
                    scalar_ns = ns;
                }
                double gb_per_s = (double)(2u * dim * sizeof(float)) / ns;
                printf("%6zu  %-6s  %-6s  %5zu  %9.1f  %8.2f  %6.2fx\n", dim,
                       mn_bench_metric_names[m], level_name, pairs, ns, gb_per_s,
                       scalar_ns / ns);
            }
        }
    }
    printf("bench_distance: %.2f s total\n", (double)(mn_bench_now_ns() - started) / 1e9);
    free(a);
    free(b);
    return 0;
}
