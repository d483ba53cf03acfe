/*
 * test_engine_failed_writes.c: regression tests for what a durable engine tells a caller when
 * the disk fails, against what a restart then shows (issue 9, items 4 and 7), through the
 * fault table (mn_test_faultfs.h).
 *
 *   - A write whose fdatasync fails completes with MN_ERR_IO and is NOT there after a reopen.
 *     Before: the record stayed in the log file (the page cache had it) and was replayed.
 *   - After such a failure the space's next write, run by another worker (stolen), reuses no
 *     sequence number: the reopen succeeds with everything acknowledged. Before: the failed
 *     record's sequence was given out again on the other worker's log, and open failed with
 *     MN_ERR_CORRUPT (even with repair).
 *   - When the fdatasync fails and so does the cut that takes the write back (the log refuses
 *     appends from then on), a VOID record in the other worker's log keeps it from coming back.
 *   - A drop whose checkpoint-file unlink (or directory sync) fails after its record is durable
 *     reports MN_OK and the space stays dropped, also after a checkpoint that deletes the log
 *     segment holding the drop record. Before: the drop returned MN_ERR_IO, the space took more
 *     acknowledged writes, and the restart applied the drop and lost them. (Since checkpoint
 *     packs a drop touches no file at all; the test keeps the outcome pinned.)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/mn_engine_internal.h"
#include "engine/mn_engine_vfs.h"
#include "mn_test_faultfs.h"
#include "test_durable_support.h"

static char root_dir[256];

static mn_engine *open_faulty(faultfs *fs, const char *db, uint32_t workers) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = workers;
    options.pin_workers = 0;
    options.parallel_batch_min = 0; /* no helping: an idle worker steals instead */
    mn_durable_options durable;
    mn_durable_options_default(db, &durable);
    durable.checkpoint_log_bytes = 0;
    mn_engine *engine = NULL;
    CHECK_STATUS(mn_engine_open_vfs(&options, &durable, faultfs_vfs(fs), &engine, NULL), MN_OK);
    return engine;
}

/* Inserts and waits; the completion's detail to *detail. */
static mn_status insert_detail(mn_space *space, const char *id, uint64_t seed, uint64_t *detail) {
    float v[TD_DIM];
    te_vector(seed, v, TD_DIM);
    return te_insert(space, id, v, TD_DIM, id, detail);
}

static void test_failed_sync_not_replayed(void) {
    char dir[512], db[600];
    faultfs_fresh_db(root_dir, "replay", dir, sizeof(dir), db, sizeof(db));
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, 1) == 0);
    mn_engine *engine = open_faulty(&fs, db, 1);
    if (!engine) return;
    mn_space *space = te_space(engine, "s", TD_DIM, MN_METRIC_L2);
    CHECK_STATUS(td_insert(space, "m0", 1, "m0"), MN_OK);
    CHECK(faultfs_fail(&fs, FAULTFS_FDATASYNC, faultfs_calls(&fs, FAULTFS_FDATASYNC) + 1, 1, MN_ERR_IO) == 0);
    uint64_t detail = 0;
    CHECK_STATUS(insert_detail(space, "m1", 2, &detail), MN_ERR_IO);
    CHECK(detail != MN_DURABLE_DETAIL_UNKNOWN); /* it was cut back off the log */
    CHECK_STATUS(td_insert(space, "m2", 3, "m2"), MN_OK); /* the log goes on */
    mn_space_release(space);
    mn_engine_destroy(engine);
    faultfs_free(&fs);

    engine = td_reopen(db);
    if (!engine) return;
    space = td_open_space(engine, "s");
    CHECK(space && td_has_memory(space, "m0", "m0", 1, NULL));
    CHECK(space && !td_has_memory(space, "m1", "m1", 2, NULL)); /* reported failed: absent */
    CHECK(space && td_has_memory(space, "m2", "m2", 3, NULL));
    if (space) mn_space_release(space);
    mn_engine_destroy(engine);
}

/* A space named <prefix><n> homed on worker `home` (the engine has 2 workers). */
static mn_space *space_on(mn_engine *engine, const char *prefix, uint32_t home, char *name, size_t size) {
    for (uint32_t n = 0; n < 1000; n++) {
        snprintf(name, size, "%s%u", prefix, n);
        mn_space *space = te_space(engine, name, TD_DIM, MN_METRIC_L2);
        if (((struct mn_space *)space)->home == home) return space;
        mn_space_release(space);
        CHECK_STATUS(mn_engine_space_drop(engine, name, (uint32_t)strlen(name)), MN_OK);
    }
    return NULL;
}

/* Writes to `s` while its home worker is busy with a big batch of `t` and `u` waits behind it,
 * so the idle worker steals `s`: MN_OK once one such write succeeded (its id to `id`). */
static mn_status write_stolen(mn_space *s, mn_space *t, mn_space *u, char *id, size_t id_size, uint32_t *attempt) {
    enum { BIG = 1500 };
    static float vectors[BIG * TD_DIM];
    static char ids[BIG * 8];
    static uint64_t id_offsets[BIG + 1], content_offsets[BIG + 1];
    mn_status status = MN_ERR_IO;
    for (; *attempt < 1000 && status != MN_OK; (*attempt)++) {
        id_offsets[0] = 0;
        for (uint32_t i = 0; i < BIG; i++) {
            int n = snprintf(ids + id_offsets[i], 8, "%c%u", 'a' + (int)(*attempt % 26), i);
            id_offsets[i + 1] = id_offsets[i] + (uint64_t)n;
            content_offsets[i + 1] = 0;
            te_vector(*attempt * 10000u + i, vectors + i * TD_DIM, TD_DIM);
        }
        mn_batch_in batch = {BIG, TD_DIM, vectors, ids, id_offsets, NULL, content_offsets, NULL};
        te_wait wt, ws, wu;
        te_wait_init(&wt);
        te_wait_init(&ws);
        te_wait_init(&wu);
        float v[TD_DIM];
        snprintf(id, id_size, "y%u", *attempt);
        te_vector(100 + *attempt, v, TD_DIM);
        struct mn_space *busy = (struct mn_space *)t;
        uint64_t taken = atomic_load(&busy->dequeue_pos);
        CHECK_STATUS(mn_space_insert_batch(t, &batch, MN_SUBMIT_WAIT, te_wait_done, &wt, NULL), MN_OK);
        /* Until the home worker has taken the batch (else the thief would take t, the oldest
         * runnable space, instead of s). */
        while (atomic_load(&busy->dequeue_pos) == taken) sched_yield();
        CHECK_STATUS(mn_space_insert(s, id, (uint32_t)strlen(id), v, TD_DIM, (const uint8_t *)id, strlen(id),
                                     MN_SUBMIT_WAIT, te_wait_done, &ws), MN_OK);
        CHECK_STATUS(mn_space_insert(u, id, (uint32_t)strlen(id), v, TD_DIM, NULL, 0, MN_SUBMIT_WAIT,
                                     te_wait_done, &wu), MN_OK);
        te_wait_for(&wt);
        te_wait_for(&wu);
        status = te_wait_for(&ws);
    }
    return status;
}

static void test_failed_sync_stolen_sequence(int double_fault) {
    char dir[512], db[600];
    faultfs_fresh_db(root_dir, double_fault ? "stolen-void" : "stolen", dir, sizeof(dir), db,
                     sizeof(db));
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, 2) == 0);
    mn_engine *engine = open_faulty(&fs, db, 2);
    if (!engine) return;
    char s_name[32], t_name[32], u_name[32];
    mn_space *s = space_on(engine, "s", 0, s_name, sizeof(s_name));
    mn_space *t = space_on(engine, "t", 0, t_name, sizeof(t_name));
    mn_space *u = space_on(engine, "u", 0, u_name, sizeof(u_name));
    CHECK(s && t && u);
    if (!s || !t || !u) return;
    CHECK_STATUS(td_insert(s, "x0", 1, "x0"), MN_OK);
    /* The next fdatasync fails (worker 0's log, running s); with double_fault the cut's own
     * truncate fails too, so the log refuses appends from then on. */
    CHECK(faultfs_fail(&fs, FAULTFS_FDATASYNC, faultfs_calls(&fs, FAULTFS_FDATASYNC) + 1, 1, MN_ERR_IO) == 0);
    if (double_fault) CHECK(faultfs_fail(&fs, FAULTFS_TRUNCATE, faultfs_calls(&fs, FAULTFS_TRUNCATE) + 1, 1, MN_ERR_IO) == 0);
    uint64_t detail = 0;
    CHECK_STATUS(insert_detail(s, "x1", 2, &detail), MN_ERR_IO);
    CHECK(detail != MN_DURABLE_DETAIL_UNKNOWN); /* cut off, or voided in worker 1's log */
    char id[32];
    uint32_t attempt = 0;
    CHECK_STATUS(write_stolen(s, t, u, id, sizeof(id), &attempt), MN_OK);
    printf("stolen write %s after %u attempt(s)%s\n", id, attempt, double_fault ? " (double fault)" : "");
    mn_space_release(s);
    mn_space_release(t);
    mn_space_release(u);
    mn_engine_destroy(engine);
    faultfs_free(&fs);

    mn_status status = MN_OK;
    mn_durable_report report;
    engine = td_open(db, 2, MN_DURABLE_SYNC, 0, 0, 0, &status, &report);
    CHECK_STATUS(status, MN_OK);
    if (!engine) {
        fprintf(stderr, "  damaged %s at %llu\n", report.damaged_file, (unsigned long long)report.damaged_offset);
        engine = td_open(db, 2, MN_DURABLE_SYNC, 1, 0, 0, &status, &report); /* repair does not help either */
        CHECK_STATUS(status, MN_OK);
        if (engine) mn_engine_destroy(engine);
        return;
    }
    s = td_open_space(engine, s_name);
    CHECK(s && td_has_memory(s, "x0", "x0", 1, NULL));
    CHECK(s && !td_has_memory(s, "x1", "x1", 2, NULL)); /* reported failed: absent */
    CHECK(s && td_has_memory(s, id, id, 100 + attempt - 1, NULL));
    if (s) mn_space_release(s);
    mn_engine_destroy(engine);
}

/* Item 7: the drop record is durable, unlinking the checkpoint file fails (kind: unlink, or the
 * directory sync after it). */
static void test_drop_cleanup_fails(faultfs_op kind) {
    char dir[512], db[600];
    faultfs_fresh_db(root_dir, kind == FAULTFS_UNLINK ? "drop-unlink" : "drop-syncdir", dir,
                     sizeof(dir), db, sizeof(db));
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, 3) == 0);
    mn_engine *engine = open_faulty(&fs, db, 1);
    if (!engine) return;
    mn_space *space = te_space(engine, "s", TD_DIM, MN_METRIC_L2);
    mn_space *other = te_space(engine, "o", TD_DIM, MN_METRIC_L2);
    CHECK_STATUS(td_insert(space, "m0", 1, "m0"), MN_OK);
    CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK); /* s has a file now */
    CHECK(faultfs_fail(&fs, kind, faultfs_calls(&fs, kind) + 1, 1, MN_ERR_IO) == 0);
    mn_space_release(space);
    mn_status dropped = mn_engine_space_drop(engine, "s", 1);
    CHECK_STATUS(dropped, MN_OK);
    int acked_after = 0;
    if (dropped != MN_OK) { /* told it failed: the space must stay, with what it takes */
        space = td_open_space(engine, "s");
        CHECK(space != NULL);
        if (space) {
            acked_after = td_insert(space, "m1", 2, "m1") == MN_OK;
            mn_space_release(space);
        }
    }
    /* More log, then a checkpoint that deletes the segment holding the drop record: the file
     * must be gone before that. */
    for (uint32_t i = 0; i < 40; i++) {
        char id[16];
        snprintf(id, sizeof(id), "o%u", i);
        CHECK_STATUS(td_insert(other, id, 10 + i, "some content to fill the log a little"), MN_OK);
    }
    mn_checkpoint_report report;
    /* With checkpoint packs a drop touches no file, so the armed fault may hit this checkpoint
     * instead (which then deletes nothing): the next one goes through. */
    mn_status checkpointed = mn_engine_checkpoint(engine, &report);
    if (checkpointed != MN_OK) checkpointed = mn_engine_checkpoint(engine, &report);
    CHECK_STATUS(checkpointed, MN_OK);
    mn_space_release(other);
    mn_engine_destroy(engine);
    faultfs_free(&fs);

    engine = td_reopen(db);
    if (!engine) return;
    space = td_open_space(engine, "s");
    if (dropped == MN_OK) {
        CHECK(space == NULL); /* told dropped: dropped */
    } else {
        CHECK(space != NULL); /* told not dropped: there, with the write acknowledged after */
        CHECK(space && (!acked_after || td_has_memory(space, "m1", "m1", 2, NULL)));
    }
    if (space) mn_space_release(space);
    mn_engine_destroy(engine);
}

int main(void) {
    snprintf(root_dir, sizeof(root_dir), "/tmp/mnemo-failed-writes-XXXXXX");
    if (!mkdtemp(root_dir)) return 2;
    test_failed_sync_not_replayed();
    test_failed_sync_stolen_sequence(0);
    test_failed_sync_stolen_sequence(1);
    test_drop_cleanup_fails(FAULTFS_UNLINK);
    test_drop_cleanup_fails(FAULTFS_SYNC_DIR);
    char command[300];
    snprintf(command, sizeof(command), "rm -rf '%s'", root_dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root_dir);
    return te_report();
}
