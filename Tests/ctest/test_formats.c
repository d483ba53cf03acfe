/*
 * test_formats.c: the on-disk formats, pinned by fixtures written by the code and committed in
 * Tests/fixtures/formats/ (docs/formats.md draws every layout; this file checks those drawings).
 *
 * Proves: (1) every committed fixture still reads through the real loaders with the content
 * it was written with: the write-ahead log of a data directory (a record of every type:
 * creation, insert, upsert, batch, delete, link, unlink, drop) through mn_wal_recover and
 * through mn_engine_open of a copy; a data directory holding a checkpoint and a log tail above
 * it through mn_engine_open; an export stream through mn_engine_space_import_buffer; an HNSW
 * index stream (free, live and deleted slots) through mn_hnsw_load_buffer; an association
 * table through mn_assoc_load_buffer. (2) The byte layouts in docs/formats.md are right: each
 * fixture is also decoded here with literal offsets (deliberately not the code's constants),
 * its checksums recomputed. (3) The writers are deterministic and unchanged: the fixtures are
 * regenerated into a scratch directory and must be byte-identical to the committed ones (every
 * vector has small integer coordinates and every weight is a binary fraction, so distances are
 * exact whatever the SIMD kernel and the graph, hence the bytes, are the same on any machine).
 *
 * A failure in (1) or (2) means a format changed: bump its version and keep reading the old
 * one, or say in docs/formats.md why old files no longer open. A failure in (3) alone means a
 * writer's output changed (a format, or only a graph): if that is intended, regenerate with
 *     build-gcc/test_formats --write-fixtures Tests/fixtures/formats
 * and commit the new fixtures with the change.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "engine/mn_engine_internal.h"
#include "assoc/mn_assoc.h"
#include "mnemo/mn_engine_durable.h"
#include "mnemo/mn_hnsw.h"
#include "mn_test_dir.h"
#include "test_durable_support.h"
#include "wal/mn_crc32c.h"
#include "wal/mn_wal_internal.h"

#ifndef MN_FIXTURE_DIR
#error "CMake passes MN_FIXTURE_DIR, the committed fixtures' directory"
#endif

#define FX_DIM 4u
#define FX_PATH 1024

/* Every fixture, relative to the fixture directory. */
static const char *const fx_files[] = {
    "log/wal-000/00000000000000000001.wal",
    "checkpoint/spaces/0000000000000001.pack",
    "checkpoint/wal-000/00000000000000000002.wal",
    "space.mnspc",
    "index.mnhns",
    "assoc.mnasc",
};
#define FX_FILES (sizeof(fx_files) / sizeof(fx_files[0]))

/* ---- small file helpers ---- */

static int fx_read(const char *path, uint8_t **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc(n > 0 ? (size_t)n : 1);
    *size = (size_t)n;
    int ok = *data && fread(*data, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    return ok;
}

static int fx_write(const char *path, const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* Creates every directory on the way to `path`'s last component. */
static void fx_mkdirs_for(const char *path) {
    char copy[FX_PATH];
    snprintf(copy, sizeof(copy), "%s", path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(copy, 0755);
        *p = '/';
    }
}

static int fx_copy(const char *from, const char *to) {
    uint8_t *data = NULL;
    size_t size = 0;
    int ok = fx_read(from, &data, &size);
    if (ok) {
        fx_mkdirs_for(to);
        ok = fx_write(to, data, size);
    }
    free(data);
    return ok;
}

static char *fx_scratch(void) {
    char *path = strdup("/tmp/mn_formats_XXXXXX");
    if (!path || !mkdtemp(path)) {
        fprintf(stderr, "mkdtemp failed\n");
        exit(2);
    }
    return path;
}

/* Removes a directory from fx_scratch with everything in it, and frees its path. */
static void fx_scratch_free(char *scratch) {
    mn_test_remove_tree(scratch);
    rmdir(scratch);
    free(scratch);
}

/* ---- what the fixtures hold ---- */

/* Space "alpha" (id 1): dimension 4, L2, m 4, ef_construction 16, seed 7; nine writes. */
#define FX_ALPHA_M 4u
#define FX_ALPHA_EF 16u
#define FX_ALPHA_SEED 7u
/* Space "gone" (id 2): dimension 2, inner product, m 16, ef_construction 16, seed 5. */
#define FX_GONE_EF 16u
#define FX_GONE_SEED 5u

static const float fx_a1[FX_DIM] = {1, 0, 0, 0}, fx_b[FX_DIM] = {0, 2, 0, 0};
static const float fx_a2[FX_DIM] = {1, 1, 0, 0}, fx_c[FX_DIM] = {0, 0, 3, 0};
static const float fx_d[FX_DIM] = {0, 0, 0, 4}, fx_e[FX_DIM] = {1, 2, 3, 4};
static const float fx_f[FX_DIM] = {2, 0, 0, 0}, fx_x[2] = {1, 2};

static mn_hnsw_params fx_alpha_params(void) {
    mn_hnsw_params p;
    mn_hnsw_params_default(FX_DIM, MN_METRIC_L2, &p);
    p.m = FX_ALPHA_M;
    p.ef_construction = FX_ALPHA_EF;
    p.seed = FX_ALPHA_SEED;
    return p;
}

/* One write with a fixed creation time (the public single-memory calls stamp the clock, which
 * would make every fixture different): the op is built as mn_engine.c builds it. */
static mn_status fx_one(mn_space *space, uint32_t kind, const char *id, const float *vector,
                        uint32_t dimension, const char *content, int64_t created_ns) {
    uint32_t id_bytes = (uint32_t)strlen(id);
    uint64_t content_bytes = content ? strlen(content) : 0;
    mn_op *op = mn_engine_op_new(kind, 1, dimension, id_bytes, content_bytes);
    if (!op) return MN_ERR_NO_MEMORY;
    op->id_offsets[0] = 0;
    op->id_offsets[1] = id_bytes;
    op->content_offsets[0] = 0;
    op->content_offsets[1] = content_bytes;
    op->created_ns[0] = created_ns;
    memcpy(op->ids, id, id_bytes);
    if (dimension) memcpy(op->vectors, vector, (size_t)dimension * sizeof(float));
    if (content_bytes) memcpy(op->contents, content, (size_t)content_bytes);
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_engine_submit_op(space, op, MN_SUBMIT_WAIT, te_wait_done, &w);
    return status == MN_OK ? te_wait_for(&w) : status;
}

static mn_status fx_link(mn_space *space, int link, const char *from, const char *to,
                         float weight) {
    te_wait w;
    te_wait_init(&w);
    mn_status status =
        link ? mn_space_link(space, from, (uint32_t)strlen(from), to, (uint32_t)strlen(to), weight,
                             MN_SUBMIT_WAIT, te_wait_done, &w)
             : mn_space_unlink(space, from, (uint32_t)strlen(from), to, (uint32_t)strlen(to),
                               MN_SUBMIT_WAIT, te_wait_done, &w);
    return status == MN_OK ? te_wait_for(&w) : status;
}

/* Creates "alpha" and applies its nine writes (log sequences 1 ... 9). */
static int fx_alpha(mn_engine *engine, mn_space **out) {
    mn_hnsw_params params = fx_alpha_params();
    mn_space *s = NULL;
    if (mn_engine_space_create(engine, "alpha", 5, &params, &s) != MN_OK) return 0;
    int ok = fx_one(s, MN_OP_INSERT, "a", fx_a1, FX_DIM, "apple", 1000) == MN_OK;
    ok &= fx_one(s, MN_OP_INSERT, "b", fx_b, FX_DIM, "banana", 2000) == MN_OK;
    ok &= fx_one(s, MN_OP_UPSERT, "a", fx_a2, FX_DIM, "apricot", 3000) == MN_OK;
    float vectors[3 * FX_DIM];
    memcpy(vectors, fx_c, sizeof(fx_c));
    memcpy(vectors + FX_DIM, fx_d, sizeof(fx_d));
    memcpy(vectors + 2 * FX_DIM, fx_e, sizeof(fx_e));
    const uint64_t id_offsets[4] = {0, 1, 2, 3}, content_offsets[4] = {0, 6, 10, 10};
    const int64_t created[3] = {4000, 4001, 4002};
    mn_batch_in batch = {3, FX_DIM, vectors, "cde", id_offsets, (const uint8_t *)"cherrydate",
                         content_offsets, created};
    te_wait w;
    te_wait_init(&w);
    ok &= mn_space_insert_batch(s, &batch, MN_SUBMIT_WAIT, te_wait_done, &w, NULL) == MN_OK &&
          te_wait_for(&w) == MN_OK;
    ok &= fx_one(s, MN_OP_DELETE, "b", NULL, 0, NULL, 5000) == MN_OK;
    ok &= fx_link(s, 1, "a", "c", 0.5f) == MN_OK;
    ok &= fx_link(s, 1, "a", "d", 0.25f) == MN_OK;
    ok &= fx_link(s, 0, "a", "c", 0) == MN_OK;
    ok &= fx_link(s, 1, "e", "a", 0.75f) == MN_OK;
    if (out) *out = s;
    else mn_space_release(s);
    return ok;
}

static mn_engine *fx_open(const char *path, mn_durable_report *report) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 1;          /* one log, wal-000 */
    options.pin_workers = 0;
    options.parallel_batch_min = 0;
    mn_durable_options durable;
    mn_durable_options_default(path, &durable);
    durable.checkpoint_log_bytes = 0; /* checkpoints only when asked */
    mn_engine *engine = NULL;
    mn_status status = mn_engine_open(&options, &durable, &engine, report);
    if (status != MN_OK) {
        fprintf(stderr, "mn_engine_open(%s): %s\n", path, mn_status_string(status));
    }
    return engine;
}

/* ---- the generator ---- */

/* Writes every fixture under `out` (which must exist); 1 on success. */
static int fx_generate(const char *out) {
    char *scratch = fx_scratch();
    char path[FX_PATH], from[FX_PATH], to[FX_PATH];
    int ok = 1;

    /* log/: alpha's nine writes, then "gone" created, written and dropped; no checkpoint. */
    snprintf(path, sizeof(path), "%s/log", scratch);
    mn_engine *engine = fx_open(path, NULL);
    mn_space *alpha = NULL;
    ok &= engine && fx_alpha(engine, &alpha);
    mn_bytes stream = {0};
    if (ok) {
        /* space.mnspc: alpha's export after its nine writes (sequence 9). */
        ok &= mn_space_export(alpha, mn_bytes_write, &stream) == MN_OK;
        mn_hnsw_params gp;
        mn_hnsw_params_default(2, MN_METRIC_IP, &gp);
        gp.ef_construction = FX_GONE_EF;
        gp.seed = FX_GONE_SEED;
        mn_space *gone = NULL;
        ok &= mn_engine_space_create(engine, "gone", 4, &gp, &gone) == MN_OK;
        if (gone) {
            ok &= fx_one(gone, MN_OP_INSERT, "x", fx_x, 2, "ghost", 6000) == MN_OK;
            mn_space_release(gone);
            ok &= mn_engine_space_drop(engine, "gone", 4) == MN_OK;
        }
    }
    mn_space_release(alpha);
    if (engine) mn_engine_destroy(engine);
    snprintf(from, sizeof(from), "%s/log/wal-000", scratch);
    ok &= mn_test_count_files(from, ".wal") == 1;

    /* checkpoint/: alpha's nine writes; reopened, checkpointed (segment 1 deleted), then an
     * insert and a link above the checkpoint (sequences 10 and 11) in segment 2. */
    snprintf(path, sizeof(path), "%s/checkpoint", scratch);
    engine = fx_open(path, NULL);
    ok &= engine && fx_alpha(engine, NULL);
    if (engine) mn_engine_destroy(engine);
    engine = ok ? fx_open(path, NULL) : NULL;
    ok &= engine != NULL;
    if (engine) {
        ok &= mn_engine_checkpoint(engine, NULL) == MN_OK;
        mn_space *s = td_open_space(engine, "alpha");
        ok &= s != NULL;
        if (s) {
            ok &= fx_one(s, MN_OP_INSERT, "f", fx_f, FX_DIM, "fig", 7000) == MN_OK;
            ok &= fx_link(s, 1, "f", "e", 1.0f) == MN_OK;
            mn_space_release(s);
        }
        mn_engine_destroy(engine);
    }
    snprintf(from, sizeof(from), "%s/checkpoint/wal-000", scratch);
    ok &= mn_test_count_files(from, ".wal") == 1;
    snprintf(from, sizeof(from), "%s/checkpoint/spaces", scratch);
    ok &= mn_test_count_files(from, ".pack") == 1 && mn_test_count_files(from, ".tmp") == 0;

    /* index.mnhns: 40 ids; 1 ... 32 removed (the 32nd removal runs the repair pass, which
     * frees their slots), 33 removed after it (a deleted node), 41 and 42 inserted into two
     * freed slots: 40 slots, 30 free, 9 live, 1 deleted. */
    mn_hnsw_params hp;
    mn_hnsw_params_default(3, MN_METRIC_L2, &hp);
    hp.m = 4;
    hp.ef_construction = 16;
    hp.seed = 11;
    mn_hnsw *index = NULL;
    ok &= mn_hnsw_create(&hp, &index) == MN_OK;
    for (uint64_t id = 1; ok && id <= 42; id++) {
        if (id == 41) {
            for (uint64_t r = 1; r <= 33; r++) ok &= mn_hnsw_remove(index, r) == MN_OK;
        }
        float v[3] = {(float)id, (float)((id * id) % 11), (float)(id % 4)};
        ok &= mn_hnsw_insert(index, id, v, 3) == MN_OK;
    }
    mn_bytes index_stream = {0};
    ok &= index && mn_hnsw_save(index, mn_bytes_write, &index_stream) == MN_OK;
    mn_hnsw_destroy(index);

    /* assoc.mnasc: five links among ids 1, 2, 3, 5. */
    mn_assoc *assoc = NULL;
    ok &= mn_assoc_create(&assoc) == MN_OK;
    if (assoc) {
        ok &= mn_assoc_link(assoc, 1, 2, 0.5f) == MN_OK;
        ok &= mn_assoc_link(assoc, 1, 3, 0.25f) == MN_OK;
        ok &= mn_assoc_link(assoc, 2, 3, 1.0f) == MN_OK;
        ok &= mn_assoc_link(assoc, 5, 1, 0.75f) == MN_OK;
        ok &= mn_assoc_link(assoc, 3, 1, 0.125f) == MN_OK;
    }
    mn_bytes assoc_stream = {0};
    ok &= assoc && mn_assoc_save(assoc, mn_bytes_write, &assoc_stream) == MN_OK;
    mn_assoc_destroy(assoc);

    /* Into `out`: the data directories' format files only (a lock file or an empty segment of
     * a later open is not a fixture), then the three streams. */
    for (size_t i = 0; ok && i < 3; i++) {
        snprintf(from, sizeof(from), "%s/%s", scratch, fx_files[i]);
        snprintf(to, sizeof(to), "%s/%s", out, fx_files[i]);
        ok &= fx_copy(from, to);
    }
    snprintf(to, sizeof(to), "%s/space.mnspc", out);
    ok &= fx_write(to, stream.data, stream.size);
    snprintf(to, sizeof(to), "%s/index.mnhns", out);
    ok &= fx_write(to, index_stream.data, index_stream.size);
    snprintf(to, sizeof(to), "%s/assoc.mnasc", out);
    ok &= fx_write(to, assoc_stream.data, assoc_stream.size);
    free(stream.data);
    free(index_stream.data);
    free(assoc_stream.data);
    fx_scratch_free(scratch);
    return ok;
}

/* ---- the write-ahead log (docs/formats.md, "WAL segment" and "WAL record payloads") ---- */

/* One expected log record. Creation records: name and parameters; operations: memories. */
typedef struct fx_record {
    uint32_t type;
    uint64_t space;
    uint64_t sequence;
    const char *name;             /* creation: the space's name */
    uint32_t dimension, metric, m, ef;
    uint64_t seed;
    uint64_t count;               /* operations: memories */
    const char *ids[3];
    const char *contents[3];
    int64_t created[3];
    const float *vectors[3];      /* NULL: none (delete) */
    float weight;                 /* LINK: vectors[0] */
} fx_record;

#define FX_TYPE_CREATE 0x100u
#define FX_TYPE_DROP 0x101u

static const fx_record fx_alpha_records[] = {
    {FX_TYPE_CREATE, 1, 0, "alpha", FX_DIM, MN_METRIC_L2, FX_ALPHA_M, FX_ALPHA_EF, FX_ALPHA_SEED,
     0, {0}, {0}, {0}, {0}, 0},
    {1, 1, 1, NULL, FX_DIM, 0, 0, 0, 0, 1, {"a"}, {"apple"}, {1000}, {fx_a1}, 0},
    {1, 1, 2, NULL, FX_DIM, 0, 0, 0, 0, 1, {"b"}, {"banana"}, {2000}, {fx_b}, 0},
    {2, 1, 3, NULL, FX_DIM, 0, 0, 0, 0, 1, {"a"}, {"apricot"}, {3000}, {fx_a2}, 0},
    {4, 1, 4, NULL, FX_DIM, 0, 0, 0, 0, 3, {"c", "d", "e"}, {"cherry", "date", ""},
     {4000, 4001, 4002}, {fx_c, fx_d, fx_e}, 0},
    {3, 1, 5, NULL, 0, 0, 0, 0, 0, 1, {"b"}, {""}, {5000}, {0}, 0},
    {6, 1, 6, NULL, 1, 0, 0, 0, 0, 2, {"a", "c"}, {"", ""}, {0, 0}, {0}, 0.5f},
    {6, 1, 7, NULL, 1, 0, 0, 0, 0, 2, {"a", "d"}, {"", ""}, {0, 0}, {0}, 0.25f},
    {7, 1, 8, NULL, 0, 0, 0, 0, 0, 2, {"a", "c"}, {"", ""}, {0, 0}, {0}, 0},
    {6, 1, 9, NULL, 1, 0, 0, 0, 0, 2, {"e", "a"}, {"", ""}, {0, 0}, {0}, 0.75f},
};
static const fx_record fx_gone_records[] = {
    {FX_TYPE_CREATE, 2, 0, "gone", 2, MN_METRIC_IP, 16, FX_GONE_EF, FX_GONE_SEED, 0, {0}, {0},
     {0}, {0}, 0},
    {1, 2, 1, NULL, 2, 0, 0, 0, 0, 1, {"x"}, {"ghost"}, {6000}, {fx_x}, 0},
    {FX_TYPE_DROP, 2, UINT64_MAX, NULL, 0, 0, 0, 0, 0, 0, {0}, {0}, {0}, {0}, 0},
};
static const fx_record fx_tail_records[] = {
    {1, 1, 10, NULL, FX_DIM, 0, 0, 0, 0, 1, {"f"}, {"fig"}, {7000}, {fx_f}, 0},
    {6, 1, 11, NULL, 1, 0, 0, 0, 0, 2, {"f", "e"}, {"", ""}, {0, 0}, {0}, 1.0f},
};

static uint32_t fx_u32(const uint8_t *p) { return mn_get_u32(p); }
static uint64_t fx_u64(const uint8_t *p) { return mn_get_u64(p); }
static float fx_f32(const uint8_t *p) {
    uint32_t bits = fx_u32(p);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* The payload size docs/formats.md gives for an expected record. */
static uint64_t fx_payload_bytes(const fx_record *r) {
    if (r->type == FX_TYPE_CREATE) return 32 + strlen(r->name);
    if (r->type == FX_TYPE_DROP) return 0;
    uint64_t n = r->count, bytes = 16 + 16 * (n + 1) + 8 * n + 4 * n * r->dimension;
    for (uint64_t i = 0; i < n; i++) bytes += strlen(r->ids[i]) + strlen(r->contents[i]);
    return bytes;
}

/* Checks one record's payload against the expectation, with the layouts' literal offsets. */
static void fx_check_payload(const fx_record *r, const uint8_t *p, uint64_t size) {
    CHECK(size == fx_payload_bytes(r));
    if (size != fx_payload_bytes(r)) return;
    if (r->type == FX_TYPE_DROP) return;
    if (r->type == FX_TYPE_CREATE) {
        uint32_t name_bytes = (uint32_t)strlen(r->name);
        CHECK(fx_u32(p + 0) == name_bytes);
        CHECK(fx_u32(p + 4) == r->dimension);
        CHECK(fx_u32(p + 8) == r->metric);
        CHECK(fx_u32(p + 12) == r->m);
        CHECK(fx_u32(p + 16) == r->ef);
        CHECK(fx_u32(p + 20) == 0);
        CHECK(fx_u64(p + 24) == r->seed);
        CHECK(memcmp(p + 32, r->name, name_bytes) == 0);
        return;
    }
    uint64_t n = r->count;
    CHECK(fx_u32(p + 0) == r->dimension);
    CHECK(fx_u32(p + 4) == 0);
    CHECK(fx_u64(p + 8) == n);
    const uint8_t *id_offsets = p + 16, *content_offsets = id_offsets + 8 * (n + 1);
    const uint8_t *created = content_offsets + 8 * (n + 1), *vectors = created + 8 * n;
    const uint8_t *ids = vectors + 4 * n * r->dimension;
    const uint8_t *contents = ids + fx_u64(id_offsets + 8 * n);
    uint64_t id_at = 0, content_at = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t id_bytes = strlen(r->ids[i]), content_bytes = strlen(r->contents[i]);
        CHECK(fx_u64(id_offsets + 8 * i) == id_at);
        CHECK(fx_u64(id_offsets + 8 * (i + 1)) == id_at + id_bytes);
        CHECK(fx_u64(content_offsets + 8 * i) == content_at);
        CHECK(fx_u64(content_offsets + 8 * (i + 1)) == content_at + content_bytes);
        CHECK(memcmp(ids + id_at, r->ids[i], id_bytes) == 0);
        CHECK(memcmp(contents + content_at, r->contents[i], content_bytes) == 0);
        CHECK((int64_t)fx_u64(created + 8 * i) == r->created[i]);
        id_at += id_bytes;
        content_at += content_bytes;
        for (uint32_t d = 0; r->vectors[i] && d < r->dimension; d++) {
            CHECK(fx_f32(vectors + 4 * (i * r->dimension + d)) == r->vectors[i][d]);
        }
    }
    if (r->type == 6) { /* LINK: the weight in vectors[0], 0 in vectors[1] */
        CHECK(fx_f32(vectors) == r->weight && fx_f32(vectors + 4) == 0.0f);
    }
}

/* Walks a segment with the literal layout: header, then each record against `expected`.
 * Returns the segment's size. */
static uint64_t fx_check_segment(const char *path, uint64_t number, uint64_t previous,
                                 const fx_record *const *expected, size_t count) {
    uint8_t *data = NULL;
    size_t size = 0;
    CHECK(fx_read(path, &data, &size));
    if (!data || size < 40) {
        free(data);
        return 0;
    }
    CHECK(memcmp(data, "MNEMOWAL", 8) == 0);
    CHECK(fx_u32(data + 8) == 1);   /* version */
    CHECK(fx_u32(data + 12) == 0);
    CHECK(fx_u64(data + 16) == number);
    CHECK(fx_u64(data + 24) == previous);
    CHECK(fx_u32(data + 32) == 0);
    CHECK(fx_u32(data + 36) == mn_crc32c(0, data, 36));
    uint64_t at = 40;
    for (size_t i = 0; i < count && at + 32 <= size; i++) {
        const uint8_t *h = data + at;
        const fx_record *r = expected[i];
        uint32_t length = fx_u32(h + 8);
        CHECK(memcmp(h, "MNWR", 4) == 0);
        CHECK(at + 32 + length <= size);
        if (at + 32 + length > size) break;
        CHECK(fx_u32(h + 4) == mn_crc32c(0, h + 8, 24 + (size_t)length));
        CHECK(fx_u32(h + 12) == r->type);
        CHECK(fx_u64(h + 16) == r->space);
        CHECK(fx_u64(h + 24) == r->sequence);
        fx_check_payload(r, h + 32, length);
        at += 32 + length;
    }
    CHECK(at == size); /* nothing after the last record */
    free(data);
    return size;
}

typedef struct fx_replayed {
    const fx_record *const *expected;
    size_t count;
    size_t seen;
    uint64_t last_offset;
} fx_replayed;

static mn_status fx_recovered(void *context, const mn_wal_record *record,
                              const mn_wal_position *position) {
    fx_replayed *r = context;
    if (r->seen < r->count) {
        const fx_record *e = r->expected[r->seen];
        CHECK(record->type == e->type && record->space == e->space);
        CHECK(record->sequence == e->sequence);
        fx_check_payload(e, record->payload, record->payload_bytes);
    }
    CHECK(position->offset >= 40 && position->offset > r->last_offset);
    r->last_offset = position->offset;
    r->seen++;
    return MN_OK;
}

/* Reads a log directory with the real recovery, read-only (the fixture is not touched). */
static void fx_check_recover(const char *dir, const fx_record *const *expected, size_t count) {
    fx_replayed replayed = {expected, count, 0, 0};
    mn_wal_recovery report;
    CHECK_STATUS(mn_wal_recover(dir, MN_WAL_RECOVER_READ_ONLY, fx_recovered, &replayed, &report),
                 MN_OK);
    CHECK(replayed.seen == count);
    CHECK(report.records == count && report.torn_bytes == 0 && report.repaired == 0);
}

/* ---- spaces as the engine sees them ---- */

static int fx_has(mn_space *space, const char *id, const float *vector, const char *content,
                  int64_t created) {
    float got[FX_DIM];
    td_got g = {0};
    uint32_t id_bytes = (uint32_t)strlen(id);
    if (mn_space_get(space, id, id_bytes, got, FX_DIM, td_visit_got, &g) != MN_OK) return 0;
    return g.found && memcmp(got, vector, sizeof(got)) == 0 &&
           g.content_bytes == strlen(content) && memcmp(g.content, content, g.content_bytes) == 0 &&
           g.created_ns == created;
}

static int fx_missing(mn_space *space, const char *id) {
    td_got g = {0};
    return mn_space_get(space, id, (uint32_t)strlen(id), NULL, FX_DIM, td_visit_got, &g) ==
           MN_ERR_NOT_FOUND;
}

/* Alpha after its nine writes (and, with `tail`, the two above the checkpoint). */
static void fx_check_alpha(mn_space *s, int tail) {
    CHECK(s != NULL);
    if (!s) return;
    mn_space_stats stats;
    CHECK_STATUS(mn_space_stats_get(s, &stats), MN_OK);
    CHECK(stats.count == (tail ? 5u : 4u));
    CHECK(stats.dimension == FX_DIM && stats.metric == MN_METRIC_L2);
    mn_hnsw_params params;
    CHECK_STATUS(mn_space_params(s, &params), MN_OK);
    CHECK(params.m == FX_ALPHA_M && params.ef_construction == FX_ALPHA_EF);
    CHECK(params.seed == FX_ALPHA_SEED);
    CHECK(fx_has(s, "a", fx_a2, "apricot", 1000)); /* an upsert keeps the creation time */
    CHECK(fx_missing(s, "b"));
    CHECK(fx_has(s, "c", fx_c, "cherry", 4000));
    CHECK(fx_has(s, "d", fx_d, "date", 4001));
    CHECK(fx_has(s, "e", fx_e, "", 4002));
    if (tail) CHECK(fx_has(s, "f", fx_f, "fig", 7000));
    else CHECK(fx_missing(s, "f"));
    uint64_t links = 0;
    CHECK_STATUS(mn_space_link_count(s, &links), MN_OK);
    CHECK(links == (tail ? 3u : 2u));
    const float query[FX_DIM] = {0, 0, 0, 5};
    td_got g = {0};
    uint32_t found = 0;
    CHECK_STATUS(mn_space_search(s, query, FX_DIM, 1, 0, td_visit_got, &g, &found), MN_OK);
    CHECK(found == 1 && g.content_bytes == 4 && memcmp(g.content, "date", 4) == 0);
}

/* Copies a fixture data directory's files (the ones listed in fx_files under `prefix`). */
static void fx_copy_data_dir(const char *fixtures, const char *prefix, const char *to) {
    size_t n = strlen(prefix);
    for (size_t i = 0; i < FX_FILES; i++) {
        if (strncmp(fx_files[i], prefix, n) != 0) continue;
        char from[FX_PATH], dest[FX_PATH];
        snprintf(from, sizeof(from), "%s/%s", fixtures, fx_files[i]);
        snprintf(dest, sizeof(dest), "%s/%s", to, fx_files[i] + n);
        CHECK(fx_copy(from, dest));
    }
}

static void fx_check_log(const char *fixtures, const uint8_t *export_fixture, size_t export_size) {
    const fx_record *expected[13];
    size_t count = 0;
    for (size_t i = 0; i < 10; i++) expected[count++] = &fx_alpha_records[i];
    for (size_t i = 0; i < 3; i++) expected[count++] = &fx_gone_records[i];
    char path[FX_PATH];
    snprintf(path, sizeof(path), "%s/log/wal-000/00000000000000000001.wal", fixtures);
    fx_check_segment(path, 1, 0, expected, count);
    snprintf(path, sizeof(path), "%s/log/wal-000", fixtures);
    fx_check_recover(path, expected, count);

    /* The engine on a copy: alpha replayed, gone's three records skipped (dropped). */
    char *scratch = fx_scratch();
    char data[FX_PATH];
    snprintf(data, sizeof(data), "%s/data", scratch);
    fx_copy_data_dir(fixtures, "log/", data);
    mn_durable_report report;
    mn_engine *engine = fx_open(data, &report);
    CHECK(engine != NULL);
    if (engine) {
        CHECK(report.logs == 1 && report.records == 13 && report.replayed == 10 &&
              report.skipped == 3 && report.spaces == 1 && report.checkpoints == 0);
        mn_space *s = td_open_space(engine, "alpha");
        fx_check_alpha(s, 0);
        CHECK(td_open_space(engine, "gone") == NULL);
        /* The replayed space exports exactly the committed export (labels, graph, links, and
         * the sequence 9 it continues from). */
        mn_bytes again = {0};
        CHECK(s && mn_space_export(s, mn_bytes_write, &again) == MN_OK);
        CHECK(export_fixture && again.size == export_size &&
              memcmp(again.data, export_fixture, export_size) == 0);
        free(again.data);
        mn_space_release(s);
        mn_engine_destroy(engine);
    }
    fx_scratch_free(scratch);
}

/* ---- the checkpoint pack (docs/formats.md, "Checkpoint pack") ---- */

static void fx_check_checkpoint(const char *fixtures, const uint8_t *export_fixture,
                                size_t export_size) {
    char path[FX_PATH];
    snprintf(path, sizeof(path), "%s/checkpoint/spaces/0000000000000001.pack", fixtures);
    uint8_t *data = NULL;
    size_t size = 0;
    CHECK(fx_read(path, &data, &size));
    if (data && size > 64 + 64 + 5 + 32) {
        /* The pack header. */
        CHECK(memcmp(data, "MNEMOPAK", 8) == 0);
        CHECK(fx_u32(data + 8) == 2);     /* version */
        CHECK(fx_u32(data + 12) == 1);    /* kind: full */
        uint64_t index_at = fx_u64(data + 16);
        CHECK(fx_u64(data + 24) == 1);    /* index entries */
        CHECK(fx_u64(data + 32) == 2);    /* next space id */
        CHECK(fx_u64(data + 40) == 0);    /* reserved */
        CHECK(index_at + 32 == size);
        CHECK(fx_u64(data + 56) == XXH64(data, 56, 0));
        if (index_at + 32 == size) {
            const uint8_t *ix = data + index_at;
            CHECK(fx_u64(data + 48) == XXH64(ix, 32, 0));
            CHECK(fx_u64(ix) == 1);        /* space id */
            CHECK(fx_u64(ix + 8) == 0);    /* pack: this one */
            CHECK(fx_u64(ix + 16) == 64);  /* entry offset: right after the header */
            CHECK(fx_u64(ix + 24) == index_at - 64); /* entry bytes */
        }
        /* The entry, at 64. */
        const uint8_t *e = data + 64;
        CHECK(memcmp(e, "MNEMOCKP", 8) == 0);
        CHECK(fx_u32(e + 8) == 2);        /* version */
        CHECK(fx_u32(e + 12) == 5);       /* name bytes */
        CHECK(fx_u64(e + 16) == 1);       /* space id */
        CHECK(fx_u64(e + 24) == 9);       /* sequence */
        CHECK(fx_u64(e + 32) == 2);       /* next space id */
        uint64_t stream_bytes = fx_u64(e + 40);
        CHECK(64 + 64 + 5 + stream_bytes == index_at);
        CHECK(memcmp(e + 64, "alpha", 5) == 0);
        if (64 + 64 + 5 + stream_bytes == index_at) {
            CHECK(fx_u64(e + 48) == XXH64(e + 69, (size_t)stream_bytes, 0));
            /* The stream is the space's export at the checkpoint: the export fixture. */
            CHECK(export_fixture && stream_bytes == export_size &&
                  memcmp(e + 69, export_fixture, export_size) == 0);
        }
        uint8_t hashed[56 + 5];
        memcpy(hashed, e, 56);
        memcpy(hashed + 56, "alpha", 5);
        CHECK(fx_u64(e + 56) == XXH64(hashed, sizeof(hashed), 0));
    }
    free(data);

    /* The log tail: segment 2, whose predecessor (segment 1, deleted by the checkpoint) held
     * alpha's ten records. */
    uint64_t previous = 40;
    for (size_t i = 0; i < 10; i++) previous += 32 + fx_payload_bytes(&fx_alpha_records[i]);
    const fx_record *tail[2] = {&fx_tail_records[0], &fx_tail_records[1]};
    snprintf(path, sizeof(path), "%s/checkpoint/wal-000/00000000000000000002.wal", fixtures);
    fx_check_segment(path, 2, previous, tail, 2);

    char *scratch = fx_scratch();
    char dir[FX_PATH];
    snprintf(dir, sizeof(dir), "%s/data", scratch);
    fx_copy_data_dir(fixtures, "checkpoint/", dir);
    mn_durable_report report;
    mn_engine *engine = fx_open(dir, &report);
    CHECK(engine != NULL);
    if (engine) {
        CHECK(report.checkpoints == 1 && report.records == 2 && report.replayed == 2 &&
              report.spaces == 1);
        mn_space *s = td_open_space(engine, "alpha");
        fx_check_alpha(s, 1);
        mn_bytes again = {0};
        CHECK(s && mn_space_export(s, mn_bytes_write, &again) == MN_OK);
        CHECK(again.size > 64 && fx_u64(again.data + 56) == 11); /* sequence continues */
        free(again.data);
        mn_space_release(s);
        mn_engine_destroy(engine);
    }
    fx_scratch_free(scratch);
}

/* ---- the index stream (docs/formats.md, "HNSW index stream") ---- */

typedef struct fx_index_census {
    uint32_t slots, free, live, deleted;
    uint64_t bytes; /* the stream's length, trailer included */
} fx_index_census;

/* Walks an index stream at p (at most `size` bytes) with the literal layout. 1 if it parses. */
static int fx_walk_index(const uint8_t *p, size_t size, fx_index_census *c) {
    memset(c, 0, sizeof(*c));
    if (size < 56 + 8 || memcmp(p, "MNEMOHNS", 8) != 0 || fx_u32(p + 8) != 1) return 0;
    uint32_t dimension = fx_u32(p + 12), m = fx_u32(p + 20);
    c->slots = fx_u32(p + 40);
    size_t at = 56;
    for (uint32_t slot = 0; slot < c->slots; slot++) {
        if (at + 1 > size) return 0;
        uint8_t state = p[at++];
        if (state == 0) {
            c->free++;
            continue;
        }
        if (state == 2) c->live++;
        else if (state == 3) c->deleted++;
        else return 0;
        if (at + 12 > size) return 0;
        uint32_t level = fx_u32(p + at + 8);
        at += 12 + 4 * (size_t)dimension;
        for (uint32_t l = 0; l <= level; l++) {
            if (at + 4 > size) return 0;
            uint32_t count = fx_u32(p + at);
            if (count > (l == 0 ? 2 * m : m)) return 0;
            at += 4 + 4 * (size_t)count;
        }
    }
    if (at + 8 > size) return 0;
    if (fx_u64(p + at) != XXH64(p, at, 0)) return 0;
    c->bytes = at + 8;
    return 1;
}

static void fx_check_index(const char *fixtures) {
    char path[FX_PATH];
    snprintf(path, sizeof(path), "%s/index.mnhns", fixtures);
    uint8_t *data = NULL;
    size_t size = 0;
    CHECK(fx_read(path, &data, &size));
    if (!data) return;
    CHECK(size >= 56 && memcmp(data, "MNEMOHNS", 8) == 0 && fx_u32(data + 8) == 1);
    CHECK(fx_u32(data + 12) == 3 && fx_u32(data + 16) == MN_METRIC_L2 && fx_u32(data + 20) == 4 &&
          fx_u32(data + 24) == 16 && fx_u32(data + 28) == 0 && fx_u64(data + 32) == 11);
    CHECK(fx_u32(data + 40) == 40 && fx_u32(data + 44) == 9);
    fx_index_census c;
    CHECK(fx_walk_index(data, size, &c));
    CHECK(c.slots == 40 && c.free == 30 && c.live == 9 && c.deleted == 1 && c.bytes == size);

    mn_hnsw *index = NULL;
    CHECK_STATUS(mn_hnsw_load_buffer(data, size, &index), MN_OK);
    if (index) {
        uint64_t count = 0;
        mn_hnsw_count(index, &count);
        CHECK(count == 9);
        for (uint64_t id = 1; id <= 42; id++) {
            int present = -1;
            mn_hnsw_contains(index, id, &present);
            CHECK(present == (id >= 34));
            if (id < 34) continue;
            float v[3], want[3] = {(float)id, (float)((id * id) % 11), (float)(id % 4)};
            CHECK(mn_hnsw_get(index, id, v, 3) == MN_OK && memcmp(v, want, sizeof(v)) == 0);
        }
        const float query[3] = {37, 5, 1}; /* id 37 is (37, 5, 1) */
        mn_hnsw_result results[3];
        uint32_t found = 0;
        CHECK_STATUS(mn_hnsw_search(index, query, 3, 3, 16, results, &found), MN_OK);
        CHECK(found == 3 && results[0].id == 37 && results[0].distance == 0.0f);
        mn_hnsw_destroy(index);
    }
    free(data);
}

/* ---- the association stream (docs/formats.md, "Association table stream") ---- */

typedef struct fx_link_expect {
    uint64_t from, to;
    float weight;
} fx_link_expect;

/* Parses an association stream at p with the literal layout against `links` (ascending by
 * from, then to); returns its length (trailer included), 0 if it does not match. */
static size_t fx_walk_assoc(const uint8_t *p, size_t size, const fx_link_expect *links,
                            size_t link_count, uint64_t node_count) {
    if (size < 32 + 8 || memcmp(p, "MNEMOASC", 8) != 0 || fx_u32(p + 8) != 1 || fx_u32(p + 12) != 0)
        return 0;
    if (fx_u64(p + 16) != node_count || fx_u64(p + 24) != link_count) return 0;
    size_t at = 32, seen = 0;
    for (uint64_t n = 0; n < node_count; n++) {
        if (at + 12 > size) return 0;
        uint64_t id = fx_u64(p + at);
        uint32_t count = fx_u32(p + at + 8);
        at += 12;
        for (uint32_t j = 0; j < count; j++, seen++) {
            if (at + 12 > size || seen >= link_count) return 0;
            const fx_link_expect *e = &links[seen];
            if (e->from != id || e->to != fx_u64(p + at)) return 0;
            if (e->weight != fx_f32(p + at + 8)) return 0;
            at += 12;
        }
    }
    if (seen != link_count || at + 8 > size || fx_u64(p + at) != XXH64(p, at, 0)) return 0;
    return at + 8;
}

static void fx_check_assoc(const char *fixtures) {
    static const fx_link_expect links[] = {
        {1, 2, 0.5f}, {1, 3, 0.25f}, {2, 3, 1.0f}, {3, 1, 0.125f}, {5, 1, 0.75f},
    };
    char path[FX_PATH];
    snprintf(path, sizeof(path), "%s/assoc.mnasc", fixtures);
    uint8_t *data = NULL;
    size_t size = 0;
    CHECK(fx_read(path, &data, &size));
    if (!data) return;
    CHECK(fx_walk_assoc(data, size, links, 5, 4) == size);
    mn_assoc *assoc = NULL;
    CHECK_STATUS(mn_assoc_load_buffer(data, size, &assoc), MN_OK);
    if (assoc) {
        uint64_t count = 0;
        mn_assoc_count(assoc, &count);
        CHECK(count == 5);
        for (size_t i = 0; i < 5; i++) {
            mn_assoc_edge edges[MN_ASSOC_DEGREE_MAX];
            uint32_t n = 0;
            CHECK_STATUS(mn_assoc_links_of(assoc, links[i].from, MN_ASSOC_OUT, edges,
                                           MN_ASSOC_DEGREE_MAX, &n),
                         MN_OK);
            int found = 0;
            for (uint32_t j = 0; j < n; j++) {
                found |= edges[j].id == links[i].to && edges[j].weight == links[i].weight;
            }
            CHECK(found);
        }
        mn_assoc_edge in[MN_ASSOC_DEGREE_MAX];
        uint32_t n = 0;
        CHECK_STATUS(mn_assoc_links_of(assoc, 1, MN_ASSOC_IN, in, MN_ASSOC_DEGREE_MAX, &n), MN_OK);
        CHECK(n == 2 && in[0].id == 3 && in[1].id == 5); /* incoming links are rebuilt */
        mn_assoc_destroy(assoc);
    }
    free(data);
}

/* ---- the export stream (docs/formats.md, "Export stream") ---- */

static void fx_check_export(const uint8_t *data, size_t size) {
    CHECK(data != NULL && size > 64 + 8);
    if (!data || size <= 64 + 8) return;
    CHECK(memcmp(data, "MNEMOSPC", 8) == 0 && fx_u32(data + 8) == 1 && fx_u32(data + 12) == 0);
    CHECK(fx_u32(data + 16) == FX_DIM && fx_u32(data + 20) == MN_METRIC_L2);
    CHECK(fx_u32(data + 24) == FX_ALPHA_M && fx_u32(data + 28) == FX_ALPHA_EF);
    CHECK(fx_u64(data + 32) == FX_ALPHA_SEED);
    CHECK(fx_u64(data + 40) == 4);  /* memories */
    CHECK(fx_u64(data + 48) == 6);  /* next label: a, b, c, d, e took 1 ... 5 (an upsert keeps a's) */
    CHECK(fx_u64(data + 56) == 9);  /* sequence */
    CHECK(fx_u64(data + size - 8) == XXH64(data, size - 8, 0));
    /* The memories by label: a (1, upserted in place), c (3), d (4), e (5). */
    static const struct {
        uint64_t label;
        int64_t created;
        const char *id, *content;
    } memories[] = {{1, 1000, "a", "apricot"}, {3, 4000, "c", "cherry"}, {4, 4001, "d", "date"},
                    {5, 4002, "e", ""}};
    size_t at = 64;
    for (size_t i = 0; i < 4 && at + 32 <= size; i++) {
        uint64_t content_bytes = fx_u64(data + at + 16);
        uint32_t id_bytes = fx_u32(data + at + 24);
        CHECK(fx_u64(data + at) == memories[i].label);
        CHECK((int64_t)fx_u64(data + at + 8) == memories[i].created);
        CHECK(content_bytes == strlen(memories[i].content) && id_bytes == 1);
        CHECK(fx_u32(data + at + 28) == 0);
        at += 32;
        if (at + id_bytes + content_bytes > size) break;
        CHECK(memcmp(data + at, memories[i].id, id_bytes) == 0);
        CHECK(memcmp(data + at + id_bytes, memories[i].content, (size_t)content_bytes) == 0);
        at += id_bytes + content_bytes;
    }
    /* Then the index stream (5 slots: b deleted; a's node updated in place), the association
     * stream (by label: a -> d 0.25, e -> a 0.75) and the trailer. */
    fx_index_census c;
    CHECK(fx_walk_index(data + at, size - at, &c));
    CHECK(c.slots == 5 && c.live == 4 && c.deleted == 1 && c.free == 0);
    at += c.bytes;
    static const fx_link_expect links[] = {{1, 4, 0.25f}, {5, 1, 0.75f}};
    size_t assoc_bytes = fx_walk_assoc(data + at, size - at, links, 2, 2);
    CHECK(assoc_bytes > 0 && at + assoc_bytes + 8 == size);

    /* The real import, into an in-memory engine. */
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 1;
    options.pin_workers = 0;
    mn_engine *engine = NULL;
    CHECK_STATUS(mn_engine_create(&options, &engine), MN_OK);
    if (!engine) return;
    mn_space *s = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "alpha", 5, data, size, &s), MN_OK);
    fx_check_alpha(s, 0);
    mn_space_release(s);
    mn_engine_destroy(engine);
}

/* ---- main ---- */

/* A data directory holding a version 1 checkpoint (one spaces/ID.ckpt per space, the layout
 * of an entry with version 1; written by the code before packs) is not read: the open fails
 * with MN_ERR_VERSION naming the file instead of ignoring it (its log may already be cut). */
static void fx_check_checkpoint_v1(const char *fixtures) {
    char *scratch = fx_scratch();
    char from[FX_PATH], to[FX_PATH + 64], data[FX_PATH];
    snprintf(from, sizeof(from), "%s/checkpoint-v1/spaces/0000000000000001.ckpt", fixtures);
    snprintf(data, sizeof(data), "%s/data", scratch);
    snprintf(to, sizeof(to), "%s/spaces/0000000000000001.ckpt", data);
    uint8_t *file = NULL;
    size_t size = 0;
    CHECK(fx_read(from, &file, &size));
    if (file && size > 12) {
        CHECK(memcmp(file, "MNEMOCKP", 8) == 0 && fx_u32(file + 8) == 1);
    }
    free(file);
    CHECK(fx_copy(from, to));
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 1;
    options.pin_workers = 0;
    mn_durable_options durable;
    mn_durable_options_default(data, &durable);
    mn_durable_report report;
    mn_engine *engine = NULL;
    CHECK(mn_engine_open(&options, &durable, &engine, &report) == MN_ERR_VERSION);
    CHECK(engine == NULL && strcmp(report.damaged_file, to) == 0);
    if (engine) mn_engine_destroy(engine);
    fx_scratch_free(scratch);
}

static void fx_check_all(const char *fixtures) {
    char path[FX_PATH];
    snprintf(path, sizeof(path), "%s/space.mnspc", fixtures);
    uint8_t *export_data = NULL;
    size_t export_size = 0;
    CHECK(fx_read(path, &export_data, &export_size));
    fx_check_export(export_data, export_size);
    fx_check_log(fixtures, export_data, export_size);
    fx_check_checkpoint(fixtures, export_data, export_size);
    fx_check_checkpoint_v1(fixtures);
    fx_check_index(fixtures);
    fx_check_assoc(fixtures);
    free(export_data);
}

/* Regenerates every fixture and compares it byte for byte with the committed one. */
static void fx_check_deterministic(const char *fixtures) {
    char *scratch = fx_scratch();
    CHECK(fx_generate(scratch));
    for (size_t i = 0; i < FX_FILES; i++) {
        char a[FX_PATH], b[FX_PATH];
        snprintf(a, sizeof(a), "%s/%s", fixtures, fx_files[i]);
        snprintf(b, sizeof(b), "%s/%s", scratch, fx_files[i]);
        uint8_t *x = NULL, *y = NULL;
        size_t xs = 0, ys = 0;
        int same = fx_read(a, &x, &xs) && fx_read(b, &y, &ys) && xs == ys && memcmp(x, y, xs) == 0;
        if (!same) {
            size_t at = 0;
            while (x && y && at < xs && at < ys && x[at] == y[at]) at++;
            fprintf(stderr, "%s: regenerated %zu bytes, committed %zu, first difference at %zu "
                    "(see the comment at the top of test_formats.c)\n", fx_files[i], ys, xs, at);
        }
        CHECK(same);
        free(x);
        free(y);
    }
    fx_scratch_free(scratch);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--write-fixtures") == 0) {
        mkdir(argv[2], 0755);
        if (!fx_generate(argv[2])) {
            fprintf(stderr, "writing the fixtures into %s failed\n", argv[2]);
            return 1;
        }
        for (size_t i = 0; i < FX_FILES; i++) printf("%s/%s\n", argv[2], fx_files[i]);
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--write-fixtures DIR]\n", argv[0]);
        return 2;
    }
    fx_check_all(MN_FIXTURE_DIR);
    fx_check_deterministic(MN_FIXTURE_DIR);
    return te_report();
}
