/*
 * test_engine_recovery.c: proves recovery rules of the durable engine that the ordinary round
 * trips do not reach: logs of an earlier open with more workers are cut by checkpoints like the
 * live ones (a dropped space stays dropped, its name can be reused); a space whose records came
 * back with a gap (MN_WAL_BATCHED, logs synced independently) stops at its first gap, the gap
 * is reported, and new writes continue past every sequence the logs hold; the log written
 * since the last checkpoint counts across restarts, so a process restarted often still
 * checkpoints; a log larger than the replay memory bound replays exactly; and the replication
 * seam (records since N, apply records from another node) copies one engine's space into
 * another's exactly and refuses gaps, duplicates and out-of-order records.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnemo/mn_replica.h"
#include "test_durable_support.h"

/* A space name whose home is worker `worker` of an engine with `workers` workers. */
static void name_homed(mn_engine *engine, uint32_t worker, char *out, size_t size) {
    for (uint32_t i = 0;; i++) {
        snprintf(out, size, "space-%u", i);
        uint32_t home = 0;
        mn_engine_space_home(engine, out, (uint32_t)strlen(out), &home);
        if (home == worker) return;
    }
}

/* Item 6: a space created under 8 workers (its creation in wal-005), dropped under 4,
 * checkpointed, stays dropped; its name can be created again and the database reopens. */
static void test_fewer_workers(const char *root) {
    char path[512];
    snprintf(path, sizeof(path), "%s/fewer", root);
    mn_status status;
    mn_engine *engine = td_open(path, 8, MN_WAL_SYNC, 0, 4096u, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    char name[64];
    name_homed(engine, 5, name, sizeof(name));
    mn_space *s = te_space(engine, name, TD_DIM, MN_METRIC_L2);
    CHECK_STATUS(td_insert(s, "a", 1, "old"), MN_OK);
    mn_space_release(s);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);

    for (int round = 0; round < 3; round++) {
        engine = td_open(path, 4, MN_WAL_SYNC, 0, 4096u, 0, &status, NULL);
        CHECK_STATUS(status, MN_OK);
        if (!engine) return;
        if (round == 0) CHECK_STATUS(mn_engine_space_drop(engine, name, (uint32_t)strlen(name)), MN_OK);
        s = td_open_space(engine, name);
        CHECK(s == NULL); /* the dropped space is not back */
        mn_space_release(s);
        CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
        CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    }
    /* The name again, a new space: the database reopens with it, empty but for its write. */
    engine = td_open(path, 4, MN_WAL_SYNC, 0, 4096u, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    s = te_space(engine, name, TD_DIM, MN_METRIC_L2);
    CHECK_STATUS(td_insert(s, "b", 2, "new"), MN_OK);
    mn_space_release(s);
    CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    for (uint32_t workers = 4; workers <= 8; workers += 4) {
        engine = td_open(path, workers, MN_WAL_SYNC, 0, 4096u, 0, &status, NULL);
        CHECK_STATUS(status, MN_OK);
        if (!engine) return;
        s = td_open_space(engine, name);
        CHECK(s != NULL);
        if (s) {
            CHECK(!td_has_memory(s, "a", "old", 1, NULL));
            CHECK(td_has_memory(s, "b", "new", 2, NULL));
            mn_space_release(s);
        }
        CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    }
}

/* ---- item 9: gaps ---- */

/* Records copied out of a log (recovery's callback) or shipped by the replication seam,
 * payloads copied. */
#define SAVED_MAX 128u
typedef struct saved_log {
    mn_wal_record records[SAVED_MAX];
    uint8_t *payloads[SAVED_MAX];
    uint32_t count;
} saved_log;

/* Appends a copy of `record` (mn_replica_records_since's callback). */
static mn_status ship_record(void *context, const mn_wal_record *record) {
    saved_log *log = context;
    if (log->count == SAVED_MAX) return MN_ERR_FULL;
    uint8_t *copy = malloc(record->payload_bytes ? record->payload_bytes : 1);
    if (!copy) return MN_ERR_NO_MEMORY;
    memcpy(copy, record->payload, record->payload_bytes);
    log->records[log->count] = *record;
    log->records[log->count].payload = copy;
    log->payloads[log->count++] = copy;
    return MN_OK;
}

/* Appends a copy of `record` (mn_wal_recover's callback). */
static mn_status save_record(void *context, const mn_wal_record *record,
                             const mn_wal_position *at) {
    (void)at;
    return ship_record(context, record);
}

static void saved_free(saved_log *log) {
    for (uint32_t i = 0; i < log->count; i++) free(log->payloads[i]);
    log->count = 0;
}

/* Appends the saved records whose sequence is in `keep` (a 0-terminated list; the creation
 * record, sequence 0, when `creation`) to <path>/wal-NNN as one segment. */
static void write_log(const char *path, uint32_t log, const saved_log *saved, int creation,
                      const uint64_t *keep) {
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/wal-%03u", path, log);
    mkdir(path, 0755);
    mn_wal_options options;
    mn_wal_options_default(dir, &options);
    mn_wal *wal = NULL;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_OK);
    if (!wal) return;
    for (uint32_t i = 0; i < saved->count; i++) {
        uint64_t sequence = saved->records[i].sequence;
        int take = creation && sequence == 0;
        for (const uint64_t *k = keep; *k && !take; k++) take = *k == sequence;
        if (take) CHECK_STATUS(mn_wal_append(wal, &saved->records[i], 1, NULL), MN_OK);
    }
    CHECK_STATUS(mn_wal_close(wal), MN_OK);
}

static int has_m(mn_space *space, uint32_t i) {
    char id[32], content[32];
    snprintf(id, sizeof(id), "m%u", i);
    snprintf(content, sizeof(content), "c%u", i);
    return td_has_memory(space, id, content, 100 + i, NULL);
}

static mn_status insert_m(mn_space *space, uint32_t i) {
    char id[32], content[32];
    snprintf(id, sizeof(id), "m%u", i);
    snprintf(content, sizeof(content), "c%u", i);
    return td_insert(space, id, 100 + i, content);
}

/* wal-000 holds the creation and `first`, wal-001 holds `second`: recovery must apply
 * 1 .. expect_last only, report the rest, and continue past every sequence the logs hold. */
static void gap_case(const char *root, const char *name, const saved_log *saved,
                     const uint64_t *first, const uint64_t *second, uint32_t expect_last,
                     uint64_t expect_dropped) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, name);
    write_log(path, 0, saved, 1, first);
    write_log(path, 1, saved, 0, second);
    mn_status status;
    mn_durable_report report;
    mn_engine *engine = td_open(path, 2, MN_WAL_BATCHED, 0, 4096u, 0, &status, &report);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    CHECK(report.gap_spaces == 1);
    CHECK(report.gap_records == expect_dropped);
    CHECK(report.gap_sequence == expect_last + 1);
    CHECK(report.checkpointed == 1);
    mn_space *s = td_open_space(engine, "g");
    CHECK(s != NULL);
    if (!s) {
        mn_engine_destroy(engine);
        return;
    }
    for (uint32_t i = 1; i <= 10; i++) CHECK(has_m(s, i) == (i <= expect_last));
    /* New writes: their sequences continue past 10, never reusing a dropped one. */
    for (uint32_t i = 11; i <= 16; i++) CHECK_STATUS(insert_m(s, i), MN_OK);
    mn_space_release(s);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    for (int round = 0; round < 2; round++) {
        engine = td_open(path, 2, MN_WAL_BATCHED, 0, 4096u, 0, &status, &report);
        CHECK_STATUS(status, MN_OK);
        if (!engine) return;
        CHECK(report.gap_spaces == 0);
        s = td_open_space(engine, "g");
        CHECK(s != NULL);
        if (s) {
            for (uint32_t i = 1; i <= 16; i++) CHECK(has_m(s, i) == (i <= expect_last || i > 10));
            mn_space_release(s);
        }
        CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    }
}

static void test_gaps(const char *root) {
    /* Ten writes of one space, read back from its log as the records to rearrange. */
    char source[512];
    snprintf(source, sizeof(source), "%s/gap-source", root);
    mn_status status;
    mn_engine *engine = td_open(source, 1, MN_WAL_SYNC, 0, 1u << 20, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *s = te_space(engine, "g", TD_DIM, MN_METRIC_L2);
    for (uint32_t i = 1; i <= 10; i++) CHECK_STATUS(insert_m(s, i), MN_OK);
    mn_space_release(s);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    saved_log saved = {0};
    mn_wal_recovery found;
    char log[600];
    snprintf(log, sizeof(log), "%s/wal-000", source);
    CHECK_STATUS(mn_wal_recover(log, MN_WAL_RECOVER_READ_ONLY, save_record, &saved, &found), MN_OK);
    CHECK(saved.count == 11);

    /* 6..10 came back in one log, 1..5 were lost from the other. */
    const uint64_t none[] = {0};
    const uint64_t late[] = {6, 7, 8, 9, 10, 0};
    gap_case(root, "gap-a", &saved, none, late, 0, 5);
    /* 3 is missing: 1, 2, 4, 5 in one log, 6..10 in the other. */
    const uint64_t early[] = {1, 2, 4, 5, 0};
    gap_case(root, "gap-b", &saved, early, late, 2, 7);
    saved_free(&saved);
}

/* ---- recovery time: the log since the last checkpoint counts across restarts ---- */

static uint64_t log_bytes_on_disk(const char *path) {
    uint64_t total = 0;
    for (uint32_t log = 0; log < 4; log++) {
        char dir[600];
        snprintf(dir, sizeof(dir), "%s/wal-%03u", path, log);
        DIR *d = opendir(dir);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char file[900];
            struct stat st;
            snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
            if (e->d_name[0] != '.' && stat(file, &st) == 0) total += (uint64_t)st.st_size;
        }
        closedir(d);
    }
    return total;
}

static void test_restarts(const char *root) {
    char path[512];
    snprintf(path, sizeof(path), "%s/restarts", root);
    const uint64_t threshold = 32u << 10;
    const uint32_t rounds = 25, per_round = 20;
    uint32_t checkpoints = 0;
    char content[256];
    memset(content, 'x', 200);
    content[200] = '\0';
    for (uint32_t round = 0; round < rounds; round++) {
        mn_status status;
        mn_durable_report report;
        mn_engine *engine = td_open(path, 2, MN_WAL_SYNC, 0, 4096u, threshold, &status, &report);
        CHECK_STATUS(status, MN_OK);
        if (!engine) return;
        checkpoints += report.checkpointed;
        mn_space *s = round == 0 ? te_space(engine, "r", TD_DIM, MN_METRIC_L2) : td_open_space(engine, "r");
        CHECK(s != NULL);
        for (uint32_t i = 0; s && i < per_round; i++) {
            char id[32];
            snprintf(id, sizeof(id), "r%u-%u", round, i);
            CHECK_STATUS(td_insert(s, id, round * 1000 + i, content), MN_OK);
        }
        mn_space_release(s);
        /* Ends without a checkpoint, as a killed process would. */
        CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    }
    uint64_t left = log_bytes_on_disk(path);
    CHECK(checkpoints >= 1);
    /* Bounded by the trigger plus one round's writes and a segment per log, not the ~150 KB
     * all rounds wrote. */
    CHECK(left <= threshold + 16384u + 2 * 4096u);
    if (left > threshold + 16384u + 2 * 4096u) fprintf(stderr, "log left: %llu bytes\n", (unsigned long long)left);
    mn_status status;
    mn_engine *engine = td_open(path, 2, MN_WAL_SYNC, 0, 4096u, threshold, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *s = td_open_space(engine, "r");
    CHECK(s != NULL);
    uint32_t present = 0;
    for (uint32_t round = 0; s && round < rounds; round++) {
        for (uint32_t i = 0; i < per_round; i++) {
            char id[32];
            snprintf(id, sizeof(id), "r%u-%u", round, i);
            present += td_has_memory(s, id, content, round * 1000 + i, NULL);
        }
    }
    CHECK(present == rounds * per_round);
    mn_space_release(s);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
}

/* ---- item 12: replay in bounded memory ---- */

static void test_bounded_replay(const char *root) {
    char path[512];
    snprintf(path, sizeof(path), "%s/bounded", root);
    mn_status status;
    mn_engine *engine = td_open(path, 2, MN_WAL_NONE, 0, 1u << 20, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    static char big[40000], small[201];
    memset(big, 'b', sizeof(big) - 1);
    memset(small, 's', sizeof(small) - 1);
    const char *names[3] = {"b0", "b1", "b2"};
    for (uint32_t k = 0; k < 3; k++) {
        mn_space *s = te_space(engine, names[k], TD_DIM, MN_METRIC_L2);
        for (uint32_t i = 0; i < 400; i++) {
            char id[32];
            snprintf(id, sizeof(id), "m%u", i);
            CHECK_STATUS(td_insert(s, id, k * 1000 + i, small), MN_OK);
        }
        CHECK_STATUS(td_insert(s, "big", k, big), MN_OK); /* one record over the bound */
        CHECK_STATUS(td_delete(s, "m7"), MN_OK);
        mn_space_release(s);
    }
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);

    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 2;
    options.pin_workers = 0;
    mn_durable_options durable;
    mn_durable_options_default(path, &durable);
    durable.durability = MN_WAL_NONE;
    durable.checkpoint_log_bytes = 0;
    durable.replay_bytes = 16u << 10;
    mn_durable_report report;
    engine = NULL;
    CHECK_STATUS(mn_engine_open(&options, &durable, &engine, &report), MN_OK);
    if (!engine) return;
    CHECK(report.log_bytes > 300000u); /* the log is many times the bound */
    /* Never more than the bound held, except the one record larger than it, alone. */
    CHECK(report.replay_peak_bytes <= durable.replay_bytes || report.replay_peak_bytes < 41000u);
    CHECK(report.replay_peak_bytes > 0);
    for (uint32_t k = 0; k < 3; k++) {
        mn_space *s = td_open_space(engine, names[k]);
        CHECK(s != NULL);
        if (!s) continue;
        uint32_t present = 0;
        for (uint32_t i = 0; i < 400; i++) {
            char id[32];
            snprintf(id, sizeof(id), "m%u", i);
            present += td_has_memory(s, id, small, k * 1000 + i, NULL);
        }
        CHECK(present == 399);
        float vector[TD_DIM];
        td_got g = {0};
        CHECK_STATUS(mn_space_get(s, "big", 3, vector, TD_DIM, td_visit_got, &g), MN_OK);
        CHECK(g.found && g.content_bytes == sizeof(big) - 1 && g.content[0] == 'b');
        mn_space_release(s);
    }
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
}

/* ---- the replication seam ---- */

/* 1 when both spaces hold the same memories m1 .. m`n` (present or absent alike, same content,
 * vector and creation time). */
static int same_memories(mn_space *a, mn_space *b, uint32_t n) {
    for (uint32_t i = 1; i <= n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "m%u", i);
        float va[TD_DIM], vb[TD_DIM];
        td_got ga = {0}, gb = {0};
        mn_status sa = mn_space_get(a, id, (uint32_t)strlen(id), va, TD_DIM, td_visit_got, &ga);
        mn_status sb = mn_space_get(b, id, (uint32_t)strlen(id), vb, TD_DIM, td_visit_got, &gb);
        if (sa != sb || ga.found != gb.found) return 0;
        if (!ga.found) continue;
        if (ga.content_bytes != gb.content_bytes || strcmp(ga.content, gb.content) != 0 ||
            ga.created_ns != gb.created_ns || memcmp(va, vb, sizeof(va)) != 0) {
            return 0;
        }
    }
    mn_space_stats sa, sb;
    if (mn_space_stats_get(a, &sa) != MN_OK || mn_space_stats_get(b, &sb) != MN_OK) return 0;
    uint64_t la = 0, lb = 1;
    if (mn_space_link_count(a, &la) != MN_OK || mn_space_link_count(b, &lb) != MN_OK) return 0;
    return sa.count == sb.count && la == lb;
}

static void expect_refused(mn_space *b, const mn_wal_record *records, uint32_t count,
                           mn_replica_refusal expected, uint64_t sequence_before) {
    mn_replica_refusal why = MN_REPLICA_ACCEPTED;
    CHECK_STATUS(mn_replica_apply(b, records, count, &why), MN_ERR_INVALID);
    CHECK(why == expected);
    uint64_t after = 0;
    CHECK_STATUS(mn_replica_sequence(b, &after), MN_OK);
    CHECK(after == sequence_before); /* nothing changed */
}

static void test_replica(const char *root) {
    char path_a[512], path_b[512];
    snprintf(path_a, sizeof(path_a), "%s/replica-a", root);
    snprintf(path_b, sizeof(path_b), "%s/replica-b", root);
    mn_status status;
    /* One worker in A: one log of 4 KiB segments, so a checkpoint surely cuts its first
     * records (with two, a log that never rotated may keep them). */
    mn_engine *a = td_open(path_a, 1, MN_WAL_SYNC, 0, 4096u, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    mn_engine *b = td_open(path_b, 2, MN_WAL_BATCHED, 0, 4096u, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!a || !b) return;
    mn_space *src = te_space(a, "src", TD_DIM, MN_METRIC_L2);
    for (uint32_t i = 1; i <= 40; i++) CHECK_STATUS(insert_m(src, i), MN_OK);
    uint64_t n = 0;
    CHECK_STATUS(mn_replica_sequence(src, &n), MN_OK);
    CHECK(n == 40);
    /* B holds the space as of sequence n: A's export, imported. */
    mn_bytes stream = {0};
    CHECK_STATUS(mn_space_export(src, mn_bytes_write, &stream), MN_OK);
    mn_space *dst = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(b, "dst", 3, stream.data, stream.size, &dst), MN_OK);
    free(stream.data);
    if (!dst) return;
    uint64_t at = 0;
    CHECK_STATUS(mn_replica_sequence(dst, &at), MN_OK);
    CHECK(at == n);

    /* A goes on: inserts, a delete, an upsert, a link, a failing insert (a duplicate id). */
    for (uint32_t i = 41; i <= 60; i++) CHECK_STATUS(insert_m(src, i), MN_OK);
    CHECK_STATUS(td_delete(src, "m3"), MN_OK);
    float v[TD_DIM];
    te_vector(999, v, TD_DIM);
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_upsert(src, "m5", 2, v, TD_DIM, (const uint8_t *)"new", 3, MN_SUBMIT_WAIT,
                                 te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    CHECK_STATUS(insert_m(src, 7), MN_ERR_DUPLICATE);
    te_wait_init(&w);
    CHECK_STATUS(mn_space_link(src, "m1", 2, "m2", 2, 0.5f, 0, te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);

    saved_log sent = {0};
    uint64_t last = 0;
    CHECK_STATUS(mn_replica_records_since(src, n, ship_record, &sent, &last), MN_OK);
    CHECK(sent.count == 24);
    CHECK(last == n + 24);
    for (uint32_t i = 0; i < sent.count; i++) CHECK(sent.records[i].sequence == n + 1 + i);

    /* Refusals first: nothing may change. */
    if (sent.count == 24) {
        mn_wal_record two[2];
        expect_refused(dst, &sent.records[1], 3, MN_REPLICA_GAP, n);        /* starts past n+1 */
        two[0] = sent.records[0];
        two[1] = sent.records[2];
        expect_refused(dst, two, 2, MN_REPLICA_GAP, n);                     /* skips one */
        two[1] = sent.records[0];
        expect_refused(dst, two, 2, MN_REPLICA_DUPLICATE, n);               /* twice */
        two[0] = sent.records[1];
        two[1] = sent.records[0];
        expect_refused(dst, two, 2, MN_REPLICA_ORDER, n);                   /* out of order */
        mn_wal_record foreign = sent.records[0];
        foreign.space++;
        two[0] = sent.records[0];
        two[1] = foreign;
        two[1].sequence++;
        expect_refused(dst, two, 2, MN_REPLICA_FOREIGN, n);                 /* two spaces */

        /* In two batches, as a stream would arrive. */
        CHECK_STATUS(mn_replica_apply(dst, sent.records, 10, NULL), MN_OK);
        expect_refused(dst, sent.records, 10, MN_REPLICA_DUPLICATE, n + 10); /* again */
        CHECK_STATUS(mn_replica_apply(dst, sent.records + 10, sent.count - 10, NULL), MN_OK);
    }
    CHECK(same_memories(src, dst, 60));
    CHECK(td_has_memory(dst, "m5", "new", 999, NULL));
    CHECK(!td_has_memory(dst, "m3", "c3", 103, NULL));
    saved_free(&sent);

    /* Nothing new: an empty read. A sequence past the space's: refused. */
    CHECK_STATUS(mn_replica_records_since(src, n + 24, ship_record, &sent, &last), MN_OK);
    CHECK(sent.count == 0);
    CHECK_STATUS(mn_replica_records_since(src, n + 25, ship_record, &sent, NULL), MN_ERR_INVALID);

    /* A checkpoint cuts the early records from A's log: reading from 0 is refused, before
     * anything is handed out; what was written after it is still there. */
    CHECK_STATUS(mn_engine_checkpoint(a, NULL), MN_OK);
    for (uint32_t i = 61; i <= 62; i++) CHECK_STATUS(insert_m(src, i), MN_OK);
    CHECK_STATUS(mn_replica_records_since(src, 0, ship_record, &sent, NULL), MN_ERR_NOT_FOUND);
    CHECK(sent.count == 0);
    saved_free(&sent);
    CHECK_STATUS(mn_replica_records_since(src, n + 24, ship_record, &sent, NULL), MN_OK);
    CHECK(sent.count == 2);
    CHECK_STATUS(mn_replica_apply(dst, sent.records, sent.count, NULL), MN_OK);
    saved_free(&sent);
    CHECK(same_memories(src, dst, 62));

    /* B's applied records were logged: they survive its restart. */
    mn_space_release(dst);
    CHECK_STATUS(mn_engine_destroy(b), MN_OK);
    b = td_open(path_b, 2, MN_WAL_BATCHED, 0, 4096u, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (b) {
        dst = td_open_space(b, "dst");
        CHECK(dst != NULL);
        if (dst) {
            CHECK(same_memories(src, dst, 62));
            CHECK_STATUS(mn_replica_sequence(dst, &at), MN_OK);
            CHECK(at == n + 26);
            mn_space_release(dst);
        }
        CHECK_STATUS(mn_engine_destroy(b), MN_OK);
    }
    mn_space_release(src);
    CHECK_STATUS(mn_engine_destroy(a), MN_OK);
}

int main(void) {
    char root[] = "/tmp/mnemo-recovery-XXXXXX";
    if (!mkdtemp(root)) return 2;
    test_fewer_workers(root);
    test_gaps(root);
    test_restarts(root);
    test_bounded_replay(root);
    test_replica(root);
    char command[600];
    snprintf(command, sizeof(command), "rm -rf %s", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return te_report();
}
