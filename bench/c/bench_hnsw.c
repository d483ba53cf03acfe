/*
 * bench_hnsw.c: HNSW build and search throughput of the C core alone (no Swift in the path).
 *
 *   bench_hnsw [--data DIR] [--set sift5k|wordnet384] [--threads N] [--m M] [--ef-construction E]
 *   bench_hnsw --smoke            (synthetic data, a fraction of a second; CTest runs this)
 *
 * Reads DIR/SET_base.fvecs, _query.fvecs and _groundtruth.ivecs (texmex format), builds the
 * index with N threads inserting concurrently (mn_hnsw_insert_batch), then for each ef prints
 * recall@10 against the ground truth, single-thread QPS and p50/p99 latency. Figures only:
 * it never fails on speed. Useful on many-core machines to see how the build scales.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_support.h"
#include "mnemo/mn_hnsw.h"

#define K 10

/* Reads a texmex file of int32 or float32 rows; returns rows, writes the dimension. */
static void *read_vecs(const char *path, uint32_t *dimension, size_t *rows) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    int32_t d = 0;
    if (fread(&d, 4, 1, file) != 1 || d <= 0 || d > MN_DIMENSION_MAX) {
        fclose(file);
        return NULL;
    }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    size_t row_bytes = 4 * ((size_t)d + 1);
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

int main(int argc, char **argv) {
    const char *data_dir = "../shared/data";
    const char *set = "sift5k";
    uint32_t threads = 1, m = 16, ef_construction = 200;
    int smoke = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke")) smoke = 1;
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data_dir = argv[++i];
        else if (!strcmp(argv[i], "--set") && i + 1 < argc) set = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--m") && i + 1 < argc) m = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ef-construction") && i + 1 < argc) ef_construction = (uint32_t)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--smoke] [--data DIR] [--set NAME] [--threads N] [--m M] [--ef-construction E]\n", argv[0]);
            return 2;
        }
    }
    uint32_t dimension = 0, gt_dimension = 0;
    size_t count = 0, queries = 0, gt_rows = 0;
    float *base = NULL, *query = NULL;
    int32_t *truth = NULL;
    mn_metric metric = MN_METRIC_L2;
    if (smoke) {
        dimension = 32, count = 2000, queries = 50;
        base = malloc(count * dimension * 4);
        query = malloc(queries * dimension * 4);
        uint64_t x = 88172645463325252ULL;
        for (size_t i = 0; i < count * dimension; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; base[i] = (float)(x % 1000) / 1000.0f; }
        for (size_t i = 0; i < queries * dimension; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; query[i] = (float)(x % 1000) / 1000.0f; }
        ef_construction = 64;
    } else {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s_base.fvecs", data_dir, set);
        base = read_vecs(path, &dimension, &count);
        snprintf(path, sizeof path, "%s/%s_query.fvecs", data_dir, set);
        uint32_t qd = 0;
        query = read_vecs(path, &qd, &queries);
        snprintf(path, sizeof path, "%s/%s_groundtruth.ivecs", data_dir, set);
        truth = read_vecs(path, &gt_dimension, &gt_rows);
        if (!base || !query || !truth || qd != dimension || gt_rows != queries || gt_dimension < K) {
            fprintf(stderr, "bench_hnsw: cannot read %s/%s_*.fvecs/ivecs\n", data_dir, set);
            return 2;
        }
        if (strstr(set, "wordnet")) metric = MN_METRIC_COSINE;
    }
    mn_hnsw_params params;
    mn_hnsw_params_default(dimension, metric, &params);
    params.m = m;
    params.ef_construction = ef_construction;
    mn_hnsw *index = NULL;
    if (mn_hnsw_create(&params, &index) != MN_OK) return 1;
    uint64_t *ids = malloc(count * sizeof(uint64_t));
    for (size_t i = 0; i < count; i++) ids[i] = i;
    double start = now_seconds();
    size_t failed = 0;
    mn_status status = mn_hnsw_insert_batch(index, ids, base, count, dimension, threads, &failed);
    double build = now_seconds() - start;
    if (status != MN_OK) {
        fprintf(stderr, "build failed: %s at %zu\n", mn_status_string(status), failed);
        return 1;
    }
    const char *level_name = "?";
    mn_simd_level level;
    mn_simd_level_best(&level);
    mn_simd_level_name(level, &level_name);
    printf("bench_hnsw: %s, %zu x %u, M %u, ef_construction %u, %u threads, kernels %s%s\n", smoke ? "synthetic" : set,
           count, dimension, m, ef_construction, threads, level_name, smoke ? " (smoke: figures not meaningful)" : "");
    printf("build: %.2f s, %.0f inserts/s\n", build, (double)count / build);
    printf("%6s %8s %10s %9s %9s\n", "ef", "recall", "qps", "p50_us", "p99_us");
    const uint32_t efs[] = {10, 20, 40, 80, 160, 320};
    double *latency = malloc(queries * sizeof(double));
    mn_hnsw_result results[K];
    for (size_t e = 0; e < sizeof(efs) / sizeof(efs[0]); e++) {
        size_t hits = 0;
        double total_start = now_seconds();
        for (size_t q = 0; q < queries; q++) {
            uint32_t found = 0;
            double t = now_seconds();
            mn_hnsw_search(index, query + q * dimension, dimension, K, efs[e], results, &found);
            latency[q] = (now_seconds() - t) * 1e6;
            if (truth) {
                for (uint32_t i = 0; i < found; i++)
                    for (int j = 0; j < K; j++)
                        if ((int64_t)results[i].id == truth[q * gt_dimension + j]) { hits++; break; }
            }
        }
        double elapsed = now_seconds() - total_start;
        qsort(latency, queries, sizeof(double), compare_double);
        printf("%6u %8.4f %10.0f %9.1f %9.1f\n", efs[e], truth ? (double)hits / (queries * K) : NAN,
               (double)queries / elapsed, latency[queries / 2], latency[(queries * 99) / 100]);
    }
    free(latency);
    free(ids);
    free(base);
    free(query);
    free(truth);
    mn_hnsw_destroy(index);
    return 0;
}
