/*
 * test_engine_wal_op_fuzz.c: a randomized fuzz of the decoder of logged operations
 * (mn_durable_decode_op, the payload drawn in mn_engine_durable.c and docs/formats.md; CI runs
 * it under AddressSanitizer, label "parser").
 *
 * Valid payloads of every shape that carries metadata (an insert and an upsert with and
 * without a document, a batch with documents on some memories, a metadata patch) and of the
 * older shapes (a delete, a link) are written here with the literal layout, each decoded once
 * (it must succeed and give back exactly what was written), then mutated tens of thousands of
 * times: bit flips, random bytes, truncations and extensions, and lies in the flags word, the
 * counts and every offset table (the metadata offsets included). A record's CRC would catch
 * most of these on disk; the decoder must not rely on it. Every mutant must decode to an op
 * whose every offset lies inside its block and whose documents are valid, or be refused with
 * MN_ERR_CORRUPT; nothing may read out of bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/mn_engine_durable_internal.h"
#include "mnemo/mn_meta.h"
#include "test_engine_support.h"
#include "util/mn_bytes.h"

#define DIM 4u
#define ROUNDS 40000

static uint64_t rng_state = 0x0b5e55ed;
static uint64_t rnd(void) { return te_next(&rng_state); }

/* A payload under construction (the literal layout; 1 KiB covers every shape below). */
typedef struct payload {
    uint8_t bytes[2048];
    size_t size;
    uint32_t type;
} payload;

typedef struct item {
    const char *id;
    const char *content;
    const void *doc;
    size_t doc_bytes;
} item;

static void build(payload *p, uint32_t type, uint32_t dimension, const item *items, uint64_t n,
                  int with_metadata) {
    uint8_t *o = p->bytes;
    p->type = type;
    mn_put_u32(o, dimension);
    mn_put_u32(o + 4, with_metadata ? 1u : 0u);
    mn_put_u64(o + 8, n);
    size_t at = 16;
    uint64_t sum = 0;
    mn_put_u64(o + at, 0);
    for (uint64_t i = 0; i < n; i++) mn_put_u64(o + at + 8 * (i + 1), sum += strlen(items[i].id));
    at += 8 * (n + 1);
    sum = 0;
    mn_put_u64(o + at, 0);
    for (uint64_t i = 0; i < n; i++) {
        mn_put_u64(o + at + 8 * (i + 1), sum += strlen(items[i].content));
    }
    at += 8 * (n + 1);
    for (uint64_t i = 0; i < n; i++, at += 8) mn_put_u64(o + at, 1000 + i);
    for (uint64_t i = 0; i < n * dimension; i++, at += 4) {
        float f = type == MN_OP_LINK && i % dimension == 0 ? 0.5f : (float)(i + 1);
        memcpy(o + at, &f, 4);
    }
    for (uint64_t i = 0; i < n; i++) {
        memcpy(o + at, items[i].id, strlen(items[i].id));
        at += strlen(items[i].id);
    }
    for (uint64_t i = 0; i < n; i++) {
        memcpy(o + at, items[i].content, strlen(items[i].content));
        at += strlen(items[i].content);
    }
    if (with_metadata) {
        sum = 0;
        mn_put_u64(o + at, 0);
        for (uint64_t i = 0; i < n; i++) mn_put_u64(o + at + 8 * (i + 1), sum += items[i].doc_bytes);
        at += 8 * (n + 1);
        for (uint64_t i = 0; i < n; i++) {
            if (items[i].doc_bytes) memcpy(o + at, items[i].doc, items[i].doc_bytes);
            at += items[i].doc_bytes;
        }
    }
    p->size = at;
}

/* Checks a decoded op against its block: counts in shape, offsets monotone and inside it,
 * documents (or the patch) valid. */
static int sane(const mn_op *op, const payload *p) {
    if (op->count == 0 || op->count > 3) return 0;
    uint64_t n = op->count;
    if (op->id_offsets[0] != 0 || op->content_offsets[0] != 0 || op->metadata_offsets[0] != 0) {
        return 0;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (op->id_offsets[i + 1] <= op->id_offsets[i]) return 0;
        if (op->content_offsets[i + 1] < op->content_offsets[i]) return 0;
        if (op->metadata_offsets[i + 1] < op->metadata_offsets[i]) return 0;
    }
    uint64_t total = op->id_offsets[n] + op->content_offsets[n] + op->metadata_offsets[n];
    if (total > p->size) return 0;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *at = op->metadata + op->metadata_offsets[i];
        size_t bytes = (size_t)(op->metadata_offsets[i + 1] - op->metadata_offsets[i]);
        mn_status status = op->kind == MN_OP_PATCH ? mn_meta_patch_validate(at, bytes, NULL)
                                                   : mn_meta_validate(at, bytes, NULL);
        if (status != MN_OK) return 0;
        /* touch every byte the op claims (ASan checks the bounds) */
        volatile uint8_t sink = 0;
        for (size_t k = 0; k < bytes; k++) sink ^= at[k];
        const char *id = op->ids + op->id_offsets[i];
        for (uint64_t k = 0; k < op->id_offsets[i + 1] - op->id_offsets[i]; k++) sink ^= (uint8_t)id[k];
        const uint8_t *content = op->contents + op->content_offsets[i];
        for (uint64_t k = 0; k < op->content_offsets[i + 1] - op->content_offsets[i]; k++) {
            sink ^= content[k];
        }
        (void)sink;
    }
    return 1;
}

static mn_status decode(const payload *p, const uint8_t *bytes, size_t size, mn_space *space,
                        int *ok) {
    uint8_t *copy = malloc(size ? size : 1); /* exactly the payload: reads past it are caught */
    memcpy(copy, bytes, size);
    mn_wal_record record = {.space = 1, .sequence = 1, .type = p->type,
                            .payload_bytes = (uint32_t)size, .payload = copy};
    mn_op *op = NULL;
    mn_status status = mn_durable_decode_op(&record, space, &op);
    *ok = 1;
    if (status == MN_OK) {
        payload shape = *p;
        shape.size = size;
        *ok = sane(op, &shape);
        free(op);
    }
    free(copy);
    return status;
}

int main(void) {
    mn_engine *engine = te_engine(1, 64);
    mn_space *space = te_space(engine, "s", DIM, MN_METRIC_L2);

    mn_meta_builder *b = NULL;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    mn_meta_builder_add_string(b, "kind", 4, "fact", 4);
    mn_meta_builder_add_int(b, "n", 1, 7);
    void *doc = NULL, *patch = NULL;
    size_t doc_bytes = 0, patch_bytes = 0;
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, &doc_bytes, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    const char *remove[1] = {"old"};
    const uint32_t remove_bytes[1] = {3};
    CHECK_STATUS(mn_meta_patch_encode(doc, doc_bytes, remove, remove_bytes, 1, &patch,
                                      &patch_bytes, NULL),
                 MN_OK);

    payload seeds[9];
    item one[1] = {{"a", "apple", doc, doc_bytes}};
    build(&seeds[0], MN_OP_INSERT, DIM, one, 1, 1);
    build(&seeds[1], MN_OP_UPSERT, DIM, one, 1, 1);
    item plain[1] = {{"b", "", NULL, 0}};
    build(&seeds[2], MN_OP_INSERT, DIM, plain, 1, 0);
    item three[3] = {{"c", "x", doc, doc_bytes}, {"dd", "", NULL, 0}, {"e", "yz", doc, doc_bytes}};
    build(&seeds[3], MN_OP_BATCH, DIM, three, 3, 1);
    item patched[1] = {{"a", "", patch, patch_bytes}};
    build(&seeds[4], MN_OP_PATCH, 0, patched, 1, 1);
    build(&seeds[5], MN_OP_DELETE, 0, plain, 1, 0);
    item ends[2] = {{"a", "", NULL, 0}, {"b", "", NULL, 0}};
    build(&seeds[6], MN_OP_LINK, 1, ends, 2, 0);
    /* A delete by filter (its text as content) and a field index's drop (the name as id). */
    item where[1] = {{"$", "{\"kind\": \"fact\"}", NULL, 0}};
    build(&seeds[7], MN_OP_DELETE_FILTER, 0, where, 1, 0);
    item field[1] = {{"kind", "", NULL, 0}};
    build(&seeds[8], MN_OP_INDEX_DROP, 0, field, 1, 0);
    for (int s = 0; s < 9; s++) {
        int ok = 0;
        CHECK_STATUS(decode(&seeds[s], seeds[s].bytes, seeds[s].size, space, &ok), MN_OK);
        CHECK(ok);
    }
    /* A metadata section on a kind that cannot carry one, a patch without one: refused. */
    payload bad = seeds[5];
    mn_put_u32(bad.bytes + 4, 1);
    int ok = 0;
    CHECK_STATUS(decode(&bad, bad.bytes, bad.size, space, &ok), MN_ERR_CORRUPT);
    bad = seeds[4];
    mn_put_u32(bad.bytes + 4, 0);
    CHECK_STATUS(decode(&bad, bad.bytes, bad.size, space, &ok), MN_ERR_CORRUPT);

    size_t accepted = 0, rejected = 0, insane = 0, other = 0;
    uint8_t mutant[4096];
    for (int round = 0; round < ROUNDS; round++) {
        const payload *p = &seeds[rnd() % 9];
        size_t size = p->size;
        memcpy(mutant, p->bytes, size);
        int mutations = 1 + (int)(rnd() % 3);
        for (int m = 0; m < mutations; m++) {
            switch (rnd() % 6) {
            case 0: /* bit flip */
                if (size) mutant[rnd() % size] ^= (uint8_t)(1u << (rnd() % 8));
                break;
            case 1: /* random byte */
                if (size) mutant[rnd() % size] = (uint8_t)rnd();
                break;
            case 2: /* truncate */
                size = (size_t)(rnd() % (size + 1));
                break;
            case 3: /* extend with random bytes */
                for (int k = (int)(rnd() % 16); k > 0 && size < sizeof(mutant); k--) {
                    mutant[size++] = (uint8_t)rnd();
                }
                break;
            case 4: { /* a lie in an 8-byte slot of the header or the offset tables */
                if (size < 16) break;
                size_t at = 8 * (size_t)(rnd() % (size / 8));
                static const uint64_t lies[] = {0, 1, 2, 3, 7, 255, UINT32_MAX, UINT64_MAX};
                uint64_t value = lies[rnd() % 8];
                if (rnd() % 2) value = mn_get_u64(mutant + at) + (rnd() % 2 ? 1 : (uint64_t)-1);
                if (at + 8 <= size) mn_put_u64(mutant + at, value);
                break;
            }
            default: /* the flags word */
                if (size >= 8) mn_put_u32(mutant + 4, (uint32_t)(rnd() % 4));
                break;
            }
        }
        mn_status status = decode(p, mutant, size, space, &ok);
        if (status == MN_OK) {
            accepted++;
            insane += !ok;
        } else if (status == MN_ERR_CORRUPT) {
            rejected++;
        } else {
            other++;
        }
    }
    CHECK(insane == 0);
    CHECK(other == 0);
    CHECK(rejected > (size_t)ROUNDS / 2);
    printf("engine_wal_op_fuzz: %zu mutants rejected, %zu decoded (all in bounds and valid)\n",
           rejected, accepted);
    mn_meta_free(doc);
    mn_meta_free(patch);
    mn_space_release(space);
    mn_engine_destroy(engine);
    return te_report();
}
