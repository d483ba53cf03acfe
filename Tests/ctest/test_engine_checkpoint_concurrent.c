/*
 * test_engine_checkpoint_concurrent.c: proves that checkpoints run alongside writes (under
 * ThreadSanitizer in CI): four writer threads insert into four spaces of a two-worker durable
 * engine while a fifth thread calls mn_engine_checkpoint in a loop and the background thread
 * checkpoints on its own (tiny log limit); a space is also created and dropped repeatedly
 * meanwhile. Every insert completes with MN_OK, and after reopen every acknowledged memory is
 * present with its content: nothing written around a checkpoint's cut is lost. Then lazy
 * spaces under contention: three readers open stubs (loading them) while a thread checkpoints
 * and unloads idle spaces back to stubs; every open and get succeeds, the count never moves. (This test
 * found writes drained in the same group as, and after, an export marker: they counted in the
 * checkpoint's sequence without being in it; a marker now ends its group.)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_durable_support.h"

#define DIM 8u
#define WRITERS 4u
#define PER_WRITER 300u

static mn_engine *open_engine(const char *path, uint64_t checkpoint_log_bytes) {
    mn_status status = MN_OK;
    mn_engine *engine = td_open(path, 2, MN_DURABLE_NONE, 0, 8192u, checkpoint_log_bytes, &status,
                                NULL);
    if (status != MN_OK) {
        fprintf(stderr, "open: %s\n", mn_status_string(status));
        exit(2);
    }
    return engine;
}

typedef struct writer {
    mn_engine *engine;
    uint32_t index;
    uint32_t failures;
} writer;

static _Atomic int writers_done;

typedef struct found {
    const char *want;
    int ok;
} found;

static void visit_found_any(void *context, const mn_memory_view *view) {
    (void)context;
    (void)view;
}

static void visit_found(void *context, const mn_memory_view *view) {
    found *f = context;
    f->ok = view->content_bytes == strlen(f->want) &&
            memcmp(view->content, f->want, view->content_bytes) == 0;
}

static void *write_loop(void *context) {
    writer *w = context;
    char name[16], id[32], content[48];
    snprintf(name, sizeof(name), "space-%u", w->index);
    mn_space *space = NULL;
    if (mn_engine_space_open(w->engine, name, (uint32_t)strlen(name), &space) != MN_OK) {
        w->failures++;
        return NULL;
    }
    for (uint32_t i = 0; i < PER_WRITER; i++) {
        float v[DIM];
        te_vector(w->index * 100000u + i, v, DIM);
        snprintf(id, sizeof(id), "w%u-%u", w->index, i);
        snprintf(content, sizeof(content), "content %u/%u", w->index, i);
        if (te_insert(space, id, v, DIM, content, NULL) != MN_OK) w->failures++;
    }
    mn_space_release(space);
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

static void *checkpoint_loop(void *context) {
    mn_engine *engine = context;
    uint32_t failures = 0, round = 0;
    while (atomic_load(&writers_done) < (int)WRITERS) {
        if (mn_engine_checkpoint(engine, NULL) != MN_OK) failures++;
        /* A short-lived space: created, written, dropped around the checkpoints. */
        mn_space *temp = te_space(engine, "temp", DIM, MN_METRIC_L2);
        float v[DIM];
        te_vector(round++, v, DIM);
        if (te_insert(temp, "t", v, DIM, "t", NULL) != MN_OK) failures++;
        mn_space_release(temp);
        if (mn_engine_space_drop(engine, "temp", 4) != MN_OK) failures++;
        usleep(1000);
    }
    return (void *)(uintptr_t)failures;
}

/* Lazy spaces under contention: readers open (loading stubs), read and release the four
 * spaces while another thread checkpoints and unloads idle spaces back to stubs. */
typedef struct lazy_reader {
    mn_engine *engine;
    uint32_t failures;
} lazy_reader;

static _Atomic int lazy_stop;

static void *lazy_read_loop(void *context) {
    lazy_reader *r = context;
    for (uint32_t round = 0; round < 200; round++) {
        uint32_t s = round % WRITERS;
        char name[16], id[32];
        snprintf(name, sizeof(name), "space-%u", s);
        snprintf(id, sizeof(id), "w%u-%u", s, round % PER_WRITER);
        mn_space *space = NULL;
        mn_status status = mn_engine_space_open(r->engine, name, (uint32_t)strlen(name), &space);
        if (status != MN_OK) {
            fprintf(stderr, "open %s: %s\n", name, mn_status_string(status));
            r->failures++;
            continue;
        }
        float v[DIM];
        status = mn_space_get(space, id, (uint32_t)strlen(id), v, DIM, visit_found_any, NULL);
        if (status != MN_OK) {
            fprintf(stderr, "get %s %s: %s\n", name, id, mn_status_string(status));
            r->failures++;
        }
        mn_space_release(space);
    }
    return NULL;
}

static void *unload_loop(void *context) {
    mn_engine *engine = context;
    uintptr_t failures = 0;
    while (!atomic_load(&lazy_stop)) {
        uint64_t unloaded = 0, count = 0;
        mn_status status = mn_engine_checkpoint(engine, NULL);
        if (status != MN_OK) {
            fprintf(stderr, "checkpoint: %s\n", mn_status_string(status));
            failures++;
        }
        status = mn_engine_unload_idle(engine, &unloaded);
        if (status != MN_OK) {
            fprintf(stderr, "unload: %s\n", mn_status_string(status));
            failures++;
        }
        mn_engine_space_count(engine, &count);
        if (count != WRITERS) { /* loaded or stub, every space counts once */
            fprintf(stderr, "count %llu\n", (unsigned long long)count);
            failures++;
        }
    }
    return (void *)failures;
}

int main(void) {
    char root[] = "/tmp/mnemo-ckpt-conc-XXXXXX";
    if (!mkdtemp(root)) return 2;
    char path[64];
    snprintf(path, sizeof(path), "%s/db", root);
    mn_engine *engine = open_engine(path, 32u * 1024u);
    for (uint32_t s = 0; s < WRITERS; s++) {
        char name[16];
        snprintf(name, sizeof(name), "space-%u", s);
        mn_space_release(te_space(engine, name, DIM, MN_METRIC_L2));
    }
    pthread_t threads[WRITERS], checkpointer;
    writer writers[WRITERS];
    for (uint32_t s = 0; s < WRITERS; s++) {
        writers[s] = (writer){engine, s, 0};
        pthread_create(&threads[s], NULL, write_loop, &writers[s]);
    }
    pthread_create(&checkpointer, NULL, checkpoint_loop, engine);
    for (uint32_t s = 0; s < WRITERS; s++) {
        pthread_join(threads[s], NULL);
        CHECK(writers[s].failures == 0);
    }
    void *checkpoint_failures = NULL;
    pthread_join(checkpointer, &checkpoint_failures);
    CHECK(checkpoint_failures == NULL);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);

    engine = open_engine(path, 0);
    mn_space *gone = NULL;
    CHECK_STATUS(mn_engine_space_open(engine, "temp", 4, &gone), MN_ERR_UNKNOWN_SPACE);
    for (uint32_t s = 0; s < WRITERS; s++) {
        char name[16], id[32], content[48];
        snprintf(name, sizeof(name), "space-%u", s);
        mn_space *space = NULL;
        CHECK_STATUS(mn_engine_space_open(engine, name, (uint32_t)strlen(name), &space), MN_OK);
        if (!space) continue;
        uint32_t present = 0;
        for (uint32_t i = 0; i < PER_WRITER; i++) {
            snprintf(id, sizeof(id), "w%u-%u", s, i);
            snprintf(content, sizeof(content), "content %u/%u", s, i);
            float v[DIM], expected[DIM];
            te_vector(s * 100000u + i, expected, DIM);
            found f = {content, 0};
            if (mn_space_get(space, id, (uint32_t)strlen(id), v, DIM, visit_found, &f) == MN_OK &&
                f.ok && memcmp(v, expected, sizeof(v)) == 0) {
                present++;
            } else {
                fprintf(stderr, "missing %s\n", id);
            }
        }
        if (present != PER_WRITER) fprintf(stderr, "%s: %u of %u\n", name, present, PER_WRITER);
        CHECK(present == PER_WRITER);
        mn_space_release(space);
    }
    CHECK_STATUS(mn_engine_checkpoint(engine, NULL), MN_OK);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);

    engine = open_engine(path, 0); /* every space a stub now */
    lazy_reader readers[3];
    pthread_t reader_threads[3], unloader;
    pthread_create(&unloader, NULL, unload_loop, engine);
    for (int i = 0; i < 3; i++) {
        readers[i] = (lazy_reader){engine, 0};
        pthread_create(&reader_threads[i], NULL, lazy_read_loop, &readers[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(reader_threads[i], NULL);
        CHECK(readers[i].failures == 0);
    }
    atomic_store(&lazy_stop, 1);
    void *unload_failures = NULL;
    pthread_join(unloader, &unload_failures);
    CHECK(unload_failures == NULL);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return te_report();
}
