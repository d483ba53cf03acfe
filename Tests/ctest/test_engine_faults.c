/*
 * test_engine_faults.c: the durable engine through many seeded fault schedules (issue 9).
 *
 * Each schedule, from its seed: a data directory is opened 1 to 3 times in a row (rounds), each
 * time through the fault table (mn_test_faultfs.h) with 1 or 2 workers, in MN_DURABLE_SYNC,
 * MN_DURABLE_BATCHED or MN_DURABLE_NONE. Faults are armed at random calls (a call of any kind, or of one
 * kind: open, pwrite, fdatasync, truncate, rename, unlink, sync_dir), failing with EIO or ENOSPC
 * once or a few times in a row, or writing short. A random workload runs over a few spaces
 * (create, insert, upsert, delete, all-or-nothing batch inserts, drop, checkpoint, sync), then
 * the machine stops at a random point: a power loss (torn or not: unsynced data and names are
 * dropped) or a process crash (the disk keeps what was written), sometimes at a random call in
 * the middle of an operation. The directory is then reopened with the real file system and
 * checked against the model this test keeps of every space:
 *   - the database opens (no fault the engine should survive leaves it MN_ERR_CORRUPT);
 *   - every ACKNOWLEDGED write is there byte for byte (content and vector): in MN_DURABLE_SYNC, and
 *     after a process crash in every mode, acknowledged means completed MN_OK; in MN_DURABLE_BATCHED
 *     under power loss, what a later successful mn_engine_sync covered (the mode's documented
 *     window: a memory holds its synced value or one written since);
 *   - nothing REPORTED FAILED is there (a failed write's value is never seen), except a write
 *     completed with MN_DURABLE_DETAIL_UNKNOWN (the engine says its outcome is unknown);
 *   - no half batch; a dropped space stays dropped; a space whose create failed is absent (or,
 *     see below, empty).
 * The model then takes what was found, and the next round opens the directory again.
 *
 * The schedule count is MN_FAULT_SCHEDULES (default 1,000) from seed MN_FAULT_FIRST (default
 * 1000); MN_FAULT_SEED=<n> runs the one
 * schedule n (printed on failure), MN_FAULT_VERBOSE=1 narrates it. Timings of the worker threads
 * and of the batched-mode sync timer can shift which call a fault hits, so a replay is the same
 * workload and the same faults by call number, not always the same interleaving.
 * Files go to /dev/shm when it exists (the table models durability; the disk need not).
 *
 * Known limit (documented in docs/durability.md): a failed space creation whose record could be
 * neither cut off its log nor voided in another log (a second fault, one worker) may leave the
 * empty space after a restart: the check accepts an empty space there.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/mn_engine_vfs.h"
#include "mn_test_faultfs.h"
#include "test_durable_support.h"

#define TF_SLOTS 3u          /* space names in use at once */
#define TF_IDS 8u            /* memory ids per space */
#define TF_INSTANCES 96u     /* spaces created per schedule, at most */
#define TF_SINCE 64u         /* values of one id written since the last sync, at most */
#define TF_BATCHES 48u       /* batches per space instance, at most */
#define TF_OPS_MAX 28u       /* operations per round, at most */

/* Seeds that found bugs, run first on every run (they are also in the default range):
 * 1183, 1268, 1309, 1311, 1343: writes reported failed (failed fdatasync) back after a restart
 * (item 4); 1033, 1278: item 9's gap (batched, two workers; fixed on main). */
static const uint64_t tf_pinned[] = {1183, 1268, 1309, 1311, 1343, 1033, 1278};

typedef enum { TF_LIVE, TF_CREATE_FAILED, TF_DROPPED, TF_DROP_UNKNOWN, TF_GONE } tf_state;

typedef struct tf_batch {
    uint32_t ids[4];
    uint32_t versions[4];
    uint32_t count;
} tf_batch;

/* One space instance (a name from its creation to its drop). Values: 0 absent, else a
 * version number unique in the schedule (content and vector derive from it). */
typedef struct tf_instance {
    char name[32];
    uint32_t slot;
    tf_state state;
    int create_synced;            /* its creation is durable (SYNC, or a sync since) */
    uint32_t current[TF_IDS];     /* acknowledged value */
    uint32_t synced[TF_IDS];      /* value at the last successful mn_engine_sync */
    uint32_t since[TF_IDS][TF_SINCE];
    uint32_t since_count[TF_IDS];
    uint32_t unknown[TF_IDS];     /* a write of unknown outcome (0: none) */
    int last_batch[TF_IDS];       /* the batch that last wrote it, or -1 */
    tf_batch batches[TF_BATCHES];
    uint32_t batch_count;
    mn_space *handle;
} tf_instance;

typedef struct tf_run {
    uint64_t seed;
    uint64_t rng;
    int verbose;
    char root[512];
    char path[600];
    uint32_t workers;
    mn_durability mode;
    tf_instance instances[TF_INSTANCES];
    uint32_t instance_count;
    int slot_instance[TF_SLOTS];  /* live instance per slot, or -1 */
    uint32_t generation[TF_SLOTS];
    uint32_t version;
    int stop;                     /* an unknown outcome or a dead machine: end the round */
    /* figures */
    uint64_t crashes, acked_checked, failed_checked, unknown_outcomes, opens_failed;
    int failed;
} tf_run;

static uint64_t tf_next(tf_run *run) { return te_next(&run->rng); }
static uint32_t tf_below(tf_run *run, uint32_t n) { return (uint32_t)(tf_next(run) % n); }

#define TF_FAIL(run, ...)                                                                  \
    do {                                                                                   \
        (run)->failed = 1;                                                                 \
        te_failed++;                                                                       \
        fprintf(stderr, "schedule %llu: ", (unsigned long long)(run)->seed);              \
        fprintf(stderr, __VA_ARGS__);                                                      \
        fprintf(stderr, "\n");                                                             \
    } while (0)

static void tf_content(uint32_t version, char *out, size_t size) {
    uint32_t pad = (version * 37u) % 140u;
    int n = snprintf(out, size, "v%u-", version);
    for (uint32_t i = 0; i < pad && (size_t)n + 1 < size; i++) out[n++] = (char)('a' + (version + i) % 26);
    out[n] = '\0';
}

static void tf_id(uint32_t id, char *out, size_t size) { snprintf(out, size, "m%u", id); }

/* ---- operations (each awaited) ---- */

/* te_wait_for, and the completion's detail (written before `done`, so read after the wait). */
static mn_status tf_wait(te_wait *w, uint64_t *detail) {
    mn_status status = te_wait_for(w);
    *detail = w->detail;
    return status;
}

/* Records the outcome of a write of `version` (0: a delete) to ids[0 .. count). */
static void tf_outcome(tf_run *run, tf_instance *in, const uint32_t *ids, const uint32_t *versions,
                       uint32_t count, mn_status status, uint64_t detail, int is_batch) {
    if (status == MN_OK) {
        int batch = -1;
        if (is_batch && in->batch_count < TF_BATCHES) {
            batch = (int)in->batch_count++;
            tf_batch *b = &in->batches[batch];
            b->count = count;
            for (uint32_t i = 0; i < count; i++) {
                b->ids[i] = ids[i];
                b->versions[i] = versions[i];
            }
        }
        for (uint32_t i = 0; i < count; i++) {
            uint32_t id = ids[i];
            in->current[id] = versions[i];
            if (in->since_count[id] < TF_SINCE) in->since[id][in->since_count[id]++] = versions[i];
            in->last_batch[id] = batch;
        }
        return;
    }
    if (status == MN_ERR_IO && detail == MN_DURABLE_DETAIL_UNKNOWN) {
        run->unknown_outcomes++;
        for (uint32_t i = 0; i < count; i++) in->unknown[ids[i]] = versions[i] ? versions[i] : UINT32_MAX;
        run->stop = 1; /* later writes could depend on it: end the round here */
    }
    /* MN_ERR_DUPLICATE / MN_ERR_NOT_FOUND: logged, changed nothing; other errors: nothing. */
}

static void tf_write(tf_run *run, tf_instance *in) {
    uint32_t kind = tf_below(run, 10);
    char id_text[16], content[192];
    float vector[TD_DIM];
    uint64_t detail = 0;
    mn_status status;
    if (kind < 7) { /* insert or upsert */
        uint32_t id = tf_below(run, TF_IDS), version = ++run->version;
        tf_id(id, id_text, sizeof(id_text));
        tf_content(version, content, sizeof(content));
        te_vector(version, vector, TD_DIM);
        te_wait w;
        te_wait_init(&w);
        int upsert = kind >= 4;
        status = upsert ? mn_space_upsert(in->handle, id_text, (uint32_t)strlen(id_text), vector, TD_DIM,
                                          (const uint8_t *)content, strlen(content), MN_SUBMIT_WAIT,
                                          te_wait_done, &w)
                        : mn_space_insert(in->handle, id_text, (uint32_t)strlen(id_text), vector, TD_DIM,
                                          (const uint8_t *)content, strlen(content), MN_SUBMIT_WAIT,
                                          te_wait_done, &w);
        if (status == MN_OK) status = tf_wait(&w, &detail);
        if (run->verbose)
            printf("  %s %s.%s v%u: %s%s\n", upsert ? "upsert" : "insert", in->name, id_text, version,
                   mn_status_string(status), detail == MN_DURABLE_DETAIL_UNKNOWN ? " (unknown)" : "");
        tf_outcome(run, in, &id, &version, 1, status, detail, 0);
    } else if (kind < 8) { /* delete */
        uint32_t id = tf_below(run, TF_IDS), zero = 0;
        tf_id(id, id_text, sizeof(id_text));
        te_wait w;
        te_wait_init(&w);
        status = mn_space_delete(in->handle, id_text, (uint32_t)strlen(id_text), MN_SUBMIT_WAIT, te_wait_done, &w);
        if (status == MN_OK) status = tf_wait(&w, &detail);
        if (status == MN_ERR_NOT_FOUND) status = MN_OK; /* logged: absent either way */
        if (run->verbose) printf("  delete %s.%s: %s\n", in->name, id_text, mn_status_string(status));
        tf_outcome(run, in, &id, &zero, 1, status, detail, 0);
    } else { /* a batch of 2..4 distinct ids */
        uint32_t count = 2 + tf_below(run, 3), ids[4], versions[4];
        uint32_t start = tf_below(run, TF_IDS);
        char id_bytes[64], contents[4 * 192];
        uint64_t id_offsets[5] = {0}, content_offsets[5] = {0};
        float vectors[4 * TD_DIM];
        for (uint32_t i = 0; i < count; i++) {
            ids[i] = (start + i * 3) % TF_IDS;
            versions[i] = ++run->version;
            tf_id(ids[i], id_text, sizeof(id_text));
            size_t n = strlen(id_text);
            memcpy(id_bytes + id_offsets[i], id_text, n);
            id_offsets[i + 1] = id_offsets[i] + n;
            tf_content(versions[i], content, sizeof(content));
            n = strlen(content);
            memcpy(contents + content_offsets[i], content, n);
            content_offsets[i + 1] = content_offsets[i] + n;
            te_vector(versions[i], vectors + i * TD_DIM, TD_DIM);
        }
        mn_batch_in batch = {count, TD_DIM, vectors, id_bytes, id_offsets,
                             (const uint8_t *)contents, content_offsets, NULL};
        te_wait w;
        te_wait_init(&w);
        status = mn_space_insert_batch(in->handle, &batch, MN_SUBMIT_WAIT, te_wait_done, &w, NULL);
        if (status == MN_OK) status = tf_wait(&w, &detail);
        if (run->verbose)
            printf("  batch %s x%u (v%u..): %s%s\n", in->name, count, versions[0], mn_status_string(status),
                   detail == MN_DURABLE_DETAIL_UNKNOWN ? " (unknown)" : "");
        tf_outcome(run, in, ids, versions, count, status, detail, 1);
    }
}

static void tf_instance_reset(tf_instance *in) {
    memset(in->current, 0, sizeof(in->current));
    memset(in->synced, 0, sizeof(in->synced));
    memset(in->since_count, 0, sizeof(in->since_count));
    memset(in->unknown, 0, sizeof(in->unknown));
    for (uint32_t i = 0; i < TF_IDS; i++) in->last_batch[i] = -1;
    in->batch_count = 0;
}

static void tf_create(tf_run *run, mn_engine *engine, uint32_t slot) {
    if (run->instance_count == TF_INSTANCES) return;
    tf_instance *in = &run->instances[run->instance_count];
    memset(in, 0, sizeof(*in));
    snprintf(in->name, sizeof(in->name), "s%ug%u", slot, run->generation[slot]);
    in->slot = slot;
    tf_instance_reset(in);
    mn_hnsw_params params;
    mn_hnsw_params_default(TD_DIM, MN_METRIC_L2, &params);
    params.ef_construction = 32;
    mn_status status = mn_engine_space_create(engine, in->name, (uint32_t)strlen(in->name), &params, &in->handle);
    if (run->verbose) printf("  create %s: %s\n", in->name, mn_status_string(status));
    run->instance_count++;
    if (status == MN_OK) {
        in->state = TF_LIVE;
        in->create_synced = run->mode == MN_DURABLE_SYNC;
        run->slot_instance[slot] = (int)(run->instance_count - 1);
    } else {
        in->state = TF_CREATE_FAILED;
        in->handle = NULL;
        run->generation[slot]++; /* never reuse a name whose creation failed */
    }
}

static void tf_drop(tf_run *run, mn_engine *engine, tf_instance *in) {
    mn_status status = mn_engine_space_drop(engine, in->name, (uint32_t)strlen(in->name));
    if (run->verbose) printf("  drop %s: %s\n", in->name, mn_status_string(status));
    if (status == MN_OK) {
        in->state = TF_DROPPED;
        run->slot_instance[in->slot] = -1;
        return; /* the name may be created again */
    }
    mn_space *probe = NULL;
    if (mn_engine_space_open(engine, in->name, (uint32_t)strlen(in->name), &probe) == MN_OK) {
        mn_space_release(probe); /* a failed drop: nothing happened */
        return;
    }
    in->state = TF_DROP_UNKNOWN; /* gone now; after a restart, dropped or not */
    run->slot_instance[in->slot] = -1;
    run->generation[in->slot]++;
    run->unknown_outcomes++;
    run->stop = 1;
}

static void tf_sync(tf_run *run, mn_engine *engine) {
    mn_status status = mn_engine_sync(engine);
    if (run->verbose) printf("  sync: %s\n", mn_status_string(status));
    if (status != MN_OK) return;
    for (uint32_t k = 0; k < run->instance_count; k++) {
        tf_instance *in = &run->instances[k];
        if (in->state != TF_LIVE) continue;
        in->create_synced = 1;
        memcpy(in->synced, in->current, sizeof(in->synced));
        memset(in->since_count, 0, sizeof(in->since_count));
    }
}

/* ---- faults ---- */

static const faultfs_op tf_fault_ops[] = {FAULTFS_ANY, FAULTFS_ANY, FAULTFS_PWRITE, FAULTFS_FDATASYNC,
                                          FAULTFS_FDATASYNC, FAULTFS_TRUNCATE, FAULTFS_RENAME,
                                          FAULTFS_UNLINK, FAULTFS_SYNC_DIR, FAULTFS_OPEN};

static void tf_arm(tf_run *run, faultfs *fs, uint32_t span) {
    uint32_t rules = tf_below(run, 4); /* 0..3 */
    for (uint32_t r = 0; r < rules; r++) {
        faultfs_op op = tf_fault_ops[tf_below(run, sizeof(tf_fault_ops) / sizeof(tf_fault_ops[0]))];
        uint64_t range = op == FAULTFS_ANY ? span * 4u : op == FAULTFS_PWRITE || op == FAULTFS_FDATASYNC ? span : 6u;
        uint64_t nth = faultfs_calls(fs, op) + 1 + tf_below(run, (uint32_t)range + 1);
        mn_status error = tf_below(run, 3) == 0 ? MN_ERR_FULL : MN_ERR_IO;
        uint32_t times = tf_below(run, 10) < 7 ? 1 : 2 + tf_below(run, 3);
        if (op == FAULTFS_PWRITE && tf_below(run, 2) == 0) {
            faultfs_short_write(fs, nth, tf_below(run, 2) ? MN_OK : MN_ERR_IO);
            if (run->verbose) printf("  fault: short pwrite #%llu\n", (unsigned long long)nth);
        } else {
            faultfs_fail(fs, op, nth, times, error);
            if (run->verbose)
                printf("  fault: op %d #%llu x%u %s\n", (int)op, (unsigned long long)nth, times,
                       mn_status_string(error));
        }
    }
}

/* ---- checking after a crash ---- */

static int tf_allowed(const tf_run *run, const tf_instance *in, uint32_t id, uint32_t value, int strict) {
    if (in->unknown[id] && (value == in->unknown[id] || (in->unknown[id] == UINT32_MAX && value == 0))) return 1;
    if (value == in->current[id]) return 1;
    (void)run;
    if (strict) return 0;
    if (value == in->synced[id]) return 1;
    for (uint32_t i = 0; i < in->since_count[id]; i++)
        if (in->since[id][i] == value) return 1;
    return 0;
}

/* Reads id from space: 0 when absent, its version when its content and vector are exactly a
 * version's, UINT32_MAX - 1 when they are not. */
static uint32_t tf_read(mn_space *space, uint32_t id) {
    char id_text[16];
    tf_id(id, id_text, sizeof(id_text));
    float vector[TD_DIM], expected[TD_DIM];
    td_got got = {0};
    mn_status status = mn_space_get(space, id_text, (uint32_t)strlen(id_text), vector, TD_DIM, td_visit_got, &got);
    if (status != MN_OK || !got.found) return 0;
    unsigned version = 0;
    if (sscanf(got.content, "v%u-", &version) != 1 || version == 0) return UINT32_MAX - 1;
    char content[192];
    tf_content(version, content, sizeof(content));
    te_vector(version, expected, TD_DIM);
    if (strcmp(content, got.content) != 0 || got.content_bytes != strlen(content) ||
        memcmp(vector, expected, sizeof(vector)) != 0)
        return UINT32_MAX - 1;
    return version;
}

/* Checks the reopened engine against the model and collapses the model onto what was found. */
static void tf_check(tf_run *run, mn_engine *engine, int strict) {
    for (uint32_t k = 0; k < run->instance_count; k++) {
        tf_instance *in = &run->instances[k];
        if (in->state == TF_GONE) continue;
        /* Only the newest instance of a name can be looked at by name. */
        int newest = 1;
        for (uint32_t j = k + 1; j < run->instance_count; j++)
            if (strcmp(run->instances[j].name, in->name) == 0) newest = 0;
        mn_space *space = NULL;
        mn_status status = mn_engine_space_open(engine, in->name, (uint32_t)strlen(in->name), &space);
        if (!newest) {
            if (space) mn_space_release(space);
            in->state = TF_GONE;
            continue;
        }
        int present = status == MN_OK;
        if (status != MN_OK && status != MN_ERR_UNKNOWN_SPACE)
            TF_FAIL(run, "open space %s: %s", in->name, mn_status_string(status));
        uint32_t found[TF_IDS] = {0};
        uint32_t stored = 0;
        for (uint32_t id = 0; present && id < TF_IDS; id++) {
            found[id] = tf_read(space, id);
            stored += found[id] != 0;
        }
        switch (in->state) {
        case TF_CREATE_FAILED:
            if (present && stored > 0) TF_FAIL(run, "space %s whose create failed is back with memories", in->name);
            break;
        case TF_DROPPED:
            if (present) TF_FAIL(run, "dropped space %s is back", in->name);
            break;
        case TF_LIVE:
            if (!present && (strict || in->create_synced)) TF_FAIL(run, "space %s lost", in->name);
            break;
        default:
            break;
        }
        if (present && (in->state == TF_LIVE || in->state == TF_DROP_UNKNOWN)) {
            for (uint32_t id = 0; id < TF_IDS; id++) {
                if (found[id] == UINT32_MAX - 1) {
                    TF_FAIL(run, "space %s id m%u: content or vector not byte-identical", in->name, id);
                    continue;
                }
                if (!tf_allowed(run, in, id, found[id], strict)) {
                    TF_FAIL(run, "space %s id m%u: found v%u, acknowledged v%u (synced v%u)%s", in->name, id,
                            found[id], in->current[id], in->synced[id],
                            found[id] == 0 ? " (acknowledged write lost)" : "");
                } else if (found[id] == in->current[id] && in->current[id] != 0) {
                    run->acked_checked++;
                }
            }
            /* No half batch: a batch whose ids nothing touched since is all there or none. */
            for (uint32_t b = 0; b < in->batch_count; b++) {
                const tf_batch *batch = &in->batches[b];
                uint32_t untouched = 0, here = 0;
                for (uint32_t i = 0; i < batch->count; i++) {
                    if (in->last_batch[batch->ids[i]] != (int)b || in->unknown[batch->ids[i]]) continue;
                    untouched++;
                    here += found[batch->ids[i]] == batch->versions[i];
                }
                if (untouched == batch->count && here != 0 && here != untouched)
                    TF_FAIL(run, "space %s: half a batch (%u of %u)", in->name, here, untouched);
            }
        }
        /* The model takes what was found. */
        if (present) {
            int tracked = in->state == TF_LIVE;
            if (in->state == TF_DROP_UNKNOWN || in->state == TF_CREATE_FAILED) {
                /* Came back (allowed): it lives on under its name if its slot is free, else
                 * it stays in the database untracked (names are never reused). */
                if (run->slot_instance[in->slot] < 0) {
                    run->slot_instance[in->slot] = (int)k;
                    tracked = 1;
                }
            }
            in->state = tracked ? TF_LIVE : TF_GONE;
            in->create_synced = 1;
            tf_instance_reset(in);
            memcpy(in->current, found, sizeof(found));
            memcpy(in->synced, found, sizeof(found));
            in->handle = NULL;
        } else {
            if (in->state == TF_LIVE && run->slot_instance[in->slot] == (int)k) {
                run->slot_instance[in->slot] = -1;
                run->generation[in->slot]++;
            }
            in->state = TF_GONE;
        }
        if (space) mn_space_release(space);
    }
}

/* ---- one schedule ---- */

/* Opens the run's directory with its settings through `vfs`: the fault table for a round, the
 * real one for the check after it. */
static mn_status tf_open(tf_run *run, const mn_vfs *vfs, mn_engine **engine,
                         mn_durable_report *report) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = run->workers;
    options.pin_workers = 0;
    mn_durable_options durable;
    mn_durable_options_default(run->path, &durable);
    durable.durability = run->mode;
    durable.sync_interval_ms = MN_WAL_SYNC_INTERVAL_MS_MAX; /* syncs come from the workload */
    durable.segment_bytes = MN_WAL_SEGMENT_BYTES_MIN;      /* rotations too */
    durable.checkpoint_log_bytes = 0;                      /* checkpoints from the workload */
    *engine = NULL;
    return mn_engine_open_vfs(&options, &durable, vfs, engine, report);
}

static void tf_round(tf_run *run, uint32_t round) {
    faultfs fs;
    if (faultfs_init(&fs, run->root, run->seed * 31u + round) != 0) {
        TF_FAIL(run, "faultfs_init");
        return;
    }
    uint32_t ops = 4 + tf_below(run, TF_OPS_MAX - 3);
    int crash_kind = run->mode == MN_DURABLE_NONE ? 0 : (int)tf_below(run, 3); /* 0 process, 1 power, 2 torn */
    if (run->verbose)
        printf(" round %u: mode %d, %u workers, %u ops, crash kind %d\n", round, (int)run->mode, run->workers, ops,
               crash_kind);
    if (tf_below(run, 5) == 0) tf_arm(run, &fs, 8); /* faults during open */
    mn_engine *engine = NULL;
    mn_status status = tf_open(run, faultfs_vfs(&fs), &engine, NULL);
    if (run->verbose) printf("  open: %s\n", mn_status_string(status));
    run->stop = 0;
    if (status == MN_OK) {
        for (uint32_t s = 0; s < TF_SLOTS; s++) {
            int k = run->slot_instance[s];
            if (k >= 0 && run->instances[k].state == TF_LIVE) {
                tf_instance *in = &run->instances[k];
                in->handle = NULL;
                if (mn_engine_space_open(engine, in->name, (uint32_t)strlen(in->name), &in->handle) != MN_OK) {
                    in->handle = NULL; /* a lazy load through the faults failed: not used this round */
                }
            }
        }
        tf_arm(run, &fs, ops * 3);
        uint32_t crash_op = tf_below(run, ops + 1);
        if (tf_below(run, 3) == 0) faultfs_crash(&fs, FAULTFS_ANY, faultfs_calls(&fs, FAULTFS_ANY) + 1 + tf_below(run, ops * 4));
        for (uint32_t op = 0; op < ops && !run->stop && op < crash_op; op++) {
            if (faultfs_dead(&fs)) break;
            uint32_t what = tf_below(run, 20), slot = tf_below(run, TF_SLOTS);
            int k = run->slot_instance[slot];
            tf_instance *in = k >= 0 ? &run->instances[k] : NULL;
            if (!in || in->state != TF_LIVE) {
                tf_create(run, engine, slot);
            } else if (what < 14) {
                if (in->handle) tf_write(run, in);
            } else if (what < 15) {
                if (in->handle) mn_space_release(in->handle);
                in->handle = NULL;
                tf_drop(run, engine, in);
            } else if (what < 17) {
                mn_checkpoint_report report;
                mn_status s = mn_engine_checkpoint(engine, &report);
                if (run->verbose) printf("  checkpoint: %s\n", mn_status_string(s));
            } else {
                tf_sync(run, engine);
            }
        }
    } else {
        run->opens_failed++;
    }
    /* The machine stops. */
    run->crashes++;
    if (crash_kind == 0) {
        faultfs_crash(&fs, FAULTFS_ANY, faultfs_calls(&fs, FAULTFS_ANY) + 1);
        pthread_mutex_lock(&fs.lock);
        fs.dead = 1;
        pthread_mutex_unlock(&fs.lock);
    } else if (faultfs_power_loss(&fs, crash_kind == 2) != 0) {
        TF_FAIL(run, "power loss could not rewrite the tree");
    }
    for (uint32_t k = 0; k < run->instance_count; k++) {
        if (run->instances[k].handle) mn_space_release(run->instances[k].handle);
        run->instances[k].handle = NULL;
    }
    if (engine) mn_engine_destroy(engine);
    faultfs_free(&fs);

    /* Reopen with the real file system and check. */
    int strict = run->mode == MN_DURABLE_SYNC || crash_kind == 0;
    mn_durable_report report;
    mn_engine *real = NULL;
    status = tf_open(run, mn_vfs_posix(), &real, &report);
    if (status != MN_OK) {
        TF_FAIL(run, "reopen after round %u: %s (%s at %llu)", round, mn_status_string(status), report.damaged_file,
                (unsigned long long)report.damaged_offset);
        return;
    }
    tf_check(run, real, strict);
    mn_engine_destroy(real);
}

static void tf_schedule(uint64_t seed, int verbose, tf_run *run, const char *base) {
    memset(run, 0, sizeof(*run));
    run->seed = seed;
    run->rng = seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
    run->verbose = verbose;
    faultfs_fresh_db(base, "s", run->root, sizeof(run->root), run->path, sizeof(run->path));
    for (uint32_t s = 0; s < TF_SLOTS; s++) run->slot_instance[s] = -1;
    uint32_t m = tf_below(run, 10);
    run->mode = m < 5 ? MN_DURABLE_SYNC : m < 8 ? MN_DURABLE_BATCHED : MN_DURABLE_NONE;
    run->workers = 1 + tf_below(run, 2);
    /* Batched schedules with two workers need recovery to stop each space at its first gap
     * (issue 9, item 9, on main): before it, schedules 1033 and 1278 failed (a batch lost in
     * one log, the duplicate insert after it kept in the other and now succeeding). */
    uint32_t rounds = 1 + tf_below(run, 3);
    if (verbose) printf("schedule %llu: %u rounds\n", (unsigned long long)seed, rounds);
    for (uint32_t r = 0; r < rounds && !run->failed; r++) tf_round(run, r);
}

int main(void) {
    const char *env = getenv("MN_FAULT_SCHEDULES");
    uint64_t schedules = env ? strtoull(env, NULL, 10) : 1000;
    env = getenv("MN_FAULT_FIRST"); /* the first seed (default 1000): other runs, other seeds */
    uint64_t first = env ? strtoull(env, NULL, 10) : 1000;
    env = getenv("MN_FAULT_SEED");
    int one = env != NULL;
    uint64_t only = one ? strtoull(env, NULL, 10) : 0;
    env = getenv("MN_FAULT_VERBOSE");
    int verbose = env && env[0] == '1';
    struct stat st;
    char base[300];
    snprintf(base, sizeof(base), "%s/mnemo-faults-XXXXXX", stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(base)) return 2;
    tf_run *run = malloc(sizeof(tf_run));
    if (!run) return 2;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t done = 0, crashes = 0, acked = 0, unknown = 0, opens_failed = 0, failures = 0;
    size_t pinned = sizeof(tf_pinned) / sizeof(tf_pinned[0]);
    for (uint64_t i = 0; i < (one ? 1 : pinned + schedules); i++) {
        uint64_t seed = one ? only : i < pinned ? tf_pinned[i] : first + (i - pinned);
        tf_schedule(seed, verbose, run, base);
        done++;
        crashes += run->crashes;
        acked += run->acked_checked;
        unknown += run->unknown_outcomes;
        opens_failed += run->opens_failed;
        if (run->failed) {
            failures++;
            fprintf(stderr, "schedule %llu FAILED: replay with MN_FAULT_SEED=%llu MN_FAULT_VERBOSE=1\n",
                    (unsigned long long)seed, (unsigned long long)seed);
            if (failures >= 5) break;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("fault schedules: %llu schedules, %llu crashes, %llu acknowledged writes checked, %llu unknown "
           "outcomes, %llu opens failed under faults, %llu failed, %.1f s\n",
           (unsigned long long)done, (unsigned long long)crashes, (unsigned long long)acked,
           (unsigned long long)unknown, (unsigned long long)opens_failed, (unsigned long long)failures, seconds);
    free(run);
    char command[400];
    snprintf(command, sizeof(command), "rm -rf '%s'", base);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", base);
    return te_report();
}
