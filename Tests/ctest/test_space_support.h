/*
 * test_space_support.h: helpers shared by the association and export tests of the engine:
 * synchronous writes (upsert, delete, link, unlink, barrier), a growable byte sink for
 * exports, and snapshots of search and recall results that two spaces can be compared by.
 * Builds on test_engine_support.h (its CHECK macros and waitable completions).
 */
#ifndef TEST_SPACE_SUPPORT_H
#define TEST_SPACE_SUPPORT_H

#include "test_engine_support.h"

/* ---- synchronous writes ---- */

static inline mn_status ts_write(mn_space *space, int upsert, const char *id, const float *vector,
                                 uint32_t dimension, const char *content) {
    te_wait w;
    te_wait_init(&w);
    mn_status (*submit)(mn_space *, const char *, uint32_t, const float *, uint32_t,
                        const uint8_t *, uint64_t, uint32_t, mn_completion_fn, void *) =
        upsert ? mn_space_upsert : mn_space_insert;
    mn_status status = submit(space, id, (uint32_t)strlen(id), vector, dimension,
                              (const uint8_t *)content, content ? strlen(content) : 0,
                              MN_SUBMIT_WAIT, te_wait_done, &w);
    if (status != MN_OK) return status;
    return te_wait_for(&w);
}

static inline mn_status ts_delete(mn_space *space, const char *id) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_delete(space, id, (uint32_t)strlen(id), MN_SUBMIT_WAIT,
                                       te_wait_done, &w);
    if (status != MN_OK) return status;
    return te_wait_for(&w);
}

static inline mn_status ts_link(mn_space *space, const char *from, const char *to, float weight,
                                uint64_t *detail) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_link(space, from, (uint32_t)strlen(from), to,
                                     (uint32_t)strlen(to), weight, MN_SUBMIT_WAIT, te_wait_done,
                                     &w);
    if (status != MN_OK) return status;
    status = te_wait_for(&w);
    if (detail) *detail = w.detail;
    return status;
}

static inline mn_status ts_unlink(mn_space *space, const char *from, const char *to) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_unlink(space, from, (uint32_t)strlen(from), to,
                                       (uint32_t)strlen(to), MN_SUBMIT_WAIT, te_wait_done, &w);
    if (status != MN_OK) return status;
    return te_wait_for(&w);
}

static inline uint64_t ts_links(mn_space *space) {
    uint64_t count = 0;
    mn_space_link_count(space, &count);
    return count;
}

static inline uint64_t ts_count(mn_space *space) {
    mn_space_stats stats;
    mn_space_stats_get(space, &stats);
    return stats.count;
}

/* ---- result snapshots ---- */

#define TS_RESULTS_MAX 256

typedef struct ts_item {
    char id[MN_ENGINE_ID_BYTES_MAX + 1];
    float score;        /* distance (search) or activation (recall) */
    uint32_t hops;
    uint64_t content_hash;
    int64_t created_ns;
} ts_item;

typedef struct ts_results {
    ts_item items[TS_RESULTS_MAX];
    uint32_t count;
} ts_results;

static inline uint64_t ts_hash(const uint8_t *data, uint64_t size) {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < size; i++) h = (h ^ data[i]) * 1099511628211ull;
    return h;
}

static inline void ts_search_visit(void *context, const mn_memory_view *view) {
    ts_results *r = context;
    if (r->count == TS_RESULTS_MAX) return;
    ts_item *item = &r->items[r->count++];
    memcpy(item->id, view->id, view->id_bytes);
    item->id[view->id_bytes] = '\0';
    item->score = view->distance;
    item->hops = 0;
    item->content_hash = ts_hash(view->content, view->content_bytes);
    item->created_ns = view->created_ns;
}

static inline void ts_recall_visit(void *context, const mn_recollection_view *view) {
    ts_results *r = context;
    if (r->count == TS_RESULTS_MAX) return;
    ts_item *item = &r->items[r->count++];
    memcpy(item->id, view->id, view->id_bytes);
    item->id[view->id_bytes] = '\0';
    item->score = view->activation;
    item->hops = view->hops;
    item->content_hash = ts_hash(view->content, view->content_bytes);
    item->created_ns = view->created_ns;
}

static inline mn_status ts_search(mn_space *space, const float *query, uint32_t dimension,
                                  uint32_t k, ts_results *out) {
    memset(out, 0, sizeof(*out));
    uint32_t found = 0;
    return mn_space_search(space, query, dimension, k, 0, ts_search_visit, out, &found);
}

static inline mn_status ts_recall(mn_space *space, const float *cue, uint32_t dimension,
                                  const mn_recall_params *params, uint32_t limit,
                                  ts_results *out) {
    memset(out, 0, sizeof(*out));
    uint32_t found = 0;
    mn_status status = mn_space_recall(space, cue, dimension, params, limit, ts_recall_visit, out,
                                       &found);
    if (status == MN_OK && found != out->count) return MN_ERR_CORRUPT; /* a harness mismatch */
    return status;
}

/* 1 if both snapshots are identical, item by item (scores compared bit for bit). */
static inline int ts_same(const ts_results *a, const ts_results *b) {
    if (a->count != b->count) return 0;
    for (uint32_t i = 0; i < a->count; i++) {
        const ts_item *x = &a->items[i], *y = &b->items[i];
        if (strcmp(x->id, y->id) != 0 || memcmp(&x->score, &y->score, sizeof(float)) != 0 ||
            x->hops != y->hops || x->content_hash != y->content_hash ||
            x->created_ns != y->created_ns) {
            return 0;
        }
    }
    return 1;
}

#endif /* TEST_SPACE_SUPPORT_H */
