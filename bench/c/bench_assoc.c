/*
 * bench_assoc.c: latency of recall by spreading activation (mn_assoc_recall) in a large space.
 *
 *   bench_assoc [--memories N] [--dimension D] [--links L] [--queries Q] [--threads T]
 *               [--seeds S] [--hops H] [--fan-out F]
 *   bench_assoc --smoke        (a tiny space, well under a second; CTest runs this)
 *
 * Builds a space of N memories (default 100,000) of synthetic clustered vectors (dimension 64,
 * L2, M 16, ef_construction 100, built by T threads) plus L random associations per memory
 * (default 3, weights uniform in (0, 1]), then times Q recalls (default 2,000) of cues drawn
 * near stored vectors with the given seeds, hops (default 3) and fan-out, decay 0.5, threshold
 * 0.01, over associations and similarity edges, and prints p50/p99/max latency and the mean
 * number of memories recalled. Figures only: it never fails on speed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_support.h"
#include "assoc/mn_assoc.h"
#include "mnemo/mn_hnsw.h"

static void usage(void) {
    fprintf(stderr, "usage: bench_assoc [--smoke] [--memories N] [--dimension D] [--links L] [--queries Q]\n"
                    "                   [--threads T] [--seeds S] [--hops H] [--fan-out F]\n");
}

int main(int argc, char **argv) {
    uint32_t memories = 100000, dimension = 64, links = 3, queries = 2000, threads = 2;
    uint32_t seeds = 10, hops = 3, fan_out = 8;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--smoke") == 0) {
            memories = 2000;
            dimension = 16;
            queries = 100;
        } else if (value && strcmp(arg, "--memories") == 0) memories = (uint32_t)atoi(value), i++;
        else if (value && strcmp(arg, "--dimension") == 0) dimension = (uint32_t)atoi(value), i++;
        else if (value && strcmp(arg, "--links") == 0) links = (uint32_t)atoi(value), i++;
        else if (value && strcmp(arg, "--queries") == 0) queries = (uint32_t)atoi(value), i++;
        else if (value && strcmp(arg, "--threads") == 0) threads = (uint32_t)atoi(value), i++;
        else if (value && strcmp(arg, "--seeds") == 0) seeds = (uint32_t)atoi(value), i++;
        else if (value && strcmp(arg, "--hops") == 0) hops = (uint32_t)atoi(value), i++;
        else if (value && strcmp(arg, "--fan-out") == 0) fan_out = (uint32_t)atoi(value), i++;
        else {
            usage();
            return 2;
        }
    }
    if (memories < 2 || dimension == 0 || dimension > MN_DIMENSION_MAX || queries == 0 || threads == 0) {
        usage();
        return 2;
    }

    /* Clustered vectors: 64 centres, each memory a centre plus noise. */
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    enum { CENTERS = 64 };
    float *centers = malloc((size_t)CENTERS * dimension * sizeof(float));
    float *data = malloc((size_t)memories * dimension * sizeof(float));
    uint64_t *ids = malloc((size_t)memories * sizeof(uint64_t));
    if (!centers || !data || !ids) return 1;
    for (size_t i = 0; i < (size_t)CENTERS * dimension; i++) centers[i] = uniform(&rng) * 2.0f - 1.0f;
    for (uint32_t i = 0; i < memories; i++) {
        const float *center = centers + (next_random(&rng) % CENTERS) * dimension;
        for (uint32_t d = 0; d < dimension; d++)
            data[(size_t)i * dimension + d] = center[d] + 0.3f * (uniform(&rng) * 2.0f - 1.0f);
        ids[i] = i;
    }

    mn_hnsw_params params;
    mn_hnsw_params_default(dimension, MN_METRIC_L2, &params);
    params.m = 16;
    params.ef_construction = 100;
    mn_hnsw *index = NULL;
    if (mn_hnsw_create(&params, &index) != MN_OK) return 1;
    double start = now_seconds();
    size_t failed = 0;
    mn_status status = mn_hnsw_insert_batch(index, ids, data, memories, dimension, threads, &failed);
    if (status != MN_OK) {
        fprintf(stderr, "insert_batch: %s\n", mn_status_string(status));
        return 1;
    }
    double build_index = now_seconds() - start;

    mn_assoc *assoc = NULL;
    if (mn_assoc_create(&assoc) != MN_OK) return 1;
    start = now_seconds();
    uint64_t made = 0;
    for (uint32_t i = 0; i < memories; i++)
        for (uint32_t l = 0; l < links; l++) {
            uint64_t to = next_random(&rng) % memories;
            float weight = (float)(1 + next_random(&rng) % 1000) / 1000.0f;
            if (to != i && mn_assoc_link(assoc, i, to, weight) == MN_OK) made++;
        }
    double build_links = now_seconds() - start;
    printf("space: %u memories, dimension %u, M %u, ef_construction %u (%u threads): index %.1f s; "
           "%llu associations %.2f s\n",
           memories, dimension, params.m, params.ef_construction, threads, build_index, (unsigned long long)made,
           build_links);

    mn_recall_params recall;
    mn_recall_params_default(&recall);
    recall.seeds = seeds;
    recall.hops = hops;
    recall.fan_out = fan_out;
    recall.decay = 0.5f;
    recall.threshold = 0.01f;
    mn_recall_result *results = malloc(1024 * sizeof(mn_recall_result));
    double *latency = malloc((size_t)queries * sizeof(double));
    float *cue = malloc((size_t)dimension * sizeof(float));
    if (!results || !latency || !cue) return 1;
    uint64_t recalled = 0;
    for (uint32_t q = 0; q < queries; q++) {
        const float *base = data + (next_random(&rng) % memories) * dimension;
        for (uint32_t d = 0; d < dimension; d++) cue[d] = base[d] + 0.05f * (uniform(&rng) * 2.0f - 1.0f);
        uint32_t found = 0;
        double t0 = now_seconds();
        status = mn_assoc_recall(assoc, index, cue, dimension, &recall, results, 1024, &found);
        latency[q] = now_seconds() - t0;
        if (status != MN_OK) {
            fprintf(stderr, "recall: %s\n", mn_status_string(status));
            return 1;
        }
        recalled += found;
    }
    qsort(latency, queries, sizeof(double), compare_double);
    double p50 = latency[queries / 2], p99 = latency[(size_t)((double)queries * 0.99)], max = latency[queries - 1];
    printf("recall (seeds %u, hops %u, fan-out %u, decay 0.5, threshold 0.01, similarity + associations), "
           "%u queries, 1 thread: p50 %.3f ms, p99 %.3f ms, max %.3f ms; %.1f memories recalled on average\n",
           seeds, hops, fan_out, queries, p50 * 1e3, p99 * 1e3, max * 1e3, (double)recalled / queries);

    free(cue);
    free(latency);
    free(results);
    mn_assoc_destroy(assoc);
    mn_hnsw_destroy(index);
    free(ids);
    free(data);
    free(centers);
    return 0;
}
