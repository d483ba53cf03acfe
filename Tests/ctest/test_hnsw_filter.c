/*
 * test_hnsw_filter.c: proves the filtered search of the HNSW index (mn_hnsw_search_filtered)
 * and the exact search over given ids (mn_hnsw_search_ids).
 *
 * - Every id the filtered search returns matches the filter, results are sorted, and the
 *   search returns min(k, matches) results; a filter matching nothing returns none (through
 *   the exact fallback), one matching everything finds what the unfiltered search finds.
 * - Recall@10 against the exact filtered top 10 (brute force in this test) is at least 0.95 at
 *   ef FILTER_EF for selectivities 50%, 10%, 1% and 0.1% on synthetic data and on sift5k (L2)
 *   and the first WORDNET_ROWS rows of wordnet384 (cosine); under inner product on uniform
 *   random vectors, where the unfiltered search itself reaches about 0.74, no lower than the
 *   unfiltered recall minus 0.02. Each base row i gets the attribute
 *   (i * 7919) mod 1000 (a bijection on every run of 1,000 ids), so a filter "attribute <
 *   1000 * s" selects exactly the fraction s. The real-data part is skipped without
 *   ../shared/data (or MNEMO_DATA), except under CI=true where it must run.
 * - mn_hnsw_search_ids equals brute force over the given ids exactly (ids and distances, ties
 *   by id), skipping absent, removed and repeated ids; bad arguments are refused. So does
 *   mn_hnsw_search_id_bitmap over the same set as a bitmap, through both of its walks (the id
 *   lookups and the walk of every slot, each forced by its member hint), and mn_hnsw_search_located
 *   over the set located once (mn_hnsw_locate), also with stale pairs that must be looked up again,
 *   and mn_hnsw_search_codes over the compact codes of that set (mn_hnsw_codes_build): read from
 *   the codes while no vector changed, over the pairs after an update or a remove, bit for bit
 *   the brute-force results either way; also on near-duplicate vectors that one byte per
 *   dimension cannot tell apart (test_codes_ties), where only the error bounds keep it exact.
 */
#include <stdio.h>

#include "mnemo/mn_hnsw.h"
#include "mn_test.h"
#include "mn_test_data.h"

#define K 10
#define FILTER_EF 64
#define DIM 24
#define COUNT 3000
#define QUERIES 50
#ifndef WORDNET_ROWS
#define WORDNET_ROWS 10000
#endif
#define WORDNET_QUERIES 200
#define WORDNET_EF_CONSTRUCTION 100
#define ATTRIBUTE_MODULUS 1000u
#define RECALL_MIN 0.95

static const uint32_t thresholds[] = {500, 100, 10, 1}; /* 50%, 10%, 1%, 0.1% */
#define SELECTIVITIES (sizeof thresholds / sizeof thresholds[0])

static uint32_t attribute_of(uint64_t id) { return (uint32_t)((id * 7919u) % ATTRIBUTE_MODULUS); }

typedef struct filter_context {
    uint32_t threshold;
    uint64_t calls;
} filter_context;

static int match_below(uint64_t id, void *context) {
    filter_context *filter = context;
    filter->calls++;
    return attribute_of(id) < filter->threshold;
}

static int match_none(uint64_t id, void *context) {
    (void)id;
    (void)context;
    return 0;
}

static int match_all(uint64_t id, void *context) {
    (void)id;
    (void)context;
    return 1;
}

/* Builds an index from `data` in one batch on one thread (the same graph every run). */
static mn_hnsw *build(const mn_hnsw_params *params, const float *data, size_t count) {
    mn_hnsw *index = NULL;
    CHECK_STATUS(mn_hnsw_create(params, &index), MN_OK);
    uint64_t *ids = malloc(count * sizeof(uint64_t));
    for (size_t i = 0; i < count; i++) ids[i] = i;
    size_t failed = 0;
    CHECK_STATUS(mn_hnsw_insert_batch(index, ids, data, count, params->dimension, 1, &failed), MN_OK);
    free(ids);
    return index;
}

/* The search's view of `query`: unit-normalised for cosine exactly as the index does it. */
static void search_vector(mn_metric metric, const float *query, uint32_t dim, float *out) {
    if (metric != MN_METRIC_COSINE) {
        memcpy(out, query, dim * sizeof(float));
        return;
    }
    double norm = 0.0;
    for (uint32_t d = 0; d < dim; d++) norm += (double)query[d] * (double)query[d];
    float scale = (float)(1.0 / sqrt(norm));
    for (uint32_t d = 0; d < dim; d++) out[d] = query[d] * scale;
}

/*
 * Filtered recall of `index` over `data` (row i = id i; normalised already for cosine) at each
 * selectivity; checks every result matches and the result count. Returns the worst recall.
 */
static double filtered_recall(mn_hnsw *index, mn_metric metric, const float *data, size_t count, uint32_t dim,
                              const float *queries, size_t queries_count, const char *name) {
    double worst = 1.0;
    double plain = 0;
    {
        mn_hnsw_result results[K];
        uint64_t truth[K], found_ids[K];
        for (size_t q = 0; q < queries_count; q++) {
            uint32_t n = 0;
            CHECK_STATUS(mn_hnsw_search(index, queries + q * dim, dim, K, FILTER_EF, results, &n), MN_OK);
            for (uint32_t i = 0; i < n; i++) found_ids[i] = results[i].id;
            float query[MN_DIMENSION_MAX];
            search_vector(metric, queries + q * dim, dim, query);
            mn_test_brute_force(metric == MN_METRIC_COSINE ? MN_METRIC_IP : metric, data, count, dim, query, K,
                                NULL, truth);
            plain += mn_test_overlap(truth, found_ids, n, K);
        }
        printf("%s: unfiltered recall@%d at ef %d: %.4f\n", name, K, FILTER_EF, plain / (double)queries_count);
    }
    unsigned char *excluded = malloc(count);
    mn_hnsw_result results[K];
    uint64_t truth[K], found_ids[K];
    for (size_t s = 0; s < SELECTIVITIES; s++) {
        filter_context filter = {thresholds[s], 0};
        size_t matches = 0;
        for (size_t i = 0; i < count; i++) {
            excluded[i] = attribute_of(i) >= filter.threshold;
            matches += !excluded[i];
        }
        const uint32_t expected = matches < K ? (uint32_t)matches : K;
        double total = 0;
        uint64_t fallbacks = 0, two_hop = 0, distances = 0;
        int bad_match = 0, bad_count = 0, unsorted = 0;
        for (size_t q = 0; q < queries_count; q++) {
            uint32_t n = 0;
            mn_hnsw_filter_stats stats;
            CHECK_STATUS(mn_hnsw_search_filtered(index, queries + q * dim, dim, K, FILTER_EF, match_below, &filter,
                                                 results, &n, &stats),
                         MN_OK);
            bad_count += n != expected;
            for (uint32_t i = 0; i < n; i++) {
                bad_match += results[i].id >= count || excluded[results[i].id];
                unsorted += i > 0 && results[i].distance < results[i - 1].distance;
                found_ids[i] = results[i].id;
            }
            fallbacks += stats.exact_fallback;
            two_hop += stats.two_hop;
            distances += stats.distances;
            float query[MN_DIMENSION_MAX];
            search_vector(metric, queries + q * dim, dim, query);
            mn_test_brute_force(metric == MN_METRIC_COSINE ? MN_METRIC_IP : metric, data, count, dim, query, K,
                                excluded, truth);
            total += expected ? mn_test_overlap(truth, found_ids, n, expected) : 1.0;
        }
        double recall = total / (double)queries_count;
        printf("%s: selectivity %.3f (%zu matches), ef %d: recall@%d %.4f, %.0f distances/query, two-hop %.1f/query, "
               "exact fallback %llu/%zu\n",
               name, (double)filter.threshold / ATTRIBUTE_MODULUS, matches, FILTER_EF, K, recall,
               (double)distances / (double)queries_count, (double)two_hop / (double)queries_count,
               (unsigned long long)fallbacks, queries_count);
        CHECK(bad_match == 0, "%s selectivity %u: %d non-matching results", name, filter.threshold, bad_match);
        CHECK(bad_count == 0, "%s selectivity %u: %d queries without %u results", name, filter.threshold, bad_count,
              expected);
        CHECK(unsorted == 0, "%s selectivity %u: %d results out of order", name, filter.threshold, unsorted);
        /* Inner product on uniform random vectors is hard for HNSW itself (the unfiltered search
         * misses a quarter at this ef): there the filter must cost no recall instead. */
        const double floor = metric == MN_METRIC_IP && plain / (double)queries_count - 0.02 < RECALL_MIN
                                 ? plain / (double)queries_count - 0.02
                                 : RECALL_MIN;
        CHECK(recall >= floor, "%s selectivity %u: recall %.4f < %.4f", name, filter.threshold, recall, floor);
        if (recall < worst) worst = recall;
    }
    free(excluded);
    return worst;
}

/* The exact top k of `ids` by brute force over the index's stored vectors, ties by id. */
static uint32_t brute_ids(mn_hnsw *index, mn_metric metric, const float *query, uint32_t dim, const uint64_t *ids,
                          size_t count, uint32_t k, mn_hnsw_result *out) {
    float normalized[MN_DIMENSION_MAX], stored[MN_DIMENSION_MAX];
    search_vector(metric, query, dim, normalized);
    mn_hnsw_result *all = malloc((count + 1) * sizeof(mn_hnsw_result));
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        int repeated = 0;
        for (size_t j = 0; j < i; j++) repeated |= ids[j] == ids[i];
        if (repeated || mn_hnsw_get(index, ids[i], stored, dim) != MN_OK) continue;
        float d;
        mn_distance(metric == MN_METRIC_COSINE ? MN_METRIC_IP : metric, normalized, stored, dim, &d);
        /* Insertion by (distance, id). */
        size_t j = n++;
        while (j > 0 && (all[j - 1].distance > d || (all[j - 1].distance == d && all[j - 1].id > ids[i]))) {
            all[j] = all[j - 1];
            j--;
        }
        all[j] = (mn_hnsw_result){ids[i], d};
    }
    uint32_t taken = n < k ? (uint32_t)n : k;
    memcpy(out, all, taken * sizeof(mn_hnsw_result));
    free(all);
    return taken;
}

/* One code search against brute force over `ids`: equal results, and whether it read the codes. */
static int codes_agree(mn_hnsw *index, mn_metric metric, const float *query, uint32_t dim, uint32_t k,
                       const mn_hnsw_codes *codes, const uint64_t *ids, size_t count, int *coded) {
    mn_hnsw_result got[K], want[K];
    uint32_t found = 0;
    CHECK_STATUS(mn_hnsw_search_codes(index, query, dim, k, codes, got, &found, coded), MN_OK);
    uint32_t expected = brute_ids(index, metric, query, dim, ids, count, k, want);
    int equal = found == expected;
    for (uint32_t i = 0; equal && i < found; i++) equal = got[i].id == want[i].id && got[i].distance == want[i].distance;
    return equal;
}

/* Codes after a change: an update of one of their vectors and a removal each make the next
 * search run over the pairs (coded 0) with the new truth; codes built again read as codes. */
static void check_codes_stale(mn_hnsw *index, mn_metric metric, size_t count, uint32_t dim, const float *queries,
                              const char *name) {
    enum { SET = 64 };
    uint64_t ids[SET];
    uint64_t words[(SET * 4 + 63) / 64] = {0};
    size_t n = 0;
    for (uint64_t id = 0; id < SET * 4 && id < count; id += 4) {
        int here = 0;
        CHECK_STATUS(mn_hnsw_contains(index, id, &here), MN_OK);
        if (!here) continue;
        ids[n++] = id;
        words[id / 64] |= 1ull << (id % 64);
    }
    mn_hnsw_located located[SET];
    size_t located_count = 0;
    CHECK_STATUS(mn_hnsw_locate(index, words, SET * 4, located, SET, &located_count), MN_OK);
    mn_hnsw_codes *codes = NULL;
    CHECK_STATUS(mn_hnsw_codes_build(index, located, located_count, &codes), MN_OK);
    int coded = 0;
    CHECK(codes_agree(index, metric, queries, dim, K, codes, ids, n, &coded) && coded, "%s: fresh codes", name);
    /* The first id moves onto the query itself: it must come first, and the codes cannot know. */
    CHECK_STATUS(mn_hnsw_update(index, ids[0], queries, dim), MN_OK);
    CHECK(codes_agree(index, metric, queries, dim, K, codes, ids, n, &coded) && !coded,
          "%s: codes after an update: equal to brute force over the pairs, coded %d", name, coded);
    mn_hnsw_codes_free(codes);
    CHECK_STATUS(mn_hnsw_codes_build(index, located, located_count, &codes), MN_OK);
    CHECK(codes_agree(index, metric, queries, dim, K, codes, ids, n, &coded) && coded, "%s: codes rebuilt", name);
    CHECK_STATUS(mn_hnsw_remove(index, ids[0]), MN_OK);
    CHECK(codes_agree(index, metric, queries, dim, K, codes, ids, n, &coded) && !coded,
          "%s: codes after a remove, coded %d", name, coded);
    mn_hnsw_codes_free(codes);
    /* Built without the removed id; none at all; bad arguments. */
    CHECK_STATUS(mn_hnsw_codes_build(index, located, located_count, &codes), MN_OK);
    CHECK(codes_agree(index, metric, queries, dim, 3, codes, ids, n, &coded) && coded, "%s: codes without it", name);
    mn_hnsw_result got[K];
    uint32_t found = 9;
    CHECK_STATUS(mn_hnsw_search_codes(index, queries, dim, K, NULL, got, &found, &coded), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_search_codes(index, queries, dim, K, codes, got, &found, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_search_codes(index, queries, dim, 0, codes, got, &found, &coded), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_search_codes(index, queries, dim + 1, K, codes, got, &found, &coded), MN_ERR_DIMENSION);
    mn_hnsw_codes_free(codes);
    CHECK_STATUS(mn_hnsw_codes_build(index, located, 0, &codes), MN_OK);
    CHECK_STATUS(mn_hnsw_search_codes(index, queries, dim, K, codes, got, &found, &coded), MN_OK);
    CHECK(found == 0 && coded, "%s: %u results from empty codes", name, found);
    mn_hnsw_codes_free(codes);
    CHECK_STATUS(mn_hnsw_codes_build(index, NULL, 1, &codes), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_codes_build(NULL, located, 1, &codes), MN_ERR_INVALID);
    mn_hnsw_codes_free(NULL);
}

/* Ties the codes cannot break, two kinds. Near-duplicates: groups of vectors a few units in
 * the last place apart (one byte per dimension gives them all the same codes) and exact copies,
 * queries on and off the groups. Rotations (`integral`): every vector a rotation of one list of
 * integers that spans 0..255, so each dimension's step is exactly 1 and its rounding error 0,
 * searched with constant queries: all rotations are at the same distance, and their float sums
 * differ only in rounding, which the bound must cover on its own. Either way the k-th place
 * falls inside a tie, and the whole tie must reach the exact scores. */
static void test_codes_ties(mn_metric metric, int integral) {
    enum { GROUPS = 30, COPIES = 12, N = GROUPS * COPIES, TIE_QUERIES = 40 };
    mn_test_rng rng = {0x7135 + (uint64_t)metric};
    float *centres = mn_test_vectors(&rng, GROUPS, DIM);
    float *queries = mn_test_vectors(&rng, TIE_QUERIES, DIM);
    float *data = malloc((size_t)N * DIM * sizeof(float));
    for (size_t g = 0; g < GROUPS; g++)
        for (size_t c = 0; c < COPIES; c++)
            for (size_t d = 0; d < DIM; d++) {
                float x = centres[g * DIM + d];
                for (size_t u = 0; u < (c % 4) * ((g + d) % 3); u++) x = nextafterf(x, INFINITY);
                if (integral) x = (float)(((g * COPIES + c + d) % DIM) * 255 / (DIM - 1));
                data[(g * COPIES + c) * DIM + d] = x;
            }
    for (size_t q = 0; q < TIE_QUERIES; q++) { /* half the queries sit on a group */
        if (integral)
            for (size_t d = 0; d < DIM; d++) queries[q * DIM + d] = 3.3f + 7.1f * (float)q;
        else if (q % 2 == 0)
            memcpy(queries + q * DIM, centres + (q % GROUPS) * DIM, DIM * sizeof(float));
    }
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, metric, &params);
    mn_hnsw *index = build(&params, data, N);
    uint64_t ids[N];
    uint64_t words[(N + 63) / 64] = {0};
    for (uint64_t i = 0; i < N; i++) {
        ids[i] = i;
        words[i / 64] |= 1ull << (i % 64);
    }
    mn_hnsw_located located[N];
    size_t located_count = 0;
    CHECK_STATUS(mn_hnsw_locate(index, words, N, located, N, &located_count), MN_OK);
    mn_hnsw_codes *codes = NULL;
    CHECK_STATUS(mn_hnsw_codes_build(index, located, located_count, &codes), MN_OK);
    int wrong = 0, uncoded = 0;
    const uint32_t ks[3] = {1, 5, K};
    for (size_t q = 0; q < TIE_QUERIES; q++)
        for (int j = 0; j < 3; j++) {
            int coded = 0;
            wrong += !codes_agree(index, metric, queries + q * DIM, DIM, ks[j], codes, ids, N, &coded);
            uncoded += !coded;
        }
    CHECK(wrong == 0 && uncoded == 0, "codes ties metric %d%s: %d searches differ from brute force, %d not coded",
          (int)metric, integral ? " (rotations)" : "", wrong, uncoded);
    mn_hnsw_codes_free(codes);
    mn_hnsw_destroy(index);
    free(data);
    free(centres);
    free(queries);
}

/* mn_hnsw_search_ids against brute force over the matching set of each selectivity, with
 * absent, removed and repeated ids mixed in. Removes (and leaves removed) id `count - 1`. */
static void check_search_ids(mn_hnsw *index, mn_metric metric, size_t count, uint32_t dim, const float *queries,
                             size_t queries_count, const char *name) {
    uint64_t removed = count - 1;
    uint32_t found_none = 99;
    int present = 0;
    CHECK_STATUS(mn_hnsw_contains(index, removed, &present), MN_OK);
    if (present) CHECK_STATUS(mn_hnsw_remove(index, removed), MN_OK);
    uint64_t *ids = malloc((count + 8) * sizeof(uint64_t));
    mn_hnsw_result got[K], want[K];
    int mismatches = 0, bitmap_mismatches = 0, located_mismatches = 0, coded_mismatches = 0, uncoded = 0;
    for (size_t s = 0; s < SELECTIVITIES; s++) {
        size_t n = 0;
        for (size_t i = 0; i < count; i++)
            if (attribute_of(i) < thresholds[s]) ids[n++] = i;
        ids[n++] = count + 12345; /* absent */
        ids[n++] = removed;
        if (n > 2) ids[n++] = ids[0]; /* repeated */
        /* The same set as a bitmap (the absent id and the removed one set too). */
        uint64_t bits = count + 12346, members = 0;
        uint64_t *words = calloc((size_t)(bits + 63) / 64, sizeof(uint64_t));
        for (size_t i = 0; i < n; i++) {
            if (!((words[ids[i] / 64] >> (ids[i] % 64)) & 1u)) members++;
            words[ids[i] / 64] |= 1ull << (ids[i] % 64);
        }
        /* The same set located once: every present id (not the absent or removed ones), in slot
         * order; then a copy whose first pair names a slot that holds another id and an extra
         * pair for the absent id at slot 0 (stale pairs: looked up again, never scored). */
        mn_hnsw_located *located = malloc((n + 1) * sizeof(*located));
        size_t located_count = 0;
        CHECK_STATUS(mn_hnsw_locate(index, words, bits, located, n + 1, &located_count), MN_OK);
        uint64_t present_members = 0;
        for (uint64_t id = 0; id < bits; id++) {
            int here = 0;
            if ((words[id / 64] >> (id % 64)) & 1u) CHECK_STATUS(mn_hnsw_contains(index, id, &here), MN_OK);
            present_members += (uint64_t)here;
        }
        CHECK(located_count == present_members, "%s: located %zu of %llu present ids", name, located_count,
              (unsigned long long)present_members);
        for (size_t i = 1; i < located_count; i++) CHECK(located[i - 1].slot < located[i].slot, "%s: slot order", name);
        if (located_count > 1) {
            size_t few = 0;
            CHECK_STATUS(mn_hnsw_locate(index, words, bits, located, 1, &few), MN_ERR_TOO_LARGE);
            CHECK_STATUS(mn_hnsw_locate(index, words, bits, located, n + 1, &located_count), MN_OK);
        }
        mn_hnsw_codes *codes = NULL;
        CHECK_STATUS(mn_hnsw_codes_build(index, located, located_count, &codes), MN_OK);
        mn_hnsw_located *stale = malloc((located_count + 1) * sizeof(*stale));
        memcpy(stale, located, located_count * sizeof(*stale));
        if (located_count > 1) stale[0].slot = located[located_count - 1].slot;
        stale[located_count] = (mn_hnsw_located){count + 12345, 0, 0};
        for (size_t q = 0; q < queries_count; q++) {
            uint32_t found = 0;
            CHECK_STATUS(mn_hnsw_search_ids(index, queries + q * dim, dim, K, ids, n, got, &found), MN_OK);
            uint32_t expected = brute_ids(index, metric, queries + q * dim, dim, ids, n, K, want);
            int same = found == expected;
            for (uint32_t i = 0; same && i < found; i++)
                same = got[i].id == want[i].id && got[i].distance == want[i].distance;
            mismatches += !same;
            /* mn_hnsw_search_id_bitmap, by its own choice of walk and forced into each: the
             * id lookups (a hint of one member) and the walk of every slot (a hint of all). */
            const uint64_t hints[3] = {members, 1, UINT32_MAX};
            for (int h = 0; h < 3; h++) {
                mn_hnsw_result again[K];
                uint32_t found_again = 0;
                CHECK_STATUS(mn_hnsw_search_id_bitmap(index, queries + q * dim, dim, K, words, bits, hints[h], again,
                                                      &found_again),
                             MN_OK);
                int equal = found_again == expected;
                for (uint32_t i = 0; equal && i < found_again; i++)
                    equal = again[i].id == want[i].id && again[i].distance == want[i].distance;
                bitmap_mismatches += !equal;
            }
            const mn_hnsw_located *lists[2] = {located, stale};
            const size_t lengths[2] = {located_count, located_count + 1};
            for (int l = 0; l < 2; l++) {
                mn_hnsw_result again[K];
                uint32_t found_again = 0;
                CHECK_STATUS(mn_hnsw_search_located(index, queries + q * dim, dim, K, lists[l], lengths[l], again,
                                                    &found_again),
                             MN_OK);
                int equal = found_again == expected;
                for (uint32_t i = 0; equal && i < found_again; i++)
                    equal = again[i].id == want[i].id && again[i].distance == want[i].distance;
                located_mismatches += !equal;
            }
            mn_hnsw_result coded_results[K];
            uint32_t found_coded = 0;
            int coded = 0;
            CHECK_STATUS(mn_hnsw_search_codes(index, queries + q * dim, dim, K, codes, coded_results, &found_coded,
                                              &coded),
                         MN_OK);
            int equal = found_coded == expected;
            for (uint32_t i = 0; equal && i < found_coded; i++)
                equal = coded_results[i].id == want[i].id && coded_results[i].distance == want[i].distance;
            coded_mismatches += !equal;
            uncoded += !coded;
        }
        mn_hnsw_codes_free(codes);
        free(located);
        free(stale);
        free(words);
    }
    CHECK(mismatches == 0, "%s: search_ids differs from brute force on %d queries", name, mismatches);
    CHECK(bitmap_mismatches == 0, "%s: search_id_bitmap differs from brute force on %d searches", name,
          bitmap_mismatches);
    CHECK(located_mismatches == 0, "%s: search_located differs from brute force on %d searches", name,
          located_mismatches);
    CHECK(coded_mismatches == 0 && uncoded == 0, "%s: search_codes differs from brute force on %d searches, "
          "did not read the codes on %d", name, coded_mismatches, uncoded);
    check_codes_stale(index, metric, count, dim, queries, name);
    CHECK_STATUS(mn_hnsw_search_located(index, queries, dim, K, NULL, 1, got, &found_none), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_search_located(index, queries, dim, K, NULL, 0, got, &found_none), MN_OK);
    CHECK(found_none == 0, "%s: %u results for no located ids", name, found_none);
    /* k larger than the set, an empty set. */
    uint32_t found = 99;
    ids[0] = 3, ids[1] = 1, ids[2] = removed;
    CHECK_STATUS(mn_hnsw_search_ids(index, queries, dim, K, ids, 3, got, &found), MN_OK);
    CHECK(found == 2 && got[0].distance <= got[1].distance, "%s: %u results for two live ids", name, found);
    CHECK_STATUS(mn_hnsw_search_ids(index, queries, dim, K, NULL, 0, got, &found), MN_OK);
    CHECK(found == 0, "%s: %u results for no ids", name, found);
    uint64_t word = 0;
    CHECK_STATUS(mn_hnsw_search_id_bitmap(index, queries, dim, K, &word, 64, 0, got, &found), MN_OK);
    CHECK(found == 0, "%s: %u results for an empty bitmap", name, found);
    CHECK_STATUS(mn_hnsw_search_id_bitmap(index, queries, dim, K, NULL, 0, 5, got, &found), MN_OK);
    CHECK(found == 0, "%s: %u results for a bitmap of no bits", name, found);
    CHECK_STATUS(mn_hnsw_search_id_bitmap(index, queries, dim, K, NULL, 64, 1, got, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_search_id_bitmap(index, queries, dim, 0, &word, 64, 1, got, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_search_id_bitmap(index, queries, dim + 1, K, &word, 64, 1, got, &found), MN_ERR_DIMENSION);
    free(ids);
}

static void test_synthetic(mn_metric metric) {
    mn_test_rng rng = {0xf11 + (uint64_t)metric};
    float *data = mn_test_vectors(&rng, COUNT, DIM);
    float *queries = mn_test_vectors(&rng, QUERIES, DIM);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, metric, &params);
    params.ef_construction = 100;
    mn_hnsw *index = build(&params, data, COUNT);
    if (metric == MN_METRIC_COSINE) mn_test_normalize(data, COUNT, DIM);
    char name[32];
    snprintf(name, sizeof name, "synthetic metric %d", (int)metric);
    filtered_recall(index, metric, data, COUNT, DIM, queries, QUERIES, name);

    /* Nothing matches: no result, through the exact fallback over every node. */
    mn_hnsw_result results[K], plain[K];
    uint32_t found = 99;
    mn_hnsw_filter_stats stats;
    CHECK_STATUS(mn_hnsw_search_filtered(index, queries, DIM, K, FILTER_EF, match_none, NULL, results, &found, &stats),
                 MN_OK);
    CHECK(found == 0 && stats.exact_fallback == 1 && stats.matches == 0, "%s: match-none gave %u results", name,
          found);
    CHECK(stats.filter_calls == COUNT, "%s: match-none called the filter %llu times, not once per node", name,
          (unsigned long long)stats.filter_calls);
    /* Everything matches: the same ids as the unfiltered search, mostly (different beams). */
    double overlap = 0;
    for (size_t q = 0; q < QUERIES; q++) {
        uint32_t n = 0, m = 0;
        uint64_t a[K], b[K];
        CHECK_STATUS(mn_hnsw_search_filtered(index, queries + q * DIM, DIM, K, FILTER_EF, match_all, NULL, results, &n,
                                             &stats),
                     MN_OK);
        CHECK_STATUS(mn_hnsw_search(index, queries + q * DIM, DIM, K, FILTER_EF, plain, &m), MN_OK);
        CHECK(n == K && m == K && stats.two_hop == 0 && stats.exact_fallback == 0, "%s: match-all %u results", name, n);
        for (uint32_t i = 0; i < K; i++) a[i] = results[i].id, b[i] = plain[i].id;
        overlap += mn_test_overlap(b, a, n, K);
    }
    CHECK(overlap / QUERIES >= 0.97, "%s: match-all overlaps the unfiltered search by %.3f", name, overlap / QUERIES);

    /* Removed ids are never returned, even by the fallback scan. */
    filter_context filter = {10, 0};
    for (uint64_t i = 0; i < COUNT; i++)
        if (attribute_of(i) < filter.threshold && i % 2 == 0) CHECK_STATUS(mn_hnsw_remove(index, i), MN_OK);
    int returned_removed = 0;
    for (size_t q = 0; q < QUERIES; q++) {
        uint32_t n = 0;
        CHECK_STATUS(mn_hnsw_search_filtered(index, queries + q * DIM, DIM, K, FILTER_EF, match_below, &filter, results,
                                             &n, &stats),
                     MN_OK);
        CHECK(n == K, "%s: %u results with %d live matches", name, n, COUNT / 200);
        for (uint32_t i = 0; i < n; i++) returned_removed += results[i].id % 2 == 0;
    }
    CHECK(returned_removed == 0, "%s: %d removed ids returned", name, returned_removed);

    check_search_ids(index, metric, COUNT, DIM, queries, 10, name);

    /* Bad arguments. */
    CHECK_STATUS(mn_hnsw_search_filtered(index, queries, DIM, K, FILTER_EF, NULL, NULL, results, &found, NULL),
                 MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_search_filtered(index, queries, DIM, 0, FILTER_EF, match_all, NULL, results, &found, NULL),
                 MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_search_filtered(index, queries, DIM - 1, K, FILTER_EF, match_all, NULL, results, &found, NULL),
                 MN_ERR_DIMENSION);
    CHECK_STATUS(mn_hnsw_search_filtered(index, queries, DIM, K, MN_HNSW_EF_MAX + 1, match_all, NULL, results, &found,
                                         NULL),
                 MN_ERR_INVALID);
    uint64_t one = 1;
    CHECK_STATUS(mn_hnsw_search_ids(index, queries, DIM, K, NULL, 1, results, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_search_ids(index, queries, DIM, 0, &one, 1, results, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_search_ids(index, queries, DIM + 1, K, &one, 1, results, &found), MN_ERR_DIMENSION);
    float nan_query[DIM];
    memcpy(nan_query, queries, sizeof nan_query);
    nan_query[3] = NAN;
    CHECK_STATUS(mn_hnsw_search_ids(index, nan_query, DIM, K, &one, 1, results, &found), MN_ERR_NON_FINITE);
    CHECK_STATUS(mn_hnsw_search_filtered(index, nan_query, DIM, K, FILTER_EF, match_all, NULL, results, &found, NULL),
                 MN_ERR_NON_FINITE);
    mn_hnsw_destroy(index);

    /* An empty index: no result, no error. */
    CHECK_STATUS(mn_hnsw_create(&params, &index), MN_OK);
    CHECK_STATUS(mn_hnsw_search_filtered(index, queries, DIM, K, FILTER_EF, match_all, NULL, results, &found, &stats),
                 MN_OK);
    CHECK(found == 0, "%s: %u results from an empty index", name, found);
    mn_hnsw_destroy(index);
    free(data);
    free(queries);
}

static void test_real(const char *set, mn_metric metric, size_t rows, size_t queries_max, uint32_t ef_construction) {
    mn_test_set data;
    if (!mn_test_set_load(set, rows, queries_max, &data)) return;
    float *base = data.base, *queries = data.queries;
    size_t count = data.count, queries_count = data.queries_count;
    uint32_t dim = data.dim;
    mn_hnsw_params params;
    mn_hnsw_params_default(dim, metric, &params);
    params.ef_construction = ef_construction;
    mn_hnsw *index = build(&params, base, count);
    if (metric == MN_METRIC_COSINE) mn_test_normalize(base, count, dim);
    filtered_recall(index, metric, base, count, dim, queries, queries_count, set);
    check_search_ids(index, metric, count, dim, queries, 20, set);
    mn_hnsw_destroy(index);
    mn_test_set_free(&data);
}

int main(void) {
    test_synthetic(MN_METRIC_L2);
    test_synthetic(MN_METRIC_IP);
    test_synthetic(MN_METRIC_COSINE);
    for (int integral = 0; integral < 2; integral++) {
        test_codes_ties(MN_METRIC_L2, integral);
        test_codes_ties(MN_METRIC_IP, integral);
        test_codes_ties(MN_METRIC_COSINE, integral);
    }
    test_real("sift5k", MN_METRIC_L2, 0, 100, 200);
    test_real("wordnet384", MN_METRIC_COSINE, WORDNET_ROWS, WORDNET_QUERIES, WORDNET_EF_CONSTRUCTION);
    return mn_test_finish("test_hnsw_filter");
}
