/*
 * test_engine_assoc_concurrent.c: recall and export racing the writes of one space (CI runs it
 * under ThreadSanitizer, label "concurrency").
 *
 * Proves: while one thread inserts, upserts, deletes, links and unlinks, reader threads recall
 * (over associations and similarity) and an exporter takes snapshots; no race is reported,
 * every recall succeeds with activations in [threshold, 1] in descending order, every
 * snapshot passes the import's checks, and a final export answers recall as the original.
 */
#include "test_space_support.h"

#define DIM 8
#define MEMORIES 300
#define WRITES 3000
#define READERS 2

typedef struct shared {
    mn_space *space;
    mn_engine *engine;
    _Atomic int stop;
    _Atomic int failures;
} shared;

static void *writer_main(void *argument) {
    shared *s = argument;
    uint64_t state = 99;
    float v[DIM];
    char a[16], b[16];
    for (int i = 0; i < WRITES; i++) {
        int x = (int)(te_next(&state) % MEMORIES), y = (int)(te_next(&state) % MEMORIES);
        snprintf(a, sizeof(a), "m%d", x);
        snprintf(b, sizeof(b), "m%d", y);
        switch (te_next(&state) % 6) {
        case 0:
            te_vector(te_next(&state), v, DIM);
            (void)ts_write(s->space, 1, a, v, DIM, "u");
            break;
        case 1:
            (void)ts_delete(s->space, a);
            break;
        case 2:
            (void)ts_unlink(s->space, a, b);
            break;
        default:
            if (x != y) (void)ts_link(s->space, a, b, 0.2f + 0.8f * (float)(x % 10) / 10.0f, NULL);
            break;
        }
    }
    atomic_store(&s->stop, 1);
    return NULL;
}

static void *reader_main(void *argument) {
    shared *s = argument;
    uint64_t state = 7;
    float v[DIM];
    ts_results r;
    while (!atomic_load(&s->stop)) {
        te_vector(te_next(&state), v, DIM);
        mn_recall_params p;
        mn_recall_params_default(&p);
        p.flags = (te_next(&state) & 1) ? MN_RECALL_NO_SIMILARITY : 0;
        if (ts_recall(s->space, v, DIM, &p, 64, &r) != MN_OK) atomic_fetch_add(&s->failures, 1);
        for (uint32_t i = 0; i < r.count; i++) {
            if (r.items[i].score < p.threshold || r.items[i].score > 1.0f ||
                (i > 0 && r.items[i].score > r.items[i - 1].score)) {
                atomic_fetch_add(&s->failures, 1);
            }
        }
    }
    return NULL;
}

static void *exporter_main(void *argument) {
    shared *s = argument;
    int round = 0;
    while (!atomic_load(&s->stop)) {
        mn_bytes bytes = {0};
        if (mn_space_export(s->space, mn_bytes_write, &bytes) != MN_OK) {
            atomic_fetch_add(&s->failures, 1);
            free(bytes.data);
            break;
        }
        char name[16];
        snprintf(name, sizeof(name), "snap%d", round++);
        mn_space *snap = NULL;
        if (mn_engine_space_import_buffer(s->engine, name, (uint32_t)strlen(name), bytes.data,
                                          bytes.size, &snap) != MN_OK) {
            atomic_fetch_add(&s->failures, 1);
        } else {
            mn_space_release(snap);
            mn_engine_space_drop(s->engine, name, (uint32_t)strlen(name));
        }
        free(bytes.data);
    }
    return NULL;
}

int main(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "race", DIM, MN_METRIC_L2);
    float v[DIM];
    char id[16];
    for (int i = 0; i < MEMORIES; i++) {
        snprintf(id, sizeof(id), "m%d", i);
        te_vector((uint64_t)i, v, DIM);
        CHECK_STATUS(ts_write(space, 0, id, v, DIM, "c"), MN_OK);
    }
    shared s = {space, engine, 0, 0};
    pthread_t writer, exporter, readers[READERS];
    pthread_create(&writer, NULL, writer_main, &s);
    pthread_create(&exporter, NULL, exporter_main, &s);
    for (int i = 0; i < READERS; i++) pthread_create(&readers[i], NULL, reader_main, &s);
    pthread_join(writer, NULL);
    pthread_join(exporter, NULL);
    for (int i = 0; i < READERS; i++) pthread_join(readers[i], NULL);
    CHECK(atomic_load(&s.failures) == 0);
    /* After the dust settles: an export imports, and its space answers as the original. */
    mn_bytes bytes = {0};
    CHECK_STATUS(mn_space_export(space, mn_bytes_write, &bytes), MN_OK);
    mn_space *copy = NULL;
    CHECK_STATUS(mn_engine_space_import_buffer(engine, "final", 5, bytes.data, bytes.size, &copy), MN_OK);
    if (copy) {
        ts_results a, b;
        te_vector(12345, v, DIM);
        CHECK_STATUS(ts_recall(space, v, DIM, NULL, 64, &a), MN_OK);
        CHECK_STATUS(ts_recall(copy, v, DIM, NULL, 64, &b), MN_OK);
        CHECK(ts_same(&a, &b));
        CHECK(ts_links(space) == ts_links(copy));
        mn_space_release(copy);
    }
    free(bytes.data);
    mn_space_release(space);
    mn_engine_destroy(engine);
    return te_report();
}
