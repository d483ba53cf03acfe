/*
 * test_engine_export_concurrent.c: an export whose write callback blocks holds up neither the
 * rest of the process nor the space's worker.
 *
 * Why: a checkpoint is an export whose callback writes to disk, and a multi-GB one can take
 * seconds. If the export held an RCU read-side section across the callback, every
 * synchronize_rcu in the process (index repairs on every worker) would wait for the disk; if it
 * parked the space's worker, every other space of that worker would stop taking writes.
 *
 * The test: one worker, spaces A and B. A thread exports A with a callback that blocks, with
 * no timeout, on the call that carries the index stream's first bytes (so the exporter is in
 * the middle of mn_hnsw_save). While it is blocked, another thread calls synchronize_rcu and
 * the main thread inserts into B (same worker); both must complete while the export is still
 * blocked. The waits are bounded (TE_BOUND_S) only so that a failure reports instead of hanging:
 * nothing here measures speed. An insert into A queued meanwhile waits for the export and is
 * not in the stream, which imports to exactly the memories A had when it was frozen.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mnemo/mn_engine.h"
#include "test_engine_support.h"
#include "util/mn_rcu.h"

#define TE_DIMENSION 8u
#define TE_MEMORIES 300u
#define TE_BOUND_S 20 /* a deadlock detector, not a speed threshold */

/* A flag one thread raises and another waits for, with a bound. */
typedef struct te_flag {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int raised;
} te_flag;

static void te_flag_init(te_flag *f) {
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->raised = 0;
}

static void te_flag_raise(te_flag *f) {
    pthread_mutex_lock(&f->lock);
    f->raised = 1;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

/* 1 when *set (guarded by lock, signalled through cond) is nonzero within TE_BOUND_S seconds. */
static int te_wait_bounded(pthread_mutex_t *lock, pthread_cond_t *cond, const int *set) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += TE_BOUND_S;
    pthread_mutex_lock(lock);
    while (!*set) {
        if (pthread_cond_timedwait(cond, lock, &until) != 0) break;
    }
    int result = *set;
    pthread_mutex_unlock(lock);
    return result;
}

/* 1 when raised within TE_BOUND_S seconds. */
static int te_flag_wait_bounded(te_flag *f) {
    return te_wait_bounded(&f->lock, &f->cond, &f->raised);
}

static void te_flag_wait(te_flag *f) {
    pthread_mutex_lock(&f->lock);
    while (!f->raised) pthread_cond_wait(&f->cond, &f->lock);
    pthread_mutex_unlock(&f->lock);
}

static void te_flag_destroy(te_flag *f) {
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
}

/* The export's sink: keeps the bytes, blocks once inside the index stream. */
typedef struct te_sink {
    mn_bytes bytes;
    int blocked_once;   /* only the exporting thread touches it */
    te_flag blocked;    /* raised by the callback as it blocks */
    te_flag release;    /* raised by the main thread */
} te_sink;

static mn_status te_sink_write(void *context, const void *data, size_t size) {
    te_sink *sink = context;
    if (!sink->blocked_once && size >= 8 && memcmp(data, "MNEMOHNS", 8) == 0) {
        sink->blocked_once = 1;
        te_flag_raise(&sink->blocked);
        te_flag_wait(&sink->release); /* as long as the test likes: a slow disk */
    }
    return mn_bytes_write(&sink->bytes, data, size);
}

typedef struct te_export_job {
    mn_space *space;
    te_sink *sink;
    mn_status status;
    te_flag done;
} te_export_job;

static void *te_export_thread(void *argument) {
    te_export_job *job = argument;
    job->status = mn_space_export(job->space, te_sink_write, job->sink);
    te_flag_raise(&job->done);
    return NULL;
}

static void *te_synchronize_thread(void *argument) {
    te_flag *done = argument;
    mn_rcu_synchronize();
    te_flag_raise(done);
    return NULL;
}

int main(void) {
    mn_engine *engine = te_engine(1, 64); /* one worker: A and B share it */
    mn_space *a = te_space(engine, "a", TE_DIMENSION, MN_METRIC_L2);
    mn_space *b = te_space(engine, "b", TE_DIMENSION, MN_METRIC_L2);
    float vector[TE_DIMENSION];
    char id[32];
    for (uint32_t i = 0; i < TE_MEMORIES; i++) {
        snprintf(id, sizeof(id), "a%u", i);
        te_vector(i, vector, TE_DIMENSION);
        CHECK_STATUS(te_insert(a, id, vector, TE_DIMENSION, "content", NULL), MN_OK);
    }

    te_sink sink;
    memset(&sink, 0, sizeof(sink));
    te_flag_init(&sink.blocked);
    te_flag_init(&sink.release);
    te_export_job job;
    memset(&job, 0, sizeof(job));
    job.space = a;
    job.sink = &sink;
    job.status = MN_ERR_IO;
    te_flag_init(&job.done);
    pthread_t exporter;
    pthread_create(&exporter, NULL, te_export_thread, &job);
    int blocked = te_flag_wait_bounded(&sink.blocked);
    CHECK(blocked);

    /* 1. A grace period completes while the callback is blocked. */
    te_flag synchronized;
    te_flag_init(&synchronized);
    pthread_t synchronizer;
    pthread_create(&synchronizer, NULL, te_synchronize_thread, &synchronized);
    CHECK(te_flag_wait_bounded(&synchronized));

    /* 2. Another space of the same worker takes a write meanwhile. */
    te_wait insert_b;
    te_wait_init(&insert_b);
    te_vector(1000, vector, TE_DIMENSION);
    CHECK_STATUS(mn_space_insert(b, "b0", 2, vector, TE_DIMENSION, NULL, 0, MN_SUBMIT_WAIT,
                                 te_wait_done, &insert_b),
                 MN_OK);
    CHECK(te_wait_bounded(&insert_b.lock, &insert_b.cond, &insert_b.done));

    /* 3. A write to A itself is queued behind the export (its snapshot must not hold it). */
    te_wait insert_a;
    te_wait_init(&insert_a);
    te_vector(2000, vector, TE_DIMENSION);
    CHECK_STATUS(mn_space_insert(a, "late", 4, vector, TE_DIMENSION, NULL, 0, MN_SUBMIT_WAIT,
                                 te_wait_done, &insert_a),
                 MN_OK);
    /* Still blocked: everything above happened during the export. */
    pthread_mutex_lock(&job.done.lock);
    CHECK(!job.done.raised);
    pthread_mutex_unlock(&job.done.lock);

    te_flag_raise(&sink.release);
    pthread_join(exporter, NULL);
    pthread_join(synchronizer, NULL);
    CHECK_STATUS(job.status, MN_OK);
    CHECK_STATUS(te_wait_for(&insert_b), MN_OK);
    CHECK_STATUS(te_wait_for(&insert_a), MN_OK);

    /* The stream is A as frozen: TE_MEMORIES memories, without "late". */
    mn_space *copy = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "copy", 4, sink.bytes.data,
                                               sink.bytes.size, &copy),
                 MN_OK);
    if (copy) {
        mn_space_stats stats;
        CHECK_STATUS(mn_space_stats_get(copy, &stats), MN_OK);
        CHECK(stats.count == TE_MEMORIES);
        mn_space_release(copy);
    }
    mn_space_stats stats;
    CHECK_STATUS(mn_space_stats_get(a, &stats), MN_OK);
    CHECK(stats.count == TE_MEMORIES + 1);

    te_flag_destroy(&synchronized);
    te_flag_destroy(&job.done);
    te_flag_destroy(&sink.blocked);
    te_flag_destroy(&sink.release);
    free(sink.bytes.data);
    mn_space_release(a);
    mn_space_release(b);
    mn_engine_destroy(engine);
    return te_report();
}
