/*
 * test_engine_upsert.c: an upsert of an existing memory updates its index node in place.
 *
 * Proves, through the engine's API with a look at the space's internals:
 * - rounds of upserts of every memory to new vectors leave the index the same size (slot count
 *   unchanged, no removed nodes waiting for a repair pass) and every memory its label; get
 *   returns the new vector and content with the original creation time, and an exact search
 *   finds each memory at its new vector;
 * - an upsert with the same vector bytes and new content changes the content and leaves the
 *   index's saved stream byte-identical (no graph work at all).
 * Both failed on the old path (a tombstone plus a new node under a new label per upsert).
 */
#include "engine/mn_engine_internal.h"
#include "hnsw/mn_hnsw_internal.h"
#include "mn_test_bytes.h"
#include "test_engine_support.h"

#define DIM 16
#define MEMORIES 200
#define ROUNDS 5

typedef struct te_seen {
    char content[64];
    int64_t created_ns;
} te_seen;

static void te_seen_visit(void *context, const mn_memory_view *view) {
    te_seen *seen = context;
    size_t bytes = view->content_bytes < sizeof(seen->content) - 1 ? view->content_bytes : sizeof(seen->content) - 1;
    memcpy(seen->content, view->content, bytes);
    seen->content[bytes] = '\0';
    seen->created_ns = view->created_ns;
}

static uint64_t te_count(mn_space *space) {
    mn_space_stats stats;
    mn_space_stats_get(space, &stats);
    return stats.count;
}

static mn_status te_upsert(mn_space *space, const char *id, const float *vector, const char *content) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_upsert(space, id, (uint32_t)strlen(id), vector, DIM, (const uint8_t *)content,
                                       strlen(content), MN_SUBMIT_WAIT, te_wait_done, &w);
    if (status != MN_OK) return status;
    return te_wait_for(&w);
}

static uint64_t te_label(mn_space *space, const char *id) {
    mn_rcu_read_lock();
    mn_record *record = mn_space_find_id(space, id, (uint32_t)strlen(id));
    uint64_t label = record ? record->label : 0;
    mn_rcu_read_unlock();
    return label;
}

static mn_bytes te_index_stream(mn_space *space) {
    mn_bytes bytes = {0};
    CHECK_STATUS(mn_hnsw_save(space->index, mn_bytes_write, &bytes), MN_OK);
    return bytes;
}

int main(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "rewritten", DIM, MN_METRIC_L2);
    char id[32];
    uint64_t labels[MEMORIES];
    te_seen created[MEMORIES];
    for (int i = 0; i < MEMORIES; i++) {
        float v[DIM];
        te_vector((uint64_t)i, v, DIM);
        snprintf(id, sizeof id, "m-%d", i);
        CHECK_STATUS(te_insert(space, id, v, DIM, "first", NULL), MN_OK);
        labels[i] = te_label(space, id);
        created[i] = (te_seen){{0}, 0};
        mn_space_get(space, id, (uint32_t)strlen(id), NULL, 0, te_seen_visit, &created[i]);
    }
    uint32_t slots = atomic_load(&space->index->next_slot);

    float v[DIM], got[DIM];
    for (int round = 1; round <= ROUNDS; round++) {
        for (int i = 0; i < MEMORIES; i++) {
            te_vector((uint64_t)(round * 1000 + i), v, DIM);
            snprintf(id, sizeof id, "m-%d", i);
            char content[32];
            snprintf(content, sizeof content, "round %d", round);
            CHECK_STATUS(te_upsert(space, id, v, content), MN_OK);
        }
        CHECK(atomic_load(&space->index->next_slot) == slots);
        CHECK(atomic_load(&space->index->deleted_count) == 0);
    }
    CHECK(te_count(space) == MEMORIES);
    int moved_label = 0, wrong = 0, missing = 0;
    for (int i = 0; i < MEMORIES; i++) {
        snprintf(id, sizeof id, "m-%d", i);
        moved_label += te_label(space, id) != labels[i];
        te_vector((uint64_t)(ROUNDS * 1000 + i), v, DIM);
        te_seen seen = {{0}, 0};
        CHECK_STATUS(mn_space_get(space, id, (uint32_t)strlen(id), got, DIM, te_seen_visit, &seen), MN_OK);
        wrong += memcmp(got, v, sizeof v) != 0 || strcmp(seen.content, "round 5") != 0 ||
                 seen.created_ns != created[i].created_ns;
        te_seen hit = {{0}, 0};
        uint32_t found = 0;
        mn_space_search(space, v, DIM, 1, 64, te_seen_visit, &hit, &found);
        missing += found != 1 || strcmp(hit.content, "round 5") != 0;
    }
    CHECK(moved_label == 0);
    CHECK(wrong == 0);
    CHECK(missing <= MEMORIES / 100);

    /* Content only: the same vector bytes, new content. */
    mn_bytes before = te_index_stream(space);
    for (int i = 0; i < MEMORIES; i++) {
        te_vector((uint64_t)(ROUNDS * 1000 + i), v, DIM);
        snprintf(id, sizeof id, "m-%d", i);
        CHECK_STATUS(te_upsert(space, id, v, "content only"), MN_OK);
    }
    mn_bytes after = te_index_stream(space);
    CHECK(before.size == after.size && memcmp(before.data, after.data, before.size) == 0);
    te_seen seen = {{0}, 0};
    CHECK_STATUS(mn_space_get(space, "m-7", 3, NULL, 0, te_seen_visit, &seen), MN_OK);
    CHECK(strcmp(seen.content, "content only") == 0 && seen.created_ns == created[7].created_ns);
    free(before.data);
    free(after.data);
    mn_space_release(space);
    mn_engine_destroy(engine);
    return te_report();
}
