/*
 * test_durable_support.h: helpers shared by the durable-engine tests (test_engine_durable.c,
 * test_engine_checkpoint.c, the fault, lock and recovery tests): opening a data directory with
 * test settings (on the real file system or through a vfs table such as mn_test_faultfs.h's),
 * and awaited writes and checks of single memories and of numbered runs "m<i>" in spaces of
 * dimension TD_DIM.
 */
#ifndef TEST_DURABLE_SUPPORT_H
#define TEST_DURABLE_SUPPORT_H

#include <stdio.h>
#include <string.h>

/* mn_engine_open_vfs (private to the core) for the tests that open through a fault table. */
#include "engine/mn_engine_vfs.h"
#include "mnemo/mn_engine_durable.h"
#include "test_engine_support.h"
/* The log's own API (private to the core) for tests that read, damage or count log segments. */
#include "wal/mn_wal.h"

#define TD_DIM 8u

/* Opens `path` through `vfs` (NULL: the real file system) with unpinned workers; returns NULL
 * and the status in *status_out on failure. */
static inline mn_engine *td_open_vfs(const char *path, const mn_vfs *vfs, uint32_t workers,
                                     mn_durability mode, uint32_t repair, uint64_t segment_bytes,
                                     uint64_t checkpoint_log_bytes, mn_status *status_out,
                                     mn_durable_report *report) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = workers;
    options.pin_workers = 0;
    mn_durable_options durable;
    mn_durable_options_default(path, &durable);
    durable.durability = mode;
    durable.repair = repair;
    durable.segment_bytes = segment_bytes;
    durable.checkpoint_log_bytes = checkpoint_log_bytes;
    mn_engine *engine = NULL;
    mn_status status = vfs ? mn_engine_open_vfs(&options, &durable, vfs, &engine, report)
                           : mn_engine_open(&options, &durable, &engine, report);
    if (status_out) *status_out = status;
    return engine;
}

/* td_open_vfs on the real file system. */
static inline mn_engine *td_open(const char *path, uint32_t workers, mn_durability mode,
                                 uint32_t repair, uint64_t segment_bytes,
                                 uint64_t checkpoint_log_bytes, mn_status *status_out,
                                 mn_durable_report *report) {
    return td_open_vfs(path, NULL, workers, mode, repair, segment_bytes, checkpoint_log_bytes,
                       status_out, report);
}

/* Reopens `path` on the real file system with one worker in MN_WAL_SYNC and checks that it
 * opens: how the fault-table tests look at what a crash or power loss left. */
static inline mn_engine *td_reopen(const char *path) {
    mn_status status = MN_OK;
    mn_engine *engine = td_open(path, 1, MN_WAL_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    return engine;
}

/* What a get visited. */
typedef struct td_got {
    char content[256];
    uint64_t content_bytes;
    int64_t created_ns;
    int found;
    uint8_t metadata[1024];   /* the first 1024 bytes of its metadata document */
    uint64_t metadata_bytes;
} td_got;

static inline void td_visit_got(void *context, const mn_memory_view *view) {
    td_got *g = context;
    g->found = 1;
    g->content_bytes = view->content_bytes;
    g->created_ns = view->created_ns;
    size_t n = view->content_bytes < 255 ? (size_t)view->content_bytes : 255;
    memcpy(g->content, view->content, n);
    g->content[n] = '\0';
    g->metadata_bytes = view->metadata_bytes;
    size_t m = view->metadata_bytes < sizeof(g->metadata) ? (size_t)view->metadata_bytes
                                                          : sizeof(g->metadata);
    if (m) memcpy(g->metadata, view->metadata, m);
}

/* 1 when `id` is present with `content` and vector te_vector(seed); its creation time to
 * *created (may be NULL). */
static inline int td_has_memory(mn_space *space, const char *id, const char *content, uint64_t seed,
                                int64_t *created) {
    float vector[TD_DIM], expected[TD_DIM];
    td_got g = {0};
    mn_status status = mn_space_get(space, id, (uint32_t)strlen(id), vector, TD_DIM, td_visit_got, &g);
    if (status != MN_OK || !g.found) return 0;
    te_vector(seed, expected, TD_DIM);
    if (memcmp(vector, expected, sizeof(vector)) != 0) return 0;
    if (created) *created = g.created_ns;
    return g.content_bytes == strlen(content) && memcmp(g.content, content, g.content_bytes) == 0;
}

/* Inserts `id` with vector te_vector(seed) and `content`, and waits for it. */
static inline mn_status td_insert(mn_space *space, const char *id, uint64_t seed, const char *content) {
    float v[TD_DIM];
    te_vector(seed, v, TD_DIM);
    return te_insert(space, id, v, TD_DIM, content, NULL);
}

/* Deletes `id` and waits for it. */
static inline mn_status td_delete(mn_space *space, const char *id) {
    te_wait w;
    te_wait_init(&w);
    mn_status s = mn_space_delete(space, id, (uint32_t)strlen(id), MN_SUBMIT_WAIT, te_wait_done, &w);
    return s == MN_OK ? te_wait_for(&w) : s;
}

/* The space `name`, or NULL. */
static inline mn_space *td_open_space(mn_engine *engine, const char *name) {
    mn_space *space = NULL;
    return mn_engine_space_open(engine, name, (uint32_t)strlen(name), &space) == MN_OK ? space : NULL;
}

/* Inserts "m<from>" ... "m<to-1>", memory i with vector te_vector(seed + i) and `content`,
 * and checks each is acknowledged. */
static inline void td_fill(mn_space *space, uint32_t from, uint32_t to, uint64_t seed,
                           const char *content) {
    char id[32];
    for (uint32_t i = from; i < to; i++) {
        snprintf(id, sizeof(id), "m%u", i);
        CHECK_STATUS(td_insert(space, id, seed + i, content), MN_OK);
    }
}

/* How many of "m<from>" ... "m<to-1>" are in `space` as td_fill wrote them. */
static inline uint32_t td_count_filled(mn_space *space, uint32_t from, uint32_t to, uint64_t seed,
                                       const char *content) {
    char id[32];
    uint32_t present = 0;
    for (uint32_t i = from; i < to; i++) {
        snprintf(id, sizeof(id), "m%u", i);
        present += (uint32_t)td_has_memory(space, id, content, seed + i, NULL);
    }
    return present;
}

/* Inserts "m<from>" ... "m<to-1>", memory i with vector te_vector(100 + i) and content
 * "content <i>", and checks each is acknowledged. */
static inline void td_insert_range(mn_space *space, uint32_t from, uint32_t to) {
    char id[32], content[64];
    for (uint32_t i = from; i < to; i++) {
        snprintf(id, sizeof(id), "m%u", i);
        snprintf(content, sizeof(content), "content %u", i);
        CHECK_STATUS(td_insert(space, id, 100 + i, content), MN_OK);
    }
}

/* 1 when "m<from>" ... "m<to-1>" are all in `space` as td_insert_range wrote them. */
static inline int td_has_range(mn_space *space, uint32_t from, uint32_t to) {
    char id[32], content[64];
    for (uint32_t i = from; i < to; i++) {
        snprintf(id, sizeof(id), "m%u", i);
        snprintf(content, sizeof(content), "content %u", i);
        if (!td_has_memory(space, id, content, 100 + i, NULL)) return 0;
    }
    return 1;
}

#endif /* TEST_DURABLE_SUPPORT_H */
