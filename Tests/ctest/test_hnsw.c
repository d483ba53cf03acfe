/*
 * test_hnsw.c: proves the HNSW index's single-threaded contract.
 *
 * - Recall against a brute-force oracle on clustered data for all three metrics (the graph is
 *   built partly by two threads, so the bars leave room for run-to-run variation), results
 *   sorted ascending and distances equal to the metric's.
 * - Batch inserts are all-or-nothing: a NaN, a wrong dimension or a duplicate id (in the batch
 *   or already present) rejects the batch, names the offender and changes nothing.
 * - Every bad input returns its status and leaves the index unchanged.
 * - Removed vectors never appear in results; their slots are reused (bytes stop growing);
 *   recall holds after remove-and-reinsert.
 * - Save/load round-trips exactly: the same results, bit for bit, for every query.
 */
#include "mnemo/mn_hnsw.h"
#include "mn_test.h"

#define DIM 24
#define COUNT 3000
#define QUERIES 100
#define K 10

static double recall_of(mn_hnsw *index, mn_metric metric, const float *data, size_t count,
                        const float *queries, const unsigned char *removed, uint32_t ef) {
    double total = 0;
    mn_hnsw_result results[K];
    uint64_t truth[K], found[K];
    for (int q = 0; q < QUERIES; q++) {
        uint32_t n = 0;
        CHECK_STATUS(mn_hnsw_search(index, queries + q * DIM, DIM, K, ef, results, &n), MN_OK);
        for (uint32_t i = 0; i < n; i++) {
            found[i] = results[i].id;
            if (i > 0) CHECK(results[i - 1].distance <= results[i].distance, "sorted at %u", i);
            if (removed) CHECK(!removed[results[i].id], "removed id %llu returned", (unsigned long long)results[i].id);
        }
        mn_test_brute_force(metric, data, count, DIM, queries + q * DIM, K, removed, truth);
        total += mn_test_overlap(truth, found, n, K);
    }
    return total / QUERIES;
}

static void test_recall_and_roundtrip(mn_metric metric) {
    mn_test_rng rng = {0x1234 + (uint64_t)metric};
    float *data = mn_test_vectors(&rng, COUNT, DIM);
    float *queries = mn_test_vectors(&rng, QUERIES, DIM);
    if (metric == MN_METRIC_IP) {
        /* Inner product is used on unit embeddings; on raw vectors it is not a metric and no
         * graph index gives high recall (hnswlib neither). */
        mn_test_normalize(data, COUNT, DIM);
        mn_test_normalize(queries, QUERIES, DIM);
    }
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, metric, &params);
    mn_hnsw *index = NULL;
    CHECK_STATUS(mn_hnsw_create(&params, &index), MN_OK);
    uint64_t *ids = malloc(COUNT * sizeof(uint64_t));
    for (size_t i = 0; i < COUNT; i++) ids[i] = i;
    /* Half one by one, half as a batch on 2 threads. */
    for (size_t i = 0; i < COUNT / 2; i++) CHECK_STATUS(mn_hnsw_insert(index, ids[i], data + i * DIM, DIM), MN_OK);
    size_t failed = 99;
    CHECK_STATUS(mn_hnsw_insert_batch(index, ids + COUNT / 2, data + (COUNT / 2) * DIM, COUNT - COUNT / 2,
                                      DIM, 2, &failed), MN_OK);
    uint64_t count = 0;
    mn_hnsw_count(index, &count);
    CHECK(count == COUNT, "count %llu", (unsigned long long)count);

    double recall = recall_of(index, metric, data, COUNT, queries, NULL, 64);
    CHECK(recall >= 0.95, "metric %d recall %.3f", metric, recall);
    printf("metric %d: recall@%d ef 64: %.3f\n", metric, K, recall);

    /* Distances are the metric's (cosine on normalised vectors). */
    mn_hnsw_result results[K];
    uint32_t n = 0;
    mn_hnsw_search(index, queries, DIM, K, 64, results, &n);
    float expected;
    mn_distance(metric, queries, data + results[0].id * DIM, DIM, &expected);
    CHECK(fabsf(expected - results[0].distance) < 1e-4f, "distance %f vs %f", results[0].distance, expected);

    /* Save, load, compare every query bit for bit. */
    mn_bytes bytes = {0};
    CHECK_STATUS(mn_hnsw_save(index, mn_bytes_write, &bytes), MN_OK);
    mn_hnsw *loaded = NULL;
    CHECK_STATUS(mn_hnsw_load_buffer(bytes.data, bytes.size, &loaded), MN_OK);
    for (int q = 0; loaded && q < QUERIES; q++) {
        mn_hnsw_result a[K], b[K];
        uint32_t na = 0, nb = 0;
        mn_hnsw_search(index, queries + q * DIM, DIM, K, 40, a, &na);
        mn_hnsw_search(loaded, queries + q * DIM, DIM, K, 40, b, &nb);
        int same = na == nb;
        for (uint32_t i = 0; same && i < na; i++) same = a[i].id == b[i].id && a[i].distance == b[i].distance;
        CHECK(same, "query %d differs after load", q);
    }
    /* Truncations and flipped bytes are errors, never crashes. */
    for (size_t cut = 0; cut < bytes.size; cut += 1 + bytes.size / 97) {
        mn_hnsw *bad = NULL;
        mn_status status = mn_hnsw_load_buffer(bytes.data, cut, &bad);
        CHECK(status == MN_ERR_TRUNCATED || status == MN_ERR_VERSION, "cut %zu gave %d", cut, status);
    }
    for (size_t at = 0; at < bytes.size; at += 1 + bytes.size / 89) {
        bytes.data[at] ^= 0x5a;
        mn_hnsw *bad = NULL;
        mn_status status = mn_hnsw_load_buffer(bytes.data, bytes.size, &bad);
        CHECK(status != MN_OK, "flip at %zu accepted", at);
        bytes.data[at] ^= 0x5a;
    }
    free(bytes.data);
    mn_hnsw_destroy(loaded);

    /* Remove 10%, check they never come back, then reinsert under new ids. */
    unsigned char *removed = calloc(COUNT, 1);
    for (size_t i = 0; i < COUNT; i += 10) {
        CHECK_STATUS(mn_hnsw_remove(index, ids[i]), MN_OK);
        removed[i] = 1;
    }
    CHECK_STATUS(mn_hnsw_remove(index, ids[0]), MN_ERR_NOT_FOUND);
    recall = recall_of(index, metric, data, COUNT, queries, removed, 64);
    CHECK(recall >= 0.93, "recall after removal %.3f", recall);
    for (size_t i = 0; i < COUNT; i += 10) {
        CHECK_STATUS(mn_hnsw_insert(index, ids[i], data + i * DIM, DIM), MN_OK);
        removed[i] = 0;
    }
    recall = recall_of(index, metric, data, COUNT, queries, NULL, 64);
    CHECK(recall >= 0.94, "recall after reinsert %.3f", recall);
    printf("metric %d: recall@%d ef 64 after remove+reinsert of 10%%: %.3f\n", metric, K, recall);
    mn_hnsw_count(index, &count);
    CHECK(count == COUNT, "count after reinsert %llu", (unsigned long long)count);

    free(removed);
    free(ids);
    free(data);
    free(queries);
    mn_hnsw_destroy(index);
}

static void test_bad_input(void) {
    mn_hnsw_params params;
    mn_hnsw *index = NULL;
    mn_hnsw_params_default(0, MN_METRIC_L2, &params);
    CHECK_STATUS(mn_hnsw_create(&params, &index), MN_ERR_DIMENSION);
    mn_hnsw_params_default(MN_DIMENSION_MAX + 1, MN_METRIC_L2, &params);
    CHECK_STATUS(mn_hnsw_create(&params, &index), MN_ERR_DIMENSION);
    mn_hnsw_params_default(4, 7, &params);
    CHECK_STATUS(mn_hnsw_create(&params, &index), MN_ERR_INVALID);
    mn_hnsw_params_default(4, MN_METRIC_L2, &params);
    params.m = 1;
    CHECK_STATUS(mn_hnsw_create(&params, &index), MN_ERR_INVALID);

    mn_hnsw_params_default(4, MN_METRIC_COSINE, &params);
    CHECK_STATUS(mn_hnsw_create(&params, &index), MN_OK);
    float good[4] = {1, 2, 3, 4};
    float nan_vector[4] = {1, NAN, 3, 4};
    float inf_vector[4] = {1, 2, INFINITY, 4};
    float zero[4] = {0, 0, 0, 0};
    CHECK_STATUS(mn_hnsw_insert(index, 1, good, 4), MN_OK);
    CHECK_STATUS(mn_hnsw_insert(index, 1, good, 4), MN_ERR_DUPLICATE);
    CHECK_STATUS(mn_hnsw_insert(index, 2, nan_vector, 4), MN_ERR_NON_FINITE);
    CHECK_STATUS(mn_hnsw_insert(index, 2, inf_vector, 4), MN_ERR_NON_FINITE);
    CHECK_STATUS(mn_hnsw_insert(index, 2, zero, 4), MN_ERR_ZERO_VECTOR);
    CHECK_STATUS(mn_hnsw_insert(index, 2, good, 3), MN_ERR_DIMENSION);
    CHECK_STATUS(mn_hnsw_remove(index, 2), MN_ERR_NOT_FOUND);
    float out[4];
    CHECK_STATUS(mn_hnsw_get(index, 2, out, 4), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_hnsw_get(index, 1, out, 3), MN_ERR_DIMENSION);
    CHECK_STATUS(mn_hnsw_get(index, 1, out, 4), MN_OK);
    CHECK(fabsf(out[3] - 4.0f / sqrtf(30.0f)) < 1e-6f, "cosine stores unit vectors: %f", out[3]);
    mn_hnsw_result results[4];
    uint32_t found = 0;
    CHECK_STATUS(mn_hnsw_search(index, good, 4, 0, 10, results, &found), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_search(index, nan_vector, 4, 1, 10, results, &found), MN_ERR_NON_FINITE);
    CHECK_STATUS(mn_hnsw_search(index, good, 5, 1, 10, results, &found), MN_ERR_DIMENSION);
    CHECK_STATUS(mn_hnsw_search(index, good, 4, 4, 10, results, &found), MN_OK);
    CHECK(found == 1 && results[0].id == 1, "found %u", found);

    /* Batches: one bad item rejects all and names it. */
    uint64_t ids[4] = {10, 11, 12, 13};
    float vectors[16];
    for (int i = 0; i < 16; i++) vectors[i] = (float)(i + 1);
    size_t failed = 99;
    vectors[9] = NAN;
    CHECK_STATUS(mn_hnsw_insert_batch(index, ids, vectors, 4, 4, 1, &failed), MN_ERR_NON_FINITE);
    CHECK(failed == 2, "offender %zu", failed);
    vectors[9] = 3;
    ids[3] = 11;
    CHECK_STATUS(mn_hnsw_insert_batch(index, ids, vectors, 4, 4, 1, &failed), MN_ERR_DUPLICATE);
    CHECK(failed == 3, "offender %zu", failed);
    ids[3] = 1;
    CHECK_STATUS(mn_hnsw_insert_batch(index, ids, vectors, 4, 4, 1, &failed), MN_ERR_DUPLICATE);
    CHECK(failed == 3, "offender %zu", failed);
    uint64_t count = 0;
    mn_hnsw_count(index, &count);
    CHECK(count == 1, "nothing inserted by rejected batches: %llu", (unsigned long long)count);
    int present = 1;
    mn_hnsw_contains(index, 10, &present);
    CHECK(!present, "id 10 absent");
    ids[3] = 13;
    CHECK_STATUS(mn_hnsw_insert_batch(index, ids, vectors, 4, 4, 1, &failed), MN_OK);
    mn_hnsw_count(index, &count);
    CHECK(count == 5, "batch inserted: %llu", (unsigned long long)count);
    CHECK_STATUS(mn_hnsw_insert_batch(index, ids, vectors, 4, 4, 0, &failed), MN_ERR_INVALID);

    uint64_t neighbors[64];
    uint32_t neighbor_count = 0;
    CHECK_STATUS(mn_hnsw_neighbors(index, 10, 0, neighbors, 64, &neighbor_count), MN_OK);
    CHECK(neighbor_count >= 1, "neighbours %u", neighbor_count);
    mn_hnsw_result with_distances[64];
    uint32_t distance_count = 0;
    CHECK_STATUS(mn_hnsw_neighbor_distances(index, 10, 0, with_distances, 64, &distance_count), MN_OK);
    CHECK(distance_count == neighbor_count, "%u neighbours with distances, %u without", distance_count,
          neighbor_count);
    float own[4], other[4];
    CHECK_STATUS(mn_hnsw_get(index, 10, own, 4), MN_OK);
    for (uint32_t i = 0; i < distance_count && i < neighbor_count; i++) {
        CHECK(with_distances[i].id == neighbors[i], "neighbour %u: id %llu, not %llu", i,
              (unsigned long long)with_distances[i].id, (unsigned long long)neighbors[i]);
        float expected = 0;
        CHECK_STATUS(mn_hnsw_get(index, neighbors[i], other, 4), MN_OK);
        mn_distance(MN_METRIC_COSINE, own, other, 4, &expected);
        CHECK(fabsf(expected - with_distances[i].distance) <= 1e-5f * (1 + expected),
              "neighbour %u: distance %f, its vectors give %f", i, with_distances[i].distance, expected);
    }
    CHECK_STATUS(mn_hnsw_neighbor_distances(index, 10, 0, NULL, 64, &distance_count), MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_neighbor_distances(index, 10, MN_HNSW_LEVEL_MAX + 1, with_distances, 64, &distance_count),
                 MN_ERR_INVALID);
    CHECK_STATUS(mn_hnsw_neighbors(index, 999, 0, neighbors, 64, &neighbor_count), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_hnsw_neighbor_distances(index, 999, 0, with_distances, 64, &distance_count), MN_ERR_NOT_FOUND);

    /* Empty and garbage streams. */
    mn_hnsw *loaded = NULL;
    CHECK_STATUS(mn_hnsw_load_buffer("", 0, &loaded), MN_ERR_TRUNCATED);
    char junk[100];
    memset(junk, 'x', sizeof(junk));
    CHECK_STATUS(mn_hnsw_load_buffer(junk, sizeof(junk), &loaded), MN_ERR_VERSION);
    mn_hnsw_destroy(index);
}

/* Fill exactly one storage segment, remove a fifth, reinsert: freed slots are reused, so no
 * second segment is allocated. */
static void test_slot_reuse(void) {
    mn_hnsw_params params;
    mn_hnsw_params_default(8, MN_METRIC_L2, &params);
    mn_hnsw *index = NULL;
    mn_hnsw_create(&params, &index);
    mn_test_rng rng = {99};
    const uint64_t count = MN_HNSW_SEGMENT_BASE;
    float *data = mn_test_vectors(&rng, count, 8);
    for (uint64_t i = 0; i < count; i++) mn_hnsw_insert(index, i, data + i * 8, 8);
    uint64_t before = 0, after = 0;
    mn_hnsw_bytes(index, &before);
    for (uint64_t i = 0; i < count / 5; i++) CHECK_STATUS(mn_hnsw_remove(index, i * 5), MN_OK);
    for (uint64_t i = 0; i < count / 8; i++) CHECK_STATUS(mn_hnsw_insert(index, count + i, data + i * 40, 8), MN_OK);
    mn_hnsw_bytes(index, &after);
    CHECK(after < before + (uint64_t)MN_HNSW_SEGMENT_BASE * 64, "storage grew: %llu -> %llu",
          (unsigned long long)before, (unsigned long long)after);
    mn_hnsw_result results[1];
    uint32_t found = 0;
    for (uint64_t i = 0; i < count / 8; i++) {
        mn_hnsw_search(index, data + i * 40, 8, 1, 32, results, &found);
        CHECK(found == 1 && results[0].id == count + i, "reinserted %llu found as %llu", (unsigned long long)i,
              (unsigned long long)results[0].id);
    }
    free(data);
    mn_hnsw_destroy(index);
}

static void test_remove_everything(void) {
    mn_hnsw_params params;
    mn_hnsw_params_default(8, MN_METRIC_L2, &params);
    mn_hnsw *index = NULL;
    mn_hnsw_create(&params, &index);
    mn_test_rng rng = {77};
    float *data = mn_test_vectors(&rng, 200, 8);
    for (uint64_t i = 0; i < 200; i++) mn_hnsw_insert(index, i, data + i * 8, 8);
    for (uint64_t i = 0; i < 200; i++) CHECK_STATUS(mn_hnsw_remove(index, i), MN_OK);
    mn_hnsw_result results[5];
    uint32_t found = 9;
    CHECK_STATUS(mn_hnsw_search(index, data, 8, 5, 10, results, &found), MN_OK);
    CHECK(found == 0, "empty index found %u", found);
    for (uint64_t i = 0; i < 200; i++) CHECK_STATUS(mn_hnsw_insert(index, i + 1000, data + i * 8, 8), MN_OK);
    CHECK_STATUS(mn_hnsw_search(index, data, 8, 5, 10, results, &found), MN_OK);
    CHECK(found == 5 && results[0].id == 1000, "found %u first %llu", found, (unsigned long long)results[0].id);
    free(data);
    mn_hnsw_destroy(index);
}

int main(void) {
    test_bad_input();
    test_remove_everything();
    test_slot_reuse();
    test_recall_and_roundtrip(MN_METRIC_L2);
    test_recall_and_roundtrip(MN_METRIC_IP);
    test_recall_and_roundtrip(MN_METRIC_COSINE);
    return mn_test_finish("hnsw");
}
