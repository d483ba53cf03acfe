/*
 * mn_distance_scalar.c: the portable float32 distance kernels, and the oracle the SIMD kernels
 * are tested against.
 *
 * These loops favour accuracy over speed: every product and sum is formed in double, so the
 * result is the exact distance rounded (nearly) once to float. The SIMD files accumulate in
 * float with several accumulators and are checked against these. The scalar kernels also serve
 * CPUs without AVX2, so they must accept any dimension and any alignment, as the header promises.
 */
#include <math.h>

#include "simd/mn_distance_kernels.h"

float mn_distance_l2_f32_scalar(const float *a, const float *b, size_t dimension) {
    double sum = 0.0;
    for (size_t i = 0; i < dimension; i++) {
        double d = (double)a[i] - (double)b[i];
        sum += d * d;
    }
    return (float)sum;
}

float mn_distance_ip_f32_scalar(const float *a, const float *b, size_t dimension) {
    double dot = 0.0;
    for (size_t i = 0; i < dimension; i++) {
        dot += (double)a[i] * (double)b[i];
    }
    return (float)(1.0 - dot);
}

float mn_distance_cosine_f32_scalar(const float *a, const float *b, size_t dimension) {
    double dot = 0.0, norm_a = 0.0, norm_b = 0.0;
    for (size_t i = 0; i < dimension; i++) {
        double x = (double)a[i], y = (double)b[i];
        dot += x * y;
        norm_a += x * x;
        norm_b += y * y;
    }
    /* A zero vector has no direction: call it maximally unrelated rather than divide by 0. */
    if (norm_a == 0.0 || norm_b == 0.0) {
        return 1.0f;
    }
    return (float)(1.0 - dot / sqrt(norm_a * norm_b));
}

/* Four distances from one query, one after another (the oracle for the x4 kernels). */
void mn_distance_l2_f32x4_scalar(const float *query, const float *const *vectors, size_t dimension,
                                 float *out) {
    for (int j = 0; j < 4; j++) out[j] = mn_distance_l2_f32_scalar(query, vectors[j], dimension);
}

void mn_distance_ip_f32x4_scalar(const float *query, const float *const *vectors, size_t dimension,
                                 float *out) {
    for (int j = 0; j < 4; j++) out[j] = mn_distance_ip_f32_scalar(query, vectors[j], dimension);
}

void mn_distance_cosine_f32x4_scalar(const float *query, const float *const *vectors, size_t dimension,
                                     float *out) {
    for (int j = 0; j < 4; j++) out[j] = mn_distance_cosine_f32_scalar(query, vectors[j], dimension);
}

/* Weights times byte codes, row by row (the oracle of the code kernels). */
void mn_dot_u8_scalar(const float *weights, const uint8_t *codes, size_t dimension, size_t rows, float *out) {
    for (size_t r = 0; r < rows; r++, codes += dimension) {
        float sum = 0.0f;
        for (size_t i = 0; i < dimension; i++) sum += weights[i] * (float)codes[i];
        out[r] = sum;
    }
}
