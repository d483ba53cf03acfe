/*
 * mn_engine_lazy.c: lazy spaces of a durable engine: a space whose checkpoint holds all of it
 * stays a stub (its id and name, about 40 bytes against ~21 KiB loaded) until first used.
 *
 * Why: a database with many spaces opens in time and memory proportional to the spaces in use,
 * not to all of them. At open (mn_engine_open, mn_engine_durable.c) every checkpointed space
 * with no log record above its checkpoint becomes a stub (mn_lazy_stub_add). The first open or
 * drop of its name imports the checkpoint (mn_lazy_space_load, through the durability table's
 * space_load hook), and mn_engine_unload_idle turns idle, checkpointed spaces back into stubs.
 * Creating or importing a space under a stub's name is MN_ERR_DUPLICATE (mn_lazy_stub_exists),
 * and list and count see loaded spaces and stubs together.
 *
 * Synchronization: the stubs are a chained hash table in struct mn_durable (stubs,
 * stub_buckets, stub_count) under stub_lock. A load holds stub_lock until its space is in the
 * table and its stub gone, so no thread sees the name as both or neither. Lock order:
 * stub_lock, then the engine's table_lock, then checkpoint_lock (mn_engine_durable_internal.h).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "engine/mn_engine_durable_internal.h"
#include "engine/mn_engine_internal.h"

/** An unloaded space: what the open engine keeps of it until first use (about 40 bytes plus
 *  the name, against ~21 KiB for a loaded space). */
struct mn_space_stub {
    struct mn_space_stub *next;
    uint64_t space_id;
    uint64_t hash;
    uint32_t name_bytes;
    char name[];
};

/* ---- state ---- */

void mn_lazy_state_init(struct mn_durable *d) {
    pthread_mutex_init(&d->stub_lock, NULL);
    d->stubs = NULL;
    d->stub_buckets = 0;
    d->stub_count = 0;
}

void mn_lazy_state_free(struct mn_durable *d) {
    for (uint64_t b = 0; b < d->stub_buckets; b++) {
        struct mn_space_stub *stub = d->stubs[b];
        while (stub) {
            struct mn_space_stub *next = stub->next;
            free(stub);
            stub = next;
        }
    }
    free(d->stubs);
    pthread_mutex_destroy(&d->stub_lock);
}

/* ---- the stub table ---- */

static struct mn_space_stub **mn_lazy_find_locked(struct mn_durable *d, const char *name,
                                                  uint32_t name_bytes, uint64_t hash) {
    if (d->stub_buckets == 0) return NULL;
    struct mn_space_stub **link = &d->stubs[hash & (d->stub_buckets - 1)];
    while (*link) {
        if ((*link)->hash == hash && (*link)->name_bytes == name_bytes &&
            memcmp((*link)->name, name, name_bytes) == 0) {
            return link;
        }
        link = &(*link)->next;
    }
    return NULL;
}

/* Adds a stub for (id, name); the caller holds stub_lock. */
static mn_status mn_lazy_add_locked(struct mn_durable *d, uint64_t space_id, const char *name,
                                    uint32_t name_bytes) {
    struct mn_space_stub *stub = malloc(sizeof(*stub) + name_bytes);
    if (!stub) return MN_ERR_NO_MEMORY;
    stub->space_id = space_id;
    stub->name_bytes = name_bytes;
    stub->hash = XXH64(name, name_bytes, 0);
    memcpy(stub->name, name, name_bytes);
    if (d->stub_count + 1 > d->stub_buckets) { /* grow: load factor at most 1 */
        uint64_t buckets = d->stub_buckets ? d->stub_buckets * 2 : 64;
        struct mn_space_stub **grown = calloc((size_t)buckets, sizeof(*grown));
        if (!grown) {
            free(stub);
            return MN_ERR_NO_MEMORY;
        }
        for (uint64_t b = 0; b < d->stub_buckets; b++) {
            struct mn_space_stub *item = d->stubs[b];
            while (item) {
                struct mn_space_stub *next = item->next;
                item->next = grown[item->hash & (buckets - 1)];
                grown[item->hash & (buckets - 1)] = item;
                item = next;
            }
        }
        free(d->stubs);
        d->stubs = grown;
        d->stub_buckets = buckets;
    }
    stub->next = d->stubs[stub->hash & (d->stub_buckets - 1)];
    d->stubs[stub->hash & (d->stub_buckets - 1)] = stub;
    d->stub_count++;
    return MN_OK;
}

mn_status mn_lazy_stub_add(struct mn_durable *d, const mn_checkpoint_loaded *entry) {
    pthread_mutex_lock(&d->stub_lock);
    mn_status status = mn_lazy_add_locked(d, entry->space_id, entry->name, entry->name_bytes);
    pthread_mutex_unlock(&d->stub_lock);
    return status;
}

mn_status mn_engine_unload_idle(mn_engine *engine, uint64_t *unloaded) {
    if (unloaded) *unloaded = 0;
    if (!engine) return MN_ERR_INVALID;
    struct mn_durable *d = engine->durable;
    if (!d) return MN_OK;
    if (atomic_load_explicit(&engine->closed, memory_order_acquire)) return MN_ERR_CLOSED;
    mn_status status = MN_OK;
    struct mn_space *freed = NULL; /* unloaded spaces, chained through table_next */
    uint64_t count = 0;
    /* Lock order as a load's: stub_lock, then the table (publish), then checkpoint_lock. */
    pthread_mutex_lock(&d->stub_lock);
    pthread_mutex_lock(&engine->table_lock);
    for (uint64_t b = 0; b < engine->bucket_count && status == MN_OK; b++) {
        struct mn_space **link = &engine->buckets[b];
        while (*link && status == MN_OK) {
            struct mn_space *space = *link;
            /* Idle: only the table holds it (no handle, not scheduled, no checkpoint in
             * progress), its mailbox is empty and its file holds every op it ever took. */
            pthread_mutex_lock(&d->checkpoint_lock);
            int idle = atomic_load_explicit(&space->refs, memory_order_acquire) == 1 &&
                       atomic_load_explicit(&space->scheduled, memory_order_acquire) == 0 &&
                       mn_mailbox_empty(space) && space->checkpointed &&
                       !space->checkpoint_dead &&
                       space->checkpoint_enqueued ==
                           atomic_load_explicit(&space->enqueue_pos, memory_order_acquire);
            pthread_mutex_unlock(&d->checkpoint_lock);
            if (!idle) {
                link = &space->table_next;
                continue;
            }
            status = mn_lazy_add_locked(d, space->space_id, space->name, space->name_bytes);
            if (status != MN_OK) break;
            *link = space->table_next;
            engine->space_count--;
            space->table_next = freed;
            freed = space;
            count++;
        }
    }
    pthread_mutex_unlock(&engine->table_lock);
    pthread_mutex_unlock(&d->stub_lock);
    while (freed) {
        struct mn_space *next = freed->table_next;
        freed->table_next = NULL;
        mn_space_unref(freed); /* the table's reference: frees it */
        freed = next;
    }
    if (unloaded) *unloaded = count;
    return status;
}

mn_status mn_lazy_space_load(struct mn_engine *engine, const char *name, uint32_t name_bytes,
                             struct mn_space **out) {
    *out = NULL;
    struct mn_durable *d = engine->durable;
    MN_ASSERT(d && "the WAL table's hooks run only on an engine it was chosen for");
    uint64_t hash = XXH64(name, name_bytes, 0);
    pthread_mutex_lock(&d->stub_lock); /* held until the space is in the table */
    struct mn_space_stub **link = mn_lazy_find_locked(d, name, name_bytes, hash);
    mn_status status = MN_OK;
    if (link) {
        struct mn_space_stub *stub = *link;
        mn_checkpoint_loaded entry;
        memset(&entry, 0, sizeof(entry));
        entry.space_id = stub->space_id;
        status = mn_ckpt_load_space(engine, &entry, NULL);
        if (status == MN_OK) {
            struct mn_space *space = entry.space;
            space->checkpointed = 1; /* its file holds all of it */
            space->checkpoint_enqueued =
                atomic_load_explicit(&space->enqueue_pos, memory_order_acquire);
            *link = stub->next;
            d->stub_count--;
            free(stub);
            *out = space;
        }
    } else {
        /* No stub: a load may just have put it in the table. Looked up before stub_lock is
         * released, so an unload cannot turn it back into a stub in between. */
        pthread_mutex_lock(&engine->table_lock);
        struct mn_space *space = mn_engine_table_find_locked(engine, name, name_bytes);
        if (space) mn_space_acquire(space);
        pthread_mutex_unlock(&engine->table_lock);
        *out = space;
    }
    pthread_mutex_unlock(&d->stub_lock);
    return status;
}

int mn_lazy_stub_exists(struct mn_engine *engine, const char *name, uint32_t name_bytes) {
    struct mn_durable *d = engine->durable;
    MN_ASSERT(d && "the WAL table's hooks run only on an engine it was chosen for");
    uint64_t hash = XXH64(name, name_bytes, 0);
    pthread_mutex_lock(&d->stub_lock);
    int exists = mn_lazy_find_locked(d, name, name_bytes, hash) != NULL;
    pthread_mutex_unlock(&d->stub_lock);
    return exists;
}

mn_status mn_lazy_space_count(struct mn_engine *engine, uint64_t *out) {
    struct mn_durable *d = engine->durable;
    pthread_mutex_lock(&d->stub_lock);
    pthread_mutex_lock(&engine->table_lock);
    *out = engine->space_count + d->stub_count;
    pthread_mutex_unlock(&engine->table_lock);
    pthread_mutex_unlock(&d->stub_lock);
    return MN_OK;
}

mn_status mn_lazy_space_list(struct mn_engine *engine, mn_name_visit_fn visit, void *context) {
    struct mn_durable *d = engine->durable;
    pthread_mutex_lock(&d->stub_lock);
    (void)mn_engine_table_list(engine, visit, context); /* always MN_OK */
    for (uint64_t b = 0; b < d->stub_buckets; b++) {
        for (struct mn_space_stub *stub = d->stubs[b]; stub; stub = stub->next) {
            visit(context, stub->name, stub->name_bytes);
        }
    }
    pthread_mutex_unlock(&d->stub_lock);
    return MN_OK;
}
