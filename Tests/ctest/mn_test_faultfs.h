/*
 * mn_test_faultfs.h: a fault-injecting file-system table (mn_vfs, csrc/util/mn_vfs.h) for the
 * durability tests. It wraps mn_vfs_posix(): every call really happens on the disk, and the
 * table keeps, beside it, a model of what a power loss would leave. Header-only; test code.
 *
 * Faults (each armed once, up to FAULTFS_RULES_MAX at a time; calls are counted from 1, over
 * all calls (FAULTFS_ANY) or over the calls of one kind; close is never counted or failed):
 *   faultfs_fail(fs, op, nth, times, error)  the nth call of `op` and the times-1 after it fail
 *                                            with `error` (MN_ERR_IO, MN_ERR_FULL, ...) and
 *                                            do nothing;
 *   faultfs_short_write(fs, nth, error)      the nth pwrite writes only a seeded part of its
 *                                            bytes (at least 1 when error is MN_OK), then
 *                                            returns MN_OK with the smaller count, or `error`;
 *   faultfs_crash(fs, op, nth)               at the nth call of `op` the machine stops: that
 *                                            call and every later one fail with MN_ERR_IO and
 *                                            touch nothing (the engine may keep running, but
 *                                            nothing more reaches the disk).
 *
 * The durability model (the one mn_vfs.h states, and the one the engine must be correct under):
 *   - a file's DATA is durable as of its last successful fdatasync (its whole content and size
 *     then); a file never synced has durable content as found at faultfs_init (empty if created
 *     since). A failed fdatasync makes nothing durable.
 *   - a NAME (a create, mkdir, rename or unlink in directory D) is durable after a successful
 *     sync_dir(D); until then the old name set of D survives. A file reachable under a durable
 *     name gets the durable data of the file (inode) that name pointed to when D was synced.
 *   - everything found under the root at faultfs_init is durable (names and data).
 * faultfs_power_loss(fs, torn) stops the machine (as faultfs_crash) and rewrites the real tree
 * under the root to exactly the durable state: files and directories not durably named vanish,
 * unsynced renames and unlinks are undone, unsynced data is dropped. With `torn`, a file whose
 * current content extends its durable content (an append) keeps a seeded random prefix of the
 * unsynced tail, as a disk that wrote some sectors of it would (a torn write).
 * After a power loss the engine that used the table must not be used for anything but
 * mn_engine_destroy (every call fails harmlessly); reopen the directory with mn_vfs_posix() or a
 * fresh faultfs_init. Paths outside the root are passed through and assumed durable.
 *
 * All calls are serialized by one recursive mutex (the listing callback calls back in).
 * Everything is seeded (faultfs_init's seed): a schedule is reproduced by its seed.
 * Includers define _GNU_SOURCE (pread, pwrite, lstat) before any system header.
 */
#ifndef MN_TEST_FAULTFS_H
#define MN_TEST_FAULTFS_H

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mn_test_dir.h" /* mn_test_remove_tree */
#include "mnemo/mn_limits.h"
#include "util/mn_vfs.h"

#define FAULTFS_RULES_MAX 8
#define FAULTFS_PATH_MAX MN_WAL_PATH_BYTES_MAX

/** Kinds of call, for counting and for arming faults. FAULTFS_ANY counts every call. */
typedef enum faultfs_op {
    FAULTFS_ANY = 0,
    FAULTFS_OPEN,
    FAULTFS_PWRITE,
    FAULTFS_PREAD,
    FAULTFS_FDATASYNC,
    FAULTFS_TRUNCATE,
    FAULTFS_SIZE,
    FAULTFS_RENAME,
    FAULTFS_UNLINK,
    FAULTFS_MKDIR,
    FAULTFS_SYNC_DIR,
    FAULTFS_LIST,
    FAULTFS_LOCK,
    FAULTFS_OPS
} faultfs_op;

typedef enum faultfs_action { FAULTFS_ACT_FAIL, FAULTFS_ACT_SHORT, FAULTFS_ACT_CRASH } faultfs_action;

typedef struct faultfs_rule {
    faultfs_op op;
    faultfs_action action;
    uint64_t nth;      /* first call (1-based, of `op`) it hits */
    uint64_t times;    /* calls it hits from nth on */
    mn_status error;   /* FAIL: returned; SHORT: MN_OK (short count) or returned after the part */
    int used;
} faultfs_rule;

/* A file or directory (an inode): its durable data. */
typedef struct faultfs_node {
    int is_dir;
    uint8_t *data;     /* durable content (files) */
    size_t size;
} faultfs_node;

/* A name -> node binding (one map for the current names, one for the durable ones). */
typedef struct faultfs_entry {
    char path[FAULTFS_PATH_MAX];
    size_t node;
} faultfs_entry;

typedef struct faultfs_map {
    faultfs_entry *items;
    size_t count, capacity;
} faultfs_map;

typedef struct faultfs {
    mn_vfs vfs;                /* the table handed to the engine (context = this) */
    const mn_vfs *real;
    pthread_mutex_t lock;
    char root[FAULTFS_PATH_MAX];
    size_t root_bytes;
    uint64_t rng;
    uint64_t calls[FAULTFS_OPS];
    faultfs_rule rules[FAULTFS_RULES_MAX];
    int dead;                  /* crashed or powered off: every call fails */
    faultfs_node *nodes;
    size_t node_count, node_capacity;
    faultfs_map current, durable;
    size_t *fd_nodes;          /* real fd -> node + 1 (0: not ours) */
    size_t fd_capacity;
} faultfs;

/* ---- small helpers ---- */

static inline uint64_t faultfs_random(faultfs *fs) {
    uint64_t x = fs->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    fs->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline int faultfs_under_root(const faultfs *fs, const char *path) {
    return strncmp(path, fs->root, fs->root_bytes) == 0 && path[fs->root_bytes] == '/';
}

/* The directory part of `path` into out ("" when none). */
static inline void faultfs_parent(const char *path, char *out) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    memcpy(out, path, n);
    out[n] = '\0';
}

static inline faultfs_entry *faultfs_map_find(faultfs_map *map, const char *path) {
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->items[i].path, path) == 0) return &map->items[i];
    return NULL;
}

static inline void faultfs_map_set(faultfs_map *map, const char *path, size_t node) {
    faultfs_entry *e = faultfs_map_find(map, path);
    if (!e) {
        if (map->count == map->capacity) {
            map->capacity = map->capacity ? map->capacity * 2 : 64;
            map->items = realloc(map->items, map->capacity * sizeof(faultfs_entry));
            if (!map->items) abort();
        }
        e = &map->items[map->count++];
        snprintf(e->path, sizeof(e->path), "%s", path);
    }
    e->node = node;
}

static inline void faultfs_map_remove(faultfs_map *map, const char *path) {
    faultfs_entry *e = faultfs_map_find(map, path);
    if (e) *e = map->items[--map->count];
}

static inline size_t faultfs_node_new(faultfs *fs, int is_dir) {
    if (fs->node_count == fs->node_capacity) {
        fs->node_capacity = fs->node_capacity ? fs->node_capacity * 2 : 64;
        fs->nodes = realloc(fs->nodes, fs->node_capacity * sizeof(faultfs_node));
        if (!fs->nodes) abort();
    }
    faultfs_node *n = &fs->nodes[fs->node_count];
    n->is_dir = is_dir;
    n->data = NULL;
    n->size = 0;
    return fs->node_count++;
}

/* Reads the whole file `fd` (real) into a malloc'd buffer. */
static inline int faultfs_slurp_fd(int fd, uint8_t **data, size_t *size) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    size_t bytes = (size_t)st.st_size;
    uint8_t *buffer = malloc(bytes ? bytes : 1);
    if (!buffer) abort();
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = pread(fd, buffer + got, bytes - got, (off_t)got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    *data = buffer;
    *size = got;
    return 0;
}

/* The node's durable data := the file's content now. `fd` may be write-only: the file is read
 * through a second, read-only handle on the same inode (/proc/self/fd, unlinked files too). */
static inline void faultfs_node_snapshot(faultfs *fs, size_t node, int fd) {
    uint8_t *data = NULL;
    size_t size = 0;
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    int reader = open(self, O_RDONLY | O_CLOEXEC);
    if (reader < 0) abort(); /* the model would be wrong: stop the test loudly */
    int failed = faultfs_slurp_fd(reader, &data, &size);
    close(reader);
    if (failed) abort();
    free(fs->nodes[node].data);
    fs->nodes[node].data = data;
    fs->nodes[node].size = size;
}

static inline void faultfs_fd_bind(faultfs *fs, int fd, size_t node) {
    if ((size_t)fd >= fs->fd_capacity) {
        size_t capacity = fs->fd_capacity ? fs->fd_capacity : 256;
        while (capacity <= (size_t)fd) capacity *= 2;
        fs->fd_nodes = realloc(fs->fd_nodes, capacity * sizeof(size_t));
        if (!fs->fd_nodes) abort();
        memset(fs->fd_nodes + fs->fd_capacity, 0, (capacity - fs->fd_capacity) * sizeof(size_t));
        fs->fd_capacity = capacity;
    }
    fs->fd_nodes[fd] = node + 1;
}

static inline int faultfs_fd_node(const faultfs *fs, int fd, size_t *node) {
    if (fd < 0 || (size_t)fd >= fs->fd_capacity || fs->fd_nodes[fd] == 0) return 0;
    *node = fs->fd_nodes[fd] - 1;
    return 1;
}

/* The node a name found on the real disk (not made through the table) is bound to: found
 * things are durable as found. */
static inline size_t faultfs_adopt(faultfs *fs, const char *path, int is_dir, int fd) {
    size_t node = faultfs_node_new(fs, is_dir);
    if (!is_dir && fd >= 0) faultfs_node_snapshot(fs, node, fd);
    faultfs_map_set(&fs->current, path, node);
    faultfs_map_set(&fs->durable, path, node);
    return node;
}

/* Scans `path` (a directory under the root) recursively: everything is durable. */
static inline void faultfs_scan(faultfs *fs, const char *path) {
    DIR *dir = opendir(path);
    if (!dir) return;
    struct dirent *item;
    while ((item = readdir(dir)) != NULL) {
        if (strcmp(item->d_name, ".") == 0 || strcmp(item->d_name, "..") == 0) continue;
        char child[FAULTFS_PATH_MAX];
        int n = snprintf(child, sizeof(child), "%s/%s", path, item->d_name);
        if (n < 0 || (size_t)n >= sizeof(child)) continue;
        struct stat st;
        if (lstat(child, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            faultfs_adopt(fs, child, 1, -1);
            faultfs_scan(fs, child);
        } else if (S_ISREG(st.st_mode)) {
            int fd = open(child, O_RDONLY | O_CLOEXEC);
            faultfs_adopt(fs, child, 0, fd);
            if (fd >= 0) close(fd);
        }
    }
    closedir(dir);
}

/* Counts a call of `op` and applies the armed rules: returns MN_OK to go on, or the status the
 * call must return without doing anything. *short_rule gets an armed short write (or NULL). */
static inline mn_status faultfs_enter(faultfs *fs, faultfs_op op, faultfs_rule **short_rule) {
    if (short_rule) *short_rule = NULL;
    if (fs->dead) return MN_ERR_IO;
    fs->calls[FAULTFS_ANY]++;
    fs->calls[op]++;
    for (int i = 0; i < FAULTFS_RULES_MAX; i++) {
        faultfs_rule *r = &fs->rules[i];
        if (!r->used || (r->op != FAULTFS_ANY && r->op != op)) continue;
        uint64_t n = fs->calls[r->op];
        if (n < r->nth || n - r->nth >= r->times) continue;
        if (r->action == FAULTFS_ACT_CRASH) {
            fs->dead = 1;
            return MN_ERR_IO;
        }
        if (r->action == FAULTFS_ACT_FAIL) return r->error;
        if (r->action == FAULTFS_ACT_SHORT && op == FAULTFS_PWRITE && short_rule) *short_rule = r;
    }
    return MN_OK;
}

/* ---- the table ---- */

static inline mn_status faultfs_open(void *context, const char *path, uint32_t flags, int *fd) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    mn_status status = faultfs_enter(fs, FAULTFS_OPEN, NULL);
    if (status == MN_OK) {
        faultfs_entry *e = faultfs_map_find(&fs->current, path);
        status = fs->real->open(fs->real->context, path, flags, fd);
        if (status == MN_OK) {
            size_t node;
            if (e) node = e->node;
            else if (flags & MN_VFS_CREATE) {
                /* Created now, unless it was on the disk already without our knowing. */
                struct stat st;
                int existed = fstat(*fd, &st) == 0 && st.st_size > 0 && !(flags & MN_VFS_TRUNCATE);
                if (existed) node = faultfs_adopt(fs, path, 0, *fd);
                else {
                    node = faultfs_node_new(fs, 0);
                    faultfs_map_set(&fs->current, path, node);
                }
            } else node = faultfs_adopt(fs, path, 0, *fd);
            faultfs_fd_bind(fs, *fd, node);
        }
    }
    pthread_mutex_unlock(&fs->lock);
    return status;
}

static inline void faultfs_close(void *context, int fd) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    if (fd >= 0 && (size_t)fd < fs->fd_capacity) fs->fd_nodes[fd] = 0;
    fs->real->close(fs->real->context, fd); /* even when dead: the handle is released */
    pthread_mutex_unlock(&fs->lock);
}

static inline mn_status faultfs_pwrite(void *context, int fd, const void *data, size_t bytes,
                                uint64_t offset, size_t *written) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    faultfs_rule *short_rule = NULL;
    mn_status status = faultfs_enter(fs, FAULTFS_PWRITE, &short_rule);
    if (status == MN_OK && short_rule && bytes > 1) {
        size_t part = short_rule->error == MN_OK ? 1 + (size_t)(faultfs_random(fs) % (bytes - 1))
                                                 : (size_t)(faultfs_random(fs) % bytes);
        size_t done = 0;
        status = part ? fs->real->pwrite(fs->real->context, fd, data, part, offset, &done) : MN_OK;
        if (status == MN_OK) {
            *written = done;
            status = short_rule->error;
        }
    } else if (status == MN_OK) {
        status = fs->real->pwrite(fs->real->context, fd, data, bytes, offset, written);
    }
    pthread_mutex_unlock(&fs->lock);
    return status;
}

static inline mn_status faultfs_pread(void *context, int fd, void *data, size_t bytes, uint64_t offset,
                               size_t *got) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    mn_status status = faultfs_enter(fs, FAULTFS_PREAD, NULL);
    if (status == MN_OK) status = fs->real->pread(fs->real->context, fd, data, bytes, offset, got);
    pthread_mutex_unlock(&fs->lock);
    return status;
}

static inline mn_status faultfs_fdatasync(void *context, int fd) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    mn_status status = faultfs_enter(fs, FAULTFS_FDATASYNC, NULL);
    if (status == MN_OK) status = fs->real->fdatasync(fs->real->context, fd);
    size_t node;
    if (status == MN_OK && faultfs_fd_node(fs, fd, &node)) faultfs_node_snapshot(fs, node, fd);
    pthread_mutex_unlock(&fs->lock);
    return status;
}

static inline mn_status faultfs_truncate(void *context, int fd, uint64_t bytes) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    mn_status status = faultfs_enter(fs, FAULTFS_TRUNCATE, NULL);
    if (status == MN_OK) status = fs->real->truncate(fs->real->context, fd, bytes);
    pthread_mutex_unlock(&fs->lock);
    return status;
}

static inline mn_status faultfs_size(void *context, int fd, uint64_t *bytes) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    mn_status status = faultfs_enter(fs, FAULTFS_SIZE, NULL);
    if (status == MN_OK) status = fs->real->size(fs->real->context, fd, bytes);
    pthread_mutex_unlock(&fs->lock);
    return status;
}

static inline mn_status faultfs_rename(void *context, const char *from, const char *to) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    mn_status status = faultfs_enter(fs, FAULTFS_RENAME, NULL);
    if (status == MN_OK) status = fs->real->rename(fs->real->context, from, to);
    if (status == MN_OK) {
        faultfs_entry *e = faultfs_map_find(&fs->current, from);
        if (e) {
            size_t node = e->node;
            faultfs_map_remove(&fs->current, from);
            faultfs_map_set(&fs->current, to, node);
        }
    }
    pthread_mutex_unlock(&fs->lock);
    return status;
}

static inline mn_status faultfs_unlink(void *context, const char *path) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    mn_status status = faultfs_enter(fs, FAULTFS_UNLINK, NULL);
    if (status == MN_OK) status = fs->real->unlink(fs->real->context, path);
    if (status == MN_OK) faultfs_map_remove(&fs->current, path);
    pthread_mutex_unlock(&fs->lock);
    return status;
}

static inline mn_status faultfs_mkdir(void *context, const char *path) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    mn_status status = faultfs_enter(fs, FAULTFS_MKDIR, NULL);
    if (status == MN_OK) {
        struct stat st;
        int existed = stat(path, &st) == 0;
        status = fs->real->mkdir(fs->real->context, path);
        if (status == MN_OK && !faultfs_map_find(&fs->current, path)) {
            if (existed) faultfs_adopt(fs, path, 1, -1);
            else faultfs_map_set(&fs->current, path, faultfs_node_new(fs, 1));
        }
    }
    pthread_mutex_unlock(&fs->lock);
    return status;
}

static inline mn_status faultfs_sync_dir(void *context, const char *path) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    mn_status status = faultfs_enter(fs, FAULTFS_SYNC_DIR, NULL);
    if (status == MN_OK) status = fs->real->sync_dir(fs->real->context, path);
    if (status == MN_OK) {
        /* The durable names of `path` become its current names. */
        char parent[FAULTFS_PATH_MAX];
        for (size_t i = 0; i < fs->durable.count;) {
            faultfs_parent(fs->durable.items[i].path, parent);
            if (strcmp(parent, path) == 0) fs->durable.items[i] = fs->durable.items[--fs->durable.count];
            else i++;
        }
        for (size_t i = 0; i < fs->current.count; i++) {
            faultfs_parent(fs->current.items[i].path, parent);
            if (strcmp(parent, path) == 0)
                faultfs_map_set(&fs->durable, fs->current.items[i].path, fs->current.items[i].node);
        }
    }
    pthread_mutex_unlock(&fs->lock);
    return status;
}

static inline mn_status faultfs_list(void *context, const char *path, mn_vfs_entry_fn callback,
                              void *callback_context) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    mn_status status = faultfs_enter(fs, FAULTFS_LIST, NULL);
    if (status == MN_OK) status = fs->real->list(fs->real->context, path, callback, callback_context);
    pthread_mutex_unlock(&fs->lock);
    return status;
}

static inline mn_status faultfs_lock_file(void *context, int fd) {
    faultfs *fs = context;
    pthread_mutex_lock(&fs->lock);
    mn_status status = faultfs_enter(fs, FAULTFS_LOCK, NULL);
    if (status == MN_OK) status = fs->real->lock(fs->real->context, fd);
    pthread_mutex_unlock(&fs->lock);
    return status;
}

/* ---- the test's API ---- */

/** Starts a table over directory `root` (existing; everything in it is taken as durable), with
 *  `seed` for short writes and torn tails. Returns 0, or -1 when root is unusable. */
static inline int faultfs_init(faultfs *fs, const char *root, uint64_t seed) {
    memset(fs, 0, sizeof(*fs));
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/') n--;
    if (n + 1 >= sizeof(fs->root)) return -1;
    memcpy(fs->root, root, n);
    fs->root[n] = '\0';
    fs->root_bytes = n;
    fs->rng = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    if (fs->rng == 0) fs->rng = 1;
    fs->real = mn_vfs_posix();
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&fs->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    struct stat st;
    if (stat(fs->root, &st) != 0 || !S_ISDIR(st.st_mode)) return -1;
    faultfs_scan(fs, fs->root);
    fs->vfs = (mn_vfs){
        .context = fs,
        .open = faultfs_open,
        .close = faultfs_close,
        .pwrite = faultfs_pwrite,
        .pread = faultfs_pread,
        .fdatasync = faultfs_fdatasync,
        .truncate = faultfs_truncate,
        .size = faultfs_size,
        .rename = faultfs_rename,
        .unlink = faultfs_unlink,
        .mkdir = faultfs_mkdir,
        .sync_dir = faultfs_sync_dir,
        .list = faultfs_list,
        .lock = faultfs_lock_file,
    };
    return 0;
}

/** The table to hand to mn_engine_open_vfs / mn_wal_options.vfs / mn_wal_recover_vfs. */
static inline const mn_vfs *faultfs_vfs(faultfs *fs) { return &fs->vfs; }

/** Frees the model (the real files stay). Call after the engine using it is destroyed. */
static inline void faultfs_free(faultfs *fs) {
    for (size_t i = 0; i < fs->node_count; i++) free(fs->nodes[i].data);
    free(fs->nodes);
    free(fs->current.items);
    free(fs->durable.items);
    free(fs->fd_nodes);
    pthread_mutex_destroy(&fs->lock);
    memset(fs, 0, sizeof(*fs));
}

static inline int faultfs_arm(faultfs *fs, faultfs_rule rule) {
    pthread_mutex_lock(&fs->lock);
    int armed = -1;
    for (int i = 0; i < FAULTFS_RULES_MAX && armed < 0; i++) {
        if (fs->rules[i].used) continue;
        rule.used = 1;
        fs->rules[i] = rule;
        armed = 0;
    }
    pthread_mutex_unlock(&fs->lock);
    return armed;
}

/** The nth call of `op` (FAULTFS_ANY: of any kind), counted from faultfs_init, and the
 *  times-1 calls of it after, fail with `error` and do nothing. 0, or -1 when all rules are used. */
static inline int faultfs_fail(faultfs *fs, faultfs_op op, uint64_t nth, uint64_t times, mn_status error) {
    return faultfs_arm(fs, (faultfs_rule){op, FAULTFS_ACT_FAIL, nth, times, error, 0});
}

/** The nth pwrite writes a seeded part of its bytes and returns MN_OK with that count (error
 *  MN_OK: at least 1 byte), or writes a part (possibly none) and returns `error`. */
static inline int faultfs_short_write(faultfs *fs, uint64_t nth, mn_status error) {
    return faultfs_arm(fs, (faultfs_rule){FAULTFS_PWRITE, FAULTFS_ACT_SHORT, nth, 1, error, 0});
}

/** At the nth call of `op` the machine stops: that call and all later ones fail (MN_ERR_IO)
 *  without touching the disk. Follow with faultfs_power_loss to drop what was not durable. */
static inline int faultfs_crash(faultfs *fs, faultfs_op op, uint64_t nth) {
    return faultfs_arm(fs, (faultfs_rule){op, FAULTFS_ACT_CRASH, nth, 1, MN_ERR_IO, 0});
}

/** A fresh directory <parent>/<name> (emptied if it was there) holding an empty data
 *  directory "db", made on the real disk before a table starts over <parent>/<name> (so both
 *  are durable); their paths into dir and db. */
static inline void faultfs_fresh_db(const char *parent, const char *name, char *dir,
                                    size_t dir_size, char *db, size_t db_size) {
    snprintf(dir, dir_size, "%s/%s", parent, name);
    mkdir(dir, 0755);
    mn_test_remove_tree(dir);
    snprintf(db, db_size, "%s/db", dir);
    mkdir(db, 0755);
}

/** Calls of `op` so far (FAULTFS_ANY: all). */
static inline uint64_t faultfs_calls(faultfs *fs, faultfs_op op) {
    pthread_mutex_lock(&fs->lock);
    uint64_t n = fs->calls[op];
    pthread_mutex_unlock(&fs->lock);
    return n;
}

/** 1 once the machine has stopped (a crash rule fired, or a power loss). */
static inline int faultfs_dead(faultfs *fs) {
    pthread_mutex_lock(&fs->lock);
    int dead = fs->dead;
    pthread_mutex_unlock(&fs->lock);
    return dead;
}

static inline int faultfs_entry_order(const void *a, const void *b) {
    size_t x = strlen(((const faultfs_entry *)a)->path), y = strlen(((const faultfs_entry *)b)->path);
    return (x > y) - (x < y);
}

/** Power loss: stops the machine and rewrites the tree under the root to its durable state
 *  (see the top of the file); `torn`: appended files keep a seeded prefix of their unsynced
 *  tail. Returns 0, or -1 when the disk could not be rewritten. */
static inline int faultfs_power_loss(faultfs *fs, int torn) {
    pthread_mutex_lock(&fs->lock);
    fs->dead = 1;
    /* What each file holds now (for torn tails), read before the tree goes. */
    uint8_t **now = calloc(fs->node_count ? fs->node_count : 1, sizeof(uint8_t *));
    size_t *now_size = calloc(fs->node_count ? fs->node_count : 1, sizeof(size_t));
    if (!now || !now_size) abort();
    for (size_t i = 0; torn && i < fs->current.count; i++) {
        faultfs_entry *e = &fs->current.items[i];
        if (fs->nodes[e->node].is_dir || now[e->node] || !faultfs_under_root(fs, e->path)) continue;
        int fd = open(e->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        faultfs_slurp_fd(fd, &now[e->node], &now_size[e->node]);
        close(fd);
    }
    mn_test_remove_tree(fs->root);
    /* Parents before children: a name survives only when its directory did. */
    faultfs_map *d = &fs->durable;
    qsort(d->items, d->count, sizeof(faultfs_entry), faultfs_entry_order);
    int result = 0;
    faultfs_map kept = {NULL, 0, 0};
    for (size_t i = 0; i < d->count; i++) {
        faultfs_entry *e = &d->items[i];
        if (!faultfs_under_root(fs, e->path)) continue;
        char parent[FAULTFS_PATH_MAX];
        faultfs_parent(e->path, parent);
        if (strcmp(parent, fs->root) != 0) {
            faultfs_entry *p = faultfs_map_find(&kept, parent);
            if (!p || !fs->nodes[p->node].is_dir) continue;
        }
        faultfs_node *node = &fs->nodes[e->node];
        if (node->is_dir) {
            if (mkdir(e->path, 0755) != 0) result = -1;
        } else {
            size_t size = node->size;
            const uint8_t *data = node->data;
            uint8_t *grown = NULL;
            if (torn && now[e->node] && now_size[e->node] > size &&
                (size == 0 || memcmp(now[e->node], node->data, size) == 0)) {
                size_t extra = (size_t)(faultfs_random(fs) % (now_size[e->node] - size + 1));
                size += extra;
                data = grown = now[e->node];
            }
            int fd = open(e->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0) result = -1;
            size_t done = 0;
            while (fd >= 0 && done < size) {
                ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
                if (n <= 0) {
                    result = -1;
                    break;
                }
                done += (size_t)n;
            }
            if (fd >= 0) close(fd);
            (void)grown;
        }
        faultfs_map_set(&kept, e->path, e->node);
    }
    free(kept.items);
    for (size_t i = 0; i < fs->node_count; i++) free(now[i]);
    free(now);
    free(now_size);
    pthread_mutex_unlock(&fs->lock);
    return result;
}

#endif /* MN_TEST_FAULTFS_H */
