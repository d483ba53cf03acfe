/*
 * test_engine_export.c: exporting a space to one stream and importing it as a new space.
 *
 * Proves: a space with inserts, a batch, upserts, deletes (so the index holds deleted nodes)
 * and associations exports to a stream that imports into a space answering every get, search
 * and recall exactly as the original (ids, distances and activations bit for bit, contents,
 * creation times, hop counts), and whose own export is byte-identical to the original's; the
 * imported space keeps working (new labels never collide, links, deletes); an empty space
 * round-trips; an export taken while another thread writes is a consistent snapshot that
 * imports cleanly; the import refuses a duplicate name, bad names, every truncation
 * (MN_ERR_TRUNCATED), a wrong magic or version (MN_ERR_VERSION), trailing bytes and a flipped
 * byte (MN_ERR_CORRUPT), and content over the importing engine's limit (MN_ERR_TOO_LARGE),
 * creating nothing; exporting a dropped space or through a closed engine returns its status;
 * a next label or sequence past MN_ENGINE_LABEL_MAX / MN_ENGINE_SEQUENCE_MAX is corrupt, and
 * a space whose labels are used up refuses inserts (MN_ERR_TOO_LARGE) instead of wrapping.
 */
#include <xxhash.h>

#include "test_space_support.h"

#define DIM 16
#define BATCH 400

static void make_space(mn_engine *engine, const char *name, mn_space **out) {
    mn_space *space = te_space(engine, name, DIM, MN_METRIC_L2);
    /* A batch, then single inserts, upserts and deletes. */
    static char ids[BATCH][16];
    static uint64_t id_offsets[BATCH + 1], content_offsets[BATCH + 1];
    static char id_bytes[BATCH * 16];
    static uint8_t contents[BATCH * 32];
    static float vectors[BATCH * DIM];
    uint64_t id_at = 0, content_at = 0;
    for (int i = 0; i < BATCH; i++) {
        snprintf(ids[i], sizeof(ids[i]), "m%d", i);
        size_t n = strlen(ids[i]);
        id_offsets[i] = id_at;
        memcpy(id_bytes + id_at, ids[i], n);
        id_at += n;
        content_offsets[i] = content_at;
        uint64_t c = (uint64_t)(i % 7) * 3; /* some empty contents */
        for (uint64_t j = 0; j < c; j++) contents[content_at + j] = (uint8_t)(i + j);
        content_at += c;
        te_vector((uint64_t)i, vectors + (size_t)i * DIM, DIM);
    }
    id_offsets[BATCH] = id_at;
    content_offsets[BATCH] = content_at;
    mn_batch_in batch = {BATCH, DIM, vectors, id_bytes, id_offsets, contents, content_offsets, NULL};
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_insert_batch(space, &batch, MN_SUBMIT_WAIT, te_wait_done, &w, NULL), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    float v[DIM];
    char id[32], content[64];
    for (int i = 0; i < 60; i++) {
        snprintf(id, sizeof(id), "single-%d", i);
        snprintf(content, sizeof(content), "content of %d", i);
        te_vector(1000u + (uint64_t)i, v, DIM);
        CHECK_STATUS(ts_write(space, 0, id, v, DIM, content), MN_OK);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "m%d", i * 3);
        te_vector(2000u + (uint64_t)i, v, DIM);
        CHECK_STATUS(ts_write(space, 1, id, v, DIM, "upserted"), MN_OK);
    }
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof(id), "m%d", 200 + i * 2);
        CHECK_STATUS(ts_delete(space, id), MN_OK);
    }
    /* Associations: a ring over m1, m4, m7, ... and some weights updated. */
    char from[32], to[32];
    for (int i = 1; i < 190; i += 3) {
        snprintf(from, sizeof(from), "m%d", i);
        snprintf(to, sizeof(to), "m%d", i + 3);
        CHECK_STATUS(ts_link(space, from, to, 0.25f + 0.5f * (float)(i % 4) / 4.0f, NULL), MN_OK);
        snprintf(to, sizeof(to), "single-%d", i % 60);
        CHECK_STATUS(ts_link(space, to, from, 0.9f, NULL), MN_OK);
    }
    *out = space;
}

static mn_bytes export_all(mn_space *space) {
    mn_bytes b = {0};
    CHECK_STATUS(mn_space_export(space, mn_bytes_write, &b), MN_OK);
    return b;
}

/* Every get, a set of searches and recalls give identical answers in both spaces. */
static void check_identical(mn_space *a, mn_space *b) {
    CHECK(ts_count(a) == ts_count(b));
    CHECK(ts_links(a) == ts_links(b));
    float v[DIM], va[DIM], vb[DIM];
    ts_results ra, rb;
    int same_search = 1, same_recall = 1, same_get = 1;
    for (uint64_t q = 0; q < 60; q++) {
        te_vector(5000u + q, v, DIM);
        CHECK_STATUS(ts_search(a, v, DIM, 10, &ra), MN_OK);
        CHECK_STATUS(ts_search(b, v, DIM, 10, &rb), MN_OK);
        same_search &= ts_same(&ra, &rb) && ra.count == 10;
        mn_recall_params p;
        mn_recall_params_default(&p);
        p.flags = (q % 2) ? MN_RECALL_NO_SIMILARITY : 0;
        CHECK_STATUS(ts_recall(a, v, DIM, &p, 100, &ra), MN_OK);
        CHECK_STATUS(ts_recall(b, v, DIM, &p, 100, &rb), MN_OK);
        same_recall &= ts_same(&ra, &rb) && ra.count > 0;
    }
    char id[32];
    for (int i = 0; i < BATCH; i++) {
        snprintf(id, sizeof(id), "m%d", i);
        ts_results ga = {0}, gb = {0};
        mn_status sa = mn_space_get(a, id, (uint32_t)strlen(id), va, DIM, ts_search_visit, &ga);
        mn_status sb = mn_space_get(b, id, (uint32_t)strlen(id), vb, DIM, ts_search_visit, &gb);
        same_get &= sa == sb && ts_same(&ga, &gb);
        if (sa == MN_OK) same_get &= memcmp(va, vb, sizeof(va)) == 0;
    }
    CHECK(same_search);
    CHECK(same_recall);
    CHECK(same_get);
}

static void test_round_trip(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = NULL;
    make_space(engine, "original", &space);
    mn_bytes first = export_all(space);
    mn_bytes second = export_all(space);
    CHECK(first.size > 64 && first.size == second.size &&
          memcmp(first.data, second.data, first.size) == 0);

    mn_space *copy = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "copy", 4, first.data, first.size, &copy), MN_OK);
    CHECK(copy != NULL);
    if (copy) {
        check_identical(space, copy);
        mn_bytes again = export_all(copy);
        CHECK(again.size == first.size && memcmp(again.data, first.data, first.size) == 0);
        free(again.data);

        /* The copy keeps working: new memories, links, deletes (links go with them). */
        float v[DIM];
        te_vector(9999, v, DIM);
        CHECK_STATUS(ts_write(copy, 0, "fresh", v, DIM, "new"), MN_OK);
        CHECK_STATUS(ts_write(copy, 0, "m1", v, DIM, NULL), MN_ERR_DUPLICATE);
        CHECK_STATUS(ts_link(copy, "fresh", "m1", 0.5f, NULL), MN_OK);
        uint64_t links = ts_links(copy);
        CHECK_STATUS(ts_delete(copy, "m1"), MN_OK);
        CHECK(ts_links(copy) < links - 1); /* m1 had a ring link in and out, and "fresh" */
        ts_results r;
        CHECK_STATUS(ts_search(copy, v, DIM, 1, &r), MN_OK);
        CHECK(r.count == 1 && strcmp(r.items[0].id, "fresh") == 0);
        CHECK(ts_count(copy) == ts_count(space)); /* one in, one out */
    }
    /* Names. */
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "copy", 4, first.data, first.size, NULL),
                 MN_ERR_DUPLICATE);
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "original", 8, first.data, first.size, NULL),
                 MN_ERR_DUPLICATE);
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "", 0, first.data, first.size, NULL),
                 MN_ERR_INVALID);
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "\xff", 1, first.data, first.size, NULL),
                 MN_ERR_INVALID);
    uint64_t spaces = 0;
    mn_engine_space_count(engine, &spaces);
    CHECK(spaces == 2);

    /* Another engine imports it too, and answers identically. */
    mn_engine *other = te_engine(1, 0);
    mn_space *far = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(other, "original", 8, first.data, first.size, &far), MN_OK);
    if (far) {
        check_identical(space, far);
        mn_space_release(far);
    }
    mn_engine_destroy(other);

    free(first.data);
    free(second.data);
    mn_space_release(copy);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

static void test_errors(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = NULL;
    make_space(engine, "source", &space);
    mn_bytes s = export_all(space);
    /* Truncations: every prefix length in steps, and the last few bytes one by one. */
    int truncated_ok = 1;
    for (size_t n = 0; n < s.size; n += (n < 200 || n + 20 > s.size) ? 1 : 97) {
        mn_status status = mn_engine_space_import_buffer(engine, "t", 1, s.data, n, NULL);
        truncated_ok &= status == MN_ERR_TRUNCATED;
    }
    CHECK(truncated_ok);
    /* Trailing bytes. */
    uint8_t *longer = malloc(s.size + 1);
    memcpy(longer, s.data, s.size);
    longer[s.size] = 0;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "t", 1, longer, s.size + 1, NULL), MN_ERR_CORRUPT);
    free(longer);
    /* Magic and version. */
    uint8_t *copy = malloc(s.size);
    memcpy(copy, s.data, s.size);
    copy[0] ^= 1;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "t", 1, copy, s.size, NULL), MN_ERR_VERSION);
    memcpy(copy, s.data, s.size);
    copy[8] = 4; /* no such version (1, 2 and 3 are read) */
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "t", 1, copy, s.size, NULL), MN_ERR_VERSION);
    /* A flipped byte anywhere past the header: the checksum or a structural check. */
    int flipped_ok = 1;
    for (size_t at = 64; at < s.size; at += 131) {
        memcpy(copy, s.data, s.size);
        copy[at] ^= 0x40;
        mn_status status = mn_engine_space_import_buffer(engine, "t", 1, copy, s.size, NULL);
        flipped_ok &= status == MN_ERR_CORRUPT || status == MN_ERR_TRUNCATED ||
                      status == MN_ERR_VERSION || status == MN_ERR_TOO_LARGE;
    }
    CHECK(flipped_ok);
    /* A checksum-correct lie: the memory count says one more. */
    memcpy(copy, s.data, s.size);
    copy[40] += 1;
    uint64_t digest = XXH64(copy, s.size - 8, 0);
    for (int i = 0; i < 8; i++) copy[s.size - 8 + i] = (uint8_t)(digest >> (8 * i));
    mn_status lie = mn_engine_space_import_buffer(engine, "t", 1, copy, s.size, NULL);
    CHECK(lie == MN_ERR_CORRUPT || lie == MN_ERR_TRUNCATED);
    free(copy);
    uint64_t spaces = 0;
    mn_engine_space_count(engine, &spaces);
    CHECK(spaces == 1); /* nothing was created */

    /* Content over the importing engine's limit. */
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 1;
    options.content_bytes_max = 4;
    mn_engine *small = NULL;
    CHECK_STATUS(mn_engine_create(&options, &small), MN_OK);
    CHECK_STATUS(mn_engine_space_import_buffer(small, "s", 1, s.data, s.size, NULL), MN_ERR_TOO_LARGE);
    mn_engine_destroy(small);

    /* Export of a dropped space, and through a closed engine. */
    CHECK_STATUS(mn_space_export(NULL, mn_bytes_write, &s), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_export(space, NULL, &s), MN_ERR_INVALID);
    mn_space *doomed = te_space(engine, "doomed", DIM, MN_METRIC_L2);
    CHECK_STATUS(mn_engine_space_drop(engine, "doomed", 6), MN_OK);
    CHECK_STATUS(mn_space_export(doomed, mn_bytes_write, &s), MN_ERR_UNKNOWN_SPACE);
    mn_space_release(doomed);
    mn_engine_close(engine);
    CHECK_STATUS(mn_space_export(space, mn_bytes_write, &s), MN_ERR_CLOSED);
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "late", 4, s.data, s.size, NULL), MN_ERR_CLOSED);
    free(s.data);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

static void test_empty_and_cosine(void) {
    mn_engine *engine = te_engine(1, 0);
    mn_space *empty = te_space(engine, "empty", 3, MN_METRIC_COSINE);
    mn_bytes s = export_all(empty);
    mn_space *copy = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "empty-copy", 10, s.data, s.size, &copy), MN_OK);
    if (copy) {
        mn_hnsw_params p;
        mn_space_params(copy, &p);
        CHECK(p.dimension == 3 && p.metric == MN_METRIC_COSINE && ts_count(copy) == 0);
        float v[3] = {1, 2, 3};
        CHECK_STATUS(ts_write(copy, 0, "a", v, 3, NULL), MN_OK);
        CHECK(ts_count(copy) == 1);
        mn_space_release(copy);
    }
    free(s.data);
    mn_space_release(empty);
    mn_engine_destroy(engine);
}

/* ---- an export during writes is a snapshot between two of them ---- */

typedef struct writer_args {
    mn_space *space;
    _Atomic int stop;
    int written;
} writer_args;

static void *writer_main(void *argument) {
    writer_args *args = argument;
    float v[DIM];
    char id[32];
    while (!atomic_load(&args->stop) && args->written < 3000) {
        snprintf(id, sizeof(id), "w%d", args->written);
        te_vector(70000u + (uint64_t)args->written, v, DIM);
        if (ts_write(args->space, 0, id, v, DIM, "w") != MN_OK) break;
        if (args->written > 0 && args->written % 3 == 0) {
            char prev[32];
            snprintf(prev, sizeof(prev), "w%d", args->written - 1);
            (void)ts_link(args->space, id, prev, 0.5f, NULL);
        }
        args->written++;
    }
    return NULL;
}

static void test_export_while_writing(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "busy", DIM, MN_METRIC_L2);
    writer_args args = {space, 0, 0};
    pthread_t thread;
    pthread_create(&thread, NULL, writer_main, &args);
    int ok = 1;
    for (int round = 0; round < 8; round++) {
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, NULL);
        mn_bytes s = {0};
        ok &= mn_space_export(space, mn_bytes_write, &s) == MN_OK;
        char name[16];
        snprintf(name, sizeof(name), "snap%d", round);
        mn_space *snap = NULL;
        ok &= mn_engine_space_import_buffer(engine, name, (uint32_t)strlen(name), s.data, s.size, &snap) == MN_OK;
        if (snap) {
            /* A prefix of the writer's sequence: w0 ... w(n-1) all present, nothing after. */
            uint64_t n = ts_count(snap);
            char id[32];
            snprintf(id, sizeof(id), "w%llu", (unsigned long long)(n ? n - 1 : 0));
            if (n) ok &= mn_space_get(snap, id, (uint32_t)strlen(id), NULL, 0, NULL, NULL) == MN_OK;
            snprintf(id, sizeof(id), "w%llu", (unsigned long long)n);
            ok &= mn_space_get(snap, id, (uint32_t)strlen(id), NULL, 0, NULL, NULL) == MN_ERR_NOT_FOUND;
            mn_space_release(snap);
        }
        free(s.data);
    }
    atomic_store(&args.stop, 1);
    pthread_join(thread, NULL);
    CHECK(ok);
    CHECK(args.written > 0);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

/* Writes a 64-bit field of an export stream and fixes its XXH64 trailer. */
static void rewrite_u64(uint8_t *stream, size_t size, size_t at, uint64_t value) {
    for (int i = 0; i < 8; i++) stream[at + (size_t)i] = (uint8_t)(value >> (8 * i));
    uint64_t digest = XXH64(stream, size - 8, 0);
    for (int i = 0; i < 8; i++) stream[size - 8 + (size_t)i] = (uint8_t)(digest >> (8 * i));
}

/* Issue 9 item 1: import trusted the stream's next label (offset 48) and sequence (56). A next
 * label of 2^64-1 wrapped on one insert; a sequence of 2^64-1 made the next write's sequence 0.
 * Both are refused now (checksum-correct streams), and a space whose labels are used up
 * refuses inserts with MN_ERR_TOO_LARGE, changing nothing. */
static void test_counter_bounds(void) {
    mn_engine *engine = te_engine(1, 0);
    mn_space *space = te_space(engine, "small", DIM, MN_METRIC_L2);
    float v[DIM];
    char id[16];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        te_vector(7000u + (uint64_t)i, v, DIM);
        CHECK_STATUS(ts_write(space, 0, id, v, DIM, "c"), MN_OK);
    }
    mn_bytes s = export_all(space);
    uint8_t *copy = malloc(s.size);
    const struct {
        size_t at;
        uint64_t value;
        mn_status expected;
    } cases[] = {
        {48, UINT64_MAX, MN_ERR_CORRUPT},
        {48, MN_ENGINE_LABEL_MAX + 1, MN_ERR_CORRUPT},
        {56, UINT64_MAX, MN_ERR_CORRUPT},
        {56, UINT64_MAX - 1, MN_ERR_CORRUPT},
        {56, MN_ENGINE_SEQUENCE_MAX + 1, MN_ERR_CORRUPT},
        {48, MN_ENGINE_LABEL_MAX, MN_OK},   /* the limits themselves are valid */
        {56, MN_ENGINE_SEQUENCE_MAX, MN_OK},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        memcpy(copy, s.data, s.size);
        rewrite_u64(copy, s.size, cases[c].at, cases[c].value);
        mn_space *imported = NULL;
        char name[16];
        snprintf(name, sizeof(name), "i%zu", c);
        CHECK_STATUS(mn_engine_space_import_buffer(engine, name, (uint32_t)strlen(name), copy,
                                                   s.size, &imported), cases[c].expected);
        if (cases[c].expected != MN_OK) {
            CHECK(imported == NULL);
            mn_space *absent = NULL;
            CHECK_STATUS(mn_engine_space_open(engine, name, (uint32_t)strlen(name), &absent),
                         MN_ERR_UNKNOWN_SPACE);
            if (absent) mn_space_release(absent);
            if (imported) mn_space_release(imported);
            continue;
        }
        CHECK(imported != NULL);
        if (!imported) continue;
        if (cases[c].at == 48) {
            /* Labels used up: single inserts and batches refuse; an upsert of a known id
             * needs no label (it keeps its own: the node is updated in place). */
            te_vector(8000u, v, DIM);
            CHECK_STATUS(ts_write(imported, 0, "new", v, DIM, "x"), MN_ERR_TOO_LARGE);
            CHECK_STATUS(ts_write(imported, 1, "c1", v, DIM, "x"), MN_OK);
            uint64_t id_offsets[2] = {0, 1}, content_offsets[2] = {0, 0};
            mn_batch_in batch = {1, DIM, v, "b", id_offsets, NULL, content_offsets, NULL};
            te_wait w;
            te_wait_init(&w);
            CHECK_STATUS(mn_space_insert_batch(imported, &batch, MN_SUBMIT_WAIT, te_wait_done, &w, NULL), MN_OK);
            CHECK_STATUS(te_wait_for(&w), MN_ERR_TOO_LARGE);
            CHECK(ts_count(imported) == 5);
            CHECK_STATUS(ts_delete(imported, "c2"), MN_OK); /* deletes need no label */
            CHECK(ts_count(imported) == 4);
            /* Its export still imports (the next label did not move). */
            mn_bytes again = export_all(imported);
            mn_space *second = NULL;
            CHECK_STATUS(mn_engine_space_import_buffer(engine, "again", 5, again.data, again.size, &second), MN_OK);
            if (second) {
                CHECK(ts_count(second) == 4);
                mn_space_release(second);
            }
            free(again.data);
        } else {
            /* In memory the sequence is only carried; the space works. */
            te_vector(8001u, v, DIM);
            CHECK_STATUS(ts_write(imported, 0, "new", v, DIM, "x"), MN_OK);
        }
        mn_space_release(imported);
    }
    free(copy);
    free(s.data);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

int main(void) {
    test_counter_bounds();
    test_round_trip();
    test_errors();
    test_empty_and_cosine();
    test_export_while_writing();
    return te_report();
}
