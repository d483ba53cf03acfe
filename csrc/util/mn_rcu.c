/*
 * mn_rcu.c: lazy liburcu registration, deferred frees in batches, and the ThreadSanitizer
 * annotations that stand for grace periods. See mn_rcu.h.
 */
#include "util/mn_rcu.h"

#include <pthread.h>
#include <stdlib.h>
#include <urcu/urcu-memb.h>

#include "util/mn_assert.h"

#if defined(__SANITIZE_THREAD__)
#define MN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MN_TSAN 1
#endif
#endif

#ifdef MN_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
/* Only its address is used: the synchronisation object standing for "a grace period". */
static char mn_rcu_tsan_token;
#define MN_TSAN_RELEASE() __tsan_release(&mn_rcu_tsan_token)
#define MN_TSAN_ACQUIRE() __tsan_acquire(&mn_rcu_tsan_token)
#else
#define MN_TSAN_RELEASE() ((void)0)
#define MN_TSAN_ACQUIRE() ((void)0)
#endif

struct mn_rcu_retired {
    struct rcu_head head;
    uint32_t count;
    void *blocks[MN_HNSW_RETIRE_BATCH];
};

/* Per-thread registration; the key's destructor unregisters a thread as it exits. */
static pthread_once_t mn_rcu_once = PTHREAD_ONCE_INIT;
static pthread_key_t mn_rcu_key;
static _Thread_local int mn_rcu_thread_registered;

static void mn_rcu_thread_exit(void *value) {
    (void)value;
    urcu_memb_unregister_thread();
}

static void mn_rcu_key_create(void) {
    int rc = pthread_key_create(&mn_rcu_key, mn_rcu_thread_exit);
    MN_ASSERT(rc == 0);
}

static void mn_rcu_register(void) {
    if (__builtin_expect(mn_rcu_thread_registered, 1)) return;
    pthread_once(&mn_rcu_once, mn_rcu_key_create);
    urcu_memb_register_thread();
    pthread_setspecific(mn_rcu_key, &mn_rcu_thread_registered);
    mn_rcu_thread_registered = 1;
}

void mn_rcu_read_lock(void) {
    mn_rcu_register();
    urcu_memb_read_lock();
}

void mn_rcu_read_unlock(void) {
    MN_TSAN_RELEASE();
    urcu_memb_read_unlock();
}

void mn_rcu_synchronize(void) {
    mn_rcu_register();
    urcu_memb_synchronize_rcu();
    MN_TSAN_ACQUIRE();
}

void mn_rcu_barrier(void) {
    mn_rcu_register();
    urcu_memb_barrier();
}

void mn_rcu_grace_acquired(void) { MN_TSAN_ACQUIRE(); }

static void mn_rcu_free_batch(struct rcu_head *head) {
    mn_rcu_retired *retired = caa_container_of(head, mn_rcu_retired, head);
    MN_TSAN_ACQUIRE();
    for (uint32_t i = 0; i < retired->count; i++) free(retired->blocks[i]);
    free(retired);
}

void mn_rcu_retire(mn_rcu_retired **retired, void *block) {
    if (!block) return;
    if (!*retired) {
        *retired = malloc(sizeof(mn_rcu_retired));
        if (!*retired) {
            /* No memory even for a collector. Waiting for a grace period here could deadlock
             * (callers are inside read-side sections), and freeing now is unsafe: the block
             * is deliberately leaked, the one outcome that cannot corrupt a reader. */
            return;
        }
        (*retired)->count = 0;
    }
    (*retired)->blocks[(*retired)->count++] = block;
    if ((*retired)->count == MN_HNSW_RETIRE_BATCH) mn_rcu_retire_flush(retired);
}

mn_status mn_rcu_retire_reserve(mn_rcu_retired **retired, size_t blocks) {
    if (blocks > MN_HNSW_RETIRE_BATCH) blocks = MN_HNSW_RETIRE_BATCH;
    if (*retired && (*retired)->count + blocks > MN_HNSW_RETIRE_BATCH) mn_rcu_retire_flush(retired);
    if (!*retired) {
        *retired = malloc(sizeof(mn_rcu_retired));
        if (!*retired) return MN_ERR_NO_MEMORY;
        (*retired)->count = 0;
    }
    return MN_OK;
}

void mn_rcu_retire_flush(mn_rcu_retired **retired) {
    if (!*retired) return;
    mn_rcu_register();
    urcu_memb_call_rcu(&(*retired)->head, mn_rcu_free_batch);
    *retired = NULL;
}
