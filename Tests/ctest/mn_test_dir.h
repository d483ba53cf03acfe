/*
 * mn_test_dir.h: emptying a test's scratch directory of log segments (its files only: the WAL
 * tests write no subdirectories), shared by test_wal.c and test_wal_fuzz.c.
 */
#ifndef MN_TEST_DIR_H
#define MN_TEST_DIR_H

#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include "mnemo/mn_limits.h"

/* Deletes every file in `path` (not the directory itself). */
static inline void mn_test_clear_dir(const char *path) {
    DIR *dir = opendir(path);
    if (!dir) return;
    struct dirent *entry;
    char file[MN_WAL_PATH_BYTES_MAX];
    while ((entry = readdir(dir))) {
        if (entry->d_name[0] == '.') continue;
        snprintf(file, sizeof(file), "%s/%s", path, entry->d_name);
        unlink(file);
    }
    closedir(dir);
}

#endif /* MN_TEST_DIR_H */
