/*
 * test_filter_concurrent_support.h: the run shared by test_engine_filter_concurrent and
 * test_engine_index_concurrent (ThreadSanitizer label): one writer thread inserts, upserts,
 * patches and deletes memories of a space (documents {grp: int, flag: bool}) while reader
 * threads run mn_space_search_filtered, mn_space_list_filtered and mn_space_count_filtered
 * with four filters (a range matching ~80% that is traversed, an eq matching ~10% that is
 * scanned, an in, and a complement inside an AND with a bool), and check every memory handed to
 * their visit callback against the filter with mn_meta_get (not the filter matcher) and every
 * search result nearest first. With field indexes, the writer also drops and re-creates them
 * among its writes, and some searches must have collected their candidates from them.
 */
#ifndef TEST_FILTER_CONCURRENT_SUPPORT_H
#define TEST_FILTER_CONCURRENT_SUPPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/mn_filter.h"
#include "mnemo/mn_meta.h"
#include "test_engine_support.h"

#define DIM 8u
#define PRELOAD 6000u
#define WRITES 1500u
#define READERS 2u
#define ROUNDS 600u
#define WRITES_MAX 200000u
#define GROUPS 10
#define FILTER_COUNT 4
/* The writer drops and re-creates the indexes every this many writes. */
#define INDEX_CYCLE 250u

typedef struct reader_filter {
    const char *json;
    int which;
} reader_filter;

static const reader_filter FILTERS[FILTER_COUNT] = {
    {"{\"grp\": {\"$lt\": 8}}", 0},                                  /* ~80%: traversal */
    {"{\"grp\": 3}", 1},                                               /* ~10%: scan */
    {"{\"grp\": {\"$in\": [0, 9]}}", 2},
    {"{\"$and\": [{\"grp\": {\"$ne\": 4}}, {\"flag\": true}, {\"grp\": {\"$lt\": 3}}]}", 3},
};

static atomic_int stop;
static atomic_ullong violations;
static atomic_ullong strategies[3];
static atomic_ullong results;
static atomic_ullong rounds;
static atomic_ullong from_indexes;
static atomic_ullong coded_reads;

static int grp_matches(const reader_filter *f, int64_t grp, int flag) {
    switch (f->which) {
    case 0: return grp < 8;
    case 1: return grp == 3;
    case 2: return grp == 0 || grp == 9;
    default: return grp != 4 && flag && grp < 3;
    }
}

typedef struct visit_state {
    const reader_filter *filter;
    float last;
    uint32_t count;
} visit_state;

static void visit_check(void *context, const mn_memory_view *view) {
    visit_state *s = context;
    mn_meta_value value, flag;
    if (mn_meta_get(view->metadata, (size_t)view->metadata_bytes, "grp", 3, &value) != MN_OK ||
        mn_meta_get(view->metadata, (size_t)view->metadata_bytes, "flag", 4, &flag) != MN_OK ||
        value.type != MN_META_INT || flag.type != MN_META_BOOL ||
        !grp_matches(s->filter, value.i, flag.b)) {
        atomic_fetch_add(&violations, 1);
    }
    if (s->count > 0 && view->distance < s->last) atomic_fetch_add(&violations, 1);
    s->last = view->distance;
    s->count++;
}

typedef struct reader_args {
    mn_space *space;
    mn_filter *filters[FILTER_COUNT];
    uint64_t seed;
} reader_args;

static void *reader_main(void *arg) {
    reader_args *a = arg;
    uint64_t state = a->seed;
    uint64_t round = 0;
    while (!atomic_load(&stop) || round < 8) {
        /* Each filter three times in a row: with field indexes the second search may reuse
         * the bitmap the first kept (when no write changed the indexes in between), and a
         * scan's third may read the codes the second built. */
        uint32_t f = (uint32_t)(round / 3 % FILTER_COUNT);
        float query[DIM];
        te_vector(te_next(&state) % 100000 + 500000, query, DIM);
        visit_state s = {&FILTERS[f], 0.0f, 0};
        uint32_t found = 0;
        mn_search_stats stats;
        mn_status status = mn_space_search_filtered(a->space, query, DIM, 10, 48, a->filters[f],
                                                    visit_check, &s, &found, &stats);
        if (status != MN_OK || found != s.count) atomic_fetch_add(&violations, 1);
        atomic_fetch_add(&strategies[stats.strategy % 3], 1);
        if (stats.index_flags & MN_SEARCH_INDEX_COLLECT) atomic_fetch_add(&from_indexes, 1);
        if (stats.index_flags & MN_SEARCH_INDEX_CODES) atomic_fetch_add(&coded_reads, 1);
        atomic_fetch_add(&results, found);
        if (round % 16 == 5) {
            visit_state l = {&FILTERS[f], 0.0f, 0};
            uint64_t next = 0;
            status = mn_space_list_filtered(a->space, a->filters[f], 0, 50, visit_check, &l,
                                            &found, &next);
            if (status != MN_OK) atomic_fetch_add(&violations, 1);
            uint64_t count = 0;
            if (mn_space_count_filtered(a->space, a->filters[f], &count) != MN_OK) {
                atomic_fetch_add(&violations, 1);
            }
        }
        round++;
        atomic_fetch_add(&rounds, 1);
    }
    return NULL;
}

static void make_doc(int64_t grp, void **doc, size_t *bytes) {
    mn_meta_builder *b = NULL;
    if (mn_meta_builder_create(&b) != MN_OK) exit(2);
    mn_meta_builder_add_int(b, "grp", 3, grp);
    mn_meta_builder_add_bool(b, "flag", 4, (int)(grp & 1));
    if (mn_meta_builder_finish(b, doc, bytes, NULL) != MN_OK) exit(2);
    mn_meta_builder_destroy(b);
}

static void write_memory(mn_space *space, int upsert, uint32_t i, int64_t grp, uint64_t seed) {
    char id[16];
    snprintf(id, sizeof(id), "m%u", i);
    float v[DIM];
    te_vector(seed, v, DIM);
    void *doc = NULL;
    size_t bytes = 0;
    make_doc(grp, &doc, &bytes);
    mn_status status = (upsert ? mn_space_upsert_meta : mn_space_insert_meta)(
        space, id, (uint32_t)strlen(id), v, DIM, NULL, 0, doc, bytes, MN_SUBMIT_WAIT, NULL, NULL,
        NULL);
    CHECK_STATUS(status, MN_OK);
    mn_meta_free(doc);
}

/* Counts the index writes' completions that were not MN_OK. */
static atomic_ullong index_failures;

static void index_done(void *context, mn_status status, uint64_t detail) {
    (void)context;
    (void)detail;
    if (status != MN_OK) atomic_fetch_add(&index_failures, 1);
}

/* Queues (without waiting for them) the drop of both indexes when `drop`, then their
 * creation: readers meanwhile see them present, absent, or being backfilled. */
static void index_cycle(mn_space *space, int drop) {
    if (drop) {
        CHECK_STATUS(mn_space_index_drop(space, "grp", 3, MN_SUBMIT_WAIT, index_done, NULL), MN_OK);
        CHECK_STATUS(mn_space_index_drop(space, "flag", 4, MN_SUBMIT_WAIT, index_done, NULL), MN_OK);
    }
    CHECK_STATUS(mn_space_index_create(space, "flag", 4, MN_INDEX_KEYWORD, MN_SUBMIT_WAIT,
                                       index_done, NULL),
                 MN_OK);
    CHECK_STATUS(mn_space_index_create(space, "grp", 3, MN_INDEX_NUMERIC, MN_SUBMIT_WAIT,
                                       index_done, NULL),
                 MN_OK);
}

/* Runs the readers against the writer; with `with_indexes`, the space has field indexes on grp
 * and flag that the writer drops and re-creates every INDEX_CYCLE writes. */
static int tfc_run(int with_indexes) {
    mn_engine *engine = te_engine(2, 256);
    mn_space *space = te_space(engine, "c", DIM, MN_METRIC_L2);
    uint64_t state = 99;
    for (uint32_t i = 0; i < PRELOAD; i++) {
        write_memory(space, 0, i, (int64_t)(te_next(&state) % GROUPS), i + 1);
    }
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_barrier(space, MN_SUBMIT_WAIT, te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    if (with_indexes) index_cycle(space, 0);

    reader_args args[READERS];
    pthread_t threads[READERS];
    for (uint32_t r = 0; r < READERS; r++) {
        args[r].space = space;
        args[r].seed = 7 + r;
        for (int f = 0; f < FILTER_COUNT; f++) {
            mn_filter_error error;
            CHECK_STATUS(mn_filter_parse(FILTERS[f].json, strlen(FILTERS[f].json),
                                         &args[r].filters[f], &error),
                         MN_OK);
        }
        pthread_create(&threads[r], NULL, reader_main, &args[r]);
    }
    /* The writer: inserts, upserts with a new vector and group, patches the group, deletes. */
    uint32_t next = PRELOAD;
    /* At least WRITES writes, and on until the readers have run ROUNDS searches among them
     * (a bound keeps a stalled reader from running the test forever). */
    for (uint32_t op = 0; op < WRITES || (atomic_load(&rounds) < ROUNDS && op < WRITES_MAX); op++) {
        uint32_t kind = (uint32_t)(te_next(&state) % 4);
        uint32_t target = (uint32_t)(te_next(&state) % next);
        int64_t grp = (int64_t)(te_next(&state) % GROUPS);
        char id[16];
        snprintf(id, sizeof(id), "m%u", target);
        if (with_indexes && op % INDEX_CYCLE == INDEX_CYCLE / 2) index_cycle(space, 1);
        if (kind == 0) {
            write_memory(space, 0, next, grp, next + 1);
            next++;
        } else if (kind == 1) {
            write_memory(space, 1, target, grp, te_next(&state) % 100000 + 1);
        } else if (kind == 2) {
            void *set = NULL, *patch = NULL;
            size_t set_bytes = 0, patch_bytes = 0;
            make_doc(grp, &set, &set_bytes);
            CHECK_STATUS(mn_meta_patch_encode(set, set_bytes, NULL, NULL, 0, &patch, &patch_bytes,
                                              NULL),
                         MN_OK);
            CHECK_STATUS(mn_space_patch_metadata(space, id, (uint32_t)strlen(id), patch,
                                                 patch_bytes, MN_SUBMIT_WAIT, NULL, NULL, NULL),
                         MN_OK);
            mn_meta_free(set);
            mn_meta_free(patch);
        } else {
            CHECK_STATUS(mn_space_delete(space, id, (uint32_t)strlen(id), MN_SUBMIT_WAIT, NULL,
                                         NULL),
                         MN_OK);
        }
    }
    te_wait_init(&w);
    CHECK_STATUS(mn_space_barrier(space, MN_SUBMIT_WAIT, te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    atomic_store(&stop, 1);
    for (uint32_t r = 0; r < READERS; r++) {
        pthread_join(threads[r], NULL);
        for (int f = 0; f < FILTER_COUNT; f++) mn_filter_free(args[r].filters[f]);
    }
    printf("searches: %llu scans (%llu from indexes, %llu through codes), %llu traversals, %llu results, "
           "%llu violations\n",
           (unsigned long long)atomic_load(&strategies[MN_SEARCH_STRATEGY_EXACT_SCAN]),
           (unsigned long long)atomic_load(&from_indexes), (unsigned long long)atomic_load(&coded_reads),
           (unsigned long long)atomic_load(&strategies[MN_SEARCH_STRATEGY_TRAVERSAL]),
           (unsigned long long)atomic_load(&results),
           (unsigned long long)atomic_load(&violations));
    CHECK(atomic_load(&violations) == 0);
    CHECK(atomic_load(&strategies[MN_SEARCH_STRATEGY_EXACT_SCAN]) > 0);
    CHECK(atomic_load(&strategies[MN_SEARCH_STRATEGY_TRAVERSAL]) > 0);
    CHECK(atomic_load(&results) > 0);
    if (with_indexes) {
        CHECK(atomic_load(&from_indexes) > 0);
        CHECK(atomic_load(&index_failures) == 0);
    }
    mn_space_release(space);
    mn_engine_destroy(engine);
    return te_report();
}

#endif /* TEST_FILTER_CONCURRENT_SUPPORT_H */
