/*
 * mn_distance.h: float32 distance kernels with runtime SIMD dispatch.
 *
 * After NumKong/SimSIMD: a scalar kernel is the oracle, each instruction set has its own file
 * (csrc/simd/), and one dispatch table picks the best level the CPU supports, once. Every kernel
 * accepts any dimension from 1 to MN_DIMENSION_MAX and unaligned pointers.
 *
 * Distances (smaller is closer):
 *   MN_METRIC_L2      squared Euclidean distance, sum (a_i - b_i)^2
 *   MN_METRIC_IP      1 - sum a_i b_i (inner-product distance, as hnswlib)
 *   MN_METRIC_COSINE  1 - (a . b) / (|a| |b|); 1 when either vector is zero
 *
 * Thread safety: all functions are safe to call from any thread.
 */
#ifndef MN_DISTANCE_H
#define MN_DISTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "mn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A distance metric. */
typedef int32_t mn_metric;
#define MN_METRIC_L2     0
#define MN_METRIC_IP     1
#define MN_METRIC_COSINE 2

/** An instruction-set level for the kernels. MN_SIMD_AUTO means the best the CPU supports. */
typedef int32_t mn_simd_level;
#define MN_SIMD_AUTO    (-1)
#define MN_SIMD_SCALAR    0
#define MN_SIMD_AVX2      1  /**< AVX2 + FMA */
#define MN_SIMD_AVX512    2  /**< AVX-512F */
#define MN_SIMD_LEVELS    3

/** A kernel: the distance between a and b, each of `dimension` floats. */
typedef float (*mn_distance_fn)(const float *a, const float *b, size_t dimension);

/**
 * A batch kernel: the distances from `query` to four vectors, written to out[0..3]. Loading the
 * query once for four vectors is what makes the search path's neighbour scoring faster.
 */
typedef void (*mn_distance4_fn)(const float *query, const float *const *vectors, size_t dimension,
                                float *out);

/** Writes the best level this CPU supports (detected once) to *out. */
mn_status mn_simd_level_best(mn_simd_level *out);

/**
 * Writes a static name for a level ("scalar", "avx2", "avx512"; "auto" for MN_SIMD_AUTO) to
 * *out. Returns MN_ERR_INVALID for any other level or a NULL out.
 */
mn_status mn_simd_level_name(mn_simd_level level, const char **out);

/**
 * Writes the kernel for (metric, level) to *out. MN_SIMD_AUTO picks the best level.
 * Returns MN_ERR_INVALID for an unknown metric or level, MN_ERR_UNSUPPORTED when the CPU
 * lacks the level (forcing a level is for tests and benchmarks).
 */
mn_status mn_distance_kernel(mn_metric metric, mn_simd_level level, mn_distance_fn *out);

/** As mn_distance_kernel, for the four-vector batch kernel of (metric, level). */
mn_status mn_distance_kernel4(mn_metric metric, mn_simd_level level, mn_distance4_fn *out);

/**
 * Computes one distance with the best kernel. Returns MN_ERR_DIMENSION for a dimension of 0 or
 * over MN_DIMENSION_MAX, MN_ERR_INVALID for a NULL pointer or an unknown metric.
 */
mn_status mn_distance(mn_metric metric, const float *a, const float *b, size_t dimension,
                      float *out);

/* The kernels themselves, named mn_distance_<metric>_<type>_<isa>. */
float mn_distance_l2_f32_scalar(const float *a, const float *b, size_t dimension);
float mn_distance_ip_f32_scalar(const float *a, const float *b, size_t dimension);
float mn_distance_cosine_f32_scalar(const float *a, const float *b, size_t dimension);
float mn_distance_l2_f32_avx2(const float *a, const float *b, size_t dimension);
float mn_distance_ip_f32_avx2(const float *a, const float *b, size_t dimension);
float mn_distance_cosine_f32_avx2(const float *a, const float *b, size_t dimension);
float mn_distance_l2_f32_avx512(const float *a, const float *b, size_t dimension);
float mn_distance_ip_f32_avx512(const float *a, const float *b, size_t dimension);
float mn_distance_cosine_f32_avx512(const float *a, const float *b, size_t dimension);
void mn_distance_l2_f32x4_scalar(const float *query, const float *const *vectors, size_t dimension, float *out);
void mn_distance_ip_f32x4_scalar(const float *query, const float *const *vectors, size_t dimension, float *out);
void mn_distance_cosine_f32x4_scalar(const float *query, const float *const *vectors, size_t dimension, float *out);
void mn_distance_l2_f32x4_avx2(const float *query, const float *const *vectors, size_t dimension, float *out);
void mn_distance_ip_f32x4_avx2(const float *query, const float *const *vectors, size_t dimension, float *out);
void mn_distance_l2_f32x4_avx512(const float *query, const float *const *vectors, size_t dimension, float *out);
void mn_distance_ip_f32x4_avx512(const float *query, const float *const *vectors, size_t dimension, float *out);

#ifdef __cplusplus
}
#endif

#endif /* MN_DISTANCE_H */
