/*
 * mn_distance_avx512.c: float32 distance kernels for x86-64 with AVX-512F.
 *
 * As in the AVX2 file, each function carries __attribute__((target("avx512f"))) so no -m flag is
 * needed and the object is harmless on older CPUs; mn_distance_dispatch.c hands these out only
 * when __builtin_cpu_supports("avx512f") says the CPU (and the OS, which must save the zmm
 * state) allows them.
 *
 * Shape: a main loop of 64 floats into four independent accumulators per sum (to cover the FMA
 * latency), 16-float steps, then one masked load (_mm512_maskz_loadu_ps) for the last 1..15
 * floats. Masked-off lanes are neither read nor able to fault, so any dimension and any
 * alignment is safe without a scalar tail loop. Sums stay in float; the cosine finish is in
 * double, like the other levels.
 */
#include <immintrin.h>
#include <math.h>

#include "simd/mn_distance_kernels.h"

#define MN_AVX512_WIDTH 16

/* A mask whose first `remainder` (1..15) lanes are set. */
static inline __mmask16 mn_avx512_tail_mask(size_t remainder) {
    return (__mmask16)((1u << remainder) - 1u);
}

__attribute__((target("avx512f")))
float mn_distance_l2_f32_avx512(const float *a, const float *b, size_t dimension) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 4 * MN_AVX512_WIDTH <= dimension; i += 4 * MN_AVX512_WIDTH) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
        __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
        acc0 = _mm512_fmadd_ps(d0, d0, acc0);
        acc1 = _mm512_fmadd_ps(d1, d1, acc1);
        acc2 = _mm512_fmadd_ps(d2, d2, acc2);
        acc3 = _mm512_fmadd_ps(d3, d3, acc3);
    }
    for (; i + MN_AVX512_WIDTH <= dimension; i += MN_AVX512_WIDTH) {
        __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        acc0 = _mm512_fmadd_ps(d, d, acc0);
    }
    if (i < dimension) {
        __mmask16 mask = mn_avx512_tail_mask(dimension - i);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, a + i),
                                 _mm512_maskz_loadu_ps(mask, b + i));
        acc1 = _mm512_fmadd_ps(d, d, acc1);
    }
    return _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

__attribute__((target("avx512f")))
float mn_distance_ip_f32_avx512(const float *a, const float *b, size_t dimension) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 4 * MN_AVX512_WIDTH <= dimension; i += 4 * MN_AVX512_WIDTH) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
        acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
        acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
    }
    for (; i + MN_AVX512_WIDTH <= dimension; i += MN_AVX512_WIDTH) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    }
    if (i < dimension) {
        __mmask16 mask = mn_avx512_tail_mask(dimension - i);
        acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i),
                               _mm512_maskz_loadu_ps(mask, b + i), acc1);
    }
    float dot =
        _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
    return 1.0f - dot;
}

__attribute__((target("avx512f")))
float mn_distance_cosine_f32_avx512(const float *a, const float *b, size_t dimension) {
    /* Three sums (a.b, |a|^2, |b|^2), four accumulators each: 12 of the 32 zmm registers. */
    __m512 dot0 = _mm512_setzero_ps(), dot1 = _mm512_setzero_ps();
    __m512 dot2 = _mm512_setzero_ps(), dot3 = _mm512_setzero_ps();
    __m512 aa0 = _mm512_setzero_ps(), aa1 = _mm512_setzero_ps();
    __m512 aa2 = _mm512_setzero_ps(), aa3 = _mm512_setzero_ps();
    __m512 bb0 = _mm512_setzero_ps(), bb1 = _mm512_setzero_ps();
    __m512 bb2 = _mm512_setzero_ps(), bb3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 4 * MN_AVX512_WIDTH <= dimension; i += 4 * MN_AVX512_WIDTH) {
        __m512 x0 = _mm512_loadu_ps(a + i), y0 = _mm512_loadu_ps(b + i);
        __m512 x1 = _mm512_loadu_ps(a + i + 16), y1 = _mm512_loadu_ps(b + i + 16);
        __m512 x2 = _mm512_loadu_ps(a + i + 32), y2 = _mm512_loadu_ps(b + i + 32);
        __m512 x3 = _mm512_loadu_ps(a + i + 48), y3 = _mm512_loadu_ps(b + i + 48);
        dot0 = _mm512_fmadd_ps(x0, y0, dot0);
        aa0 = _mm512_fmadd_ps(x0, x0, aa0);
        bb0 = _mm512_fmadd_ps(y0, y0, bb0);
        dot1 = _mm512_fmadd_ps(x1, y1, dot1);
        aa1 = _mm512_fmadd_ps(x1, x1, aa1);
        bb1 = _mm512_fmadd_ps(y1, y1, bb1);
        dot2 = _mm512_fmadd_ps(x2, y2, dot2);
        aa2 = _mm512_fmadd_ps(x2, x2, aa2);
        bb2 = _mm512_fmadd_ps(y2, y2, bb2);
        dot3 = _mm512_fmadd_ps(x3, y3, dot3);
        aa3 = _mm512_fmadd_ps(x3, x3, aa3);
        bb3 = _mm512_fmadd_ps(y3, y3, bb3);
    }
    for (; i + MN_AVX512_WIDTH <= dimension; i += MN_AVX512_WIDTH) {
        __m512 x = _mm512_loadu_ps(a + i), y = _mm512_loadu_ps(b + i);
        dot0 = _mm512_fmadd_ps(x, y, dot0);
        aa0 = _mm512_fmadd_ps(x, x, aa0);
        bb0 = _mm512_fmadd_ps(y, y, bb0);
    }
    if (i < dimension) {
        __mmask16 mask = mn_avx512_tail_mask(dimension - i);
        __m512 x = _mm512_maskz_loadu_ps(mask, a + i), y = _mm512_maskz_loadu_ps(mask, b + i);
        dot1 = _mm512_fmadd_ps(x, y, dot1);
        aa1 = _mm512_fmadd_ps(x, x, aa1);
        bb1 = _mm512_fmadd_ps(y, y, bb1);
    }
    double dot =
        _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(dot0, dot1), _mm512_add_ps(dot2, dot3)));
    double norm_a =
        _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(aa0, aa1), _mm512_add_ps(aa2, aa3)));
    double norm_b =
        _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(bb0, bb1), _mm512_add_ps(bb2, bb3)));
    /* Same convention as the scalar oracle: a zero vector has no direction. */
    if (norm_a == 0.0 || norm_b == 0.0) {
        return 1.0f;
    }
    return (float)(1.0 - dot / sqrt(norm_a * norm_b));
}

/*
 * Four distances from one query: the query is loaded once per step for four vectors, and the
 * four accumulation chains hide each other's FMA latency. The search path scores a node's
 * neighbours in groups of four with these.
 */
__attribute__((target("avx512f")))
void mn_distance_l2_f32x4_avx512(const float *q, const float *const *v, size_t dimension, float *out) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + MN_AVX512_WIDTH <= dimension; i += MN_AVX512_WIDTH) {
        __m512 x = _mm512_loadu_ps(q + i);
        __m512 d0 = _mm512_sub_ps(x, _mm512_loadu_ps(v[0] + i));
        __m512 d1 = _mm512_sub_ps(x, _mm512_loadu_ps(v[1] + i));
        __m512 d2 = _mm512_sub_ps(x, _mm512_loadu_ps(v[2] + i));
        __m512 d3 = _mm512_sub_ps(x, _mm512_loadu_ps(v[3] + i));
        acc0 = _mm512_fmadd_ps(d0, d0, acc0);
        acc1 = _mm512_fmadd_ps(d1, d1, acc1);
        acc2 = _mm512_fmadd_ps(d2, d2, acc2);
        acc3 = _mm512_fmadd_ps(d3, d3, acc3);
    }
    if (i < dimension) {
        __mmask16 mask = mn_avx512_tail_mask(dimension - i);
        __m512 x = _mm512_maskz_loadu_ps(mask, q + i);
        __m512 d0 = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(mask, v[0] + i));
        __m512 d1 = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(mask, v[1] + i));
        __m512 d2 = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(mask, v[2] + i));
        __m512 d3 = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(mask, v[3] + i));
        acc0 = _mm512_fmadd_ps(d0, d0, acc0);
        acc1 = _mm512_fmadd_ps(d1, d1, acc1);
        acc2 = _mm512_fmadd_ps(d2, d2, acc2);
        acc3 = _mm512_fmadd_ps(d3, d3, acc3);
    }
    out[0] = _mm512_reduce_add_ps(acc0);
    out[1] = _mm512_reduce_add_ps(acc1);
    out[2] = _mm512_reduce_add_ps(acc2);
    out[3] = _mm512_reduce_add_ps(acc3);
}

__attribute__((target("avx512f")))
void mn_distance_ip_f32x4_avx512(const float *q, const float *const *v, size_t dimension, float *out) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + MN_AVX512_WIDTH <= dimension; i += MN_AVX512_WIDTH) {
        __m512 x = _mm512_loadu_ps(q + i);
        acc0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v[0] + i), acc0);
        acc1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v[1] + i), acc1);
        acc2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v[2] + i), acc2);
        acc3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v[3] + i), acc3);
    }
    if (i < dimension) {
        __mmask16 mask = mn_avx512_tail_mask(dimension - i);
        __m512 x = _mm512_maskz_loadu_ps(mask, q + i);
        acc0 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v[0] + i), acc0);
        acc1 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v[1] + i), acc1);
        acc2 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v[2] + i), acc2);
        acc3 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v[3] + i), acc3);
    }
    out[0] = 1.0f - _mm512_reduce_add_ps(acc0);
    out[1] = 1.0f - _mm512_reduce_add_ps(acc1);
    out[2] = 1.0f - _mm512_reduce_add_ps(acc2);
    out[3] = 1.0f - _mm512_reduce_add_ps(acc3);
}

/*
 * Four distances from one query, each bit for bit the single-vector kernel's (the f32x4
 * kernels above round differently: one accumulator per vector). Every row keeps the single
 * kernel's four accumulators over 64-float steps, its 16-float steps into the first, its masked
 * tail into the second and its final sums in the same order; only the query loads are shared.
 * The exact searches (mn_hnsw_search_ids, mn_hnsw_search_id_bitmap) score with these, as their
 * contract promises mn_distance's values. 16 accumulators and 4 query registers fit in the 32
 * zmm registers.
 */
#define MN_AVX512_ROW_L2(r)                                                                        \
    do {                                                                                           \
        __m512 d0 = _mm512_sub_ps(x0, _mm512_loadu_ps(v[r] + i));                                 \
        __m512 d1 = _mm512_sub_ps(x1, _mm512_loadu_ps(v[r] + i + 16));                            \
        __m512 d2 = _mm512_sub_ps(x2, _mm512_loadu_ps(v[r] + i + 32));                            \
        __m512 d3 = _mm512_sub_ps(x3, _mm512_loadu_ps(v[r] + i + 48));                            \
        a##r##0 = _mm512_fmadd_ps(d0, d0, a##r##0);                                                \
        a##r##1 = _mm512_fmadd_ps(d1, d1, a##r##1);                                                \
        a##r##2 = _mm512_fmadd_ps(d2, d2, a##r##2);                                                \
        a##r##3 = _mm512_fmadd_ps(d3, d3, a##r##3);                                                \
    } while (0)

#define MN_AVX512_ROW_IP(r)                                                                        \
    do {                                                                                           \
        a##r##0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(v[r] + i), a##r##0);                        \
        a##r##1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(v[r] + i + 16), a##r##1);                   \
        a##r##2 = _mm512_fmadd_ps(x2, _mm512_loadu_ps(v[r] + i + 32), a##r##2);                   \
        a##r##3 = _mm512_fmadd_ps(x3, _mm512_loadu_ps(v[r] + i + 48), a##r##3);                   \
    } while (0)

#define MN_AVX512_SUM(r)                                                                           \
    _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a##r##0, a##r##1), _mm512_add_ps(a##r##2, a##r##3)))

__attribute__((target("avx512f")))
void mn_distance_l2_f32x4exact_avx512(const float *q, const float *const *v, size_t dimension, float *out) {
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
    __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    size_t i = 0;
    for (; i + 4 * MN_AVX512_WIDTH <= dimension; i += 4 * MN_AVX512_WIDTH) {
        __m512 x0 = _mm512_loadu_ps(q + i), x1 = _mm512_loadu_ps(q + i + 16);
        __m512 x2 = _mm512_loadu_ps(q + i + 32), x3 = _mm512_loadu_ps(q + i + 48);
        MN_AVX512_ROW_L2(0);
        MN_AVX512_ROW_L2(1);
        MN_AVX512_ROW_L2(2);
        MN_AVX512_ROW_L2(3);
    }
    for (; i + MN_AVX512_WIDTH <= dimension; i += MN_AVX512_WIDTH) {
        __m512 x = _mm512_loadu_ps(q + i);
        __m512 d0 = _mm512_sub_ps(x, _mm512_loadu_ps(v[0] + i));
        __m512 d1 = _mm512_sub_ps(x, _mm512_loadu_ps(v[1] + i));
        __m512 d2 = _mm512_sub_ps(x, _mm512_loadu_ps(v[2] + i));
        __m512 d3 = _mm512_sub_ps(x, _mm512_loadu_ps(v[3] + i));
        a00 = _mm512_fmadd_ps(d0, d0, a00);
        a10 = _mm512_fmadd_ps(d1, d1, a10);
        a20 = _mm512_fmadd_ps(d2, d2, a20);
        a30 = _mm512_fmadd_ps(d3, d3, a30);
    }
    if (i < dimension) {
        __mmask16 mask = mn_avx512_tail_mask(dimension - i);
        __m512 x = _mm512_maskz_loadu_ps(mask, q + i);
        __m512 d0 = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(mask, v[0] + i));
        __m512 d1 = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(mask, v[1] + i));
        __m512 d2 = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(mask, v[2] + i));
        __m512 d3 = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(mask, v[3] + i));
        a01 = _mm512_fmadd_ps(d0, d0, a01);
        a11 = _mm512_fmadd_ps(d1, d1, a11);
        a21 = _mm512_fmadd_ps(d2, d2, a21);
        a31 = _mm512_fmadd_ps(d3, d3, a31);
    }
    out[0] = MN_AVX512_SUM(0);
    out[1] = MN_AVX512_SUM(1);
    out[2] = MN_AVX512_SUM(2);
    out[3] = MN_AVX512_SUM(3);
}

__attribute__((target("avx512f")))
void mn_distance_ip_f32x4exact_avx512(const float *q, const float *const *v, size_t dimension, float *out) {
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
    __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    size_t i = 0;
    for (; i + 4 * MN_AVX512_WIDTH <= dimension; i += 4 * MN_AVX512_WIDTH) {
        __m512 x0 = _mm512_loadu_ps(q + i), x1 = _mm512_loadu_ps(q + i + 16);
        __m512 x2 = _mm512_loadu_ps(q + i + 32), x3 = _mm512_loadu_ps(q + i + 48);
        MN_AVX512_ROW_IP(0);
        MN_AVX512_ROW_IP(1);
        MN_AVX512_ROW_IP(2);
        MN_AVX512_ROW_IP(3);
    }
    for (; i + MN_AVX512_WIDTH <= dimension; i += MN_AVX512_WIDTH) {
        __m512 x = _mm512_loadu_ps(q + i);
        a00 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v[0] + i), a00);
        a10 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v[1] + i), a10);
        a20 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v[2] + i), a20);
        a30 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v[3] + i), a30);
    }
    if (i < dimension) {
        __mmask16 mask = mn_avx512_tail_mask(dimension - i);
        __m512 x = _mm512_maskz_loadu_ps(mask, q + i);
        a01 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v[0] + i), a01);
        a11 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v[1] + i), a11);
        a21 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v[2] + i), a21);
        a31 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v[3] + i), a31);
    }
    out[0] = 1.0f - MN_AVX512_SUM(0);
    out[1] = 1.0f - MN_AVX512_SUM(1);
    out[2] = 1.0f - MN_AVX512_SUM(2);
    out[3] = 1.0f - MN_AVX512_SUM(3);
}

/* Sixteen codes widened to int32, then to float. */
__attribute__((target("avx512f"))) static inline __m512 mn_avx512_codes(const uint8_t *codes) {
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)codes)));
}

/* Weights times byte codes: four rows at a time (each weight load serves four), sixteen
 * dimensions a step, the last 1..15 one by one. */
__attribute__((target("avx512f")))
void mn_dot_u8_avx512(const float *weights, const uint8_t *codes, size_t dimension, size_t rows, float *out) {
    const size_t body = dimension - dimension % MN_AVX512_WIDTH;
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const uint8_t *c = codes + r * dimension;
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
        for (size_t i = 0; i < body; i += MN_AVX512_WIDTH) {
            const __m512 w = _mm512_loadu_ps(weights + i);
            acc0 = _mm512_fmadd_ps(w, mn_avx512_codes(c + i), acc0);
            acc1 = _mm512_fmadd_ps(w, mn_avx512_codes(c + dimension + i), acc1);
            acc2 = _mm512_fmadd_ps(w, mn_avx512_codes(c + 2 * dimension + i), acc2);
            acc3 = _mm512_fmadd_ps(w, mn_avx512_codes(c + 3 * dimension + i), acc3);
        }
        out[r] = _mm512_reduce_add_ps(acc0);
        out[r + 1] = _mm512_reduce_add_ps(acc1);
        out[r + 2] = _mm512_reduce_add_ps(acc2);
        out[r + 3] = _mm512_reduce_add_ps(acc3);
        for (size_t j = 0; j < 4; j++)
            for (size_t i = body; i < dimension; i++) out[r + j] += weights[i] * (float)c[j * dimension + i];
    }
    for (; r < rows; r++) {
        const uint8_t *c = codes + r * dimension;
        __m512 acc = _mm512_setzero_ps();
        for (size_t i = 0; i < body; i += MN_AVX512_WIDTH)
            acc = _mm512_fmadd_ps(_mm512_loadu_ps(weights + i), mn_avx512_codes(c + i), acc);
        out[r] = _mm512_reduce_add_ps(acc);
        for (size_t i = body; i < dimension; i++) out[r] += weights[i] * (float)c[i];
    }
}
