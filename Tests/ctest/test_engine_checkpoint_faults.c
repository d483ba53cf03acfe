/*
 * test_engine_checkpoint_faults.c: checkpoints under injected file-system faults (issue 9).
 *
 * Item 5, a checkpoint that renamed nothing must still make the spaces directory durable
 * before it deletes log segments. The sequence that lost data: checkpoint 1 writes and renames
 * its file, but the directory sync fails (it returns the error and deletes nothing, yet the
 * space now counts as checkpointed); checkpoint 2 finds nothing changed, so it wrote nothing,
 * skipped the directory sync, and deleted the segments holding the space's creation and
 * writes. A power loss then undid the unsynced rename: the space was gone. The test runs that
 * sequence through the fault table (Tests/ctest/mn_test_faultfs.h), power-fails, reopens with
 * the real file system and checks that every acknowledged memory is back.
 *
 * Packs, a crash at every call of a checkpoint: a database with checkpointed spaces, writes
 * after the checkpoint, a drop, a new space and an imported one (a delta pack) is checkpointed
 * again with the machine stopped at its 1st, 2nd, ... file call (each run from scratch), then
 * power-failed (torn appends on odd calls). Every reopen must find every acknowledged memory,
 * not the dropped space, and must checkpoint and reopen again; the runs end with the first
 * checkpoint that finishes before the crash point.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/mn_engine_vfs.h"
#include "mn_test_faultfs.h"
#include "test_durable_support.h"

#define TF_MEMORIES 100u
#define TF_CONTENT "abcdefghijabcdefghijabcdefghij"

static void test_unchanged_checkpoint_syncs_directory(const char *root) {
    char dir[512], path[640];
    faultfs_fresh_db(root, "unchanged", dir, sizeof(dir), path, sizeof(path));
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, 5) == 0);
    /* The writes fill several segments; only the checkpoints below run. */
    mn_status status = MN_OK;
    mn_engine *engine = td_open_vfs(path, faultfs_vfs(&fs), 1, MN_WAL_SYNC, 0,
                                    MN_WAL_SEGMENT_BYTES_MIN, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *space = te_space(engine, "s", TD_DIM, MN_METRIC_L2);
    td_fill(space, 0, TF_MEMORIES, 0, TF_CONTENT);
    /* Checkpoint 1: its rename lands, the directory sync after it fails. */
    CHECK(faultfs_fail(&fs, FAULTFS_SYNC_DIR, faultfs_calls(&fs, FAULTFS_SYNC_DIR) + 1, 1,
                       MN_ERR_IO) == 0);
    mn_checkpoint_report report;
    CHECK_STATUS(mn_engine_checkpoint(engine, &report), MN_ERR_IO);
    CHECK(report.segments_deleted == 0);
    /* Checkpoint 2: nothing changed since; it deletes the segments behind checkpoint 1. */
    CHECK_STATUS(mn_engine_checkpoint(engine, &report), MN_OK);
    CHECK(report.spaces_written == 0 && report.segments_deleted > 0);
    CHECK(faultfs_power_loss(&fs, 0) == 0);
    mn_space_release(space);
    mn_engine_destroy(engine);
    faultfs_free(&fs);

    engine = td_reopen(path);
    if (!engine) return;
    space = td_open_space(engine, "s");
    CHECK(space != NULL);
    CHECK(space && td_count_filled(space, 0, TF_MEMORIES, 0, TF_CONTENT) == TF_MEMORIES);
    if (space) mn_space_release(space);
    mn_engine_destroy(engine);
}

#define TF_SPACES 6u

static mn_engine *tf_open_faulty(faultfs *fs, const char *path) {
    mn_status status = MN_OK;
    mn_engine *engine = td_open_vfs(path, faultfs_vfs(fs), 2, MN_WAL_SYNC, 0,
                                    MN_WAL_SEGMENT_BYTES_MIN, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    return engine;
}

static void tf_fill(mn_engine *engine, const char *name, uint32_t from, uint32_t to) {
    mn_space *space = td_open_space(engine, name);
    if (!space) space = te_space(engine, name, TD_DIM, MN_METRIC_L2);
    td_fill(space, from, to, 0, name);
    mn_space_release(space);
}

/* 1 when `name` holds exactly m0 ... m(count-1), each as tf_fill wrote it into `source`. */
static int tf_holds(mn_engine *engine, const char *name, const char *source, uint32_t count) {
    mn_space *space = td_open_space(engine, name);
    if (!space) return 0;
    int all = td_count_filled(space, 0, count, 0, source) == count;
    mn_space_stats stats;
    if (mn_space_stats_get(space, &stats) != MN_OK || stats.count != count) all = 0;
    mn_space_release(space);
    return all;
}

static void tf_check(mn_engine *engine, uint32_t nth) {
    int all = 1;
    char name[32];
    for (uint32_t s = 0; s < TF_SPACES; s++) {
        if (s == 1) continue; /* dropped */
        snprintf(name, sizeof(name), "s%u", s);
        if (!tf_holds(engine, name, name, s < 3 ? 12u : 6u)) all = 0;
    }
    if (!tf_holds(engine, "late", "late", 4)) all = 0;
    if (!tf_holds(engine, "imported", "s3", 6)) all = 0; /* a copy of s3 */
    CHECK(all);
    mn_space *dropped = td_open_space(engine, "s1");
    CHECK(dropped == NULL);
    if (dropped) mn_space_release(dropped);
    if (!all) fprintf(stderr, "  (crash at call %u of the checkpoint)\n", nth);
}

/* Returns 1 when the checkpoint finished before call `nth` (the runs are over). */
static int tf_crash_run(const char *root, uint32_t nth) {
    char dir[512], path[640];
    faultfs_fresh_db(root, "crash", dir, sizeof(dir), path, sizeof(path));
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, 100 + nth) == 0);
    mn_engine *engine = tf_open_faulty(&fs, path);
    if (!engine) return 1;
    char name[32];
    for (uint32_t s = 0; s < TF_SPACES; s++) {
        snprintf(name, sizeof(name), "s%u", s);
        tf_fill(engine, name, 0, 6);
    }
    CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
    tf_fill(engine, "s0", 6, 12); /* changed after the checkpoint */
    tf_fill(engine, "s2", 6, 12);
    CHECK_STATUS(mn_engine_space_drop(engine, "s1", 2), MN_OK);
    tf_fill(engine, "late", 0, 4); /* created after it */
    mn_space *source = td_open_space(engine, "s3"); /* imported as a copy: a delta pack */
    mn_bytes stream = {0};
    if (source) CHECK_STATUS(mn_space_export(source, mn_bytes_write, &stream), MN_OK);
    if (source) mn_space_release(source);
    mn_space *imported = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "imported", 8, stream.data, stream.size,
                                               &imported),
                 MN_OK);
    if (imported) mn_space_release(imported);
    free(stream.data);
    CHECK(faultfs_crash(&fs, FAULTFS_ANY, faultfs_calls(&fs, FAULTFS_ANY) + nth) == 0);
    (void)mn_engine_checkpoint(engine, NULL); /* may fail: the machine stopped */
    int finished = !faultfs_dead(&fs);
    CHECK(faultfs_power_loss(&fs, (int)(nth & 1)) == 0);
    mn_engine_destroy(engine);
    faultfs_free(&fs);

    for (int round = 0; round < 2; round++) {
        mn_status status = MN_OK;
        mn_durable_report report;
        engine = td_open(path, 2, MN_WAL_SYNC, 0, MN_WAL_SEGMENT_BYTES_MIN, 0, &status, &report);
        CHECK_STATUS(status, MN_OK);
        if (!engine) {
            fprintf(stderr, "  (crash at call %u: %s %s)\n", nth, mn_status_string(status),
                    report.damaged_file);
            return 1;
        }
        tf_check(engine, nth);
        if (round == 0) CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
        mn_engine_destroy(engine);
    }
    return finished;
}

int main(void) {
    char root[] = "/tmp/mnemo-ckpt-faults-XXXXXX";
    if (!mkdtemp(root)) return 2;
    test_unchanged_checkpoint_syncs_directory(root);
    uint32_t runs = 0;
    for (uint32_t nth = 1; nth < 1000; nth++) {
        runs++;
        if (tf_crash_run(root, nth)) break;
    }
    printf("crash points tried: %u\n", runs);
    CHECK(runs > 5); /* the checkpoint made several file calls */
    char command[300];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return te_report();
}
