/*
 * test_engine_durable.c: proves that a durable engine (mn_engine_open) keeps what it
 * acknowledged across close and reopen: inserts, upserts, deletes and batches come back
 * byte-identical (id, content, creation time, vector); dropped spaces stay dropped and a
 * re-created name is a new space; all three durability modes round-trip; a torn tail is
 * truncated; a corrupt record in the middle of a log fails the open naming its file and
 * offset, and the repair option cuts it and reports what it dropped.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_durable_support.h"

#define DIM TD_DIM

static mn_engine *open_engine(const char *path, uint32_t workers, mn_durability mode,
                              uint32_t repair, mn_status *status_out, mn_durable_report *report) {
    /* 64 KiB segments: rotate often. */
    return td_open(path, workers, mode, repair, 64u * 1024u, MN_DURABLE_CHECKPOINT_LOG_BYTES,
                   status_out, report);
}

static mn_status wait_upsert(mn_space *space, const char *id, uint64_t seed, const char *content) {
    float v[DIM];
    te_vector(seed, v, DIM);
    te_wait w;
    te_wait_init(&w);
    mn_status s = mn_space_upsert(space, id, (uint32_t)strlen(id), v, DIM, (const uint8_t *)content,
                                  strlen(content), MN_SUBMIT_WAIT, te_wait_done, &w);
    return s == MN_OK ? te_wait_for(&w) : s;
}

/* A batch of `n` memories "<prefix>-<i>" with seeds base+i and content "c<prefix>-<i>". */
static mn_status insert_batch(mn_space *space, const char *prefix, uint32_t n, uint64_t base) {
    float *vectors = malloc(sizeof(float) * DIM * n);
    char *ids = malloc(64u * n), *contents = malloc(64u * n);
    uint64_t *id_offsets = malloc(8u * (n + 1)), *content_offsets = malloc(8u * (n + 1));
    id_offsets[0] = content_offsets[0] = 0;
    for (uint32_t i = 0; i < n; i++) {
        te_vector(base + i, vectors + (size_t)i * DIM, DIM);
        int a = sprintf(ids + id_offsets[i], "%s-%u", prefix, i);
        id_offsets[i + 1] = id_offsets[i] + (uint64_t)a;
        int b = sprintf(contents + content_offsets[i], "c%s-%u", prefix, i);
        content_offsets[i + 1] = content_offsets[i] + (uint64_t)b;
    }
    mn_batch_in batch = {.count = n, .dimension = DIM, .vectors = vectors, .ids = ids,
                         .id_offsets = id_offsets, .contents = (const uint8_t *)contents,
                         .content_offsets = content_offsets, .created_ns = NULL};
    te_wait w;
    te_wait_init(&w);
    mn_status s = mn_space_insert_batch(space, &batch, MN_SUBMIT_WAIT, te_wait_done, &w, NULL);
    if (s == MN_OK) s = te_wait_for(&w);
    free(vectors);
    free(ids);
    free(contents);
    free(id_offsets);
    free(content_offsets);
    return s;
}

static void test_round_trip(const char *root, mn_durability mode, uint32_t workers) {
    char path[512];
    snprintf(path, sizeof(path), "%s/rt-%d-%u", root, (int)mode, workers);
    mn_status status;
    mn_engine *engine = open_engine(path, workers, mode, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    uint32_t durable = 0;
    mn_engine_is_durable(engine, &durable);
    CHECK(durable == 1);
    mn_space *a = te_space(engine, "alpha", DIM, MN_METRIC_L2);
    mn_space *b = te_space(engine, "beta", DIM, MN_METRIC_IP);
    char id[32], content[64];
    for (uint32_t i = 0; i < 50; i++) {
        snprintf(id, sizeof(id), "m%u", i);
        snprintf(content, sizeof(content), "content of memory %u", i);
        CHECK_STATUS(td_insert(a, id, 1000 + i, content), MN_OK);
    }
    CHECK_STATUS(td_insert(a, "m3", 1, "dup"), MN_ERR_DUPLICATE);
    CHECK_STATUS(wait_upsert(a, "m7", 777, "replaced seven"), MN_OK);
    CHECK_STATUS(td_delete(a, "m9"), MN_OK);
    CHECK_STATUS(insert_batch(a, "batch", 40, 5000), MN_OK);
    CHECK_STATUS(td_insert(b, "only", 42, "in beta"), MN_OK);
    mn_space *gone = te_space(engine, "gone", DIM, MN_METRIC_L2);
    CHECK_STATUS(td_insert(gone, "x", 1, "x"), MN_OK);
    mn_space_release(gone);
    CHECK_STATUS(mn_engine_space_drop(engine, "gone", 4), MN_OK);
    int64_t created_m1 = 0;
    CHECK(td_has_memory(a, "m1", "content of memory 1", 1001, &created_m1));
    mn_space_release(a);
    mn_space_release(b);
    mn_engine_destroy(engine);

    for (int round = 0; round < 2; round++) {
        mn_durable_report report;
        engine = open_engine(path, workers, mode, 0, &status, &report);
        CHECK_STATUS(status, MN_OK);
        if (!engine) return;
        CHECK(report.spaces == (uint64_t)(round == 0 ? 2 : 3));
        CHECK(report.skipped >= 3); /* the dropped space's create, insert and drop */
        a = td_open_space(engine, "alpha");
        b = td_open_space(engine, "beta");
        CHECK(a && b);
        if (round == 0) CHECK(td_open_space(engine, "gone") == NULL);
        if (!a || !b) return;
        mn_space_stats stats;
        mn_space_stats_get(a, &stats);
        CHECK(stats.count == (uint64_t)(50 - 1 + 40 + round));
        int64_t created = 0;
        CHECK(td_has_memory(a, "m1", "content of memory 1", 1001, &created));
        CHECK(created == created_m1);
        CHECK(td_has_memory(a, "m7", "replaced seven", 777, NULL));
        CHECK(!td_has_memory(a, "m9", "content of memory 9", 1009, NULL));
        CHECK(td_has_memory(a, "batch-39", "cbatch-39", 5039, NULL));
        CHECK(td_has_memory(b, "only", "in beta", 42, NULL));
        if (round == 0) {
            /* Writes after a reopen continue the spaces' sequences; a new space gets a new id. */
            CHECK_STATUS(td_insert(a, "after", 9, "after reopen"), MN_OK);
            mn_space *g2 = te_space(engine, "gone", DIM, MN_METRIC_L2);
            CHECK_STATUS(td_insert(g2, "y", 2, "y"), MN_OK);
            mn_space_release(g2);
        } else {
            CHECK(td_has_memory(a, "after", "after reopen", 9, NULL));
            mn_space *g2 = td_open_space(engine, "gone");
            CHECK(g2 != NULL);
            if (g2) {
                CHECK(td_has_memory(g2, "y", "y", 2, NULL));
                CHECK(!td_has_memory(g2, "x", "x", 1, NULL));
                mn_space_release(g2);
            }
        }
        mn_space_release(a);
        mn_space_release(b);
        mn_engine_destroy(engine);
    }
}

/* Path of the highest segment in <path>/wal-000. */
static int last_segment(const char *path, char *out, size_t size) {
    char dir_path[600];
    snprintf(dir_path, sizeof(dir_path), "%.500s/wal-000", path);
    DIR *dir = opendir(dir_path);
    if (!dir) return 0;
    char best[256] = "";
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strstr(e->d_name, ".wal") && strcmp(e->d_name, best) > 0) {
            snprintf(best, sizeof(best), "%.250s", e->d_name);
        }
    }
    closedir(dir);
    snprintf(out, size, "%.520s/%.100s", dir_path, best);
    return best[0] != '\0';
}

static void test_torn_and_corrupt(const char *root) {
    char path[512];
    snprintf(path, sizeof(path), "%s/damage", root);
    mn_status status;
    mn_engine *engine = open_engine(path, 1, MN_DURABLE_SYNC, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *s = te_space(engine, "s", DIM, MN_METRIC_L2);
    char id[32];
    for (uint32_t i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "k%u", i);
        CHECK_STATUS(td_insert(s, id, i, "v"), MN_OK);
    }
    mn_space_release(s);
    mn_engine_destroy(engine);

    /* A torn tail: half a record of garbage at the end of the last segment. */
    char segment[700];
    CHECK(last_segment(path, segment, sizeof(segment)));
    int fd = open(segment, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    const char garbage[] = "MNWR-torn-record-garbage";
    CHECK(write(fd, garbage, sizeof(garbage)) == (ssize_t)sizeof(garbage));
    close(fd);
    mn_durable_report report;
    engine = open_engine(path, 1, MN_DURABLE_SYNC, 0, &status, &report);
    CHECK_STATUS(status, MN_OK);
    CHECK(report.torn_bytes == sizeof(garbage));
    if (engine) {
        s = td_open_space(engine, "s");
        CHECK(s && td_has_memory(s, "k19", "v", 19, NULL));
        mn_space_release(s);
        mn_engine_destroy(engine);
    }

    /* Corruption mid-log: flip a byte inside the 3rd record of the segment holding the
     * inserts (segment 1; later opens started new segments after it). */
    char first[700];
    snprintf(first, sizeof(first), "%.500s/wal-000/%020llu.wal", path, 1ull);
    fd = open(first, O_RDWR);
    CHECK(fd >= 0);
    struct stat st;
    fstat(fd, &st);
    off_t where = st.st_size / 2;
    unsigned char byte = 0;
    CHECK(pread(fd, &byte, 1, where) == 1);
    byte ^= 0x5a;
    CHECK(pwrite(fd, &byte, 1, where) == 1);
    close(fd);
    engine = open_engine(path, 1, MN_DURABLE_SYNC, 0, &status, &report);
    CHECK_STATUS(status, MN_ERR_CORRUPT);
    CHECK(engine == NULL);
    CHECK(strstr(report.damaged_file, "00000000000000000001.wal") != NULL);
    CHECK(report.damaged_offset > 0 && report.damaged_offset <= (uint64_t)where);
    printf("corrupt: %s at offset %llu\n", report.damaged_file,
           (unsigned long long)report.damaged_offset);

    /* Repair: cut there, say what was dropped, and keep everything before it. */
    engine = open_engine(path, 1, MN_DURABLE_SYNC, 1, &status, &report);
    CHECK_STATUS(status, MN_OK);
    CHECK(report.repaired == 1);
    CHECK(report.dropped_bytes > 0);
    printf("repair dropped %llu bytes, %llu segments\n", (unsigned long long)report.dropped_bytes,
           (unsigned long long)report.dropped_segments);
    if (engine) {
        s = td_open_space(engine, "s");
        CHECK(s != NULL);
        if (s) {
            CHECK(td_has_memory(s, "k0", "v", 0, NULL));
            mn_space_release(s);
        }
        mn_engine_destroy(engine);
    }
}

static void test_invalid(const char *root) {
    mn_engine *engine = NULL;
    mn_durable_options d;
    mn_durable_options_default(root, &d);
    d.durability = 7;
    CHECK_STATUS(mn_engine_open(NULL, &d, &engine, NULL), MN_ERR_INVALID);
    mn_durable_options_default(root, &d);
    d.durability = MN_DURABLE_BATCHED;
    d.sync_interval_ms = 0;
    CHECK_STATUS(mn_engine_open(NULL, &d, &engine, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_engine_open(NULL, NULL, &engine, NULL), MN_ERR_INVALID);
    /* An in-memory engine says so and syncs as a no-op. */
    mn_engine *memory = te_engine(1, 64);
    uint32_t durable = 1;
    mn_engine_is_durable(memory, &durable);
    CHECK(durable == 0);
    CHECK_STATUS(mn_engine_sync(memory), MN_OK);
    mn_engine_destroy(memory);
}

int main(void) {
    char root[] = "/tmp/mnemo-durable-XXXXXX";
    if (!mkdtemp(root)) return 2;
    test_invalid(root);
    test_round_trip(root, MN_DURABLE_SYNC, 1);
    test_round_trip(root, MN_DURABLE_SYNC, 2);
    test_round_trip(root, MN_DURABLE_BATCHED, 2);
    test_round_trip(root, MN_DURABLE_NONE, 1);
    test_torn_and_corrupt(root);
    char command[600];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return te_report();
}
