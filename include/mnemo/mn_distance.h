/*
 * mn_distance.h: float32 distance kernels with runtime SIMD dispatch.
 *
 * After NumKong/SimSIMD: a scalar kernel is the oracle, each instruction set has its own file
 * (csrc/simd/), and one dispatch table picks the best level the CPU supports, once. Every kernel
 * accepts any dimension from 1 to MN_DIMENSION_MAX and unaligned pointers. The kernels
 * themselves and the table are private (csrc/simd/mn_distance_kernels.h); this header keeps the
 * metrics, the levels an index may be forced to, and one distance computed with the best kernel.
 *
 * Distances (smaller is closer):
 *   MN_METRIC_L2      squared Euclidean distance, sum (a_i - b_i)^2
 *   MN_METRIC_IP      1 - sum a_i b_i (inner-product distance, as hnswlib)
 *   MN_METRIC_COSINE  1 - (a . b) / (|a| |b|); 1 when either vector is zero
 *
 * Thread safety: all functions are safe to call from any thread and never block.
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

/** Writes the best level this CPU supports (detected once) to *out.
 *  Blocking: never. */
mn_status mn_simd_level_best(mn_simd_level *out);

/**
 * Writes a static name for a level ("scalar", "avx2", "avx512"; "auto" for MN_SIMD_AUTO) to
 * *out. Returns MN_ERR_INVALID for any other level or a NULL out.
 * Blocking: never.
 */
mn_status mn_simd_level_name(mn_simd_level level, const char **out);

/**
 * Computes one distance with the best kernel. Returns MN_ERR_DIMENSION for a dimension of 0 or
 * over MN_DIMENSION_MAX, MN_ERR_INVALID for a NULL pointer or an unknown metric.
 * Blocking: never.
 */
mn_status mn_distance(mn_metric metric, const float *a, const float *b, size_t dimension,
                      float *out);

#ifdef __cplusplus
}
#endif

#endif /* MN_DISTANCE_H */
