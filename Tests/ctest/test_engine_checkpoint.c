/*
 * test_engine_checkpoint.c: proves checkpoints of a durable engine (mn_engine_checkpoint):
 * memories written before and after a checkpoint come back exactly on reopen (content,
 * vectors, creation times, links, search results); the checkpoint deletes every log segment
 * before its cut (files counted) and writes one file per space; an unchanged space is not
 * rewritten; a space dropped after its checkpoint stays dropped and loses its file; a space
 * imported into a durable engine survives restart, with writes made to it afterwards; the
 * background thread checkpoints on its own once the log passes its limit; checkpointed spaces
 * open lazily (counted and listed as stubs, loaded on first open, a stub's name cannot be
 * created again, a stub can be dropped, only changed spaces are written again, idle spaces
 * unload back to stubs and load again with their writes); and a damaged
 * checkpoint file fails the open with MN_ERR_CORRUPT naming the file, and so does one whose
 * checksums are intact but whose sequence or next label is past its limit.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "engine/mn_engine_durable_internal.h" /* MN_DURABLE_CHECKPOINT_PACKS_MAX */
#include "mn_test_dir.h"
#include "test_durable_support.h"

#define DIM TD_DIM

static mn_engine *open_engine(const char *path, uint32_t workers, mn_durability mode,
                              uint64_t checkpoint_log_bytes, mn_status *status_out,
                              mn_durable_report *report) {
    /* 4 KiB segments: rotate very often, many segments to delete. */
    return td_open(path, workers, mode, 0, 4096u, checkpoint_log_bytes, status_out, report);
}

static int64_t created_of(mn_space *space, const char *id) {
    float vector[DIM];
    td_got g = {0};
    if (mn_space_get(space, id, (uint32_t)strlen(id), vector, DIM, td_visit_got, &g) != MN_OK) {
        return -1;
    }
    return g.found ? g.created_ns : -1;
}

static mn_status link_wait(mn_space *space, const char *from, const char *to, float weight) {
    te_wait w;
    te_wait_init(&w);
    mn_status s = mn_space_link(space, from, (uint32_t)strlen(from), to, (uint32_t)strlen(to),
                                weight, 0, te_wait_done, &w);
    return s == MN_OK ? te_wait_for(&w) : s;
}

/* Files in `dir` whose names end with `suffix`. */
static int count_segments(const char *path, uint32_t logs) {
    int n = 0;
    for (uint32_t i = 0; i < logs; i++) {
        char dir[600];
        snprintf(dir, sizeof(dir), "%s/wal-%03u", path, i);
        n += mn_test_count_files(dir, ".wal");
    }
    return n;
}

/* Ids of the k nearest to te_vector(seed), concatenated. */
typedef struct hits {
    char ids[512];
    size_t used;
} hits;

static void visit_hit(void *context, const mn_memory_view *view) {
    hits *h = context;
    if (h->used + view->id_bytes + 1 < sizeof(h->ids)) {
        memcpy(h->ids + h->used, view->id, view->id_bytes);
        h->used += view->id_bytes;
        h->ids[h->used++] = ',';
        h->ids[h->used] = '\0';
    }
}

static void search_ids(mn_space *space, uint64_t seed, hits *out) {
    float q[DIM];
    te_vector(seed, q, DIM);
    memset(out, 0, sizeof(*out));
    uint32_t found = 0;
    mn_space_search(space, q, DIM, 5, 64, visit_hit, out, &found);
}

static void test_round_trip(const char *root, uint32_t workers, mn_durability mode) {
    char path[512];
    snprintf(path, sizeof(path), "%s/rt-%u-%d", root, workers, (int)mode);
    mn_status status;
    mn_engine *engine = open_engine(path, workers, mode, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *a = te_space(engine, "alpha", DIM, MN_METRIC_L2);
    mn_space *b = te_space(engine, "beta", DIM, MN_METRIC_L2);
    char id[32], content[64];
    for (uint32_t i = 0; i < 120; i++) {
        snprintf(id, sizeof(id), "a%u", i);
        snprintf(content, sizeof(content), "alpha content %u", i);
        CHECK_STATUS(td_insert(a, id, 1000 + i, content), MN_OK);
    }
    for (uint32_t i = 0; i < 30; i++) {
        snprintf(id, sizeof(id), "b%u", i);
        CHECK_STATUS(td_insert(b, id, 5000 + i, "beta"), MN_OK);
    }
    CHECK_STATUS(link_wait(a, "a1", "a2", 0.5f), MN_OK);
    CHECK_STATUS(link_wait(a, "a2", "a3", 0.25f), MN_OK);
    CHECK_STATUS(td_delete(a, "a7"), MN_OK);
    int64_t created5 = created_of(a, "a5");
    int before = count_segments(path, workers);
    CHECK(before > (int)workers); /* 4 KiB segments: the writes above rotated */

    mn_checkpoint_report report;
    CHECK_STATUS(mn_engine_checkpoint(engine, &report), MN_OK);
    CHECK(report.spaces_written == 2);
    CHECK(report.bytes_written > 0);
    CHECK(report.segments_deleted > 0);
    CHECK((int)report.segments_deleted == before - (int)workers);
    CHECK(count_segments(path, workers) == (int)workers); /* only the current ones are left */
    char spaces_dir[600];
    snprintf(spaces_dir, sizeof(spaces_dir), "%s/spaces", path);
    CHECK(mn_test_count_files(spaces_dir, ".pack") == 1); /* both spaces in one pack */
    CHECK(mn_test_count_files(spaces_dir, ".tmp") == 0);

    /* Nothing changed: nothing rewritten. */
    CHECK_STATUS(mn_engine_checkpoint(engine, &report), MN_OK);
    CHECK(report.spaces_written == 0 && report.spaces_unchanged == 2);

    /* Writes after the checkpoint, a new space, a drop. */
    for (uint32_t i = 120; i < 160; i++) {
        snprintf(id, sizeof(id), "a%u", i);
        snprintf(content, sizeof(content), "alpha content %u", i);
        CHECK_STATUS(td_insert(a, id, 1000 + i, content), MN_OK);
    }
    CHECK_STATUS(link_wait(a, "a150", "a1", 0.75f), MN_OK);
    CHECK_STATUS(td_delete(a, "a8"), MN_OK);
    mn_space *c = te_space(engine, "gamma", DIM, MN_METRIC_L2);
    CHECK_STATUS(td_insert(c, "g0", 9000, "gamma"), MN_OK);
    mn_space_release(b);
    CHECK_STATUS(mn_engine_space_drop(engine, "beta", 4), MN_OK);
    /* A drop touches no file: beta leaves with the next index, and its drop record stays in
     * the log until then. */
    CHECK(mn_test_count_files(spaces_dir, ".pack") == 1);
    uint64_t links = 0;
    mn_space_link_count(a, &links);
    CHECK(links == 3);
    hits expected;
    search_ids(a, 1003, &expected);
    mn_space_release(a);
    mn_space_release(c);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);

    for (int round = 0; round < 2; round++) {
        mn_durable_report open_report;
        engine = open_engine(path, workers, mode, 0, &status, &open_report);
        CHECK_STATUS(status, MN_OK);
        if (!engine) return;
        /* Round 0: alpha, and beta (the index still names it; its drop record in the log
         * drops it); gamma came from the log. Round 1: alpha and gamma. */
        CHECK(open_report.checkpoints == 2);
        CHECK(open_report.spaces == 2);
        a = td_open_space(engine, "alpha");
        c = td_open_space(engine, "gamma");
        CHECK(a != NULL && c != NULL);
        CHECK(td_open_space(engine, "beta") == NULL);
        if (!a || !c) return;
        int all = 1;
        for (uint32_t i = 0; i < 160; i++) {
            snprintf(id, sizeof(id), "a%u", i);
            snprintf(content, sizeof(content), "alpha content %u", i);
            int present = td_has_memory(a, id, content, 1000 + i, NULL);
            if (present != (i != 7 && i != 8)) all = 0;
        }
        CHECK(all);
        CHECK(created_of(a, "a5") == created5);
        CHECK(td_has_memory(c, "g0", "gamma", 9000, NULL));
        mn_space_link_count(a, &links);
        CHECK(links == 3);
        hits now;
        search_ids(a, 1003, &now);
        CHECK(strcmp(now.ids, expected.ids) == 0);
        /* The second round checkpoints first: reopen then reads only checkpoints. */
        if (round == 0) {
            CHECK_STATUS(mn_engine_checkpoint(engine, &report), MN_OK);
            CHECK(report.spaces_written == 2); /* alpha had log records on top; gamma none */
            /* One new pack holds both; the old one, which it no longer points into, went. */
            CHECK(mn_test_count_files(spaces_dir, ".pack") == 1);
        }
        mn_space_release(a);
        mn_space_release(c);
        CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
        if (round == 0) {
            /* Next open: both spaces come from their files. */
            mn_durable_report r2;
            engine = open_engine(path, workers, mode, 0, &status, &r2);
            CHECK_STATUS(status, MN_OK);
            if (!engine) return;
            CHECK(r2.checkpoints == 2);
            CHECK(r2.replayed == 0);
            a = td_open_space(engine, "alpha");
            CHECK(a != NULL);
            if (a) {
                CHECK(td_has_memory(a, "a150", "alpha content 150", 1150, NULL));
                CHECK(!td_has_memory(a, "a8", "alpha content 8", 1008, NULL));
                mn_space_link_count(a, &links);
                CHECK(links == 3);
                search_ids(a, 1003, &now);
                CHECK(strcmp(now.ids, expected.ids) == 0);
                mn_space_release(a);
            }
            CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
            break;
        }
    }
}

static void test_drop_after_checkpoint(const char *root) {
    char path[512];
    snprintf(path, sizeof(path), "%s/drop", root);
    mn_status status;
    mn_engine *engine = open_engine(path, 1, MN_DURABLE_SYNC, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *s = te_space(engine, "gone", DIM, MN_METRIC_L2);
    CHECK_STATUS(td_insert(s, "x", 1, "x"), MN_OK);
    mn_space_release(s);
    CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
    CHECK_STATUS(mn_engine_space_drop(engine, "gone", 4), MN_OK);
    /* Re-create the name: a new space with a new id, empty. */
    s = te_space(engine, "gone", DIM, MN_METRIC_L2);
    CHECK_STATUS(td_insert(s, "y", 2, "y"), MN_OK);
    mn_space_release(s);
    CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    engine = open_engine(path, 1, MN_DURABLE_SYNC, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    s = td_open_space(engine, "gone");
    CHECK(s != NULL);
    if (s) {
        CHECK(!td_has_memory(s, "x", "x", 1, NULL));
        CHECK(td_has_memory(s, "y", "y", 2, NULL));
        mn_space_release(s);
    }
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
}

static void test_import_survives(const char *root) {
    /* The stream comes from an in-memory engine. */
    mn_engine *memory = te_engine(1, 64);
    mn_space *source = te_space(memory, "source", DIM, MN_METRIC_L2);
    td_fill(source, 0, 50, 200, "imported");
    CHECK_STATUS(link_wait(source, "m1", "m2", 1.0f), MN_OK);
    mn_bytes stream = {0};
    CHECK_STATUS(mn_space_export(source, mn_bytes_write, &stream), MN_OK);
    mn_space_release(source);
    mn_engine_destroy(memory);

    char path[512];
    snprintf(path, sizeof(path), "%s/import", root);
    mn_status status;
    mn_engine *engine = open_engine(path, 2, MN_DURABLE_SYNC, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *copy = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "copy", 4, stream.data, stream.size, &copy),
                 MN_OK);
    if (copy) {
        CHECK_STATUS(td_insert(copy, "after", 999, "written after import"), MN_OK);
        mn_space_release(copy);
    }
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK); /* no checkpoint call */
    engine = open_engine(path, 2, MN_DURABLE_SYNC, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    copy = td_open_space(engine, "copy");
    CHECK(copy != NULL);
    if (copy) {
        CHECK(td_count_filled(copy, 0, 50, 200, "imported") == 50);
        CHECK(td_has_memory(copy, "after", "written after import", 999, NULL));
        uint64_t links = 0;
        mn_space_link_count(copy, &links);
        CHECK(links == 1);
        mn_space_release(copy);
    }
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    free(stream.data);
}

static void test_background(const char *root) {
    char path[512];
    snprintf(path, sizeof(path), "%s/background", root);
    mn_status status;
    mn_engine *engine = open_engine(path, 1, MN_DURABLE_NONE, 16u * 1024u, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *s = te_space(engine, "bg", DIM, MN_METRIC_L2);
    char id[32];
    for (uint32_t i = 0; i < 400; i++) {
        snprintf(id, sizeof(id), "k%u", i);
        CHECK_STATUS(td_insert(s, id, 7000 + i, "background checkpoint content"), MN_OK);
    }
    char spaces_dir[600];
    snprintf(spaces_dir, sizeof(spaces_dir), "%s/spaces", path);
    int seen = 0;
    for (int tries = 0; tries < 200 && !seen; tries++) { /* up to 10 s */
        seen = mn_test_count_files(spaces_dir, ".pack") == 1 && count_segments(path, 1) <= 3;
        if (!seen) usleep(50000);
    }
    CHECK(seen);
    mn_space_release(s);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    engine = open_engine(path, 1, MN_DURABLE_NONE, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    s = td_open_space(engine, "bg");
    CHECK(s != NULL);
    if (s) {
        int all = 1;
        for (uint32_t i = 0; i < 400; i++) {
            snprintf(id, sizeof(id), "k%u", i);
            if (!td_has_memory(s, id, "background checkpoint content", 7000 + i, NULL)) all = 0;
        }
        CHECK(all);
        mn_space_release(s);
    }
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
}

typedef struct names {
    int count;
    int saw_7;
} names;

static void visit_name(void *context, const char *name, uint32_t name_bytes) {
    names *n = context;
    n->count++;
    if (name_bytes == 6 && memcmp(name, "lazy-7", 6) == 0) n->saw_7 = 1;
}

/* Lazy spaces: a checkpointed space with nothing above its checkpoint is a stub until used. */
static void test_lazy_spaces(const char *root) {
    char path[512], spaces_dir[600], name[32], id[32];
    snprintf(path, sizeof(path), "%s/lazy", root);
    snprintf(spaces_dir, sizeof(spaces_dir), "%s/spaces", path);
    mn_status status;
    mn_engine *engine = open_engine(path, 2, MN_DURABLE_NONE, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    for (uint32_t s = 0; s < 50; s++) {
        snprintf(name, sizeof(name), "lazy-%u", s);
        mn_space *space = te_space(engine, name, DIM, MN_METRIC_L2);
        for (uint32_t i = 0; i < 3; i++) {
            snprintf(id, sizeof(id), "m%u", i);
            CHECK_STATUS(td_insert(space, id, s * 10 + i, name), MN_OK);
        }
        mn_space_release(space);
    }
    CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);

    mn_durable_report report;
    engine = open_engine(path, 2, MN_DURABLE_NONE, 0, &status, &report);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    CHECK(report.checkpoints == 50);
    CHECK(report.spaces == 50);
    CHECK(report.replayed == 0);
    uint64_t count = 0;
    mn_engine_space_count(engine, &count);
    CHECK(count == 50);
    names listed = {0, 0};
    mn_engine_space_list(engine, visit_name, &listed);
    CHECK(listed.count == 50 && listed.saw_7);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    CHECK_STATUS(mn_engine_space_create(engine, "lazy-7", 6, &params, NULL), MN_ERR_DUPLICATE);
    mn_space *three = td_open_space(engine, "lazy-3"); /* loaded now */
    CHECK(three != NULL);
    if (three) {
        CHECK(td_has_memory(three, "m2", "lazy-3", 32, NULL));
        CHECK_STATUS(td_insert(three, "new", 777, "after lazy load"), MN_OK);
        mn_space_release(three);
    }
    mn_space *again = td_open_space(engine, "lazy-3"); /* the same space, now in the table */
    CHECK(again != NULL && td_has_memory(again, "new", "after lazy load", 777, NULL));
    if (again) mn_space_release(again);
    CHECK_STATUS(mn_engine_space_drop(engine, "lazy-5", 6), MN_OK); /* a stub, dropped */
    CHECK(td_open_space(engine, "lazy-5") == NULL);
    CHECK(mn_test_count_files(spaces_dir, ".pack") == 1); /* 50 entries in one pack */
    mn_engine_space_count(engine, &count);
    CHECK(count == 49);
    mn_checkpoint_report cr;
    CHECK_STATUS(mn_engine_checkpoint(engine, &cr), MN_OK);
    CHECK(cr.spaces_written == 1); /* lazy-3 only: the stubs are untouched */
    /* The new pack holds lazy-3 and an index pointing into the first for the others. */
    CHECK(mn_test_count_files(spaces_dir, ".pack") == 2);
    /* Idle and checkpointed: lazy-3 goes back to a stub; a space with a handle stays. */
    mn_space *held = td_open_space(engine, "lazy-9");
    uint64_t unloaded = 0;
    CHECK_STATUS(mn_engine_unload_idle(engine, &unloaded), MN_OK);
    CHECK(unloaded == 1);
    mn_engine_space_count(engine, &count);
    CHECK(count == 49);
    if (held) {
        CHECK_STATUS(td_insert(held, "held", 999, "held"), MN_OK); /* changed: not idle */
        mn_space_release(held);
    }
    CHECK_STATUS(mn_engine_unload_idle(engine, &unloaded), MN_OK);
    CHECK(unloaded == 0);
    CHECK_STATUS(mn_engine_checkpoint(engine, &cr), MN_OK);
    CHECK(cr.spaces_written == 1);
    /* lazy-9's pack; lazy-3's pack is still the newest home of lazy-3: three packs. */
    CHECK(mn_test_count_files(spaces_dir, ".pack") == 3);
    CHECK_STATUS(mn_engine_unload_idle(engine, &unloaded), MN_OK);
    CHECK(unloaded == 1);
    three = td_open_space(engine, "lazy-3"); /* loaded again from its file */
    CHECK(three != NULL && td_has_memory(three, "new", "after lazy load", 777, NULL));
    if (three) mn_space_release(three);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);

    engine = open_engine(path, 2, MN_DURABLE_NONE, 0, &status, &report);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    CHECK(report.spaces == 49);
    three = td_open_space(engine, "lazy-3");
    CHECK(three != NULL && td_has_memory(three, "new", "after lazy load", 777, NULL));
    if (three) mn_space_release(three);
    CHECK(td_open_space(engine, "lazy-5") == NULL);
    mn_space *forty = td_open_space(engine, "lazy-49");
    CHECK(forty != NULL && td_has_memory(forty, "m0", "lazy-49", 490, NULL));
    if (forty) mn_space_release(forty);
    mn_space *nine = td_open_space(engine, "lazy-9");
    CHECK(nine != NULL && td_has_memory(nine, "held", "held", 999, NULL));
    if (nine) mn_space_release(nine);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
}

static void test_corrupt_checkpoint(const char *root) {
    char path[512];
    snprintf(path, sizeof(path), "%s/corrupt", root);
    mn_status status;
    mn_engine *engine = open_engine(path, 1, MN_DURABLE_SYNC, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *s = te_space(engine, "victim", DIM, MN_METRIC_L2);
    for (uint32_t i = 0; i < 20; i++) {
        char id[32];
        snprintf(id, sizeof(id), "v%u", i);
        CHECK_STATUS(td_insert(s, id, 300 + i, "victim"), MN_OK);
    }
    mn_space_release(s);
    CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);

    char spaces_dir[600], file[900];
    snprintf(spaces_dir, sizeof(spaces_dir), "%s/spaces", path);
    CHECK(mn_test_find_file(spaces_dir, ".pack", file, sizeof(file)));
    int fd = open(file, O_RDWR);
    CHECK(fd >= 0);
    if (fd < 0) return;
    struct stat st;
    fstat(fd, &st);
    off_t middle = st.st_size / 2;
    uint8_t byte = 0;
    CHECK(pread(fd, &byte, 1, middle) == 1);
    byte ^= 0x5a;
    CHECK(pwrite(fd, &byte, 1, middle) == 1);
    close(fd);

    mn_durable_report report;
    engine = open_engine(path, 1, MN_DURABLE_SYNC, 0, &status, &report);
    CHECK_STATUS(status, MN_ERR_CORRUPT);
    CHECK(engine == NULL);
    CHECK(strcmp(report.damaged_file, file) == 0);
    if (engine) mn_engine_destroy(engine);

    /* A damaged header (the name's checksum) is caught too. */
    fd = open(file, O_RDWR);
    byte ^= 0x5a;
    CHECK(pwrite(fd, &byte, 1, middle) == 1); /* undo */
    uint8_t name_byte = 0;
    /* The pack's first entry starts after the pack header (64 bytes); its name after its own
     * 64-byte header. */
    CHECK(pread(fd, &name_byte, 1, 128) == 1);
    name_byte ^= 1;
    CHECK(pwrite(fd, &name_byte, 1, 128) == 1);
    close(fd);
    engine = open_engine(path, 1, MN_DURABLE_SYNC, 0, &status, &report);
    CHECK_STATUS(status, MN_ERR_CORRUPT);
    CHECK(strcmp(report.damaged_file, file) == 0);
    if (engine) mn_engine_destroy(engine);
}

static void put_u64(uint8_t *at, uint64_t value) {
    for (int i = 0; i < 8; i++) at[i] = (uint8_t)(value >> (8 * i));
}

/* Rewrites the export stream's u64 at `field` (and, for the sequence, the entry header's copy)
 * in the first entry of a checkpoint pack (it starts after the pack's 64-byte header), then
 * every checksum over it, so the pack passes XXH64 everywhere (the index's hash covers only
 * the index). */
static void forge_checkpoint(const char *file, size_t field, uint64_t value) {
    int fd = open(file, O_RDWR);
    CHECK(fd >= 0);
    if (fd < 0) return;
    struct stat st;
    fstat(fd, &st);
    size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size);
    CHECK(pread(fd, data, size, 0) == (ssize_t)size);
    uint8_t *entry = data + 64;
    uint32_t name_bytes = (uint32_t)entry[12] | (uint32_t)entry[13] << 8;
    uint8_t *stream = entry + 64 + name_bytes;
    size_t stream_bytes = 0;
    for (int i = 7; i >= 0; i--) stream_bytes = stream_bytes << 8 | entry[40 + i];
    put_u64(stream + field, value);
    if (field == 56) put_u64(entry + 24, value); /* the entry header's sequence */
    put_u64(stream + stream_bytes - 8, XXH64(stream, stream_bytes - 8, 0));
    put_u64(entry + 48, XXH64(stream, stream_bytes, 0));
    XXH64_state_t *hash = XXH64_createState();
    XXH64_reset(hash, 0);
    XXH64_update(hash, entry, 56);
    XXH64_update(hash, entry + 64, name_bytes);
    put_u64(entry + 56, XXH64_digest(hash));
    XXH64_freeState(hash);
    CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
    close(fd);
    free(data);
}

/* Issue 9 item 1, at open: a checkpoint (checksums intact) whose sequence is 2^64-1 made the
 * space's next write sequence 0, so replay skipped every later write; one whose next label is
 * 2^64-1 wrapped labels on one insert. Both are refused with MN_ERR_CORRUPT now. */
static void test_checkpoint_counter_bounds(const char *root) {
    const struct {
        size_t field;
        uint64_t value;
    } cases[] = {{56, UINT64_MAX}, {56, MN_ENGINE_SEQUENCE_MAX + 1}, {48, UINT64_MAX}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/bounds-%zu", root, c);
        mn_status status;
        mn_engine *engine = open_engine(path, 1, MN_WAL_SYNC, 0, &status, NULL);
        CHECK_STATUS(status, MN_OK);
        if (!engine) return;
        mn_space *s = te_space(engine, "forged", DIM, MN_METRIC_L2);
        CHECK_STATUS(td_insert(s, "f0", 10, "forged"), MN_OK);
        CHECK_STATUS(td_insert(s, "f1", 11, "forged"), MN_OK);
        mn_space_release(s);
        CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
        CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
        char spaces_dir[600], file[900];
        snprintf(spaces_dir, sizeof(spaces_dir), "%s/spaces", path);
        CHECK(mn_test_find_file(spaces_dir, ".pack", file, sizeof(file)));
        forge_checkpoint(file, cases[c].field, cases[c].value);
        engine = open_engine(path, 1, MN_WAL_SYNC, 0, &status, NULL);
        mn_space *loaded = NULL;
        if (engine) status = mn_engine_space_open(engine, "forged", 6, &loaded);
        /* The header's sequence is checked at open, the stream's next label at load. */
        CHECK_STATUS(status, MN_ERR_CORRUPT);
        if (loaded) {
            CHECK_STATUS(td_insert(loaded, "after", 12, "wrapped?"), MN_OK);
            mn_space_release(loaded);
        }
        if (engine) mn_engine_destroy(engine);
    }
    /* A space one sequence short of the limit takes one more write, then refuses writes
     * (MN_ERR_TOO_LARGE, nothing applied) instead of wrapping to sequence 0. */
    char path[512];
    snprintf(path, sizeof(path), "%s/bounds-last", root);
    mn_status status;
    mn_engine *engine = open_engine(path, 1, MN_WAL_SYNC, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *s = te_space(engine, "source", DIM, MN_METRIC_L2);
    CHECK_STATUS(td_insert(s, "f0", 10, "source"), MN_OK);
    mn_bytes b = {0};
    CHECK_STATUS(mn_space_export(s, mn_bytes_write, &b), MN_OK);
    mn_space_release(s);
    put_u64(b.data + 56, MN_ENGINE_SEQUENCE_MAX - 1);
    put_u64(b.data + b.size - 8, XXH64(b.data, b.size - 8, 0));
    mn_space *last = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "last", 4, b.data, b.size, &last), MN_OK);
    free(b.data);
    if (last) {
        CHECK_STATUS(td_insert(last, "f1", 11, "last"), MN_OK);
        CHECK_STATUS(td_insert(last, "f2", 12, "refused"), MN_ERR_TOO_LARGE);
        CHECK_STATUS(td_delete(last, "f0"), MN_ERR_TOO_LARGE);
        CHECK(td_has_memory(last, "f0", "source", 10, NULL));
        CHECK(td_has_memory(last, "f1", "last", 11, NULL));
        mn_space_release(last);
    }
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    engine = open_engine(path, 1, MN_WAL_SYNC, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    last = td_open_space(engine, "last");
    CHECK(last != NULL && td_has_memory(last, "f1", "last", 11, NULL));
    if (last) {
        float vector[DIM];
        CHECK_STATUS(mn_space_get(last, "f2", 2, vector, DIM, NULL, NULL), MN_ERR_NOT_FOUND);
        mn_space_release(last);
    }
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
}

/* A content of about 16 KiB that names its space (the first phase needs over 1 MiB of
 * superseded entries for a pack to count as mostly dead). */
static const char *big_content(const char *name) {
    static char content[16 * 1024 + 64];
    size_t n = strlen(name), at = 0;
    while (at + n + 1 < 16 * 1024) {
        memcpy(content + at, name, n);
        at += n;
        content[at++] = '.';
    }
    content[at] = '\0';
    return content;
}

/* A get that compares the whole content (td_has_memory keeps 255 bytes). */
typedef struct big_check {
    const char *expected;
    int same;
} big_check;

static void big_visit(void *context, const mn_memory_view *view) {
    big_check *c = context;
    c->same = view->content_bytes == strlen(c->expected) &&
              memcmp(view->content, c->expected, (size_t)view->content_bytes) == 0;
}

static int big_has(mn_space *space, const char *id, const char *content, uint64_t seed) {
    float vector[DIM], expected[DIM];
    big_check c = {content, 0};
    if (mn_space_get(space, id, (uint32_t)strlen(id), vector, DIM, big_visit, &c) != MN_OK) {
        return 0;
    }
    te_vector(seed, expected, DIM);
    return c.same && memcmp(vector, expected, sizeof(vector)) == 0;
}

/* Packs: a pack whose entries are mostly superseded is copied from and deleted; a run of
 * checkpoints each changing one space keeps the number of packs bounded; every space (stubs
 * loaded from their moved entries) is intact after a reopen. */
static void test_pack_compaction(const char *root) {
    char path[512], spaces_dir[600], name[32], id[32];
    snprintf(path, sizeof(path), "%s/compaction", root);
    snprintf(spaces_dir, sizeof(spaces_dir), "%s/spaces", path);
    enum { SPACES = 40, ROUNDS = 30 };
    uint32_t extra[SPACES] = {0}; /* memories beyond the first three, per space */
    mn_status status;
    mn_engine *engine = open_engine(path, 1, MN_WAL_NONE, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    for (uint32_t s = 0; s < SPACES; s++) {
        snprintf(name, sizeof(name), "p%u", s);
        mn_space *space = te_space(engine, name, DIM, MN_METRIC_L2);
        for (uint32_t i = 0; i < 3; i++) {
            snprintf(id, sizeof(id), "m%u", i);
            CHECK_STATUS(td_insert(space, id, s * 100 + i, big_content(name)), MN_OK);
        }
        mn_space_release(space);
    }
    mn_checkpoint_report report;
    CHECK_STATUS(mn_engine_checkpoint(engine, &report), MN_OK);
    CHECK(mn_test_count_files(spaces_dir, ".pack") == 1);
    /* 24 of 40 changed: the first pack (~2 MiB) keeps 16 live entries of 40: mostly dead. */
    for (uint32_t s = 0; s < 24; s++) {
        snprintf(name, sizeof(name), "p%u", s);
        mn_space *space = td_open_space(engine, name);
        snprintf(id, sizeof(id), "m%u", 3 + extra[s]);
        if (space) CHECK_STATUS(td_insert(space, id, s * 100 + 3 + extra[s], big_content(name)), MN_OK);
        extra[s]++;
        if (space) mn_space_release(space);
    }
    CHECK_STATUS(mn_engine_checkpoint(engine, &report), MN_OK);
    CHECK(report.spaces_written == 24);
    CHECK(mn_test_count_files(spaces_dir, ".pack") == 1); /* the 16 copied, the old pack gone */
    int bounded = 1;
    for (uint32_t r = 0; r < ROUNDS; r++) { /* one space per checkpoint */
        uint32_t s = (r * 7) % SPACES;
        snprintf(name, sizeof(name), "p%u", s);
        mn_space *space = td_open_space(engine, name);
        snprintf(id, sizeof(id), "m%u", 3 + extra[s]);
        if (space) CHECK_STATUS(td_insert(space, id, s * 100 + 3 + extra[s], big_content(name)), MN_OK);
        extra[s]++;
        if (space) mn_space_release(space);
        CHECK_STATUS(mn_engine_checkpoint(engine, &report), MN_OK);
        if (mn_test_count_files(spaces_dir, ".pack") > (int)MN_DURABLE_CHECKPOINT_PACKS_MAX + 1) {
            bounded = 0;
        }
    }
    CHECK(bounded);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    mn_durable_report open_report;
    engine = open_engine(path, 1, MN_WAL_NONE, 0, &status, &open_report);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    CHECK(open_report.checkpoints == SPACES && open_report.replayed == 0);
    int all = 1;
    for (uint32_t s = 0; s < SPACES; s++) {
        snprintf(name, sizeof(name), "p%u", s);
        mn_space *space = td_open_space(engine, name);
        if (!space) {
            all = 0;
            continue;
        }
        for (uint32_t i = 0; i < 3 + extra[s]; i++) {
            snprintf(id, sizeof(id), "m%u", i);
            if (!big_has(space, id, big_content(name), s * 100 + i)) all = 0;
        }
        mn_space_release(space);
    }
    CHECK(all);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
}

int main(void) {
    char root[] = "/tmp/mnemo-ckpt-XXXXXX";
    if (!mkdtemp(root)) return 2;
    test_round_trip(root, 1, MN_DURABLE_SYNC);
    test_round_trip(root, 2, MN_DURABLE_NONE);
    test_drop_after_checkpoint(root);
    test_import_survives(root);
    test_background(root);
    test_lazy_spaces(root);
    test_corrupt_checkpoint(root);
    test_checkpoint_counter_bounds(root);
    test_pack_compaction(root);
    char command[600];
    snprintf(command, sizeof(command), "rm -rf %s", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return te_report();
}
