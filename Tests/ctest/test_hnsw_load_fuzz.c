/*
 * test_hnsw_load_fuzz.c: a long randomized fuzz of the index stream reader (CI runs it under
 * AddressSanitizer and UBSan).
 *
 * A valid stream (live and deleted nodes, several layers) is mutated thousands of times: bit
 * flips, random bytes, runs of 0x00/0xFF, truncations, duplicated and deleted spans. Half of the
 * mutants get a freshly computed XXH64 trailer, so they pass the checksum and reach the
 * structural checks. Every load must either fail with a status or produce an index that
 * answers searches, gets and a second save without a crash; nothing may assert.
 */
#include <xxhash.h>

#include "mnemo/mn_hnsw.h"
#include "mn_test.h"

#define DIM 8
#define COUNT 300
#define ROUNDS 40000

static void exercise(mn_hnsw *index) {
    float query[DIM] = {0.1f, -0.2f, 0.3f, 0.0f, 0.5f, -0.1f, 0.2f, 0.4f};
    mn_hnsw_result results[10];
    uint32_t found = 0;
    mn_status status = mn_hnsw_search(index, query, DIM, 10, 50, results, &found);
    CHECK(status == MN_OK || status == MN_ERR_DIMENSION, "search on a loaded mutant: %d", status);
    float vector[DIM];
    for (uint64_t id = 0; id < 20; id++) (void)mn_hnsw_get(index, id, vector, DIM);
    mn_bytes again = {0};
    CHECK_STATUS(mn_hnsw_save(index, mn_bytes_write, &again), MN_OK);
    free(again.data);
}

int main(void) {
    mn_test_rng rng = {31337};
    float *data = mn_test_vectors(&rng, COUNT, DIM);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    params.m = 4; /* more upper layers in a small index */
    mn_hnsw *index = NULL;
    mn_hnsw_create(&params, &index);
    for (uint64_t i = 0; i < COUNT; i++) mn_hnsw_insert(index, i, data + i * DIM, DIM);
    for (uint64_t i = 0; i < 20; i++) mn_hnsw_remove(index, i * 7); /* deleted, not yet repaired */
    mn_bytes original = {0};
    CHECK_STATUS(mn_hnsw_save(index, mn_bytes_write, &original), MN_OK);
    mn_hnsw_destroy(index);

    size_t accepted = 0, rejected = 0;
    uint8_t *mutant = malloc(original.size * 2 + 64);
    for (int round = 0; round < ROUNDS; round++) {
        size_t size = original.size;
        memcpy(mutant, original.data, size);
        int edits = 1 + (int)(mn_test_next(&rng) % 4);
        for (int e = 0; e < edits && size > 8; e++) {
            size_t at = mn_test_next(&rng) % size;
            switch (mn_test_next(&rng) % 6) {
            case 0: mutant[at] ^= (uint8_t)(1u << (mn_test_next(&rng) % 8)); break;
            case 1: mutant[at] = (uint8_t)mn_test_next(&rng); break;
            case 2: memset(mutant + at, mn_test_next(&rng) & 1 ? 0xFF : 0x00, size - at < 4 ? size - at : 4); break;
            case 3: size = at; break;
            case 4: { /* duplicate a span */
                size_t span = 1 + mn_test_next(&rng) % 16;
                if (at + span > size) span = size - at;
                memmove(mutant + at + span, mutant + at, size - at);
                size += span;
                break;
            }
            default: { /* delete a span */
                size_t span = 1 + mn_test_next(&rng) % 16;
                if (at + span > size) span = size - at;
                memmove(mutant + at, mutant + at + span, size - at - span);
                size -= span;
                break;
            }
            }
        }
        if ((round & 1) && size >= 8) {
            uint64_t digest = XXH64(mutant, size - 8, 0);
            for (int i = 0; i < 8; i++) mutant[size - 8 + i] = (uint8_t)(digest >> (8 * i));
        }
        mn_hnsw *loaded = NULL;
        mn_status status = mn_hnsw_load_buffer(mutant, size, &loaded);
        if (status == MN_OK) {
            accepted++;
            exercise(loaded);
            mn_hnsw_destroy(loaded);
        } else {
            rejected++;
            CHECK(status == MN_ERR_TRUNCATED || status == MN_ERR_CORRUPT || status == MN_ERR_VERSION,
                  "unexpected status %d", status);
        }
    }
    printf("hnsw_load_fuzz: %zu mutants rejected, %zu loaded and exercised\n", rejected, accepted);
    CHECK(rejected > ROUNDS / 2, "most mutants must be rejected (%zu)", rejected);
    free(mutant);
    free(original.data);
    free(data);
    return mn_test_finish("hnsw_load_fuzz");
}
