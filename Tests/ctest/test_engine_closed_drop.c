/*
 * test_engine_closed_drop.c: a closed durable engine refuses to drop a space (MN_ERR_CLOSED).
 * mn_engine_close releases the data directory's lock (test_engine_lock checks the reopen), and
 * a drop is logged: before this check, a drop through the closed engine appended its record to
 * a directory another engine may already have opened and recovered.
 *
 * Checks: after close (no destroy) a second engine opens the directory and finds every write of
 * the first; the closed engine still serves reads through a handle taken before close and
 * refuses a drop; destroying it later disturbs nothing the second engine wrote; a third open
 * finds everything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_durable_support.h"

static void test_reopen_after_close(const char *path) {
    mn_status status = MN_OK;
    mn_engine *first = td_open(path, 2, MN_DURABLE_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!first) return;
    mn_space *old = te_space(first, "s", TD_DIM, MN_METRIC_L2);
    td_insert_range(old, 0, 30);
    CHECK_STATUS(mn_engine_close(first), MN_OK);

    mn_engine *second = td_open(path, 2, MN_DURABLE_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK); /* MN_ERR_LOCKED while close kept the lock */
    /* The closed engine still reads, and may not log. */
    CHECK(td_has_range(old, 0, 30));
    CHECK_STATUS(mn_engine_space_drop(first, "s", 1), MN_ERR_CLOSED);
    if (second) {
        mn_space *space = td_open_space(second, "s");
        CHECK(space != NULL);
        if (space) {
            CHECK(td_has_range(space, 0, 30));
            td_insert_range(space, 30, 40);
            mn_space_release(space);
        }
    }
    mn_space_release(old);
    CHECK_STATUS(mn_engine_destroy(first), MN_OK);
    if (!second) return;
    CHECK_STATUS(mn_engine_destroy(second), MN_OK);

    mn_engine *third = td_open(path, 2, MN_DURABLE_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!third) return;
    mn_space *space = td_open_space(third, "s");
    CHECK(space != NULL && td_has_range(space, 0, 40));
    if (space) mn_space_release(space);
    mn_engine_destroy(third);
}

int main(void) {
    char root[] = "/tmp/mnemo-closed-drop-XXXXXX";
    if (!mkdtemp(root)) return 2;
    char path[600];
    snprintf(path, sizeof(path), "%s/db", root);
    test_reopen_after_close(path);
    char command[700];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return te_report();
}
