/*
 * mn_distance_avx2.c: float32 distance kernels for x86-64 with AVX2 and FMA.
 *
 * Each function carries __attribute__((target("avx2,fma"))) instead of the build passing -mavx2,
 * so the same object links into a binary that still runs on older CPUs: mn_distance_dispatch.c
 * only hands these kernels out once __builtin_cpu_supports has seen AVX2 and FMA.
 *
 * Shape of every kernel: a main loop of 32 floats feeding four independent accumulators (an FMA
 * has a latency of about four cycles and two issue ports, so one accumulator would leave most of
 * the FMA throughput idle), then 8-float steps, then one masked load for the last 1..7 floats.
 * vmaskmovps never touches the masked-off lanes, so the tail reads nothing past the vectors and
 * cannot fault at the end of a page. All loads are unaligned (vmovups costs nothing extra on
 * aligned data). Sums are kept in float: the tests bound the error against the double-precision
 * scalar oracle; the cosine finish is done in double to avoid overflow in |a|^2 |b|^2.
 */
#include <immintrin.h>
#include <math.h>

#include "simd/mn_distance_kernels.h"

#define MN_AVX2_WIDTH 8

/* Eight all-ones lanes then eight zero lanes: loading 8 ints from (8 - r) selects the first r. */
static const int32_t mn_avx2_tail_mask_table[2 * MN_AVX2_WIDTH] = {
    -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* A mask whose first `remainder` (1..7) lanes are set. */
__attribute__((target("avx2,fma"))) static inline __m256i mn_avx2_tail_mask(size_t remainder) {
    return _mm256_loadu_si256(
        (const __m256i *)(const void *)(mn_avx2_tail_mask_table + MN_AVX2_WIDTH - remainder));
}

/* The sum of the eight lanes of v. */
__attribute__((target("avx2,fma"))) static inline float mn_avx2_sum(__m256 v) {
    __m128 low = _mm256_castps256_ps128(v);
    __m128 high = _mm256_extractf128_ps(v, 1);
    low = _mm_add_ps(low, high);
    __m128 shuffled = _mm_movehdup_ps(low);
    __m128 sums = _mm_add_ps(low, shuffled);
    shuffled = _mm_movehl_ps(shuffled, sums);
    sums = _mm_add_ss(sums, shuffled);
    return _mm_cvtss_f32(sums);
}

__attribute__((target("avx2,fma")))
float mn_distance_l2_f32_avx2(const float *a, const float *b, size_t dimension) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 4 * MN_AVX2_WIDTH <= dimension; i += 4 * MN_AVX2_WIDTH) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
        acc0 = _mm256_fmadd_ps(d0, d0, acc0);
        acc1 = _mm256_fmadd_ps(d1, d1, acc1);
        acc2 = _mm256_fmadd_ps(d2, d2, acc2);
        acc3 = _mm256_fmadd_ps(d3, d3, acc3);
    }
    for (; i + MN_AVX2_WIDTH <= dimension; i += MN_AVX2_WIDTH) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        acc0 = _mm256_fmadd_ps(d, d, acc0);
    }
    if (i < dimension) {
        __m256i mask = mn_avx2_tail_mask(dimension - i);
        __m256 d = _mm256_sub_ps(_mm256_maskload_ps(a + i, mask), _mm256_maskload_ps(b + i, mask));
        acc1 = _mm256_fmadd_ps(d, d, acc1);
    }
    return mn_avx2_sum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

__attribute__((target("avx2,fma")))
float mn_distance_ip_f32_avx2(const float *a, const float *b, size_t dimension) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 4 * MN_AVX2_WIDTH <= dimension; i += 4 * MN_AVX2_WIDTH) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
    }
    for (; i + MN_AVX2_WIDTH <= dimension; i += MN_AVX2_WIDTH) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    }
    if (i < dimension) {
        __m256i mask = mn_avx2_tail_mask(dimension - i);
        acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, mask), _mm256_maskload_ps(b + i, mask),
                               acc1);
    }
    float dot = mn_avx2_sum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    return 1.0f - dot;
}

__attribute__((target("avx2,fma")))
float mn_distance_cosine_f32_avx2(const float *a, const float *b, size_t dimension) {
    /* Three sums (a.b, |a|^2, |b|^2), four accumulators each: 12 of the 16 ymm registers. */
    __m256 dot0 = _mm256_setzero_ps(), dot1 = _mm256_setzero_ps();
    __m256 dot2 = _mm256_setzero_ps(), dot3 = _mm256_setzero_ps();
    __m256 aa0 = _mm256_setzero_ps(), aa1 = _mm256_setzero_ps();
    __m256 aa2 = _mm256_setzero_ps(), aa3 = _mm256_setzero_ps();
    __m256 bb0 = _mm256_setzero_ps(), bb1 = _mm256_setzero_ps();
    __m256 bb2 = _mm256_setzero_ps(), bb3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 4 * MN_AVX2_WIDTH <= dimension; i += 4 * MN_AVX2_WIDTH) {
        __m256 x0 = _mm256_loadu_ps(a + i), y0 = _mm256_loadu_ps(b + i);
        __m256 x1 = _mm256_loadu_ps(a + i + 8), y1 = _mm256_loadu_ps(b + i + 8);
        __m256 x2 = _mm256_loadu_ps(a + i + 16), y2 = _mm256_loadu_ps(b + i + 16);
        __m256 x3 = _mm256_loadu_ps(a + i + 24), y3 = _mm256_loadu_ps(b + i + 24);
        dot0 = _mm256_fmadd_ps(x0, y0, dot0);
        aa0 = _mm256_fmadd_ps(x0, x0, aa0);
        bb0 = _mm256_fmadd_ps(y0, y0, bb0);
        dot1 = _mm256_fmadd_ps(x1, y1, dot1);
        aa1 = _mm256_fmadd_ps(x1, x1, aa1);
        bb1 = _mm256_fmadd_ps(y1, y1, bb1);
        dot2 = _mm256_fmadd_ps(x2, y2, dot2);
        aa2 = _mm256_fmadd_ps(x2, x2, aa2);
        bb2 = _mm256_fmadd_ps(y2, y2, bb2);
        dot3 = _mm256_fmadd_ps(x3, y3, dot3);
        aa3 = _mm256_fmadd_ps(x3, x3, aa3);
        bb3 = _mm256_fmadd_ps(y3, y3, bb3);
    }
    for (; i + MN_AVX2_WIDTH <= dimension; i += MN_AVX2_WIDTH) {
        __m256 x = _mm256_loadu_ps(a + i), y = _mm256_loadu_ps(b + i);
        dot0 = _mm256_fmadd_ps(x, y, dot0);
        aa0 = _mm256_fmadd_ps(x, x, aa0);
        bb0 = _mm256_fmadd_ps(y, y, bb0);
    }
    if (i < dimension) {
        __m256i mask = mn_avx2_tail_mask(dimension - i);
        __m256 x = _mm256_maskload_ps(a + i, mask), y = _mm256_maskload_ps(b + i, mask);
        dot1 = _mm256_fmadd_ps(x, y, dot1);
        aa1 = _mm256_fmadd_ps(x, x, aa1);
        bb1 = _mm256_fmadd_ps(y, y, bb1);
    }
    double dot = mn_avx2_sum(_mm256_add_ps(_mm256_add_ps(dot0, dot1), _mm256_add_ps(dot2, dot3)));
    double norm_a = mn_avx2_sum(_mm256_add_ps(_mm256_add_ps(aa0, aa1), _mm256_add_ps(aa2, aa3)));
    double norm_b = mn_avx2_sum(_mm256_add_ps(_mm256_add_ps(bb0, bb1), _mm256_add_ps(bb2, bb3)));
    /* Same convention as the scalar oracle: a zero vector has no direction. */
    if (norm_a == 0.0 || norm_b == 0.0) {
        return 1.0f;
    }
    return (float)(1.0 - dot / sqrt(norm_a * norm_b));
}

/* Four distances from one query (see mn_distance_l2_f32x4_avx512). */
__attribute__((target("avx2,fma")))
void mn_distance_l2_f32x4_avx2(const float *q, const float *const *v, size_t dimension, float *out) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + MN_AVX2_WIDTH <= dimension; i += MN_AVX2_WIDTH) {
        __m256 x = _mm256_loadu_ps(q + i);
        __m256 d0 = _mm256_sub_ps(x, _mm256_loadu_ps(v[0] + i));
        __m256 d1 = _mm256_sub_ps(x, _mm256_loadu_ps(v[1] + i));
        __m256 d2 = _mm256_sub_ps(x, _mm256_loadu_ps(v[2] + i));
        __m256 d3 = _mm256_sub_ps(x, _mm256_loadu_ps(v[3] + i));
        acc0 = _mm256_fmadd_ps(d0, d0, acc0);
        acc1 = _mm256_fmadd_ps(d1, d1, acc1);
        acc2 = _mm256_fmadd_ps(d2, d2, acc2);
        acc3 = _mm256_fmadd_ps(d3, d3, acc3);
    }
    if (i < dimension) {
        __m256i mask = mn_avx2_tail_mask(dimension - i);
        __m256 x = _mm256_maskload_ps(q + i, mask);
        __m256 d0 = _mm256_sub_ps(x, _mm256_maskload_ps(v[0] + i, mask));
        __m256 d1 = _mm256_sub_ps(x, _mm256_maskload_ps(v[1] + i, mask));
        __m256 d2 = _mm256_sub_ps(x, _mm256_maskload_ps(v[2] + i, mask));
        __m256 d3 = _mm256_sub_ps(x, _mm256_maskload_ps(v[3] + i, mask));
        acc0 = _mm256_fmadd_ps(d0, d0, acc0);
        acc1 = _mm256_fmadd_ps(d1, d1, acc1);
        acc2 = _mm256_fmadd_ps(d2, d2, acc2);
        acc3 = _mm256_fmadd_ps(d3, d3, acc3);
    }
    out[0] = mn_avx2_sum(acc0);
    out[1] = mn_avx2_sum(acc1);
    out[2] = mn_avx2_sum(acc2);
    out[3] = mn_avx2_sum(acc3);
}

__attribute__((target("avx2,fma")))
void mn_distance_ip_f32x4_avx2(const float *q, const float *const *v, size_t dimension, float *out) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + MN_AVX2_WIDTH <= dimension; i += MN_AVX2_WIDTH) {
        __m256 x = _mm256_loadu_ps(q + i);
        acc0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v[0] + i), acc0);
        acc1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v[1] + i), acc1);
        acc2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v[2] + i), acc2);
        acc3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v[3] + i), acc3);
    }
    if (i < dimension) {
        __m256i mask = mn_avx2_tail_mask(dimension - i);
        __m256 x = _mm256_maskload_ps(q + i, mask);
        acc0 = _mm256_fmadd_ps(x, _mm256_maskload_ps(v[0] + i, mask), acc0);
        acc1 = _mm256_fmadd_ps(x, _mm256_maskload_ps(v[1] + i, mask), acc1);
        acc2 = _mm256_fmadd_ps(x, _mm256_maskload_ps(v[2] + i, mask), acc2);
        acc3 = _mm256_fmadd_ps(x, _mm256_maskload_ps(v[3] + i, mask), acc3);
    }
    out[0] = 1.0f - mn_avx2_sum(acc0);
    out[1] = 1.0f - mn_avx2_sum(acc1);
    out[2] = 1.0f - mn_avx2_sum(acc2);
    out[3] = 1.0f - mn_avx2_sum(acc3);
}

/* Eight codes widened to int32, then to float. */
__attribute__((target("avx2,fma"))) static inline __m256 mn_avx2_codes(const uint8_t *codes) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)codes)));
}

/* Weights times byte codes: four rows at a time (each weight load serves four), eight
 * dimensions a step, the last 1..7 one by one. */
__attribute__((target("avx2,fma")))
void mn_dot_u8_avx2(const float *weights, const uint8_t *codes, size_t dimension, size_t rows, float *out) {
    const size_t body = dimension - dimension % MN_AVX2_WIDTH;
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const uint8_t *c = codes + r * dimension;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
        for (size_t i = 0; i < body; i += MN_AVX2_WIDTH) {
            const __m256 w = _mm256_loadu_ps(weights + i);
            acc0 = _mm256_fmadd_ps(w, mn_avx2_codes(c + i), acc0);
            acc1 = _mm256_fmadd_ps(w, mn_avx2_codes(c + dimension + i), acc1);
            acc2 = _mm256_fmadd_ps(w, mn_avx2_codes(c + 2 * dimension + i), acc2);
            acc3 = _mm256_fmadd_ps(w, mn_avx2_codes(c + 3 * dimension + i), acc3);
        }
        out[r] = mn_avx2_sum(acc0);
        out[r + 1] = mn_avx2_sum(acc1);
        out[r + 2] = mn_avx2_sum(acc2);
        out[r + 3] = mn_avx2_sum(acc3);
        for (size_t j = 0; j < 4; j++)
            for (size_t i = body; i < dimension; i++) out[r + j] += weights[i] * (float)c[j * dimension + i];
    }
    for (; r < rows; r++) {
        const uint8_t *c = codes + r * dimension;
        __m256 acc = _mm256_setzero_ps();
        for (size_t i = 0; i < body; i += MN_AVX2_WIDTH)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(weights + i), mn_avx2_codes(c + i), acc);
        out[r] = mn_avx2_sum(acc);
        for (size_t i = body; i < dimension; i++) out[r] += weights[i] * (float)c[i];
    }
}
