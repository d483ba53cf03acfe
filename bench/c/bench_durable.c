/*
 * bench_durable.c: what durability costs, and how long a database of many spaces takes to open.
 *
 *   inserts  memories per second into one space, each call awaited before the next, for
 *            batch sizes 1, 100 and 500, in MN_DURABLE_SYNC, MN_DURABLE_BATCHED (10 ms),
 *            MN_DURABLE_NONE and in memory. In sync mode every awaited call costs one write and one
 *            fdatasync, so a batch amortises the fsync over its memories.
 *   group    the same single inserts from 16 submitters at once (nothing awaited in between):
 *            the worker drains many records per group commit, one fdatasync for all.
 *   spaces   creates N small spaces (one memory each, MN_DURABLE_NONE; automatic checkpoints off,
 *            at open too, so the explicit one below is the one measured), closes, reopens, and
 *            reports the open time and the resident memory per space after the reopen; then
 *            checkpoints every space (one pack; with --checkpoint-sync the reopen is in
 *            MN_DURABLE_SYNC so the pack is fdatasynced), reopens again (lazy: every space a
 *            stub) and reports the same, plus the first open of one idle space.
 *   checkpoint  one space of N memories (batches of 500, 64-byte contents, MN_DURABLE_NONE):
 *            reopen by full log replay, then mn_engine_checkpoint (time, log bytes before
 *            and after, checkpoint file bytes), then reopen from the checkpoint.
 *   replay   recovery speed: a child process writes about --replay-mb MiB of log into one
 *            space (batches of 100 memories of dimension --replay-dim with 256-byte contents,
 *            MN_DURABLE_NONE, automatic checkpoints off) and kills itself with SIGKILL (no close,
 *            as a crash); the parent times the reopen that replays it (checkpoints off) and
 *            prints log MiB, seconds and MiB/s; then times the same reopen with the default
 *            trigger, which checkpoints at open when the log is over it. The figure behind
 *            MN_DURABLE_CHECKPOINT_LOG_BYTES (docs/durability.md).
 *
 * Usage: bench_durable [--smoke] [--dir PATH] [--spaces N] [--count N] [--checkpoint-memories N]
 *                      [--replay-mb N] [--replay-dim N] [--checkpoint-sync]
 *                      [--only inserts|group|spaces|checkpoint|reopen|replay]
 * `--only reopen` (with --dir and --spaces N) opens the directory a `--only spaces` run left.
 * The data directory defaults to a fresh directory under /var/tmp (a real disk, so fdatasync
 * costs what it costs; /tmp may be tmpfs). Figures only: it never fails on speed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_support.h"
#include "mnemo/mn_engine_durable.h"

#define DIM 64u
#define MODE_MEMORY 99

static uint64_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, resident = 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2) resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t rng_state = 0x12345678;
static float next_float(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)(rng_state >> 40) / 16777216.0f - 0.5f;
}

typedef struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t pending;
    mn_status first_error;
} waiter;

static void waiter_done(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    waiter *w = context;
    pthread_mutex_lock(&w->lock);
    if (status != MN_OK && w->first_error == MN_OK) w->first_error = status;
    if (--w->pending == 0) pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void waiter_wait(waiter *w) {
    pthread_mutex_lock(&w->lock);
    while (w->pending > 0) pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

/* checkpoint_log_bytes: the automatic trigger (UINT64_MAX: the default). */
static mn_engine *open_engine_trigger(const char *path, int mode, uint32_t workers,
                                      uint32_t depth, uint64_t checkpoint_log_bytes) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = workers;
    if (depth) options.mailbox_depth = depth;
    mn_engine *engine = NULL;
    mn_status status;
    if (mode == MODE_MEMORY) {
        status = mn_engine_create(&options, &engine);
    } else {
        mn_durable_options durable;
        mn_durable_options_default(path, &durable);
        durable.durability = mode;
        if (checkpoint_log_bytes != UINT64_MAX) durable.checkpoint_log_bytes = checkpoint_log_bytes;
        status = mn_engine_open(&options, &durable, &engine, NULL);
    }
    if (status != MN_OK) {
        fprintf(stderr, "open %s: %s\n", path, mn_status_string(status));
        exit(1);
    }
    return engine;
}

static mn_engine *open_engine(const char *path, int mode, uint32_t workers, uint32_t depth) {
    return open_engine_trigger(path, mode, workers, depth, UINT64_MAX);
}

static const char *mode_name(int mode) {
    switch (mode) {
    case MN_DURABLE_SYNC: return "sync";
    case MN_DURABLE_BATCHED: return "batched";
    case MN_DURABLE_NONE: return "none";
    default: return "memory";
    }
}

/* Inserts `count` memories in awaited calls of `batch`; returns memories per second. */
static double run_inserts(const char *root, int mode, uint32_t batch_size, uint32_t count) {
    char path[1200];
    snprintf(path, sizeof(path), "%.1000s/ins-%s-%u", root, mode_name(mode), batch_size);
    mn_engine *engine = open_engine(path, mode, 1, 0);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    params.ef_construction = 100;
    mn_space *space = NULL;
    mn_engine_space_create(engine, "bench", 5, &params, &space);
    float *vectors = malloc(sizeof(float) * DIM * batch_size);
    char *ids = malloc(32u * batch_size);
    uint64_t *id_offsets = malloc(8u * (batch_size + 1));
    uint64_t *content_offsets = calloc(batch_size + 1, 8u);
    uint8_t content[64];
    memset(content, 'c', sizeof(content));
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, MN_OK};
    double start = now_seconds();
    for (uint32_t done = 0; done < count; done += batch_size) {
        id_offsets[0] = 0;
        for (uint32_t i = 0; i < batch_size; i++) {
            for (uint32_t d = 0; d < DIM; d++) vectors[i * DIM + d] = next_float();
            int n = sprintf(ids + id_offsets[i], "m%u", done + i);
            id_offsets[i + 1] = id_offsets[i] + (uint64_t)n;
            content_offsets[i + 1] = 0;
        }
        w.pending = 1;
        mn_status status;
        if (batch_size == 1) {
            status = mn_space_insert(space, ids, (uint32_t)id_offsets[1], vectors, DIM, content,
                                     sizeof(content), MN_SUBMIT_WAIT, waiter_done, &w);
        } else {
            mn_batch_in batch = {.count = batch_size, .dimension = DIM, .vectors = vectors,
                                 .ids = ids, .id_offsets = id_offsets, .contents = NULL,
                                 .content_offsets = content_offsets, .created_ns = NULL};
            status = mn_space_insert_batch(space, &batch, MN_SUBMIT_WAIT, waiter_done, &w, NULL);
        }
        if (status != MN_OK) {
            fprintf(stderr, "submit: %s\n", mn_status_string(status));
            exit(1);
        }
        waiter_wait(&w);
    }
    double seconds = now_seconds() - start;
    mn_space_release(space);
    mn_engine_destroy(engine);
    free(vectors);
    free(ids);
    free(id_offsets);
    free(content_offsets);
    return count / seconds;
}

/* Opens the data directory an earlier `--only spaces` run left (with --dir) in this fresh
 * process: the resident memory the open adds is not hidden by memory freed earlier. */
static void run_reopen(const char *root, uint32_t spaces) {
    char path[1200];
    snprintf(path, sizeof(path), "%.1000s/spaces-%u", root, spaces);
    uint64_t before = rss_bytes();
    double start = now_seconds();
    mn_engine *engine = open_engine(path, MN_DURABLE_NONE, 2, 16);
    double open_seconds = now_seconds() - start;
    uint64_t after = rss_bytes();
    uint64_t count = 0;
    mn_engine_space_count(engine, &count);
    printf("reopen  %8llu spaces  open %.2f s  resident +%.1f MiB (%.0f B/space)\n",
           (unsigned long long)count, open_seconds, (double)(after - before) / (1 << 20),
           count ? (double)(after - before) / (double)count : 0.0);
    mn_engine_destroy(engine);
}

/* Bytes of the regular files directly in `dir` (0 when absent). */
static uint64_t dir_bytes(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[2400];
        snprintf(path, sizeof(path), "%.1200s/%.255s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

static mn_engine *open_for_checkpoint(const char *path, double *seconds) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 1;
    mn_durable_options durable;
    mn_durable_options_default(path, &durable);
    durable.durability = MN_DURABLE_NONE;
    durable.checkpoint_log_bytes = 0; /* only the explicit checkpoint below */
    mn_engine *engine = NULL;
    double start = now_seconds();
    mn_status status = mn_engine_open(&options, &durable, &engine, NULL);
    if (seconds) *seconds = now_seconds() - start;
    if (status != MN_OK) {
        fprintf(stderr, "open %s: %s\n", path, mn_status_string(status));
        exit(1);
    }
    return engine;
}

static void run_checkpoint(const char *root, uint32_t memories) {
    char path[1200], wal[1300], ckpt[1300];
    snprintf(path, sizeof(path), "%.1000s/checkpoint", root);
    snprintf(wal, sizeof(wal), "%s/wal-000", path);
    snprintf(ckpt, sizeof(ckpt), "%s/spaces", path);
    mn_engine *engine = open_for_checkpoint(path, NULL);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    params.ef_construction = 100;
    mn_space *space = NULL;
    mn_engine_space_create(engine, "bench", 5, &params, &space);
    enum { BATCH = 500 };
    float *vectors = malloc(sizeof(float) * DIM * BATCH);
    char *ids = malloc(32u * BATCH);
    uint8_t *contents = malloc(64u * BATCH);
    memset(contents, 'c', 64u * BATCH);
    uint64_t id_offsets[BATCH + 1], content_offsets[BATCH + 1];
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, MN_OK};
    for (uint32_t done = 0; done < memories; done += BATCH) {
        id_offsets[0] = content_offsets[0] = 0;
        for (uint32_t i = 0; i < BATCH; i++) {
            for (uint32_t d = 0; d < DIM; d++) vectors[i * DIM + d] = next_float();
            int n = sprintf(ids + id_offsets[i], "m%u", done + i);
            id_offsets[i + 1] = id_offsets[i] + (uint64_t)n;
            content_offsets[i + 1] = content_offsets[i] + 64u;
        }
        mn_batch_in batch = {.count = BATCH, .dimension = DIM, .vectors = vectors, .ids = ids,
                             .id_offsets = id_offsets, .contents = contents,
                             .content_offsets = content_offsets, .created_ns = NULL};
        w.pending = 1;
        if (mn_space_insert_batch(space, &batch, MN_SUBMIT_WAIT, waiter_done, &w, NULL) != MN_OK) {
            fprintf(stderr, "submit failed\n");
            exit(1);
        }
        waiter_wait(&w);
    }
    mn_space_release(space);
    mn_engine_destroy(engine);
    free(vectors);
    free(ids);
    free(contents);
    uint64_t log_before = dir_bytes(wal);
    double replay_s = 0, checkpoint_s = 0, reopen_s = 0;
    engine = open_for_checkpoint(path, &replay_s);
    mn_checkpoint_report report;
    double start = now_seconds();
    mn_status status = mn_engine_checkpoint(engine, &report);
    checkpoint_s = now_seconds() - start;
    if (status != MN_OK) {
        fprintf(stderr, "checkpoint: %s\n", mn_status_string(status));
        exit(1);
    }
    mn_engine_destroy(engine);
    uint64_t log_after = dir_bytes(wal);
    engine = open_for_checkpoint(path, &reopen_s);
    /* The space is lazy after that open: its first open loads the checkpoint. */
    start = now_seconds();
    status = mn_engine_space_open(engine, "bench", 5, &space);
    double load_s = now_seconds() - start;
    if (status == MN_OK) mn_space_release(space);
    mn_engine_destroy(engine);
    printf("checkpoint %u memories: log %.1f MiB, reopen by replay %.3f s; checkpoint %.3f s "
           "(%.1f MiB file, %llu segments deleted); log after %.3f MiB; reopen from checkpoint "
           "%.3f s + first open of the space (load) %.3f s\n",
           memories, log_before / 1048576.0, replay_s, checkpoint_s,
           dir_bytes(ckpt) / 1048576.0, (unsigned long long)report.segments_deleted,
           log_after / 1048576.0, reopen_s, load_s);
}

/* `count` single inserts submitted without waiting (16 in flight per round). */
static double run_group(const char *root, uint32_t count) {
    char path[1200];
    snprintf(path, sizeof(path), "%.1000s/group", root);
    mn_engine *engine = open_engine(path, MN_DURABLE_SYNC, 1, 0);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    params.ef_construction = 100;
    mn_space *space = NULL;
    mn_engine_space_create(engine, "bench", 5, &params, &space);
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, MN_OK};
    float vector[DIM];
    char id[32];
    double start = now_seconds();
    for (uint32_t done = 0; done < count; done += 16) {
        w.pending = 16;
        for (uint32_t i = 0; i < 16; i++) {
            for (uint32_t d = 0; d < DIM; d++) vector[d] = next_float();
            int n = sprintf(id, "g%u", done + i);
            mn_space_insert(space, id, (uint32_t)n, vector, DIM, NULL, 0, MN_SUBMIT_WAIT,
                            waiter_done, &w);
        }
        waiter_wait(&w);
    }
    double seconds = now_seconds() - start;
    mn_space_release(space);
    mn_engine_destroy(engine);
    return count / seconds;
}

static void run_spaces(const char *root, uint32_t spaces, int checkpoint_mode) {
    char path[1200];
    snprintf(path, sizeof(path), "%.1000s/spaces-%u", root, spaces);
    mn_engine *engine = open_engine_trigger(path, MN_DURABLE_NONE, 2, 16, 0);
    mn_hnsw_params params;
    mn_hnsw_params_default(8, MN_METRIC_L2, &params);
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, MN_OK};
    float vector[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    double start = now_seconds();
    for (uint32_t s = 0; s < spaces; s++) {
        char name[32];
        int n = sprintf(name, "tenant-%06u", s);
        mn_space *space = NULL;
        if (mn_engine_space_create(engine, name, (uint32_t)n, &params, &space) != MN_OK) exit(1);
        pthread_mutex_lock(&w.lock);
        w.pending++;
        pthread_mutex_unlock(&w.lock);
        mn_space_insert(space, "m", 1, vector, 8, (const uint8_t *)"hello", 5, MN_SUBMIT_WAIT,
                        waiter_done, &w);
        mn_space_release(space);
    }
    waiter_wait(&w);
    double build = now_seconds() - start;
    mn_engine_destroy(engine);
    uint64_t before = rss_bytes();
    start = now_seconds();
    engine = open_engine_trigger(path, checkpoint_mode, 2, 16, 0); /* sync: the pack is fdatasynced */
    double open_seconds = now_seconds() - start;
    uint64_t after = rss_bytes();
    uint64_t count = 0;
    mn_engine_space_count(engine, &count);
    printf("spaces  %8u spaces  build %.2f s  open %.2f s  resident +%.1f MiB (%.0f B/space)  "
           "recovered %llu\n",
           spaces, build, open_seconds, (double)(after - before) / (1 << 20),
           (double)(after - before) / spaces, (unsigned long long)count);
    /* Checkpoint every space, then reopen: each space is a stub until first used. */
    mn_checkpoint_report report;
    start = now_seconds();
    mn_status status = mn_engine_checkpoint(engine, &report);
    double checkpoint_seconds = now_seconds() - start;
    mn_engine_destroy(engine);
    if (status != MN_OK) {
        fprintf(stderr, "checkpoint: %s\n", mn_status_string(status));
        exit(1);
    }
    before = rss_bytes();
    start = now_seconds();
    engine = open_engine_trigger(path, MN_DURABLE_NONE, 2, 16, 0);
    open_seconds = now_seconds() - start;
    after = rss_bytes();
    mn_engine_space_count(engine, &count);
    printf("spaces  %8u spaces  checkpoint %.2f s (%llu spaces written, %.1f MiB)  lazy open "
           "%.2f s  resident +%.1f MiB (%.0f B/space)  spaces %llu\n",
           spaces, checkpoint_seconds, (unsigned long long)report.spaces_written,
           (double)report.bytes_written / (1 << 20), open_seconds,
           (double)(after - before) / (1 << 20), (double)(after - before) / spaces,
           (unsigned long long)count);
    start = now_seconds();
    mn_space *first = NULL;
    status = mn_engine_space_open(engine, "tenant-000000", 13, &first);
    double load_seconds = now_seconds() - start;
    if (status == MN_OK) mn_space_release(first);
    printf("spaces  first open of one idle space (loads its checkpoint) %.1f us (%s)\n",
           load_seconds * 1e6, mn_status_string(status));
    mn_engine_destroy(engine);
}

/* Writes about `mib` MiB of log into one space and dies by SIGKILL (the child of run_replay). */
static void replay_child(const char *path, uint32_t mib, uint32_t dim) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 2;
    mn_durable_options durable;
    mn_durable_options_default(path, &durable);
    durable.durability = MN_DURABLE_NONE;
    durable.checkpoint_log_bytes = 0;
    mn_engine *engine = NULL;
    if (mn_engine_open(&options, &durable, &engine, NULL) != MN_OK) _exit(1);
    mn_hnsw_params params;
    mn_hnsw_params_default(dim, MN_METRIC_COSINE, &params);
    mn_space *space = NULL;
    if (mn_engine_space_create(engine, "replay", 6, &params, &space) != MN_OK) _exit(1);
    enum { BATCH = 100, CONTENT = 256 };
    float *vectors = malloc(sizeof(float) * BATCH * dim);
    char *ids = malloc(BATCH * 16);
    uint8_t *contents = malloc(BATCH * CONTENT);
    uint64_t id_offsets[BATCH + 1], content_offsets[BATCH + 1];
    int64_t created[BATCH];
    if (!vectors || !ids || !contents) _exit(1);
    memset(contents, 'c', BATCH * CONTENT);
    uint64_t per_batch = BATCH * (4ull * dim + CONTENT + 16 + 8 + 16) + 64;
    uint64_t batches = ((uint64_t)mib << 20) / per_batch + 1;
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, MN_OK};
    for (uint64_t b = 0; b < batches; b++) {
        uint64_t at = 0;
        for (uint32_t i = 0; i < BATCH; i++) {
            for (uint32_t d = 0; d < dim; d++) vectors[(size_t)i * dim + d] = next_float();
            id_offsets[i] = at;
            at += (uint64_t)sprintf(ids + at, "r%llu", (unsigned long long)(b * BATCH + i));
            content_offsets[i] = (uint64_t)i * CONTENT;
            created[i] = (int64_t)(b * BATCH + i);
        }
        id_offsets[BATCH] = at;
        content_offsets[BATCH] = (uint64_t)BATCH * CONTENT;
        mn_batch_in batch = {BATCH, dim, vectors, ids, id_offsets, contents, content_offsets, created};
        pthread_mutex_lock(&w.lock);
        w.pending++;
        pthread_mutex_unlock(&w.lock);
        if (mn_space_insert_batch(space, &batch, MN_SUBMIT_WAIT, waiter_done, &w, NULL) != MN_OK) _exit(1);
        waiter_wait(&w); /* keep the copies short-lived: this is about the log, not the queue */
    }
    kill(getpid(), SIGKILL); /* a crash: no close, no checkpoint */
    _exit(1);
}

static void run_replay(const char *root, uint32_t mib, uint32_t dim) {
    char path[1200];
    snprintf(path, sizeof(path), "%.1000s/replay-%u-%u", root, mib, dim);
    for (int trigger = 0; trigger < 2; trigger++) {
        pid_t child = fork();
        if (child < 0) exit(1);
        if (child == 0) replay_child(path, mib, dim);
        int wstatus = 0;
        waitpid(child, &wstatus, 0);
        mn_engine_options options;
        mn_engine_options_default(&options);
        options.workers = 2;
        mn_durable_options durable;
        mn_durable_options_default(path, &durable);
        durable.durability = MN_DURABLE_NONE;
        if (!trigger) durable.checkpoint_log_bytes = 0;
        mn_durable_report report;
        mn_engine *engine = NULL;
        double start = now_seconds();
        mn_status status = mn_engine_open(&options, &durable, &engine, &report);
        double seconds = now_seconds() - start;
        if (status != MN_OK) {
            fprintf(stderr, "replay open: %s\n", mn_status_string(status));
            exit(1);
        }
        double log_mib = (double)report.log_bytes / (1 << 20);
        mn_space *space = NULL;
        mn_space_stats stats = {0};
        if (mn_engine_space_open(engine, "replay", 6, &space) == MN_OK) {
            mn_space_stats_get(space, &stats);
            mn_space_release(space);
        }
        if (!trigger) {
            printf("replay  dim %4u  log %7.1f MiB  %8llu memories  reopen %6.2f s  %6.1f MiB/s  "
                   "%8.0f memories/s  peak payload held %.1f MiB\n",
                   dim, log_mib, (unsigned long long)stats.count, seconds, log_mib / seconds,
                   (double)stats.count / seconds, (double)report.replay_peak_bytes / (1 << 20));
        } else {
            printf("replay  dim %4u  log %7.1f MiB  reopen with the default trigger (%llu MiB): "
                   "%6.2f s, checkpointed at open: %u\n",
                   dim, log_mib, (unsigned long long)(MN_DURABLE_CHECKPOINT_LOG_BYTES >> 20),
                   seconds, report.checkpointed);
        }
        mn_engine_destroy(engine);
        char command[1300];
        snprintf(command, sizeof(command), "rm -rf '%s'", path);
        if (system(command) != 0) fprintf(stderr, "could not remove %s\n", path);
    }
}

int main(int argc, char **argv) {
    int smoke = 0;
    int checkpoint_mode = MN_DURABLE_NONE; /* of the spaces run's checkpoint (--checkpoint-sync) */
    const char *dir = NULL;
    const char *only = NULL;
    uint32_t spaces = 100000, count = 2000, checkpoint_memories = 50000;
    uint32_t replay_mib = 64, replay_dim = 384;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            smoke = 1;
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--spaces") == 0 && i + 1 < argc) {
            spaces = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--checkpoint-memories") == 0 && i + 1 < argc) {
            checkpoint_memories = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--replay-mb") == 0 && i + 1 < argc) {
            replay_mib = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--replay-dim") == 0 && i + 1 < argc) {
            replay_dim = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--checkpoint-sync") == 0) {
            checkpoint_mode = MN_DURABLE_SYNC;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--smoke] [--dir PATH] [--spaces N] [--count N] "
                            "[--checkpoint-memories N] [--replay-mb N] [--replay-dim N] "
                            "[--checkpoint-sync] [--only inserts|group|spaces|checkpoint|reopen|replay]\n",
                    argv[0]);
            return 2;
        }
    }
    if (smoke) {
        spaces = 500;
        count = 1000;
        checkpoint_memories = 2000;
        replay_mib = 1;
    }
    count = (count + 499) / 500 * 500;
    char root[1024];
    if (dir) {
        snprintf(root, sizeof(root), "%s", dir);
    } else {
        snprintf(root, sizeof(root), "/var/tmp/mnemo-bench-durable-XXXXXX");
        if (!mkdtemp(root)) return 1;
    }
    printf("bench_durable: %u memories of dimension %u per run, data in %s\n", count, DIM, root);
    /* First: it forks, and the child must not inherit engine or RCU threads' state. */
    if (!only || strcmp(only, "replay") == 0) run_replay(root, replay_mib, replay_dim);
    if (!only || strcmp(only, "inserts") == 0) {
        int modes[] = {MN_DURABLE_SYNC, MN_DURABLE_BATCHED, MN_DURABLE_NONE, MODE_MEMORY};
        uint32_t sizes[] = {1, 100, 500};
        for (int m = 0; m < 4; m++) {
            double single = 0;
            for (int b = 0; b < 3; b++) {
                uint32_t n = sizes[b] == 1 && modes[m] == MN_DURABLE_SYNC && count > 1000 ? 1000 : count;
                double rate = run_inserts(root, modes[m], sizes[b], n);
                if (b == 0) single = rate;
                printf("inserts %-7s batch %3u  %9.0f memories/s  %7.1f us/memory  %5.2fx\n",
                       mode_name(modes[m]), sizes[b], rate, 1e6 / rate, rate / single);
            }
        }
    }
    if (!only || strcmp(only, "group") == 0) {
        double rate = run_group(root, count);
        printf("group   sync    16 in flight  %9.0f memories/s  %7.1f us/memory\n", rate,
               1e6 / rate);
    }
    if (!only || strcmp(only, "spaces") == 0) run_spaces(root, spaces, checkpoint_mode);
    if (only && strcmp(only, "reopen") == 0) run_reopen(root, spaces);
    if (!only || strcmp(only, "checkpoint") == 0) {
        checkpoint_memories = (checkpoint_memories + 499) / 500 * 500;
        run_checkpoint(root, checkpoint_memories);
    }
    if (!dir) {
        char command[1100];
        snprintf(command, sizeof(command), "rm -rf '%s'", root);
        if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    }
    return 0;
}
