/*
 * test_engine.c: the engine's API behaviour, one operation at a time.
 *
 * Proves: space names are validated and unique; insert, get, search, upsert and delete do what
 * the header says, and a get or search issued after a completion sees it; every bad input
 * (wrong dimension, NaN, infinity, zero cosine vector, empty or oversized id, oversized content,
 * invalid or repeated batch item) returns its status and leaves the space unchanged (count and
 * applied-operation counter); a full mailbox reports MN_ERR_FULL and drops nothing; a dropped
 * space and a closed engine refuse writes with their own statuses.
 */
#include <math.h>
#include <sched.h>

#include "test_engine_support.h"

#define DIM 16

typedef struct te_copy {
    char id[MN_ENGINE_ID_BYTES_MAX + 1];
    char content[256];
    uint64_t content_bytes;
    int64_t created_ns;
    float distance;
    int calls;
} te_copy;

static void te_copy_visit(void *context, const mn_memory_view *view) {
    te_copy *copy = context;
    if (copy->calls++ == 0) {
        memcpy(copy->id, view->id, view->id_bytes);
        copy->id[view->id_bytes] = '\0';
        uint64_t n = view->content_bytes < sizeof(copy->content) - 1 ? view->content_bytes
                                                                      : sizeof(copy->content) - 1;
        memcpy(copy->content, view->content, n);
        copy->content[n] = '\0';
        copy->content_bytes = view->content_bytes;
        copy->created_ns = view->created_ns;
        copy->distance = view->distance;
    }
}

static uint64_t te_count(mn_space *space) {
    mn_space_stats stats;
    mn_space_stats_get(space, &stats);
    return stats.count;
}

static uint64_t te_applied(mn_space *space) {
    mn_space_stats stats;
    mn_space_stats_get(space, &stats);
    return stats.ops_applied;
}

static mn_status te_barrier(mn_space *space) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_barrier(space, MN_SUBMIT_WAIT, te_wait_done, &w);
    if (status != MN_OK) return status;
    return te_wait_for(&w);
}

static void test_names(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    char long_name[MN_ENGINE_NAME_BYTES_MAX + 2];
    memset(long_name, 'n', sizeof(long_name));
    CHECK_STATUS(mn_engine_space_create(engine, "", 0, &params, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_engine_space_create(engine, long_name, MN_ENGINE_NAME_BYTES_MAX + 1,
                                        &params, NULL),
                 MN_ERR_TOO_LARGE);
    CHECK_STATUS(mn_engine_space_create(engine, long_name, MN_ENGINE_NAME_BYTES_MAX, &params,
                                        NULL),
                 MN_OK);
    CHECK_STATUS(mn_engine_space_create(engine, "\xff\xfe", 2, &params, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_engine_space_create(engine, "\xc0\xaf", 2, &params, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_engine_space_create(engine, "caf\xc3\xa9", 5, &params, NULL), MN_OK);
    CHECK_STATUS(mn_engine_space_create(engine, "caf\xc3\xa9", 5, &params, NULL),
                 MN_ERR_DUPLICATE);
    mn_hnsw_params bad = params;
    bad.dimension = 0;
    CHECK_STATUS(mn_engine_space_create(engine, "zero", 4, &bad, NULL), MN_ERR_DIMENSION);
    mn_space *space = NULL;
    CHECK_STATUS(mn_engine_space_open(engine, "nope", 4, &space), MN_ERR_UNKNOWN_SPACE);
    CHECK(space == NULL);
    CHECK_STATUS(mn_engine_space_open(engine, "caf\xc3\xa9", 5, &space), MN_OK);
    mn_space_stats stats;
    mn_space_stats_get(space, &stats);
    uint32_t home = 99;
    mn_engine_space_home(engine, "caf\xc3\xa9", 5, &home);
    CHECK(stats.home_worker == home && home < 2);
    CHECK(stats.dimension == DIM && stats.count == 0);
    mn_space_release(space);
    uint64_t count = 0;
    mn_engine_space_count(engine, &count);
    CHECK(count == 2);
    CHECK_STATUS(mn_engine_space_drop(engine, "caf\xc3\xa9", 5), MN_OK);
    CHECK_STATUS(mn_engine_space_drop(engine, "caf\xc3\xa9", 5), MN_ERR_UNKNOWN_SPACE);
    mn_engine_space_count(engine, &count);
    CHECK(count == 1);
    /* Homes are a deterministic function of the name. */
    uint32_t a = 0, b = 0;
    mn_engine_space_home(engine, "agent-42", 8, &a);
    mn_engine_space_home(engine, "agent-42", 8, &b);
    CHECK(a == b);
    mn_engine_destroy(engine);
}

static void test_insert_get_search(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "basic", DIM, MN_METRIC_L2);
    float vector[DIM];
    char id[32], content[64];
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "m-%d", i);
        snprintf(content, sizeof(content), "content of %d", i);
        te_vector((uint64_t)i, vector, DIM);
        CHECK_STATUS(te_insert(space, id, vector, DIM, content, NULL), MN_OK);
        /* Read-your-writes: the completion has run, so get sees it at once. */
        te_copy copy = {0};
        if (i % 20 == 0) {
            CHECK_STATUS(mn_space_get(space, id, (uint32_t)strlen(id), NULL, 0, te_copy_visit,
                                      &copy),
                         MN_OK);
            CHECK(strcmp(copy.content, content) == 0);
        }
    }
    CHECK(te_count(space) == 200);
    int self_found = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "m-%d", i);
        te_vector((uint64_t)i, vector, DIM);
        float stored[DIM];
        te_copy copy = {0};
        CHECK_STATUS(mn_space_get(space, id, (uint32_t)strlen(id), stored, DIM, te_copy_visit,
                                  &copy),
                     MN_OK);
        CHECK(memcmp(stored, vector, sizeof(vector)) == 0);
        snprintf(content, sizeof(content), "content of %d", i);
        CHECK(copy.calls == 1 && strcmp(copy.content, content) == 0);
        CHECK(copy.created_ns > 1600000000LL * 1000000000LL);
        te_copy hit = {0};
        uint32_t found = 0;
        CHECK_STATUS(mn_space_search(space, vector, DIM, 5, 64, te_copy_visit, &hit, &found),
                     MN_OK);
        CHECK(found == 5 && hit.calls == 5);
        self_found += strcmp(hit.id, id) == 0 && hit.distance == 0.0f;
    }
    CHECK(self_found >= 196); /* HNSW is approximate; on 200 points it finds itself */
    /* Wrong get/search arguments. */
    uint32_t found = 0;
    CHECK_STATUS(mn_space_get(space, "absent", 6, NULL, 0, NULL, NULL), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_space_get(space, "m-1", 3, vector, DIM + 1, NULL, NULL), MN_ERR_DIMENSION);
    CHECK_STATUS(mn_space_search(space, vector, DIM + 1, 5, 0, NULL, NULL, &found),
                 MN_ERR_DIMENSION);
    CHECK_STATUS(mn_space_search(space, vector, DIM, 0, 0, NULL, NULL, &found), MN_ERR_INVALID);
    /* k above the stack scratch takes the heap path. */
    CHECK_STATUS(mn_space_search(space, vector, DIM, 150, 0, NULL, NULL, &found), MN_OK);
    CHECK(found == 150);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

static void test_bad_inputs(void) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 1;
    options.content_bytes_max = 32;
    mn_engine *engine = NULL;
    CHECK_STATUS(mn_engine_create(&options, &engine), MN_OK);
    mn_space *space = te_space(engine, "strict", DIM, MN_METRIC_COSINE);
    float vector[DIM];
    te_vector(1, vector, DIM);
    CHECK_STATUS(te_insert(space, "keep", vector, DIM, "original", NULL), MN_OK);
    uint64_t applied = te_applied(space);

    float nan_vector[DIM], inf_vector[DIM], zero[DIM];
    memcpy(nan_vector, vector, sizeof(vector));
    nan_vector[3] = NAN;
    memcpy(inf_vector, vector, sizeof(vector));
    inf_vector[DIM - 1] = -INFINITY;
    memset(zero, 0, sizeof(zero));
    char long_id[MN_ENGINE_ID_BYTES_MAX + 1];
    memset(long_id, 'i', sizeof(long_id));
    const char *big = "0123456789012345678901234567890123456789";
    CHECK_STATUS(mn_space_insert(space, "a", 1, vector, DIM - 1, NULL, 0, 0, NULL, NULL),
                 MN_ERR_DIMENSION);
    CHECK_STATUS(mn_space_insert(space, "a", 1, nan_vector, DIM, NULL, 0, 0, NULL, NULL),
                 MN_ERR_NON_FINITE);
    CHECK_STATUS(mn_space_insert(space, "a", 1, inf_vector, DIM, NULL, 0, 0, NULL, NULL),
                 MN_ERR_NON_FINITE);
    CHECK_STATUS(mn_space_insert(space, "a", 1, zero, DIM, NULL, 0, 0, NULL, NULL),
                 MN_ERR_ZERO_VECTOR);
    CHECK_STATUS(mn_space_insert(space, "", 0, vector, DIM, NULL, 0, 0, NULL, NULL),
                 MN_ERR_INVALID);
    CHECK_STATUS(mn_space_insert(space, long_id, MN_ENGINE_ID_BYTES_MAX + 1, vector, DIM, NULL,
                                 0, 0, NULL, NULL),
                 MN_ERR_TOO_LARGE);
    CHECK_STATUS(mn_space_insert(space, long_id, MN_ENGINE_ID_BYTES_MAX, vector, DIM,
                                 (const uint8_t *)big, 32, MN_SUBMIT_WAIT, NULL, NULL),
                 MN_OK); /* exactly at both limits */
    CHECK_STATUS(mn_space_insert(space, "a", 1, vector, DIM, (const uint8_t *)big, 33, 0, NULL,
                                 NULL),
                 MN_ERR_TOO_LARGE);
    CHECK_STATUS(mn_space_upsert(space, "keep", 4, nan_vector, DIM, NULL, 0, 0, NULL, NULL),
                 MN_ERR_NON_FINITE);
    CHECK_STATUS(mn_space_delete(space, "", 0, 0, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(te_barrier(space), MN_OK);
    CHECK(te_applied(space) == applied + 2); /* the at-limit insert and the barrier only */
    CHECK(te_count(space) == 2);

    /* A duplicate id is found by the worker: the completion says so, nothing changes. */
    uint64_t detail = 0;
    float other[DIM];
    te_vector(2, other, DIM);
    CHECK_STATUS(te_insert(space, "keep", other, DIM, "replacement", &detail),
                 MN_ERR_DUPLICATE);
    te_copy copy = {0};
    CHECK_STATUS(mn_space_get(space, "keep", 4, NULL, 0, te_copy_visit, &copy), MN_OK);
    CHECK(strcmp(copy.content, "original") == 0);
    CHECK(te_count(space) == 2);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

static void test_upsert_delete(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "edits", DIM, MN_METRIC_L2);
    float first[DIM], second[DIM];
    te_vector(10, first, DIM);
    te_vector(11, second, DIM);
    char id[16];
    for (int i = 0; i < 50; i++) {
        float v[DIM];
        te_vector(1000 + (uint64_t)i, v, DIM);
        snprintf(id, sizeof(id), "bg-%d", i);
        te_insert(space, id, v, DIM, NULL, NULL);
    }
    /* Upsert of a new id inserts (detail 0). */
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_upsert(space, "x", 1, first, DIM, (const uint8_t *)"one", 3,
                                 MN_SUBMIT_WAIT, te_wait_done, &w),
                 MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    CHECK(w.detail == 0);
    te_copy before = {0};
    mn_space_get(space, "x", 1, NULL, 0, te_copy_visit, &before);
    /* Upsert of an existing id replaces vector and content, keeps the creation time. */
    te_wait_init(&w);
    CHECK_STATUS(mn_space_upsert(space, "x", 1, second, DIM, (const uint8_t *)"two", 3,
                                 MN_SUBMIT_WAIT, te_wait_done, &w),
                 MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    CHECK(w.detail == 1);
    CHECK(te_count(space) == 51);
    te_copy after = {0};
    float stored[DIM];
    CHECK_STATUS(mn_space_get(space, "x", 1, stored, DIM, te_copy_visit, &after), MN_OK);
    CHECK(strcmp(after.content, "two") == 0);
    CHECK(after.created_ns == before.created_ns);
    CHECK(memcmp(stored, second, sizeof(second)) == 0);
    te_copy hit = {0};
    uint32_t found = 0;
    mn_space_search(space, second, DIM, 1, 64, te_copy_visit, &hit, &found);
    CHECK(found == 1 && strcmp(hit.id, "x") == 0 && hit.distance == 0.0f);
    hit = (te_copy){0};
    mn_space_search(space, first, DIM, 1, 64, te_copy_visit, &hit, &found);
    CHECK(found == 1 && !(strcmp(hit.id, "x") == 0 && hit.distance == 0.0f));

    /* Delete: detail 1, then gone from get and search; again: not found. */
    te_wait_init(&w);
    CHECK_STATUS(mn_space_delete(space, "x", 1, MN_SUBMIT_WAIT, te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    CHECK(w.detail == 1);
    CHECK_STATUS(mn_space_get(space, "x", 1, NULL, 0, NULL, NULL), MN_ERR_NOT_FOUND);
    hit = (te_copy){0};
    mn_space_search(space, second, DIM, 1, 64, te_copy_visit, &hit, &found);
    CHECK(found == 1 && strcmp(hit.id, "x") != 0);
    te_wait_init(&w);
    CHECK_STATUS(mn_space_delete(space, "x", 1, MN_SUBMIT_WAIT, te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_ERR_NOT_FOUND);
    CHECK(te_count(space) == 50);
    /* The id can be inserted again after its delete. */
    CHECK_STATUS(te_insert(space, "x", first, DIM, "three", NULL), MN_OK);
    CHECK(te_count(space) == 51);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

/* Packs `count` memories named prefix-i into the arrays of a batch. */
typedef struct te_batch {
    mn_batch_in in;
    float *vectors;
    char *ids;
    uint64_t *id_offsets;
    uint8_t *contents;
    uint64_t *content_offsets;
} te_batch;

static void te_batch_make(te_batch *b, const char *prefix, size_t count, uint64_t seed) {
    b->vectors = malloc(count * DIM * sizeof(float));
    b->ids = malloc(count * 40);
    b->id_offsets = malloc((count + 1) * sizeof(uint64_t));
    b->contents = malloc(count * 40);
    b->content_offsets = malloc((count + 1) * sizeof(uint64_t));
    b->id_offsets[0] = 0;
    b->content_offsets[0] = 0;
    for (size_t i = 0; i < count; i++) {
        te_vector(seed + i, b->vectors + i * DIM, DIM);
        int n = sprintf(b->ids + b->id_offsets[i], "%s-%zu", prefix, i);
        b->id_offsets[i + 1] = b->id_offsets[i] + (uint64_t)n;
        n = sprintf((char *)b->contents + b->content_offsets[i], "body %zu", i);
        b->content_offsets[i + 1] = b->content_offsets[i] + (uint64_t)n;
    }
    b->in = (mn_batch_in){.count = count, .dimension = DIM, .vectors = b->vectors,
                          .ids = b->ids, .id_offsets = b->id_offsets,
                          .contents = b->contents, .content_offsets = b->content_offsets,
                          .created_ns = NULL};
}

static void te_batch_free(te_batch *b) {
    free(b->vectors);
    free(b->ids);
    free(b->id_offsets);
    free(b->contents);
    free(b->content_offsets);
}

static mn_status te_batch_insert(mn_space *space, te_batch *b, size_t *failed,
                                 uint64_t *detail) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_insert_batch(space, &b->in, MN_SUBMIT_WAIT, te_wait_done, &w,
                                             failed);
    if (status != MN_OK) {
        te_wait_done(&w, status, 0);
        te_wait_for(&w);
        return status;
    }
    status = te_wait_for(&w);
    if (detail) *detail = w.detail;
    return status;
}

static void test_batches(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "batches", DIM, MN_METRIC_L2);
    te_batch b;
    te_batch_make(&b, "b", 50, 100);
    size_t failed = 0;
    CHECK_STATUS(te_batch_insert(space, &b, &failed, NULL), MN_OK);
    CHECK(te_count(space) == 50);
    te_copy copy = {0};
    CHECK_STATUS(mn_space_get(space, "b-49", 4, NULL, 0, te_copy_visit, &copy), MN_OK);
    CHECK(strcmp(copy.content, "body 49") == 0);
    uint64_t applied = te_applied(space);

    /* One bad vector rejects the whole batch and names the offender. */
    te_batch bad;
    te_batch_make(&bad, "c", 20, 500);
    bad.vectors[7 * DIM + 2] = NAN;
    CHECK_STATUS(te_batch_insert(space, &bad, &failed, NULL), MN_ERR_NON_FINITE);
    CHECK(failed == 7);
    te_batch_free(&bad);
    /* An id repeated inside the batch: the second occurrence is the offender. */
    te_batch_make(&bad, "c", 20, 500);
    memcpy(bad.ids + bad.id_offsets[9], "c-3", 3); /* "c-9" becomes "c-3" (same length) */
    CHECK_STATUS(te_batch_insert(space, &bad, &failed, NULL), MN_ERR_DUPLICATE);
    CHECK(failed == 9);
    te_batch_free(&bad);
    /* Wrong dimension, and an empty id. */
    te_batch_make(&bad, "c", 20, 500);
    bad.in.dimension = DIM + 1;
    CHECK_STATUS(te_batch_insert(space, &bad, &failed, NULL), MN_ERR_DIMENSION);
    bad.in.dimension = DIM;
    bad.id_offsets[5] = bad.id_offsets[4]; /* item 4 becomes an empty id */
    CHECK_STATUS(te_batch_insert(space, &bad, &failed, NULL), MN_ERR_INVALID);
    CHECK(failed == 4);
    te_batch_free(&bad);
    CHECK(te_applied(space) == applied);
    CHECK(te_count(space) == 50);

    /* An id already in the space is found by the worker: nothing of the batch is applied. */
    te_batch_make(&bad, "d", 30, 900);
    memcpy(bad.ids + bad.id_offsets[17], "b-1", 3); /* "d-17" -> "b-17": exists */
    uint64_t detail = 0;
    CHECK_STATUS(te_batch_insert(space, &bad, &failed, &detail), MN_ERR_DUPLICATE);
    CHECK(detail == 17);
    CHECK(te_count(space) == 50);
    CHECK_STATUS(mn_space_get(space, "d-0", 3, NULL, 0, NULL, NULL), MN_ERR_NOT_FOUND);
    te_batch_free(&bad);
    te_batch_free(&b);

    /* A large batch, linked with the idle worker's help. */
    te_batch large;
    te_batch_make(&large, "L", 3000, 5000);
    CHECK_STATUS(te_batch_insert(space, &large, &failed, NULL), MN_OK);
    CHECK(te_count(space) == 3050);
    int self = 0;
    for (size_t i = 0; i < 3000; i += 10) {
        te_copy hit = {0};
        uint32_t found = 0;
        mn_space_search(space, large.vectors + i * DIM, DIM, 1, 64, te_copy_visit, &hit,
                        &found);
        char id[32];
        snprintf(id, sizeof(id), "L-%zu", i);
        self += found == 1 && strcmp(hit.id, id) == 0;
    }
    CHECK(self >= 285); /* >= 95% of 300 probes find themselves */
    te_batch_free(&large);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

/* A barrier whose completion blocks until the test opens the gate: it holds the worker. */
typedef struct te_gate {
    atomic_int entered;
    atomic_int open;
} te_gate;

static void te_gate_done(void *context, mn_status status, uint64_t detail) {
    (void)status;
    (void)detail;
    te_gate *gate = context;
    atomic_store(&gate->entered, 1);
    while (!atomic_load(&gate->open)) sched_yield();
}

static atomic_int te_completed;
static void te_count_done(void *context, mn_status status, uint64_t detail) {
    (void)context;
    (void)detail;
    if (status == MN_OK) atomic_fetch_add(&te_completed, 1);
}

static void test_back_pressure(void) {
    mn_engine *engine = te_engine(1, 2);
    mn_space *space = te_space(engine, "narrow", DIM, MN_METRIC_L2);
    te_gate gate;
    atomic_init(&gate.entered, 0);
    atomic_init(&gate.open, 0);
    CHECK_STATUS(mn_space_barrier(space, 0, te_gate_done, &gate), MN_OK);
    while (!atomic_load(&gate.entered)) sched_yield();
    float vector[DIM];
    te_vector(3, vector, DIM);
    atomic_store(&te_completed, 0);
    CHECK_STATUS(mn_space_insert(space, "p", 1, vector, DIM, NULL, 0, 0, te_count_done, NULL),
                 MN_OK);
    CHECK_STATUS(mn_space_insert(space, "q", 1, vector, DIM, NULL, 0, 0, te_count_done, NULL),
                 MN_OK);
    CHECK_STATUS(mn_space_insert(space, "r", 1, vector, DIM, NULL, 0, 0, te_count_done, NULL),
                 MN_ERR_FULL);
    mn_space_stats stats;
    mn_space_stats_get(space, &stats);
    CHECK(stats.queue_depth == 2);
    atomic_store(&gate.open, 1);
    CHECK_STATUS(te_barrier(space), MN_OK);
    CHECK(atomic_load(&te_completed) == 2);
    CHECK(te_count(space) == 2);
    CHECK_STATUS(mn_space_get(space, "r", 1, NULL, 0, NULL, NULL), MN_ERR_NOT_FOUND);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

static void test_drop_and_close(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "temp", DIM, MN_METRIC_L2);
    float vector[DIM];
    te_vector(4, vector, DIM);
    CHECK_STATUS(te_insert(space, "a", vector, DIM, "x", NULL), MN_OK);
    CHECK_STATUS(mn_engine_space_drop(engine, "temp", 4), MN_OK);
    CHECK_STATUS(mn_space_insert(space, "b", 1, vector, DIM, NULL, 0, 0, NULL, NULL),
                 MN_ERR_UNKNOWN_SPACE);
    CHECK_STATUS(mn_space_get(space, "a", 1, NULL, 0, NULL, NULL), MN_ERR_UNKNOWN_SPACE);
    mn_space *again = te_space(engine, "temp", DIM, MN_METRIC_L2); /* the name is free */
    CHECK_STATUS(mn_space_get(again, "a", 1, NULL, 0, NULL, NULL), MN_ERR_NOT_FOUND);
    mn_space_release(space);
    /* Close applies what is queued, then refuses. */
    atomic_store(&te_completed, 0);
    char id[16];
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof(id), "c-%d", i);
        te_vector((uint64_t)i + 50, vector, DIM);
        mn_space_insert(again, id, (uint32_t)strlen(id), vector, DIM, NULL, 0, MN_SUBMIT_WAIT,
                        te_count_done, NULL);
    }
    CHECK_STATUS(mn_engine_close(engine), MN_OK);
    CHECK(atomic_load(&te_completed) == 100);
    CHECK(te_count(again) == 100);
    CHECK_STATUS(mn_space_insert(again, "z", 1, vector, DIM, NULL, 0, 0, NULL, NULL),
                 MN_ERR_CLOSED);
    mn_space *closed = NULL;
    CHECK_STATUS(mn_engine_space_open(engine, "temp", 4, &closed), MN_ERR_CLOSED);
    CHECK_STATUS(mn_space_get(again, "c-5", 3, NULL, 0, NULL, NULL), MN_OK); /* reads go on */
    mn_space_release(again);
    mn_engine_destroy(engine);
}

static void test_options(void) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    mn_engine *engine = NULL;
    options.mailbox_depth = 3;
    CHECK_STATUS(mn_engine_create(&options, &engine), MN_ERR_INVALID);
    mn_engine_options_default(&options);
    options.workers = MN_ENGINE_WORKERS_MAX + 1;
    CHECK_STATUS(mn_engine_create(&options, &engine), MN_ERR_TOO_LARGE);
    mn_engine_options_default(&options);
    options.content_bytes_max = (uint64_t)MN_ENGINE_CONTENT_BYTES_MAX + 1;
    CHECK_STATUS(mn_engine_create(&options, &engine), MN_ERR_INVALID);
    CHECK(engine == NULL);
    CHECK_STATUS(mn_engine_create(NULL, &engine), MN_OK);
    uint32_t workers = 0;
    mn_engine_worker_count(engine, &workers);
    CHECK(workers >= 1);
    mn_worker_stats stats;
    CHECK_STATUS(mn_engine_worker_stats(engine, workers, &stats), MN_ERR_INVALID);
    CHECK_STATUS(mn_engine_worker_stats(engine, 0, &stats), MN_OK);
    CHECK(stats.ops == 0);
    mn_engine_destroy(engine);
}

int main(void) {
    test_options();
    test_names();
    test_insert_get_search();
    test_bad_inputs();
    test_upsert_delete();
    test_batches();
    test_back_pressure();
    test_drop_and_close();
    return te_report();
}
