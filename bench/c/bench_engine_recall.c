/*
 * bench_engine_recall.c: latency of recall through the engine (mn_space_recall), and of a whole
 * space's export and import, in a large space.
 *
 *   bench_engine_recall [--memories N] [--dimension D] [--links L] [--queries Q]
 *                       [--workers W] [--hops H] [--limit K]
 *   bench_engine_recall --smoke        (a tiny space, well under a second; CTest runs this)
 *
 * Builds one space of N memories (default 100,000; synthetic clustered vectors, dimension 64,
 * L2, M 16, ef_construction 100) with one batch insert linked by W workers (default 2), then
 * L random associations per memory (default 3) as link writes through the mailbox, then times Q
 * recalls (default 2,000) on the calling thread: seeds 10, the given hops (default 3), fan-out
 * 8, decay 0.5, threshold 0.01, over associations and similarity, the top K (default 20)
 * returned with ids and content. Unlike bench_assoc (the module alone), each recall here also
 * maps labels back to memories under RCU. Prints p50/p99/max; then the export's size and time
 * and the import's time. Figures only: it never fails on speed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_support.h"
#include "mnemo/mn_engine.h"

/* Counts completions; the last write of a phase is a barrier, waited for by polling. */
static _Atomic uint64_t completed;
static _Atomic uint64_t failed_links;
static void count_done(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    if (context && status != MN_OK) failed_links++;
    completed++;
}

static void wait_for(uint64_t target) {
    while (completed < target) {
        struct timespec pause = {0, 100000};
        nanosleep(&pause, NULL);
    }
}

typedef struct sink {
    uint8_t *data;
    size_t size, capacity;
} sink;

static mn_status sink_write(void *context, const void *data, size_t size) {
    sink *s = context;
    if (s->size + size > s->capacity) {
        size_t capacity = s->capacity ? s->capacity : 1 << 20;
        while (capacity < s->size + size) capacity *= 2;
        uint8_t *grown = realloc(s->data, capacity);
        if (!grown) return MN_ERR_NO_MEMORY;
        s->data = grown;
        s->capacity = capacity;
    }
    memcpy(s->data + s->size, data, size);
    s->size += size;
    return MN_OK;
}

static void usage(void) {
    fprintf(stderr, "usage: bench_engine_recall [--smoke] [--memories N] [--dimension D] [--links L]\n"
                    "                           [--queries Q] [--workers W] [--hops H] [--limit K]\n");
}

int main(int argc, char **argv) {
    uint32_t memories = 100000, dimension = 64, links = 3, queries = 2000, workers = 2, hops = 3, limit = 20;
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
        else if (value && strcmp(arg, "--workers") == 0) workers = (uint32_t)atoi(value), i++;
        else if (value && strcmp(arg, "--hops") == 0) hops = (uint32_t)atoi(value), i++;
        else if (value && strcmp(arg, "--limit") == 0) limit = (uint32_t)atoi(value), i++;
        else {
            usage();
            return 2;
        }
    }
    if (memories < 2 || dimension == 0 || dimension > MN_DIMENSION_MAX || queries == 0 || workers == 0 ||
        limit == 0 || limit > MN_ENGINE_RECALL_LIMIT_MAX || memories > MN_ENGINE_BATCH_COUNT_MAX) {
        usage();
        return 2;
    }

    uint64_t rng = 0x9E3779B97F4A7C15ull;
    enum { CENTERS = 64 };
    float *centers = malloc((size_t)CENTERS * dimension * sizeof(float));
    float *data = malloc((size_t)memories * dimension * sizeof(float));
    char *ids = malloc((size_t)memories * 12);
    uint64_t *id_offsets = malloc(((size_t)memories + 1) * sizeof(uint64_t));
    uint64_t *content_offsets = calloc((size_t)memories + 1, sizeof(uint64_t));
    if (!centers || !data || !ids || !id_offsets || !content_offsets) return 1;
    for (size_t i = 0; i < (size_t)CENTERS * dimension; i++) centers[i] = uniform(&rng) * 2.0f - 1.0f;
    uint64_t at = 0;
    for (uint32_t i = 0; i < memories; i++) {
        const float *center = centers + (next_random(&rng) % CENTERS) * dimension;
        for (uint32_t d = 0; d < dimension; d++)
            data[(size_t)i * dimension + d] = center[d] + 0.3f * (uniform(&rng) * 2.0f - 1.0f);
        id_offsets[i] = at;
        at += (uint64_t)snprintf(ids + at, 12, "m%u", i);
    }
    id_offsets[memories] = at;

    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = workers;
    mn_engine *engine = NULL;
    if (mn_engine_create(&options, &engine) != MN_OK) return 1;
    mn_hnsw_params params;
    mn_hnsw_params_default(dimension, MN_METRIC_L2, &params);
    params.m = 16;
    params.ef_construction = 100;
    mn_space *space = NULL;
    if (mn_engine_space_create(engine, "bench", 5, &params, &space) != MN_OK) return 1;

    double start = now_seconds();
    mn_batch_in batch = {memories, dimension, data, ids, id_offsets, NULL, content_offsets, NULL};
    uint64_t target = 0;
    if (mn_space_insert_batch(space, &batch, MN_SUBMIT_WAIT, count_done, NULL, NULL) != MN_OK) return 1;
    wait_for(++target);
    double build_index = now_seconds() - start;
    start = now_seconds();
    for (uint32_t i = 0; i < memories; i++) {
        for (uint32_t l = 0; l < links; l++) {
            uint32_t to = (uint32_t)(next_random(&rng) % memories);
            if (to == i) continue;
            float weight = (float)(1 + next_random(&rng) % 1000) / 1000.0f;
            const char *a = ids + id_offsets[i], *b = ids + id_offsets[to];
            if (mn_space_link(space, a, (uint32_t)(id_offsets[i + 1] - id_offsets[i]), b,
                              (uint32_t)(id_offsets[to + 1] - id_offsets[to]), weight, MN_SUBMIT_WAIT,
                              count_done, (void *)1) != MN_OK) {
                return 1;
            }
            target++;
        }
    }
    wait_for(target);
    double build_links = now_seconds() - start;
    uint64_t made = 0;
    mn_space_link_count(space, &made);
    printf("space: %u memories, dimension %u, M %u, ef_construction %u (%u workers): batch %.1f s; "
           "%llu associations as link writes %.2f s (%llu refused at the degree bound)\n",
           memories, dimension, params.m, params.ef_construction, workers, build_index, (unsigned long long)made,
           build_links, (unsigned long long)failed_links);

    mn_recall_params recall;
    mn_recall_params_default(&recall);
    recall.hops = hops;
    double *latency = malloc((size_t)queries * sizeof(double));
    float *cue = malloc((size_t)dimension * sizeof(float));
    if (!latency || !cue) return 1;
    uint64_t recalled = 0;
    for (uint32_t q = 0; q < queries; q++) {
        const float *base = data + (next_random(&rng) % memories) * dimension;
        for (uint32_t d = 0; d < dimension; d++) cue[d] = base[d] + 0.05f * (uniform(&rng) * 2.0f - 1.0f);
        uint32_t found = 0;
        double t0 = now_seconds();
        mn_status status = mn_space_recall(space, cue, dimension, &recall, limit, NULL, NULL, &found);
        latency[q] = now_seconds() - t0;
        if (status != MN_OK) {
            fprintf(stderr, "recall: %s\n", mn_status_string(status));
            return 1;
        }
        recalled += found;
    }
    qsort(latency, queries, sizeof(double), compare_double);
    double p50 = latency[queries / 2], p99 = latency[(size_t)((double)queries * 0.99)], max = latency[queries - 1];
    printf("engine recall (seeds %u, hops %u, fan-out %u, decay 0.5, threshold 0.01, similarity + associations, "
           "top %u), %u queries, 1 thread: p50 %.3f ms, p99 %.3f ms, max %.3f ms; %.1f returned on average\n",
           recall.seeds, hops, recall.fan_out, limit, queries, p50 * 1e3, p99 * 1e3, max * 1e3,
           (double)recalled / queries);

    sink stream = {0};
    start = now_seconds();
    if (mn_space_export(space, sink_write, &stream) != MN_OK) return 1;
    double export_s = now_seconds() - start;
    start = now_seconds();
    mn_space *copy = NULL;
    if (mn_engine_space_import_buffer(engine, "copy", 4, stream.data, stream.size, &copy) != MN_OK) return 1;
    double import_s = now_seconds() - start;
    printf("export: %.1f MiB in %.2f s; import (validated, rebuilt): %.2f s\n",
           (double)stream.size / (1024.0 * 1024.0), export_s, import_s);

    mn_space_release(copy);
    mn_space_release(space);
    mn_engine_destroy(engine);
    free(stream.data);
    free(cue);
    free(latency);
    free(content_offsets);
    free(id_offsets);
    free(ids);
    free(data);
    free(centers);
    return 0;
}
