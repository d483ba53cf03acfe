/*
 * test_engine_order_concurrent.c: per-space order, exactly-once application, and reads under
 * concurrent writes.
 *
 * Proves: with 8 producer threads writing into each of 24 spaces at once (inserts, and deletes
 * of the id inserted just before, through small mailboxes so producers hit back-pressure), every
 * space applies each producer's operations exactly once and in that producer's order (the log
 * of each space is compared with the submission sequence, entry by entry); the final contents
 * match; concurrent readers never see a torn record (content always equals the id); and a
 * thread that waits for its insert's completion finds the memory at once (read-your-writes).
 * The per-space logs are plain arrays written from completion callbacks without a lock: they
 * are only race-free if the engine really runs a space on one worker at a time, which
 * ThreadSanitizer checks when this test runs under it.
 */
#include <sched.h>

#include "test_engine_support.h"

#define DIM 8
#define SPACES 24
#define PRODUCERS 8
#define OPS 48 /* inserts per producer per space; every 4th is followed by a delete */
#define DELETES (OPS / 4)
#define LOG_CAPACITY (PRODUCERS * (OPS + DELETES))

#define KIND_INSERT 0
#define KIND_DELETE 1

typedef struct log_entry {
    uint16_t producer;
    uint16_t sequence;
    uint8_t kind;
    mn_status status;
} log_entry;

typedef struct space_log {
    log_entry entries[LOG_CAPACITY];
    uint32_t count; /* written only by completions of this space: one worker at a time */
} space_log;

typedef struct op_context {
    space_log *log;
    uint16_t producer;
    uint16_t sequence;
    uint8_t kind;
} op_context;

static mn_engine *engine;
static mn_space *spaces[SPACES];
static space_log logs[SPACES];
static op_context contexts[SPACES][PRODUCERS][OPS][2];
static atomic_uint_fast64_t completed;
static atomic_int writers_done;
static atomic_int torn_reads;
static atomic_int ryw_failures;

static void on_done(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    op_context *op = context;
    space_log *log = op->log;
    log_entry *entry = &log->entries[log->count++];
    entry->producer = op->producer;
    entry->sequence = op->sequence;
    entry->kind = op->kind;
    entry->status = status;
    atomic_fetch_add(&completed, 1);
}

static void make_id(char *out, size_t size, int producer, int sequence) {
    snprintf(out, size, "p%d-%d", producer, sequence);
}

static void *producer_main(void *argument) {
    int p = (int)(intptr_t)argument;
    char id[32];
    float vector[DIM];
    for (int i = 0; i < OPS; i++) {
        for (int k = 0; k < SPACES; k++) {
            int s = (k + p + i) % SPACES;
            make_id(id, sizeof(id), p, i);
            te_vector((uint64_t)(s * 100000 + p * 1000 + i), vector, DIM);
            op_context *insert = &contexts[s][p][i][KIND_INSERT];
            *insert = (op_context){&logs[s], (uint16_t)p, (uint16_t)i, KIND_INSERT};
            mn_status status = mn_space_insert(spaces[s], id, (uint32_t)strlen(id), vector, DIM,
                                               (const uint8_t *)id, strlen(id), MN_SUBMIT_WAIT,
                                               on_done, insert);
            if (status != MN_OK) abort();
            if (i % 4 == 3) {
                make_id(id, sizeof(id), p, i - 1);
                op_context *del = &contexts[s][p][i][KIND_DELETE];
                *del = (op_context){&logs[s], (uint16_t)p, (uint16_t)(i - 1), KIND_DELETE};
                status = mn_space_delete(spaces[s], id, (uint32_t)strlen(id), MN_SUBMIT_WAIT,
                                         on_done, del);
                if (status != MN_OK) abort();
            }
        }
    }
    return NULL;
}

static void check_view(void *context, const mn_memory_view *view) {
    (void)context;
    if (view->id_bytes != view->content_bytes ||
        memcmp(view->id, view->content, view->id_bytes) != 0) {
        atomic_fetch_add(&torn_reads, 1);
    }
}

static void *reader_main(void *argument) {
    uint64_t state = (uint64_t)(intptr_t)argument;
    float query[DIM];
    char id[32];
    while (!atomic_load(&writers_done)) {
        int s = (int)(te_next(&state) % SPACES);
        te_vector(te_next(&state), query, DIM);
        uint32_t found = 0;
        mn_status status = mn_space_search(spaces[s], query, DIM, 5, 32, check_view, NULL,
                                           &found);
        if (status != MN_OK) atomic_fetch_add(&torn_reads, 1);
        int producer = (int)(te_next(&state) % PRODUCERS);
        make_id(id, sizeof(id), producer, (int)(te_next(&state) % OPS));
        status = mn_space_get(spaces[s], id, (uint32_t)strlen(id), NULL, 0, check_view, NULL);
        if (status != MN_OK && status != MN_ERR_NOT_FOUND) atomic_fetch_add(&torn_reads, 1);
    }
    return NULL;
}

static void *read_your_writes_main(void *argument) {
    mn_space *space = argument;
    char id[32];
    float vector[DIM];
    for (int i = 0; i < 150; i++) {
        snprintf(id, sizeof(id), "ryw-%d", i);
        te_vector((uint64_t)i + 777, vector, DIM);
        if (te_insert(space, id, vector, DIM, id, NULL) != MN_OK) {
            atomic_fetch_add(&ryw_failures, 1);
            continue;
        }
        if (mn_space_get(space, id, (uint32_t)strlen(id), NULL, 0, NULL, NULL) != MN_OK) {
            atomic_fetch_add(&ryw_failures, 1);
        }
        uint32_t found = 0;
        mn_space_search(space, vector, DIM, 1, 16, NULL, NULL, &found);
        if (found != 1) atomic_fetch_add(&ryw_failures, 1);
    }
    return NULL;
}

int main(void) {
    engine = te_engine(4, 64);
    char name[32];
    for (int s = 0; s < SPACES; s++) {
        snprintf(name, sizeof(name), "space-%d", s);
        spaces[s] = te_space(engine, name, DIM, MN_METRIC_L2);
    }
    mn_space *ryw = te_space(engine, "ryw", DIM, MN_METRIC_L2);
    pthread_t producers[PRODUCERS], readers[2], ryw_thread;
    for (int p = 0; p < PRODUCERS; p++) {
        pthread_create(&producers[p], NULL, producer_main, (void *)(intptr_t)p);
    }
    for (int r = 0; r < 2; r++) {
        pthread_create(&readers[r], NULL, reader_main, (void *)(intptr_t)(r + 1));
    }
    pthread_create(&ryw_thread, NULL, read_your_writes_main, ryw);
    for (int p = 0; p < PRODUCERS; p++) pthread_join(producers[p], NULL);
    pthread_join(ryw_thread, NULL);
    uint64_t expected = (uint64_t)SPACES * LOG_CAPACITY;
    while (atomic_load(&completed) < expected) sched_yield();
    atomic_store(&writers_done, 1);
    for (int r = 0; r < 2; r++) pthread_join(readers[r], NULL);

    CHECK(atomic_load(&completed) == expected);
    CHECK(atomic_load(&torn_reads) == 0);
    CHECK(atomic_load(&ryw_failures) == 0);
    for (int s = 0; s < SPACES; s++) {
        space_log *log = &logs[s];
        CHECK(log->count == LOG_CAPACITY);
        /* Each producer's entries, in log order, must be its exact submission sequence. */
        int next_insert[PRODUCERS] = {0};
        int pending_delete[PRODUCERS];
        for (int p = 0; p < PRODUCERS; p++) pending_delete[p] = -1;
        int order_errors = 0, status_errors = 0;
        for (uint32_t e = 0; e < log->count; e++) {
            log_entry *entry = &log->entries[e];
            int p = entry->producer;
            if (entry->status != MN_OK) status_errors++;
            if (pending_delete[p] >= 0) {
                if (entry->kind != KIND_DELETE || entry->sequence != pending_delete[p]) {
                    order_errors++;
                }
                pending_delete[p] = -1;
                continue;
            }
            if (entry->kind != KIND_INSERT || entry->sequence != next_insert[p]) order_errors++;
            if (entry->sequence % 4 == 3) pending_delete[p] = entry->sequence - 1;
            next_insert[p] = entry->sequence + 1;
        }
        CHECK(order_errors == 0);
        CHECK(status_errors == 0);
        mn_space_stats stats;
        mn_space_stats_get(spaces[s], &stats);
        CHECK(stats.count == (uint64_t)PRODUCERS * (OPS - DELETES));
        CHECK(stats.ops_applied == LOG_CAPACITY);
        CHECK(stats.queue_depth == 0);
        char id[32];
        int content_errors = 0;
        for (int p = 0; p < PRODUCERS; p++) {
            for (int i = 0; i < OPS; i++) {
                make_id(id, sizeof(id), p, i);
                mn_status status = mn_space_get(spaces[s], id, (uint32_t)strlen(id), NULL, 0,
                                                check_view, NULL);
                mn_status want = (i % 4 == 2) ? MN_ERR_NOT_FOUND : MN_OK;
                content_errors += status != want;
            }
        }
        CHECK(content_errors == 0);
    }
    uint32_t workers = 0;
    mn_engine_worker_count(engine, &workers);
    uint64_t ops = 0;
    for (uint32_t w = 0; w < workers; w++) {
        mn_worker_stats stats;
        mn_engine_worker_stats(engine, w, &stats);
        ops += stats.ops;
    }
    CHECK(ops == expected + 150);
    CHECK(atomic_load(&torn_reads) == 0);
    for (int s = 0; s < SPACES; s++) mn_space_release(spaces[s]);
    mn_space_release(ryw);
    mn_engine_destroy(engine);
    return te_report();
}
