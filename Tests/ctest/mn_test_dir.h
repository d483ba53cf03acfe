/*
 * mn_test_dir.h: scratch directories of the tests on the real disk: emptying one of its files
 * (test_wal.c, test_wal_fuzz.c: the WAL tests write no subdirectories) or of a whole tree (the
 * durable-engine and format tests), counting and finding files by suffix.
 */
#ifndef MN_TEST_DIR_H
#define MN_TEST_DIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

/* Removes everything under `path` (not `path` itself); a path too long is passed over. */
static inline void mn_test_remove_tree(const char *path) {
    DIR *dir = opendir(path);
    if (!dir) return;
    struct dirent *item;
    while ((item = readdir(dir)) != NULL) {
        if (strcmp(item->d_name, ".") == 0 || strcmp(item->d_name, "..") == 0) continue;
        char child[MN_WAL_PATH_BYTES_MAX];
        int n = snprintf(child, sizeof(child), "%s/%s", path, item->d_name);
        if (n < 0 || (size_t)n >= sizeof(child)) continue;
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
            mn_test_remove_tree(child);
            rmdir(child);
        } else {
            unlink(child);
        }
    }
    closedir(dir);
}

/* 1 when the name ends in `suffix` and is longer than it. */
static inline int mn_test_has_suffix(const char *name, const char *suffix) {
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcmp(name + n - s, suffix) == 0;
}

/* The number of entries of directory `path` whose name ends in `suffix` (0 when it is absent). */
static inline int mn_test_count_files(const char *path, const char *suffix) {
    DIR *dir = opendir(path);
    if (!dir) return 0;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) count += mn_test_has_suffix(entry->d_name, suffix);
    closedir(dir);
    return count;
}

/* The path of an entry of directory `path` whose name ends in `suffix` (the last one read) into
 * out; 1 when there is one, else 0 and out is "". */
static inline int mn_test_find_file(const char *path, const char *suffix, char *out, size_t size) {
    out[0] = '\0';
    DIR *dir = opendir(path);
    if (!dir) return 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (mn_test_has_suffix(entry->d_name, suffix)) {
            snprintf(out, size, "%s/%s", path, entry->d_name);
        }
    }
    closedir(dir);
    return out[0] != '\0';
}

#endif /* MN_TEST_DIR_H */
