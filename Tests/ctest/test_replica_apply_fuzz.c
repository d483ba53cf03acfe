/*
 * test_replica_apply_fuzz.c: a randomized fuzz of mn_replica_apply (include/mnemo/mn_replica.h),
 * the entry of records that come from another node (over HTTP: POST /v1/spaces/{space}/log,
 * frames cut by the Swift module), run under AddressSanitizer in CI (label "parser").
 *
 * A source space takes writes of every logged kind (inserts, a batch, an upsert, a delete, a
 * link and an unlink); its records, read back through mn_replica_records_since, are the seed.
 * Each round renumbers a run of them to continue the copy's sequence (so the checks past the
 * sequence are reached), then lies about one thing: payload bytes flipped or replaced, the
 * payload cut short or extended with junk, the type changed, a sequence moved, the run's space
 * ids mixed. The seam must answer MN_OK (the whole run logged and applied: the copy's sequence
 * moved by exactly the run's length) or refuse with MN_ERR_INVALID / MN_ERR_CORRUPT and change
 * nothing (the sequence unmoved); nothing may read out of bounds or crash. The decoder itself is
 * fuzzed harder by test_engine_wal_op_fuzz.c; this covers the seam's own checks around it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/mn_replica.h"
#include "test_durable_support.h"

#define ROUNDS 2500u
#define SEED_MAX 32u
#define RUN_MAX 6u

static uint64_t rng_state = 0x5eed1e55;
static uint64_t rnd(void) { return te_next(&rng_state); }

/* The source's records, payloads copied. */
typedef struct seed_log {
    mn_replica_record records[SEED_MAX];
    uint8_t *payloads[SEED_MAX];
    uint32_t count;
} seed_log;

static mn_status keep_record(void *context, const mn_replica_record *record) {
    seed_log *log = context;
    if (log->count == SEED_MAX) return MN_ERR_FULL;
    uint8_t *copy = malloc(record->payload_bytes ? record->payload_bytes : 1);
    if (!copy) return MN_ERR_NO_MEMORY;
    if (record->payload_bytes) memcpy(copy, record->payload, record->payload_bytes);
    log->records[log->count] = *record;
    log->records[log->count].payload = copy;
    log->payloads[log->count++] = copy;
    return MN_OK;
}

static uint64_t sequence_of(mn_space *space) {
    uint64_t sequence = 0;
    CHECK_STATUS(mn_replica_sequence(space, &sequence), MN_OK);
    return sequence;
}

/* One round: a run of seed records continuing `copy`'s sequence, one lie told, applied. */
static void fuzz_round(mn_space *copy, const seed_log *seed, uint32_t *applied) {
    mn_replica_record run[RUN_MAX];
    uint8_t *owned = NULL; /* the one payload this round rewrote */
    uint32_t count = 1 + (uint32_t)(rnd() % RUN_MAX);
    uint64_t before = sequence_of(copy);
    for (uint32_t i = 0; i < count; i++) {
        run[i] = seed->records[rnd() % seed->count];
        run[i].sequence = before + 1 + i;
    }
    uint32_t victim = (uint32_t)(rnd() % count);
    uint32_t size = run[victim].payload_bytes;
    switch (rnd() % 8) {
    case 0: /* flipped bits */
    case 1: { /* random bytes */
        owned = malloc(size ? size : 1);
        if (!owned) return;
        if (size) memcpy(owned, run[victim].payload, size);
        uint32_t changes = 1 + (uint32_t)(rnd() % 6);
        for (uint32_t c = 0; c < changes && size; c++) {
            uint32_t at = (uint32_t)(rnd() % size);
            owned[at] = (rnd() & 1) ? (uint8_t)(owned[at] ^ (1u << (rnd() % 8))) : (uint8_t)rnd();
        }
        run[victim].payload = owned;
        break;
    }
    case 2: /* cut short */
        run[victim].payload_bytes = size ? (uint32_t)(rnd() % size) : 0;
        break;
    case 3: { /* extended with junk */
        uint32_t extra = 1 + (uint32_t)(rnd() % 64);
        owned = malloc(size + extra);
        if (!owned) return;
        if (size) memcpy(owned, run[victim].payload, size);
        for (uint32_t i = 0; i < extra; i++) owned[size + i] = (uint8_t)rnd();
        run[victim].payload = owned;
        run[victim].payload_bytes = size + extra;
        break;
    }
    case 4: /* another type, a write's or not */
        run[victim].type = (rnd() & 1) ? (uint32_t)(rnd() % 16) : (uint32_t)rnd();
        break;
    case 5: /* a sequence moved */
        run[victim].sequence += (rnd() & 1) ? 1 : (uint64_t)-1;
        break;
    case 6: /* space ids mixed */
        run[victim].space ^= 1u + (uint32_t)(rnd() % 7);
        break;
    default: /* no lie: must apply whole */
        break;
    }
    mn_replica_refusal why = MN_REPLICA_ACCEPTED;
    mn_status status = mn_replica_apply(copy, run, count, &why);
    uint64_t after = sequence_of(copy);
    if (status == MN_OK) {
        CHECK(after == before + count);
        CHECK(why == MN_REPLICA_ACCEPTED);
        (*applied)++;
    } else {
        if (status != MN_ERR_INVALID && status != MN_ERR_CORRUPT) {
            fprintf(stderr, "mn_replica_apply: unexpected %s\n", mn_status_string(status));
        }
        CHECK(status == MN_ERR_INVALID || status == MN_ERR_CORRUPT);
        CHECK(after == before); /* nothing changed */
        if (status == MN_ERR_INVALID) CHECK(why != MN_REPLICA_ACCEPTED || run[0].sequence == 0);
    }
    free(owned);
}

int main(void) {
    char root[] = "/tmp/mnemo-replica-fuzz-XXXXXX";
    if (!mkdtemp(root)) return 2;
    mn_status status = MN_OK;
    mn_engine *engine = td_open(root, 2, MN_DURABLE_NONE, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return te_report();
    mn_space *source = te_space(engine, "source", TD_DIM, MN_METRIC_L2);
    /* The copy: the source's export while it is empty (sequence 0). */
    mn_bytes stream = {0};
    CHECK_STATUS(mn_space_export(source, mn_bytes_write, &stream), MN_OK);
    mn_space *copy = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "copy", 4, stream.data, stream.size, &copy), MN_OK);
    free(stream.data);

    /* Every logged kind of write into the source. */
    for (uint32_t i = 1; i <= 8; i++) {
        char id[16], content[16];
        snprintf(id, sizeof(id), "m%u", i);
        snprintf(content, sizeof(content), "c%u", i);
        CHECK_STATUS(td_insert(source, id, 100 + i, content), MN_OK);
    }
    te_wait w;
    float vectors[3 * TD_DIM];
    for (uint32_t i = 0; i < 3; i++) te_vector(200 + i, vectors + i * TD_DIM, TD_DIM);
    const uint64_t id_offsets[4] = {0, 2, 4, 6};
    const uint64_t content_offsets[4] = {0, 1, 2, 3};
    const int64_t created[3] = {1, 2, 3};
    mn_batch_in batch = {.count = 3, .dimension = TD_DIM, .vectors = vectors, .ids = "b1b2b3",
                         .id_offsets = id_offsets, .contents = (const uint8_t *)"xyz",
                         .content_offsets = content_offsets, .created_ns = created};
    te_wait_init(&w);
    CHECK_STATUS(mn_space_insert_batch(source, &batch, MN_SUBMIT_WAIT, te_wait_done, &w, NULL), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    te_wait_init(&w);
    CHECK_STATUS(mn_space_upsert(source, "m2", 2, vectors, TD_DIM, (const uint8_t *)"up", 2, MN_SUBMIT_WAIT,
                                 te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    CHECK_STATUS(td_delete(source, "m3"), MN_OK);
    te_wait_init(&w);
    CHECK_STATUS(mn_space_link(source, "m1", 2, "m4", 2, 0.5f, 0, te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    te_wait_init(&w);
    CHECK_STATUS(mn_space_unlink(source, "m1", 2, "m4", 2, 0, te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);

    seed_log seed = {0};
    uint64_t last = 0;
    CHECK_STATUS(mn_replica_records_since(source, 0, keep_record, &seed, &last), MN_OK);
    CHECK(seed.count == 13 && last == 13);
    /* Unchanged, in order, the seed applies whole. */
    CHECK_STATUS(mn_replica_apply(copy, seed.records, seed.count, NULL), MN_OK);
    CHECK(sequence_of(copy) == 13);

    uint32_t applied = 0;
    for (uint32_t round = 0; round < ROUNDS && seed.count > 0; round++) fuzz_round(copy, &seed, &applied);
    CHECK(applied > 0); /* the unmutated rounds at least */
    printf("replica apply fuzz: %u rounds, %u applied, the copy at sequence %llu\n", ROUNDS, applied,
           (unsigned long long)sequence_of(copy));

    for (uint32_t i = 0; i < seed.count; i++) free(seed.payloads[i]);
    mn_space_release(copy);
    mn_space_release(source);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    char command[600];
    snprintf(command, sizeof(command), "rm -rf %s", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return te_report();
}
