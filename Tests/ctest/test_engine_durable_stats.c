/*
 * test_engine_durable_stats.c: proves the counters a metrics page reads from a durable engine
 * (mn_engine_durable_stats): acknowledged writes in MN_DURABLE_SYNC move the fdatasync count,
 * its total latency and its log2 histogram (whose buckets add up to the count), and the bytes
 * logged; MN_DURABLE_NONE never syncs the log, so its count stays 0 however much is written;
 * a checkpoint moves the checkpoint count and its wall-clock time (between the clock read
 * before and after it) and resets the log bytes since the last checkpoint, which later writes
 * move again; an open that replays more log than the trigger counts its own checkpoint; an
 * in-memory engine answers zeros; NULL arguments are refused; the bucket of a latency is
 * floor(log2(ns)), clamped at both ends; and mn_engine_space_stats_visit visits each loaded
 * space once with its statistics but leaves a lazy (unloaded) space unloaded and unvisited.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mn_test_dir.h"
#include "test_durable_support.h"

static int64_t wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + (int64_t)ts.tv_nsec;
}

static uint64_t bucket_sum(const mn_durable_stats *s) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < MN_DURABLE_FSYNC_BUCKETS; i++) sum += s->fsync_buckets[i];
    return sum;
}

static void test_buckets(void) {
    CHECK(mn_wal_sync_bucket(0) == 0);
    CHECK(mn_wal_sync_bucket(1) == 0);
    CHECK(mn_wal_sync_bucket(2) == 1);
    CHECK(mn_wal_sync_bucket(3) == 1);
    CHECK(mn_wal_sync_bucket(1023) == 9);
    CHECK(mn_wal_sync_bucket(1024) == 10);
    CHECK(mn_wal_sync_bucket(1ull << 35) == 35);
    CHECK(mn_wal_sync_bucket(1ull << 40) == MN_DURABLE_FSYNC_BUCKETS - 1);
    CHECK(mn_wal_sync_bucket(UINT64_MAX) == MN_DURABLE_FSYNC_BUCKETS - 1);
}

/* What mn_engine_space_stats_visit saw. */
typedef struct visited {
    uint32_t spaces;
    char name[64];
    mn_space_stats stats;
} visited;

static void visit_stats(void *context, const char *name, uint32_t name_bytes,
                        const mn_space_stats *stats) {
    visited *v = context;
    v->spaces++;
    uint32_t n = name_bytes < sizeof(v->name) - 1 ? name_bytes : (uint32_t)sizeof(v->name) - 1;
    memcpy(v->name, name, n);
    v->name[n] = '\0';
    v->stats = *stats;
}

static void test_in_memory(void) {
    mn_engine *engine = te_engine(1, 0);
    mn_durable_stats s;
    memset(&s, 0xff, sizeof(s));
    CHECK_STATUS(mn_engine_durable_stats(engine, &s), MN_OK);
    CHECK(s.durable == 0);
    CHECK(s.fsyncs == 0 && s.checkpoints == 0 && s.logged_bytes == 0 && s.opened_unix_ns == 0);
    CHECK(bucket_sum(&s) == 0);
    CHECK_STATUS(mn_engine_durable_stats(NULL, &s), MN_ERR_INVALID);
    CHECK_STATUS(mn_engine_durable_stats(engine, NULL), MN_ERR_INVALID);
    mn_engine_destroy(engine);
}

static void test_sync_and_checkpoint(const char *root) {
    char path[512];
    snprintf(path, sizeof(path), "%s/sync", root);
    int64_t before_open = wall_ns();
    mn_status status = MN_OK;
    /* Automatic checkpoints off: only the explicit one below may move the count. */
    mn_engine *engine = td_open(path, 2, MN_DURABLE_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_durable_stats s0;
    CHECK_STATUS(mn_engine_durable_stats(engine, &s0), MN_OK);
    CHECK(s0.durable == 1);
    CHECK(s0.opened_unix_ns >= before_open && s0.opened_unix_ns <= wall_ns());
    CHECK(s0.checkpoints == 0 && s0.last_checkpoint_unix_ns == 0 && s0.checkpoint_failures == 0);
    CHECK(bucket_sum(&s0) == s0.fsyncs);

    mn_space *space = te_space(engine, "stats", TD_DIM, MN_METRIC_L2);
    const uint32_t writes = 20;
    td_insert_range(space, 0, writes);
    mn_durable_stats s1;
    CHECK_STATUS(mn_engine_durable_stats(engine, &s1), MN_OK);
    /* Each awaited insert was acknowledged after its own group's fdatasync (nothing else was
     * queued to share one), the creation record after one more. */
    CHECK(s1.fsyncs >= s0.fsyncs + writes);
    CHECK(s1.fsync_ns > s0.fsync_ns);
    CHECK(bucket_sum(&s1) == s1.fsyncs);
    CHECK(s1.logged_bytes > s0.logged_bytes);
    CHECK(s1.log_bytes_since_checkpoint == s1.logged_bytes);
    CHECK(s1.checkpoints == 0);
    visited v = {0};
    CHECK_STATUS(mn_engine_space_stats_visit(engine, visit_stats, &v), MN_OK);
    CHECK(v.spaces == 1);
    CHECK(strcmp(v.name, "stats") == 0);
    CHECK(v.stats.count == writes && v.stats.bytes > 0 && v.stats.dimension == TD_DIM);
    CHECK_STATUS(mn_engine_space_stats_visit(engine, NULL, &v), MN_ERR_INVALID);

    int64_t before = wall_ns();
    mn_checkpoint_report report;
    CHECK_STATUS(mn_engine_checkpoint(engine, &report), MN_OK);
    int64_t after = wall_ns();
    mn_durable_stats s2;
    CHECK_STATUS(mn_engine_durable_stats(engine, &s2), MN_OK);
    CHECK(s2.checkpoints == 1);
    CHECK(s2.checkpoint_failures == 0);
    CHECK(s2.last_checkpoint_unix_ns >= before && s2.last_checkpoint_unix_ns <= after);
    CHECK(s2.last_checkpoint_ns <= (uint64_t)(after - before));
    CHECK(s2.log_bytes_since_checkpoint == 0);
    CHECK(s2.fsyncs >= s1.fsyncs);

    td_insert_range(space, writes, writes + 5);
    mn_durable_stats s3;
    CHECK_STATUS(mn_engine_durable_stats(engine, &s3), MN_OK);
    CHECK(s3.log_bytes_since_checkpoint > 0);
    CHECK(s3.log_bytes_since_checkpoint == s3.logged_bytes - s2.logged_bytes);
    CHECK(s3.fsyncs >= s2.fsyncs + 5);
    CHECK(s3.checkpoints == 1 && s3.last_checkpoint_unix_ns == s2.last_checkpoint_unix_ns);

    mn_space_release(space);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);

    /* Reopen with a trigger below the log left since the checkpoint: open checkpoints before
     * it returns, and counts that one. */
    mn_durable_report open_report;
    engine = td_open(path, 2, MN_DURABLE_SYNC, 0, 0, 1, &status, &open_report);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    CHECK(open_report.checkpointed == 1);
    mn_durable_stats s4;
    CHECK_STATUS(mn_engine_durable_stats(engine, &s4), MN_OK);
    CHECK(s4.checkpoints >= 1);
    CHECK(s4.last_checkpoint_unix_ns >= s4.opened_unix_ns);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);

    /* Everything is in the checkpoint now: the next open keeps the space as a stub, which
     * the visit must neither load nor show, while the count includes it. */
    engine = td_open(path, 2, MN_DURABLE_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    visited lazy = {0};
    CHECK_STATUS(mn_engine_space_stats_visit(engine, visit_stats, &lazy), MN_OK);
    CHECK(lazy.spaces == 0);
    uint64_t count = 0;
    CHECK_STATUS(mn_engine_space_count(engine, &count), MN_OK);
    CHECK(count == 1);
    mn_space *loaded = td_open_space(engine, "stats");
    CHECK(loaded != NULL);
    CHECK_STATUS(mn_engine_space_stats_visit(engine, visit_stats, &lazy), MN_OK);
    CHECK(lazy.spaces == 1 && lazy.stats.count == writes + 5);
    if (loaded) mn_space_release(loaded);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
}

static void test_none_never_syncs(const char *root) {
    char path[512];
    snprintf(path, sizeof(path), "%s/none", root);
    mn_status status = MN_OK;
    mn_engine *engine = td_open(path, 1, MN_DURABLE_NONE, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *space = te_space(engine, "none", TD_DIM, MN_METRIC_L2);
    td_insert_range(space, 0, 10);
    mn_durable_stats s;
    CHECK_STATUS(mn_engine_durable_stats(engine, &s), MN_OK);
    CHECK(s.durable == 1);
    CHECK(s.fsyncs == 0 && s.fsync_ns == 0 && bucket_sum(&s) == 0);
    CHECK(s.logged_bytes > 0);
    mn_space_release(space);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
}

int main(void) {
    char root[] = "/tmp/mnemo-dstats-XXXXXX";
    if (!mkdtemp(root)) return 2;
    test_buckets();
    test_in_memory();
    test_sync_and_checkpoint(root);
    test_none_never_syncs(root);
    mn_test_remove_tree(root);
    rmdir(root);
    return te_report();
}
