/*
 * test_distance.c: proves the SIMD distance kernels agree with the scalar oracle and that the
 * dispatch layer validates its input.
 *
 * For every metric and every level this CPU supports, every dimension 1..300 (every tail length
 * and several main-loop trip counts at each width) and the common embedding sizes up to
 * MN_DIMENSION_MAX, on pointers 0..3 floats past a 64-byte boundary, the kernel must match
 * mn_distance_*_f32_scalar (which sums in double) within a relative error of 1e-5. Each vector
 * sits at the very end of its own allocation, so a tail that reads past the vector is caught
 * when this test runs under AddressSanitizer; a second sweep surrounds each vector with NaN
 * guard bands, so a stray read poisons the result even without a sanitizer (AddressSanitizer
 * does not instrument AVX2's vmaskmovps, so this sweep is the one that covers that tail).
 * The batch kernels (four vectors per call) are held to the same bound, and the bit-exact batch
 * kernels (mn_distance_kernel4_exact, which the exact searches score with) must return, bit for
 * bit, what the single-vector kernel of the same level returns for each vector.
 * Then the negative space: zero vectors under
 * cosine, identical vectors, known answers, and every error return of the public functions.
 *
 * Tolerance: relative to max(|oracle|, 1e-6) for L2, whose terms are all non-negative. IP and
 * cosine return 1 - s for a similarity s that the kernels sum in float; when s is close to 1
 * (small dimensions make that common) the subtraction cancels and float rounding of s alone
 * exceeds 1e-5 of the tiny result. So for those two metrics the error is taken relative to
 * max(|oracle|, |s|, 1e-6), with s = 1 - oracle: still 1e-5 relative, of the larger of the two.
 *
 * Data: a fixed-seed xorshift64* PRNG; uniform [-1, 1) for L2 and [0, 1) for IP and cosine.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/mn_distance.h"
#include "mnemo/mn_limits.h"
#include "simd/mn_distance_kernels.h"

#define MN_TEST_REL_TOL 1e-5
#define MN_TEST_FLOOR 1e-6
#define MN_TEST_OFFSETS 4
#define MN_TEST_FAILURES_PRINTED 25

static int mn_test_passed;
static int mn_test_failed;

#define MN_CHECK(cond, ...)                                                                \
    do {                                                                                   \
        if (cond) {                                                                        \
            mn_test_passed++;                                                              \
        } else {                                                                           \
            if (mn_test_failed++ < MN_TEST_FAILURES_PRINTED) {                             \
                fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
                fprintf(stderr, __VA_ARGS__);                                              \
                fputc('\n', stderr);                                                       \
            }                                                                              \
        }                                                                                  \
    } while (0)

static const char *const mn_test_metric_names[] = {"l2", "ip", "cosine"};
static const mn_metric mn_test_metrics[] = {MN_METRIC_L2, MN_METRIC_IP, MN_METRIC_COSINE};
#define MN_TEST_METRICS 3

static uint64_t mn_test_rng_state = 0x9E3779B97F4A7C15ull;

/* xorshift64*: fast, deterministic, good enough for test vectors. */
static uint64_t mn_test_rng_next(void) {
    uint64_t x = mn_test_rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    mn_test_rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, 1), 24 random bits (exact in float). */
static float mn_test_rng_unit(void) {
    return (float)(mn_test_rng_next() >> 40) * (1.0f / 16777216.0f);
}

static void mn_test_fill(float *v, size_t n, mn_metric metric) {
    for (size_t i = 0; i < n; i++) {
        float u = mn_test_rng_unit();
        v[i] = metric == MN_METRIC_L2 ? 2.0f * u - 1.0f : u;
    }
}

/*
 * Room for `offset` floats then `dimension` floats, ending exactly at the end of the block so an
 * over-read lands in AddressSanitizer's redzone. posix_memalign, unlike C11 aligned_alloc, takes
 * any size. Returns the base (to free); the vector starts at base + offset.
 */
static float *mn_test_alloc(size_t offset, size_t dimension) {
    void *base = NULL;
    if (posix_memalign(&base, 64, (offset + dimension) * sizeof(float)) != 0) {
        fprintf(stderr, "test_distance: out of memory\n");
        exit(2);
    }
    return base;
}

/* The levels this CPU runs, in order: scalar .. best. */
static mn_simd_level mn_test_best_level(void) {
    mn_simd_level best = MN_SIMD_SCALAR;
    mn_status st = mn_simd_level_best(&best);
    MN_CHECK(st == MN_OK, "mn_simd_level_best -> %d", (int)st);
    return best;
}

static void mn_test_level_names(void) {
    static const char *const expected[MN_SIMD_LEVELS] = {"scalar", "avx2", "avx512"};
    for (mn_simd_level level = 0; level < MN_SIMD_LEVELS; level++) {
        const char *name = NULL;
        mn_status st = mn_simd_level_name(level, &name);
        MN_CHECK(st == MN_OK && name != NULL && strcmp(name, expected[level]) == 0,
                 "level %d -> status %d name %s", (int)level, (int)st, name ? name : "(null)");
    }
    const char *name = NULL;
    MN_CHECK(mn_simd_level_name(MN_SIMD_AUTO, &name) == MN_OK && name != NULL &&
                 strcmp(name, "auto") == 0,
             "auto -> %s", name ? name : "(null)");
    MN_CHECK(mn_simd_level_name(MN_SIMD_LEVELS, &name) == MN_ERR_INVALID, "level past the end");
    MN_CHECK(mn_simd_level_name(-2, &name) == MN_ERR_INVALID, "level -2");
    MN_CHECK(mn_simd_level_name(MN_SIMD_SCALAR, NULL) == MN_ERR_INVALID, "NULL out");
}

static void mn_test_level_best(void) {
    mn_simd_level first = -99, second = -99;
    MN_CHECK(mn_simd_level_best(&first) == MN_OK, "first call");
    MN_CHECK(mn_simd_level_best(&second) == MN_OK, "second call");
    MN_CHECK(first >= MN_SIMD_SCALAR && first < MN_SIMD_LEVELS, "best level %d", (int)first);
    MN_CHECK(first == second, "level changed: %d then %d", (int)first, (int)second);
    MN_CHECK(mn_simd_level_best(NULL) == MN_ERR_INVALID, "NULL out");
}

static void mn_test_kernel_lookup(mn_simd_level best) {
    for (int m = 0; m < MN_TEST_METRICS; m++) {
        mn_metric metric = mn_test_metrics[m];
        for (mn_simd_level level = 0; level < MN_SIMD_LEVELS; level++) {
            mn_distance_fn fn = NULL;
            mn_status st = mn_distance_kernel(metric, level, &fn);
            if (level <= best) {
                MN_CHECK(st == MN_OK && fn != NULL, "%s level %d -> %d",
                         mn_test_metric_names[m], (int)level, (int)st);
            } else {
                MN_CHECK(st == MN_ERR_UNSUPPORTED, "%s level %d above best %d -> %d",
                         mn_test_metric_names[m], (int)level, (int)best, (int)st);
            }
        }
        mn_distance_fn automatic = NULL, explicit_best = NULL;
        MN_CHECK(mn_distance_kernel(metric, MN_SIMD_AUTO, &automatic) == MN_OK, "auto");
        MN_CHECK(mn_distance_kernel(metric, best, &explicit_best) == MN_OK, "best");
        MN_CHECK(automatic == explicit_best, "%s: auto is not the best level",
                 mn_test_metric_names[m]);
    }
    mn_distance_fn fn = NULL;
    MN_CHECK(mn_distance_kernel(-1, MN_SIMD_SCALAR, &fn) == MN_ERR_INVALID, "metric -1");
    MN_CHECK(mn_distance_kernel(3, MN_SIMD_SCALAR, &fn) == MN_ERR_INVALID, "metric 3");
    MN_CHECK(mn_distance_kernel(MN_METRIC_L2, -2, &fn) == MN_ERR_INVALID, "level -2");
    MN_CHECK(mn_distance_kernel(MN_METRIC_L2, MN_SIMD_LEVELS, &fn) == MN_ERR_INVALID,
             "level past the end");
    MN_CHECK(mn_distance_kernel(MN_METRIC_L2, MN_SIMD_SCALAR, NULL) == MN_ERR_INVALID,
             "NULL out");
}

static mn_distance_fn mn_test_kernel(mn_metric metric, mn_simd_level level) {
    mn_distance_fn fn = NULL;
    if (mn_distance_kernel(metric, level, &fn) != MN_OK) {
        fprintf(stderr, "test_distance: no kernel for metric %d level %d\n", (int)metric,
                (int)level);
        exit(2);
    }
    return fn;
}

/* The dimensions swept: every one up to 300, then common embedding sizes and the maximum. */
static size_t mn_test_dimensions(size_t *out) {
    static const size_t large[] = {384, 512, 768, 1024, 1536, 4096};
    size_t n = 0;
    for (size_t d = 1; d <= 300; d++) {
        out[n++] = d;
    }
    for (size_t i = 0; i < sizeof large / sizeof large[0]; i++) {
        out[n++] = large[i];
    }
    return n;
}

static void mn_test_against_oracle(mn_simd_level best) {
    size_t dims[320];
    size_t dim_count = mn_test_dimensions(dims);
    double worst[MN_TEST_METRICS][MN_SIMD_LEVELS] = {{0}};
    for (int m = 0; m < MN_TEST_METRICS; m++) {
        mn_metric metric = mn_test_metrics[m];
        mn_distance_fn oracle = mn_test_kernel(metric, MN_SIMD_SCALAR);
        for (size_t di = 0; di < dim_count; di++) {
            size_t dim = dims[di];
            for (size_t offset = 0; offset < MN_TEST_OFFSETS; offset++) {
                /* a and b sit at different misalignments: 0/3, 1/2, 2/1, 3/0 floats. */
                size_t offset_b = MN_TEST_OFFSETS - 1 - offset;
                float *base_a = mn_test_alloc(offset, dim);
                float *base_b = mn_test_alloc(offset_b, dim);
                float *a = base_a + offset, *b = base_b + offset_b;
                mn_test_fill(a, dim, metric);
                mn_test_fill(b, dim, metric);
                double expected = oracle(a, b, dim);
                double reference = fmax(fabs(expected), MN_TEST_FLOOR);
                if (metric != MN_METRIC_L2) {
                    reference = fmax(reference, fabs(1.0 - expected));
                }
                for (mn_simd_level level = MN_SIMD_AVX2; level <= best; level++) {
                    float got = mn_test_kernel(metric, level)(a, b, dim);
                    double rel = fabs((double)got - expected) / reference;
                    if (!(rel <= worst[m][level])) {
                        worst[m][level] = rel;
                    }
                    MN_CHECK(rel <= MN_TEST_REL_TOL,
                             "%s level %d dim %zu offsets %zu/%zu: got %.9g oracle %.9g rel %.3g",
                             mn_test_metric_names[m], (int)level, dim, offset, offset_b,
                             (double)got, expected, rel);
                }
                /* The public entry point uses the best kernel: bit-identical results. */
                float via_public = -1.0f;
                mn_status st = mn_distance(metric, a, b, dim, &via_public);
                float direct = mn_test_kernel(metric, best)(a, b, dim);
                MN_CHECK(st == MN_OK && memcmp(&via_public, &direct, sizeof direct) == 0,
                         "mn_distance %s dim %zu: status %d got %.9g kernel %.9g",
                         mn_test_metric_names[m], dim, (int)st, (double)via_public,
                         (double)direct);
                free(base_a);
                free(base_b);
            }
        }
    }
    for (int m = 0; m < MN_TEST_METRICS; m++) {
        for (mn_simd_level level = MN_SIMD_AVX2; level <= best; level++) {
            printf("  worst relative error %-6s %-6s %.3g\n", mn_test_metric_names[m],
                   level == MN_SIMD_AVX2 ? "avx2" : "avx512", worst[m][level]);
        }
    }
}

/*
 * Every vector between NaN guard bands: a kernel that reads a float before or after its vector
 * (a wrong tail mask, an off-by-one loop bound) returns NaN here, with or without a sanitizer.
 */
static void mn_test_guard_bands(mn_simd_level best) {
    enum { GUARD = 32 };
    size_t dims[320];
    size_t dim_count = mn_test_dimensions(dims);
    size_t floats = GUARD + MN_TEST_OFFSETS + MN_DIMENSION_MAX + GUARD;
    float *base_a = mn_test_alloc(0, floats), *base_b = mn_test_alloc(0, floats);
    for (int m = 0; m < MN_TEST_METRICS; m++) {
        mn_metric metric = mn_test_metrics[m];
        mn_distance_fn oracle = mn_test_kernel(metric, MN_SIMD_SCALAR);
        for (size_t di = 0; di < dim_count; di++) {
            size_t dim = dims[di];
            for (size_t offset = 0; offset < MN_TEST_OFFSETS; offset++) {
                for (size_t i = 0; i < floats; i++) {
                    base_a[i] = NAN;
                    base_b[i] = NAN;
                }
                size_t offset_b = MN_TEST_OFFSETS - 1 - offset;
                float *a = base_a + GUARD + offset, *b = base_b + GUARD + offset_b;
                mn_test_fill(a, dim, metric);
                mn_test_fill(b, dim, metric);
                double expected = oracle(a, b, dim);
                double reference = fmax(fabs(expected), MN_TEST_FLOOR);
                if (metric != MN_METRIC_L2) {
                    reference = fmax(reference, fabs(1.0 - expected));
                }
                for (mn_simd_level level = MN_SIMD_SCALAR; level <= best; level++) {
                    float got = mn_test_kernel(metric, level)(a, b, dim);
                    MN_CHECK(isfinite(got) && fabs((double)got - expected) / reference <=
                                                  MN_TEST_REL_TOL,
                             "%s level %d dim %zu offset %zu: got %.9g oracle %.9g (read past "
                             "the vector?)",
                             mn_test_metric_names[m], (int)level, dim, offset, (double)got,
                             expected);
                }
            }
        }
    }
    free(base_a);
    free(base_b);
}

/* Zero vectors, identical vectors and known answers, at every level and a spread of tails. */
static void mn_test_special_values(mn_simd_level best) {
    static const size_t dims[] = {1, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 100, 768, 4096};
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        size_t dim = dims[di];
        float *base_zero = mn_test_alloc(1, dim), *base_x = mn_test_alloc(2, dim);
        float *base_ones = mn_test_alloc(3, dim), *base_twos = mn_test_alloc(1, dim);
        float *zero = base_zero + 1, *x = base_x + 2, *ones = base_ones + 3, *twos = base_twos + 1;
        for (size_t i = 0; i < dim; i++) {
            zero[i] = 0.0f;
            ones[i] = 1.0f;
            twos[i] = 2.0f;
        }
        mn_test_fill(x, dim, MN_METRIC_L2);
        x[0] = 0.5f; /* never the zero vector */
        for (mn_simd_level level = MN_SIMD_SCALAR; level <= best; level++) {
            mn_distance_fn l2 = mn_test_kernel(MN_METRIC_L2, level);
            mn_distance_fn ip = mn_test_kernel(MN_METRIC_IP, level);
            mn_distance_fn cosine = mn_test_kernel(MN_METRIC_COSINE, level);
            float d;
            d = cosine(zero, zero, dim);
            MN_CHECK(d == 1.0f, "level %d dim %zu: cosine(0, 0) = %.9g", (int)level, dim, d);
            d = cosine(zero, x, dim);
            MN_CHECK(d == 1.0f, "level %d dim %zu: cosine(0, x) = %.9g", (int)level, dim, d);
            d = cosine(x, zero, dim);
            MN_CHECK(d == 1.0f, "level %d dim %zu: cosine(x, 0) = %.9g", (int)level, dim, d);
            d = l2(x, x, dim);
            MN_CHECK(d == 0.0f, "level %d dim %zu: l2(x, x) = %.9g", (int)level, dim, d);
            d = cosine(x, x, dim);
            MN_CHECK(fabsf(d) <= 1e-6f, "level %d dim %zu: cosine(x, x) = %.9g", (int)level,
                     dim, d);
            d = ip(zero, x, dim);
            MN_CHECK(d == 1.0f, "level %d dim %zu: ip(0, x) = %.9g", (int)level, dim, d);
            /* Small integers: every partial sum is exact in float, so the answers are exact. */
            d = l2(ones, twos, dim);
            MN_CHECK(d == (float)dim, "level %d dim %zu: l2(1, 2) = %.9g", (int)level, dim, d);
            d = ip(ones, twos, dim);
            MN_CHECK(d == 1.0f - 2.0f * (float)dim, "level %d dim %zu: ip(1, 2) = %.9g",
                     (int)level, dim, d);
            d = cosine(ones, twos, dim);
            MN_CHECK(fabsf(d) <= 1e-6f, "level %d dim %zu: cosine(1, 2) = %.9g", (int)level,
                     dim, d);
        }
        free(base_zero);
        free(base_x);
        free(base_ones);
        free(base_twos);
    }
}

/* The code kernels (weights times byte codes) against exact sums, every level, dimensions
 * around the step widths, row counts around the four-row step, codes across the byte range. */
static void mn_test_code_kernels(mn_simd_level best) {
    enum { ROWS_MAX = 7, DIM_MAX = 785 };
    static const size_t dims[] = {1, 7, 8, 15, 16, 17, 31, 32, 33, 100, 128, 384, DIM_MAX};
    static float weights[DIM_MAX];
    static uint8_t codes[ROWS_MAX * DIM_MAX];
    for (size_t i = 0; i < DIM_MAX; i++) weights[i] = (float)((double)((i * 37) % 101) / 50.0 - 1.0);
    for (size_t i = 0; i < ROWS_MAX * DIM_MAX; i++) codes[i] = (uint8_t)((i * 151 + 13) % 256);
    for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++) {
        for (size_t rows = 0; rows <= ROWS_MAX; rows++) {
            for (mn_simd_level level = MN_SIMD_SCALAR; level <= best; level++) {
                mn_dot_u8_fn kernel = NULL;
                MN_CHECK(mn_dot_u8_kernel(level, &kernel) == MN_OK && kernel != NULL, "code kernel level %d",
                         (int)level);
                if (!kernel) continue;
                float out[ROWS_MAX + 1];
                out[rows] = -7.0f; /* must stay: one past the last row */
                kernel(weights, codes, dims[d], rows, out);
                MN_CHECK(out[rows] == -7.0f, "code kernel level %d wrote past %zu rows", (int)level, rows);
                for (size_t r = 0; r < rows; r++) {
                    double exact = 0.0, magnitude = 0.0;
                    for (size_t i = 0; i < dims[d]; i++) {
                        const double term = (double)weights[i] * codes[r * dims[d] + i];
                        exact += term;
                        magnitude += fabs(term);
                    }
                    /* A float sum of n terms is within n * 2^-24 of their magnitude. */
                    MN_CHECK(fabs((double)out[r] - exact) <= (double)dims[d] * 0x1p-24 * magnitude + 1e-6,
                             "code kernel level %d dim %zu row %zu of %zu: %.9g, exact %.9g", (int)level, dims[d],
                             r, rows, (double)out[r], exact);
                }
            }
        }
    }
    mn_dot_u8_fn kernel = NULL;
    MN_CHECK(mn_dot_u8_kernel(9, &kernel) == MN_ERR_INVALID, "code kernel: bad level");
    MN_CHECK(mn_dot_u8_kernel(MN_SIMD_AUTO, NULL) == MN_ERR_INVALID, "code kernel: NULL out");
}

static void mn_test_public_errors(void) {
    float a[4] = {1, 2, 3, 4}, b[4] = {4, 3, 2, 1};
    float out = -7.0f;
    MN_CHECK(mn_distance(MN_METRIC_L2, a, b, 0, &out) == MN_ERR_DIMENSION, "dimension 0");
    MN_CHECK(mn_distance(MN_METRIC_L2, a, b, (size_t)MN_DIMENSION_MAX + 1, &out) ==
                 MN_ERR_DIMENSION,
             "dimension MN_DIMENSION_MAX + 1");
    MN_CHECK(mn_distance(MN_METRIC_L2, a, b, SIZE_MAX, &out) == MN_ERR_DIMENSION,
             "dimension SIZE_MAX");
    MN_CHECK(mn_distance(MN_METRIC_L2, NULL, b, 4, &out) == MN_ERR_INVALID, "NULL a");
    MN_CHECK(mn_distance(MN_METRIC_L2, a, NULL, 4, &out) == MN_ERR_INVALID, "NULL b");
    MN_CHECK(mn_distance(MN_METRIC_L2, a, b, 4, NULL) == MN_ERR_INVALID, "NULL out");
    MN_CHECK(mn_distance(-1, a, b, 4, &out) == MN_ERR_INVALID, "metric -1");
    MN_CHECK(mn_distance(3, a, b, 4, &out) == MN_ERR_INVALID, "metric 3");
    MN_CHECK(out == -7.0f, "a failed call wrote its out-parameter (%.9g)", (double)out);
    MN_CHECK(mn_distance(MN_METRIC_L2, a, b, 4, &out) == MN_OK && out == 20.0f, "l2 = %.9g",
             (double)out);
    MN_CHECK(mn_distance(MN_METRIC_IP, a, b, 4, &out) == MN_OK && out == 1.0f - 20.0f,
             "ip = %.9g", (double)out);
    MN_CHECK(mn_distance(MN_METRIC_COSINE, a, b, 4, &out) == MN_OK &&
                 fabsf(out - (1.0f - 20.0f / 30.0f)) <= 1e-6f,
             "cosine = %.9g", (double)out);
}

/*
 * The four-vector batch kernels: every level's out[j] equals the scalar oracle for vector j
 * (same tolerance), over every dimension and with the four vectors at different misalignments;
 * and the batch lookup validates like the single one.
 */
static void mn_test_batch_kernels(mn_simd_level best) {
    size_t dims[320];
    size_t dim_count = mn_test_dimensions(dims);
    for (int m = 0; m < MN_TEST_METRICS; m++) {
        mn_metric metric = mn_test_metrics[m];
        mn_distance_fn oracle = mn_test_kernel(metric, MN_SIMD_SCALAR);
        for (size_t di = 0; di < dim_count; di++) {
            size_t dim = dims[di];
            float *bases[5];
            const float *vectors[4];
            float *query;
            for (int j = 0; j < 5; j++) {
                size_t offset = (size_t)j % MN_TEST_OFFSETS;
                bases[j] = mn_test_alloc(offset, dim);
                mn_test_fill(bases[j] + offset, dim, metric);
                if (j < 4) vectors[j] = bases[j] + offset;
            }
            query = bases[4] + 4 % MN_TEST_OFFSETS;
            for (mn_simd_level level = MN_SIMD_SCALAR; level <= best; level++) {
                mn_distance4_fn kernel = NULL;
                mn_status st = mn_distance_kernel4(metric, level, &kernel);
                MN_CHECK(st == MN_OK && kernel != NULL, "kernel4 %d/%d -> %d", (int)metric, (int)level, (int)st);
                if (kernel == NULL) continue;
                /* The bit-exact batch: each distance identical to the single kernel's. */
                mn_distance4_fn exact = NULL;
                mn_distance_fn single = mn_test_kernel(metric, level);
                st = mn_distance_kernel4_exact(metric, level, &exact);
                MN_CHECK(st == MN_OK && exact != NULL, "kernel4_exact %d/%d -> %d", (int)metric, (int)level, (int)st);
                if (exact != NULL && single != NULL) {
                    float same[4] = {-1, -1, -1, -1};
                    exact(query, vectors, dim, same);
                    for (int j = 0; j < 4; j++) {
                        float one = single(query, vectors[j], dim);
                        MN_CHECK(memcmp(&same[j], &one, sizeof(float)) == 0,
                                 "x4 exact %s level %d dim %zu vector %d: %.9g, single kernel %.9g",
                                 mn_test_metric_names[m], (int)level, dim, j, (double)same[j], (double)one);
                    }
                }
                float out[4] = {-1, -1, -1, -1};
                kernel(query, vectors, dim, out);
                for (int j = 0; j < 4; j++) {
                    double expected = oracle(query, vectors[j], dim);
                    double reference = fmax(fabs(expected), MN_TEST_FLOOR);
                    if (metric != MN_METRIC_L2) reference = fmax(reference, fabs(1.0 - expected));
                    double rel = fabs((double)out[j] - expected) / reference;
                    MN_CHECK(rel <= MN_TEST_REL_TOL, "x4 %s level %d dim %zu vector %d: got %.9g oracle %.9g",
                             mn_test_metric_names[m], (int)level, dim, j, (double)out[j], expected);
                }
            }
            for (int j = 0; j < 5; j++) free(bases[j]);
        }
    }
    mn_distance4_fn kernel = NULL;
    MN_CHECK(mn_distance_kernel4(7, MN_SIMD_AUTO, &kernel) == MN_ERR_INVALID, "bad metric");
    MN_CHECK(mn_distance_kernel4(MN_METRIC_L2, 9, &kernel) == MN_ERR_INVALID, "bad level");
    MN_CHECK(mn_distance_kernel4(MN_METRIC_L2, MN_SIMD_AUTO, NULL) == MN_ERR_INVALID, "NULL out");
    MN_CHECK(mn_distance_kernel4_exact(7, MN_SIMD_AUTO, &kernel) == MN_ERR_INVALID, "exact: bad metric");
    MN_CHECK(mn_distance_kernel4_exact(MN_METRIC_L2, 9, &kernel) == MN_ERR_INVALID, "exact: bad level");
    MN_CHECK(mn_distance_kernel4_exact(MN_METRIC_L2, MN_SIMD_AUTO, NULL) == MN_ERR_INVALID, "exact: NULL out");
}

int main(void) {
    mn_simd_level best = mn_test_best_level();
    const char *best_name = "?";
    (void)mn_simd_level_name(best, &best_name);
    printf("distance: best level on this cpu: %s\n", best_name);
    mn_test_level_names();
    mn_test_level_best();
    mn_test_kernel_lookup(best);
    mn_test_against_oracle(best);
    mn_test_batch_kernels(best);
    mn_test_guard_bands(best);
    mn_test_special_values(best);
    mn_test_code_kernels(best);
    mn_test_public_errors();
    printf("distance: %d passed, %d failed\n", mn_test_passed, mn_test_failed);
    return mn_test_failed == 0 ? 0 : 1;
}
