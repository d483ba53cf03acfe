/*
 * test_engine_lookup.c: a space's id and label tables stay complete and sized as the space
 * grows past 200,000 memories and shrinks again.
 *
 * The runner sizes both tables itself (mn_space_tables_fit, docs/engine.md "Record lookups"),
 * so this test checks what that must keep true through inserts (batches), upserts, deletes and
 * re-inserts of a large space of small vectors: every live id is found by mn_space_get with
 * its latest content, every deleted one is not, the record an id finds is the record its label
 * finds, both tables hold exactly the live memories, and the bucket count covers the live count
 * (a load factor of at most 1). A second space deleted down to a twentieth checks that the
 * tables shrink and lose nothing doing it. Figures (ns per lookup) are bench_engine --only
 * lookup's business, not this test's.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mn_engine_internal.h"
#include "mnemo/mn_engine.h"
#include "test_engine_support.h"
#include "util/mn_rcu.h"

#define LOOKUP_DIMENSION 4u
#define LOOKUP_MEMORIES 200000u
#define LOOKUP_BATCH 1000u
#define LOOKUP_UPSERT_EVERY 7u   /* ids i % 7 == 0 are upserted to content "u" */
#define LOOKUP_DELETE_EVERY 5u   /* ids i % 5 == 0 are deleted ... */
#define LOOKUP_REINSERT_EVERY 10u /* ... and ids i % 10 == 0 inserted again, content "r" */
#define LOOKUP_SHRINK_MEMORIES 20000u
#define LOOKUP_SHRINK_KEEP_EVERY 20u
#define LOOKUP_ID_BYTES 16u
#define LOOKUP_M 8u                /* a cheap graph: the test is about the tables */
#define LOOKUP_EF_CONSTRUCTION 16u

static mn_space *lookup_space(mn_engine *engine, const char *name) {
    mn_hnsw_params params;
    mn_hnsw_params_default(LOOKUP_DIMENSION, MN_METRIC_L2, &params);
    params.m = LOOKUP_M;
    params.ef_construction = LOOKUP_EF_CONSTRUCTION;
    mn_space *space = NULL;
    if (mn_engine_space_create(engine, name, (uint32_t)strlen(name), &params, &space) != MN_OK) {
        fprintf(stderr, "mn_engine_space_create(%s) failed\n", name);
        exit(2);
    }
    return space;
}

/* Completions of asynchronous single writes: counted, failures remembered. */
typedef struct lookup_load {
    atomic_uint_fast64_t done;
    atomic_uint_fast64_t failed;
} lookup_load;

static void on_done(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    lookup_load *load = context;
    if (status != MN_OK) atomic_fetch_add(&load->failed, 1);
    atomic_fetch_add_explicit(&load->done, 1, memory_order_release);
}

static void wait_all(lookup_load *load, uint64_t issued) {
    while (atomic_load_explicit(&load->done, memory_order_acquire) < issued) sched_yield();
}

static int make_id(char *out, uint64_t i) {
    return snprintf(out, LOOKUP_ID_BYTES, "m%llu", (unsigned long long)i);
}

/* Inserts ids i in [first, last) with i % every == 0 (every 1: all), content `content`, in
 * awaited batches. */
static void insert_ids(mn_space *space, uint64_t first, uint64_t last, uint64_t every,
                       const char *content) {
    char ids[LOOKUP_BATCH * LOOKUP_ID_BYTES];
    uint64_t id_offsets[LOOKUP_BATCH + 1];
    uint64_t content_offsets[LOOKUP_BATCH + 1];
    uint8_t contents[LOOKUP_BATCH];
    float vectors[LOOKUP_BATCH * LOOKUP_DIMENSION];
    uint64_t i = first;
    while (i < last) {
        size_t n = 0;
        id_offsets[0] = 0;
        content_offsets[0] = 0;
        for (; i < last && n < LOOKUP_BATCH; i++) {
            if (i % every != 0) continue;
            int bytes = make_id(ids + id_offsets[n], i);
            id_offsets[n + 1] = id_offsets[n] + (uint64_t)bytes;
            size_t content_bytes = strlen(content);
            if (content_bytes) contents[content_offsets[n]] = (uint8_t)content[0];
            content_offsets[n + 1] = content_offsets[n] + content_bytes;
            te_vector(i, vectors + n * LOOKUP_DIMENSION, LOOKUP_DIMENSION);
            n++;
        }
        if (n == 0) continue;
        mn_batch_in in = {.count = n, .dimension = LOOKUP_DIMENSION, .vectors = vectors,
                          .ids = ids, .id_offsets = id_offsets, .contents = contents,
                          .content_offsets = content_offsets, .created_ns = NULL};
        te_wait w;
        te_wait_init(&w);
        CHECK_STATUS(mn_space_insert_batch(space, &in, MN_SUBMIT_WAIT, te_wait_done, &w, NULL),
                     MN_OK);
        CHECK_STATUS(te_wait_for(&w), MN_OK);
    }
}

/* What mn_space_get shows of a memory: its content's first byte (0: empty). */
typedef struct seen {
    int visits;
    uint64_t content_bytes;
    uint8_t first;
} seen;

static void on_visit(void *context, const mn_memory_view *view) {
    seen *s = context;
    s->visits++;
    s->content_bytes = view->content_bytes;
    s->first = view->content_bytes ? view->content[0] : 0;
}

/* Counts the nodes of a table (inside a read-side section). */
static unsigned long table_nodes(struct cds_lfht *table) {
    long before = 0, after = 0;
    unsigned long count = 0;
    mn_rcu_read_lock();
    cds_lfht_count_nodes(table, &before, &count, &after);
    mn_rcu_read_unlock();
    return count;
}

/* Checks id -> record -> label -> the same record for id i; returns 1 when it is live. */
static int check_one(mn_space *space, uint64_t i, int live, char content) {
    char id[LOOKUP_ID_BYTES];
    int bytes = make_id(id, i);
    seen s = {0};
    mn_status status = mn_space_get(space, id, (uint32_t)bytes, NULL, 0, on_visit, &s);
    if (!live) {
        CHECK(status == MN_ERR_NOT_FOUND);
        return 0;
    }
    CHECK(status == MN_OK && s.visits == 1);
    CHECK(content ? (s.content_bytes == 1 && s.first == (uint8_t)content) : s.content_bytes == 0);
    mn_rcu_read_lock();
    mn_record *record = mn_space_find_id(space, id, (uint32_t)bytes);
    CHECK(record != NULL);
    if (record) CHECK(mn_space_find_label(space, record->label) == record);
    mn_rcu_read_unlock();
    return 1;
}

/* Both tables hold exactly `live` nodes and have at least as many buckets. */
static void check_tables(mn_space *space, uint64_t live) {
    CHECK(table_nodes(space->by_id) == live);
    CHECK(table_nodes(space->by_label) == live);
    mn_space_stats stats;
    CHECK_STATUS(mn_space_stats_get(space, &stats), MN_OK);
    CHECK(stats.count == live);
    /* The runner's last fit ran before its completions: read after them, it is settled. */
    CHECK((1ull << space->table_order) >= live);
}

static void test_large_space(mn_engine *engine) {
    mn_space *space = lookup_space(engine, "large");
    insert_ids(space, 0, LOOKUP_MEMORIES, 1, "");
    check_tables(space, LOOKUP_MEMORIES);
    CHECK(space->table_order == 18); /* 2^18 = 262,144: the smallest power of two >= 200,000 */

    lookup_load load;
    atomic_init(&load.done, 0);
    atomic_init(&load.failed, 0);
    uint64_t issued = 0;
    char id[LOOKUP_ID_BYTES];
    float vector[LOOKUP_DIMENSION];
    for (uint64_t i = 0; i < LOOKUP_MEMORIES; i += LOOKUP_UPSERT_EVERY) {
        int bytes = make_id(id, i);
        te_vector(i + LOOKUP_MEMORIES, vector, LOOKUP_DIMENSION);
        CHECK_STATUS(mn_space_upsert(space, id, (uint32_t)bytes, vector, LOOKUP_DIMENSION,
                                     (const uint8_t *)"u", 1, MN_SUBMIT_WAIT, on_done, &load),
                     MN_OK);
        issued++;
    }
    for (uint64_t i = 0; i < LOOKUP_MEMORIES; i += LOOKUP_DELETE_EVERY) {
        int bytes = make_id(id, i);
        CHECK_STATUS(mn_space_delete(space, id, (uint32_t)bytes, MN_SUBMIT_WAIT, on_done, &load),
                     MN_OK);
        issued++;
    }
    wait_all(&load, issued);
    CHECK(atomic_load(&load.failed) == 0);
    uint64_t deleted = (LOOKUP_MEMORIES + LOOKUP_DELETE_EVERY - 1) / LOOKUP_DELETE_EVERY;
    check_tables(space, LOOKUP_MEMORIES - deleted);
    insert_ids(space, 0, LOOKUP_MEMORIES, LOOKUP_REINSERT_EVERY, "r");

    uint64_t live = 0;
    for (uint64_t i = 0; i < LOOKUP_MEMORIES; i++) {
        int gone = i % LOOKUP_DELETE_EVERY == 0 && i % LOOKUP_REINSERT_EVERY != 0;
        char content = 0;
        if (i % LOOKUP_REINSERT_EVERY == 0) {
            content = 'r';
        } else if (i % LOOKUP_UPSERT_EVERY == 0) {
            content = 'u';
        }
        live += (uint64_t)check_one(space, i, !gone, content);
    }
    check_tables(space, live);
    CHECK(live == LOOKUP_MEMORIES - deleted + LOOKUP_MEMORIES / LOOKUP_REINSERT_EVERY);
    mn_space_release(space);
}

/* A space deleted down to a twentieth: the tables shrink (to twice the count's power of two)
 * and every survivor is still found by id and by label. */
static void test_shrink(mn_engine *engine) {
    mn_space *space = lookup_space(engine, "shrink");
    insert_ids(space, 0, LOOKUP_SHRINK_MEMORIES, 1, "");
    uint32_t grown = space->table_order;
    CHECK((1ull << grown) >= LOOKUP_SHRINK_MEMORIES);
    lookup_load load;
    atomic_init(&load.done, 0);
    atomic_init(&load.failed, 0);
    uint64_t issued = 0;
    char id[LOOKUP_ID_BYTES];
    for (uint64_t i = 0; i < LOOKUP_SHRINK_MEMORIES; i++) {
        if (i % LOOKUP_SHRINK_KEEP_EVERY == 0) continue;
        int bytes = make_id(id, i);
        CHECK_STATUS(mn_space_delete(space, id, (uint32_t)bytes, MN_SUBMIT_WAIT, on_done, &load),
                     MN_OK);
        issued++;
    }
    wait_all(&load, issued);
    CHECK(atomic_load(&load.failed) == 0);
    uint64_t live = LOOKUP_SHRINK_MEMORIES / LOOKUP_SHRINK_KEEP_EVERY;
    check_tables(space, live);
    CHECK(space->table_order < grown);
    CHECK((1ull << space->table_order) <= 4 * live); /* shrunk to about twice the count */
    for (uint64_t i = 0; i < LOOKUP_SHRINK_MEMORIES; i++) {
        (void)check_one(space, i, i % LOOKUP_SHRINK_KEEP_EVERY == 0, 0);
    }
    mn_space_release(space);
}

int main(void) {
    mn_engine *engine = te_engine(2, 1024);
    test_large_space(engine);
    test_shrink(engine);
    mn_engine_destroy(engine);
    return te_report();
}
