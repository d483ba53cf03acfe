/*
 * mn_hnsw.c: the HNSW graph of one memory space: insert (single, batch, concurrent), search,
 * remove with deferred repair and slot reuse, and accessors.
 *
 * The algorithm is Malkov & Yashunin's (layers with exponentially decaying membership, greedy
 * descent on the upper layers, a beam search of width ef on the target layer, and the
 * heuristic neighbour selection of their Algorithm 4). What this file adds is the concurrency
 * contract of mn_hnsw.h: searchers never lock and never see a half-written list or vector,
 * several inserters link into the same index at once, and memory a reader may still hold is
 * freed only after an RCU grace period. See mn_hnsw_internal.h for the node layout.
 *
 * Per-thread scratch (visited marks, heaps, a normalised query) lives in thread-local storage
 * so the search path allocates nothing once warm; it is freed when the thread exits. *
 * Updates in place
 * ----------------
 * mn_hnsw_update replaces a node's vector and repairs its neighbourhood instead of a removal
 * plus an insert, so an index whose vectors are rewritten does not grow or need repair passes.
 * The hard part is the vector itself: it lives in the node record, which searches read with
 * no lock, and a memcpy under a running distance computation would give that search a torn
 * vector (half old, half new). Three ways were weighed:
 *   - a second vector slot per node, flipped by a release store: doubles vector storage, and a
 *     slot can be rewritten only a grace period after the flip anyway;
 *   - a seqlock readers retry on: every distance would read a counter in the node header (a
 *     second cache line), retries have no bound under a hot key, and the copy races the SIMD
 *     kernels' plain loads (a C11 data race ThreadSanitizer rightly reports);
 *   - publishing the new vector through an RCU pointer. Chosen, with the pointer kept short-
 *     lived: the node's `moved` field points at an out-of-line copy of the new vector
 *     (release store, after `moved_count` counts the node). Readers sample `moved_count` once
 *     per layer search; while it is zero, which is always outside an update burst, they read
 *     node vectors exactly as before (no extra load on the search path); otherwise they read
 *     `moved` (acquire) and take the copy when it is set. Every MN_HNSW_SETTLE_BATCH updated
 *     nodes (and before a repair pass), the settle step waits for one grace period, copies
 *     each copy into its node, clears `moved` (release), retires the copies through RCU and
 *     lowers `moved_count`. A reader that skipped `moved` began before that grace period (so
 *     it has finished) or after the count was raised (so it does look at `moved`): no reader
 *     is ever inside the bytes being copied. A node updated again before it settles just gets
 *     a new copy (the old one retired).
 * Updates, the settle step, the repair pass and save hold `writers` exclusively, so inserts
 * never run against an update: only lock-free readers do. An update batch
 * (mn_hnsw_update_batch_begin, csrc/hnsw/mn_hnsw_batch.h) holds it for several updates of
 * distinct nodes that its workers apply concurrently; each list they re-select is read and
 * replaced under its node's lock, as inserts' links back are. The neighbourhood repair follows
 * hnswlib's updatePoint: the old neighbours that link to the node re-select their lists from
 * their lists plus its old neighbours, then the node's own lists are chosen from a search
 * around the new vector plus its old neighbours, and linked back like an insert's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hnsw/mn_hnsw_internal.h"
#include "numa/mn_numa.h"
#include "util/mn_assert.h"

/* ------------------------------------------------------------------------------------------ */
/* Per-thread scratch                                                                          */
/* ------------------------------------------------------------------------------------------ */

static pthread_once_t mn_scratch_once = PTHREAD_ONCE_INIT;
static pthread_key_t mn_scratch_key;
static _Thread_local mn_scratch *mn_scratch_current;

static void mn_scratch_destroy(void *value) {
    mn_scratch *scratch = value;
    if (!scratch) return;
    mn_rcu_retire_flush(&scratch->retired);
    free(scratch->visited);
    free(scratch->candidates.items);
    free(scratch->results.items);
    free(scratch->selection.items);
    free(scratch->chosen);
    free(scratch->pruned);
    free(scratch->codes_bounded);
    free(scratch);
}

static void mn_scratch_key_create(void) {
    int rc = pthread_key_create(&mn_scratch_key, mn_scratch_destroy);
    MN_ASSERT(rc == 0);
}

mn_scratch *mn_scratch_get(void) {
    mn_scratch *scratch = mn_scratch_current;
    if (__builtin_expect(scratch != NULL, 1)) return scratch;
    pthread_once(&mn_scratch_once, mn_scratch_key_create);
    scratch = calloc(1, sizeof(mn_scratch));
    if (!scratch) return NULL;
    scratch->chosen = malloc(MN_LIST_SCRATCH * sizeof(uint32_t));
    scratch->pruned = malloc(MN_LIST_SCRATCH * sizeof(mn_pair));
    if (!scratch->chosen || !scratch->pruned) {
        mn_scratch_destroy(scratch);
        return NULL;
    }
    pthread_setspecific(mn_scratch_key, scratch);
    mn_scratch_current = scratch;
    return scratch;
}

mn_status mn_heap_reserve(mn_heap *heap, uint32_t capacity) {
    if (heap->capacity >= capacity) return MN_OK;
    uint32_t grown = heap->capacity ? heap->capacity : 64;
    while (grown < capacity) grown *= 2;
    mn_pair *items = realloc(heap->items, (size_t)grown * sizeof(mn_pair));
    if (!items) return MN_ERR_NO_MEMORY;
    heap->items = items;
    heap->capacity = grown;
    return MN_OK;
}

mn_status mn_scratch_reserve_codes(mn_scratch *scratch, size_t rows) {
    if (scratch->codes_capacity >= rows) return MN_OK;
    size_t grown = scratch->codes_capacity ? scratch->codes_capacity : 1024;
    while (grown < rows) grown *= 2;
    float *bounded = realloc(scratch->codes_bounded, grown * sizeof(float));
    if (!bounded) return MN_ERR_NO_MEMORY;
    scratch->codes_bounded = bounded;
    scratch->codes_capacity = grown;
    return MN_OK;
}

/* Makes the visited marks cover `slots` slots and starts a new epoch. */
mn_status mn_scratch_begin_visit(mn_scratch *scratch, uint32_t slots) {
    if (scratch->visited_capacity < slots) {
        uint32_t grown = scratch->visited_capacity ? scratch->visited_capacity : 1024;
        while (grown < slots) grown = grown > UINT32_MAX / 2 ? slots : grown * 2;
        uint16_t *visited = realloc(scratch->visited, (size_t)grown * sizeof(uint16_t));
        if (!visited) return MN_ERR_NO_MEMORY;
        memset(visited + scratch->visited_capacity, 0,
               (size_t)(grown - scratch->visited_capacity) * sizeof(uint16_t));
        scratch->visited = visited;
        scratch->visited_capacity = grown;
    }
    if (++scratch->epoch == 0) {
        memset(scratch->visited, 0, (size_t)scratch->visited_capacity * sizeof(uint16_t));
        scratch->epoch = 1;
    }
    return MN_OK;
}

/* Sorts ascending by (distance, slot): insertion sort for short runs, heap sort otherwise
 * (inline comparisons; qsort's indirect calls dominated neighbour selection). */
static void mn_pairs_sort(mn_pair *pairs, uint32_t count) {
    if (count <= 48) {
        for (uint32_t i = 1; i < count; i++) {
            mn_pair item = pairs[i];
            uint32_t j = i;
            while (j > 0 && mn_pair_less(item, pairs[j - 1])) {
                pairs[j] = pairs[j - 1];
                j--;
            }
            pairs[j] = item;
        }
        return;
    }
    /* Build a max-heap, then move the maximum to the end repeatedly. */
    for (uint32_t start = count / 2; start-- > 0;) {
        uint32_t root = start;
        for (;;) {
            uint32_t child = 2 * root + 1;
            if (child >= count) break;
            if (child + 1 < count && mn_pair_less(pairs[child], pairs[child + 1])) child++;
            if (!mn_pair_less(pairs[root], pairs[child])) break;
            mn_pair t = pairs[root]; pairs[root] = pairs[child]; pairs[child] = t;
            root = child;
        }
    }
    for (uint32_t end = count; end-- > 1;) {
        mn_pair t = pairs[0]; pairs[0] = pairs[end]; pairs[end] = t;
        uint32_t root = 0;
        for (;;) {
            uint32_t child = 2 * root + 1;
            if (child >= end) break;
            if (child + 1 < end && mn_pair_less(pairs[child], pairs[child + 1])) child++;
            if (!mn_pair_less(pairs[root], pairs[child])) break;
            t = pairs[root]; pairs[root] = pairs[child]; pairs[child] = t;
            root = child;
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Creation, storage, validation                                                               */
/* ------------------------------------------------------------------------------------------ */

mn_status mn_hnsw_params_default(uint32_t dimension, mn_metric metric, mn_hnsw_params *out) {
    if (!out) return MN_ERR_INVALID;
    out->dimension = dimension;
    out->metric = metric;
    out->m = 16;
    out->ef_construction = 200;
    out->seed = 42;
    out->simd_level = MN_SIMD_AUTO;
    out->numa_node = -1;
    return MN_OK;
}

static mn_status mn_hnsw_validate_params(const mn_hnsw_params *params) {
    if (!params) return MN_ERR_INVALID;
    if (params->dimension == 0 || params->dimension > MN_DIMENSION_MAX) return MN_ERR_DIMENSION;
    if (params->metric != MN_METRIC_L2 && params->metric != MN_METRIC_IP &&
        params->metric != MN_METRIC_COSINE)
        return MN_ERR_INVALID;
    if (params->m < MN_HNSW_M_MIN || params->m > MN_HNSW_M_MAX) return MN_ERR_INVALID;
    if (params->ef_construction == 0 || params->ef_construction > MN_HNSW_EF_MAX)
        return MN_ERR_INVALID;
    return MN_OK;
}

mn_status mn_hnsw_create_internal(const mn_hnsw_params *params, mn_hnsw **out) {
    mn_status status = mn_hnsw_validate_params(params);
    if (status != MN_OK) return status;
    mn_distance_fn distance = NULL;
    mn_metric kernel_metric = params->metric == MN_METRIC_L2 ? MN_METRIC_L2 : MN_METRIC_IP;
    status = mn_distance_kernel(kernel_metric, params->simd_level, &distance);
    if (status != MN_OK) return status;
    mn_distance4_fn distance4 = NULL;
    status = mn_distance_kernel4(kernel_metric, params->simd_level, &distance4);
    if (status != MN_OK) return status;
    mn_distance4_fn distance4_exact = NULL;
    status = mn_distance_kernel4_exact(kernel_metric, params->simd_level, &distance4_exact);
    if (status != MN_OK) return status;
    mn_dot_u8_fn dot_u8 = NULL;
    status = mn_dot_u8_kernel(params->simd_level, &dot_u8);
    if (status != MN_OK) return status;

    mn_hnsw *index = mn_numa_alloc(sizeof(mn_hnsw), params->numa_node);
    if (!index) return MN_ERR_NO_MEMORY;
    index->params = *params;
    index->distance = distance;
    index->distance4 = distance4;
    index->distance4_exact = distance4_exact;
    index->dot_u8 = dot_u8;
    index->m_upper = params->m;
    index->m_base = params->m * 2;
    index->level_multiplier = 1.0 / log((double)params->m);
    size_t vector_bytes = (size_t)params->dimension * sizeof(float);
    index->node_stride = MN_HNSW_NODE_HEADER_SIZE +
                         ((vector_bytes + MN_CACHE_LINE_SIZE - 1) & ~(size_t)(MN_CACHE_LINE_SIZE - 1));
    for (int s = 0; s < MN_HNSW_SEGMENTS_MAX; s++) atomic_init(&index->segments[s], NULL);
    atomic_init(&index->next_slot, 0);
    atomic_init(&index->entry, MN_HNSW_ENTRY_NONE);
    atomic_init(&index->live_count, 0);
    atomic_init(&index->deleted_count, 0);
    atomic_init(&index->pending_count, 0);
    atomic_init(&index->list_bytes, 0);
    atomic_init(&index->moved_count, 0);
    atomic_init(&index->vector_changes, 0);
    index->moved_slots = NULL;
    index->moved_used = 0;

    pthread_rwlockattr_t attributes;
    pthread_rwlockattr_init(&attributes);
    /* The repair pass and save must not starve behind a stream of inserts. */
    pthread_rwlockattr_setkind_np(&attributes, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&index->writers, &attributes);
    pthread_rwlockattr_destroy(&attributes);
    rc |= pthread_mutex_init(&index->alloc_lock, NULL);
    rc |= pthread_mutex_init(&index->idmap_lock, NULL);
    rc |= pthread_mutex_init(&index->entry_lock, NULL);
    MN_ASSERT(rc == 0);
    *out = index;
    return MN_OK;
}

mn_status mn_hnsw_create(const mn_hnsw_params *params, mn_hnsw **out) {
    if (!out) return MN_ERR_INVALID;
    return mn_hnsw_create_internal(params, out);
}

static void mn_node_free_lists(mn_hnsw *index, mn_hnsw_node *node) {
    for (uint32_t level = 0; level <= node->level; level++) {
        if (level > 0 && !node->upper) break;
        mn_hnsw_links *links = atomic_load_explicit(mn_hnsw_links_ref(node, level), memory_order_relaxed);
        if (links) {
            atomic_fetch_sub_explicit(&index->list_bytes,
                                      (int64_t)(sizeof(mn_hnsw_links) + links->count * sizeof(uint32_t)),
                                      memory_order_relaxed);
            free(links);
        }
    }
    if (node->upper) {
        atomic_fetch_sub_explicit(&index->list_bytes, (int64_t)(node->level * sizeof(void *)),
                                  memory_order_relaxed);
        free((void *)node->upper);
    }
    node->upper = NULL;
    atomic_store_explicit(&node->links0, NULL, memory_order_relaxed);
}

mn_status mn_hnsw_destroy(mn_hnsw *index) {
    if (!index) return MN_OK;
    /* Lists retired by earlier writes may still wait in call_rcu; they are plain blocks that
     * do not refer to the index, so they need not be waited for. */
    uint32_t slots = atomic_load(&index->next_slot);
    for (uint32_t slot = 0; slot < slots; slot++) {
        mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
        if (atomic_load(&node->state) == MN_HNSW_STATE_FREE) continue;
        mn_node_free_lists(index, node);
        free(atomic_load(&node->moved)); /* an update not settled */
    }
    free(index->moved_slots);
    for (int s = 0; s < MN_HNSW_SEGMENTS_MAX; s++) mn_numa_free(atomic_load(&index->segments[s]));
    free(index->free_slots);
    mn_hnsw_idmap_free(&index->idmap);
    pthread_rwlock_destroy(&index->writers);
    pthread_mutex_destroy(&index->alloc_lock);
    pthread_mutex_destroy(&index->idmap_lock);
    pthread_mutex_destroy(&index->entry_lock);
    mn_numa_free(index);
    return MN_OK;
}

mn_status mn_hnsw_params_get(const mn_hnsw *index, mn_hnsw_params *out) {
    if (!index || !out) return MN_ERR_INVALID;
    *out = index->params;
    return MN_OK;
}

mn_status mn_hnsw_ensure_slots(mn_hnsw *index, uint32_t count) {
    if (count == 0) return MN_OK;
    if (count > MN_HNSW_NODES_MAX) return MN_ERR_TOO_LARGE;
    uint32_t first;
    uint32_t last_segment = mn_hnsw_segment_of(count - 1, &first);
    for (uint32_t s = 0; s <= last_segment; s++) {
        if (atomic_load_explicit(&index->segments[s], memory_order_relaxed)) continue;
        size_t nodes = (size_t)MN_HNSW_SEGMENT_BASE << s;
        uint8_t *segment = mn_numa_alloc(nodes * index->node_stride, index->params.numa_node);
        if (!segment) return MN_ERR_NO_MEMORY;
        atomic_store_explicit(&index->segments[s], segment, memory_order_release);
    }
    return MN_OK;
}

mn_hnsw_links *mn_hnsw_links_new(mn_hnsw *index, uint32_t count) {
    size_t bytes = sizeof(mn_hnsw_links) + (size_t)count * sizeof(uint32_t);
    mn_hnsw_links *links = malloc(bytes);
    if (!links) return NULL;
    links->count = count;
    atomic_fetch_add_explicit(&index->list_bytes, (int64_t)bytes, memory_order_relaxed);
    return links;
}

static void mn_links_retire(mn_hnsw *index, mn_scratch *scratch, mn_hnsw_links *links) {
    if (!links) return;
    atomic_fetch_sub_explicit(&index->list_bytes,
                              (int64_t)(sizeof(mn_hnsw_links) + links->count * sizeof(uint32_t)),
                              memory_order_relaxed);
    mn_rcu_retire(&scratch->retired, links);
}

mn_status mn_hnsw_node_init_upper(mn_hnsw_node *node, uint32_t level) {
    node->upper = NULL;
    if (level == 0) return MN_OK;
    node->upper = calloc(level, sizeof(*node->upper));
    return node->upper ? MN_OK : MN_ERR_NO_MEMORY;
}

static inline void mn_node_lock(mn_hnsw_node *node) {
    for (;;) {
        if (!atomic_exchange_explicit(&node->lock, 1, memory_order_acquire)) return;
        while (atomic_load_explicit(&node->lock, memory_order_relaxed)) __builtin_ia32_pause();
    }
}

static inline void mn_node_unlock(mn_hnsw_node *node) {
    atomic_store_explicit(&node->lock, 0, memory_order_release);
}

/* The exponent field of an IEEE 754 single: all ones for infinities and NaNs. */
#define MN_FLOAT_EXPONENT_MASK 0x7f800000u

/* Checks a caller's vector; for cosine, writes the unit vector to `normalized`. */
mn_status mn_hnsw_check_vector(const mn_hnsw *index, const float *vector, uint32_t dimension,
                                      float *normalized) {
    if (!vector) return MN_ERR_INVALID;
    if (dimension != index->params.dimension) return MN_ERR_DIMENSION;
    /* A float is NaN or infinite exactly when its exponent bits are all set: an integer test
     * per value that compilers vectorise, where isfinite() and a double sum per value cost a
     * 784-d query about a microsecond, a tenth of a low-ef search. */
    uint32_t non_finite = 0;
    for (uint32_t i = 0; i < dimension; i++) {
        uint32_t bits;
        memcpy(&bits, &vector[i], sizeof bits);
        non_finite |= (uint32_t)((bits & MN_FLOAT_EXPONENT_MASK) == MN_FLOAT_EXPONENT_MASK);
    }
    if (non_finite) return MN_ERR_NON_FINITE;
    if (index->params.metric == MN_METRIC_COSINE) {
        double norm = 0.0;
        for (uint32_t i = 0; i < dimension; i++) norm += (double)vector[i] * (double)vector[i];
        if (norm == 0.0 || !isfinite(norm)) return MN_ERR_ZERO_VECTOR;
        float scale = (float)(1.0 / sqrt(norm));
        for (uint32_t i = 0; i < dimension; i++) normalized[i] = vector[i] * scale;
    } else {
        memcpy(normalized, vector, (size_t)dimension * sizeof(float));
    }
    return MN_OK;
}

/* The level of an id: deterministic in (seed, id), so concurrent builds agree. */
static uint32_t mn_hnsw_level_of(const mn_hnsw *index, uint64_t id) {
    uint64_t x = id ^ index->params.seed;
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    double uniform = ((double)(x >> 11) + 0.5) * 0x1.0p-53; /* in (0, 1) */
    double level = -log(uniform) * index->level_multiplier;
    return level >= MN_HNSW_LEVEL_MAX ? MN_HNSW_LEVEL_MAX : (uint32_t)level;
}

/* ------------------------------------------------------------------------------------------ */
/* Search                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static inline float mn_dist_to(const mn_hnsw *index, const float *query, uint32_t slot) {
    return index->distance(query, mn_vector_read(mn_hnsw_node_at(index, slot), mn_watch_moved(index)),
                           index->params.dimension);
}

/* Greedy descent on one upper layer: moves *current to a local minimum. Inside RCU. Each
 * round scores the whole list at once (four vectors per kernel call, every vector requested
 * before the first is read): the same minimum as one at a time, strict `<` keeping the first
 * of equals, with the misses overlapped instead of taken one after another. */
void mn_greedy(const mn_hnsw *index, const float *query, uint32_t level, uint32_t *current,
                      float *current_distance) {
    const uint32_t dimension = index->params.dimension;
    const int watch = mn_watch_moved(index);
    const float *vectors[MN_LIST_SCRATCH];
    float scores[MN_LIST_SCRATCH];
    for (;;) {
        mn_hnsw_links *links = mn_links_load(mn_hnsw_node_at(index, *current), level);
        if (!links) break;
        uint32_t count = links->count;
        MN_ASSERT(count <= MN_LIST_SCRATCH);
        for (uint32_t i = 0; i < count; i++) {
            vectors[i] = mn_vector_read(mn_hnsw_node_at(index, links->slots[i]), watch);
            __builtin_prefetch(vectors[i]);
        }
        uint32_t i = 0;
        for (; i + 4 <= count; i += 4) index->distance4(query, vectors + i, dimension, scores + i);
        for (; i < count; i++) scores[i] = index->distance(query, vectors[i], dimension);
        int changed = 0;
        for (i = 0; i < count; i++) {
            if (scores[i] < *current_distance) {
                *current_distance = scores[i];
                *current = links->slots[i];
                changed = 1;
            }
        }
        if (!changed) break;
    }
}

/*
 * Beam search of width ef on `level` from `entry`. Leaves the best ef nodes (LIVE ones only
 * when `live_only`) in scratch->results as a max-heap. Inside RCU; nodes with slots at or past
 * `visible` were inserted after the search began and are skipped.
 */
static mn_status mn_search_layer(const mn_hnsw *index, mn_scratch *scratch, const float *query,
                                 uint32_t entry, float entry_distance, uint32_t ef, uint32_t level,
                                 int live_only, uint32_t visible) {
    /* The greedy descent may end on a node inserted after `visible` was read: cover it too,
     * or marking it visited would write past the visited array. */
    if (entry >= visible) visible = entry + 1;
    mn_status status = mn_scratch_begin_visit(scratch, visible);
    if (status != MN_OK) return status;
    status = mn_heap_reserve(&scratch->results, ef + 1);
    if (status != MN_OK) return status;
    mn_heap *candidates = &scratch->candidates;
    mn_heap *results = &scratch->results;
    candidates->size = 0;
    results->size = 0;
    status = mn_heap_reserve(candidates, ef + 1);
    if (status != MN_OK) return status;

    uint16_t epoch = scratch->epoch;
    uint16_t *visited = scratch->visited;
    /* Only DELETED and PENDING nodes are filtered; while there are none, skip the state reads. */
    const int filter = live_only && (atomic_load_explicit(&((mn_hnsw *)index)->deleted_count, memory_order_acquire) |
                                     atomic_load_explicit(&((mn_hnsw *)index)->pending_count, memory_order_acquire)) != 0;
    const uint32_t dimension = index->params.dimension;
    const mn_distance_fn distance = index->distance;
    const mn_distance4_fn distance4 = index->distance4;
    const int watch = mn_watch_moved(index);

    visited[entry] = epoch;
    mn_heap_push(candidates, (mn_pair){entry_distance, entry}, 0);
    float bound = INFINITY;
    mn_hnsw_node *entry_node = mn_hnsw_node_at(index, entry);
    if (!filter || atomic_load_explicit(&entry_node->state, memory_order_acquire) == MN_HNSW_STATE_LIVE) {
        mn_heap_push(results, (mn_pair){entry_distance, entry}, 1);
        bound = entry_distance;
    }

    /* Prefetch depth: a few lines of a vector past its first, when the index outgrows the
     * caches (below that, the extra prefetches cost more than they save). */
    const size_t vector_lines = (index->node_stride - MN_HNSW_NODE_HEADER_SIZE) / MN_CACHE_LINE_SIZE;
    const size_t prefetch_lines =
        (size_t)visible * index->node_stride > MN_HNSW_PREFETCH_DEEP_BYTES
            ? (vector_lines < MN_HNSW_PREFETCH_LINES ? vector_lines : MN_HNSW_PREFETCH_LINES)
            : 1;
    mn_hnsw_node *fresh[MN_LIST_SCRATCH];
    const float *fresh_vectors[MN_LIST_SCRATCH];
    uint32_t fresh_slots[MN_LIST_SCRATCH];
    while (candidates->size > 0) {
        mn_pair current = candidates->items[0];
        if (current.distance > bound && results->size >= ef) break;
        mn_heap_pop(candidates, 0);
        mn_hnsw_links *links = mn_links_load(mn_hnsw_node_at(index, current.slot), level);
        if (candidates->size > 0) {
            /* The likely next candidate: its list (header prefetched by the last round). */
            mn_hnsw_node *next = mn_hnsw_node_at(index, candidates->items[0].slot);
            mn_hnsw_links *next_links = atomic_load_explicit(mn_hnsw_links_ref(next, level), memory_order_relaxed);
            if (next_links) __builtin_prefetch(next_links);
            if (candidates->size > 1) __builtin_prefetch(mn_hnsw_node_at(index, candidates->items[1].slot));
        }
        if (!links) continue;
        /* Pass 1: the unvisited neighbours, with the first line of each vector requested. */
        uint32_t count = 0;
        for (uint32_t i = 0; i < links->count; i++) {
            uint32_t slot = links->slots[i];
            if (slot >= visible || visited[slot] == epoch) continue;
            visited[slot] = epoch;
            mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
            const float *vector = mn_vector_read(node, watch);
            fresh[count] = node;
            fresh_vectors[count] = vector;
            fresh_slots[count++] = slot;
            /* The header too: it holds the list pointer read if this node becomes the next
             * candidate, and the state the filter reads. */
            __builtin_prefetch(node);
            __builtin_prefetch(vector);
        }
        /* Pass 2: distances, four at a time, pulling in the next group while this one is read. */
        float scores[MN_LIST_SCRATCH];
        for (uint32_t i = 0; i < count; i += 4) {
            for (uint32_t j = i + 4; j < i + 8 && j < count; j++) {
                const char *next = (const char *)fresh_vectors[j];
                for (size_t line = 1; line < prefetch_lines; line++)
                    __builtin_prefetch(next + line * MN_CACHE_LINE_SIZE);
            }
            if (i + 4 <= count) {
                const float *group[4] = {fresh_vectors[i], fresh_vectors[i + 1], fresh_vectors[i + 2],
                                         fresh_vectors[i + 3]};
                distance4(query, group, dimension, scores + i);
            } else {
                for (uint32_t j = i; j < count; j++) scores[j] = distance(query, fresh_vectors[j], dimension);
            }
        }
        const uint32_t top_before = candidates->size > 0 ? candidates->items[0].slot : MN_HNSW_SLOT_NONE;
        for (uint32_t i = 0; i < count; i++) {
            mn_hnsw_node *node = fresh[i];
            float d = scores[i];
            if (results->size < ef || d < bound) {
                if (candidates->size == candidates->capacity) {
                    status = mn_heap_reserve(candidates, candidates->capacity + 1);
                    if (status != MN_OK) return status;
                }
                mn_heap_push(candidates, (mn_pair){d, fresh_slots[i]}, 0);
                if (!filter ||
                    atomic_load_explicit(&node->state, memory_order_acquire) == MN_HNSW_STATE_LIVE) {
                    if (results->size < ef) mn_heap_push(results, (mn_pair){d, fresh_slots[i]}, 1);
                    else mn_heap_replace_top(results, (mn_pair){d, fresh_slots[i]});
                    bound = results->items[0].distance;
                }
            }
        }
        /* A neighbour just scored is now the closest candidate (the usual case while the beam
         * descends): request its list now, as hnswlib does, so the next round does not begin
         * with a miss. Its header was requested in pass 1. */
        if (candidates->size > 0 && candidates->items[0].slot != top_before) {
            mn_hnsw_node *next = mn_hnsw_node_at(index, candidates->items[0].slot);
            mn_hnsw_links *next_links = atomic_load_explicit(mn_hnsw_links_ref(next, level), memory_order_relaxed);
            if (next_links) __builtin_prefetch(next_links);
        }
    }
    return MN_OK;
}

mn_status mn_hnsw_search(const mn_hnsw *index, const float *query, uint32_t dimension, uint32_t k,
                         uint32_t ef, mn_hnsw_result *results, uint32_t *found) {
    if (!index || !results || !found) return MN_ERR_INVALID;
    if (k == 0 || k > MN_HNSW_K_MAX || ef > MN_HNSW_EF_MAX) return MN_ERR_INVALID;
    mn_scratch *scratch = mn_scratch_get();
    if (!scratch) return MN_ERR_NO_MEMORY;
    mn_status status = mn_hnsw_check_vector(index, query, dimension, scratch->query);
    if (status != MN_OK) return status;
    if (ef < k) ef = k;
    *found = 0;

    mn_rcu_read_lock();
    uint64_t entry = atomic_load_explicit(&((mn_hnsw *)index)->entry, memory_order_acquire);
    if (entry == MN_HNSW_ENTRY_NONE) {
        mn_rcu_read_unlock();
        return MN_OK;
    }
    uint32_t current = (uint32_t)entry;
    uint32_t top = (uint32_t)(entry >> 32);
    uint32_t visible = atomic_load_explicit(&((mn_hnsw *)index)->next_slot, memory_order_acquire);
    float current_distance = mn_dist_to(index, scratch->query, current);
    for (uint32_t level = top; level > 0; level--)
        mn_greedy(index, scratch->query, level, &current, &current_distance);
    status = mn_search_layer(index, scratch, scratch->query, current, current_distance, ef, 0, 1, visible);
    if (status == MN_OK && scratch->results.size == 0 && current != (uint32_t)entry) {
        /* The descent stopped on a node still being inserted (see mn_hnsw_link): start again
         * from the entry point. */
        current = (uint32_t)entry;
        current_distance = mn_dist_to(index, scratch->query, current);
        status = mn_search_layer(index, scratch, scratch->query, current, current_distance, ef, 0, 1, visible);
    }
    if (status == MN_OK) {
        mn_heap *heap = &scratch->results;
        /* The k best of the ef found, by insertion into a sorted prefix (k is usually small). */
        uint32_t n = 0;
        for (uint32_t i = 0; i < heap->size; i++) {
            mn_pair item = heap->items[i];
            if (n == k && !mn_pair_less(item, heap->items[n - 1])) continue;
            uint32_t j = n < k ? n++ : n - 1;
            while (j > 0 && mn_pair_less(item, heap->items[j - 1])) {
                heap->items[j] = heap->items[j - 1];
                j--;
            }
            heap->items[j] = item;
        }
        for (uint32_t i = 0; i < n; i++) {
            results[i].id = mn_hnsw_node_at(index, heap->items[i].slot)->id;
            results[i].distance = heap->items[i].distance;
        }
        *found = n;
    }
    mn_rcu_read_unlock();
    return status;
}

/* ------------------------------------------------------------------------------------------ */
/* Insert                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/*
 * The heuristic of Malkov & Yashunin (Algorithm 4): walk `pairs` (sorted by distance to the
 * base) and keep a candidate only if it is closer to the base than to every kept neighbour.
 * Writes up to `limit` slots to `chosen`; returns their number.
 */
static uint32_t mn_select_neighbors(const mn_hnsw *index, const mn_pair *pairs, uint32_t count,
                                    uint32_t limit, uint32_t *chosen) {
    if (count <= limit) {
        for (uint32_t i = 0; i < count; i++) chosen[i] = pairs[i].slot;
        return count;
    }
    uint32_t kept = 0;
    const uint32_t dimension = index->params.dimension;
    const int watch = mn_watch_moved(index);
    for (uint32_t i = 0; i < count && kept < limit; i++) {
        const float *candidate = mn_vector_read(mn_hnsw_node_at(index, pairs[i].slot), watch);
        int good = 1;
        for (uint32_t j = 0; j < kept; j++) {
            float d = index->distance(candidate, mn_vector_read(mn_hnsw_node_at(index, chosen[j]), watch),
                                      dimension);
            if (d < pairs[i].distance) {
                good = 0;
                break;
            }
        }
        if (good) chosen[kept++] = pairs[i].slot;
    }
    return kept;
}

/* Publishes a new list with `count` slots in place of `old` (caller holds the node's lock). */
static mn_status mn_links_publish(mn_hnsw *index, mn_scratch *scratch, mn_hnsw_node *node,
                                  uint32_t level, const uint32_t *slots, uint32_t count,
                                  mn_hnsw_links *old) {
    /* The collector that will retire `old` first: out of memory for it refuses the change
     * here instead of leaking `old` (an update retires more lists than one reservation). */
    if (old && mn_rcu_retire_reserve(&scratch->retired, 1) != MN_OK) return MN_ERR_NO_MEMORY;
    mn_hnsw_links *links = mn_hnsw_links_new(index, count);
    if (!links) return MN_ERR_NO_MEMORY;
    memcpy(links->slots, slots, (size_t)count * sizeof(uint32_t));
    atomic_store_explicit(mn_hnsw_links_ref(node, level), links, memory_order_release);
    mn_links_retire(index, scratch, old);
    return MN_OK;
}

/*
 * Adds `slot` to the list of `neighbor` on `level`, pruning with the heuristic when the list
 * is full. Caller is inside RCU.
 */
static mn_status mn_link_back(mn_hnsw *index, mn_scratch *scratch, uint32_t neighbor_slot,
                              uint32_t slot, uint32_t level) {
    mn_hnsw_node *neighbor = mn_hnsw_node_at(index, neighbor_slot);
    uint32_t capacity = level == 0 ? index->m_base : index->m_upper;
    mn_node_lock(neighbor);
    mn_hnsw_links *old = mn_links_load(neighbor, level);
    uint32_t count = old ? old->count : 0;
    mn_status status = MN_OK;
    for (uint32_t i = 0; i < count; i++) {
        if (old->slots[i] == slot) goto done; /* already linked */
    }
    if (count < capacity) {
        uint32_t *slots = scratch->chosen;
        if (count) memcpy(slots, old->slots, (size_t)count * sizeof(uint32_t));
        slots[count] = slot;
        status = mn_links_publish(index, scratch, neighbor, level, slots, count + 1, old);
    } else {
        const float *base = mn_hnsw_vector_current(neighbor);
        mn_pair *pairs = scratch->pruned;
        for (uint32_t i = 0; i < count; i++)
            pairs[i] = (mn_pair){mn_dist_to(index, base, old->slots[i]), old->slots[i]};
        pairs[count] = (mn_pair){mn_dist_to(index, base, slot), slot};
        mn_pairs_sort(pairs, count + 1);
        uint32_t kept = mn_select_neighbors(index, pairs, count + 1, capacity, scratch->chosen);
        status = mn_links_publish(index, scratch, neighbor, level, scratch->chosen, kept, old);
    }
done:
    mn_node_unlock(neighbor);
    return status;
}

/*
 * Takes a node of a failed insert back out: its id leaves the id map and the node becomes
 * DELETED, as after a removal, so no search returns it and the repair pass frees its slot (it
 * may already be linked from other nodes: out of memory part-way through linking). A PENDING
 * node leaves the pending count, a LIVE one the live count; a DELETED one (removed meanwhile
 * through the public API) is left alone. The state changes under idmap_lock, as in
 * mn_hnsw_remove, so the two never both count one node. Allocates nothing. Caller holds
 * `writers` shared.
 */
static void mn_hnsw_withdraw(mn_hnsw *index, uint32_t slot) {
    mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
    pthread_mutex_lock(&index->idmap_lock);
    uint32_t state = atomic_load_explicit(&node->state, memory_order_acquire);
    if (state == MN_HNSW_STATE_LIVE || state == MN_HNSW_STATE_PENDING) {
        mn_hnsw_idmap_remove(&index->idmap, node->id);
        atomic_fetch_add_explicit(&index->vector_changes, 1, memory_order_release);
        if (state == MN_HNSW_STATE_PENDING)
            atomic_fetch_sub_explicit(&index->pending_count, 1, memory_order_release);
        else
            atomic_fetch_sub_explicit(&index->live_count, 1, memory_order_relaxed);
        atomic_store_explicit(&node->state, MN_HNSW_STATE_DELETED, memory_order_release);
        atomic_fetch_add_explicit(&index->deleted_count, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&index->idmap_lock);
}

/*
 * Links a PENDING node into the graph and makes it LIVE. Its id, level, vector and upper array
 * are written. Any number of threads may link different nodes at once.
 */
static mn_status mn_hnsw_link(mn_hnsw *index, mn_scratch *scratch, uint32_t slot) {
    mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
    const float *vector = mn_hnsw_vector(node);
    const uint32_t level = node->level;
    /* Every list this link replaces (its own and one per neighbour linked back, on each
     * layer) is retired: get the collector first, so running out of memory for it refuses the
     * insert here, before any change, instead of leaking those lists. */
    mn_status status = mn_rcu_retire_reserve(&scratch->retired,
                                             (size_t)(level + 1) * (index->m_upper + 1));
    if (status != MN_OK) {
        mn_hnsw_withdraw(index, slot);
        return status;
    }

    mn_rcu_read_lock();
    uint64_t entry = atomic_load_explicit(&index->entry, memory_order_acquire);
    if (entry == MN_HNSW_ENTRY_NONE) {
        pthread_mutex_lock(&index->entry_lock);
        entry = atomic_load_explicit(&index->entry, memory_order_acquire);
        if (entry == MN_HNSW_ENTRY_NONE) {
            atomic_store_explicit(&node->state, MN_HNSW_STATE_LIVE, memory_order_release);
            atomic_fetch_sub_explicit(&index->pending_count, 1, memory_order_release);
            atomic_store_explicit(&index->entry, ((uint64_t)level << 32) | slot, memory_order_release);
            pthread_mutex_unlock(&index->entry_lock);
            mn_rcu_read_unlock();
            return MN_OK;
        }
        pthread_mutex_unlock(&index->entry_lock);
    }

    uint32_t current = (uint32_t)entry;
    uint32_t top = (uint32_t)(entry >> 32);
    uint32_t visible = atomic_load_explicit(&index->next_slot, memory_order_acquire);
    float current_distance = mn_dist_to(index, vector, current);
    for (uint32_t l = top; l > level; l--) mn_greedy(index, vector, l, &current, &current_distance);

    const uint32_t entry_slot = (uint32_t)entry;
    for (int32_t l = (int32_t)(level < top ? level : top); l >= 0; l--) {
        uint32_t n = 0;
        for (;;) {
            status = mn_search_layer(index, scratch, vector, current, current_distance,
                                     index->params.ef_construction, (uint32_t)l, 1, visible);
            if (status != MN_OK) break;
            mn_heap *results = &scratch->results;
            status = mn_heap_reserve(&scratch->selection, results->size);
            if (status != MN_OK) break;
            for (uint32_t i = 0; i < results->size; i++) {
                if (results->items[i].slot != slot) scratch->selection.items[n++] = results->items[i];
            }
            if (n > 0 || current == entry_slot) break;
            /* No LIVE node found: the descent stopped on a node still being inserted, which is
             * linked from above before its own list on this layer is published. Search this
             * layer again from the entry point, LIVE and linked on every layer up to its own
             * (a node left with no links here would be unreachable for good). */
            current = entry_slot;
            current_distance = mn_dist_to(index, vector, current);
        }
        if (status != MN_OK) break;
        if (n == 0) continue; /* only deleted or pending nodes near the entry point too */
        mn_pairs_sort(scratch->selection.items, n);
        current = scratch->selection.items[0].slot;
        current_distance = scratch->selection.items[0].distance;
        uint32_t chosen_count =
            mn_select_neighbors(index, scratch->selection.items, n, index->m_upper, scratch->chosen);
        uint32_t chosen[MN_HNSW_M_MAX];
        memcpy(chosen, scratch->chosen, (size_t)chosen_count * sizeof(uint32_t));

        /* Own list first, so the node is fully linked on this layer before anyone links to it.
         * A concurrent inserter that reached this node through an upper layer may already have
         * linked itself here: keep those links, pruning the union if it overflows. */
        mn_node_lock(node);
        mn_hnsw_links *old = mn_links_load(node, (uint32_t)l);
        uint32_t merged = chosen_count;
        uint32_t capacity = l == 0 ? index->m_base : index->m_upper;
        uint32_t *list = chosen;
        if (old && old->count > 0) {
            mn_pair *pairs = scratch->pruned;
            for (uint32_t i = 0; i < chosen_count; i++)
                pairs[i] = (mn_pair){mn_dist_to(index, vector, chosen[i]), chosen[i]};
            merged = chosen_count;
            for (uint32_t i = 0; i < old->count && merged < MN_LIST_SCRATCH; i++) {
                int present = 0;
                for (uint32_t j = 0; j < chosen_count && !present; j++) present = chosen[j] == old->slots[i];
                if (!present) pairs[merged++] = (mn_pair){mn_dist_to(index, vector, old->slots[i]), old->slots[i]};
            }
            mn_pairs_sort(pairs, merged);
            merged = mn_select_neighbors(index, pairs, merged, capacity, scratch->chosen);
            list = scratch->chosen;
        }
        status = mn_links_publish(index, scratch, node, (uint32_t)l, list, merged, old);
        mn_node_unlock(node);
        if (status != MN_OK) break;
        for (uint32_t i = 0; i < chosen_count && status == MN_OK; i++)
            status = mn_link_back(index, scratch, chosen[i], slot, (uint32_t)l);
        if (status != MN_OK) break;
    }
    if (status != MN_OK) {
        /* Out of memory part-way: the node never becomes LIVE (nor the entry point, which a
         * barely linked node would make a dead end for every search). */
        mn_rcu_read_unlock();
        mn_hnsw_withdraw(index, slot);
        return status;
    }
    atomic_store_explicit(&node->state, MN_HNSW_STATE_LIVE, memory_order_release);
    atomic_fetch_sub_explicit(&index->pending_count, 1, memory_order_release);
    if (level > top) {
        pthread_mutex_lock(&index->entry_lock);
        uint64_t latest = atomic_load_explicit(&index->entry, memory_order_relaxed);
        if (latest == MN_HNSW_ENTRY_NONE || level > (uint32_t)(latest >> 32))
            atomic_store_explicit(&index->entry, ((uint64_t)level << 32) | slot, memory_order_release);
        pthread_mutex_unlock(&index->entry_lock);
    }
    mn_rcu_read_unlock();
    return status;
}

/* Takes a free slot or a new one. Caller holds alloc_lock. */
static mn_status mn_hnsw_take_slot(mn_hnsw *index, uint32_t *slot) {
    if (index->free_count > 0) {
        *slot = index->free_slots[--index->free_count];
        return MN_OK;
    }
    uint32_t next = atomic_load_explicit(&index->next_slot, memory_order_relaxed);
    if (next >= MN_HNSW_NODES_MAX) return MN_ERR_TOO_LARGE;
    mn_status status = mn_hnsw_ensure_slots(index, next + 1);
    if (status != MN_OK) return status;
    *slot = next;
    atomic_store_explicit(&index->next_slot, next + 1, memory_order_release);
    return MN_OK;
}

/*
 * Gives back slots taken by a reservation that failed (newest first), freeing any upper
 * arrays already written. Caller holds alloc_lock; the nodes were never reachable.
 */
static mn_status mn_hnsw_return_slots(mn_hnsw *index, const uint32_t *slots, size_t count) {
    for (size_t i = count; i > 0; i--) {
        uint32_t slot = slots[i - 1];
        mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
        if (node->upper) {
            atomic_fetch_sub_explicit(&index->list_bytes, (int64_t)(node->level * sizeof(void *)),
                                      memory_order_relaxed);
            free((void *)node->upper);
            node->upper = NULL;
        }
        if (atomic_load_explicit(&node->state, memory_order_relaxed) == MN_HNSW_STATE_PENDING)
            atomic_fetch_sub_explicit(&index->pending_count, 1, memory_order_relaxed);
        atomic_store_explicit(&node->state, MN_HNSW_STATE_FREE, memory_order_relaxed);
        uint32_t next = atomic_load_explicit(&index->next_slot, memory_order_relaxed);
        if (slot + 1 == next) {
            atomic_store_explicit(&index->next_slot, slot, memory_order_release);
            continue;
        }
        if (index->free_count == index->free_capacity) {
            uint32_t capacity = index->free_capacity ? index->free_capacity * 2 : 64;
            uint32_t *grown = realloc(index->free_slots, (size_t)capacity * sizeof(uint32_t));
            if (!grown) return MN_ERR_NO_MEMORY; /* the slot stays unused: space, not safety */
            index->free_slots = grown;
            index->free_capacity = capacity;
        }
        index->free_slots[index->free_count++] = slot;
    }
    return MN_OK;
}

/*
 * Reserves ids and slots for `count` vectors and writes each node as PENDING: all or nothing.
 * `vectors` are validated and normalised. Caller holds `writers` shared. Lock order:
 * idmap_lock, then alloc_lock.
 */
static mn_status mn_hnsw_reserve(mn_hnsw *index, const uint64_t *ids, const float *vectors, size_t count,
                                 uint32_t *slots, size_t *failed_index) {
    const size_t dimension = index->params.dimension;
    size_t taken = 0;
    size_t mapped = 0;
    size_t failed = 0;
    pthread_mutex_lock(&index->idmap_lock);
    mn_status status = mn_hnsw_idmap_reserve(&index->idmap, count);
    pthread_mutex_lock(&index->alloc_lock);
    for (; status == MN_OK && taken < count; taken++) {
        failed = taken;
        status = mn_hnsw_take_slot(index, &slots[taken]);
        if (status != MN_OK) break;
        mn_hnsw_node *node = mn_hnsw_node_at(index, slots[taken]);
        uint32_t level = mn_hnsw_level_of(index, ids[taken]);
        node->level = level;
        if (mn_hnsw_node_init_upper(node, level) != MN_OK) {
            status = MN_ERR_NO_MEMORY;
            taken++; /* the slot is taken and must be returned */
            break;
        }
        atomic_fetch_add_explicit(&index->list_bytes, (int64_t)(level * sizeof(void *)), memory_order_relaxed);
        node->id = ids[taken];
        atomic_store_explicit(&node->links0, NULL, memory_order_relaxed);
        memcpy(mn_hnsw_vector(node), vectors + taken * dimension, dimension * sizeof(float));
        atomic_store_explicit(&node->moved, NULL, memory_order_relaxed); /* fresh storage */
        atomic_fetch_add_explicit(&index->pending_count, 1, memory_order_release);
        atomic_store_explicit(&node->state, MN_HNSW_STATE_PENDING, memory_order_release);
    }
    for (; status == MN_OK && mapped < count; mapped++) {
        failed = mapped;
        status = mn_hnsw_idmap_put(&index->idmap, ids[mapped], slots[mapped]);
        if (status != MN_OK) break;
    }
    if (status != MN_OK) {
        if (failed_index) *failed_index = failed;
        for (size_t i = 0; i < mapped; i++) mn_hnsw_idmap_remove(&index->idmap, ids[i]);
        mn_hnsw_return_slots(index, slots, taken);
    }
    pthread_mutex_unlock(&index->alloc_lock);
    pthread_mutex_unlock(&index->idmap_lock);
    return status;
}

mn_status mn_hnsw_insert(mn_hnsw *index, uint64_t id, const float *vector, uint32_t dimension) {
    if (!index) return MN_ERR_INVALID;
    mn_scratch *scratch = mn_scratch_get();
    if (!scratch) return MN_ERR_NO_MEMORY;
    mn_status status = mn_hnsw_check_vector(index, vector, dimension, scratch->query);
    if (status != MN_OK) return status;
    pthread_rwlock_rdlock(&index->writers);
    uint32_t slot;
    status = mn_hnsw_reserve(index, &id, scratch->query, 1, &slot, NULL);
    if (status == MN_OK) {
        status = mn_hnsw_link(index, scratch, slot); /* on failure the id is not in */
        if (status == MN_OK) atomic_fetch_add_explicit(&index->live_count, 1, memory_order_relaxed);
    }
    pthread_rwlock_unlock(&index->writers);
    mn_rcu_retire_flush(&scratch->retired);
    return status;
}

/* One item of an update batch: the node and its new vector (normalised, malloc'ed), which
 * becomes the node's `moved` copy when a worker applies the item; `previous` is the copy it
 * replaced (retired by batch_end, through the batch's own collector reserved at begin). */
typedef struct mn_update_item {
    uint32_t slot;
    float *vector;              /* NULL: the same vector as stored, nothing to do */
    float *previous;
} mn_update_item;

static void mn_update_apply(mn_hnsw *index, mn_scratch *scratch, mn_update_item *item);
static mn_status mn_update_batch_end(mn_hnsw_batch *batch, mn_status status);

/* An insert batch links `slots`; an update batch (`updates` set) re-places its nodes. */
struct mn_hnsw_batch {
    mn_hnsw *index;
    uint32_t *slots;
    mn_update_item *updates;
    mn_rcu_retired *retired;    /* update batches: for the `previous` copies */
    size_t count;
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic size_t next;
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic size_t linked;
    _Atomic mn_status status;
};
_Static_assert(offsetof(mn_hnsw_batch, next) % MN_CACHE_LINE_SIZE == 0, "claim counter on its own line");
_Static_assert(offsetof(mn_hnsw_batch, linked) % MN_CACHE_LINE_SIZE == 0, "done counter on its own line");

/* A batch lives for one call and is read by whichever threads help: the heap (cache-line
 * aligned for its counters), not node-local pages (an mmap per single update). */
static mn_hnsw_batch *mn_batch_alloc(void) {
    mn_hnsw_batch *batch = aligned_alloc(MN_CACHE_LINE_SIZE, sizeof(mn_hnsw_batch));
    if (batch) memset(batch, 0, sizeof(mn_hnsw_batch));
    return batch;
}


mn_status mn_hnsw_batch_begin(mn_hnsw *index, const uint64_t *ids, const float *vectors, size_t count,
                              uint32_t dimension, mn_hnsw_batch **out, size_t *failed_index) {
    if (!index || !out || (count > 0 && (!ids || !vectors))) return MN_ERR_INVALID;
    if (count > MN_HNSW_NODES_MAX) return MN_ERR_TOO_LARGE;
    if (dimension != index->params.dimension) {
        if (failed_index) *failed_index = 0;
        return MN_ERR_DIMENSION;
    }
    size_t dim = index->params.dimension;
    float *normalized = malloc((count ? count : 1) * dim * sizeof(float));
    mn_hnsw_batch *batch = mn_batch_alloc();
    uint32_t *slots = malloc((count ? count : 1) * sizeof(uint32_t));
    mn_status status = (!normalized || !batch || !slots) ? MN_ERR_NO_MEMORY : MN_OK;
    for (size_t i = 0; status == MN_OK && i < count; i++) {
        status = mn_hnsw_check_vector(index, vectors + i * dim, dimension, normalized + i * dim);
        if (status != MN_OK && failed_index) *failed_index = i;
    }
    if (status == MN_OK) {
        pthread_rwlock_rdlock(&index->writers);
        status = mn_hnsw_reserve(index, ids, normalized, count, slots, failed_index);
        if (status != MN_OK) pthread_rwlock_unlock(&index->writers);
    }
    free(normalized);
    if (status != MN_OK) {
        free(slots);
        free(batch);
        return status;
    }
    batch->index = index;
    batch->slots = slots;
    batch->updates = NULL;
    batch->retired = NULL;
    batch->count = count;
    atomic_init(&batch->next, 0);
    atomic_init(&batch->linked, 0);
    atomic_init(&batch->status, MN_OK);
    *out = batch;
    return MN_OK;
}

mn_status mn_hnsw_batch_work(mn_hnsw_batch *batch, size_t *linked) {
    if (!batch) return MN_ERR_INVALID;
    mn_scratch *scratch = mn_scratch_get();
    size_t mine = 0;
    mn_status status = scratch ? MN_OK : MN_ERR_NO_MEMORY;
    while (status == MN_OK) {
        /* Once an item failed the batch is rolled back by batch_end: stop linking. */
        if (atomic_load_explicit(&batch->status, memory_order_relaxed) != MN_OK) break;
        size_t i = atomic_fetch_add_explicit(&batch->next, 1, memory_order_relaxed);
        if (i >= batch->count) break;
        if (batch->updates) {
            mn_update_apply(batch->index, scratch, &batch->updates[i]); /* never fails */
        } else {
            status = mn_hnsw_link(batch->index, scratch, batch->slots[i]); /* failed: withdrawn */
            if (status == MN_OK)
                atomic_fetch_add_explicit(&batch->index->live_count, 1, memory_order_relaxed);
        }
        atomic_fetch_add_explicit(&batch->linked, 1, memory_order_release);
        mine++;
    }
    if (scratch) mn_rcu_retire_flush(&scratch->retired);
    /* An update item never fails: a helper without scratch leaves its share to the others
     * (batch_end applies what is left on begin's thread) instead of stopping the batch. */
    if (status != MN_OK && !batch->updates) {
        mn_status expected = MN_OK;
        atomic_compare_exchange_strong(&batch->status, &expected, status);
    }
    if (linked) *linked = mine;
    return status;
}

mn_status mn_hnsw_batch_end(mn_hnsw_batch *batch) {
    if (!batch) return MN_ERR_INVALID;
    mn_hnsw *index = batch->index;
    /* Items left unclaimed (no worker got scratch memory) are linked here, unless an item
     * already failed. */
    size_t rest = 0;
    mn_status status = mn_hnsw_batch_work(batch, &rest);
    if (batch->updates) return mn_update_batch_end(batch, status);
    mn_status first = atomic_load(&batch->status);
    if (first == MN_OK) first = status;
    if (first != MN_OK) {
        /* All or nothing: every item leaves the id map. Linked items are withdrawn like
         * removals (searches may already have returned them, as they may during any batch);
         * unclaimed ones were never reachable. Failed items were withdrawn when they failed. */
        for (size_t i = 0; i < batch->count; i++) mn_hnsw_withdraw(index, batch->slots[i]);
        /* A batch into an empty index made one of its nodes the entry point: with nothing
         * live left, start afresh (as the repair pass would) rather than make the next
         * inserts descend from a deleted node into deleted ones and link to nothing. */
        pthread_mutex_lock(&index->entry_lock);
        if (atomic_load_explicit(&index->live_count, memory_order_relaxed) == 0)
            atomic_store_explicit(&index->entry, MN_HNSW_ENTRY_NONE, memory_order_release);
        pthread_mutex_unlock(&index->entry_lock);
    } else {
        MN_ASSERT(atomic_load_explicit(&batch->linked, memory_order_acquire) == batch->count);
    }
    pthread_rwlock_unlock(&index->writers);
    free(batch->slots);
    free(batch);
    return first;
}

typedef struct mn_batch_thread {
    pthread_t thread;
    mn_hnsw_batch *batch;
} mn_batch_thread;

static void *mn_batch_thread_main(void *argument) {
    mn_batch_thread *worker = argument;
    size_t linked;
    mn_hnsw_batch_work(worker->batch, &linked);
    return NULL;
}

mn_status mn_hnsw_insert_batch(mn_hnsw *index, const uint64_t *ids, const float *vectors, size_t count,
                               uint32_t dimension, uint32_t threads, size_t *failed_index) {
    if (threads == 0 || threads > MN_HNSW_BATCH_THREADS_MAX) return MN_ERR_INVALID;
    mn_hnsw_batch *batch = NULL;
    mn_status status = mn_hnsw_batch_begin(index, ids, vectors, count, dimension, &batch, failed_index);
    if (status != MN_OK) return status;
    uint32_t helpers = threads - 1;
    if (helpers > count / 64) helpers = (uint32_t)(count / 64); /* not worth a thread otherwise */
    mn_batch_thread *workers = helpers ? calloc(helpers, sizeof(mn_batch_thread)) : NULL;
    uint32_t started = 0;
    for (uint32_t i = 0; workers && i < helpers; i++) {
        workers[i].batch = batch;
        if (pthread_create(&workers[i].thread, NULL, mn_batch_thread_main, &workers[i]) != 0) break;
        started++;
    }
    size_t linked;
    mn_hnsw_batch_work(batch, &linked);
    for (uint32_t i = 0; i < started; i++) pthread_join(workers[i].thread, NULL);
    free(workers);
    return mn_hnsw_batch_end(batch);
}

/* ------------------------------------------------------------------------------------------ */
/* Remove and repair                                                                           */
/* ------------------------------------------------------------------------------------------ */

static inline int mn_is_deleted(const mn_hnsw *index, uint32_t slot) {
    return atomic_load_explicit(&mn_hnsw_node_at(index, slot)->state, memory_order_acquire) ==
           MN_HNSW_STATE_DELETED;
}

/*
 * Rewrites one list that names deleted nodes: their live neighbours become candidates, and
 * the heuristic picks the new list. Caller holds `writers` exclusively and is inside RCU.
 */
static mn_status mn_repair_list(mn_hnsw *index, mn_scratch *scratch, uint32_t slot, uint32_t level) {
    mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
    mn_hnsw_links *old = mn_links_load(node, level);
    if (!old) return MN_OK;
    int touched = 0;
    for (uint32_t i = 0; i < old->count && !touched; i++) touched = mn_is_deleted(index, old->slots[i]);
    if (!touched) return MN_OK;

    mn_status status = mn_scratch_begin_visit(scratch, atomic_load(&index->next_slot));
    if (status != MN_OK) return status;
    uint16_t epoch = scratch->epoch;
    scratch->visited[slot] = epoch;
    mn_heap *pool = &scratch->selection;
    pool->size = 0;
    const float *base = mn_hnsw_vector_current(node);
    for (uint32_t i = 0; i < old->count; i++) {
        uint32_t neighbor = old->slots[i];
        if (scratch->visited[neighbor] == epoch) continue;
        scratch->visited[neighbor] = epoch;
        if (!mn_is_deleted(index, neighbor)) {
            if ((status = mn_heap_reserve(pool, pool->size + 1)) != MN_OK) return status;
            pool->items[pool->size++] = (mn_pair){mn_dist_to(index, base, neighbor), neighbor};
            continue;
        }
        mn_hnsw_node *gone = mn_hnsw_node_at(index, neighbor);
        if (gone->level < level) continue;
        mn_hnsw_links *second = mn_links_load(gone, level);
        for (uint32_t j = 0; second && j < second->count; j++) {
            uint32_t candidate = second->slots[j];
            if (scratch->visited[candidate] == epoch || mn_is_deleted(index, candidate)) continue;
            scratch->visited[candidate] = epoch;
            if ((status = mn_heap_reserve(pool, pool->size + 1)) != MN_OK) return status;
            pool->items[pool->size++] = (mn_pair){mn_dist_to(index, base, candidate), candidate};
        }
    }
    mn_pairs_sort(pool->items, pool->size);
    uint32_t capacity = level == 0 ? index->m_base : index->m_upper;
    uint32_t kept = mn_select_neighbors(index, pool->items, pool->size, capacity, scratch->chosen);
    /* A repaired node lost links; refill it to capacity with the nearest pruned candidates
     * (hnswlib's keepPrunedConnections) so removals do not thin the graph around it. */
    for (uint32_t i = 0; i < pool->size && kept < capacity; i++) {
        uint32_t candidate = pool->items[i].slot;
        int present = 0;
        for (uint32_t j = 0; j < kept && !present; j++) present = scratch->chosen[j] == candidate;
        if (!present) scratch->chosen[kept++] = candidate;
    }
    mn_node_lock(node);
    status = mn_links_publish(index, scratch, node, level, scratch->chosen, kept, old);
    mn_node_unlock(node);
    return status;
}

static void mn_hnsw_settle(mn_hnsw *index, mn_scratch *scratch);

/*
 * The repair pass: unlinks every deleted node, moves the entry point off it, waits for a grace
 * period and frees the slots for reuse. Takes `writers` exclusively (searches go on).
 */
static mn_status mn_hnsw_repair(mn_hnsw *index) {
    mn_scratch *scratch = mn_scratch_get();
    if (!scratch) return MN_ERR_NO_MEMORY;
    pthread_rwlock_wrlock(&index->writers);
    /* Settled first: a slot freed below must carry no out-of-line vector when reused. */
    mn_hnsw_settle(index, scratch);
    mn_status status = MN_OK;
    uint32_t slots = atomic_load(&index->next_slot);
    mn_rcu_read_lock();
    for (uint32_t slot = 0; slot < slots && status == MN_OK; slot++) {
        mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
        if (atomic_load_explicit(&node->state, memory_order_acquire) != MN_HNSW_STATE_LIVE) continue;
        for (uint32_t level = 0; level <= node->level && status == MN_OK; level++)
            status = mn_repair_list(index, scratch, slot, level);
    }
    /* A new entry point: the live node of highest level (lowest slot on ties). */
    uint64_t entry = atomic_load(&index->entry);
    if (status == MN_OK && entry != MN_HNSW_ENTRY_NONE && mn_is_deleted(index, (uint32_t)entry)) {
        uint64_t best = MN_HNSW_ENTRY_NONE;
        for (uint32_t slot = 0; slot < slots; slot++) {
            mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
            if (atomic_load(&node->state) != MN_HNSW_STATE_LIVE) continue;
            if (best == MN_HNSW_ENTRY_NONE || node->level > (uint32_t)(best >> 32))
                best = ((uint64_t)node->level << 32) | slot;
        }
        pthread_mutex_lock(&index->entry_lock);
        atomic_store_explicit(&index->entry, best, memory_order_release);
        pthread_mutex_unlock(&index->entry_lock);
    }
    mn_rcu_read_unlock();
    mn_rcu_retire_flush(&scratch->retired);
    if (status == MN_OK) {
        /* Nothing links to a deleted node now; once current readers finish, none holds one. */
        mn_rcu_synchronize();
        pthread_mutex_lock(&index->alloc_lock);
        uint32_t deleted = 0;
        for (uint32_t slot = 0; slot < slots; slot++) {
            mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
            if (atomic_load(&node->state) != MN_HNSW_STATE_DELETED) continue;
            deleted++;
        }
        if (index->free_count + deleted > index->free_capacity) {
            uint32_t capacity = index->free_count + deleted;
            uint32_t *grown = realloc(index->free_slots, (size_t)capacity * sizeof(uint32_t));
            if (!grown) status = MN_ERR_NO_MEMORY;
            else {
                index->free_slots = grown;
                index->free_capacity = capacity;
            }
        }
        for (uint32_t slot = 0; status == MN_OK && slot < slots; slot++) {
            mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
            if (atomic_load(&node->state) != MN_HNSW_STATE_DELETED) continue;
            mn_node_free_lists(index, node);
            atomic_store_explicit(&node->state, MN_HNSW_STATE_FREE, memory_order_release);
            index->free_slots[index->free_count++] = slot;
            atomic_fetch_sub_explicit(&index->deleted_count, 1, memory_order_relaxed);
        }
        pthread_mutex_unlock(&index->alloc_lock);
    }
    pthread_rwlock_unlock(&index->writers);
    return status;
}

mn_status mn_hnsw_remove(mn_hnsw *index, uint64_t id) {
    if (!index) return MN_ERR_INVALID;
    pthread_rwlock_rdlock(&index->writers);
    pthread_mutex_lock(&index->idmap_lock);
    uint32_t slot;
    mn_status status = mn_hnsw_idmap_find(&index->idmap, id, &slot);
    if (status == MN_OK) {
        mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
        if (atomic_load_explicit(&node->state, memory_order_acquire) != MN_HNSW_STATE_LIVE) {
            status = MN_ERR_NOT_FOUND; /* still being inserted by another thread */
        } else {
            mn_hnsw_idmap_remove(&index->idmap, id);
            atomic_fetch_add_explicit(&index->vector_changes, 1, memory_order_release);
            atomic_store_explicit(&node->state, MN_HNSW_STATE_DELETED, memory_order_release);
            atomic_fetch_sub_explicit(&index->live_count, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&index->deleted_count, 1, memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&index->idmap_lock);
    pthread_rwlock_unlock(&index->writers);
    if (status != MN_OK) return status;
    uint64_t deleted = atomic_load_explicit(&index->deleted_count, memory_order_relaxed);
    uint64_t live = atomic_load_explicit(&index->live_count, memory_order_relaxed);
    uint64_t threshold = live / MN_HNSW_REPAIR_DIVISOR;
    if (threshold < MN_HNSW_REPAIR_MIN) threshold = MN_HNSW_REPAIR_MIN;
    if (deleted >= threshold || live == 0) {
        /* The removal itself has succeeded; a failed repair is retried at the next removal. */
        (void)mn_hnsw_repair(index);
    }
    return MN_OK;
}

/* Finds the LIVE slot of `id`; caller is inside RCU. */
static mn_status mn_hnsw_find_live(const mn_hnsw *index, uint64_t id, uint32_t *slot) {
    mn_hnsw *mutable_index = (mn_hnsw *)index;
    pthread_mutex_lock(&mutable_index->idmap_lock);
    mn_status status = mn_hnsw_idmap_find(&index->idmap, id, slot);
    pthread_mutex_unlock(&mutable_index->idmap_lock);
    if (status != MN_OK) return status;
    if (atomic_load_explicit(&mn_hnsw_node_at(index, *slot)->state, memory_order_acquire) !=
        MN_HNSW_STATE_LIVE)
        return MN_ERR_NOT_FOUND;
    return MN_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Update in place                                                                             */
/* ------------------------------------------------------------------------------------------ */

/*
 * The settle step: copies every unsettled update's vector into its node and clears `moved`.
 * The grace period first ends every read-side section that might have read a node's own
 * vector without looking at `moved` (it began before `moved_count` counted that node); any
 * section still running began after, so it sees `moved_count` non-zero, reads `moved` and
 * never the bytes being copied. Caller holds `writers` exclusively and is outside RCU.
 */
static void mn_hnsw_settle(mn_hnsw *index, mn_scratch *scratch) {
    if (index->moved_used == 0) return;
    mn_rcu_synchronize();
    mn_rcu_grace_acquired(); /* for ThreadSanitizer: those readers are done */
    const size_t bytes = (size_t)index->params.dimension * sizeof(float);
    uint64_t settled = 0;
    mn_rcu_read_lock(); /* mn_rcu_retire needs a registered thread */
    for (uint32_t i = 0; i < index->moved_used; i++) {
        mn_hnsw_node *node = mn_hnsw_node_at(index, index->moved_slots[i]);
        float *moved = atomic_load_explicit(&node->moved, memory_order_relaxed);
        MN_ASSERT(moved != NULL);
        memcpy(mn_hnsw_vector(node), moved, bytes);
        /* A reader that loads NULL reads the node's vector, complete by this release. */
        atomic_store_explicit(&node->moved, NULL, memory_order_release);
        mn_rcu_retire(&scratch->retired, moved); /* a reader may still be reading it */
        settled++;
    }
    mn_rcu_read_unlock();
    index->moved_used = 0;
    atomic_fetch_sub_explicit(&index->moved_count, settled, memory_order_release);
    mn_rcu_retire_flush(&scratch->retired);
}

/*
 * Re-selects the list of `neighbor` on `level` after the node at `slot` (in that list) moved:
 * the candidates are its current list (with `slot` at its new distance) and the updated
 * node's old neighbours on that level, which `neighbor` may have reached only through it. The
 * heuristic picks, then the nearest pruned candidates refill the list to its former length so
 * the update does not thin the graph (as the repair pass does). Inside RCU, writers held
 * exclusively by the update batch (whose other items may run concurrently).
 */
static mn_status mn_update_recheck(mn_hnsw *index, mn_scratch *scratch, uint32_t neighbor_slot,
                                   uint32_t slot, const mn_hnsw_links *old_list, uint32_t level) {
    mn_hnsw_node *neighbor = mn_hnsw_node_at(index, neighbor_slot);
    /* Optimistic: the new list is chosen from a snapshot without the lock and published under
     * it only if the list is still that snapshot (lists are immutable and retired through RCU,
     * so an unchanged pointer is an unchanged list); otherwise another item of the update batch
     * replaced it meanwhile, and the choice is made again. A spin lock held across the
     * selection would make a preempted holder's neighbours spin for a time slice. */
    for (;;) {
        mn_hnsw_links *current = mn_links_load(neighbor, level);
        int links_here = 0;
        for (uint32_t i = 0; current && i < current->count && !links_here; i++)
            links_here = current->slots[i] == slot;
        if (!links_here) return MN_OK; /* its list does not depend on where the node was */
        /* Moved nearer to it: the link is as good as before, and no other link got worse. */
        const float *base = mn_hnsw_vector_current(neighbor);
        if (mn_dist_to(index, base, slot) <= index->distance(base, scratch->previous, index->params.dimension))
            return MN_OK;
        mn_heap *pool = &scratch->selection;
        mn_status status = mn_heap_reserve(pool, current->count + old_list->count);
        if (status != MN_OK) return status;
        pool->size = 0;
        float farthest = 0.0f; /* of its other neighbours */
        for (uint32_t i = 0; i < current->count; i++) {
            float d = mn_dist_to(index, base, current->slots[i]);
            pool->items[pool->size++] = (mn_pair){d, current->slots[i]};
            if (current->slots[i] != slot && d > farthest) farthest = d;
        }
        for (uint32_t i = 0; i < old_list->count; i++) {
            uint32_t candidate = old_list->slots[i];
            if (candidate == neighbor_slot || mn_is_deleted(index, candidate)) continue;
            int present = 0;
            for (uint32_t j = 0; j < current->count && !present; j++) present = current->slots[j] == candidate;
            if (present) continue;
            /* Only a candidate nearer than its farthest neighbour can matter (or any, while the
             * list has room): this keeps the pool, and the heuristic's cost, small. */
            float d = mn_dist_to(index, base, candidate);
            if (d < farthest || current->count < (level == 0 ? index->m_base : index->m_upper))
                pool->items[pool->size++] = (mn_pair){d, candidate};
        }
        mn_pairs_sort(pool->items, pool->size);
        uint32_t capacity = level == 0 ? index->m_base : index->m_upper;
        uint32_t kept = mn_select_neighbors(index, pool->items, pool->size, capacity, scratch->chosen);
        for (uint32_t i = 0; i < pool->size && kept < current->count; i++) {
            uint32_t candidate = pool->items[i].slot;
            int present = 0;
            for (uint32_t j = 0; j < kept && !present; j++) present = scratch->chosen[j] == candidate;
            if (!present) scratch->chosen[kept++] = candidate;
        }
        mn_node_lock(neighbor);
        if (mn_links_load(neighbor, level) == current) {
            status = mn_links_publish(index, scratch, neighbor, level, scratch->chosen, kept, current);
            mn_node_unlock(neighbor);
            return status;
        }
        mn_node_unlock(neighbor);
    }
}

/*
 * Finds the layer-0 lists that link to the node at `slot` though it does not link to them
 * (links are not symmetric: an inserter that linked to it may have been pruned from its list)
 * and re-selects them as mn_update_recheck does: such nodes sit near its old vector, so a
 * beam search there finds them. Without this, every update would leave links into nowhere
 * behind, and after rounds of rewrites they crowd out useful ones. Inside RCU, writers held
 * exclusively.
 */
static mn_status mn_update_inlinks(mn_hnsw *index, mn_scratch *scratch, uint32_t slot,
                                   const mn_hnsw_links *old_list) {
    if (!old_list) return MN_OK;
    const float *previous = scratch->previous;
    uint64_t entry = atomic_load_explicit(&index->entry, memory_order_acquire);
    uint32_t current = (uint32_t)entry;
    uint32_t visible = atomic_load_explicit(&index->next_slot, memory_order_acquire);
    float current_distance = mn_dist_to(index, previous, current);
    for (uint32_t l = (uint32_t)(entry >> 32); l > 0; l--)
        mn_greedy(index, previous, l, &current, &current_distance);
    mn_status status = mn_search_layer(index, scratch, previous, current, current_distance,
                                       index->m_base, 0, 1, visible);
    if (status != MN_OK) return status;
    /* The results move out of the scratch heap, which the re-selection below reuses. */
    uint32_t found[MN_LIST_SCRATCH];
    uint32_t count = 0;
    for (uint32_t i = 0; i < scratch->results.size && count < MN_LIST_SCRATCH; i++) {
        uint32_t candidate = scratch->results.items[i].slot;
        int known = candidate == slot;
        for (uint32_t j = 0; j < old_list->count && !known; j++) known = old_list->slots[j] == candidate;
        if (!known) found[count++] = candidate; /* old neighbours were re-checked already */
    }
    for (uint32_t i = 0; i < count && status == MN_OK; i++)
        status = mn_update_recheck(index, scratch, found[i], slot, old_list, 0);
    return status;
}

/*
 * Chooses the lists of the node at `slot` again around its new vector (hnswlib's
 * repairConnectionsForUpdate): a greedy descent from the entry point to its top level, then on
 * each of its levels a beam search of width ef_construction, whose results and the node's
 * old neighbours there are the candidates; the heuristic picks, and each pick links back.
 * `old_lists` are its lists before the update (still readable: inside RCU). Writers held
 * exclusively.
 */
static mn_status mn_update_relink(mn_hnsw *index, mn_scratch *scratch, uint32_t slot,
                                  mn_hnsw_links *const *old_lists) {
    mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
    const float *vector = mn_hnsw_vector_current(node);
    const uint32_t level = node->level;
    uint64_t entry = atomic_load_explicit(&index->entry, memory_order_acquire);
    MN_ASSERT(entry != MN_HNSW_ENTRY_NONE); /* the node itself is live */
    uint32_t current = (uint32_t)entry;
    uint32_t top = (uint32_t)(entry >> 32);
    uint32_t visible = atomic_load_explicit(&index->next_slot, memory_order_acquire);
    float current_distance = mn_dist_to(index, vector, current);
    for (uint32_t l = top; l > level; l--) mn_greedy(index, vector, l, &current, &current_distance);
    mn_status status = MN_OK;
    for (int32_t l = (int32_t)(level < top ? level : top); l >= 0 && status == MN_OK; l--) {
        status = mn_search_layer(index, scratch, vector, current, current_distance,
                                 index->params.ef_construction, (uint32_t)l, 1, visible);
        if (status != MN_OK) break;
        mn_heap *results = &scratch->results;
        const mn_hnsw_links *old = old_lists[l];
        uint32_t old_count = old ? old->count : 0;
        status = mn_heap_reserve(&scratch->selection, results->size + old_count);
        if (status != MN_OK) break;
        mn_pair *pool = scratch->selection.items;
        uint32_t n = 0;
        /* The search marked what it visited: an old neighbour it met is already a result. */
        for (uint32_t i = 0; i < results->size; i++)
            if (results->items[i].slot != slot) pool[n++] = results->items[i];
        for (uint32_t i = 0; i < old_count; i++) {
            uint32_t candidate = old->slots[i];
            if (candidate == slot || mn_is_deleted(index, candidate)) continue;
            int present = 0;
            for (uint32_t j = 0; j < n && !present; j++) present = pool[j].slot == candidate;
            if (!present) pool[n++] = (mn_pair){mn_dist_to(index, vector, candidate), candidate};
        }
        if (n == 0) continue;
        mn_pairs_sort(pool, n);
        current = pool[0].slot;
        current_distance = pool[0].distance;
        /* Up to the list's capacity (an insert picks m and gains the rest as others link
         * back; an updated node would wait for other updates to do that). */
        uint32_t capacity = l == 0 ? index->m_base : index->m_upper;
        uint32_t chosen_count = mn_select_neighbors(index, pool, n, capacity, scratch->chosen);
        uint32_t chosen[MN_LIST_SCRATCH];
        memcpy(chosen, scratch->chosen, (size_t)chosen_count * sizeof(uint32_t));
        mn_node_lock(node);
        status = mn_links_publish(index, scratch, node, (uint32_t)l, chosen, chosen_count,
                                  mn_links_load(node, (uint32_t)l));
        mn_node_unlock(node);
        /* Links back from the m nearest picks, as an insert does: the rest keep the node's
         * own list full without costing a pruned list each. */
        uint32_t back = chosen_count < index->m_upper ? chosen_count : index->m_upper;
        for (uint32_t i = 0; i < back && status == MN_OK; i++)
            status = mn_link_back(index, scratch, chosen[i], slot, (uint32_t)l);
    }
    return status;
}

/*
 * Applies one item of an update batch on any worker: publishes the new vector as the node's
 * `moved` copy (counted in `moved_count` by begin), then repairs its neighbourhood. Items of
 * one batch name distinct nodes and run concurrently: each list is re-selected under its
 * node's lock (mn_update_recheck, mn_link_back, mn_update_relink), and vectors change only
 * through `moved`, which readers and the other items load with acquire. Out of memory during
 * the repair leaves valid lists, only a less repaired neighbourhood: the vector is replaced
 * either way, so the update has happened and nothing is reported.
 */
static void mn_update_apply(mn_hnsw *index, mn_scratch *scratch, mn_update_item *item) {
    if (!item->vector) return; /* the same vector: no graph work */
    mn_hnsw_node *node = mn_hnsw_node_at(index, item->slot);
    const size_t bytes = (size_t)index->params.dimension * sizeof(float);
    mn_rcu_read_lock();
    memcpy(scratch->previous, mn_hnsw_vector_current(node), bytes);
    item->previous = atomic_load_explicit(&node->moved, memory_order_relaxed);
    atomic_store_explicit(&node->moved, item->vector, memory_order_release);
    /* The neighbourhood: the old lists stay readable until this section ends. */
    mn_hnsw_links *old_lists[MN_HNSW_LEVEL_MAX + 1];
    for (uint32_t l = 0; l <= node->level; l++) old_lists[l] = mn_links_load(node, l);
    mn_status repair = MN_OK;
    for (uint32_t l = 0; l <= node->level && repair == MN_OK; l++) {
        const mn_hnsw_links *old = old_lists[l];
        for (uint32_t i = 0; old && i < old->count && repair == MN_OK; i++) {
            if (mn_is_deleted(index, old->slots[i])) continue;
            repair = mn_update_recheck(index, scratch, old->slots[i], item->slot, old, l);
        }
    }
    if (repair == MN_OK) repair = mn_update_inlinks(index, scratch, item->slot, old_lists[0]);
    if (repair == MN_OK) repair = mn_update_relink(index, scratch, item->slot, old_lists);
    (void)repair;
    mn_rcu_read_unlock();
}

mn_status mn_hnsw_update_batch_begin(mn_hnsw *index, const uint64_t *ids, const float *vectors,
                                     size_t count, uint32_t dimension, mn_hnsw_batch **out,
                                     size_t *failed_index) {
    if (!index || !out || (count > 0 && (!ids || !vectors))) return MN_ERR_INVALID;
    if (count > MN_HNSW_SETTLE_BATCH) return MN_ERR_TOO_LARGE;
    if (dimension != index->params.dimension) {
        if (failed_index) *failed_index = 0;
        return MN_ERR_DIMENSION;
    }
    const size_t dim = dimension;
    const size_t bytes = dim * sizeof(float);
    mn_scratch *scratch = mn_scratch_get(); /* for the settle step */
    mn_hnsw_batch *batch = mn_batch_alloc();
    mn_update_item *items = calloc(count ? count : 1, sizeof(mn_update_item));
    mn_status status = (!scratch || !batch || !items) ? MN_ERR_NO_MEMORY : MN_OK;
    for (size_t i = 0; status == MN_OK && i < count; i++) {
        items[i].vector = malloc(bytes);
        if (!items[i].vector) status = MN_ERR_NO_MEMORY;
        if (status == MN_OK) status = mn_hnsw_check_vector(index, vectors + i * dim, dimension,
                                                           items[i].vector);
        if (status != MN_OK && failed_index) *failed_index = i;
    }
    int locked = 0;
    if (status == MN_OK) {
        pthread_rwlock_wrlock(&index->writers);
        locked = 1;
        mn_rcu_read_lock();
        for (size_t i = 0; status == MN_OK && i < count; i++) {
            status = mn_hnsw_find_live(index, ids[i], &items[i].slot);
            for (size_t j = 0; status == MN_OK && j < i; j++)
                if (items[j].slot == items[i].slot) status = MN_ERR_DUPLICATE;
            if (status != MN_OK) {
                if (failed_index) *failed_index = i;
                break;
            }
            mn_hnsw_node *node = mn_hnsw_node_at(index, items[i].slot);
            if (memcmp(mn_hnsw_vector_current(node), items[i].vector, bytes) == 0) {
                free(items[i].vector); /* content-only upserts: nothing to do, not even a settle */
                items[i].vector = NULL;
            }
        }
        mn_rcu_read_unlock();
    }
    size_t changed = 0;
    for (size_t i = 0; status == MN_OK && i < count; i++) changed += items[i].vector != NULL;
    if (status == MN_OK && changed > 0 && !index->moved_slots) {
        index->moved_slots = malloc(MN_HNSW_SETTLE_BATCH * sizeof(uint32_t));
        if (!index->moved_slots) status = MN_ERR_NO_MEMORY;
    }
    /* The collector for the copies the items replace (room for all: it cannot fail later). */
    if (status == MN_OK && changed > 0)
        status = mn_rcu_retire_reserve(&batch->retired, changed);
    if (status != MN_OK) {
        if (locked) pthread_rwlock_unlock(&index->writers);
        for (size_t i = 0; items && i < count; i++) free(items[i].vector);
        free(items);
        if (batch) mn_rcu_retire_flush(&batch->retired);
        free(batch);
        return status;
    }
    /* A batch that would overflow the unsettled copies settles the earlier ones first. */
    if (index->moved_used + changed > MN_HNSW_SETTLE_BATCH) mn_hnsw_settle(index, scratch);
    if (changed > 0) atomic_fetch_add_explicit(&index->vector_changes, 1, memory_order_release);
    for (size_t i = 0; i < count; i++) {
        if (!items[i].vector) continue;
        mn_hnsw_node *node = mn_hnsw_node_at(index, items[i].slot);
        if (atomic_load_explicit(&node->moved, memory_order_relaxed) == NULL) {
            /* Counted before it is published: a reader that finds `moved` set was told to look. */
            index->moved_slots[index->moved_used++] = items[i].slot;
            atomic_fetch_add_explicit(&index->moved_count, 1, memory_order_release);
        }
    }
    batch->index = index;
    batch->slots = NULL;
    batch->updates = items;
    batch->count = count;
    atomic_init(&batch->next, 0);
    atomic_init(&batch->linked, 0);
    atomic_init(&batch->status, MN_OK);
    *out = batch;
    return MN_OK;
}

/* The end of an update batch: batch_end has applied any item left on this thread (begin's,
 * whose scratch exists), so every vector is published; retires the copies they replaced. */
static mn_status mn_update_batch_end(mn_hnsw_batch *batch, mn_status status) {
    MN_ASSERT(status == MN_OK && "begin's thread has scratch: it applies every item left");
    MN_ASSERT(atomic_load(&batch->linked) == batch->count);
    for (size_t i = 0; i < batch->count; i++)
        if (batch->updates[i].previous) mn_rcu_retire(&batch->retired, batch->updates[i].previous);
    mn_rcu_retire_flush(&batch->retired);
    pthread_rwlock_unlock(&batch->index->writers);
    free(batch->updates);
    free(batch);
    return MN_OK;
}

mn_status mn_hnsw_update(mn_hnsw *index, uint64_t id, const float *vector, uint32_t dimension) {
    mn_hnsw_batch *batch = NULL;
    mn_status status = mn_hnsw_update_batch_begin(index, &id, vector, 1, dimension, &batch, NULL);
    if (status != MN_OK) return status;
    return mn_hnsw_batch_end(batch); /* applies the item on this thread */
}

/* ------------------------------------------------------------------------------------------ */
/* Accessors                                                                                   */
/* ------------------------------------------------------------------------------------------ */

mn_status mn_hnsw_get(const mn_hnsw *index, uint64_t id, float *vector, uint32_t dimension) {
    if (!index || !vector) return MN_ERR_INVALID;
    if (dimension != index->params.dimension) return MN_ERR_DIMENSION;
    mn_rcu_read_lock();
    uint32_t slot;
    mn_status status = mn_hnsw_find_live(index, id, &slot);
    if (status == MN_OK)
        memcpy(vector, mn_hnsw_vector_current(mn_hnsw_node_at(index, slot)), (size_t)dimension * sizeof(float));
    mn_rcu_read_unlock();
    return status;
}

mn_status mn_hnsw_contains(const mn_hnsw *index, uint64_t id, int *present) {
    if (!index || !present) return MN_ERR_INVALID;
    mn_rcu_read_lock();
    uint32_t slot;
    *present = mn_hnsw_find_live(index, id, &slot) == MN_OK;
    mn_rcu_read_unlock();
    return MN_OK;
}

/* The LIVE neighbours of `id` on `level`: their ids to `ids` and, when `results` is given, their
 * ids and distances to `id`'s vector there instead. */
static mn_status mn_hnsw_live_neighbors(const mn_hnsw *index, uint64_t id, uint32_t level, uint64_t *ids,
                                        mn_hnsw_result *results, uint32_t capacity, uint32_t *count) {
    mn_rcu_read_lock();
    uint32_t slot;
    mn_status status = mn_hnsw_find_live(index, id, &slot);
    *count = 0;
    if (status == MN_OK) {
        mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
        if (level > node->level) {
            status = MN_ERR_INVALID;
        } else {
            const float *vector = mn_hnsw_vector_current(node);
            mn_hnsw_links *links = mn_links_load(node, level);
            for (uint32_t i = 0; links && i < links->count && *count < capacity; i++) {
                mn_hnsw_node *neighbor = mn_hnsw_node_at(index, links->slots[i]);
                if (atomic_load_explicit(&neighbor->state, memory_order_acquire) != MN_HNSW_STATE_LIVE) continue;
                if (results) {
                    results[*count].id = neighbor->id;
                    results[*count].distance =
                        index->distance(vector, mn_hnsw_vector_current(neighbor), index->params.dimension);
                } else {
                    ids[*count] = neighbor->id;
                }
                (*count)++;
            }
        }
    }
    mn_rcu_read_unlock();
    return status;
}

mn_status mn_hnsw_neighbors(const mn_hnsw *index, uint64_t id, uint32_t level, uint64_t *neighbors,
                            uint32_t capacity, uint32_t *count) {
    if (!index || !count || (capacity > 0 && !neighbors)) return MN_ERR_INVALID;
    return mn_hnsw_live_neighbors(index, id, level, neighbors, NULL, capacity, count);
}

mn_status mn_hnsw_neighbor_distances(const mn_hnsw *index, uint64_t id, uint32_t level,
                                     mn_hnsw_result *neighbors, uint32_t capacity, uint32_t *count) {
    if (!index || !count || (capacity > 0 && !neighbors)) return MN_ERR_INVALID;
    return mn_hnsw_live_neighbors(index, id, level, NULL, neighbors, capacity, count);
}

mn_status mn_hnsw_count(const mn_hnsw *index, uint64_t *out) {
    if (!index || !out) return MN_ERR_INVALID;
    *out = atomic_load_explicit(&((mn_hnsw *)index)->live_count, memory_order_relaxed);
    return MN_OK;
}

mn_status mn_hnsw_bytes(const mn_hnsw *index, uint64_t *out) {
    if (!index || !out) return MN_ERR_INVALID;
    mn_hnsw *mutable_index = (mn_hnsw *)index;
    uint64_t bytes = sizeof(mn_hnsw);
    for (int s = 0; s < MN_HNSW_SEGMENTS_MAX; s++) {
        if (atomic_load_explicit(&mutable_index->segments[s], memory_order_acquire))
            bytes += ((uint64_t)MN_HNSW_SEGMENT_BASE << s) * index->node_stride;
    }
    int64_t lists = atomic_load_explicit(&mutable_index->list_bytes, memory_order_relaxed);
    bytes += lists > 0 ? (uint64_t)lists : 0;
    pthread_mutex_lock(&mutable_index->idmap_lock);
    bytes += mn_hnsw_idmap_bytes(&index->idmap);
    pthread_mutex_unlock(&mutable_index->idmap_lock);
    pthread_mutex_lock(&mutable_index->alloc_lock);
    bytes += (uint64_t)index->free_capacity * sizeof(uint32_t);
    pthread_mutex_unlock(&mutable_index->alloc_lock);
    *out = bytes;
    return MN_OK;
}
