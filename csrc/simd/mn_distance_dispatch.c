/*
 * mn_distance_dispatch.c: picks a distance kernel for a metric and an instruction-set level.
 *
 * After NumKong/SimSIMD: one static const table [metric][level] names every kernel, and the best
 * level the CPU supports is detected once (pthread_once around __builtin_cpu_supports, which
 * also checks that the OS saves the wider registers) and kept in a static that is written only
 * by that once-routine. pthread_once gives the happens-before edge, so every later reader sees
 * the detected level without atomics. Callers on a hot path should fetch a kernel once with
 * mn_distance_kernel and call it directly; mn_distance is the convenient, validated entry point.
 */
#include <pthread.h>

#include "mnemo/mn_distance.h"
#include "mnemo/mn_limits.h"
#include "simd/mn_distance_kernels.h"
#include "util/mn_assert.h"

#define MN_METRICS 3

static const mn_distance_fn mn_distance_table[MN_METRICS][MN_SIMD_LEVELS] = {
    [MN_METRIC_L2] =
        {
            [MN_SIMD_SCALAR] = mn_distance_l2_f32_scalar,
            [MN_SIMD_AVX2] = mn_distance_l2_f32_avx2,
            [MN_SIMD_AVX512] = mn_distance_l2_f32_avx512,
        },
    [MN_METRIC_IP] =
        {
            [MN_SIMD_SCALAR] = mn_distance_ip_f32_scalar,
            [MN_SIMD_AVX2] = mn_distance_ip_f32_avx2,
            [MN_SIMD_AVX512] = mn_distance_ip_f32_avx512,
        },
    [MN_METRIC_COSINE] =
        {
            [MN_SIMD_SCALAR] = mn_distance_cosine_f32_scalar,
            [MN_SIMD_AVX2] = mn_distance_cosine_f32_avx2,
            [MN_SIMD_AVX512] = mn_distance_cosine_f32_avx512,
        },
};

/* Cosine has no dedicated batch kernel (indexes store unit vectors and use ip); these loop the
 * single-vector kernel of the level. */
static void mn_distance_cosine_f32x4_avx2(const float *query, const float *const *vectors, size_t dimension,
                                          float *out) {
    for (int j = 0; j < 4; j++) out[j] = mn_distance_cosine_f32_avx2(query, vectors[j], dimension);
}

static void mn_distance_cosine_f32x4_avx512(const float *query, const float *const *vectors, size_t dimension,
                                            float *out) {
    for (int j = 0; j < 4; j++) out[j] = mn_distance_cosine_f32_avx512(query, vectors[j], dimension);
}

static const mn_distance4_fn mn_distance4_table[MN_METRICS][MN_SIMD_LEVELS] = {
    [MN_METRIC_L2] =
        {
            [MN_SIMD_SCALAR] = mn_distance_l2_f32x4_scalar,
            [MN_SIMD_AVX2] = mn_distance_l2_f32x4_avx2,
            [MN_SIMD_AVX512] = mn_distance_l2_f32x4_avx512,
        },
    [MN_METRIC_IP] =
        {
            [MN_SIMD_SCALAR] = mn_distance_ip_f32x4_scalar,
            [MN_SIMD_AVX2] = mn_distance_ip_f32x4_avx2,
            [MN_SIMD_AVX512] = mn_distance_ip_f32x4_avx512,
        },
    [MN_METRIC_COSINE] =
        {
            [MN_SIMD_SCALAR] = mn_distance_cosine_f32x4_scalar,
            [MN_SIMD_AVX2] = mn_distance_cosine_f32x4_avx2,
            [MN_SIMD_AVX512] = mn_distance_cosine_f32x4_avx512,
        },
};

/* Four single-vector distances, for the levels and metrics without a dedicated bit-exact batch
 * kernel: bit-exact by construction. */
#define MN_DISTANCE4_LOOP(name, kernel)                                                            \
    static void name(const float *query, const float *const *vectors, size_t dimension, float *out) { \
        for (int j = 0; j < 4; j++) out[j] = kernel(query, vectors[j], dimension);               \
    }
MN_DISTANCE4_LOOP(mn_distance_l2_f32x4exact_scalar, mn_distance_l2_f32_scalar)
MN_DISTANCE4_LOOP(mn_distance_ip_f32x4exact_scalar, mn_distance_ip_f32_scalar)
MN_DISTANCE4_LOOP(mn_distance_cosine_f32x4exact_scalar, mn_distance_cosine_f32_scalar)
MN_DISTANCE4_LOOP(mn_distance_l2_f32x4exact_avx2, mn_distance_l2_f32_avx2)
MN_DISTANCE4_LOOP(mn_distance_ip_f32x4exact_avx2, mn_distance_ip_f32_avx2)

static const mn_distance4_fn mn_distance4_exact_table[MN_METRICS][MN_SIMD_LEVELS] = {
    [MN_METRIC_L2] =
        {
            [MN_SIMD_SCALAR] = mn_distance_l2_f32x4exact_scalar,
            [MN_SIMD_AVX2] = mn_distance_l2_f32x4exact_avx2,
            [MN_SIMD_AVX512] = mn_distance_l2_f32x4exact_avx512,
        },
    [MN_METRIC_IP] =
        {
            [MN_SIMD_SCALAR] = mn_distance_ip_f32x4exact_scalar,
            [MN_SIMD_AVX2] = mn_distance_ip_f32x4exact_avx2,
            [MN_SIMD_AVX512] = mn_distance_ip_f32x4exact_avx512,
        },
    [MN_METRIC_COSINE] =
        {
            [MN_SIMD_SCALAR] = mn_distance_cosine_f32x4exact_scalar,
            [MN_SIMD_AVX2] = mn_distance_cosine_f32x4_avx2,
            [MN_SIMD_AVX512] = mn_distance_cosine_f32x4_avx512,
        },
};

static const mn_dot_u8_fn mn_dot_u8_table[MN_SIMD_LEVELS] = {
    [MN_SIMD_SCALAR] = mn_dot_u8_scalar,
    [MN_SIMD_AVX2] = mn_dot_u8_avx2,
    [MN_SIMD_AVX512] = mn_dot_u8_avx512,
};

static const char *const mn_simd_level_names[MN_SIMD_LEVELS] = {
    [MN_SIMD_SCALAR] = "scalar",
    [MN_SIMD_AVX2] = "avx2",
    [MN_SIMD_AVX512] = "avx512",
};

/* Written once, by mn_simd_detect under mn_simd_once; read-only afterwards. */
static pthread_once_t mn_simd_once = PTHREAD_ONCE_INIT;
static mn_simd_level mn_simd_detected = MN_SIMD_SCALAR;

static void mn_simd_detect(void) {
    mn_simd_level level = MN_SIMD_SCALAR;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        level = MN_SIMD_AVX2;
    }
    /* Every AVX-512F CPU also has AVX2 and FMA; requiring them keeps the levels ordered. */
    if (level == MN_SIMD_AVX2 && __builtin_cpu_supports("avx512f")) {
        level = MN_SIMD_AVX512;
    }
#endif
    mn_simd_detected = level;
}

/* The detected level; never fails (pthread_once only fails on misuse, which is a bug). */
static mn_simd_level mn_simd_best(void) {
    int rc = pthread_once(&mn_simd_once, mn_simd_detect);
    MN_ASSERT(rc == 0);
    return mn_simd_detected;
}

mn_status mn_simd_level_best(mn_simd_level *out) {
    if (out == NULL) {
        return MN_ERR_INVALID;
    }
    *out = mn_simd_best();
    return MN_OK;
}

mn_status mn_simd_level_name(mn_simd_level level, const char **out) {
    if (out == NULL) {
        return MN_ERR_INVALID;
    }
    if (level == MN_SIMD_AUTO) {
        *out = "auto";
        return MN_OK;
    }
    if (level < 0 || level >= MN_SIMD_LEVELS) {
        return MN_ERR_INVALID;
    }
    *out = mn_simd_level_names[level];
    return MN_OK;
}

/* Validates (metric, level) and resolves MN_SIMD_AUTO; shared by both kernel getters. */
static mn_status mn_distance_resolve(mn_metric metric, mn_simd_level *level) {
    if (metric < 0 || metric >= MN_METRICS) {
        return MN_ERR_INVALID;
    }
    if (*level != MN_SIMD_AUTO && (*level < 0 || *level >= MN_SIMD_LEVELS)) {
        return MN_ERR_INVALID;
    }
    mn_simd_level best = mn_simd_best();
    if (*level == MN_SIMD_AUTO) {
        *level = best;
    } else if (*level > best) {
        return MN_ERR_UNSUPPORTED;
    }
    return MN_OK;
}

mn_status mn_distance_kernel(mn_metric metric, mn_simd_level level, mn_distance_fn *out) {
    if (out == NULL) {
        return MN_ERR_INVALID;
    }
    mn_status status = mn_distance_resolve(metric, &level);
    if (status != MN_OK) {
        return status;
    }
    mn_distance_fn kernel = mn_distance_table[metric][level];
    MN_ASSERT(kernel != NULL);
    *out = kernel;
    return MN_OK;
}

mn_status mn_distance_kernel4(mn_metric metric, mn_simd_level level, mn_distance4_fn *out) {
    if (out == NULL) {
        return MN_ERR_INVALID;
    }
    mn_status status = mn_distance_resolve(metric, &level);
    if (status != MN_OK) {
        return status;
    }
    mn_distance4_fn kernel = mn_distance4_table[metric][level];
    MN_ASSERT(kernel != NULL);
    *out = kernel;
    return MN_OK;
}

mn_status mn_distance(mn_metric metric, const float *a, const float *b, size_t dimension,
                      float *out) {
    if (a == NULL || b == NULL || out == NULL || metric < 0 || metric >= MN_METRICS) {
        return MN_ERR_INVALID;
    }
    if (dimension == 0 || dimension > MN_DIMENSION_MAX) {
        return MN_ERR_DIMENSION;
    }
    *out = mn_distance_table[metric][mn_simd_best()](a, b, dimension);
    return MN_OK;
}

mn_status mn_distance_kernel4_exact(mn_metric metric, mn_simd_level level, mn_distance4_fn *out) {
    if (out == NULL) {
        return MN_ERR_INVALID;
    }
    mn_status status = mn_distance_resolve(metric, &level);
    if (status != MN_OK) {
        return status;
    }
    mn_distance4_fn kernel = mn_distance4_exact_table[metric][level];
    MN_ASSERT(kernel != NULL);
    *out = kernel;
    return MN_OK;
}

mn_status mn_dot_u8_kernel(mn_simd_level level, mn_dot_u8_fn *out) {
    if (out == NULL) {
        return MN_ERR_INVALID;
    }
    mn_status status = mn_distance_resolve(MN_METRIC_L2, &level);
    if (status != MN_OK) {
        return status;
    }
    *out = mn_dot_u8_table[level];
    return MN_OK;
}
