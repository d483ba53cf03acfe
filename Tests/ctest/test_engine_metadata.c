/*
 * test_engine_metadata.c: metadata stored with each memory by the engine (mn_engine.h, the
 * _meta writes and mn_space_patch_metadata; documents and patches encoded by mn_meta.h).
 *
 * Proves: (1) insert, batch, upsert and patch store exactly the document they were given (or
 * the codec's merge of the patch), get and search return it, an upsert without metadata removes
 * it, a delete removes it with the memory, and a patch leaves vector, content, creation time,
 * index and links alone; (2) every bad input is refused with nothing changed: a bad document
 * (its field named, its batch position given, nothing of the batch queued), an oversized one, a
 * malformed or empty patch, a patch whose merged document would break a limit (fields, bytes),
 * a patch of an unknown id; (3) metadata counts in the space's bytes and its byte cap; (4) a
 * durable engine gives it all back after a reopen, from the log and from a checkpoint plus a
 * log tail; (5) export and import carry it, byte for byte; (6) a version 1 export (the committed
 * fixture, written before metadata) imports as memories without metadata that then take it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "engine/mn_engine_internal.h"
#include "mn_test_bytes.h"
#include "mn_test_dir.h"
#include "mnemo/mn_meta.h"
#include "test_durable_support.h"
#include "util/mn_bytes.h"

#ifndef MN_FIXTURE_DIR
#error "CMake passes MN_FIXTURE_DIR, the committed fixtures' directory"
#endif

#define DIM TD_DIM

/* ---- documents ---- */

typedef struct doc {
    uint8_t *bytes;
    size_t size;
} doc;

/* A document of string fields: names[i] = values[i], n of them (n 0: the empty document). */
static doc doc_strings(const char *const *names, const char *const *values, uint32_t n) {
    mn_meta_builder *b = NULL;
    doc d = {0};
    if (mn_meta_builder_create(&b) != MN_OK) return d;
    for (uint32_t i = 0; i < n; i++) {
        mn_meta_builder_add_string(b, names[i], (uint32_t)strlen(names[i]), values[i],
                                   (uint32_t)strlen(values[i]));
    }
    void *bytes = NULL;
    if (mn_meta_builder_finish(b, &bytes, &d.size, NULL) != MN_OK) d.size = 0;
    d.bytes = bytes;
    mn_meta_builder_destroy(b);
    return d;
}

static doc doc_kv(const char *name, const char *value) { return doc_strings(&name, &value, 1); }

/* An encoded patch: set `set` (may be empty), remove names[0 .. n). */
static doc patch_of(doc set, const char *const *remove, uint32_t n) {
    uint32_t lens[8];
    for (uint32_t i = 0; i < n; i++) lens[i] = (uint32_t)strlen(remove[i]);
    doc p = {0};
    void *bytes = NULL;
    if (mn_meta_patch_encode(set.bytes, set.size, remove, lens, n, &bytes, &p.size, NULL) != MN_OK) {
        p.size = 0;
    }
    p.bytes = bytes;
    return p;
}

static void doc_free(doc *d) {
    mn_meta_free(d->bytes);
    d->bytes = NULL;
    d->size = 0;
}

/* ---- awaited writes ---- */

static mn_status put(mn_space *space, int upsert, const char *id, uint64_t seed,
                     const char *content, doc d, mn_meta_error *error) {
    float v[DIM];
    te_vector(seed, v, DIM);
    te_wait w;
    te_wait_init(&w);
    mn_status (*submit)(mn_space *, const char *, uint32_t, const float *, uint32_t,
                        const uint8_t *, uint64_t, const uint8_t *, uint64_t, uint32_t,
                        mn_completion_fn, void *, mn_meta_error *) =
        upsert ? mn_space_upsert_meta : mn_space_insert_meta;
    mn_status status = submit(space, id, (uint32_t)strlen(id), v, DIM, (const uint8_t *)content,
                              content ? strlen(content) : 0, d.bytes, d.size, MN_SUBMIT_WAIT,
                              te_wait_done, &w, error);
    return status == MN_OK ? te_wait_for(&w) : status;
}

static mn_status patch(mn_space *space, const char *id, doc p, mn_meta_error *error) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_patch_metadata(space, id, (uint32_t)strlen(id), p.bytes, p.size,
                                               MN_SUBMIT_WAIT, te_wait_done, &w, error);
    return status == MN_OK ? te_wait_for(&w) : status;
}

static mn_status link_ids(mn_space *space, const char *from, const char *to) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_link(space, from, (uint32_t)strlen(from), to, (uint32_t)strlen(to),
                                     0.5f, MN_SUBMIT_WAIT, te_wait_done, &w);
    return status == MN_OK ? te_wait_for(&w) : status;
}

/* ---- reads ---- */

/* What has_doc compares: the document a get visited, whole. */
typedef struct doc_match {
    const doc *expected;
    int found, equal;
} doc_match;

static void visit_doc(void *context, const mn_memory_view *view) {
    doc_match *m = context;
    m->found = 1;
    m->equal = view->metadata_bytes == m->expected->size &&
               (m->expected->size == 0 ||
                memcmp(view->metadata, m->expected->bytes, m->expected->size) == 0);
}

/* 1 when `id` holds exactly document d (size 0: no metadata). */
static int has_doc(mn_space *space, const char *id, doc d) {
    doc_match m = {&d, 0, 0};
    if (mn_space_get(space, id, (uint32_t)strlen(id), NULL, 0, visit_doc, &m) != MN_OK) return 0;
    return m.found && m.equal;
}

/* A snapshot of what a space holds: counts and bytes, to show a refusal changed nothing. */
typedef struct snapshot {
    uint64_t count, bytes, links;
} snapshot;

static snapshot snap(mn_space *space) {
    te_wait w;
    te_wait_init(&w);
    if (mn_space_barrier(space, MN_SUBMIT_WAIT, te_wait_done, &w) == MN_OK) te_wait_for(&w);
    mn_space_stats stats;
    mn_space_stats_get(space, &stats);
    snapshot s = {stats.count, stats.bytes, 0};
    mn_space_link_count(space, &s.links);
    return s;
}

static int same(snapshot a, snapshot b) {
    return a.count == b.count && a.bytes == b.bytes && a.links == b.links;
}

typedef struct search_hit {
    char id[16];
    uint64_t metadata_bytes;
    uint8_t metadata[256];
} search_hit;

static void visit_first(void *context, const mn_memory_view *view) {
    search_hit *hit = context;
    if (hit->id[0]) return;
    size_t n = view->id_bytes < 15 ? view->id_bytes : 15;
    memcpy(hit->id, view->id, n);
    hit->metadata_bytes = view->metadata_bytes;
    if (view->metadata_bytes <= sizeof(hit->metadata)) {
        memcpy(hit->metadata, view->metadata, (size_t)view->metadata_bytes);
    }
}

/* ---- (1) round trips ---- */

static void test_round_trips(void) {
    mn_engine *engine = te_engine(2, 64);
    mn_space *space = te_space(engine, "s", DIM, MN_METRIC_L2);
    doc fact = doc_kv("kind", "fact"), chat = doc_kv("kind", "chat"), none = {0};
    const char *names[2] = {"kind", "source"}, *values[2] = {"fact", "user"};
    doc two = doc_strings(names, values, 2);

    /* insert with and without metadata; get and search return it */
    CHECK_STATUS(put(space, 0, "a", 1, "alpha", fact, NULL), MN_OK);
    CHECK_STATUS(put(space, 0, "b", 2, "beta", none, NULL), MN_OK);
    CHECK(has_doc(space, "a", fact));
    CHECK(has_doc(space, "b", none));
    float q[DIM];
    te_vector(1, q, DIM);
    search_hit hit = {{0}, 0, {0}};
    uint32_t found = 0;
    CHECK_STATUS(mn_space_search(space, q, DIM, 1, 0, visit_first, &hit, &found), MN_OK);
    CHECK(found == 1 && strcmp(hit.id, "a") == 0 && hit.metadata_bytes == fact.size &&
          memcmp(hit.metadata, fact.bytes, fact.size) == 0);

    /* a batch with documents on some memories */
    float vectors[3 * DIM];
    for (int i = 0; i < 3; i++) te_vector(10 + (uint64_t)i, vectors + i * DIM, DIM);
    const uint64_t id_offsets[4] = {0, 2, 4, 6}, content_offsets[4] = {0, 0, 0, 0};
    uint8_t packed[512];
    memcpy(packed, chat.bytes, chat.size);
    memcpy(packed + chat.size, two.bytes, two.size);
    const uint64_t meta_offsets[4] = {0, chat.size, chat.size, chat.size + two.size};
    mn_batch_in batch = {3, DIM, vectors, "c1c2c3", id_offsets, NULL, content_offsets, NULL};
    te_wait w;
    te_wait_init(&w);
    size_t failed = 99;
    CHECK_STATUS(mn_space_insert_batch_meta(space, &batch, packed, meta_offsets, MN_SUBMIT_WAIT,
                                            te_wait_done, &w, &failed, NULL),
                 MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    CHECK(has_doc(space, "c1", chat) && has_doc(space, "c2", none) && has_doc(space, "c3", two));

    /* upsert replaces the document; an upsert without one removes it */
    CHECK_STATUS(put(space, 1, "a", 1, "alpha", two, NULL), MN_OK);
    CHECK(has_doc(space, "a", two));
    CHECK_STATUS(put(space, 1, "c3", 12, NULL, none, NULL), MN_OK);
    CHECK(has_doc(space, "c3", none));
    /* the old functions store none */
    CHECK_STATUS(te_insert(space, "plain", vectors, DIM, "x", NULL), MN_OK);
    CHECK(has_doc(space, "plain", none));

    /* patch: set one field, remove another; the rest of the memory is untouched */
    CHECK_STATUS(link_ids(space, "a", "b"), MN_OK);
    float before[DIM], after[DIM];
    td_got g0 = {0}, g1 = {0};
    CHECK_STATUS(mn_space_get(space, "a", 1, before, DIM, td_visit_got, &g0), MN_OK);
    snapshot s0 = snap(space);
    doc set = doc_kv("kind", "note");
    const char *remove[1] = {"source"};
    doc p = patch_of(set, remove, 1);
    CHECK(p.size > 0);
    mn_meta_error error;
    CHECK_STATUS(patch(space, "a", p, &error), MN_OK);
    doc note = doc_kv("kind", "note");
    CHECK(has_doc(space, "a", note));
    CHECK_STATUS(mn_space_get(space, "a", 1, after, DIM, td_visit_got, &g1), MN_OK);
    CHECK(memcmp(before, after, sizeof(before)) == 0);
    CHECK(g1.created_ns == g0.created_ns && g1.content_bytes == 5 &&
          memcmp(g1.content, "alpha", 5) == 0);
    snapshot s1 = snap(space);
    CHECK(s1.count == s0.count && s1.links == s0.links);
    /* a patch onto a memory without metadata; a patch removing the last field leaves none */
    doc add = patch_of(fact, NULL, 0);
    CHECK_STATUS(patch(space, "b", add, NULL), MN_OK);
    CHECK(has_doc(space, "b", fact));
    const char *kind[1] = {"kind"};
    doc drop = patch_of(none, kind, 1);
    CHECK(drop.size > 0);
    CHECK_STATUS(patch(space, "b", drop, NULL), MN_OK);
    CHECK(has_doc(space, "b", none));

    /* delete removes it; the id reinserted without metadata has none */
    CHECK_STATUS(td_delete(space, "c1"), MN_OK);
    td_got gone = {0};
    CHECK_STATUS(mn_space_get(space, "c1", 2, NULL, 0, td_visit_got, &gone), MN_ERR_NOT_FOUND);
    CHECK_STATUS(te_insert(space, "c1", vectors, DIM, NULL, NULL), MN_OK);
    CHECK(has_doc(space, "c1", none));

    doc_free(&fact), doc_free(&chat), doc_free(&two), doc_free(&set), doc_free(&p);
    doc_free(&note), doc_free(&add), doc_free(&drop);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

/* ---- (1b) grouped writes ---- */

/* {v: value} */
static doc doc_v(int64_t value) {
    mn_meta_builder *b = NULL;
    doc d = {0};
    if (mn_meta_builder_create(&b) != MN_OK) return d;
    mn_meta_builder_add_int(b, "v", 1, value);
    void *bytes = NULL;
    if (mn_meta_builder_finish(b, &bytes, &d.size, NULL) != MN_OK) d.size = 0;
    d.bytes = bytes;
    mn_meta_builder_destroy(b);
    return d;
}

/* Inserts and upserts that queue up behind each other are applied as one group
 * (mn_space_apply_writes): each id ends with the document of its last write. The space is
 * frozen while they are queued, so the runner drains them together. */
static void test_grouped(void) {
    mn_engine *engine = te_engine(2, 256);
    mn_space *space = te_space(engine, "g", DIM, MN_METRIC_L2);
    char id[16];
    for (int k = 0; k < 10; k++) {
        snprintf(id, sizeof(id), "x%d", k);
        doc d = doc_v(-1);
        CHECK_STATUS(put(space, 0, id, (uint64_t)k, "x", d, NULL), MN_OK);
        doc_free(&d);
    }
    uint64_t grouped_before = te_worker_total(engine, 0);
    mn_space_freeze *freeze = NULL;
    CHECK_STATUS(mn_space_freeze_begin(space, &freeze), MN_OK);
    CHECK_STATUS(mn_space_freeze_wait(freeze), MN_OK);
    float v[DIM];
    for (int i = 0; i < 40; i++) {
        doc d = doc_v(i);
        snprintf(id, sizeof(id), "x%d", i % 10);
        te_vector(100 + (uint64_t)i, v, DIM);
        mn_status status = i == 39 ? mn_space_upsert(space, "x9", 2, v, DIM, NULL, 0, 0, NULL, NULL)
                                   : mn_space_upsert_meta(space, id, (uint32_t)strlen(id), v, DIM,
                                                          NULL, 0, d.bytes, d.size, 0, NULL, NULL,
                                                          NULL);
        CHECK_STATUS(status, MN_OK);
        snprintf(id, sizeof(id), "y%d", i);
        CHECK_STATUS(mn_space_insert_meta(space, id, (uint32_t)strlen(id), v, DIM, NULL, 0,
                                          i % 3 ? d.bytes : NULL, i % 3 ? d.size : 0, 0, NULL,
                                          NULL, NULL),
                     MN_OK);
        doc_free(&d);
    }
    mn_space_freeze_end(freeze);
    snapshot s = snap(space); /* a barrier: every write applied */
    CHECK(s.count == 50);
    CHECK(te_worker_total(engine, 0) - grouped_before >= 40); /* the group path ran */
    int all = 1;
    for (int k = 0; k < 10; k++) {
        snprintf(id, sizeof(id), "x%d", k);
        doc last = k == 9 ? (doc){0} : doc_v(30 + k); /* x9's last upsert carried none */
        all &= has_doc(space, id, last);
        doc_free(&last);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "y%d", i);
        doc d = i % 3 ? doc_v(i) : (doc){0};
        all &= has_doc(space, id, d);
        doc_free(&d);
    }
    CHECK(all);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

/* ---- (2) refusals ---- */

static void test_refusals(void) {
    mn_engine *engine = te_engine(1, 64);
    mn_space *space = te_space(engine, "s", DIM, MN_METRIC_L2);
    doc fact = doc_kv("kind", "fact"), none = {0};
    CHECK_STATUS(put(space, 0, "a", 1, "alpha", fact, NULL), MN_OK);
    snapshot s0 = snap(space);
    mn_meta_error error;

    /* a document whose "kind" value is not UTF-8: named by the error */
    uint8_t *bad = malloc(fact.size);
    memcpy(bad, fact.bytes, fact.size);
    bad[fact.size - 1] = 0xFF;
    doc bad_doc = {bad, fact.size};
    CHECK_STATUS(put(space, 0, "x", 2, NULL, bad_doc, &error), MN_ERR_INVALID);
    CHECK(error.name_bytes == 4 && strcmp(error.name, "kind") == 0);
    CHECK_STATUS(put(space, 1, "a", 2, NULL, bad_doc, &error), MN_ERR_INVALID);
    CHECK(strcmp(error.name, "kind") == 0);
    /* too large, NULL bytes, trailing garbage */
    uint8_t *big = calloc(MN_META_DOC_BYTES_MAX + 1, 1);
    doc big_doc = {big, MN_META_DOC_BYTES_MAX + 1};
    CHECK_STATUS(put(space, 0, "x", 2, NULL, big_doc, NULL), MN_ERR_TOO_LARGE);
    doc null_doc = {NULL, 4};
    CHECK_STATUS(put(space, 0, "x", 2, NULL, null_doc, NULL), MN_ERR_INVALID);
    uint8_t *longer = malloc(fact.size + 1);
    memcpy(longer, fact.bytes, fact.size);
    longer[fact.size] = 0;
    doc trailing = {longer, fact.size + 1};
    CHECK_STATUS(put(space, 0, "x", 2, NULL, trailing, NULL), MN_ERR_INVALID);
    CHECK(same(s0, snap(space)) && has_doc(space, "a", fact));

    /* a batch whose third document is bad: its position and field, nothing queued */
    float vectors[4 * DIM];
    for (int i = 0; i < 4; i++) te_vector(20 + (uint64_t)i, vectors + i * DIM, DIM);
    const uint64_t id_offsets[5] = {0, 2, 4, 6, 8}, content_offsets[5] = {0, 0, 0, 0, 0};
    uint8_t packed[256];
    memcpy(packed, fact.bytes, fact.size);
    memcpy(packed + fact.size, bad, fact.size);
    const uint64_t offsets[5] = {0, fact.size, fact.size, 2 * fact.size, 2 * fact.size};
    mn_batch_in batch = {4, DIM, vectors, "b1b2b3b4", id_offsets, NULL, content_offsets, NULL};
    size_t failed = 0;
    CHECK_STATUS(mn_space_insert_batch_meta(space, &batch, packed, offsets, MN_SUBMIT_WAIT, NULL,
                                            NULL, &failed, &error),
                 MN_ERR_INVALID);
    CHECK(failed == 2 && strcmp(error.name, "kind") == 0);
    const uint64_t shifted[5] = {1, fact.size, fact.size, fact.size, fact.size};
    CHECK_STATUS(mn_space_insert_batch_meta(space, &batch, packed, shifted, MN_SUBMIT_WAIT, NULL,
                                            NULL, &failed, NULL),
                 MN_ERR_INVALID);
    const uint64_t backwards[5] = {0, fact.size, 1, fact.size, fact.size};
    CHECK_STATUS(mn_space_insert_batch_meta(space, &batch, packed, backwards, MN_SUBMIT_WAIT,
                                            NULL, NULL, &failed, NULL),
                 MN_ERR_INVALID);
    CHECK(failed == 1);
    CHECK_STATUS(mn_space_insert_batch_meta(space, &batch, NULL, offsets, MN_SUBMIT_WAIT, NULL,
                                            NULL, &failed, NULL),
                 MN_ERR_INVALID);
    CHECK(same(s0, snap(space)));
    for (int i = 1; i <= 4; i++) {
        char id[4] = {'b', (char)('0' + i), 0, 0};
        CHECK_STATUS(mn_space_get(space, id, 2, NULL, 0, NULL, NULL), MN_ERR_NOT_FOUND);
    }

    /* malformed, empty and NULL patches; a patch that removes a field it sets */
    CHECK_STATUS(patch(space, "a", fact, NULL), MN_ERR_INVALID); /* a document, not a patch */
    doc empty = {NULL, 0};
    CHECK_STATUS(patch(space, "a", empty, NULL), MN_ERR_INVALID);
    doc null_patch = {NULL, 8};
    CHECK_STATUS(patch(space, "a", null_patch, NULL), MN_ERR_INVALID);
    doc good = patch_of(fact, NULL, 0);
    uint8_t *cut = malloc(good.size);
    memcpy(cut, good.bytes, good.size);
    doc truncated = {cut, good.size - 1};
    CHECK_STATUS(patch(space, "a", truncated, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_patch_metadata(space, "", 0, good.bytes, good.size, 0, NULL, NULL, NULL),
                 MN_ERR_INVALID);
    uint8_t *huge = calloc(MN_ENGINE_META_PATCH_BYTES_MAX + 1, 1);
    doc huge_patch = {huge, MN_ENGINE_META_PATCH_BYTES_MAX + 1};
    CHECK_STATUS(patch(space, "a", huge_patch, NULL), MN_ERR_TOO_LARGE);
    /* an unknown id: found when applied */
    CHECK_STATUS(patch(space, "nobody", good, NULL), MN_ERR_NOT_FOUND);
    CHECK(same(s0, snap(space)) && has_doc(space, "a", fact));

    /* merged documents over the limits: the 65th field, and past MN_META_DOC_BYTES_MAX */
    mn_meta_builder *b = NULL;
    mn_meta_builder_create(&b);
    for (uint32_t i = 0; i < MN_META_FIELDS_MAX; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%02u", i);
        mn_meta_builder_add_int(b, name, 3, i);
    }
    void *full_bytes = NULL;
    size_t full_size = 0;
    CHECK_STATUS(mn_meta_builder_finish(b, &full_bytes, &full_size, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    doc full = {full_bytes, full_size};
    CHECK_STATUS(put(space, 0, "full", 3, NULL, full, NULL), MN_OK);
    snapshot s1 = snap(space);
    doc extra = doc_kv("zz", "one too many");
    doc extra_patch = patch_of(extra, NULL, 0);
    CHECK_STATUS(patch(space, "full", extra_patch, NULL), MN_ERR_TOO_LARGE);
    CHECK(same(s1, snap(space)) && has_doc(space, "full", full));
    char text[MN_META_STRING_BYTES_MAX + 1];
    memset(text, 't', MN_META_STRING_BYTES_MAX);
    text[MN_META_STRING_BYTES_MAX] = '\0';
    const char *names[4] = {"s1", "s2", "s3", "s4"}, *values[4] = {text, text, text, text};
    doc bulky = doc_strings(names, values, 3); /* about 12 KiB */
    CHECK(bulky.size > 3 * MN_META_STRING_BYTES_MAX);
    CHECK_STATUS(put(space, 0, "bulky", 4, NULL, bulky, NULL), MN_OK);
    snapshot s2 = snap(space);
    doc fourth = doc_strings(names + 3, values + 3, 1);
    doc fourth_patch = patch_of(fourth, NULL, 0);
    CHECK_STATUS(patch(space, "bulky", fourth_patch, NULL), MN_ERR_TOO_LARGE);
    CHECK(same(s2, snap(space)) && has_doc(space, "bulky", bulky));

    free(bad), free(big), free(longer), free(cut), free(huge);
    doc_free(&fact), doc_free(&good), doc_free(&full), doc_free(&extra);
    doc_free(&extra_patch), doc_free(&bulky), doc_free(&fourth), doc_free(&fourth_patch);
    (void)none;
    mn_space_release(space);
    mn_engine_destroy(engine);
}

/* ---- (3) bytes ---- */

static void test_bytes(void) {
    mn_engine *engine = te_engine(1, 64);
    mn_space *space = te_space(engine, "s", DIM, MN_METRIC_L2);
    char text[MN_META_STRING_BYTES_MAX + 1];
    memset(text, 'u', MN_META_STRING_BYTES_MAX);
    text[MN_META_STRING_BYTES_MAX] = '\0';
    const char *names[3] = {"a", "b", "c"}, *values[3] = {text, text, text};
    doc bulky = doc_strings(names, values, 3);
    doc none = {0};
    CHECK_STATUS(put(space, 0, "plain", 1, NULL, none, NULL), MN_OK);
    snapshot s0 = snap(space);
    CHECK_STATUS(put(space, 0, "heavy", 2, NULL, bulky, NULL), MN_OK);
    snapshot s1 = snap(space);
    /* The second memory cost its document on top of what the first cost (index growth aside,
     * which is at most a segment of small nodes here). */
    CHECK(s1.bytes - s0.bytes >= bulky.size);
    CHECK_STATUS(td_delete(space, "heavy"), MN_OK);
    snapshot s2 = snap(space);
    CHECK(s1.bytes - s2.bytes >= bulky.size);
    mn_space_release(space);
    mn_engine_destroy(engine);

    /* The byte cap counts metadata: with 512 KiB of room past one memory, memories of ~12 KiB
     * documents are refused after at most 512 KiB / 12 KiB of them, where memories without
     * metadata (a few hundred bytes each) fit by the thousand in a space of the same cap. */
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 1;
    options.pin_workers = 0;
    options.space_bytes_max = s0.bytes + (512u << 10);
    engine = NULL;
    CHECK_STATUS(mn_engine_create(&options, &engine), MN_OK);
    space = te_space(engine, "capped", DIM, MN_METRIC_L2);
    mn_space *other = te_space(engine, "plain", DIM, MN_METRIC_L2);
    uint32_t accepted = 0, plain = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof(id), "h%u", i);
        mn_status status = put(space, 0, id, i, NULL, bulky, NULL);
        if (status == MN_ERR_TOO_LARGE) break;
        CHECK_STATUS(status, MN_OK);
        accepted++;
    }
    CHECK(accepted > 0 && accepted <= (512u << 10) / bulky.size + 1);
    mn_space_stats stats;
    mn_space_stats_get(space, &stats);
    CHECK(stats.count == accepted);
    for (uint32_t i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof(id), "p%u", i);
        if (put(other, 0, id, i, NULL, none, NULL) != MN_OK) break;
        plain++;
    }
    CHECK(plain > 10 * accepted);
    mn_space_release(other);
    doc_free(&bulky);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

/* ---- (4) durable ---- */

/* The memories of the durable scenario, with their documents after each stage. */
static void durable_check(mn_space *space, doc a, doc b, doc c, int stage) {
    CHECK(space != NULL);
    if (!space) return;
    CHECK(has_doc(space, "a", a));
    CHECK(has_doc(space, "b", b));
    CHECK(has_doc(space, "c", c));
    CHECK_STATUS(mn_space_get(space, "gone", 4, NULL, 0, NULL, NULL), MN_ERR_NOT_FOUND);
    if (stage >= 2) CHECK(td_has_memory(space, "d", "dd", 4, NULL));
}

static void test_durable(void) {
    char root[] = "/tmp/mn_meta_durable_XXXXXX";
    CHECK(mkdtemp(root) != NULL);
    doc fact = doc_kv("kind", "fact"), chat = doc_kv("kind", "chat"), none = {0};
    const char *names[2] = {"kind", "n"}, *values[2] = {"fact", "2"};
    doc two = doc_strings(names, values, 2);
    doc set = doc_kv("n", "3");
    const char *kind[1] = {"kind"};
    doc p1 = patch_of(set, kind, 1), p2 = patch_of(chat, NULL, 0);
    doc after_p1 = doc_kv("n", "3");
    const char *names3[2] = {"kind", "n"}, *values3[2] = {"chat", "3"};
    doc after_p2 = doc_strings(names3, values3, 2);

    /* Stage 1: every kind of write, in the log only. */
    mn_engine *engine = td_open(root, 2, MN_WAL_SYNC, 0, 64u * 1024u, 0, NULL, NULL);
    CHECK(engine != NULL);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    mn_space *space = NULL;
    CHECK_STATUS(mn_engine_space_create(engine, "d", 1, &params, &space), MN_OK);
    CHECK_STATUS(put(space, 0, "a", 1, "aa", fact, NULL), MN_OK);
    float vectors[2 * DIM];
    te_vector(2, vectors, DIM);
    te_vector(3, vectors + DIM, DIM);
    const uint64_t id_offsets[3] = {0, 1, 2}, content_offsets[3] = {0, 0, 0};
    const uint64_t meta_offsets[3] = {0, chat.size, chat.size};
    mn_batch_in batch = {2, DIM, vectors, "bc", id_offsets, NULL, content_offsets, NULL};
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_insert_batch_meta(space, &batch, chat.bytes, meta_offsets,
                                            MN_SUBMIT_WAIT, te_wait_done, &w, NULL, NULL),
                 MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    CHECK_STATUS(put(space, 1, "c", 3, NULL, two, NULL), MN_OK);
    CHECK_STATUS(put(space, 0, "gone", 9, NULL, fact, NULL), MN_OK);
    CHECK_STATUS(td_delete(space, "gone"), MN_OK);
    CHECK_STATUS(patch(space, "a", p1, NULL), MN_OK);
    CHECK_STATUS(patch(space, "nobody", p1, NULL), MN_ERR_NOT_FOUND); /* logged, fails again */
    durable_check(space, after_p1, chat, two, 1);
    mn_space_release(space);
    mn_engine_destroy(engine);

    engine = td_open(root, 1, MN_WAL_SYNC, 0, 64u * 1024u, 0, NULL, NULL);
    CHECK(engine != NULL);
    space = td_open_space(engine, "d");
    durable_check(space, after_p1, chat, two, 1);
    /* Stage 2: a checkpoint, then a tail above it. */
    CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
    CHECK_STATUS(patch(space, "a", p2, NULL), MN_OK);
    CHECK_STATUS(put(space, 1, "b", 2, NULL, none, NULL), MN_OK);
    CHECK_STATUS(td_insert(space, "d", 4, "dd"), MN_OK);
    durable_check(space, after_p2, none, two, 2);
    mn_space_release(space);
    mn_engine_destroy(engine);

    engine = td_open(root, 2, MN_WAL_SYNC, 0, 64u * 1024u, 0, NULL, NULL);
    CHECK(engine != NULL);
    space = td_open_space(engine, "d");
    durable_check(space, after_p2, none, two, 2);
    mn_space_release(space);
    mn_engine_destroy(engine);

    mn_test_remove_tree(root);
    rmdir(root);
    doc_free(&fact), doc_free(&chat), doc_free(&two), doc_free(&set), doc_free(&p1);
    doc_free(&p2), doc_free(&after_p1), doc_free(&after_p2);
}

/* ---- (5) export and import ---- */

static void test_export(void) {
    mn_engine *engine = te_engine(2, 64);
    mn_space *space = te_space(engine, "src", DIM, MN_METRIC_L2);
    doc fact = doc_kv("kind", "fact"), none = {0};
    const char *names[2] = {"kind", "topic"}, *values[2] = {"note", "travel"};
    doc two = doc_strings(names, values, 2);
    char id[16];
    for (uint32_t i = 0; i < 50; i++) {
        snprintf(id, sizeof(id), "m%u", i);
        doc d = i % 3 == 0 ? fact : i % 3 == 1 ? two : none;
        CHECK_STATUS(put(space, 0, id, i, "c", d, NULL), MN_OK);
    }
    mn_bytes stream = {0};
    CHECK_STATUS(mn_space_export(space, mn_bytes_write, &stream), MN_OK);
    mn_space *copy = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "dst", 3, stream.data, stream.size, &copy),
                 MN_OK);
    int all = 1;
    for (uint32_t i = 0; i < 50; i++) {
        snprintf(id, sizeof(id), "m%u", i);
        doc d = i % 3 == 0 ? fact : i % 3 == 1 ? two : none;
        all &= has_doc(copy, id, d);
    }
    CHECK(all);
    mn_bytes again = {0};
    CHECK(copy && mn_space_export(copy, mn_bytes_write, &again) == MN_OK);
    CHECK(again.size == stream.size && memcmp(again.data, stream.data, stream.size) == 0);
    /* A document the codec refuses, with a correct checksum: corrupt, nothing created. Memory
     * m0 is first (label 1): its record at 64, its document after id and content. */
    uint8_t *forged = malloc(stream.size);
    memcpy(forged, stream.data, stream.size);
    uint64_t content_bytes = mn_get_u64(forged + 64 + 16);
    uint32_t id_bytes = mn_get_u32(forged + 64 + 24), meta_bytes = mn_get_u32(forged + 64 + 28);
    CHECK(meta_bytes == fact.size);
    forged[64 + 32 + id_bytes + content_bytes + meta_bytes - 1] = 0xFF; /* "fact" -> bad UTF-8 */
    mn_put_u64(forged + stream.size - 8, XXH64(forged, stream.size - 8, 0));
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "bad", 3, forged, stream.size, NULL),
                 MN_ERR_CORRUPT);
    mn_put_u32(forged + 8, 1); /* version 1 had no metadata: the word at +28 must be 0 */
    memcpy(forged + 64 + 32 + id_bytes + content_bytes, stream.data + 64 + 32 + id_bytes +
           content_bytes, meta_bytes);
    mn_put_u64(forged + stream.size - 8, XXH64(forged, stream.size - 8, 0));
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "bad", 3, forged, stream.size, NULL),
                 MN_ERR_CORRUPT);
    CHECK(td_open_space(engine, "bad") == NULL);
    free(forged);
    free(stream.data);
    free(again.data);
    doc_free(&fact), doc_free(&two);
    mn_space_release(copy);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

/* ---- (6) the version 1 export fixture ---- */

static void test_old_export(void) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/space.mnspc", MN_FIXTURE_DIR);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return;
    uint8_t data[4096];
    size_t size = fread(data, 1, sizeof(data), f);
    fclose(f);
    CHECK(size > 72 && mn_get_u32(data + 8) == 1);
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 1;
    options.pin_workers = 0;
    mn_engine *engine = NULL;
    CHECK_STATUS(mn_engine_create(&options, &engine), MN_OK);
    mn_space *space = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "alpha", 5, data, size, &space), MN_OK);
    doc none = {0}, fact = doc_kv("kind", "fact");
    const char *ids[4] = {"a", "c", "d", "e"};
    for (int i = 0; i < 4; i++) CHECK(has_doc(space, ids[i], none));
    doc p = patch_of(fact, NULL, 0);
    CHECK_STATUS(patch(space, "c", p, NULL), MN_OK);
    CHECK(has_doc(space, "c", fact) && has_doc(space, "d", none));
    doc_free(&fact), doc_free(&p);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

int main(void) {
    test_round_trips();
    test_grouped();
    test_refusals();
    test_bytes();
    test_durable();
    test_export();
    test_old_export();
    return te_report();
}
