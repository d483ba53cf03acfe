/*
 * test_engine_limits.c: the engine's byte limits (issue 9 item 12): bytes queued per space and
 * bytes held per space, configured in mn_engine_options.
 *
 * Before them a mailbox bounded how many writes waited but not their weight, and nothing
 * bounded a space's memory. Proves: the defaults are the named constants and 0 selects them;
 * with the space's worker parked (an export whose write callback waits), submits past
 * queue_bytes_max return MN_ERR_FULL well before the mailbox depth is reached and queue nothing,
 * a waiting submit (MN_SUBMIT_WAIT) goes through once the queue drains, and one write larger
 * than the limit is MN_ERR_TOO_LARGE; a space at space_bytes_max refuses inserts, upserts and
 * batches with MN_ERR_TOO_LARGE and stays as it was (count, the refused ids absent), its
 * mn_space_stats.bytes stays under the cap, and deletes still pass.
 */
#include <pthread.h>

#include "test_space_support.h"

#define DIM 8
#define CONTENT 4096

/* ---- a worker parked inside an export ---- */

typedef struct parker {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int parked, released;
    mn_space *space;
    mn_status status;
} parker;

static mn_status parker_write(void *context, const void *data, size_t size) {
    (void)data;
    (void)size;
    parker *p = context;
    pthread_mutex_lock(&p->lock);
    if (!p->parked) {
        p->parked = 1;
        pthread_cond_broadcast(&p->cond);
        while (!p->released) pthread_cond_wait(&p->cond, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return MN_OK;
}

static void *parker_main(void *argument) {
    parker *p = argument;
    p->status = mn_space_export(p->space, parker_write, p);
    return NULL;
}

typedef struct waiter {
    mn_space *space;
    mn_status status;
} waiter;

static void *waiter_main(void *argument) {
    waiter *w = argument;
    static uint8_t content[CONTENT];
    float v[DIM];
    te_vector(99, v, DIM);
    te_wait done;
    te_wait_init(&done);
    w->status = mn_space_insert(w->space, "waited", 6, v, DIM, content, sizeof(content),
                                MN_SUBMIT_WAIT, te_wait_done, &done);
    if (w->status == MN_OK) w->status = te_wait_for(&done);
    return NULL;
}

static mn_engine *engine_with(uint64_t queue_bytes, uint64_t space_bytes) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 1;
    options.pin_workers = 0;
    options.queue_bytes_max = queue_bytes;
    options.space_bytes_max = space_bytes;
    mn_engine *engine = NULL;
    CHECK_STATUS(mn_engine_create(&options, &engine), MN_OK);
    return engine;
}

static void test_defaults(void) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    CHECK(options.queue_bytes_max == MN_ENGINE_QUEUE_BYTES_DEFAULT);
    CHECK(options.space_bytes_max == MN_ENGINE_SPACE_BYTES_DEFAULT);
    /* 0 means the default: a normal write passes. */
    mn_engine *engine = engine_with(0, 0);
    mn_space *space = te_space(engine, "defaults", DIM, MN_METRIC_L2);
    float v[DIM];
    te_vector(1, v, DIM);
    CHECK_STATUS(ts_write(space, 0, "a", v, DIM, "x"), MN_OK);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

static void test_queue_bytes(void) {
    const uint64_t limit = 64u * 1024u; /* about 15 writes of 4 KiB */
    mn_engine *engine = engine_with(limit, 0);
    mn_space *space = te_space(engine, "queue", DIM, MN_METRIC_L2);
    parker p = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, space, MN_OK};
    pthread_t thread;
    pthread_create(&thread, NULL, parker_main, &p);
    pthread_mutex_lock(&p.lock);
    while (!p.parked) pthread_cond_wait(&p.cond, &p.lock);
    pthread_mutex_unlock(&p.lock);

    static uint8_t content[CONTENT];
    static te_wait waits[64];
    float v[DIM];
    char id[32];
    int accepted = 0;
    mn_status refused = MN_OK;
    for (int i = 0; i < 64; i++) {
        snprintf(id, sizeof(id), "q%d", i);
        te_vector((uint64_t)i, v, DIM);
        te_wait_init(&waits[i]);
        mn_status status = mn_space_insert(space, id, (uint32_t)strlen(id), v, DIM, content,
                                           sizeof(content), 0, te_wait_done, &waits[i]);
        if (status != MN_OK) {
            refused = status;
            break;
        }
        accepted++;
    }
    CHECK(refused == MN_ERR_FULL); /* by bytes: 64 writes is far below the depth of 1024 */
    CHECK(accepted > 0 && (uint64_t)accepted * CONTENT <= limit);
    mn_space_stats stats;
    CHECK_STATUS(mn_space_stats_get(space, &stats), MN_OK);
    CHECK(stats.queue_depth == (uint64_t)accepted); /* the refused write queued nothing */
    /* A write larger than the whole limit can never queue. */
    static uint8_t big[128u * 1024u];
    CHECK_STATUS(mn_space_insert(space, "big", 3, v, DIM, big, sizeof(big), MN_SUBMIT_WAIT,
                                 te_wait_done, &waits[63]), MN_ERR_TOO_LARGE);
    /* A waiting submit waits for room, then goes through. */
    waiter w = {space, MN_ERR_INVALID};
    pthread_t waiting;
    pthread_create(&waiting, NULL, waiter_main, &w);

    pthread_mutex_lock(&p.lock);
    p.released = 1;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.lock);
    pthread_join(thread, NULL);
    CHECK_STATUS(p.status, MN_OK);
    int all_ok = 1;
    for (int i = 0; i < accepted; i++) all_ok &= te_wait_for(&waits[i]) == MN_OK;
    CHECK(all_ok);
    pthread_join(waiting, NULL);
    CHECK_STATUS(w.status, MN_OK);
    CHECK(ts_count(space) == (uint64_t)accepted + 1);
    CHECK_STATUS(mn_space_get(space, "big", 3, NULL, 0, NULL, NULL), MN_ERR_NOT_FOUND);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

static void test_space_bytes(void) {
    const uint64_t cap = 1u << 20;
    mn_engine *engine = engine_with(0, cap);
    mn_space *space = te_space(engine, "capped", DIM, MN_METRIC_L2);
    static uint8_t content[1024];
    float v[DIM];
    char id[32];
    uint32_t stored = 0;
    mn_status refused = MN_OK;
    for (uint32_t i = 0; i < 4096; i++) {
        snprintf(id, sizeof(id), "s%u", i);
        te_vector(i, v, DIM);
        te_wait w;
        te_wait_init(&w);
        mn_status status = mn_space_insert(space, id, (uint32_t)strlen(id), v, DIM, content,
                                           sizeof(content), MN_SUBMIT_WAIT, te_wait_done, &w);
        if (status == MN_OK) status = te_wait_for(&w);
        if (status != MN_OK) {
            refused = status;
            break;
        }
        stored++;
    }
    CHECK(refused == MN_ERR_TOO_LARGE);
    CHECK(stored > 100); /* room for hundreds of 1 KiB memories in 1 MiB */
    mn_space_stats stats;
    CHECK_STATUS(mn_space_stats_get(space, &stats), MN_OK);
    CHECK(stats.bytes <= cap);
    CHECK(stats.count == stored);
    /* Refused: nothing changes. */
    te_vector(5000, v, DIM);
    static uint8_t other[1024];
    memset(other, 7, sizeof(other));
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_insert(space, "late", 4, v, DIM, other, sizeof(other), MN_SUBMIT_WAIT,
                                 te_wait_done, &w), MN_ERR_TOO_LARGE);
    CHECK_STATUS(mn_space_upsert(space, "s0", 2, v, DIM, other, sizeof(other), MN_SUBMIT_WAIT,
                                 te_wait_done, &w), MN_ERR_TOO_LARGE);
    uint64_t id_offsets[2] = {0, 5}, content_offsets[2] = {0, sizeof(other)};
    mn_batch_in batch = {1, DIM, v, "batch", id_offsets, other, content_offsets, NULL};
    CHECK_STATUS(mn_space_insert_batch(space, &batch, MN_SUBMIT_WAIT, te_wait_done, &w, NULL),
                 MN_ERR_TOO_LARGE);
    CHECK(ts_count(space) == stored);
    CHECK_STATUS(mn_space_get(space, "late", 4, NULL, 0, NULL, NULL), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_space_get(space, "batch", 5, NULL, 0, NULL, NULL), MN_ERR_NOT_FOUND);
    static ts_results got;
    CHECK_STATUS(mn_space_get(space, "s0", 2, NULL, 0, ts_search_visit, &got), MN_OK);
    CHECK(got.count == 1 && got.items[0].content_hash == ts_hash(content, sizeof(content)));
    /* Deletes always pass. */
    CHECK_STATUS(ts_delete(space, "s1"), MN_OK);
    CHECK(ts_count(space) == stored - 1);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

int main(void) {
    test_defaults();
    test_queue_bytes();
    test_space_bytes();
    return te_report();
}
