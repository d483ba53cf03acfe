/*
 * test_engine_durable_stats_concurrent.c: proves mn_engine_durable_stats may be read while the
 * log writers append and sync and checkpoints run (ThreadSanitizer sees no race: the counters
 * are atomics and the log table is fixed after open), and that what a reader sees never goes
 * backwards: every count it loads is at least the one it loaded before.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mn_test_dir.h"
#include "test_durable_support.h"

typedef struct reader_state {
    mn_engine *engine;
    atomic_int stop;
    uint64_t reads;
    uint64_t backwards; /* counts that went down between two reads */
    uint64_t errors;
} reader_state;

static void *reader(void *arg) {
    reader_state *r = arg;
    mn_durable_stats last;
    memset(&last, 0, sizeof(last));
    while (!atomic_load(&r->stop)) {
        mn_durable_stats s;
        if (mn_engine_durable_stats(r->engine, &s) != MN_OK) {
            r->errors++;
            continue;
        }
        if (s.fsyncs < last.fsyncs || s.checkpoints < last.checkpoints ||
            s.logged_bytes < last.logged_bytes || s.fsync_ns < last.fsync_ns) {
            r->backwards++;
        }
        last = s;
        r->reads++;
    }
    return NULL;
}

int main(void) {
    char root[] = "/tmp/mnemo-dstatsc-XXXXXX";
    if (!mkdtemp(root)) return 2;
    mn_status status = MN_OK;
    /* A small trigger: the background thread checkpoints while the reader reads. */
    mn_engine *engine = td_open(root, 2, MN_DURABLE_SYNC, 0, 4096u, 8192u, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return te_report();
    reader_state r = {.engine = engine};
    atomic_init(&r.stop, 0);
    pthread_t thread;
    if (pthread_create(&thread, NULL, reader, &r) != 0) return 2;
    mn_space *a = te_space(engine, "a", TD_DIM, MN_METRIC_L2);
    mn_space *b = te_space(engine, "b", TD_DIM, MN_METRIC_L2);
    for (uint32_t round = 0; round < 4; round++) {
        td_insert_range(a, round * 50, round * 50 + 50);
        td_insert_range(b, round * 50, round * 50 + 50);
        CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
    }
    atomic_store(&r.stop, 1);
    pthread_join(thread, NULL);
    CHECK(r.reads > 0);
    CHECK(r.backwards == 0);
    CHECK(r.errors == 0);
    mn_durable_stats s;
    CHECK_STATUS(mn_engine_durable_stats(engine, &s), MN_OK);
    CHECK(s.checkpoints >= 4);
    CHECK(s.fsyncs >= 400);
    mn_space_release(a);
    mn_space_release(b);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    mn_test_remove_tree(root);
    rmdir(root);
    return te_report();
}
