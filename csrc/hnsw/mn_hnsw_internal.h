/*
 * mn_hnsw_internal.h: the in-memory layout of an HNSW index, shared by the graph code
 * (mn_hnsw.c), the filtered search (mn_hnsw_filter.c), the stream code (mn_hnsw_io.c) and the
 * id table (mn_hnsw_idmap.c); and the search scratch (visited marks, heaps) the two search
 * files share.
 *
 * Node storage
 * ------------
 * Nodes live in segments that never move: segment s holds MN_HNSW_SEGMENT_BASE << s nodes, so
 * slot n sits in segment floor(log2(n / BASE + 1)). Each segment is one contiguous, cache-line
 * aligned array of fixed-size records, allocated on the index's NUMA node. A record is
 *
 *   offset  size          field       written by / read by / protected by
 *   0       8             id          inserter before publication / anyone after / immutable
 *   8       4             level       inserter before publication / anyone after / immutable
 *   12      4             state       writers (atomic) / readers (atomic acquire)
 *   16      4             lock        writers editing this node's lists (spin lock)
 *   20      4             (padding)
 *   24      8             links0      layer-0 list: writers under `lock`, readers via acquire
 *   32      8             upper       array of `level` list pointers for layers 1..level
 *   40      8             moved       the current vector while an update settles, or NULL:
 *                                     updater (release, writers held exclusive) / readers
 *                                     (acquire); see "Updates in place" in mn_hnsw.c
 *   48      16            (padding to one cache line)
 *   64      4*dimension   vector      inserter before publication / readers; rewritten only by
 *                                     the settle step of updates, a grace period after `moved`
 *                                     took over (never while a reader can be reading it)
 *   ...     to a multiple of 64 bytes
 *
 * A neighbour list (mn_hnsw_links) is immutable once published. A writer holding the node's
 * lock builds a new list and stores its pointer with release order; the old list is freed
 * after a grace period. Readers load list pointers with acquire order inside an RCU read-side
 * section, so the ids and every node they name are fully written when seen.
 *
 * Slot lifecycle: FREE -> PENDING (reserved, written, not yet linked) -> LIVE (linked, returned
 * by searches) -> DELETED (traversable, never returned) -> FREE (after the repair pass has
 * removed every link to it and a grace period has passed).
 */
#ifndef MN_HNSW_INTERNAL_H
#define MN_HNSW_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hnsw/mn_hnsw_batch.h"
#include "mnemo/mn_hnsw.h"
#include "mnemo/mn_limits.h"
#include "simd/mn_distance_kernels.h"
#include "util/mn_assert.h"
#include "util/mn_rcu.h"

#define MN_HNSW_SLOT_NONE UINT32_MAX
#define MN_HNSW_ENTRY_NONE UINT64_MAX

#define MN_HNSW_STATE_FREE 0u
#define MN_HNSW_STATE_PENDING 1u
#define MN_HNSW_STATE_LIVE 2u
#define MN_HNSW_STATE_DELETED 3u

#define MN_HNSW_NODE_HEADER_SIZE 64
/* mn_hnsw_save serialises this many bytes (or one record, if larger) per RCU read-side
 * section and hands them to the caller's write callback outside it: a callback that blocks
 * (a slow disk) then never holds up synchronize_rcu elsewhere in the process. */
#define MN_HNSW_SAVE_CHUNK_BYTES (256u * 1024u)

/** An immutable neighbour list: `count` slot numbers. */
typedef struct mn_hnsw_links {
    uint32_t count;
    uint32_t slots[];
} mn_hnsw_links;

/** The header of a node record (see the layout above). */
typedef struct mn_hnsw_node {
    uint64_t id;
    uint32_t level;
    _Atomic uint32_t state;
    _Atomic uint32_t lock;
    uint32_t reserved;
    _Atomic(mn_hnsw_links *) links0;
    _Atomic(mn_hnsw_links *) *upper;
    _Atomic(float *) moved;
    uint8_t padding[16];
} mn_hnsw_node;

_Static_assert(sizeof(mn_hnsw_node) == MN_HNSW_NODE_HEADER_SIZE, "node header is one line");
_Static_assert(MN_HNSW_NODE_HEADER_SIZE == MN_CACHE_LINE_SIZE, "header fills a cache line");
_Static_assert(offsetof(mn_hnsw_node, id) == 0, "layout table: id");
_Static_assert(offsetof(mn_hnsw_node, level) == 8, "layout table: level");
_Static_assert(offsetof(mn_hnsw_node, state) == 12, "layout table: state");
_Static_assert(offsetof(mn_hnsw_node, lock) == 16, "layout table: lock");
_Static_assert(offsetof(mn_hnsw_node, links0) == 24, "layout table: links0");
_Static_assert(offsetof(mn_hnsw_node, upper) == 32, "layout table: upper");
_Static_assert(offsetof(mn_hnsw_node, moved) == 40, "layout table: moved");

/** The id table: open addressing, id -> slot, guarded by its mutex. */
typedef struct mn_hnsw_idmap {
    uint64_t *ids;
    uint32_t *slots; /* MN_HNSW_SLOT_NONE: empty; MN_HNSW_IDMAP_TOMBSTONE: removed */
    size_t capacity; /* a power of two */
    size_t used;     /* live entries + tombstones */
    size_t live;
} mn_hnsw_idmap;

#define MN_HNSW_IDMAP_TOMBSTONE (UINT32_MAX - 1u)

struct mn_hnsw {
    /* Immutable after creation. */
    mn_hnsw_params params;
    mn_distance_fn distance;     /* the index's metric (cosine uses ip on unit vectors) */
    mn_distance4_fn distance4;   /* the same, four vectors at a time (the search path) */
    mn_distance4_fn distance4_exact; /* four at a time, each equal to `distance` (exact searches) */
    mn_dot_u8_fn dot_u8;         /* weights times byte codes (mn_hnsw_search_codes) */
    uint32_t m_upper;            /* list capacity on layers >= 1 */
    uint32_t m_base;             /* list capacity on layer 0 (2 * m) */
    double level_multiplier;     /* 1 / ln(m) */
    size_t node_stride;          /* bytes per node record */

    /* Segments: pointers set once (release) under alloc_lock; never moved or freed early. */
    _Atomic(uint8_t *) segments[MN_HNSW_SEGMENTS_MAX];

    /* Slot allocation: next_slot grows; free_slots holds reusable slots. Under alloc_lock. */
    _Alignas(MN_CACHE_LINE_SIZE) pthread_mutex_t alloc_lock;
    _Atomic uint32_t next_slot;  /* readers use it to size their visited sets */
    uint32_t *free_slots;
    uint32_t free_count;
    uint32_t free_capacity;

    /* The id table. */
    _Alignas(MN_CACHE_LINE_SIZE) pthread_mutex_t idmap_lock;
    mn_hnsw_idmap idmap;

    /* Entry point: (level << 32) | slot, or MN_HNSW_ENTRY_NONE. Changed under entry_lock. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint64_t entry;
    pthread_mutex_t entry_lock;
    /* Nodes whose `moved` is set (updated, not yet settled): searches read `moved` only while
     * it is non-zero. Changed by updates and the settle step (writers held exclusive); read by
     * searches once per layer (acquire). On the entry point's line: read by every search,
     * written about as rarely. */
    _Atomic uint64_t moved_count;
    /* Raised before any vector is replaced (an update batch that changes one) or a node is
     * removed: compact codes built when it had some value are exact while it keeps it
     * (mn_hnsw_search_codes). Release by writers, acquire by searches. */
    _Atomic uint64_t vector_changes;

    /* Slots of the nodes updated since the last settle, each once (added when its `moved` goes
     * from NULL to set); MN_HNSW_SETTLE_BATCH entries, allocated on the first update. Under
     * `writers` held exclusive. */
    uint32_t *moved_slots;
    uint32_t moved_used;

    /* Inserts and removes hold it shared; the repair pass and save hold it exclusive. */
    _Alignas(MN_CACHE_LINE_SIZE) pthread_rwlock_t writers;

    /* Counters, relaxed atomics. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic uint64_t live_count;
    _Atomic uint64_t deleted_count;
    _Atomic uint64_t pending_count; /* reserved, not yet linked */
    _Atomic int64_t list_bytes;
};

/* ---- shared helpers (mn_hnsw.c) ---- */

static inline uint32_t mn_hnsw_segment_of(uint32_t slot, uint32_t *first_slot) {
    uint32_t j = (slot >> MN_HNSW_SEGMENT_BASE_LOG2) + 1u;
    uint32_t s = 31u - (uint32_t)__builtin_clz(j);
    *first_slot = ((1u << s) - 1u) << MN_HNSW_SEGMENT_BASE_LOG2;
    return s;
}

static inline mn_hnsw_node *mn_hnsw_node_at(const mn_hnsw *index, uint32_t slot) {
    uint32_t first;
    uint32_t s = mn_hnsw_segment_of(slot, &first);
    uint8_t *segment = atomic_load_explicit(&((mn_hnsw *)index)->segments[s], memory_order_acquire);
    return (mn_hnsw_node *)(segment + (size_t)(slot - first) * index->node_stride);
}

static inline float *mn_hnsw_vector(mn_hnsw_node *node) {
    return (float *)((uint8_t *)node + MN_HNSW_NODE_HEADER_SIZE);
}

/* The vector readers must use: the out-of-line copy of an update not yet settled, else the
 * node's own. Inside RCU. */
static inline const float *mn_hnsw_vector_current(mn_hnsw_node *node) {
    const float *moved = atomic_load_explicit(&node->moved, memory_order_acquire);
    return moved ? moved : mn_hnsw_vector(node);
}

static inline _Atomic(mn_hnsw_links *) *mn_hnsw_links_ref(mn_hnsw_node *node, uint32_t level) {
    return level == 0 ? &node->links0 : &node->upper[level - 1];
}

/* ---- search scratch and helpers, shared by mn_hnsw.c and mn_hnsw_filter.c ---- */

/* The longest list any layer holds, plus one (a list being pruned holds one extra slot). */
#define MN_LIST_SCRATCH (MN_HNSW_M_MAX * 2 + 1)

/** A scored node: its distance to the query and its slot. */
typedef struct mn_pair {
    float distance;
    uint32_t slot;
} mn_pair;

/** A binary heap of pairs (min or max by distance, chosen per call). */
typedef struct mn_heap {
    mn_pair *items;
    uint32_t size;
    uint32_t capacity;
} mn_heap;

/** Per-thread search and insert scratch (mn_scratch_get): allocated once per thread and
 *  reused, so the search path allocates nothing once warm; freed when the thread exits. */
typedef struct mn_scratch {
    uint16_t *visited;
    uint32_t visited_capacity;
    uint16_t epoch;
    mn_heap candidates; /* min-heap by distance */
    mn_heap results;    /* max-heap by distance */
    mn_heap selection;  /* plain array for neighbour selection */
    uint32_t *chosen;   /* selected slots, capacity MN_LIST_SCRATCH */
    mn_pair *pruned;    /* candidates while pruning a full list, same capacity */
    float query[MN_DIMENSION_MAX];
    float previous[MN_DIMENSION_MAX]; /* an update's old vector */
    float *codes_bounded;     /* a code scan's bounded distance of each row (mn_hnsw_search_codes) */
    size_t codes_capacity;
    mn_rcu_retired *retired;
} mn_scratch;

/* Min-heap on candidates, max-heap on results; both over mn_pair.distance. */
static inline void mn_heap_push(mn_heap *heap, mn_pair item, int max_heap) {
    MN_DEBUG_ASSERT(heap->size < heap->capacity);
    uint32_t i = heap->size++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        int swap = max_heap ? heap->items[parent].distance < item.distance
                            : heap->items[parent].distance > item.distance;
        if (!swap) break;
        heap->items[i] = heap->items[parent];
        i = parent;
    }
    heap->items[i] = item;
}

static inline mn_pair mn_heap_pop(mn_heap *heap, int max_heap) {
    MN_DEBUG_ASSERT(heap->size > 0);
    mn_pair top = heap->items[0];
    mn_pair last = heap->items[--heap->size];
    uint32_t i = 0;
    uint32_t n = heap->size;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n) {
            int right = max_heap ? heap->items[child + 1].distance > heap->items[child].distance
                                 : heap->items[child + 1].distance < heap->items[child].distance;
            if (right) child++;
        }
        int down = max_heap ? heap->items[child].distance > last.distance
                            : heap->items[child].distance < last.distance;
        if (!down) break;
        heap->items[i] = heap->items[child];
        i = child;
    }
    if (n > 0) heap->items[i] = last;
    return top;
}

/* Replaces the root of a full max-heap with a smaller item: one sift-down instead of a push
 * followed by a pop. */
static inline void mn_heap_replace_top(mn_heap *heap, mn_pair item) {
    uint32_t i = 0;
    uint32_t n = heap->size;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && heap->items[child + 1].distance > heap->items[child].distance) child++;
        if (heap->items[child].distance <= item.distance) break;
        heap->items[i] = heap->items[child];
        i = child;
    }
    heap->items[i] = item;
}

static inline int mn_pair_less(mn_pair x, mn_pair y) {
    return x.distance < y.distance || (x.distance == y.distance && x.slot < y.slot);
}

/* Whether some node has an update not yet settled: only then must a reader look at `moved`
 * (see "Updates in place" in mn_hnsw.c). Inside RCU; a sample stays usable for the whole section. */
static inline int mn_watch_moved(const mn_hnsw *index) {
    return atomic_load_explicit(&((mn_hnsw *)index)->moved_count, memory_order_acquire) != 0;
}

static inline const float *mn_vector_read(mn_hnsw_node *node, int watch) {
    return watch ? mn_hnsw_vector_current(node) : mn_hnsw_vector(node);
}

static inline mn_hnsw_links *mn_links_load(mn_hnsw_node *node, uint32_t level) {
    return atomic_load_explicit(mn_hnsw_links_ref(node, level), memory_order_acquire);
}

/** The calling thread's scratch, created on first use; NULL when out of memory. */
mn_scratch *mn_scratch_get(void);
/** Grows a heap's storage to hold `capacity` items. MN_ERR_NO_MEMORY on failure. */
mn_status mn_heap_reserve(mn_heap *heap, uint32_t capacity);
/** Grows scratch->codes_bounded to hold `rows` floats. MN_ERR_NO_MEMORY on failure. */
mn_status mn_scratch_reserve_codes(mn_scratch *scratch, size_t rows);
/** Makes the visited marks cover `slots` slots and starts a new epoch (scratch->epoch): a
 *  slot is visited in this search when visited[slot] == epoch. */
mn_status mn_scratch_begin_visit(mn_scratch *scratch, uint32_t slots);
/** Checks a caller's vector (dimension, finiteness; non-zero under cosine) and writes the vector
 *  to search with (unit-normalised for cosine) to `normalized`. */
mn_status mn_hnsw_check_vector(const mn_hnsw *index, const float *vector, uint32_t dimension,
                               float *normalized);
/** Greedy descent on one upper layer: moves *current to a local minimum. Inside RCU. */
void mn_greedy(const mn_hnsw *index, const float *query, uint32_t level, uint32_t *current,
               float *current_distance);

/** Creates an empty index from validated parameters (used by create and load). */
mn_status mn_hnsw_create_internal(const mn_hnsw_params *params, mn_hnsw **out);
/** Loads an index stream at the start of data[0 .. size) in place (no copy of the stream) and
 *  writes its length, trailer included, to *consumed; errors as mn_hnsw_load. */
mn_status mn_hnsw_load_view(const void *data, size_t size, size_t *consumed, mn_hnsw **out);
/** Makes sure slots [0, count) exist (allocating segments). Caller holds alloc_lock. */
mn_status mn_hnsw_ensure_slots(mn_hnsw *index, uint32_t count);
/** Allocates a list of `count` slots (accounted in list_bytes). NULL on failure. */
mn_hnsw_links *mn_hnsw_links_new(mn_hnsw *index, uint32_t count);
/** Allocates the upper-layer pointer array of a node of `level` (NULL lists). */
mn_status mn_hnsw_node_init_upper(mn_hnsw_node *node, uint32_t level);
/** The id table (mn_hnsw_idmap.c); callers hold idmap_lock. */
mn_status mn_hnsw_idmap_find(const mn_hnsw_idmap *map, uint64_t id, uint32_t *slot);
mn_status mn_hnsw_idmap_put(mn_hnsw_idmap *map, uint64_t id, uint32_t slot);
mn_status mn_hnsw_idmap_remove(mn_hnsw_idmap *map, uint64_t id);
mn_status mn_hnsw_idmap_reserve(mn_hnsw_idmap *map, size_t extra);
void mn_hnsw_idmap_free(mn_hnsw_idmap *map);
size_t mn_hnsw_idmap_bytes(const mn_hnsw_idmap *map);

#endif /* MN_HNSW_INTERNAL_H */
