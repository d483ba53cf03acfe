/*
 * test_faultfs.c: the fault-injecting file system (mn_test_faultfs.h) does what it says, and a
 * first engine-level power-loss test on top of it.
 *
 * The table itself: each fault kind (the nth call of one kind, the nth of all calls, MN_ERR_FULL,
 * a short write that returns MN_OK, one that fails after a part); a power loss drops exactly the
 * unsynced state (unsynced data, names never synced into their directory, unsynced renames and
 * unlinks, a directory whose own name was not synced) and keeps the synced state; a torn power
 * loss keeps a prefix of an appended tail; after it every call fails.
 * The engine: a durable engine in MN_WAL_SYNC writes through the table until a crash at a seeded
 * fdatasync, the power is lost, and the directory reopened with the real file system holds every
 * acknowledged insert byte for byte (several seeds, torn and not); a checkpoint (which cuts the
 * log) followed by a power loss keeps everything.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/mn_engine_vfs.h"
#include "mn_test_faultfs.h"
#include "test_durable_support.h"

static char root_dir[256];

/* A fresh empty directory <root_dir>/<name>; its path into out. */
static void fresh_dir(const char *name, char *out, size_t size) {
    snprintf(out, size, "%s/%s", root_dir, name);
    mkdir(out, 0755);
    mn_test_remove_tree(out);
}

/* The content of file `path` (real) into buffer; its size, or -1 when absent. */
static long read_file(const char *path, char *buffer, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = pread(fd, buffer, size - 1, 0);
    close(fd);
    if (n < 0) return -1;
    buffer[n] = '\0';
    return (long)n;
}

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (write(fd, text, strlen(text)) < 0) perror("write");
    close(fd);
}

/* Opens `path` through `vfs`, writes `text` at `offset` and closes; the status of the write. */
static mn_status put(const mn_vfs *vfs, const char *path, uint32_t flags, const char *text,
                     uint64_t offset, int sync) {
    int fd = -1;
    mn_status status = vfs->open(vfs->context, path, flags, &fd);
    if (status != MN_OK) return status;
    status = mn_vfs_write_all(vfs, fd, text, strlen(text), offset);
    if (status == MN_OK && sync) status = vfs->fdatasync(vfs->context, fd);
    vfs->close(vfs->context, fd);
    return status;
}

static void test_fail_nth(void) {
    char dir[512], path[600];
    fresh_dir("fail", dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/f", dir);
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, 1) == 0);
    const mn_vfs *vfs = faultfs_vfs(&fs);
    CHECK(faultfs_fail(&fs, FAULTFS_FDATASYNC, 2, 1, MN_ERR_IO) == 0);
    CHECK(faultfs_fail(&fs, FAULTFS_PWRITE, 4, 2, MN_ERR_FULL) == 0);
    const uint32_t create = MN_VFS_WRITE | MN_VFS_CREATE;
    CHECK_STATUS(put(vfs, path, create, "a", 0, 1), MN_OK);        /* pwrite 1, fdatasync 1 */
    CHECK_STATUS(put(vfs, path, create, "b", 1, 1), MN_ERR_IO);    /* pwrite 2, fdatasync 2 */
    CHECK_STATUS(put(vfs, path, create, "c", 2, 1), MN_OK);        /* pwrite 3, fdatasync 3 */
    CHECK_STATUS(put(vfs, path, create, "d", 3, 0), MN_ERR_FULL);  /* pwrite 4 */
    CHECK_STATUS(put(vfs, path, create, "d", 3, 0), MN_ERR_FULL);  /* pwrite 5 */
    CHECK_STATUS(put(vfs, path, create, "d", 3, 0), MN_OK);        /* pwrite 6 */
    char text[64];
    CHECK(read_file(path, text, sizeof(text)) == 4 && strcmp(text, "abcd") == 0);
    CHECK(faultfs_calls(&fs, FAULTFS_PWRITE) == 6);
    CHECK(faultfs_calls(&fs, FAULTFS_FDATASYNC) == 3);
    CHECK(faultfs_calls(&fs, FAULTFS_OPEN) == 6);
    /* Over all calls: the next call of any kind fails, the one after does not. */
    uint64_t next = faultfs_calls(&fs, FAULTFS_ANY) + 1;
    CHECK(faultfs_fail(&fs, FAULTFS_ANY, next, 1, MN_ERR_IO) == 0);
    CHECK_STATUS(vfs->rename(vfs->context, path, path), MN_ERR_IO);
    char moved[640];
    snprintf(moved, sizeof(moved), "%s/g", dir);
    CHECK_STATUS(vfs->rename(vfs->context, path, moved), MN_OK);
    CHECK_STATUS(vfs->unlink(vfs->context, path), MN_ERR_NOT_FOUND);
    CHECK_STATUS(vfs->sync_dir(vfs->context, dir), MN_OK);
    faultfs_free(&fs);
}

static void test_short_writes(void) {
    char dir[512], path[600];
    fresh_dir("short", dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/f", dir);
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, 7) == 0);
    const mn_vfs *vfs = faultfs_vfs(&fs);
    /* A short write that succeeds: the caller's loop finishes the job. */
    CHECK(faultfs_short_write(&fs, 1, MN_OK) == 0);
    int fd = -1;
    CHECK_STATUS(vfs->open(vfs->context, path, MN_VFS_READ_WRITE | MN_VFS_CREATE, &fd), MN_OK);
    size_t written = 0;
    CHECK_STATUS(vfs->pwrite(vfs->context, fd, "0123456789", 10, 0, &written), MN_OK);
    CHECK(written >= 1 && written < 10);
    CHECK_STATUS(mn_vfs_write_all(vfs, fd, "abcdefghij", 10, 10), MN_OK);
    CHECK(faultfs_calls(&fs, FAULTFS_PWRITE) == 2);
    /* A part, then an error. */
    CHECK(faultfs_short_write(&fs, 3, MN_ERR_FULL) == 0);
    CHECK_STATUS(mn_vfs_write_all(vfs, fd, "ABCDEFGHIJ", 10, 20), MN_ERR_FULL);
    uint64_t size = 0;
    CHECK_STATUS(vfs->size(vfs->context, fd, &size), MN_OK);
    CHECK(size >= 20 && size < 30);
    vfs->close(vfs->context, fd);
    char text[64];
    long n = read_file(path, text, sizeof(text));
    CHECK(n >= 20 && memcmp(text + 10, "abcdefghij", 10) == 0 && memcmp(text + 20, "ABCDEFGHIJ", (size_t)n - 20) == 0);
    faultfs_free(&fs);
}

static void test_power_loss(void) {
    char dir[512], p[640], text[64];
    fresh_dir("power", dir, sizeof(dir));
    /* Found at init: durable. */
    snprintf(p, sizeof(p), "%s/old", dir);
    write_file(p, "old");
    snprintf(p, sizeof(p), "%s/gone", dir);
    write_file(p, "gone");
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, 3) == 0);
    const mn_vfs *vfs = faultfs_vfs(&fs);
    const uint32_t create = MN_VFS_WRITE | MN_VFS_CREATE;
    char f1[640], f2[640], f3[640], old[640], renamed[640], gone[640], sub[640], subfile[700];
    snprintf(f1, sizeof(f1), "%s/f1", dir);
    snprintf(f2, sizeof(f2), "%s/f2", dir);
    snprintf(f3, sizeof(f3), "%s/f3", dir);
    snprintf(old, sizeof(old), "%s/old", dir);
    snprintf(renamed, sizeof(renamed), "%s/renamed", dir);
    snprintf(gone, sizeof(gone), "%s/gone", dir);
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    snprintf(subfile, sizeof(subfile), "%s/x", sub);
    /* f1: synced data and name, then an unsynced append. */
    CHECK_STATUS(put(vfs, f1, create, "hello", 0, 1), MN_OK);
    CHECK_STATUS(vfs->sync_dir(vfs->context, dir), MN_OK);
    CHECK_STATUS(put(vfs, f1, MN_VFS_WRITE, " world", 5, 0), MN_OK);
    /* f2: synced data, name never synced. f3: synced name, data never synced. */
    CHECK_STATUS(put(vfs, f2, create, "two", 0, 1), MN_OK);
    CHECK_STATUS(put(vfs, f3, create, "three", 0, 0), MN_OK);
    CHECK_STATUS(vfs->sync_dir(vfs->context, dir), MN_OK);
    CHECK_STATUS(vfs->unlink(vfs->context, f2), MN_OK); /* so f2 was synced in; remake it */
    CHECK_STATUS(vfs->sync_dir(vfs->context, dir), MN_OK);
    CHECK_STATUS(put(vfs, f2, create, "two again", 0, 1), MN_OK);
    /* An unsynced rename and unlink of files found at init. */
    CHECK_STATUS(vfs->rename(vfs->context, old, renamed), MN_OK);
    CHECK_STATUS(vfs->unlink(vfs->context, gone), MN_OK);
    /* A directory whose contents are synced but whose own name is not. */
    CHECK_STATUS(vfs->mkdir(vfs->context, sub), MN_OK);
    CHECK_STATUS(put(vfs, subfile, create, "x", 0, 1), MN_OK);
    CHECK_STATUS(vfs->sync_dir(vfs->context, sub), MN_OK);
    /* Before the loss the disk holds the current state. */
    CHECK(read_file(f1, text, sizeof(text)) == 11);
    CHECK(read_file(renamed, text, sizeof(text)) == 3);
    CHECK(read_file(subfile, text, sizeof(text)) == 1);

    CHECK(faultfs_power_loss(&fs, 0) == 0);
    CHECK(faultfs_dead(&fs));
    CHECK(read_file(f1, text, sizeof(text)) == 5 && strcmp(text, "hello") == 0);
    CHECK(read_file(f2, text, sizeof(text)) == -1);
    CHECK(read_file(f3, text, sizeof(text)) == 0);
    CHECK(read_file(old, text, sizeof(text)) == 3 && strcmp(text, "old") == 0);
    CHECK(read_file(renamed, text, sizeof(text)) == -1);
    CHECK(read_file(gone, text, sizeof(text)) == 4 && strcmp(text, "gone") == 0);
    struct stat st;
    CHECK(stat(sub, &st) != 0);
    /* The machine is off: nothing more happens. */
    int fd = -1;
    CHECK_STATUS(vfs->open(vfs->context, f1, MN_VFS_WRITE, &fd), MN_ERR_IO);
    CHECK_STATUS(vfs->sync_dir(vfs->context, dir), MN_ERR_IO);
    faultfs_free(&fs);

    /* A synced rename and unlink, a synced directory name: kept. */
    CHECK(faultfs_init(&fs, dir, 4) == 0);
    vfs = faultfs_vfs(&fs);
    CHECK_STATUS(vfs->rename(vfs->context, old, renamed), MN_OK);
    CHECK_STATUS(vfs->unlink(vfs->context, gone), MN_OK);
    CHECK_STATUS(vfs->mkdir(vfs->context, sub), MN_OK);
    CHECK_STATUS(put(vfs, subfile, create, "x", 0, 1), MN_OK);
    CHECK_STATUS(vfs->sync_dir(vfs->context, sub), MN_OK);
    CHECK_STATUS(vfs->sync_dir(vfs->context, dir), MN_OK);
    CHECK(faultfs_power_loss(&fs, 0) == 0);
    CHECK(read_file(old, text, sizeof(text)) == -1);
    CHECK(read_file(renamed, text, sizeof(text)) == 3 && strcmp(text, "old") == 0);
    CHECK(read_file(gone, text, sizeof(text)) == -1);
    CHECK(read_file(subfile, text, sizeof(text)) == 1);
    CHECK(read_file(f1, text, sizeof(text)) == 5);
    faultfs_free(&fs);
}

static void test_torn_and_crash(void) {
    char dir[512], path[640], text[64];
    fresh_dir("torn", dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/f", dir);
    write_file(path, "abc");
    int longer = 0;
    for (uint64_t seed = 1; seed <= 16; seed++) {
        faultfs fs;
        CHECK(faultfs_init(&fs, dir, seed) == 0);
        const mn_vfs *vfs = faultfs_vfs(&fs);
        CHECK_STATUS(put(vfs, path, MN_VFS_WRITE, "defgh", 3, 0), MN_OK);
        CHECK(faultfs_power_loss(&fs, 1) == 0);
        long n = read_file(path, text, sizeof(text));
        CHECK(n >= 3 && n <= 8 && memcmp(text, "abcdefgh", (size_t)n) == 0);
        if (n > 3) longer++;
        faultfs_free(&fs);
        write_file(path, "abc");
    }
    CHECK(longer > 0);
    /* A crash: the nth fdatasync and everything after fail, and reach nothing. */
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, 5) == 0);
    const mn_vfs *vfs = faultfs_vfs(&fs);
    CHECK(faultfs_crash(&fs, FAULTFS_FDATASYNC, 2) == 0);
    CHECK_STATUS(put(vfs, path, MN_VFS_WRITE, "X", 0, 1), MN_OK);
    CHECK(!faultfs_dead(&fs));
    CHECK_STATUS(put(vfs, path, MN_VFS_WRITE, "Y", 1, 1), MN_ERR_IO);
    CHECK(faultfs_dead(&fs));
    CHECK_STATUS(vfs->unlink(vfs->context, path), MN_ERR_IO);
    CHECK(faultfs_power_loss(&fs, 0) == 0);
    CHECK(read_file(path, text, sizeof(text)) == 3 && strcmp(text, "Xbc") == 0);
    faultfs_free(&fs);
}

/* The engine: writes through the table in MN_WAL_SYNC until a crash at a seeded fdatasync, a
 * power loss, a reopen on the real file system: every acknowledged insert is there. */
static void test_engine_power_loss(uint64_t seed, int torn) {
    char dir[512], path[640];
    char name[32];
    snprintf(name, sizeof(name), "engine-%llu", (unsigned long long)seed);
    faultfs_fresh_db(root_dir, name, dir, sizeof(dir), path, sizeof(path));
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, seed) == 0);
    mn_status status = MN_OK;
    mn_engine *engine = td_open_vfs(path, faultfs_vfs(&fs), 1, MN_WAL_SYNC, 0,
                                    MN_WAL_SEGMENT_BYTES_MIN /* rotations too */,
                                    MN_DURABLE_CHECKPOINT_LOG_BYTES, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *space = te_space(engine, "s", TD_DIM, MN_METRIC_L2);
    uint64_t rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    uint64_t crash_at = faultfs_calls(&fs, FAULTFS_FDATASYNC) + 1 + te_next(&rng) % 60;
    CHECK(faultfs_crash(&fs, FAULTFS_FDATASYNC, crash_at) == 0);
    enum { INSERTS = 80 };
    int acked[INSERTS] = {0};
    char id[32], content[96];
    for (uint32_t i = 0; i < INSERTS; i++) {
        snprintf(id, sizeof(id), "m%u", i);
        snprintf(content, sizeof(content), "content %u of seed %llu", i, (unsigned long long)seed);
        acked[i] = td_insert(space, id, seed * 1000 + i, content) == MN_OK;
    }
    CHECK(faultfs_dead(&fs));
    CHECK(faultfs_power_loss(&fs, torn) == 0);
    mn_space_release(space);
    mn_engine_destroy(engine); /* every call fails: nothing reaches the disk */
    faultfs_free(&fs);

    engine = td_reopen(path);
    if (!engine) return;
    space = td_open_space(engine, "s");
    uint32_t acked_count = 0, present = 0;
    for (uint32_t i = 0; i < INSERTS; i++) {
        snprintf(id, sizeof(id), "m%u", i);
        snprintf(content, sizeof(content), "content %u of seed %llu", i, (unsigned long long)seed);
        int here = space && td_has_memory(space, id, content, seed * 1000 + i, NULL);
        if (acked[i]) {
            acked_count++;
            CHECK(here);
            if (!here) fprintf(stderr, "seed %llu: acknowledged %s lost\n", (unsigned long long)seed, id);
        }
        present += (uint32_t)here;
    }
    printf("seed %llu%s: crash at fdatasync %llu, %u acknowledged, %u present after reopen\n",
           (unsigned long long)seed, torn ? " (torn)" : "", (unsigned long long)crash_at,
           acked_count, present);
    /* At most the one in flight at the crash came back without its acknowledgement. */
    CHECK(present >= acked_count && present <= acked_count + 1);
    if (space) mn_space_release(space);
    mn_engine_destroy(engine);
}

/* A checkpoint, which deletes the log segments below its cut, then a power loss: everything
 * is still there. Before the data directory was synced after creating spaces/, the directory's
 * own name was never durable: the checkpoint vanished with it while the log was already cut,
 * and the space came back empty (found with this table). */
static void test_checkpoint_power_loss(void) {
    char dir[512], path[640];
    faultfs_fresh_db(root_dir, "checkpoint", dir, sizeof(dir), path, sizeof(path));
    faultfs fs;
    CHECK(faultfs_init(&fs, dir, 11) == 0);
    mn_status status = MN_OK;
    mn_engine *engine = td_open_vfs(path, faultfs_vfs(&fs), 1, MN_WAL_SYNC, 0,
                                    MN_WAL_SEGMENT_BYTES_MIN, MN_DURABLE_CHECKPOINT_LOG_BYTES,
                                    &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *space = te_space(engine, "s", TD_DIM, MN_METRIC_L2);
    td_fill(space, 0, 100, 0, "abcdefghijabcdefghijabcdefghij");
    mn_checkpoint_report report;
    CHECK_STATUS(mn_engine_checkpoint(engine, &report), MN_OK);
    CHECK(report.spaces_written == 1 && report.segments_deleted > 0);
    CHECK(faultfs_power_loss(&fs, 0) == 0);
    mn_space_release(space);
    mn_engine_destroy(engine);
    faultfs_free(&fs);
    engine = td_reopen(path);
    if (!engine) return;
    space = td_open_space(engine, "s");
    CHECK(space != NULL);
    CHECK(space && td_count_filled(space, 0, 100, 0, "abcdefghijabcdefghijabcdefghij") == 100);
    if (space) mn_space_release(space);
    mn_engine_destroy(engine);
}

int main(void) {
    snprintf(root_dir, sizeof(root_dir), "/tmp/mnemo-faultfs-XXXXXX");
    if (!mkdtemp(root_dir)) return 2;
    test_fail_nth();
    test_short_writes();
    test_power_loss();
    test_torn_and_crash();
    for (uint64_t seed = 1; seed <= 8; seed++) test_engine_power_loss(seed, (int)(seed & 1));
    test_checkpoint_power_loss();
    char command[300];
    snprintf(command, sizeof(command), "rm -rf '%s'", root_dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root_dir);
    return te_report();
}
