/*
 * test_engine_steal_concurrent.c: work stealing and parallel batches.
 *
 * Proves: when every space is homed on worker 0 and worker 0 is kept busy (each completion
 * spins for a while), the idle worker 1 steals runnable spaces (its steal counter and applied
 * operations are non-zero), yet every space still applies each producer's operations exactly
 * once and in order, so a steal never lets two workers run the same space (the engine also
 * asserts this on every run). With stealing off, worker 1 applies nothing at all. A batch of
 * 3,000 memories is linked by its worker together with the idle one (help counter non-zero),
 * operations queued after it are applied after it, searches running meanwhile see only whole
 * records, and a batch that collides with an existing id changes nothing.
 */
#include <sched.h>
#include <time.h>

#include "test_engine_support.h"

#define DIM 8
#define SPACES 48
#define PRODUCERS 2
#define OPS 16
#define LOG_CAPACITY (PRODUCERS * OPS)
#define SPIN_NS 20000

typedef struct space_log {
    uint32_t entries[LOG_CAPACITY]; /* producer << 16 | sequence */
    uint32_t count;
} space_log;

typedef struct op_context {
    space_log *log;
    uint32_t tag;
} op_context;

static mn_space *spaces[SPACES];
static space_log logs[SPACES];
static op_context contexts[SPACES][PRODUCERS][OPS];
static atomic_uint_fast64_t completed;
static atomic_int failures;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void on_done(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    op_context *op = context;
    if (status != MN_OK) atomic_fetch_add(&failures, 1);
    op->log->entries[op->log->count++] = op->tag;
    int64_t until = now_ns() + SPIN_NS; /* keep this worker busy */
    while (now_ns() < until) {
    }
    atomic_fetch_add(&completed, 1);
}

static void *producer_main(void *argument) {
    int p = (int)(intptr_t)argument;
    char id[32];
    float vector[DIM];
    for (int i = 0; i < OPS; i++) {
        for (int s = 0; s < SPACES; s++) {
            snprintf(id, sizeof(id), "p%d-%d", p, i);
            te_vector((uint64_t)(s * 1000 + p * 100 + i), vector, DIM);
            op_context *op = &contexts[s][p][i];
            *op = (op_context){&logs[s], ((uint32_t)p << 16) | (uint32_t)i};
            if (mn_space_insert(spaces[s], id, (uint32_t)strlen(id), vector, DIM, NULL, 0,
                                MN_SUBMIT_WAIT, on_done, op) != MN_OK) {
                abort();
            }
        }
    }
    return NULL;
}

/* Runs the skewed load; returns worker 1's (ops, steals) through the pointers. */
static void run_skewed(uint32_t stealing, uint64_t *worker1_ops, uint64_t *steals) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 2;
    options.stealing = stealing;
    options.mailbox_depth = 16;
    mn_engine *engine = NULL;
    if (mn_engine_create(&options, &engine) != MN_OK) abort();
    memset(logs, 0, sizeof(logs));
    atomic_store(&completed, 0);
    char name[32];
    int made = 0;
    for (int n = 0; made < SPACES; n++) {
        snprintf(name, sizeof(name), "home0-%d", n);
        uint32_t home = 0;
        mn_engine_space_home(engine, name, (uint32_t)strlen(name), &home);
        if (home != 0) continue;
        spaces[made++] = te_space(engine, name, DIM, MN_METRIC_L2);
    }
    pthread_t producers[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++) {
        pthread_create(&producers[p], NULL, producer_main, (void *)(intptr_t)p);
    }
    for (int p = 0; p < PRODUCERS; p++) pthread_join(producers[p], NULL);
    while (atomic_load(&completed) < (uint64_t)SPACES * LOG_CAPACITY) sched_yield();
    int order_errors = 0;
    for (int s = 0; s < SPACES; s++) {
        CHECK(logs[s].count == LOG_CAPACITY);
        uint32_t next[PRODUCERS] = {0};
        for (uint32_t e = 0; e < logs[s].count; e++) {
            uint32_t p = logs[s].entries[e] >> 16, i = logs[s].entries[e] & 0xFFFF;
            if (p >= PRODUCERS || i != next[p]) order_errors++;
            if (p < PRODUCERS) next[p] = i + 1;
        }
        mn_space_stats stats;
        mn_space_stats_get(spaces[s], &stats);
        CHECK(stats.count == LOG_CAPACITY && stats.home_worker == 0);
    }
    CHECK(order_errors == 0);
    mn_worker_stats w0, w1;
    mn_engine_worker_stats(engine, 0, &w0);
    mn_engine_worker_stats(engine, 1, &w1);
    CHECK(w0.ops + w1.ops == (uint64_t)SPACES * LOG_CAPACITY);
    *worker1_ops = w1.ops;
    *steals = w0.steals + w1.steals;
    for (int s = 0; s < SPACES; s++) mn_space_release(spaces[s]);
    mn_engine_destroy(engine);
}

/* ---- parallel batch ---- */

static atomic_int searching;
static atomic_int torn;

static void check_view(void *context, const mn_memory_view *view) {
    (void)context;
    if (view->id_bytes != view->content_bytes ||
        memcmp(view->id, view->content, view->id_bytes) != 0) {
        atomic_fetch_add(&torn, 1);
    }
}

static void *searcher_main(void *argument) {
    mn_space *space = argument;
    float query[DIM];
    uint64_t state = 99;
    while (atomic_load(&searching)) {
        te_vector(te_next(&state), query, DIM);
        uint32_t found = 0;
        if (mn_space_search(space, query, DIM, 10, 32, check_view, NULL, &found) != MN_OK) {
            atomic_fetch_add(&torn, 1);
        }
    }
    return NULL;
}

static void copy_id(void *context, const mn_memory_view *view) {
    char *out = context;
    size_t n = view->id_bytes < 63 ? view->id_bytes : 63;
    memcpy(out, view->id, n);
    out[n] = '\0';
}

typedef struct order_log {
    int entries[8];
    int count;
    mn_status statuses[8];
    uint64_t details[8];
    atomic_int done;
} order_log;

typedef struct order_context {
    order_log *log;
    int tag;
} order_context;

static void on_ordered(void *context, mn_status status, uint64_t detail) {
    order_context *c = context;
    c->log->statuses[c->log->count] = status;
    c->log->details[c->log->count] = detail;
    c->log->entries[c->log->count++] = c->tag;
    atomic_fetch_add(&c->log->done, 1);
}

typedef struct packed {
    float *vectors;
    char *ids;
    uint64_t *id_offsets;
    uint64_t *content_offsets;
    mn_batch_in in;
} packed;

/* Memories prefix-i whose content equals their id. */
static void pack(packed *b, const char *prefix, size_t count, uint64_t seed) {
    b->vectors = malloc(count * DIM * sizeof(float));
    b->ids = malloc(count * 32);
    b->id_offsets = malloc((count + 1) * sizeof(uint64_t));
    b->content_offsets = malloc((count + 1) * sizeof(uint64_t));
    b->id_offsets[0] = 0;
    for (size_t i = 0; i < count; i++) {
        te_vector(seed + i, b->vectors + i * DIM, DIM);
        int n = sprintf(b->ids + b->id_offsets[i], "%s-%zu", prefix, i);
        b->id_offsets[i + 1] = b->id_offsets[i] + (uint64_t)n;
    }
    memcpy(b->content_offsets, b->id_offsets, (count + 1) * sizeof(uint64_t));
    b->in = (mn_batch_in){.count = count, .dimension = DIM, .vectors = b->vectors,
                          .ids = b->ids, .id_offsets = b->id_offsets,
                          .contents = (const uint8_t *)b->ids,
                          .content_offsets = b->content_offsets, .created_ns = NULL};
}

static void unpack(packed *b) {
    free(b->vectors);
    free(b->ids);
    free(b->id_offsets);
    free(b->content_offsets);
}

static void test_parallel_batch(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "bulk", DIM, MN_METRIC_L2);
    packed first, second, clash;
    pack(&first, "a", 3000, 1);
    pack(&second, "b", 1500, 100000);
    pack(&clash, "c", 1200, 200000);
    memcpy(clash.ids + clash.id_offsets[1100], "b-1", 3); /* "c-1100" -> "b-1100": exists */
    atomic_store(&searching, 1);
    pthread_t searcher;
    pthread_create(&searcher, NULL, searcher_main, space);
    order_log log;
    memset(&log, 0, sizeof(log));
    order_context c1 = {&log, 1}, c2 = {&log, 2}, c3 = {&log, 3}, c4 = {&log, 4};
    float vector[DIM];
    te_vector(424242, vector, DIM);
    CHECK_STATUS(mn_space_insert_batch(space, &first.in, MN_SUBMIT_WAIT, on_ordered, &c1, NULL),
                 MN_OK);
    CHECK_STATUS(mn_space_insert(space, "single", 6, vector, DIM, (const uint8_t *)"single", 6,
                                 MN_SUBMIT_WAIT, on_ordered, &c2),
                 MN_OK);
    CHECK_STATUS(mn_space_insert_batch(space, &second.in, MN_SUBMIT_WAIT, on_ordered, &c3, NULL),
                 MN_OK);
    CHECK_STATUS(mn_space_insert_batch(space, &clash.in, MN_SUBMIT_WAIT, on_ordered, &c4, NULL),
                 MN_OK);
    while (atomic_load(&log.done) < 4) sched_yield();
    atomic_store(&searching, 0);
    pthread_join(searcher, NULL);
    CHECK(log.count == 4);
    CHECK(log.entries[0] == 1 && log.entries[1] == 2 && log.entries[2] == 3 &&
          log.entries[3] == 4);
    CHECK(log.statuses[0] == MN_OK && log.statuses[1] == MN_OK && log.statuses[2] == MN_OK);
    CHECK(log.statuses[3] == MN_ERR_DUPLICATE && log.details[3] == 1100);
    CHECK(atomic_load(&torn) == 0);
    mn_space_stats stats;
    mn_space_stats_get(space, &stats);
    CHECK(stats.count == 4501);
    CHECK_STATUS(mn_space_get(space, "c-0", 3, NULL, 0, NULL, NULL), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_space_get(space, "a-2999", 6, NULL, 0, check_view, NULL), MN_OK);
    int self = 0;
    for (size_t i = 0; i < 3000; i += 30) {
        uint32_t found = 0;
        char want[32], got[64] = {0};
        snprintf(want, sizeof(want), "a-%zu", i);
        mn_space_search(space, first.vectors + i * DIM, DIM, 1, 64, copy_id, got, &found);
        self += found == 1 && strcmp(got, want) == 0;
    }
    CHECK(self >= 95); /* approximate search: >= 95% of 100 probes find themselves */
    mn_worker_stats w0, w1;
    mn_engine_worker_stats(engine, 0, &w0);
    mn_engine_worker_stats(engine, 1, &w1);
    CHECK(w0.helps + w1.helps >= 1); /* the idle worker joined at least one large batch */
    CHECK(w0.batches + w1.batches == 3);
    unpack(&first);
    unpack(&second);
    unpack(&clash);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

int main(void) {
    uint64_t worker1_ops = 0, steals = 0;
    run_skewed(1, &worker1_ops, &steals);
    CHECK(steals > 0);
    CHECK(worker1_ops > 0);
    printf("stealing on: worker 1 applied %llu ops, %llu steals\n",
           (unsigned long long)worker1_ops, (unsigned long long)steals);
    run_skewed(0, &worker1_ops, &steals);
    CHECK(steals == 0);
    CHECK(worker1_ops == 0);
    test_parallel_batch();
    CHECK(atomic_load(&failures) == 0);
    return te_report();
}
