/*
 * mn_distance_kernels.h: the distance kernels of each instruction set and the dispatch table
 * that hands them out.
 *
 * Private to the core: the index (csrc/hnsw/) takes its kernels from here once, at creation;
 * the C tests check every kernel against the scalar oracle and the benchmarks time them.
 * Applications compute a distance with mn_distance (mnemo/mn_distance.h). Every function here
 * is safe from any thread and never blocks.
 */
#ifndef MN_DISTANCE_KERNELS_H
#define MN_DISTANCE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "mnemo/mn_distance.h"
#include "mnemo/mn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A kernel: the distance between a and b, each of `dimension` floats. */
typedef float (*mn_distance_fn)(const float *a, const float *b, size_t dimension);

/**
 * A batch kernel: the distances from `query` to four vectors, written to out[0..3]. Loading the
 * query once for four vectors is what makes the search path's neighbour scoring faster.
 */
typedef void (*mn_distance4_fn)(const float *query, const float *const *vectors, size_t dimension,
                                float *out);

/**
 * Writes the kernel for (metric, level) to *out. MN_SIMD_AUTO picks the best level.
 * Returns MN_ERR_INVALID for an unknown metric or level, MN_ERR_UNSUPPORTED when the CPU
 * lacks the level (forcing a level is for tests and benchmarks).
 */
mn_status mn_distance_kernel(mn_metric metric, mn_simd_level level, mn_distance_fn *out);

/** As mn_distance_kernel, for the four-vector batch kernel of (metric, level). */
mn_status mn_distance_kernel4(mn_metric metric, mn_simd_level level, mn_distance4_fn *out);

/**
 * As mn_distance_kernel4, but each of the four distances is bit for bit what the single-vector
 * kernel of (metric, level) returns for that vector (the f32x4 kernels may round differently):
 * for the exact searches, whose results must equal mn_distance's.
 */
mn_status mn_distance_kernel4_exact(mn_metric metric, mn_simd_level level, mn_distance4_fn *out);

/**
 * A code kernel: for each of `rows` rows of byte codes stored one after another (`dimension`
 * bytes each), the sum of weights[i] * code[i] over its dimensions, written to out[row]. Sums
 * in float; the levels may round differently, each within the usual float error of a
 * `dimension`-term sum.
 */
typedef void (*mn_dot_u8_fn)(const float *weights, const uint8_t *codes, size_t dimension, size_t rows,
                             float *out);

/** Writes the code kernel of `level` to *out, as mn_distance_kernel (MN_ERR_INVALID for an
 *  unknown level, MN_ERR_UNSUPPORTED when the CPU lacks it). */
mn_status mn_dot_u8_kernel(mn_simd_level level, mn_dot_u8_fn *out);

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
void mn_distance_l2_f32x4exact_avx512(const float *query, const float *const *vectors, size_t dimension, float *out);
void mn_distance_ip_f32x4exact_avx512(const float *query, const float *const *vectors, size_t dimension, float *out);
void mn_dot_u8_scalar(const float *weights, const uint8_t *codes, size_t dimension, size_t rows, float *out);
void mn_dot_u8_avx2(const float *weights, const uint8_t *codes, size_t dimension, size_t rows, float *out);
void mn_dot_u8_avx512(const float *weights, const uint8_t *codes, size_t dimension, size_t rows, float *out);

#ifdef __cplusplus
}
#endif

#endif /* MN_DISTANCE_KERNELS_H */
