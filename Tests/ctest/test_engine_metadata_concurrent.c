/*
 * test_engine_metadata_concurrent.c: metadata changing under concurrent readers (TSan label).
 *
 * One writer thread rewrites the metadata of 64 memories over and over, alternating metadata
 * patches (mn_space_patch_metadata) and upserts with a new document, each carrying a counter
 * that only grows; reader threads meanwhile get and search those memories on their own threads.
 * Proves: every document a reader is handed is whole and valid (mn_meta_validate), a reader
 * never sees a memory's counter go backwards (a record is replaced by one publication, never
 * rewritten in place), and at the end every memory holds the last value written. Under
 * ThreadSanitizer it also proves the record publication is race-free.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/mn_meta.h"
#include "test_engine_support.h"

#define DIM 8u
#define MEMORIES 64u
#define ROUNDS 40u     /* writes per memory */
#define READERS 2

static mn_space *space;
static _Atomic int writing = 1;

/* A document {v: value} (free with mn_meta_free). */
static void doc_v(int64_t value, void **doc, size_t *bytes) {
    mn_meta_builder *b = NULL;
    *doc = NULL;
    *bytes = 0;
    if (mn_meta_builder_create(&b) != MN_OK) return;
    mn_meta_builder_add_int(b, "v", 1, value);
    mn_meta_builder_add_string(b, "pad", 3, "some words to make it longer", 28);
    if (mn_meta_builder_finish(b, doc, bytes, NULL) != MN_OK) *bytes = 0;
    mn_meta_builder_destroy(b);
}

static void *writer(void *arg) {
    (void)arg;
    char id[16];
    float v[DIM];
    for (uint32_t round = 1; round <= ROUNDS; round++) {
        for (uint32_t m = 0; m < MEMORIES; m++) {
            snprintf(id, sizeof(id), "m%u", m);
            void *doc = NULL;
            size_t bytes = 0;
            doc_v((int64_t)round, &doc, &bytes);
            mn_status status;
            if ((round + m) % 2) {
                void *patch = NULL;
                size_t patch_bytes = 0;
                const char *remove[1] = {"gone"};
                const uint32_t remove_bytes[1] = {4};
                mn_meta_patch_encode(doc, bytes, remove, remove_bytes, 1, &patch, &patch_bytes,
                                     NULL);
                status = mn_space_patch_metadata(space, id, (uint32_t)strlen(id), patch,
                                                 patch_bytes, MN_SUBMIT_WAIT, NULL, NULL, NULL);
                mn_meta_free(patch);
            } else {
                te_vector(m, v, DIM);
                status = mn_space_upsert_meta(space, id, (uint32_t)strlen(id), v, DIM, NULL, 0,
                                              doc, bytes, MN_SUBMIT_WAIT, NULL, NULL, NULL);
            }
            CHECK_STATUS(status, MN_OK);
            mn_meta_free(doc);
        }
    }
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_barrier(space, MN_SUBMIT_WAIT, te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);
    atomic_store(&writing, 0);
    return NULL;
}

typedef struct reader_state {
    int64_t last[MEMORIES];
    uint64_t reads, invalid, backwards;
    int64_t seen;                /* the value of the current visit, -1 if unreadable */
} reader_state;

static void visit(void *context, const mn_memory_view *view) {
    reader_state *r = context;
    r->seen = -1;
    if (mn_meta_validate(view->metadata, (size_t)view->metadata_bytes, NULL) != MN_OK) {
        r->invalid++;
        return;
    }
    mn_meta_value value;
    if (mn_meta_get(view->metadata, (size_t)view->metadata_bytes, "v", 1, &value) != MN_OK) {
        r->invalid++;
        return;
    }
    r->seen = value.i;
}

static void *reader(void *arg) {
    reader_state *r = arg;
    uint64_t state = (uint64_t)(uintptr_t)arg;
    char id[16];
    float q[DIM];
    while (atomic_load(&writing)) {
        uint32_t m = (uint32_t)(te_next(&state) % MEMORIES);
        snprintf(id, sizeof(id), "m%u", m);
        r->seen = -1;
        if (mn_space_get(space, id, (uint32_t)strlen(id), NULL, 0, visit, r) == MN_OK &&
            r->seen >= 0) {
            if (r->seen < r->last[m]) r->backwards++;
            r->last[m] = r->seen;
        }
        r->reads++;
        if (r->reads % 16 == 0) {
            te_vector(m, q, DIM);
            uint32_t found = 0;
            mn_space_search(space, q, DIM, 4, 0, visit, r, &found); /* validity only */
        }
    }
    return NULL;
}

int main(void) {
    mn_engine *engine = te_engine(2, 256);
    space = te_space(engine, "live", DIM, MN_METRIC_L2);
    float v[DIM];
    char id[16];
    for (uint32_t m = 0; m < MEMORIES; m++) {
        snprintf(id, sizeof(id), "m%u", m);
        void *doc = NULL;
        size_t bytes = 0;
        doc_v(0, &doc, &bytes);
        te_vector(m, v, DIM);
        te_wait w;
        te_wait_init(&w);
        CHECK_STATUS(mn_space_insert_meta(space, id, (uint32_t)strlen(id), v, DIM, NULL, 0, doc,
                                          bytes, MN_SUBMIT_WAIT, te_wait_done, &w, NULL),
                     MN_OK);
        CHECK_STATUS(te_wait_for(&w), MN_OK);
        mn_meta_free(doc);
    }
    reader_state *states = calloc(READERS, sizeof(reader_state));
    pthread_t threads[READERS + 1];
    for (int i = 0; i < READERS; i++) pthread_create(&threads[i], NULL, reader, &states[i]);
    pthread_create(&threads[READERS], NULL, writer, NULL);
    for (int i = 0; i <= READERS; i++) pthread_join(threads[i], NULL);
    uint64_t reads = 0;
    for (int i = 0; i < READERS; i++) {
        CHECK(states[i].invalid == 0);
        CHECK(states[i].backwards == 0);
        reads += states[i].reads;
    }
    CHECK(reads > 0);
    /* Everyone holds the last round's value. */
    int all = 1;
    for (uint32_t m = 0; m < MEMORIES; m++) {
        snprintf(id, sizeof(id), "m%u", m);
        reader_state r = {{0}, 0, 0, 0, -1};
        all &= mn_space_get(space, id, (uint32_t)strlen(id), NULL, 0, visit, &r) == MN_OK &&
               r.seen == (int64_t)ROUNDS;
    }
    CHECK(all);
    printf("metadata_concurrent: %llu reads during %u writes\n", (unsigned long long)reads,
           ROUNDS * MEMORIES);
    free(states);
    mn_space_release(space);
    mn_engine_destroy(engine);
    return te_report();
}
