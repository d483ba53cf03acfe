/*
 * mn_hnsw_filter.c: filtered k-NN search over an HNSW index: the k nearest live vectors whose
 * ids a caller's predicate accepts (mn_hnsw_search_filtered), and the exact search over a given
 * set of ids (mn_hnsw_search_ids), the two strategies the engine picks between by the
 * estimated size of the matching set.
 *
 * Why a traversal of its own
 * --------------------------
 * Searching without the filter and dropping non-matches afterwards (post-filtering) needs a
 * beam of about ef / selectivity nodes: at 1% a hundred times the work, and the beam still
 * converges on the unfiltered neighbourhood, which may hold no match at all. Scoring only
 * matches but walking the graph unchanged breaks the other way: below a few per cent a node's
 * 2*M neighbours hold no match, the matching subgraph falls apart into islands and the beam
 * stops in the first one. ACORN (Patel et al., SIGMOD 2024) keeps the graph and widens the
 * neighbourhood at search time instead: ACORN-1 looks at neighbours' neighbours, so a node
 * with 32 neighbours reaches about a thousand, of which 1% is ten matches. This file does that
 * adaptively, per candidate:
 *   - dense (at least 1 / MN_HNSW_FILTER_SPARSE_DIVISOR of its list matches): expanded as the
 *     unfiltered search expands it: matches are scored into the beam and the candidate queue,
 *     non-matching neighbours are scored into the candidate queue only (traversed through,
 *     never returned). As the selectivity nears 1 this is the unfiltered search.
 *   - sparse: its non-matching neighbours are passed through, not scored: their lists are
 *     looked at for matches until M * MN_HNSW_FILTER_EXPAND_M of them are in reach, which
 *     are scored. The distance work then follows the matches looked at, not the nodes passed.
 * Measured (test_hnsw_filter, bench_hnsw --filter-selectivity; docs/filters.md): at 50% on
 * sift5k and wordnet384, two-hop expansion of every candidate and this rule reached the same
 * recall for about the same distances, and scoring only matches over one hop lost a tenth of
 * the recall on sift5k; at 10% and below nearly every candidate is sparse. Calling a list dense
 * as soon as it holds one match (so non-matches get scored, as in hnswlib's filtered search)
 * needed 2.5x the distances for the same recall at 10% on wordnet384.
 *
 * Per-search marks
 * ----------------
 * A node is looked at (state read, filter called) at most once per search. The visited array
 * of the shared scratch holds one of three epochs per node: MATCH (live, matching, scored),
 * SEEN (not a match, list not yet looked through) and PASSED (not a match, and either passed
 * through or scored as a candidate, whose list is looked at when it is expanded). A SEEN node
 * can still be passed through later from another sparse candidate, which is how two islands of
 * matches a non-matching node apart get joined. Three fresh epochs are taken per search (see
 * mn_filter_epochs for the wrap).
 *
 * Termination and the exact fallback
 * ----------------------------------
 * The beam holds up to ef matches; the candidate queue holds the start node, the matches and
 * the non-matches scored while dense. The usual HNSW condition applies to matches: stop once ef are held and the nearest
 * candidate is farther than the farthest held. While fewer than ef are held every match found
 * becomes a candidate, so the search keeps exploring; it is bounded because each node is looked
 * at once. When the queue runs dry with fewer than ef matches held (the matching set is small,
 * or its reachable part ran out), the search finishes with an exact scan of every slot it has
 * not looked at: the answer is then exact, and a filter matching nothing costs one filter call
 * per node (the contract in mnemo/mn_hnsw.h: small sets belong to mn_hnsw_search_ids).
 *
 * Concurrency is mn_hnsw_search's: one RCU read-side section per call; lists and vectors are
 * read as the unfiltered search reads them (acquire loads, `moved` while updates are unsettled),
 * nodes at or past the slot count read at the start are skipped, and only nodes seen LIVE are
 * offered to the filter and returned. The fallback scan reaches nodes by slot, not through a
 * list: it reads a node's id only after seeing it LIVE (acquire), which orders the id written
 * before the node was published, and a slot is reused only a grace period after its node left
 * LIVE, which cannot pass while this section runs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hnsw/mn_hnsw_internal.h"
#include "util/mn_assert.h"

/* Matches collected for one candidate: its own list's (at most 2*M), then two-hop ones while
 * fewer than M * MN_HNSW_FILTER_EXPAND_M are in reach. */
#define MN_FILTER_BATCH_MAX \
    (MN_HNSW_M_MAX * (MN_HNSW_FILTER_EXPAND_M > 2 ? MN_HNSW_FILTER_EXPAND_M : 2) + 1)
/* Vectors an exact scan requests ahead of the one it scores. */
#define MN_FILTER_PREFETCH_AHEAD 4
/* Node headers the dense walk of an exact search requests ahead of the one it reads (one
 * line each, a record apart: far enough ahead to cover a miss to memory). */
#define MN_EXACT_WALK_AHEAD 16
/* Matching vectors of at least this many bytes in all are prefetched by the exact searches
 * (mn_exact_prefetch_lines): about a core's L2 here (1 MiB). */
#define MN_EXACT_PREFETCH_BYTES_MIN ((uint64_t)1 << 20)
/* Cache lines of a vector an exact scan prefetches (the rest stream in behind them). */
#define MN_FILTER_PREFETCH_LINES 4

_Static_assert(MN_HNSW_FILTER_SPARSE_DIVISOR >= 1, "a divisor");
_Static_assert(MN_HNSW_FILTER_EXPAND_M >= 1, "the two-hop cap is at least M matches");
_Static_assert(MN_HNSW_IDS_CHUNK >= 1 && MN_HNSW_IDS_CHUNK <= 4096, "chunk lives on the stack");

/* The three epochs of one search (see "Per-search marks"). */
typedef struct mn_filter_marks {
    uint16_t *visited;
    uint16_t seen;   /* not a match, list not looked through */
    uint16_t passed; /* not a match, list looked through */
    uint16_t match;  /* live match, scored */
} mn_filter_marks;

/* One search's state, so the helpers below take one pointer. */
typedef struct mn_filter_search {
    const mn_hnsw *index;
    const float *query;
    mn_hnsw_filter_fn match;
    void *context;
    mn_filter_marks marks;
    uint32_t visible; /* slots at or past it were taken after the search began */
    int live_check;   /* some node is DELETED or PENDING: read states */
    int watch;        /* some update is unsettled: read `moved` */
    mn_hnsw_filter_stats stats;
} mn_filter_search;

/*
 * Takes three fresh epochs. mn_scratch_begin_visit clears the marks and restarts at 1 when the
 * 16-bit epoch wraps; taking one more whenever the newest is below 3 keeps all three above
 * zero, the value of every mark after a clear.
 */
static mn_status mn_filter_epochs(mn_scratch *scratch, uint32_t slots, mn_filter_marks *marks) {
    for (int i = 0; i < 3; i++) {
        mn_status status = mn_scratch_begin_visit(scratch, slots);
        if (status != MN_OK) return status;
    }
    while (scratch->epoch < 3) {
        mn_status status = mn_scratch_begin_visit(scratch, slots);
        if (status != MN_OK) return status;
    }
    marks->visited = scratch->visited;
    marks->seen = (uint16_t)(scratch->epoch - 2);
    marks->passed = (uint16_t)(scratch->epoch - 1);
    marks->match = scratch->epoch;
    return MN_OK;
}

/* Looks at a node not looked at before: 1 if it is a live match (marked MATCH), else 0
 * (marked SEEN). */
static inline int mn_filter_look(mn_filter_search *search, uint32_t slot, mn_hnsw_node *node) {
    search->stats.visited++;
    if (search->live_check &&
        atomic_load_explicit(&node->state, memory_order_acquire) != MN_HNSW_STATE_LIVE) {
        search->marks.visited[slot] = search->marks.seen;
        return 0;
    }
    search->stats.filter_calls++;
    if (search->match(node->id, search->context)) {
        search->stats.matches++;
        search->marks.visited[slot] = search->marks.match;
        return 1;
    }
    search->marks.visited[slot] = search->marks.seen;
    return 0;
}

/* Requests the headers of a list's nodes not looked at yet in this search (their state and id
 * are read next). Marks from earlier searches are all below `seen` (epochs only grow, and a
 * wrap clears every mark), so `>= seen` is "looked at in this search". */
static inline void mn_filter_prefetch_unvisited(const mn_filter_search *search, const mn_hnsw_links *links) {
    if (!links) return;
    for (uint32_t i = 0; i < links->count; i++) {
        const uint32_t slot = links->slots[i];
        if (slot < search->visible && search->marks.visited[slot] < search->marks.seen)
            __builtin_prefetch(mn_hnsw_node_at(search->index, slot));
    }
}

/* Scores `count` matches (four at a time) and offers each to the beam and, when `explore`,
 * the ones it keeps to the candidate queue too (the exact fallback only fills the beam). */
static mn_status mn_filter_score(mn_filter_search *search, mn_scratch *scratch, const uint32_t *slots,
                                 uint32_t count, uint32_t ef, int explore) {
    const mn_hnsw *index = search->index;
    const uint32_t dimension = index->params.dimension;
    const float *vectors[MN_FILTER_BATCH_MAX];
    float scores[MN_FILTER_BATCH_MAX];
    for (uint32_t i = 0; i < count; i++) {
        vectors[i] = mn_vector_read(mn_hnsw_node_at(index, slots[i]), search->watch);
        __builtin_prefetch(vectors[i]);
    }
    uint32_t i = 0;
    for (; i + 4 <= count; i += 4) index->distance4(search->query, vectors + i, dimension, scores + i);
    for (; i < count; i++) scores[i] = index->distance(search->query, vectors[i], dimension);
    search->stats.distances += count;

    mn_heap *candidates = &scratch->candidates;
    mn_heap *results = &scratch->results;
    for (i = 0; i < count; i++) {
        const float d = scores[i];
        if (results->size >= ef && d >= results->items[0].distance) continue;
        if (explore) {
            if (candidates->size == candidates->capacity) {
                mn_status status = mn_heap_reserve(candidates, candidates->capacity + 1);
                if (status != MN_OK) return status;
            }
            mn_heap_push(candidates, (mn_pair){d, slots[i]}, 0);
        }
        if (explore == 2) continue;
        if (results->size < ef) mn_heap_push(results, (mn_pair){d, slots[i]}, 1);
        else mn_heap_replace_top(results, (mn_pair){d, slots[i]});
    }
    return MN_OK;
}

/*
 * Expands one candidate: looks at its unvisited neighbours; when its list is sparse in matches,
 * passes through its non-matching neighbours to theirs, else scores the non-matching ones as
 * candidates; scores the matches found.
 */
static mn_status mn_filter_expand(mn_filter_search *search, mn_scratch *scratch, uint32_t slot, uint32_t ef) {
    const mn_hnsw *index = search->index;
    const mn_filter_marks marks = search->marks;
    mn_hnsw_links *links = mn_links_load(mn_hnsw_node_at(index, slot), 0);
    if (!links) return MN_OK;
    const uint32_t count = links->count;
    MN_ASSERT(count <= MN_LIST_SCRATCH);
    /* Headers first: the state and id of each are read next. */
    for (uint32_t i = 0; i < count; i++)
        if (links->slots[i] < search->visible) __builtin_prefetch(mn_hnsw_node_at(index, links->slots[i]));

    uint32_t found[MN_FILTER_BATCH_MAX];
    uint32_t found_count = 0;
    uint32_t through[MN_LIST_SCRATCH]; /* non-matching neighbours not yet passed through */
    uint32_t through_count = 0;
    uint32_t matching = 0; /* matches in the list, scored now or before */
    for (uint32_t i = 0; i < count; i++) {
        const uint32_t neighbor = links->slots[i];
        if (neighbor >= search->visible) continue;
        const uint16_t mark = marks.visited[neighbor];
        if (mark == marks.match) {
            matching++;
        } else if (mark == marks.seen) {
            through[through_count++] = neighbor;
        } else if (mark != marks.passed) {
            if (mn_filter_look(search, neighbor, mn_hnsw_node_at(index, neighbor))) {
                matching++;
                found[found_count++] = neighbor;
            } else {
                through[through_count++] = neighbor;
            }
        }
    }

    /* Sparse: pass through the non-matching neighbours until a full list's worth of matches is
     * in reach of this candidate (ACORN-1's two-hop neighbourhood, cut to the list size). */
    const uint32_t cap = index->params.m * MN_HNSW_FILTER_EXPAND_M;
    if (matching * MN_HNSW_FILTER_SPARSE_DIVISOR < count && through_count > 0) {
        search->stats.two_hop++;
        /* The lists first, then each list's unvisited headers one list ahead of the one being
         * looked at: the misses of a list overlap the filter calls on the one before. */
        mn_hnsw_links *lists[MN_LIST_SCRATCH];
        for (uint32_t t = 0; t < through_count; t++) {
            lists[t] = mn_links_load(mn_hnsw_node_at(index, through[t]), 0);
            if (lists[t]) __builtin_prefetch(lists[t]);
        }
        mn_filter_prefetch_unvisited(search, lists[0]);
        for (uint32_t t = 0; t < through_count && matching < cap; t++) {
            marks.visited[through[t]] = marks.passed;
            if (t + 1 < through_count) mn_filter_prefetch_unvisited(search, lists[t + 1]);
            const mn_hnsw_links *second = lists[t];
            if (!second) continue;
            const uint32_t second_count = second->count;
            MN_ASSERT(second_count <= MN_LIST_SCRATCH);
            for (uint32_t i = 0; i < second_count && matching < cap; i++) {
                const uint32_t neighbor = second->slots[i];
                if (neighbor >= search->visible || marks.visited[neighbor] >= marks.seen) continue;
                if (mn_filter_look(search, neighbor, mn_hnsw_node_at(index, neighbor))) {
                    matching++;
                    found[found_count++] = neighbor;
                }
            }
        }
    }
    else if (through_count > 0) {
        /* Dense: walk through the non-matching neighbours as the unfiltered search does. */
        for (uint32_t t = 0; t < through_count; t++) marks.visited[through[t]] = marks.passed;
        mn_status status = mn_filter_score(search, scratch, through, through_count, ef, 2);
        if (status != MN_OK) return status;
    }
    MN_ASSERT(found_count <= MN_FILTER_BATCH_MAX);
    if (found_count == 0) return MN_OK;
    return mn_filter_score(search, scratch, found, found_count, ef, 1);
}

/* The exact fallback: scores every live match among the slots not looked at yet. */
static mn_status mn_filter_scan_rest(mn_filter_search *search, mn_scratch *scratch, uint32_t ef) {
    const mn_hnsw *index = search->index;
    const mn_filter_marks marks = search->marks;
    uint32_t batch[MN_FILTER_BATCH_MAX];
    uint32_t batch_count = 0;
    search->stats.exact_fallback = 1;
    for (uint32_t slot = 0; slot < search->visible; slot++) {
        if (marks.visited[slot] >= marks.seen) continue;
        mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
        if (slot + MN_FILTER_PREFETCH_AHEAD < search->visible)
            __builtin_prefetch(mn_hnsw_node_at(index, slot + MN_FILTER_PREFETCH_AHEAD));
        /* Always read the state here: free slots are reached too, not only linked nodes. */
        search->stats.visited++;
        if (atomic_load_explicit(&node->state, memory_order_acquire) != MN_HNSW_STATE_LIVE) continue;
        search->stats.filter_calls++;
        if (!search->match(node->id, search->context)) continue;
        search->stats.matches++;
        marks.visited[slot] = marks.match;
        batch[batch_count++] = slot;
        if (batch_count == MN_FILTER_BATCH_MAX) {
            mn_status status = mn_filter_score(search, scratch, batch, batch_count, ef, 0);
            if (status != MN_OK) return status;
            batch_count = 0;
        }
    }
    return batch_count ? mn_filter_score(search, scratch, batch, batch_count, ef, 0) : MN_OK;
}

/* Writes the k best of the beam (a max-heap of pairs) to `results`, nearest first. */
static uint32_t mn_filter_take(const mn_hnsw *index, mn_heap *heap, uint32_t k, mn_hnsw_result *results) {
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
    return n;
}

mn_status mn_hnsw_search_filtered(const mn_hnsw *index, const float *query, uint32_t dimension, uint32_t k,
                                  uint32_t ef, mn_hnsw_filter_fn match, void *context, mn_hnsw_result *results,
                                  uint32_t *found, mn_hnsw_filter_stats *stats) {
    if (stats) memset(stats, 0, sizeof *stats);
    if (!index || !results || !found || !match) return MN_ERR_INVALID;
    if (k == 0 || k > MN_HNSW_K_MAX || ef > MN_HNSW_EF_MAX) return MN_ERR_INVALID;
    mn_scratch *scratch = mn_scratch_get();
    if (!scratch) return MN_ERR_NO_MEMORY;
    mn_status status = mn_hnsw_check_vector(index, query, dimension, scratch->query);
    if (status != MN_OK) return status;
    if (ef < k) ef = k;
    *found = 0;

    mn_filter_search search = {.index = index, .query = scratch->query, .match = match, .context = context};
    mn_hnsw *mutable_index = (mn_hnsw *)index;
    mn_rcu_read_lock();
    uint64_t entry = atomic_load_explicit(&mutable_index->entry, memory_order_acquire);
    if (entry == MN_HNSW_ENTRY_NONE) goto done;
    search.visible = atomic_load_explicit(&mutable_index->next_slot, memory_order_acquire);
    search.watch = mn_watch_moved(index);
    search.live_check = (atomic_load_explicit(&mutable_index->deleted_count, memory_order_acquire) |
                         atomic_load_explicit(&mutable_index->pending_count, memory_order_acquire)) != 0;

    /* The upper layers, unfiltered: they only pick where layer 0 starts. */
    uint32_t current = (uint32_t)entry;
    float current_distance =
        index->distance(scratch->query, mn_vector_read(mn_hnsw_node_at(index, current), search.watch), dimension);
    for (uint32_t level = (uint32_t)(entry >> 32); level > 0; level--)
        mn_greedy(index, scratch->query, level, &current, &current_distance);
    /* The descent may end on a node taken after `visible` was read: cover it too. */
    if (current >= search.visible) search.visible = current + 1;

    status = mn_filter_epochs(scratch, search.visible, &search.marks);
    if (status != MN_OK) goto done;
    mn_heap *candidates = &scratch->candidates;
    mn_heap *beam = &scratch->results;
    status = mn_heap_reserve(beam, ef + 1);
    if (status == MN_OK) status = mn_heap_reserve(candidates, ef + 1);
    if (status != MN_OK) goto done;
    candidates->size = 0;
    beam->size = 0;

    /* The start node is a candidate whether it matches or not: layer 0 is entered there. */
    if (mn_filter_look(&search, current, mn_hnsw_node_at(index, current))) {
        mn_heap_push(beam, (mn_pair){current_distance, current}, 1);
    } else {
        search.marks.visited[current] = search.marks.passed;
    }
    mn_heap_push(candidates, (mn_pair){current_distance, current}, 0);

    while (candidates->size > 0) {
        mn_pair nearest = candidates->items[0];
        if (beam->size >= ef && nearest.distance > beam->items[0].distance) break;
        mn_heap_pop(candidates, 0);
        if (candidates->size > 0) {
            /* The likely next candidate's list, requested while this one is expanded. */
            mn_hnsw_node *next = mn_hnsw_node_at(index, candidates->items[0].slot);
            mn_hnsw_links *next_links = atomic_load_explicit(&next->links0, memory_order_relaxed);
            if (next_links) __builtin_prefetch(next_links);
        }
        status = mn_filter_expand(&search, scratch, nearest.slot, ef);
        if (status != MN_OK) goto done;
    }
    if (beam->size < ef) {
        status = mn_filter_scan_rest(&search, scratch, ef);
        if (status != MN_OK) goto done;
    }
    *found = mn_filter_take(index, beam, k, results);

done:
    mn_rcu_read_unlock();
    if (stats) *stats = search.stats;
    return status;
}

/* ------------------------------------------------------------------------------------------ */
/* Exact search over given ids                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* Result order: by distance, ties by id (the order brute force over ascending ids gives). */
static inline int mn_result_less(mn_hnsw_result a, mn_hnsw_result b) {
    return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
}

/* Sifts results[i] down a max-heap of `n` results. */
static void mn_results_sift_down(mn_hnsw_result *heap, uint32_t n, uint32_t i) {
    mn_hnsw_result item = heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && mn_result_less(heap[child], heap[child + 1])) child++;
        if (!mn_result_less(item, heap[child])) break;
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = item;
}

/* Offers one result to a max-heap of at most k results (the caller's array). */
static inline void mn_results_offer(mn_hnsw_result *heap, uint32_t *n, uint32_t k, mn_hnsw_result item) {
    if (*n < k) {
        uint32_t i = (*n)++;
        while (i > 0) {
            uint32_t parent = (i - 1) / 2;
            if (!mn_result_less(heap[parent], item)) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = item;
    } else if (mn_result_less(item, heap[0])) {
        heap[0] = item;
        mn_results_sift_down(heap, *n, 0);
    }
}

/*
 * A batch of live nodes for an exact search to score: their ids and vectors. Both exact
 * searches (over a list of ids, over a bitmap of ids) fill one and score it whole, so the
 * vectors of a batch can be requested ahead of the distances that read them.
 */
typedef struct mn_exact_batch {
    const float *vectors[MN_HNSW_IDS_CHUNK];
    uint64_t ids[MN_HNSW_IDS_CHUNK];
    uint32_t count;
} mn_exact_batch;

/* Cache lines of one stored vector. */
static inline uint32_t mn_exact_lines(uint32_t dimension) {
    return (uint32_t)(((size_t)dimension * sizeof(float) + MN_CACHE_LINE_SIZE - 1) / MN_CACHE_LINE_SIZE);
}

/* Requests every cache line of one stored vector. */
static inline void mn_exact_prefetch(const float *vector, uint32_t lines) {
    for (uint32_t line = 0; line < lines; line++)
        __builtin_prefetch((const char *)vector + (size_t)line * MN_CACHE_LINE_SIZE);
}

/*
 * Scores a batch into the caller's max-heap of at most k results and empties it, four vectors
 * per pass of the query (index->distance4_exact: each distance bit for bit the single-vector
 * kernel's, which is what mn_distance computes, the contract of both exact searches). Each
 * group of four is requested whole while the group before it is scored, so its misses overlap
 * that arithmetic: `lines` of each (0: none, when the caller requested them already or they
 * are few enough to stay in the core's cache from one search to the next, mn_exact_prefetch_lines).
 */
static void mn_exact_score(const mn_hnsw *index, const float *query, uint32_t dimension, mn_exact_batch *batch,
                           mn_hnsw_result *results, uint32_t *n, uint32_t k, uint32_t lines) {
    const mn_distance_fn distance = index->distance;
    const uint32_t count = batch->count;
    for (uint32_t i = 0; i < count && i < 4; i++) mn_exact_prefetch(batch->vectors[i], lines);
    float scores[MN_HNSW_IDS_CHUNK];
    uint32_t i = 0;
    for (; i + 4 <= count; i += 4) {
        /* The next group of four on its way in while this one is scored. */
        for (uint32_t j = i + 4; j < i + 8 && j < count; j++) mn_exact_prefetch(batch->vectors[j], lines);
        index->distance4_exact(query, batch->vectors + i, dimension, scores + i);
    }
    for (; i < count; i++) scores[i] = distance(query, batch->vectors[i], dimension);
    for (i = 0; i < count; i++) {
        /* Most are farther than the k-th held: one comparison each. */
        if (*n == k && scores[i] > results[0].distance) continue;
        mn_results_offer(results, n, k, (mn_hnsw_result){batch->ids[i], scores[i]});
    }
    batch->count = 0;
}

/* The lines of each vector an exact search over `members` vectors requests ahead: all of them,
 * or none when the vectors together fit in MN_EXACT_PREFETCH_BYTES_MIN. A small matching set is
 * read by one search after another and stays in the core's cache; prefetch instructions for
 * lines already there only cost (measured: docs/filters.md, "Filtered search speed"). */
static inline uint32_t mn_exact_prefetch_lines(uint32_t dimension, uint64_t members) {
    const uint64_t bytes = members * (uint64_t)dimension * sizeof(float);
    return bytes >= MN_EXACT_PREFETCH_BYTES_MIN ? mn_exact_lines(dimension) : 0;
}

/* Sorts the caller's max-heap of n results in place: ascending distance, ties by id. */
static void mn_results_finish(mn_hnsw_result *results, uint32_t n) {
    for (uint32_t end = n; end > 1; end--) {
        mn_hnsw_result top = results[0];
        results[0] = results[end - 1];
        results[end - 1] = top;
        mn_results_sift_down(results, end - 1, 0);
    }
}

/* What every exact search does first: checks its arguments (`set_ok`: the caller's set is
 * not NULL, or empty), takes the thread's scratch and puts the checked query (normalised for
 * cosine) in (*scratch)->query, and sets *found to 0. */
static mn_status mn_exact_prepare(const mn_hnsw *index, const float *query, uint32_t dimension, uint32_t k,
                                  int set_ok, mn_hnsw_result *results, uint32_t *found, mn_scratch **scratch) {
    if (!index || !results || !found || !set_ok) return MN_ERR_INVALID;
    if (k == 0 || k > MN_HNSW_K_MAX) return MN_ERR_INVALID;
    *scratch = mn_scratch_get();
    if (!*scratch) return MN_ERR_NO_MEMORY;
    mn_status status = mn_hnsw_check_vector(index, query, dimension, (*scratch)->query);
    if (status != MN_OK) return status;
    *found = 0;
    return MN_OK;
}

mn_status mn_hnsw_search_ids(const mn_hnsw *index, const float *query, uint32_t dimension, uint32_t k,
                             const uint64_t *ids, size_t count, mn_hnsw_result *results, uint32_t *found) {
    mn_scratch *scratch = NULL;
    mn_status status = mn_exact_prepare(index, query, dimension, k, ids || count == 0, results, found, &scratch);
    if (status != MN_OK || count == 0) return status;

    mn_hnsw *mutable_index = (mn_hnsw *)index;
    uint32_t n = 0;
    mn_rcu_read_lock();
    /* Slots taken after this point belong to ids inserted during the call: skipped, as if
     * the call had run just before them. The marks make a repeated id count once. */
    const uint32_t visible = atomic_load_explicit(&mutable_index->next_slot, memory_order_acquire);
    status = mn_scratch_begin_visit(scratch, visible);
    if (status != MN_OK) goto done;
    const uint16_t epoch = scratch->epoch;
    uint16_t *visited = scratch->visited;
    const int watch = mn_watch_moved(index);
    mn_exact_batch batch;
    batch.count = 0;
    const uint32_t lines = mn_exact_prefetch_lines(dimension, count);
    for (size_t start = 0; start < count; start += MN_HNSW_IDS_CHUNK) {
        const size_t chunk = count - start < MN_HNSW_IDS_CHUNK ? count - start : MN_HNSW_IDS_CHUNK;
        uint32_t slots[MN_HNSW_IDS_CHUNK];
        uint32_t live = 0;
        pthread_mutex_lock(&mutable_index->idmap_lock);
        for (size_t i = 0; i < chunk; i++) {
            uint32_t slot;
            if (mn_hnsw_idmap_find(&index->idmap, ids[start + i], &slot) == MN_OK && slot < visible)
                slots[live++] = slot;
        }
        pthread_mutex_unlock(&mutable_index->idmap_lock);
        /* Keep the live ones, each once. */
        for (uint32_t i = 0; i < live; i++) __builtin_prefetch(mn_hnsw_node_at(index, slots[i]));
        for (uint32_t i = 0; i < live; i++) {
            const uint32_t slot = slots[i];
            if (visited[slot] == epoch) continue;
            visited[slot] = epoch;
            mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
            if (atomic_load_explicit(&node->state, memory_order_acquire) != MN_HNSW_STATE_LIVE) continue;
            batch.ids[batch.count] = node->id;
            batch.vectors[batch.count++] = mn_vector_read(node, watch);
        }
        mn_exact_score(index, scratch->query, dimension, &batch, results, &n, k, lines);
    }
    mn_results_finish(results, n);
    *found = n;

done:
    mn_rcu_read_unlock();
    return status;
}

mn_status mn_hnsw_search_id_bitmap(const mn_hnsw *index, const float *query, uint32_t dimension, uint32_t k,
                                   const uint64_t *words, uint64_t bits, uint64_t members,
                                   mn_hnsw_result *results, uint32_t *found) {
    mn_scratch *scratch = NULL;
    mn_status status = mn_exact_prepare(index, query, dimension, k, words || bits == 0, results, found, &scratch);
    if (status != MN_OK || bits == 0 || members == 0) return status;

    mn_hnsw *mutable_index = (mn_hnsw *)index;
    uint32_t n = 0;
    mn_exact_batch batch;
    batch.count = 0;
    mn_rcu_read_lock();
    /* As mn_hnsw_search_ids: slots taken after this point are skipped. */
    const uint32_t visible = atomic_load_explicit(&mutable_index->next_slot, memory_order_acquire);
    const int watch = mn_watch_moved(index);
    const int walk = members * MN_HNSW_BITMAP_WALK_DIVISOR >= visible;
    const uint32_t lines = mn_exact_prefetch_lines(dimension, members);
    if (walk) {
        /* Dense: every slot in order, segment by segment, its id tested against the bitmap.
         * The headers stream (one line each, requested a few slots ahead); a node's id is read
         * only after it is seen LIVE (acquire), as in the fallback scan of the traversal. A
         * match's vector lies right behind the header just read and streams in with the walk:
         * requesting it whole as well was slower (docs/filters.md, "Filtered search speed"). */
        for (uint32_t s = 0, first = 0; first < visible; first += MN_HNSW_SEGMENT_BASE << s, s++) {
            const uint32_t end = visible - first < (MN_HNSW_SEGMENT_BASE << s) ? visible - first
                                                                               : MN_HNSW_SEGMENT_BASE << s;
            uint8_t *record = atomic_load_explicit(&mutable_index->segments[s], memory_order_acquire);
            for (uint32_t i = 0; i < end; i++, record += index->node_stride) {
                if (i + MN_EXACT_WALK_AHEAD < end) __builtin_prefetch(record + MN_EXACT_WALK_AHEAD * index->node_stride);
                mn_hnsw_node *node = (mn_hnsw_node *)record;
                if (atomic_load_explicit(&node->state, memory_order_acquire) != MN_HNSW_STATE_LIVE) continue;
                const uint64_t id = node->id;
                if (id >= bits || !((words[id / 64] >> (id % 64)) & 1u)) continue;
                batch.ids[batch.count] = id;
                batch.vectors[batch.count++] = mn_vector_read(node, watch);
                if (batch.count == MN_HNSW_IDS_CHUNK) mn_exact_score(index, scratch->query, dimension, &batch, results, &n, k, 0);
            }
        }
    } else {
        /* Sparse: the set ids in ascending order, looked up MN_HNSW_IDS_CHUNK per hold of the
         * id table's lock. Each id is set once, so each node is scored once. */
        const size_t word_count = (size_t)((bits + 63) / 64);
        size_t w = 0;
        uint64_t word = word_count ? words[0] : 0;
        for (;;) {
            uint64_t chunk[MN_HNSW_IDS_CHUNK];
            uint32_t taken = 0;
            while (taken < MN_HNSW_IDS_CHUNK) {
                while (!word && ++w < word_count) word = words[w];
                if (!word) break;
                const uint64_t id = (uint64_t)w * 64 + (uint64_t)__builtin_ctzll(word);
                word &= word - 1;
                if (id >= bits) {
                    word = 0;
                    w = word_count;
                    break;
                }
                chunk[taken++] = id;
            }
            if (taken == 0) break;
            uint32_t slots[MN_HNSW_IDS_CHUNK];
            uint32_t live = 0;
            pthread_mutex_lock(&mutable_index->idmap_lock);
            for (uint32_t i = 0; i < taken; i++) {
                uint32_t slot;
                if (mn_hnsw_idmap_find(&index->idmap, chunk[i], &slot) == MN_OK && slot < visible)
                    slots[live++] = slot;
            }
            pthread_mutex_unlock(&mutable_index->idmap_lock);
            for (uint32_t i = 0; i < live; i++) __builtin_prefetch(mn_hnsw_node_at(index, slots[i]));
            for (uint32_t i = 0; i < live; i++) {
                mn_hnsw_node *node = mn_hnsw_node_at(index, slots[i]);
                if (atomic_load_explicit(&node->state, memory_order_acquire) != MN_HNSW_STATE_LIVE) continue;
                batch.ids[batch.count] = node->id;
                batch.vectors[batch.count++] = mn_vector_read(node, watch);
            }
            mn_exact_score(index, scratch->query, dimension, &batch, results, &n, k, lines);
        }
    }
    if (batch.count) mn_exact_score(index, scratch->query, dimension, &batch, results, &n, k, walk ? 0 : lines);
    mn_results_finish(results, n);
    *found = n;
    mn_rcu_read_unlock();
    return MN_OK;
}

static int mn_located_less(const void *a, const void *b) {
    const mn_hnsw_located *x = a, *y = b;
    return (x->slot > y->slot) - (x->slot < y->slot);
}

mn_status mn_hnsw_locate(const mn_hnsw *index, const uint64_t *words, uint64_t bits,
                         mn_hnsw_located *out, size_t capacity, size_t *count) {
    if (!index || !out || !count || (!words && bits > 0)) return MN_ERR_INVALID;
    *count = 0;
    mn_hnsw *mutable_index = (mn_hnsw *)index;
    size_t n = 0;
    mn_status status = MN_OK;
    const size_t word_count = (size_t)((bits + 63) / 64);
    for (size_t w = 0; w < word_count && status == MN_OK;) {
        /* One hold of the id table's lock per chunk of set ids (whole words: at least
         * MN_HNSW_IDS_CHUNK ids unless the bitmap ends first). */
        uint64_t chunk[MN_HNSW_IDS_CHUNK + 64];
        uint32_t taken = 0;
        for (; w < word_count && taken < MN_HNSW_IDS_CHUNK; w++) {
            for (uint64_t word = words[w]; word; word &= word - 1) {
                const uint64_t id = (uint64_t)w * 64 + (uint64_t)__builtin_ctzll(word);
                if (id < bits) chunk[taken++] = id;
            }
        }
        if (taken == 0) continue;
        pthread_mutex_lock(&mutable_index->idmap_lock);
        for (uint32_t i = 0; i < taken; i++) {
            uint32_t slot;
            if (mn_hnsw_idmap_find(&index->idmap, chunk[i], &slot) != MN_OK) continue;
            if (n == capacity) {
                status = MN_ERR_TOO_LARGE;
                break;
            }
            out[n++] = (mn_hnsw_located){chunk[i], slot, 0};
        }
        pthread_mutex_unlock(&mutable_index->idmap_lock);
    }
    if (status != MN_OK) return status;
    qsort(out, n, sizeof(*out), mn_located_less);
    *count = n;
    return MN_OK;
}

/* The LIVE node of a located id: at its slot while that still holds it, else (moved or gone
 * since it was located) wherever the id table says it is now; NULL when it is not in the index
 * or not visible. Its slot to *slot. Inside the caller's read section. */
static mn_hnsw_node *mn_located_node(const mn_hnsw *index, const mn_hnsw_located *pair, uint32_t visible,
                                     uint32_t *slot) {
    mn_hnsw_node *node = pair->slot < visible ? mn_hnsw_node_at(index, pair->slot) : NULL;
    if (node && atomic_load_explicit(&node->state, memory_order_acquire) == MN_HNSW_STATE_LIVE &&
        node->id == pair->id) {
        *slot = pair->slot;
        return node;
    }
    mn_hnsw *mutable_index = (mn_hnsw *)index;
    pthread_mutex_lock(&mutable_index->idmap_lock);
    mn_status found = mn_hnsw_idmap_find(&index->idmap, pair->id, slot);
    pthread_mutex_unlock(&mutable_index->idmap_lock);
    if (found != MN_OK || *slot >= visible) return NULL;
    node = mn_hnsw_node_at(index, *slot);
    return atomic_load_explicit(&node->state, memory_order_acquire) == MN_HNSW_STATE_LIVE ? node : NULL;
}

mn_status mn_hnsw_search_located(const mn_hnsw *index, const float *query, uint32_t dimension,
                                 uint32_t k, const mn_hnsw_located *located, size_t count,
                                 mn_hnsw_result *results, uint32_t *found) {
    mn_scratch *scratch = NULL;
    mn_status status = mn_exact_prepare(index, query, dimension, k, located || count == 0, results, found, &scratch);
    if (status != MN_OK || count == 0) return status;

    mn_hnsw *mutable_index = (mn_hnsw *)index;
    uint32_t n = 0;
    mn_exact_batch batch;
    batch.count = 0;
    mn_rcu_read_lock();
    /* As mn_hnsw_search_ids: slots taken after this point are skipped. */
    const uint32_t visible = atomic_load_explicit(&mutable_index->next_slot, memory_order_acquire);
    const int watch = mn_watch_moved(index);
    const uint32_t lines = mn_exact_prefetch_lines(dimension, count);
    for (size_t start = 0; start < count; start += MN_HNSW_IDS_CHUNK) {
        const size_t chunk = count - start < MN_HNSW_IDS_CHUNK ? count - start : MN_HNSW_IDS_CHUNK;
        const mn_hnsw_located *group = located + start;
        for (size_t i = 0; i < chunk; i++)
            if (group[i].slot < visible) __builtin_prefetch(mn_hnsw_node_at(index, group[i].slot));
        for (size_t i = 0; i < chunk; i++) {
            uint32_t slot;
            mn_hnsw_node *node = mn_located_node(index, &group[i], visible, &slot);
            if (!node) continue;
            batch.ids[batch.count] = group[i].id;
            batch.vectors[batch.count++] = mn_vector_read(node, watch);
        }
        mn_exact_score(index, scratch->query, dimension, &batch, results, &n, k, lines);
    }
    mn_results_finish(results, n);
    *found = n;
    mn_rcu_read_unlock();
    return MN_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Compact codes                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* The greatest code: one byte per dimension. */
#define MN_CODES_LEVELS 255u
/* The float error of one sum of `dimension` products (a code scan or an exact kernel), as a
 * fraction of the sum of their magnitudes: dimension * 2^-24 with a margin of 8 (pairwise
 * and lane-wise sums both stay well inside it). */
#define MN_CODES_ROUNDING(dimension) (((double)(dimension) + 8.0) * 0x1p-21)

struct mn_hnsw_codes {
    uint64_t changes;      /* index->vector_changes when built */
    size_t count;          /* rows */
    uint32_t dimension;
    mn_hnsw_located *rows; /* each row's id and slot */
    float *low;            /* per dimension: the least value of the set (one block with the next two) */
    float *step;           /* per dimension: (greatest - least) / MN_CODES_LEVELS */
    float *error;          /* per dimension: the largest |x - (low + step * code)| of the set */
    float *norms;          /* L2: each row's squared norm; NULL for the other metrics */
    float norm_max;        /* the greatest of them */
    uint8_t *codes;        /* row r at codes + r * dimension */
};

void mn_hnsw_codes_free(mn_hnsw_codes *codes) {
    if (!codes) return;
    free(codes->rows);
    free(codes->low);
    free(codes->norms);
    free(codes->codes);
    free(codes);
}

/* A float at least `value`. */
static inline float mn_float_up(double value) {
    float rounded = (float)value;
    return (double)rounded >= value ? rounded : nextafterf(rounded, INFINITY);
}

mn_status mn_hnsw_codes_build(const mn_hnsw *index, const mn_hnsw_located *located, size_t count,
                              mn_hnsw_codes **out) {
    if (!index || !out || (!located && count > 0)) return MN_ERR_INVALID;
    *out = NULL;
    if (count > UINT32_MAX) return MN_ERR_TOO_LARGE; /* rows are numbered in 32 bits */
    const uint32_t dim = index->params.dimension;
    const size_t rows = count ? count : 1;
    mn_hnsw_codes *codes = calloc(1, sizeof(*codes));
    const float **vectors = malloc(rows * sizeof(*vectors));
    if (codes) {
        codes->dimension = dim;
        codes->rows = malloc(rows * sizeof(mn_hnsw_located));
        codes->low = malloc(3 * (size_t)dim * sizeof(float));
        codes->codes = malloc(rows * dim);
        if (index->params.metric == MN_METRIC_L2) codes->norms = malloc(rows * sizeof(float));
    }
    if (!codes || !vectors || !codes->rows || !codes->low || !codes->codes ||
        (index->params.metric == MN_METRIC_L2 && !codes->norms)) {
        mn_hnsw_codes_free(codes);
        free(vectors);
        return MN_ERR_NO_MEMORY;
    }
    codes->step = codes->low + dim;
    codes->error = codes->step + dim;
    float *low = codes->low, *step = codes->step, *error = codes->error;

    mn_hnsw *mutable_index = (mn_hnsw *)index;
    mn_rcu_read_lock();
    /* Before any vector is read: a change from here on makes the codes stale, never wrong. */
    codes->changes = atomic_load_explicit(&mutable_index->vector_changes, memory_order_acquire);
    const uint32_t visible = atomic_load_explicit(&mutable_index->next_slot, memory_order_acquire);
    const int watch = mn_watch_moved(index);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t slot;
        mn_hnsw_node *node = mn_located_node(index, &located[i], visible, &slot);
        if (!node) continue;
        codes->rows[n] = (mn_hnsw_located){located[i].id, slot, 0};
        vectors[n++] = mn_vector_read(node, watch);
    }
    codes->count = n;
    /* The range of each dimension (the error block holds the greatest values meanwhile). */
    float *high = error;
    for (uint32_t d = 0; d < dim; d++) {
        low[d] = n ? INFINITY : 0.0f;
        high[d] = n ? -INFINITY : 0.0f;
    }
    for (size_t r = 0; r < n; r++) {
        for (uint32_t d = 0; d < dim; d++) {
            const float x = vectors[r][d];
            if (x < low[d]) low[d] = x;
            if (x > high[d]) high[d] = x;
        }
    }
    for (uint32_t d = 0; d < dim; d++) {
        const float range = high[d] - low[d];
        step[d] = range > 0.0f ? range / (float)MN_CODES_LEVELS : 0.0f;
        error[d] = 0.0f;
    }
    float norm_max = 0.0f;
    for (size_t r = 0; r < n; r++) {
        uint8_t *row = codes->codes + r * dim;
        double norm = 0.0;
        for (uint32_t d = 0; d < dim; d++) {
            const float x = vectors[r][d];
            long code = step[d] > 0.0f ? lrintf((x - low[d]) / step[d]) : 0;
            if (code < 0) code = 0;
            if (code > (long)MN_CODES_LEVELS) code = MN_CODES_LEVELS;
            row[d] = (uint8_t)code;
            /* The rounding error as it is: exact in double for these float operands. */
            const float e = mn_float_up(fabs((double)x - ((double)low[d] + (double)step[d] * (double)code)));
            if (e > error[d]) error[d] = e;
            norm += (double)x * (double)x;
        }
        if (codes->norms) {
            codes->norms[r] = (float)norm;
            if (codes->norms[r] > norm_max) norm_max = codes->norms[r];
        }
    }
    codes->norm_max = norm_max;
    mn_rcu_read_unlock();
    free(vectors);
    *out = codes;
    return MN_OK;
}

mn_status mn_hnsw_search_codes(const mn_hnsw *index, const float *query, uint32_t dimension,
                               uint32_t k, const mn_hnsw_codes *codes, mn_hnsw_result *results,
                               uint32_t *found, int *coded) {
    if (!codes || !coded) return MN_ERR_INVALID;
    *coded = 0;
    mn_scratch *scratch = NULL;
    mn_status status = mn_exact_prepare(index, query, dimension, k, 1, results, found, &scratch);
    if (status != MN_OK) return status;
    MN_ASSERT(codes->dimension == index->params.dimension && "codes of another index");

    mn_hnsw *mutable_index = (mn_hnsw *)index;
    mn_rcu_read_lock();
    if (atomic_load_explicit(&mutable_index->vector_changes, memory_order_acquire) != codes->changes) {
        /* A vector replaced or removed since the build: the ids are still right, the codes may
         * not be. */
        mn_rcu_read_unlock();
        return mn_hnsw_search_located(index, query, dimension, k, codes->rows, codes->count, results, found);
    }
    *coded = 1;
    const size_t count = codes->count;
    if (count == 0) goto done;
    status = mn_scratch_reserve_codes(scratch, count);
    if (status == MN_OK) status = mn_heap_reserve(&scratch->results, k);
    if (status != MN_OK) goto done;

    /* q . x = q . low + sum (q_i step_i) code_i, within sum |q_i| error_i (`bound`) plus the
     * rounding of the two float sums (`magnitude` scales it). */
    const float *q = scratch->query;
    float weights[MN_DIMENSION_MAX];
    double offset = 0.0, bound = 0.0, magnitude = 0.0, qq = 0.0;
    for (uint32_t d = 0; d < dimension; d++) {
        weights[d] = q[d] * codes->step[d];
        offset += (double)q[d] * codes->low[d];
        bound += fabs((double)q[d]) * codes->error[d];
        magnitude += fabs((double)q[d]) * (fabs((double)codes->low[d]) + MN_CODES_LEVELS * (double)codes->step[d]);
        qq += (double)q[d] * q[d];
    }
    const int l2 = codes->norms != NULL;
    /* How far a bounded distance may be from the exact kernel's: L2 is |q|^2 + |x|^2 - 2 q.x. */
    const double tolerance = l2 ? 2.0 * bound + MN_CODES_ROUNDING(dimension) * (2.0 * magnitude + qq + codes->norm_max)
                                : bound + MN_CODES_ROUNDING(dimension) * (magnitude + 1.0);
    float *bounded = scratch->codes_bounded;
    mn_heap *nearest = &scratch->results; /* max-heap of the k least bounded distances */
    nearest->size = 0;
    const float base = l2 ? (float)qq - 2.0f * (float)offset : 1.0f - (float)offset;
    const float scale = l2 ? -2.0f : -1.0f;
    index->dot_u8(weights, codes->codes, dimension, count, bounded);
    for (size_t r = 0; r < count; r++) {
        const float distance = base + scale * bounded[r] + (l2 ? codes->norms[r] : 0.0f);
        bounded[r] = distance;
        if (nearest->size < k) {
            mn_heap_push(nearest, (mn_pair){distance, (uint32_t)r}, 1);
        } else if (distance < nearest->items[0].distance) {
            (void)mn_heap_pop(nearest, 1);
            mn_heap_push(nearest, (mn_pair){distance, (uint32_t)r}, 1);
        }
    }
    /* The k rows nearest by their codes are within `tolerance` of their exact distances, so the
     * k-th exact distance is at most their greatest plus it, and a row whose codes put it more
     * than twice that past their greatest cannot be among the k nearest. */
    const double limit = nearest->size < k ? INFINITY : (double)nearest->items[0].distance + 2.0 * tolerance;
    const int watch = mn_watch_moved(index);
    const uint32_t lines = mn_exact_lines(dimension);
    uint32_t n = 0;
    mn_exact_batch batch;
    batch.count = 0;
    for (size_t r = 0; r < count; r++) {
        if ((double)bounded[r] > limit) continue;
        const mn_hnsw_located *row = &codes->rows[r];
        mn_hnsw_node *node = mn_hnsw_node_at(index, row->slot);
        /* Not LIVE or not its id: removed since this search began (the count was unchanged). */
        if (atomic_load_explicit(&node->state, memory_order_acquire) != MN_HNSW_STATE_LIVE || node->id != row->id)
            continue;
        batch.ids[batch.count] = row->id;
        batch.vectors[batch.count++] = mn_vector_read(node, watch);
        if (batch.count == MN_HNSW_IDS_CHUNK) mn_exact_score(index, scratch->query, dimension, &batch, results, &n, k, lines);
    }
    if (batch.count) mn_exact_score(index, scratch->query, dimension, &batch, results, &n, k, lines);
    mn_results_finish(results, n);
    *found = n;
done:
    mn_rcu_read_unlock();
    return status;
}
