/*
 * test_engine_index.c: field indexes attached to engine spaces (mn_space_index_create, _drop,
 * _list) against a model of the space kept by this file.
 *
 * Proves: (1) every write path keeps the indexes exact: single inserts, upserts (metadata
 * replaced or removed), patches, deletes, batch inserts, bursts of inserts and upserts applied
 * as groups (mn_space_apply_writes), deletes by filter; indexes created and dropped between
 * queued writes (no wait) are backfilled at their place in the write order. After each phase,
 * for 18 filters over the indexed fields (eq, ne, in, nin, ranges, exists, list membership,
 * AND/OR/NOT, a mix with the unindexed id, createdAt) count, list and search give exactly the
 * model's answer (lists in label order), and each index's entry count agrees with the model; (2) bad calls change
 * nothing: invalid names (empty, '$', id, createdAt, too long), bad kinds, an index that
 * exists (MN_ERR_DUPLICATE at completion), an unknown drop (MN_ERR_NOT_FOUND); (3) a durable
 * space keeps its indexes and answers through a log replay, a checkpoint and a log tail above
 * it; (4) export and import carry them; (5) space bytes include the indexes; (6) under injected
 * allocation failures every write either completes and changes the space, or fails with
 * MN_ERR_NO_MEMORY and changes nothing (model, counts and indexes all as before).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mn_test_alloc.h"
#include "mn_test_bytes.h"
#include "mn_test_dir.h"
#include "mnemo/mn_filter.h"
#include "mnemo/mn_meta.h"
#include "test_durable_support.h"
#include "test_engine_support.h"

#define DIM 8u
#define IDS 600u
#define CREATED_BASE 1800000000000000000ll
#define BURST 24u

/* ---- the model ---- */

typedef struct item {
    int live;
    int has_kind;
    uint32_t kind;     /* k0 ... k3 */
    int has_level;
    int level_double;  /* the level is stored as a double (level + 0.5) */
    int64_t level;
    int has_tags;
    uint32_t tags;     /* bit t: "t<t>" in the list */
    int has_flag;
    int flag;
    int64_t created;
} item;

static item model[IDS];
/* test_no_memory: the allocation to fail, armed just before a write is submitted (after the
 * test's own documents are built), or -1. */
static int64_t arm = -1;

static void arm_failure(void) {
    if (arm >= 0) mn_alloc_fail_after(arm);
}
static uint64_t state = 4242;
static int64_t clock_ns = CREATED_BASE;

static uint32_t rnd(uint32_t n) { return (uint32_t)(te_next(&state) % n); }

static void id_of(uint32_t i, char *out) { snprintf(out, 16, "m%03u", i); }

static void random_fields(item *m) {
    m->has_kind = rnd(5) != 0;
    m->kind = rnd(4);
    m->has_level = rnd(3) != 0;
    m->level_double = rnd(4) == 0;
    m->level = (int64_t)rnd(60) - 20;
    m->has_tags = rnd(3) != 0;
    m->tags = rnd(16);
    m->has_flag = rnd(6) != 0;
    m->flag = (int)rnd(2);
}

static void build_doc(const item *m, void **bytes, size_t *size) {
    static const char *const names[4] = {"t0", "t1", "t2", "t3"};
    static const uint32_t lengths[4] = {2, 2, 2, 2};
    char kind[3] = {'k', (char)('0' + m->kind), 0};
    mn_meta_builder *b = NULL;
    if (mn_meta_builder_create(&b) != MN_OK) exit(2);
    if (m->has_kind) mn_meta_builder_add_string(b, "kind", 4, kind, 2);
    if (m->has_level && m->level_double) mn_meta_builder_add_double(b, "level", 5, (double)m->level + 0.5);
    if (m->has_level && !m->level_double) mn_meta_builder_add_int(b, "level", 5, m->level);
    if (m->has_tags) {
        const char *items[4];
        uint32_t n = 0, sizes[4];
        for (uint32_t t = 0; t < 4; t++) {
            if (m->tags & (1u << t)) {
                items[n] = names[t];
                sizes[n++] = lengths[t];
            }
        }
        mn_meta_builder_add_strings(b, "tags", 4, items, sizes, n);
    }
    if (m->has_flag) mn_meta_builder_add_bool(b, "flag", 4, m->flag);
    mn_meta_builder_add_string(b, "note", 4, "x", 1); /* never indexed */
    if (mn_meta_builder_finish(b, bytes, size, NULL) != MN_OK) exit(2);
    mn_meta_builder_destroy(b);
}

/* ---- the filters and their oracle ---- */

static const char *const FILTERS[] = {
    "{\"kind\": \"k1\"}",
    "{\"kind\": {\"$ne\": \"k2\"}}",
    "{\"kind\": {\"$in\": [\"k0\", \"k3\"]}}",
    "{\"kind\": {\"$nin\": [\"k0\"]}}",
    "{\"level\": {\"$gte\": 10}}",
    "{\"level\": {\"$lt\": 0}}",
    "{\"level\": {\"$exists\": false}}",
    "{\"tags\": {\"$in\": [\"t1\"]}}",
    "{\"flag\": true}",
    "{\"$and\": [{\"kind\": \"k1\"}, {\"level\": {\"$gte\": 0}}]}",
    "{\"$or\": [{\"tags\": \"t2\"}, {\"flag\": false}]}",
    "{\"$not\": {\"kind\": \"k0\"}}",
    "{\"$and\": [{\"kind\": \"k2\"}, {\"id\": {\"$lt\": \"m300\"}}]}",
    "{\"createdAt\": {\"$gte\": 1800000000000000300}}",
    "{\"level\": {\"$in\": [3, 7.5, -2]}}",
    "{\"$or\": [{\"$not\": {\"level\": {\"$exists\": true}}}, {\"tags\": {\"$nin\": [\"t0\", \"t3\"]}}]}",
    /* createdAt's exists set walks times, which do not grow with labels here (clock times of
     * single inserts sort before the batches' fixed ones): listed in label order all the same */
    "{\"createdAt\": {\"$exists\": true}}",
    "{\"$and\": [{\"createdAt\": {\"$exists\": true}}, {\"id\": {\"$lt\": \"m300\"}}]}",
};
#define FILTER_COUNT (sizeof(FILTERS) / sizeof(FILTERS[0]))

static int has_tag(const item *m, uint32_t t) { return m->has_tags && (m->tags & (1u << t)); }

static double level_of(const item *m) { return (double)m->level + (m->level_double ? 0.5 : 0.0); }

static int oracle(uint32_t f, uint32_t i) {
    const item *m = &model[i];
    switch (f) {
    case 0: return m->has_kind && m->kind == 1;
    case 1: return !(m->has_kind && m->kind == 2);
    case 2: return m->has_kind && (m->kind == 0 || m->kind == 3);
    case 3: return !(m->has_kind && m->kind == 0);
    case 4: return m->has_level && level_of(m) >= 10;
    case 5: return m->has_level && level_of(m) < 0;
    case 6: return !m->has_level;
    case 7: return has_tag(m, 1);
    case 8: return m->has_flag && m->flag;
    case 9: return m->has_kind && m->kind == 1 && m->has_level && level_of(m) >= 0;
    case 10: return has_tag(m, 2) || (m->has_flag && !m->flag);
    case 11: return !(m->has_kind && m->kind == 0);
    case 12: return m->has_kind && m->kind == 2 && i < 300;
    case 13: return m->created >= CREATED_BASE + 300;
    case 14: {
        double v = level_of(m);
        return m->has_level && (v == 3.0 || v == 7.5 || v == -2.0);
    }
    case 15: return !m->has_level || !(has_tag(m, 0) || has_tag(m, 3));
    case 16: return 1;
    case 17: return i < 300;
    default: return 0;
    }
}

/* ---- writes, each applied to the model in the order submitted ---- */

typedef struct counter {
    _Atomic uint32_t bad;
} counter;

static void done_ok(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    counter *c = context;
    if (status != MN_OK) atomic_fetch_add(&c->bad, 1);
}

static mn_status submit_put(mn_space *space, uint32_t i, int upsert, uint32_t flags,
                            mn_completion_fn done, void *context) {
    char id[16];
    id_of(i, id);
    float vector[DIM];
    te_vector(i + 1, vector, DIM);
    void *doc = NULL;
    size_t size = 0;
    build_doc(&model[i], &doc, &size);
    arm_failure();
    mn_status status =
        upsert ? mn_space_upsert_meta(space, id, 4, vector, DIM, NULL, 0, doc, size, flags, done,
                                      context, NULL)
               : mn_space_insert_meta(space, id, 4, vector, DIM, NULL, 0, doc, size, flags, done,
                                      context, NULL);
    mn_meta_free(doc);
    return status;
}

/* A patch: sets kind and removes level (or sets level and removes tags). */
static mn_status submit_patch(mn_space *space, uint32_t i, uint32_t which, uint32_t flags,
                              mn_completion_fn done, void *context) {
    char id[16];
    id_of(i, id);
    mn_meta_builder *b = NULL;
    if (mn_meta_builder_create(&b) != MN_OK) exit(2);
    char kind[3] = {'k', (char)('0' + which % 4), 0};
    if (which < 4) mn_meta_builder_add_string(b, "kind", 4, kind, 2);
    else mn_meta_builder_add_int(b, "level", 5, (int64_t)which);
    void *set = NULL;
    size_t set_bytes = 0;
    if (mn_meta_builder_finish(b, &set, &set_bytes, NULL) != MN_OK) exit(2);
    mn_meta_builder_destroy(b);
    const char *remove[1] = {which < 4 ? "level" : "tags"};
    uint32_t remove_bytes[1] = {which < 4 ? 5u : 4u};
    void *patch = NULL;
    size_t patch_bytes = 0;
    if (mn_meta_patch_encode(set, set_bytes, remove, remove_bytes, 1, &patch, &patch_bytes, NULL) !=
        MN_OK)
        exit(2);
    mn_meta_free(set);
    arm_failure();
    mn_status status = mn_space_patch_metadata(space, id, 4, patch, patch_bytes, flags, done,
                                               context, NULL);
    mn_meta_free(patch);
    return status;
}

static void model_patch(uint32_t i, uint32_t which) {
    item *m = &model[i];
    if (which < 4) {
        m->has_kind = 1;
        m->kind = which;
        m->has_level = 0;
    } else {
        m->has_level = 1;
        m->level_double = 0;
        m->level = (int64_t)which;
        m->has_tags = 0;
    }
}

static mn_status submit_delete(mn_space *space, uint32_t i, uint32_t flags, mn_completion_fn done,
                               void *context) {
    char id[16];
    id_of(i, id);
    arm_failure();
    return mn_space_delete(space, id, 4, flags, done, context);
}

static mn_status submit_batch(mn_space *space, const uint32_t *which, uint32_t n, uint32_t flags,
                              mn_completion_fn done, void *context) {
    char ids[16 * 16];
    uint64_t id_offsets[17], content_offsets[17] = {0}, meta_offsets[17];
    int64_t created[16];
    float vectors[16 * DIM];
    uint8_t packed[16 * 256];
    id_offsets[0] = meta_offsets[0] = 0;
    for (uint32_t k = 0; k < n; k++) {
        char id[16];
        id_of(which[k], id);
        memcpy(ids + id_offsets[k], id, 4);
        id_offsets[k + 1] = id_offsets[k] + 4;
        created[k] = model[which[k]].created;
        te_vector(which[k] + 1, vectors + k * DIM, DIM);
        void *doc = NULL;
        size_t size = 0;
        build_doc(&model[which[k]], &doc, &size);
        if (size > 256) exit(2);
        memcpy(packed + meta_offsets[k], doc, size);
        meta_offsets[k + 1] = meta_offsets[k] + size;
        mn_meta_free(doc);
    }
    mn_batch_in batch = {n, DIM, vectors, ids, id_offsets, NULL, content_offsets, created};
    arm_failure();
    return mn_space_insert_batch_meta(space, &batch, packed, meta_offsets, flags, done, context,
                                      NULL, NULL);
}

static mn_status submit_delete_filtered(mn_space *space, uint32_t f, uint32_t flags,
                                        mn_completion_fn done, void *context) {
    arm_failure();
    return mn_space_delete_filtered(space, FILTERS[f], strlen(FILTERS[f]), flags, done, context,
                                    NULL);
}

static mn_status barrier(mn_space *space) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_barrier(space, MN_SUBMIT_WAIT, te_wait_done, &w);
    return status == MN_OK ? te_wait_for(&w) : status;
}

static mn_status index_op(mn_space *space, int create, const char *field, uint32_t kind,
                          uint64_t *detail) {
    te_wait w;
    te_wait_init(&w);
    mn_status status =
        create ? mn_space_index_create(space, field, (uint32_t)strlen(field), kind, MN_SUBMIT_WAIT,
                                       te_wait_done, &w)
               : mn_space_index_drop(space, field, (uint32_t)strlen(field), MN_SUBMIT_WAIT,
                                     te_wait_done, &w);
    if (status != MN_OK) return status;
    status = te_wait_for(&w);
    if (detail) *detail = w.detail;
    return status;
}

/* One random write queued without waiting (the model follows at once: the engine applies in
 * submission order), so bursts back the mailbox up and run through the grouped path. */
static void random_write(mn_space *space, counter *c) {
    uint32_t i = rnd(IDS);
    uint32_t op = rnd(20);
    mn_status status = MN_OK;
    if (op < 7) { /* insert a new id, or upsert a live one */
        int upsert = model[i].live;
        random_fields(&model[i]);
        /* A single insert takes the clock's time, which is before CREATED_BASE (2027). */
        if (!upsert) model[i].created = 0;
        status = submit_put(space, i, upsert, MN_SUBMIT_WAIT, done_ok, c);
        model[i].live = 1;
    } else if (op < 11) {
        if (!model[i].live) return;
        uint32_t which = rnd(8);
        status = submit_patch(space, i, which, MN_SUBMIT_WAIT, done_ok, c);
        model_patch(i, which);
    } else if (op < 14) {
        if (!model[i].live) return;
        status = submit_delete(space, i, MN_SUBMIT_WAIT, done_ok, c);
        model[i].live = 0;
    } else if (op < 19) {
        uint32_t which[16], n = 0;
        for (uint32_t k = 0; k < 12 && n < 16; k++) {
            uint32_t j = rnd(IDS);
            int seen = model[j].live;
            for (uint32_t x = 0; x < n; x++) seen |= which[x] == j;
            if (!seen) which[n++] = j;
        }
        if (n == 0) return;
        for (uint32_t k = 0; k < n; k++) {
            random_fields(&model[which[k]]);
            model[which[k]].created = ++clock_ns;
            model[which[k]].live = 1;
        }
        status = submit_batch(space, which, n, MN_SUBMIT_WAIT, done_ok, c);
    } else {
        uint32_t f = rnd(3) == 0 ? 12 : 9; /* small deletes: the space keeps most memories */
        status = submit_delete_filtered(space, f, MN_SUBMIT_WAIT, done_ok, c);
        for (uint32_t j = 0; j < IDS; j++)
            if (model[j].live && oracle(f, j)) model[j].live = 0;
    }
    CHECK_STATUS(status, MN_OK);
}

/* `writes` random writes in bursts of BURST, waiting after each burst. */
static void random_writes(mn_space *space, uint32_t writes) {
    counter c;
    atomic_init(&c.bad, 0);
    for (uint32_t w = 0; w < writes; w++) {
        random_write(space, &c);
        if ((w + 1) % BURST == 0) CHECK_STATUS(barrier(space), MN_OK);
    }
    CHECK_STATUS(barrier(space), MN_OK);
    CHECK(atomic_load(&c.bad) == 0);
}

/* ---- checking a space against the model ---- */

typedef struct seen {
    uint8_t hit[IDS];
    uint32_t count;
    int bad;
} seen;

static void visit_seen(void *context, const mn_memory_view *view) {
    seen *s = context;
    unsigned i = 0;
    if (view->id_bytes != 4 || sscanf(view->id, "m%3u", &i) != 1 || i >= IDS || s->hit[i]) {
        s->bad = 1;
        return;
    }
    s->hit[i] = 1;
    s->count++;
}

typedef struct listed {
    char names[512];
    uint64_t present[8];
    uint64_t entries[8];
    uint32_t count;
} listed;

static void visit_index(void *context, const mn_index_info *info) {
    listed *l = context;
    size_t used = strlen(l->names);
    snprintf(l->names + used, sizeof(l->names) - used, "%s%.*s:%u", used ? "," : "",
             (int)info->name_bytes, info->name, info->kind);
    if (l->count < 8) {
        l->present[l->count] = info->present;
        l->entries[l->count] = info->entries;
    }
    l->count++;
}

static void list_indexes(mn_space *space, listed *l) {
    memset(l, 0, sizeof(*l));
    uint32_t count = 0;
    CHECK_STATUS(mn_space_index_list(space, visit_index, l, &count), MN_OK);
    CHECK(count + 1 == l->count);
}

/* The model's count of live memories having a field (for an index's `present`). */
static uint64_t model_present(const char *field) {
    uint64_t n = 0;
    for (uint32_t i = 0; i < IDS; i++) {
        const item *m = &model[i];
        if (!m->live) continue;
        if (strcmp(field, "createdAt") == 0) n++;
        else if (strcmp(field, "kind") == 0) n += (uint64_t)m->has_kind;
        else if (strcmp(field, "level") == 0) n += (uint64_t)m->has_level;
        else if (strcmp(field, "tags") == 0) n += (uint64_t)m->has_tags;
        else if (strcmp(field, "flag") == 0) n += (uint64_t)m->has_flag;
    }
    return n;
}

static void check_space(mn_space *space, const char *where) {
    int failed_before = te_failed;
    uint32_t live = 0;
    for (uint32_t i = 0; i < IDS; i++) live += (uint32_t)model[i].live;
    mn_space_stats stats;
    CHECK_STATUS(mn_space_stats_get(space, &stats), MN_OK);
    CHECK(stats.count == live);
    /* Each index's `present` against the model (createdAt: every live memory). */
    listed l;
    list_indexes(space, &l);
    const char *at = l.names;
    for (uint32_t k = 0; k < l.count && k < 8; k++) {
        const char *end = strchr(at, ':');
        if (!end) break;
        char field[64];
        snprintf(field, sizeof(field), "%.*s", (int)(end - at), at);
        CHECK(l.present[k] == model_present(field));
        at = strchr(end, ',');
        if (!at) break;
        at++;
    }
    for (uint32_t f = 0; f < FILTER_COUNT; f++) {
        mn_filter *filter = NULL;
        CHECK_STATUS(mn_filter_parse(FILTERS[f], strlen(FILTERS[f]), &filter, NULL), MN_OK);
        uint32_t matches = 0;
        for (uint32_t i = 0; i < IDS; i++) matches += (uint32_t)(model[i].live && oracle(f, i));
        uint64_t count = 0;
        CHECK_STATUS(mn_space_count_filtered(space, filter, &count), MN_OK);
        CHECK(count == matches);
        if (count != matches) fprintf(stderr, "%s: filter %u counted %llu, model %u\n", where, f,
                                      (unsigned long long)count, matches);
        seen s;
        memset(&s, 0, sizeof(s));
        uint32_t found = 0;
        CHECK_STATUS(mn_space_list_filtered(space, filter, 0, IDS, visit_seen, &s, &found, NULL),
                     MN_OK);
        CHECK(!s.bad && found == matches && s.count == matches);
        for (uint32_t i = 0; i < IDS; i++) CHECK(s.hit[i] == (model[i].live && oracle(f, i)));
        /* Pages of 7: every match once (a repeat is flagged), cursors strictly increasing. */
        memset(&s, 0, sizeof(s));
        uint64_t cursor = 0;
        for (uint32_t page = 0; page <= IDS; page++) {
            uint64_t next = 0;
            CHECK_STATUS(mn_space_list_filtered(space, filter, cursor, 7, visit_seen, &s, &found,
                                                &next),
                         MN_OK);
            if (found < 7) break;
            CHECK(next > cursor);
            cursor = next;
        }
        CHECK(!s.bad && s.count == matches);
        memset(&s, 0, sizeof(s));
        float query[DIM];
        te_vector(9000 + f, query, DIM);
        mn_search_stats st;
        CHECK_STATUS(mn_space_search_filtered(space, query, DIM, 10, 64, filter, visit_seen, &s,
                                              &found, &st),
                     MN_OK);
        CHECK(!s.bad);
        for (uint32_t i = 0; i < IDS; i++) CHECK(!s.hit[i] || (model[i].live && oracle(f, i)));
        CHECK(found == (matches < 10 ? matches : 10));
        if (st.strategy == MN_SEARCH_STRATEGY_EXACT_SCAN) CHECK(st.matches == matches);
        mn_filter_free(filter);
    }
    if (te_failed > failed_before) fprintf(stderr, "check_space failed at: %s\n", where);
}

/* ---- the tests ---- */

static void test_bad_calls(mn_space *space) {
    listed before, after;
    list_indexes(space, &before);
    char long_name[80];
    memset(long_name, 'a', sizeof(long_name));
    CHECK_STATUS(mn_space_index_create(space, "", 0, MN_INDEX_KEYWORD, 0, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_index_create(space, NULL, 3, MN_INDEX_KEYWORD, 0, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_index_create(space, "$x", 2, MN_INDEX_KEYWORD, 0, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_index_create(space, "id", 2, MN_INDEX_KEYWORD, 0, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_index_create(space, "createdAt", 9, MN_INDEX_NUMERIC, 0, NULL, NULL),
                 MN_ERR_INVALID);
    CHECK_STATUS(mn_space_index_create(space, long_name, 65, MN_INDEX_KEYWORD, 0, NULL, NULL),
                 MN_ERR_TOO_LARGE);
    CHECK_STATUS(mn_space_index_create(space, "x", 1, 0, 0, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_index_create(space, "x", 1, 3, 0, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_index_create(NULL, "x", 1, MN_INDEX_KEYWORD, 0, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_index_drop(space, "createdAt", 9, 0, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_space_index_drop(space, "", 0, 0, NULL, NULL), MN_ERR_INVALID);
    /* Known only when applied: the completion says, nothing changes. */
    CHECK_STATUS(index_op(space, 1, "kind", MN_INDEX_KEYWORD, NULL), MN_ERR_DUPLICATE);
    CHECK_STATUS(index_op(space, 1, "kind", MN_INDEX_NUMERIC, NULL), MN_ERR_DUPLICATE);
    CHECK_STATUS(index_op(space, 0, "nothing", 0, NULL), MN_ERR_NOT_FOUND);
    list_indexes(space, &after);
    CHECK(strcmp(before.names, after.names) == 0);
    CHECK(memcmp(before.present, after.present, sizeof(before.present)) == 0);
    CHECK(memcmp(before.entries, after.entries, sizeof(before.entries)) == 0);
    check_space(space, "after bad calls");
}

/* Writes with index creations and drops queued among them (no wait in between). */
static void workload(mn_space *space) {
    random_writes(space, 120);
    check_space(space, "no index yet");
    counter c;
    atomic_init(&c.bad, 0);
    CHECK_STATUS(mn_space_index_create(space, "kind", 4, MN_INDEX_KEYWORD, MN_SUBMIT_WAIT, done_ok, &c),
                 MN_OK);
    random_write(space, &c);
    CHECK_STATUS(mn_space_index_create(space, "level", 5, MN_INDEX_NUMERIC, MN_SUBMIT_WAIT, done_ok,
                                       &c),
                 MN_OK);
    random_writes(space, 100);
    check_space(space, "kind and level");
    CHECK_STATUS(mn_space_index_create(space, "tags", 4, MN_INDEX_KEYWORD, MN_SUBMIT_WAIT, done_ok, &c),
                 MN_OK);
    CHECK_STATUS(mn_space_index_create(space, "flag", 4, MN_INDEX_KEYWORD, MN_SUBMIT_WAIT, done_ok, &c),
                 MN_OK);
    random_write(space, &c);
    CHECK_STATUS(mn_space_index_drop(space, "level", 5, MN_SUBMIT_WAIT, done_ok, &c), MN_OK);
    random_writes(space, 100);
    check_space(space, "level dropped");
    CHECK_STATUS(mn_space_index_create(space, "level", 5, MN_INDEX_NUMERIC, MN_SUBMIT_WAIT, done_ok,
                                       &c),
                 MN_OK);
    random_writes(space, 150);
    CHECK_STATUS(barrier(space), MN_OK);
    CHECK(atomic_load(&c.bad) == 0);
    check_space(space, "all four");
    listed l;
    list_indexes(space, &l);
    CHECK(strcmp(l.names, "createdAt:2,kind:1,tags:1,flag:1,level:2") == 0);
}

static void test_durable(void) {
    char root[] = "/tmp/mn_engine_index_XXXXXX";
    CHECK(mkdtemp(root) != NULL);
    mn_engine *engine = td_open(root, 2, MN_WAL_SYNC, 0, 0, 0, NULL, NULL);
    CHECK(engine != NULL);
    if (!engine) return;
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    mn_space *space = NULL;
    CHECK_STATUS(mn_engine_space_create(engine, "s", 1, &params, &space), MN_OK);
    mn_space_stats before;
    CHECK_STATUS(mn_space_stats_get(space, &before), MN_OK);
    workload(space);
    test_bad_calls(space);
    listed want;
    list_indexes(space, &want);
    mn_space_release(space);
    mn_engine_destroy(engine);

    /* (3) the log replays the writes and the index records in order */
    engine = td_reopen(root);
    space = engine ? td_open_space(engine, "s") : NULL;
    CHECK(space != NULL);
    if (space) {
        listed got;
        list_indexes(space, &got);
        CHECK(strcmp(got.names, want.names) == 0);
        check_space(space, "log replay");
        CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
        random_writes(space, 80);
        CHECK_STATUS(index_op(space, 0, "flag", 0, NULL), MN_OK);
        random_writes(space, 40);
        list_indexes(space, &want);
        mn_space_release(space);
    }
    if (engine) mn_engine_destroy(engine);
    engine = td_reopen(root);
    space = engine ? td_open_space(engine, "s") : NULL;
    CHECK(space != NULL);
    if (space) {
        listed got;
        list_indexes(space, &got);
        CHECK(strcmp(got.names, want.names) == 0);
        CHECK(strcmp(got.names, "createdAt:2,kind:1,tags:1,level:2") == 0);
        check_space(space, "checkpoint and tail");
        CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
        mn_space_release(space);
    }
    if (engine) mn_engine_destroy(engine);
    engine = td_reopen(root); /* a checkpoint alone */
    space = engine ? td_open_space(engine, "s") : NULL;
    CHECK(space != NULL);
    if (space) {
        check_space(space, "checkpoint alone");
        /* (4) export and import carry the definitions and rebuild the indexes */
        mn_bytes stream = {0};
        CHECK_STATUS(mn_space_export(space, mn_bytes_write, &stream), MN_OK);
        mn_space *copy = NULL;
        CHECK_STATUS(mn_engine_space_import_buffer(engine, "copy", 4, stream.data, stream.size,
                                                   &copy),
                     MN_OK);
        if (copy) {
            listed got;
            list_indexes(copy, &got);
            CHECK(strcmp(got.names, want.names) == 0);
            check_space(copy, "imported");
            mn_space_release(copy);
        }
        free(stream.data);
        /* (5) the indexes count in the space's bytes */
        mn_space_stats with;
        CHECK_STATUS(mn_space_stats_get(space, &with), MN_OK);
        listed l;
        list_indexes(space, &l);
        CHECK(l.count == 4);
        CHECK_STATUS(index_op(space, 0, "tags", 0, NULL), MN_OK);
        mn_space_stats without;
        CHECK_STATUS(mn_space_stats_get(space, &without), MN_OK);
        CHECK(without.bytes < with.bytes);
        mn_space_release(space);
    }
    if (engine) mn_engine_destroy(engine);
    mn_test_remove_tree(root);
    rmdir(root);
}

/* (6) All or nothing under allocation failures: for each kind of write, fail the n-th
 * allocation from submission for n = 0, 1, ... until one goes through untouched. */
static void test_no_memory(void) {
    memset(model, 0, sizeof(model));
    mn_engine *engine = te_engine(1, 64);
    mn_space *space = te_space(engine, "oom", DIM, MN_METRIC_L2);
    random_writes(space, 60);
    CHECK_STATUS(index_op(space, 1, "kind", MN_INDEX_KEYWORD, NULL), MN_OK);
    CHECK_STATUS(index_op(space, 1, "tags", MN_INDEX_KEYWORD, NULL), MN_OK);
    CHECK_STATUS(index_op(space, 1, "level", MN_INDEX_NUMERIC, NULL), MN_OK);
    check_space(space, "before failures");
    uint32_t failures = 0;
    for (uint32_t kind = 0; kind < 6; kind++) {
        for (int64_t n = 0; n < 4000; n++) {
            /* The write and its effect on a copy of the model. */
            item saved[IDS];
            memcpy(saved, model, sizeof(model));
            uint32_t i = rnd(IDS);
            while (kind >= 1 && kind <= 3 ? !model[i].live : model[i].live) i = rnd(IDS);
            te_wait w;
            te_wait_init(&w);
            mn_status status = MN_OK;
            arm = n;
            uint32_t which[4] = {0};
            uint32_t batch = 0;
            switch (kind) {
            case 0: /* insert */
                random_fields(&model[i]);
                model[i].created = 0;
                model[i].live = 1;
                status = submit_put(space, i, 0, MN_SUBMIT_WAIT, te_wait_done, &w);
                break;
            case 1: /* upsert */
                random_fields(&model[i]);
                status = submit_put(space, i, 1, MN_SUBMIT_WAIT, te_wait_done, &w);
                break;
            case 2: /* patch */
                model_patch(i, (uint32_t)(n % 8));
                status = submit_patch(space, i, (uint32_t)(n % 8), MN_SUBMIT_WAIT, te_wait_done, &w);
                break;
            case 3: /* delete */
                model[i].live = 0;
                status = submit_delete(space, i, MN_SUBMIT_WAIT, te_wait_done, &w);
                break;
            case 4: /* batch */
                for (uint32_t j = 0; j < IDS && batch < 4; j++) {
                    if (!model[j].live) {
                        which[batch++] = j;
                        random_fields(&model[j]);
                        model[j].created = ++clock_ns;
                        model[j].live = 1;
                    }
                }
                status = submit_batch(space, which, batch, MN_SUBMIT_WAIT, te_wait_done, &w);
                break;
            default: /* delete by filter */
                for (uint32_t j = 0; j < IDS; j++)
                    if (model[j].live && oracle(9, j)) model[j].live = 0;
                status = submit_delete_filtered(space, 9, MN_SUBMIT_WAIT, te_wait_done, &w);
                break;
            }
            if (status == MN_OK) status = te_wait_for(&w);
            arm = -1;
            mn_alloc_fail_after(-1);
            int went_through = mn_alloc_failed() == 0;
            atomic_store(&mn_alloc_failures, 0);
            if (status != MN_OK) {
                CHECK_STATUS(status, MN_ERR_NO_MEMORY);
                memcpy(model, saved, sizeof(model)); /* nothing changed */
                failures++;
            }
            if (n % 16 == 0 || went_through) check_space(space, "after a failed write");
            if (went_through) break;
        }
    }
    printf("allocation failures injected into writes: %u refused whole\n", failures);
    CHECK(failures > 0);
    check_space(space, "after every failure");
    mn_space_release(space);
    mn_engine_destroy(engine);
}

int main(void) {
    test_durable();
    test_no_memory();
    return te_report();
}
