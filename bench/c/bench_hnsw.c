/*
 * bench_hnsw.c: HNSW build and search throughput of the C core alone (no Swift in the path).
 *
 *   bench_hnsw [--data DIR] [--set sift5k|wordnet384|clustered784] [--threads N] [--m M]
 *              [--ef-construction E] [--ef 10,20,...] [--repeat R]
 *   bench_hnsw --smoke            (synthetic data, a fraction of a second; CTest runs this)
 *   bench_hnsw --upsert-rounds R [--rows N] [--set ...]   (the upsert mode below)
 *   bench_hnsw --filter-selectivity 0.5,0.1,0.01,0.001 [--set ...] [--ef ...] [--repeat R] [--json]
 *
 * Reads DIR/SET_base.fvecs, _query.fvecs and _groundtruth.ivecs (texmex format), builds the
 * index with N threads inserting concurrently (mn_hnsw_insert_batch), then for each ef prints
 * recall@10 against the ground truth, single-thread QPS and p50/p99 latency. Figures only:
 * it never fails on speed. Useful on many-core machines to see how the build scales.
 *
 * Upsert mode (--upsert-rounds R): two indexes are built alike over the first N rows, then R
 * rounds each give every row a new vector (another row's, plus noise), one index by the old
 * path (remove + insert under a new id: a tombstone and a new node, repair passes at 20%
 * removed) and one in place (mn_hnsw_update), the two interleaved round by round in one
 * process so machine load hits both alike. Prints upserts per CPU second of the upserting
 * thread (a grace period the settle step waits for is not counted) per round, index bytes, the
 * ratio round R / round 1 of each path, and recall@10 at ef 40 against exact neighbours of
 * the final vectors.
 *
 * Filter mode (--filter-selectivity 0.5,0.1,...): after the build, each base row i gets the
 * attribute (i * 7919) mod 1000, a bijection on every run of 1,000 rows, so the filter
 * "attribute < 1000 * s" matches exactly the fraction s of a set whose size is a multiple of
 * 1,000. For each selectivity the exact filtered top 10 of every query is computed by brute
 * force here, then one row per ef gives the filtered traversal (mn_hnsw_search_filtered) and one
 * row the exact scan of the matching ids (mn_hnsw_search_ids): recall@10, queries per CPU
 * second of the searching thread (fastest of --repeat passes: on a shared machine, time spent
 * waiting for a core is not the search's), distances and nodes looked at per query, and the
 * share of queries that fell back to the exact scan inside the traversal. The crossover between the two strategies is the point
 * where the scan's QPS passes the traversal's at recall >= 0.95. With --json each row is one JSON
 * object instead (fields selectivity, ef (null for the scan), strategy "traversal" or "exact",
 * matches, recall, qps, distances_per_query, visited_per_query, fallback_share), after one
 * {"bench":"build",...} object: bench/peers/filtered.py reads them to set the C core beside FAISS
 * and a numpy scan. The unfiltered sweep prints {"bench":"search",...} objects under --json too.
 *
 * Sets whose name holds "wordnet" are cosine, the rest L2. clustered784 is the generated set
 * of bench/peers/compare.py (`compare.py --keep-generated DIR --generate-only`); --ef with one
 * value makes a short run for callgrind (`--toggle-collect=mn_hnsw_search`). --repeat R runs
 * each ef's queries R times and prints the fastest pass: on a shared machine the fastest pass is
 * the one least disturbed by other processes.
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
#define EF_LIST_MAX 16

/* Row i's vector in upsert round `round`: another row's vector plus a little noise. */
static void upsert_vector(const float *base, size_t count, uint32_t dimension, size_t i, uint32_t round,
                          uint64_t *rng, float *out) {
    const float *source = base + ((i + (size_t)round * 7919u) % count) * dimension;
    for (uint32_t d = 0; d < dimension; d++) out[d] = source[d] + 0.02f * (uniform(rng) - 0.5f);
}

/* recall@K at ef 40 of `index` (ids offset by `id_base`) against brute force over `vectors`. */
static double upsert_recall(mn_hnsw *index, mn_metric metric, const float *vectors, size_t count,
                            uint32_t dimension, const float *query, size_t queries, uint64_t id_base) {
    size_t hits = 0;
    mn_hnsw_result results[K];
    for (size_t q = 0; q < queries; q++) {
        float best[K];
        size_t best_id[K];
        for (int j = 0; j < K; j++) best[j] = INFINITY, best_id[j] = SIZE_MAX;
        for (size_t row = 0; row < count; row++) {
            float d;
            mn_distance(metric, query + q * dimension, vectors + row * dimension, dimension, &d);
            if (d >= best[K - 1]) continue;
            int j = K - 1;
            while (j > 0 && best[j - 1] > d) best[j] = best[j - 1], best_id[j] = best_id[j - 1], j--;
            best[j] = d, best_id[j] = row;
        }
        uint32_t found = 0;
        mn_hnsw_search(index, query + q * dimension, dimension, K, 40, results, &found);
        for (uint32_t i = 0; i < found; i++)
            for (int j = 0; j < K; j++)
                if (results[i].id - id_base == best_id[j]) { hits++; break; }
    }
    return (double)hits / (double)(queries * K);
}

static int upsert_rounds(const mn_hnsw_params *params, const float *base, size_t count, const float *query,
                         size_t queries, uint32_t rounds) {
    const uint32_t dimension = params->dimension;
    mn_hnsw *old_path = NULL, *in_place = NULL;
    if (mn_hnsw_create(params, &old_path) != MN_OK || mn_hnsw_create(params, &in_place) != MN_OK) return 1;
    uint64_t *ids = malloc(count * sizeof(uint64_t));
    for (size_t i = 0; i < count; i++) ids[i] = i;
    size_t failed = 0;
    if (mn_hnsw_insert_batch(old_path, ids, base, count, dimension, 1, &failed) != MN_OK ||
        mn_hnsw_insert_batch(in_place, ids, base, count, dimension, 1, &failed) != MN_OK)
        return 1;
    float *vectors = malloc(count * dimension * sizeof(float));
    uint64_t rng_old = 7, rng_new = 7;
    double first[2] = {0, 0}, last[2] = {0, 0};
    double *rates[2] = {malloc(rounds * sizeof(double)), malloc(rounds * sizeof(double))};
    printf("%6s %14s %14s %14s %14s   (upserts per CPU second)\n", "round", "old_upserts/s", "old_bytes",
           "inplace_ups/s", "inplace_bytes");
    for (uint32_t round = 1; round <= rounds; round++) {
        double rate[2];
        uint64_t bytes[2];
        /* Old path: the memory's vector under a new id, the old id removed (what the engine did). */
        double start = bench_thread_cpu_seconds();
        for (size_t i = 0; i < count; i++) {
            upsert_vector(base, count, dimension, i, round, &rng_old, vectors + i * dimension);
            uint64_t id = (uint64_t)round * count + i;
            if (mn_hnsw_insert(old_path, id, vectors + i * dimension, dimension) != MN_OK ||
                mn_hnsw_remove(old_path, id - count) != MN_OK)
                return 1;
        }
        rate[0] = (double)count / (bench_thread_cpu_seconds() - start);
        start = bench_thread_cpu_seconds();
        for (size_t i = 0; i < count; i++) {
            upsert_vector(base, count, dimension, i, round, &rng_new, vectors + i * dimension);
            if (mn_hnsw_update(in_place, i, vectors + i * dimension, dimension) != MN_OK) return 1;
        }
        rate[1] = (double)count / (bench_thread_cpu_seconds() - start);
        mn_hnsw_bytes(old_path, &bytes[0]);
        mn_hnsw_bytes(in_place, &bytes[1]);
        for (int p = 0; p < 2; p++) {
            if (round == 1) first[p] = rate[p];
            last[p] = rate[p];
            rates[p][round - 1] = rate[p];
        }
        printf("%6u %14.0f %14llu %14.0f %14llu\n", round, rate[0], (unsigned long long)bytes[0], rate[1],
               (unsigned long long)bytes[1]);
    }
    printf("round %u / round 1: old path %.3f, in place %.3f; in place / old path, round %u: %.2fx\n", rounds,
           last[0] / first[0], last[1] / first[1], rounds, last[1] / last[0]);
    if (rounds >= 6) {
        /* One round is noisy on a shared machine: the median of the last three rounds over the
         * median of the first three as well. */
        double ratio[2];
        for (int p = 0; p < 2; p++) {
            double head[3] = {rates[p][0], rates[p][1], rates[p][2]};
            double tail[3] = {rates[p][rounds - 3], rates[p][rounds - 2], rates[p][rounds - 1]};
            qsort(head, 3, sizeof(double), compare_double);
            qsort(tail, 3, sizeof(double), compare_double);
            ratio[p] = tail[1] / head[1];
        }
        printf("median of rounds %u-%u / median of rounds 1-3: old path %.3f, in place %.3f\n", rounds - 2, rounds,
               ratio[0], ratio[1]);
    }
    free(rates[0]);
    free(rates[1]);
    if (params->metric == MN_METRIC_COSINE) {
        for (size_t i = 0; i < count; i++) {
            double norm = 0;
            for (uint32_t d = 0; d < dimension; d++) norm += (double)vectors[i * dimension + d] * vectors[i * dimension + d];
            for (uint32_t d = 0; d < dimension; d++) vectors[i * dimension + d] /= (float)sqrt(norm);
        }
    }
    mn_hnsw *fresh = NULL;
    if (mn_hnsw_create(params, &fresh) != MN_OK ||
        mn_hnsw_insert_batch(fresh, ids, vectors, count, dimension, 1, &failed) != MN_OK)
        return 1;
    printf("recall@%d ef 40 over the final vectors: old path %.4f, in place %.4f, fresh build %.4f\n", K,
           upsert_recall(old_path, params->metric, vectors, count, dimension, query, queries, (uint64_t)rounds * count),
           upsert_recall(in_place, params->metric, vectors, count, dimension, query, queries, 0),
           upsert_recall(fresh, params->metric, vectors, count, dimension, query, queries, 0));
    mn_hnsw_destroy(fresh);
    mn_hnsw_destroy(old_path);
    mn_hnsw_destroy(in_place);
    free(vectors);
    free(ids);
    return 0;
}

/* The filter of the filter mode: a row's attribute below a threshold (of 1,000). */
#define FILTER_MODULUS 1000u
#define SELECTIVITY_LIST_MAX 8

static uint32_t filter_attribute(uint64_t id) { return (uint32_t)((id * 7919u) % FILTER_MODULUS); }

static int filter_match(uint64_t id, void *context) {
    return filter_attribute(id) < *(const uint32_t *)context;
}

static uint32_t count_hits(const mn_hnsw_result *results, uint32_t found, const uint64_t *truth, uint32_t expected) {
    uint32_t hits = 0;
    for (uint32_t i = 0; i < found; i++)
        for (uint32_t j = 0; j < expected; j++)
            if (results[i].id == truth[j]) { hits++; break; }
    return hits;
}

static int filter_bench(mn_hnsw *index, mn_metric metric, const float *base, size_t count, uint32_t dimension,
                        const float *query, size_t queries, const double *selectivities, size_t selectivity_count,
                        const uint32_t *efs, size_t ef_count, uint32_t repeat, int json) {
    uint64_t *truth = malloc(queries * K * sizeof(uint64_t));
    uint32_t *expected = malloc(queries * sizeof(uint32_t));
    uint64_t *ids = malloc(count * sizeof(uint64_t));
    mn_hnsw_result results[K];
    if (!json)
        printf("%11s %6s %9s %8s %10s %11s %9s %9s\n", "selectivity", "ef", "strategy", "recall", "qps",
               "distances/q", "visited/q", "fallback");
    for (size_t s = 0; s < selectivity_count; s++) {
        uint32_t threshold = (uint32_t)(selectivities[s] * FILTER_MODULUS + 0.5);
        size_t matches = 0;
        for (size_t i = 0; i < count; i++)
            if (filter_attribute(i) < threshold) ids[matches++] = i;
        /* Exact filtered top K by brute force over the matching rows (the metric's own distance). */
        for (size_t q = 0; q < queries; q++) {
            float best[K];
            uint32_t n = 0;
            for (size_t m = 0; m < matches; m++) {
                float d;
                mn_distance(metric, query + q * dimension, base + ids[m] * dimension, dimension, &d);
                if (n == K && d >= best[K - 1]) continue;
                uint32_t j = n < K ? n++ : K - 1;
                while (j > 0 && best[j - 1] > d) best[j] = best[j - 1], truth[q * K + j] = truth[q * K + j - 1], j--;
                best[j] = d, truth[q * K + j] = ids[m];
            }
            expected[q] = n;
        }
        size_t expected_total = 0;
        for (size_t q = 0; q < queries; q++) expected_total += expected[q];
        for (size_t e = 0; e <= ef_count; e++) {
            const int exact = e == ef_count; /* the last row: the exact scan of the matching ids */
            double best = INFINITY;
            size_t hits = 0, distances = 0, fallbacks = 0, visited = 0;
            for (uint32_t pass = 0; pass < (repeat ? repeat : 1); pass++) {
                hits = distances = fallbacks = visited = 0;
                double start = bench_thread_cpu_seconds();
                for (size_t q = 0; q < queries; q++) {
                    uint32_t found = 0;
                    if (exact) {
                        if (mn_hnsw_search_ids(index, query + q * dimension, dimension, K, ids, matches, results,
                                               &found) != MN_OK)
                            return 1;
                        distances += matches;
                        visited += matches;
                    } else {
                        mn_hnsw_filter_stats stats;
                        if (mn_hnsw_search_filtered(index, query + q * dimension, dimension, K, efs[e], filter_match,
                                                    &threshold, results, &found, &stats) != MN_OK)
                            return 1;
                        distances += stats.distances;
                        fallbacks += stats.exact_fallback;
                        visited += stats.visited;
                    }
                    hits += count_hits(results, found, truth + q * K, expected[q]);
                }
                double elapsed = bench_thread_cpu_seconds() - start;
                if (elapsed < best) best = elapsed;
            }
            const double recall = expected_total ? (double)hits / (double)expected_total : 1.0;
            char ef_text[16];
            if (json) {
                /* The ef of the scan is null: it has no beam. */
                snprintf(ef_text, sizeof ef_text, exact ? "null" : "%u", exact ? 0 : efs[e]);
                printf("{\"bench\":\"filter\",\"selectivity\":%g,\"ef\":%s,\"strategy\":\"%s\",\"matches\":%zu,"
                       "\"recall\":%.4f,\"qps\":%.1f,\"distances_per_query\":%.1f,\"visited_per_query\":%.1f,"
                       "\"fallback_share\":%.4f}\n",
                       selectivities[s], ef_text, exact ? "exact" : "traversal", matches, recall,
                       (double)queries / best, (double)distances / (double)queries, (double)visited / (double)queries,
                       (double)fallbacks / (double)queries);
                continue;
            }
            snprintf(ef_text, sizeof ef_text, exact ? "-" : "%u", exact ? 0 : efs[e]);
            printf("%11.3f %6s %9s %8.4f %10.0f %11.0f %9.0f %8.0f%%\n", selectivities[s], ef_text,
                   exact ? "scan" : "traverse", recall, (double)queries / best, (double)distances / (double)queries,
                   (double)visited / (double)queries, 100.0 * (double)fallbacks / (double)queries);
        }
    }
    free(ids);
    free(expected);
    free(truth);
    return 0;
}

int main(int argc, char **argv) {
    const char *data_dir = "../shared/data";
    const char *set = "sift5k";
    uint32_t threads = 1, m = 16, ef_construction = 200, upsert = 0;
    size_t rows_limit = 0;
    int smoke = 0, json = 0;
    uint32_t efs[EF_LIST_MAX] = {10, 20, 40, 80, 160, 320};
    size_t ef_count = 6;
    uint32_t repeat = 1;
    double selectivities[SELECTIVITY_LIST_MAX];
    size_t selectivity_count = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke")) smoke = 1;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data_dir = argv[++i];
        else if (!strcmp(argv[i], "--set") && i + 1 < argc) set = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--m") && i + 1 < argc) m = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ef-construction") && i + 1 < argc) ef_construction = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--upsert-rounds") && i + 1 < argc) upsert = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc) rows_limit = (size_t)atoll(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--filter-selectivity") && i + 1 < argc) {
            for (char *item = strtok(argv[++i], ","); item && selectivity_count < SELECTIVITY_LIST_MAX;
                 item = strtok(NULL, ","))
                selectivities[selectivity_count++] = atof(item);
        } else if (!strcmp(argv[i], "--ef") && i + 1 < argc) {
            ef_count = 0;
            for (char *item = strtok(argv[++i], ","); item && ef_count < EF_LIST_MAX; item = strtok(NULL, ","))
                efs[ef_count++] = (uint32_t)atoi(item);
        } else {
            fprintf(stderr, "usage: %s [--smoke] [--data DIR] [--set NAME] [--threads N] [--m M] [--ef-construction E]"
                            " [--ef LIST] [--repeat R] [--upsert-rounds R] [--rows N] [--filter-selectivity LIST] [--json]\n",
                    argv[0]);
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
        base = bench_read_vecs(path, &dimension, &count);
        snprintf(path, sizeof path, "%s/%s_query.fvecs", data_dir, set);
        uint32_t qd = 0;
        query = bench_read_vecs(path, &qd, &queries);
        snprintf(path, sizeof path, "%s/%s_groundtruth.ivecs", data_dir, set);
        truth = bench_read_vecs(path, &gt_dimension, &gt_rows);
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
    if (upsert) {
        if (rows_limit && rows_limit < count) count = rows_limit;
        if (queries > 200) queries = 200;
        printf("bench_hnsw upsert: %s, %zu x %u, M %u, ef_construction %u, %u rounds%s\n", smoke ? "synthetic" : set,
               count, dimension, m, ef_construction, upsert, smoke ? " (smoke: figures not meaningful)" : "");
        int rc = upsert_rounds(&params, base, count, query, queries, upsert);
        free(base);
        free(query);
        free(truth);
        return rc;
    }
    /* The filter mode computes its own ground truth, so it can use the first N rows. */
    if (selectivity_count && rows_limit && rows_limit < count) count = rows_limit;
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
    if (json) {
        printf("{\"bench\":\"build\",\"set\":\"%s\",\"rows\":%zu,\"dimension\":%u,\"m\":%u,\"ef_construction\":%u,"
               "\"threads\":%u,\"kernels\":\"%s\",\"seconds\":%.3f,\"inserts_per_second\":%.1f}\n",
               smoke ? "synthetic" : set, count, dimension, m, ef_construction, threads, level_name, build,
               (double)count / build);
    } else {
        printf("bench_hnsw: %s, %zu x %u, M %u, ef_construction %u, %u threads, kernels %s%s\n",
               smoke ? "synthetic" : set, count, dimension, m, ef_construction, threads, level_name,
               smoke ? " (smoke: figures not meaningful)" : "");
        printf("build: %.2f s, %.0f inserts/s\n", build, (double)count / build);
    }
    fflush(stdout); /* a profiler driver waits for this line to start collecting */
    if (selectivity_count) {
        int rc = filter_bench(index, metric, base, count, dimension, query, queries, selectivities, selectivity_count,
                              efs, ef_count, repeat, json);
        free(ids);
        free(base);
        free(query);
        free(truth);
        mn_hnsw_destroy(index);
        return rc;
    }
    if (!json) printf("%6s %8s %10s %9s %9s\n", "ef", "recall", "qps", "p50_us", "p99_us");
    double *latency = malloc(queries * sizeof(double));
    double *best_latency = malloc(queries * sizeof(double));
    mn_hnsw_result results[K];
    for (size_t e = 0; e < ef_count; e++) {
        size_t hits = 0;
        double best = INFINITY;
        for (uint32_t pass = 0; pass < (repeat ? repeat : 1); pass++) {
            hits = 0;
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
            if (elapsed < best) {
                best = elapsed;
                memcpy(best_latency, latency, queries * sizeof(double));
            }
        }
        qsort(best_latency, queries, sizeof(double), compare_double);
        const double recall = truth ? (double)hits / (queries * K) : NAN;
        if (json) {
            /* JSON has no NaN: the smoke run, without ground truth, writes null. */
            char recall_text[32];
            snprintf(recall_text, sizeof recall_text, truth ? "%.4f" : "null", recall);
            printf("{\"bench\":\"search\",\"ef\":%u,\"recall\":%s,\"qps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
                   efs[e], recall_text, (double)queries / best, best_latency[queries / 2],
                   best_latency[(queries * 99) / 100]);
        } else {
            printf("%6u %8.4f %10.0f %9.1f %9.1f\n", efs[e], recall, (double)queries / best, best_latency[queries / 2],
                   best_latency[(queries * 99) / 100]);
        }
    }
    free(best_latency);
    free(latency);
    if (smoke) {
        /* The filter mode too, briefly, so the smoke test runs its code, and its JSON rows (what
         * bench/peers/filtered.py parses) for one selectivity. */
        const double smoke_selectivities[2] = {0.1, 0.01};
        const uint32_t smoke_efs[1] = {20};
        if (filter_bench(index, metric, base, count, dimension, query, queries, smoke_selectivities, 2, smoke_efs, 1,
                         1, json) != 0 ||
            filter_bench(index, metric, base, count, dimension, query, queries, smoke_selectivities + 1, 1, smoke_efs,
                         1, 1, 1) != 0)
            return 1;
    }
    free(ids);
    free(base);
    free(query);
    free(truth);
    mn_hnsw_destroy(index);
    return 0;
}
