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
    snprintf(dir, sizeof(dir), "%s/unchanged", root);
    mkdir(dir, 0755);
    faultfs_remove_tree(dir);
    snprintf(path, sizeof(path), "%s/db", dir);
    mkdir(path, 0755);
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, 5) == 0);
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 1;
    options.pin_workers = 0;
    mn_durable_options durable;
    mn_durable_options_default(path, &durable);
    durable.segment_bytes = MN_WAL_SEGMENT_BYTES_MIN; /* the writes fill several segments */
    durable.checkpoint_log_bytes = 0;                 /* only the checkpoints below */
    mn_engine *engine = NULL;
    CHECK_STATUS(mn_engine_open_vfs(&options, &durable, faultfs_vfs(&fs), &engine, NULL), MN_OK);
    if (!engine) return;
    mn_space *space = te_space(engine, "s", TD_DIM, MN_METRIC_L2);
    char id[32];
    for (uint32_t i = 0; i < TF_MEMORIES; i++) {
        snprintf(id, sizeof(id), "m%u", i);
        CHECK_STATUS(td_insert(space, id, i, TF_CONTENT), MN_OK);
    }
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

    mn_status status = MN_OK;
    engine = td_open(path, 1, MN_WAL_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    space = td_open_space(engine, "s");
    CHECK(space != NULL);
    uint32_t present = 0;
    for (uint32_t i = 0; space && i < TF_MEMORIES; i++) {
        snprintf(id, sizeof(id), "m%u", i);
        present += (uint32_t)td_has_memory(space, id, TF_CONTENT, i, NULL);
    }
    CHECK(present == TF_MEMORIES);
    if (space) mn_space_release(space);
    mn_engine_destroy(engine);
}

int main(void) {
    char root[] = "/tmp/mnemo-ckpt-faults-XXXXXX";
    if (!mkdtemp(root)) return 2;
    test_unchanged_checkpoint_syncs_directory(root);
    char command[300];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return te_report();
}
