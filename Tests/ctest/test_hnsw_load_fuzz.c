/*
 * test_hnsw_load_fuzz.c: a long randomized fuzz of the index stream reader (CI runs it under
 * AddressSanitizer and UBSan).
 *
 * A valid stream (live and deleted nodes, several layers) is mutated thousands of times: bit
 * flips, random bytes, runs of 0x00/0xFF, truncations, duplicated and deleted spans. Half of the
 * mutants get a freshly computed XXH64 trailer, so they pass the checksum and reach the
 * structural checks. Every load must either fail with a status or produce an index that
 * answers searches, gets and a second save without a crash; nothing may assert.
 *
 * Issue 9 item 2: a stream of one-byte free-slot records at dimension 4096 made the loader
 * allocate a node's storage (16 KiB) per byte of stream before the checksum was reached: a
 * megabyte of stream asked for 16 GiB. Such a stream (bad checksum, or cut short) now fails
 * with MN_ERR_CORRUPT / MN_ERR_TRUNCATED having allocated a few times its own size (counted
 * by the allocation wrappers of mn_test_alloc.h), whether loaded from a buffer or a callback.
 */
#include <xxhash.h>

#include "mnemo/mn_hnsw.h"
#include "mn_test.h"
#include "mn_test_alloc.h"
#include "util/mn_bytes.h"

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

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A header declaring `slots` slots at dimension 4096, then `slots` free-slot bytes, then a
 * trailer (correct when `good`). */
static uint8_t *free_flood(uint32_t slots, int good, size_t *size) {
    *size = 56 + (size_t)slots + 8;
    uint8_t *s = calloc(1, *size);
    memcpy(s, "MNEMOHNS", 8);
    put32(s + 8, 1);
    put32(s + 12, 4096);
    put32(s + 16, MN_METRIC_L2);
    put32(s + 20, 16);
    put32(s + 24, 200);
    put64(s + 32, 42);
    put32(s + 40, slots);
    put32(s + 44, 0);
    put64(s + 48, UINT64_MAX);
    uint64_t digest = XXH64(s, *size - 8, 0);
    put64(s + *size - 8, good ? digest : digest ^ 1);
    return s;
}

static void test_free_slot_flood(void) {
    const uint32_t slots = 1u << 20; /* 1 MiB of stream; 16 GiB of node storage */
    size_t size = 0;
    uint8_t *stream = free_flood(slots, 0, &size);
    /* Allowed: a copy of the stream (doubling) plus fixed costs. No single request over 64 MiB
     * is granted, so the old loader fails fast instead of touching gigabytes. */
    const uint64_t budget = 4 * (uint64_t)size + (1u << 20);
    for (int how = 0; how < 4; how++) {
        size_t length = how >= 2 ? size / 2 : size; /* 2, 3: cut in the middle */
        mn_alloc_reset();
        mn_alloc_refuse_over(64u << 20);
        mn_hnsw *index = NULL;
        mn_status status;
        if (how % 2 == 0) {
            status = mn_hnsw_load_buffer(stream, length, &index);
        } else {
            mn_buffer_reader reader = {stream, length, 0};
            status = mn_hnsw_load(mn_buffer_read, &reader, &index);
        }
        uint64_t bytes = mn_alloc_bytes();
        mn_alloc_reset();
        mn_status expected = how >= 2 ? MN_ERR_TRUNCATED : MN_ERR_CORRUPT;
        printf("free-slot flood (%s, %s): %zu-byte stream, %llu bytes allocated, status %d\n",
               how % 2 ? "callback" : "buffer", how >= 2 ? "cut" : "bad checksum", length,
               (unsigned long long)bytes, status);
        CHECK(status == expected, "free-slot flood (%d): status %d, expected %d", how, status, expected);
        CHECK(bytes <= budget, "free-slot flood (%d): %llu bytes allocated for a %zu-byte stream",
              how, (unsigned long long)bytes, length);
        if (index) mn_hnsw_destroy(index);
    }
    free(stream);
    /* A sound stream of free slots still loads (its checksum vouches for it). */
    stream = free_flood(1500, 1, &size);
    mn_hnsw *index = NULL;
    CHECK_STATUS(mn_hnsw_load_buffer(stream, size, &index), MN_OK);
    uint64_t count = 1;
    if (index) mn_hnsw_count(index, &count);
    CHECK(count == 0, "free slots only: %llu live", (unsigned long long)count);
    if (index) mn_hnsw_destroy(index);
    free(stream);
}

int main(void) {
    test_free_slot_flood();
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
