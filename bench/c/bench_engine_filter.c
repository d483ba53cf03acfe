/*
 * bench_engine_filter.c: filtered search and count of an engine space with and without a
 * field index on the filtered field, in one run (docs/filters.md, "Field indexes in spaces").
 *
 *   bench_engine_filter [--memories N] [--dimension D] [--queries Q] [--counts C]
 *   bench_engine_filter --smoke     (5,000 memories, a few seconds; CTest runs this)
 *
 * One space of N memories (random vectors, L2, M 16, ef_construction 64, inserted in
 * batches) whose metadata holds attr = (i * 7919) mod 1000, so "attr < 1000 s" matches exactly
 * the fraction s, and flag = i odd. For each filter it prints, first without any index on
 * attr, then after mn_space_index_create(attr, NUMERIC), the planner's strategy and index
 * flags, the QPS of mn_space_search_filtered (k 10, ef 64, one thread, Q queries) and the p50
 * latency of mn_space_count_filtered (C calls), and the ratios indexed / unindexed. The
 * filters: attr < 10 (0.01), attr < 1 (0.001), and attr < 10 AND flag = true (0.005, an AND
 * whose second leaf stays unindexed, checked on each candidate's record).
 * Figures only: it never fails on speed.
 *
 * ANN mode (docs/filters.md, "Filtered search speed"): the setup of `mnemo ann-bench
 * --filter-selectivity ... --filter-index` in C, to compare with bench/peers/filtered.py's
 * baselines on the same machine without Swift in the path:
 *
 *   bench_engine_filter --ann [--data DIR] [--set sift5k|wordnet384] [--ef 10,20,40,80]
 *                       [--selectivity 0.5,0.1,0.01,0.001] [--repeat R] [--no-index] [--json]
 *
 * One space (M 16, ef_construction 200, cosine for sets named wordnet*, else L2) gets the base
 * vectors in batches of 1,000, memory i with id "i" and metadata bucket = perm(i), perm the
 * permutation of mnemo ann-bench (Fisher-Yates from splitmix64, seed 42); then a numeric index
 * on bucket (unless --no-index). Selectivity s is the filter bucket < round(s n), exactly
 * round(s n) matches. The exact filtered top 10 is computed here by brute force (ties by
 * smaller id); each (selectivity, ef) row gives the planner's strategy, recall@10 and queries
 * per CPU second of the searching thread, fastest of R passes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_support.h"
#include "mnemo/mn_engine.h"
#include "mnemo/mn_filter.h"
#include "mnemo/mn_meta.h"

#define BATCH 1000u
#define FILTERS 3

static const char *const FILTER_JSON[FILTERS] = {
    "{\"attr\": {\"$lt\": 10}}",
    "{\"attr\": {\"$lt\": 1}}",
    "{\"$and\": [{\"attr\": {\"$lt\": 10}}, {\"flag\": true}]}",
};
static const double FILTER_SELECTIVITY[FILTERS] = {0.01, 0.001, 0.005};

typedef struct waiter {
    volatile int done;
    mn_status status;
} waiter;

static void waiter_done(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    waiter *w = context;
    w->status = status;
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
}

static mn_status waiter_wait(waiter *w) {
    while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return w->status;
}

static void fill(mn_space *space, uint32_t memories, uint32_t dimension) {
    uint64_t state = 88172645463325252ull;
    float *vectors = malloc((size_t)BATCH * dimension * sizeof(float));
    char *ids = malloc((size_t)BATCH * 16);
    uint64_t *id_offsets = malloc((BATCH + 1) * sizeof(uint64_t));
    uint64_t *content_offsets = calloc(BATCH + 1, sizeof(uint64_t));
    uint64_t *meta_offsets = malloc((BATCH + 1) * sizeof(uint64_t));
    int64_t *created = malloc(BATCH * sizeof(int64_t));
    uint8_t *packed = malloc((size_t)BATCH * 64);
    if (!vectors || !ids || !id_offsets || !content_offsets || !meta_offsets || !created || !packed) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (uint32_t start = 0; start < memories; start += BATCH) {
        uint32_t n = memories - start < BATCH ? memories - start : BATCH;
        size_t id_at = 0, meta_at = 0;
        id_offsets[0] = meta_offsets[0] = 0;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = start + k;
            for (uint32_t d = 0; d < dimension; d++) vectors[(size_t)k * dimension + d] = uniform(&state);
            id_at += (size_t)snprintf(ids + id_at, 16, "m%u", i);
            id_offsets[k + 1] = id_at;
            created[k] = 1700000000000000000ll + (int64_t)i;
            mn_meta_builder *b = NULL;
            void *doc = NULL;
            size_t size = 0;
            if (mn_meta_builder_create(&b) != MN_OK) exit(1);
            mn_meta_builder_add_int(b, "attr", 4, (int64_t)((i * 7919ull) % 1000));
            mn_meta_builder_add_bool(b, "flag", 4, (int)(i & 1));
            if (mn_meta_builder_finish(b, &doc, &size, NULL) != MN_OK || size > 64) exit(1);
            mn_meta_builder_destroy(b);
            memcpy(packed + meta_at, doc, size);
            meta_at += size;
            meta_offsets[k + 1] = meta_at;
            mn_meta_free(doc);
        }
        mn_batch_in batch = {n, dimension, vectors, ids, id_offsets, NULL, content_offsets, created};
        waiter w = {0, MN_OK};
        mn_status status = mn_space_insert_batch_meta(space, &batch, packed, meta_offsets,
                                                      MN_SUBMIT_WAIT, waiter_done, &w, NULL, NULL);
        if (status == MN_OK) status = waiter_wait(&w);
        if (status != MN_OK) {
            fprintf(stderr, "insert: %s\n", mn_status_string(status));
            exit(1);
        }
    }
    free(vectors);
    free(ids);
    free(id_offsets);
    free(content_offsets);
    free(meta_offsets);
    free(created);
    free(packed);
}

typedef struct measure {
    double qps;
    double count_p50_us;
    uint32_t strategy;
    uint32_t index_flags;
    uint64_t matches;
} measure;

static measure run(mn_space *space, const mn_filter *filter, uint32_t dimension, uint32_t queries,
                   uint32_t counts) {
    measure m = {0};
    uint64_t state = 0x9e3779b97f4a7c15ull;
    float *query = malloc(dimension * sizeof(float));
    double *latency = malloc(counts * sizeof(double));
    if (!query || !latency) exit(1);
    double start = now_seconds();
    for (uint32_t q = 0; q < queries; q++) {
        for (uint32_t d = 0; d < dimension; d++) query[d] = uniform(&state);
        uint32_t found = 0;
        mn_search_stats stats;
        mn_status status = mn_space_search_filtered(space, query, dimension, 10, 64, filter, NULL,
                                                    NULL, &found, &stats);
        if (status != MN_OK) {
            fprintf(stderr, "search: %s\n", mn_status_string(status));
            exit(1);
        }
        m.strategy = stats.strategy;
        m.index_flags = stats.index_flags;
    }
    m.qps = queries / (now_seconds() - start);
    for (uint32_t c = 0; c < counts; c++) {
        double t0 = now_seconds();
        uint64_t count = 0;
        if (mn_space_count_filtered(space, filter, &count) != MN_OK) exit(1);
        latency[c] = (now_seconds() - t0) * 1e6;
        m.matches = count;
    }
    qsort(latency, counts, sizeof(double), compare_double);
    m.count_p50_us = latency[counts / 2];
    free(query);
    free(latency);
    return m;
}

/* ---- ANN mode ---- */

#define ANN_K 10u
#define ANN_LIST_MAX 16

/* An engine of 2 unpinned workers and its space "bench" (m 0: the default), or NULL. */
static mn_space *bench_space(uint32_t dimension, mn_metric metric, uint32_t m,
                             uint32_t ef_construction, mn_engine **engine) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 2;
    options.pin_workers = 0;
    if (mn_engine_create(&options, engine) != MN_OK) return NULL;
    mn_hnsw_params params;
    mn_hnsw_params_default(dimension, metric, &params);
    if (m) params.m = m;
    params.ef_construction = ef_construction;
    mn_space *space = NULL;
    return mn_engine_space_create(*engine, "bench", 5, &params, &space) == MN_OK ? space : NULL;
}

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct ann_hits {
    uint64_t ids[ANN_K];
    uint32_t count;
} ann_hits;

static void ann_visit(void *context, const mn_memory_view *memory) {
    ann_hits *hits = context;
    char text[32];
    uint32_t n = memory->id_bytes < sizeof(text) - 1 ? memory->id_bytes : (uint32_t)sizeof(text) - 1;
    memcpy(text, memory->id, n);
    text[n] = 0;
    if (hits->count < ANN_K) hits->ids[hits->count++] = strtoull(text, NULL, 10);
}

static size_t ann_list(char *text, double *out, size_t max) {
    size_t n = 0;
    for (char *item = strtok(text, ","); item && n < max; item = strtok(NULL, ",")) out[n++] = atof(item);
    return n;
}

static int ann_bench(int argc, char **argv) {
    const char *data = "../shared/data", *set = "sift5k";
    double selectivities[ANN_LIST_MAX] = {0.5, 0.1, 0.01, 0.001}, efs[ANN_LIST_MAX] = {10, 20, 40, 80};
    size_t selectivity_count = 4, ef_count = 4;
    uint32_t repeat = 3;
    int indexed = 1, json = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--set") && i + 1 < argc) set = argv[++i];
        else if (!strcmp(argv[i], "--ef") && i + 1 < argc) ef_count = ann_list(argv[++i], efs, ANN_LIST_MAX);
        else if (!strcmp(argv[i], "--selectivity") && i + 1 < argc)
            selectivity_count = ann_list(argv[++i], selectivities, ANN_LIST_MAX);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--no-index")) indexed = 0;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else {
            fprintf(stderr, "usage: bench_engine_filter --ann [--data DIR] [--set NAME] [--ef LIST] "
                            "[--selectivity LIST] [--repeat R] [--no-index] [--json]\n");
            return 2;
        }
    }
    if (repeat == 0) repeat = 1;
    char path[1024];
    uint32_t dimension = 0, query_dimension = 0;
    size_t n = 0, queries = 0;
    snprintf(path, sizeof path, "%s/%s_base.fvecs", data, set);
    float *base = bench_read_vecs(path, &dimension, &n);
    snprintf(path, sizeof path, "%s/%s_query.fvecs", data, set);
    float *query = bench_read_vecs(path, &query_dimension, &queries);
    if (!base || !query || query_dimension != dimension) {
        fprintf(stderr, "bench_engine_filter: cannot read %s/%s_base.fvecs and _query.fvecs\n", data, set);
        return 2;
    }
    mn_metric metric = strstr(set, "wordnet") ? MN_METRIC_COSINE : MN_METRIC_L2;
    /* bucket = perm(i), as mnemo ann-bench draws it. */
    uint32_t *bucket = malloc(n * sizeof(uint32_t));
    if (!bucket) return 1;
    for (size_t i = 0; i < n; i++) bucket[i] = (uint32_t)i;
    uint64_t rng = 42;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(splitmix64(&rng) % (uint64_t)(i + 1));
        uint32_t t = bucket[i];
        bucket[i] = bucket[j];
        bucket[j] = t;
    }

    mn_engine *engine = NULL;
    mn_space *space = bench_space(dimension, metric, 16, 200, &engine);
    if (!space) return 1;
    double t0 = now_seconds();
    char *ids = malloc((size_t)BATCH * 16);
    uint64_t *id_offsets = malloc((BATCH + 1) * sizeof(uint64_t));
    uint64_t *content_offsets = calloc(BATCH + 1, sizeof(uint64_t));
    uint64_t *meta_offsets = malloc((BATCH + 1) * sizeof(uint64_t));
    uint8_t *packed = malloc((size_t)BATCH * 64);
    if (!ids || !id_offsets || !content_offsets || !meta_offsets || !packed) return 1;
    for (size_t start = 0; start < n; start += BATCH) {
        size_t count = n - start < BATCH ? n - start : BATCH;
        size_t id_at = 0, meta_at = 0;
        id_offsets[0] = meta_offsets[0] = 0;
        for (size_t k = 0; k < count; k++) {
            id_at += (size_t)snprintf(ids + id_at, 16, "%zu", start + k);
            id_offsets[k + 1] = id_at;
            mn_meta_builder *b = NULL;
            void *doc = NULL;
            size_t size = 0;
            if (mn_meta_builder_create(&b) != MN_OK) return 1;
            mn_meta_builder_add_int(b, "bucket", 6, (int64_t)bucket[start + k]);
            if (mn_meta_builder_finish(b, &doc, &size, NULL) != MN_OK || size > 64) return 1;
            mn_meta_builder_destroy(b);
            memcpy(packed + meta_at, doc, size);
            meta_at += size;
            meta_offsets[k + 1] = meta_at;
            mn_meta_free(doc);
        }
        mn_batch_in batch = {count, dimension, base + start * dimension, ids, id_offsets, NULL,
                             content_offsets, NULL};
        waiter w = {0, MN_OK};
        mn_status status = mn_space_insert_batch_meta(space, &batch, packed, meta_offsets,
                                                      MN_SUBMIT_WAIT, waiter_done, &w, NULL, NULL);
        if (status == MN_OK) status = waiter_wait(&w);
        if (status != MN_OK) {
            fprintf(stderr, "insert: %s\n", mn_status_string(status));
            return 1;
        }
    }
    if (indexed) {
        waiter w = {0, MN_OK};
        mn_status status = mn_space_index_create(space, "bucket", 6, MN_INDEX_NUMERIC, MN_SUBMIT_WAIT,
                                                 waiter_done, &w);
        if (status == MN_OK) status = waiter_wait(&w);
        if (status != MN_OK) {
            fprintf(stderr, "index: %s\n", mn_status_string(status));
            return 1;
        }
    }
    double build = now_seconds() - t0;

    /* The exact filtered top 10 of every query at every selectivity, by brute force. */
    t0 = now_seconds();
    uint64_t *truth = malloc(selectivity_count * queries * ANN_K * sizeof(uint64_t));
    uint32_t *expected = malloc(selectivity_count * queries * sizeof(uint32_t));
    float *distance = malloc(n * sizeof(float));
    if (!truth || !expected || !distance) return 1;
    for (size_t q = 0; q < queries; q++) {
        for (size_t i = 0; i < n; i++)
            mn_distance(metric, query + q * dimension, base + i * dimension, dimension, &distance[i]);
        for (size_t s = 0; s < selectivity_count; s++) {
            uint32_t cutoff = (uint32_t)(selectivities[s] * (double)n + 0.5);
            uint64_t *top = truth + (s * queries + q) * ANN_K;
            float best[ANN_K];
            uint32_t found = 0;
            for (size_t i = 0; i < n; i++) { /* ascending ids: a tie keeps the smaller */
                if (bucket[i] >= cutoff) continue;
                float d = distance[i];
                if (found == ANN_K && d >= best[ANN_K - 1]) continue;
                uint32_t j = found < ANN_K ? found++ : ANN_K - 1;
                while (j > 0 && best[j - 1] > d) best[j] = best[j - 1], top[j] = top[j - 1], j--;
                best[j] = d, top[j] = i;
            }
            expected[s * queries + q] = found;
        }
    }
    double truth_seconds = now_seconds() - t0;
    if (json) {
        printf("{\"bench\":\"engine_filtered_build\",\"set\":\"%s\",\"vectors\":%zu,\"dimension\":%u,"
               "\"indexed\":%s,\"build_seconds\":%.3f,\"groundtruth_seconds\":%.3f}\n",
               set, n, dimension, indexed ? "true" : "false", build, truth_seconds);
    } else {
        printf("bench_engine_filter --ann: %s, %zu x %u, M 16, ef_construction 200, %s; build %.2f s, "
               "ground truth %.2f s; %zu queries, fastest of %u passes, thread CPU time\n",
               set, n, dimension, indexed ? "numeric index on bucket" : "no index", build, truth_seconds,
               queries, repeat);
        printf("%8s %8s %5s %9s %8s %10s\n", "select", "matches", "ef", "strategy", "recall", "qps");
    }
    for (size_t s = 0; s < selectivity_count; s++) {
        uint32_t cutoff = (uint32_t)(selectivities[s] * (double)n + 0.5);
        char json_filter[64];
        snprintf(json_filter, sizeof json_filter, "{\"bucket\": {\"$lt\": %u}}", cutoff);
        mn_filter *filter = NULL;
        if (mn_filter_parse(json_filter, strlen(json_filter), &filter, NULL) != MN_OK) return 1;
        for (size_t e = 0; e < ef_count; e++) {
            double best = INFINITY;
            uint64_t hits = 0, total = 0;
            uint32_t strategy = 0, mixed = 0;
            for (uint32_t pass = 0; pass < repeat; pass++) {
                hits = total = 0;
                double start = bench_thread_cpu_seconds();
                for (size_t q = 0; q < queries; q++) {
                    ann_hits got = {{0}, 0};
                    uint32_t found = 0;
                    mn_search_stats stats;
                    mn_status status = mn_space_search_filtered(space, query + q * dimension, dimension, ANN_K,
                                                                (uint32_t)efs[e], filter, ann_visit, &got,
                                                                &found, &stats);
                    if (status != MN_OK) {
                        fprintf(stderr, "search: %s\n", mn_status_string(status));
                        return 1;
                    }
                    if (strategy && stats.strategy != strategy) mixed = 1;
                    strategy = stats.strategy;
                    const uint64_t *top = truth + (s * queries + q) * ANN_K;
                    uint32_t want = expected[s * queries + q];
                    total += want;
                    for (uint32_t i = 0; i < got.count; i++)
                        for (uint32_t j = 0; j < want; j++)
                            if (got.ids[i] == top[j]) { hits++; break; }
                }
                double elapsed = bench_thread_cpu_seconds() - start;
                if (elapsed < best) best = elapsed;
            }
            const char *name = mixed ? "mixed" : strategy == MN_SEARCH_STRATEGY_EXACT_SCAN ? "exact_scan" : "traversal";
            double recall = total ? (double)hits / (double)total : 1.0;
            double qps = (double)queries / (best > 0 ? best : 1e-9);
            if (json) {
                printf("{\"bench\":\"engine_filtered_search\",\"set\":\"%s\",\"selectivity\":%g,"
                       "\"matches\":%u,\"ef\":%u,\"k\":%u,\"recall\":%.4f,\"qps\":%.1f,\"strategy\":\"%s\"}\n",
                       set, selectivities[s], cutoff, (uint32_t)efs[e], ANN_K, recall, qps, name);
            } else {
                printf("%8g %8u %5u %9s %8.4f %10.0f\n", selectivities[s], cutoff, (uint32_t)efs[e], name, recall, qps);
            }
            fflush(stdout);
        }
        mn_filter_free(filter);
    }
    free(truth);
    free(expected);
    free(distance);
    free(ids);
    free(id_offsets);
    free(content_offsets);
    free(meta_offsets);
    free(packed);
    free(bucket);
    free(base);
    free(query);
    mn_space_release(space);
    mn_engine_destroy(engine);
    return 0;
}

static const char *strategy_name(uint32_t strategy) {
    return strategy == MN_SEARCH_STRATEGY_EXACT_SCAN ? "scan" : "traversal";
}

int main(int argc, char **argv) {
    uint32_t memories = 100000, dimension = 64, queries = 2000, counts = 200;
    if (argc > 1 && strcmp(argv[1], "--ann") == 0) return ann_bench(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            memories = 5000;
            dimension = 16;
            queries = 50;
            counts = 10;
        } else if (strcmp(argv[i], "--memories") == 0 && i + 1 < argc) {
            memories = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--dimension") == 0 && i + 1 < argc) {
            dimension = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc) {
            queries = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--counts") == 0 && i + 1 < argc) {
            counts = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_engine_filter [--smoke] [--memories N] [--dimension D] "
                            "[--queries Q] [--counts C]\n");
            return 2;
        }
    }
    if (memories == 0 || dimension == 0 || queries == 0 || counts == 0) return 2;
    mn_engine *engine = NULL;
    mn_space *space = bench_space(dimension, MN_METRIC_L2, 0, 64, &engine);
    if (!space) return 1;
    double t0 = now_seconds();
    fill(space, memories, dimension);
    printf("%u memories, dimension %u, built in %.1f s; k 10, ef 64, %u queries, %u counts per row\n",
           memories, dimension, now_seconds() - t0, queries, counts);

    mn_filter *filters[FILTERS];
    for (int f = 0; f < FILTERS; f++) {
        if (mn_filter_parse(FILTER_JSON[f], strlen(FILTER_JSON[f]), &filters[f], NULL) != MN_OK) return 1;
    }
    measure without[FILTERS], with[FILTERS];
    for (int f = 0; f < FILTERS; f++) without[f] = run(space, filters[f], dimension, queries, counts);
    waiter w = {0, MN_OK};
    t0 = now_seconds();
    mn_status status = mn_space_index_create(space, "attr", 4, MN_INDEX_NUMERIC, MN_SUBMIT_WAIT,
                                             waiter_done, &w);
    if (status == MN_OK) status = waiter_wait(&w);
    if (status != MN_OK) {
        fprintf(stderr, "index: %s\n", mn_status_string(status));
        return 1;
    }
    printf("index on attr created (backfilled) in %.1f ms\n", (now_seconds() - t0) * 1e3);
    for (int f = 0; f < FILTERS; f++) with[f] = run(space, filters[f], dimension, queries, counts);

    printf("| filter | selectivity | matches | search QPS, no index | search QPS, index | ratio "
           "| count p50 us, no index | count p50 us, index | ratio |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    for (int f = 0; f < FILTERS; f++) {
        printf("| `%s` | %.3f | %llu | %.0f (%s) | %.0f (%s, flags %u) | %.1fx | %.1f | %.2f | %.0fx |\n",
               FILTER_JSON[f], FILTER_SELECTIVITY[f], (unsigned long long)with[f].matches,
               without[f].qps, strategy_name(without[f].strategy), with[f].qps,
               strategy_name(with[f].strategy), with[f].index_flags, with[f].qps / without[f].qps,
               without[f].count_p50_us, with[f].count_p50_us,
               without[f].count_p50_us / (with[f].count_p50_us > 0 ? with[f].count_p50_us : 1e-3));
        if (with[f].matches != without[f].matches) {
            fprintf(stderr, "counts differ: %llu with the index, %llu without\n",
                    (unsigned long long)with[f].matches, (unsigned long long)without[f].matches);
            return 1;
        }
    }
    for (int f = 0; f < FILTERS; f++) mn_filter_free(filters[f]);
    mn_space_release(space);
    mn_engine_destroy(engine);
    return 0;
}
