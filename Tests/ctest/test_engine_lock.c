/*
 * test_engine_lock.c: one data directory, one engine (issue 9, item 8). A second mn_engine_open
 * of a directory that is open, in the same process or in another, must fail with MN_ERR_LOCKED
 * and change nothing: before the lock, its recovery ran against the live log and cut the first
 * engine's unsynced tail, and two engines appended to the same segments.
 *
 * Checks: two engines in one process (the second refused, the first still writing, everything
 * there after reopen); a forked child refused while the parent holds the directory; the lock
 * released by close (a later open succeeds), also while the closed engine is not yet destroyed
 * (the Swift `Database.close()` closes; its deinit destroys).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_durable_support.h"

/* Inserts "m<from>" ... "m<to-1>" into space "s" of `engine`. */
static void insert_range(mn_engine *engine, uint32_t from, uint32_t to) {
    mn_space *space = td_open_space(engine, "s");
    if (!space) space = te_space(engine, "s", TD_DIM, MN_METRIC_L2);
    td_insert_range(space, from, to);
    mn_space_release(space);
}

/* 1 when "m0" ... "m<count-1>" are all in space "s". */
static int has_range(mn_engine *engine, uint32_t count) {
    mn_space *space = td_open_space(engine, "s");
    if (!space) return 0;
    int ok = td_has_range(space, 0, count);
    mn_space_stats stats;
    mn_space_stats_get(space, &stats);
    mn_space_release(space);
    return ok && stats.count == count;
}

static void test_same_process(const char *path) {
    mn_status status = MN_OK;
    mn_engine *first = td_open(path, 2, MN_WAL_BATCHED, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!first) return;
    insert_range(first, 0, 20);
    mn_durable_report report;
    mn_engine *second = td_open(path, 2, MN_WAL_BATCHED, 0, 0, 0, &status, &report);
    CHECK_STATUS(status, MN_ERR_LOCKED);
    CHECK(second == NULL);
    CHECK(report.records == 0); /* no recovery ran */
    if (second) mn_engine_destroy(second);
    /* The first engine goes on, and everything it wrote is there after its close. */
    insert_range(first, 20, 40);
    mn_engine_destroy(first);
    mn_engine *again = td_open(path, 2, MN_WAL_BATCHED, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK); /* close released the lock */
    if (!again) return;
    CHECK(has_range(again, 40));
    mn_engine_destroy(again);
}

static void test_other_process(const char *path) {
    mn_status status = MN_OK;
    mn_engine *parent = td_open(path, 1, MN_WAL_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!parent) return;
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        /* The child: its open must be refused; exit 0 when it was, 1 when it got in. */
        mn_status s = MN_OK;
        mn_engine *engine = td_open(path, 1, MN_WAL_SYNC, 0, 0, 0, &s, NULL);
        if (engine) mn_engine_destroy(engine);
        _exit(s == MN_ERR_LOCKED ? 0 : 1);
    }
    CHECK(child > 0);
    int wstatus = 0;
    CHECK(child > 0 && waitpid(child, &wstatus, 0) == child);
    CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    insert_range(parent, 40, 50);
    mn_engine_destroy(parent);
    mn_engine *again = td_open(path, 1, MN_WAL_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!again) return;
    CHECK(has_range(again, 50));
    mn_engine_destroy(again);
}

static void test_close_releases(const char *path) {
    mn_status status = MN_OK;
    mn_engine *first = td_open(path, 2, MN_WAL_BATCHED, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!first) return;
    insert_range(first, 50, 60);
    mn_space *held = td_open_space(first, "s");
    CHECK_STATUS(mn_engine_close(first), MN_OK);
    mn_engine *second = td_open(path, 2, MN_WAL_BATCHED, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK); /* closed, not yet destroyed: the directory is free */
    if (held) { /* the closed engine's handle refuses writes */
        CHECK_STATUS(td_insert(held, "late", 1, "late"), MN_ERR_CLOSED);
        mn_space_release(held);
    }
    mn_engine_destroy(first); /* after the second opened: must not disturb it */
    if (!second) return;
    CHECK(has_range(second, 60));
    insert_range(second, 60, 70);
    mn_engine_destroy(second);
    mn_engine *again = td_open(path, 2, MN_WAL_BATCHED, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!again) return;
    CHECK(has_range(again, 70));
    mn_engine_destroy(again);
}

int main(void) {
    char root[] = "/tmp/mnemo-lock-XXXXXX";
    if (!mkdtemp(root)) return 2;
    char path[600];
    snprintf(path, sizeof(path), "%s/db", root);
    test_same_process(path);
    test_other_process(path);
    test_close_releases(path);
    char command[700];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return te_report();
}
