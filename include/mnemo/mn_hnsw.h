/*
 * mn_hnsw.h: one space's approximate nearest-neighbour index (HNSW, Malkov & Yashunin 2016,
 * with the heuristic neighbour selection of their Algorithm 4).
 *
 * Concurrency contract
 * --------------------
 * | operation                         | may run concurrently with            | blocks            |
 * |-----------------------------------|--------------------------------------|-------------------|
 * | search, search_filtered,          | everything but destroy               | never (RCU read)  |
 * | search_ids, search_id_bitmap,     |                                      |                   |
 * | get, contains, neighbors,         |                                      |                   |
 * | neighbor_distances, count, bytes  |                                      |                   |
 * | insert, insert_batch,             | searches and each other (per-node    | on a node's lock  |
 * | remove                            | locks; the entry point under a lock) | for a few stores  |
 * | update, save, the repair pass     | searches; waits out inserts          | inserts           |
 * | destroy                           | nothing (the caller ensures it)      |                   |
 *
 * Readers run inside liburcu (memb flavour) read-side sections; a thread is registered with
 * liburcu on its first call and unregistered when it exits. Neighbour lists are immutable once
 * published: a writer copies a list, edits the copy and publishes it with a release store; the
 * old list is freed through call_rcu after a grace period. Node storage grows in segments that
 * never move, so growth never invalidates a reader's pointer. A removed node stays traversable
 * (never returned) until a repair pass relinks its neighbours; its slot is reused only after a
 * grace period once nothing links to it. A searcher therefore never sees a half-written list or
 * vector: it reaches a node only through a list published after the node was fully written.
 * An update publishes the new vector out of line (an RCU pointer in the node) and copies it
 * into the node a grace period later, when no reader can still be reading the old one there.
 *
 * Cosine indexes store unit-normalised vectors (get returns the normalised vector).
 * Ids are caller-chosen 64-bit values, unique in the index.
 */
#ifndef MN_HNSW_H
#define MN_HNSW_H

#include <stddef.h>
#include <stdint.h>

#include "mn_distance.h"
#include "mn_limits.h"
#include "mn_status.h"
#include "mn_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An index. Opaque; create with mn_hnsw_create or mn_hnsw_load, pair with mn_hnsw_destroy. */
typedef struct mn_hnsw mn_hnsw;

/** Parameters of an index, fixed at creation. */
typedef struct mn_hnsw_params {
    uint32_t dimension;       /**< 1 ... MN_DIMENSION_MAX */
    mn_metric metric;         /**< MN_METRIC_L2, MN_METRIC_IP or MN_METRIC_COSINE */
    uint32_t m;               /**< links per node on upper layers (2*m on layer 0); default 16 */
    uint32_t ef_construction; /**< beam width while inserting; default 200 */
    uint64_t seed;            /**< seeds the level of each id; default 42 */
    mn_simd_level simd_level; /**< kernel level; MN_SIMD_AUTO (default) picks the best */
    int32_t numa_node;        /**< node for storage; -1 (default) for the calling thread's */
} mn_hnsw_params;

/** One search result. */
typedef struct mn_hnsw_result {
    uint64_t id;
    float distance;
} mn_hnsw_result;

/** Fills *out with the defaults for a dimension and metric (m 16, ef_construction 200).
 *  Blocking: never. */
mn_status mn_hnsw_params_default(uint32_t dimension, mn_metric metric, mn_hnsw_params *out);

/**
 * Creates an empty index. Errors: MN_ERR_DIMENSION (0 or over the limit), MN_ERR_INVALID
 * (metric, m or ef_construction out of range), MN_ERR_UNSUPPORTED (forced SIMD level),
 * MN_ERR_NO_MEMORY.
 * Blocking: never (allocates).
 */
mn_status mn_hnsw_create(const mn_hnsw_params *params, mn_hnsw **out);

/** Frees the index. No other call on it may be running or follow. NULL is accepted.
 *  Blocking: never (frees at once; the caller ensures no reader is left). */
mn_status mn_hnsw_destroy(mn_hnsw *index);

/** Copies the index's parameters to *out.
 *  Blocking: never. */
mn_status mn_hnsw_params_get(const mn_hnsw *index, mn_hnsw_params *out);

/**
 * Inserts one vector of `dimension` floats under `id`. Errors (the index is unchanged):
 * MN_ERR_DIMENSION, MN_ERR_NON_FINITE, MN_ERR_ZERO_VECTOR (cosine), MN_ERR_DUPLICATE,
 * MN_ERR_TOO_LARGE (MN_HNSW_NODES_MAX reached), MN_ERR_NO_MEMORY (also when an allocation
 * fails while the node is being linked: the id is then not in the index, the node stays as a
 * deleted one until the next repair pass).
 * Blocking: only on a node's lock for a few stores, and while a save runs.
 */
mn_status mn_hnsw_insert(mn_hnsw *index, uint64_t id, const float *vector, uint32_t dimension);

/**
 * Inserts `count` vectors (row-major, `dimension` floats each) all-or-nothing: the whole batch
 * is validated and its ids and slots reserved before anything is linked, so a bad vector or a
 * duplicate id (also within the batch) changes nothing and writes the offender's position to
 * *failed_index (which may be NULL). `threads` (1 ... MN_HNSW_BATCH_THREADS_MAX) threads link
 * the batch concurrently, the caller being one of them. Out of memory while linking returns
 * MN_ERR_NO_MEMORY with no id of the batch in the index (see mn_hnsw_batch_end).
 * Blocking: until the batch is linked: it starts threads - 1 threads and joins them.
 */
mn_status mn_hnsw_insert_batch(mn_hnsw *index, const uint64_t *ids, const float *vectors,
                               size_t count, uint32_t dimension, uint32_t threads,
                               size_t *failed_index);

/**
 * Finds the k nearest live vectors to `query`, sorted by ascending distance, searching with
 * beam width max(ef, k). Writes up to k results and their number to *found (fewer when the
 * index holds fewer). Errors: MN_ERR_DIMENSION, MN_ERR_NON_FINITE, MN_ERR_ZERO_VECTOR,
 * MN_ERR_INVALID (k = 0, k or ef over the limit, NULL results).
 * Blocking: never (an RCU read section).
 */
mn_status mn_hnsw_search(const mn_hnsw *index, const float *query, uint32_t dimension,
                         uint32_t k, uint32_t ef, mn_hnsw_result *results, uint32_t *found);

/**
 * A filter on ids for mn_hnsw_search_filtered: returns 1 when `id` matches, 0 when not. It is
 * called inside the search's RCU read-side section, at most once per node per search, from the
 * searching thread: it must not block for long and must never wait for a grace period (no
 * mn_hnsw write on any index, no synchronize_rcu). It must give the same answer for an id
 * throughout one search.
 */
typedef int (*mn_hnsw_filter_fn)(uint64_t id, void *context);

/** What one filtered search did (mn_hnsw_search_filtered). */
typedef struct mn_hnsw_filter_stats {
    uint64_t visited;        /**< nodes reached: state read and, if live, the filter called */
    uint64_t filter_calls;   /**< calls to the filter */
    uint64_t distances;      /**< distance computations on layer 0 and in the exact scan (the
                                  upper-layer descent's are not counted) */
    uint64_t matches;        /**< live matching nodes seen */
    uint64_t two_hop;        /**< candidates whose neighbours' neighbours were looked at */
    uint32_t exact_fallback; /**< 1 when the traversal found fewer than ef matches and an exact
                                  scan of the rest of the index completed the search */
    uint32_t reserved;       /**< 0 */
} mn_hnsw_filter_stats;

/**
 * Finds the k nearest live vectors to `query` whose ids `match` accepts, sorted by ascending
 * distance: never a non-matching or removed id. Writes up to k results and their number to
 * *found; `stats` (may be NULL) receives what the search did.
 *
 * The search descends the upper layers as mn_hnsw_search does, then runs a beam search of width
 * max(ef, k) on layer 0 in which only matches are scored and kept: the result heap holds up to ef
 * matches. Non-matching nodes are traversed, never returned: where a candidate's list holds
 * enough matches, its non-matching neighbours are scored as candidates as in mn_hnsw_search;
 * where it is sparse in matches (MN_HNSW_FILTER_SPARSE_DIVISOR), their lists are looked through
 * for matches instead (two hops, ACORN-1 style, over the existing graph). The search stops as mn_hnsw_search does once ef matches are held and the
 * nearest candidate is farther than the farthest of them, or when no candidate is left.
 *
 * Contract at low selectivity: each node is looked at (state read, filter called) at most once
 * per search, so the traversal is bounded by the index size. If it ends holding fewer than ef
 * matches (the matching set is smaller than ef, or the matching part of the graph reachable in
 * two hops ran out), the search completes with an exact scan of every node it has not looked
 * at yet (stats->exact_fallback = 1), so the result is exact then: never short when k matches
 * exist. That scan calls the filter once per remaining node: a caller that knows the matching
 * set is small (at most MN_HNSW_FILTER_SCAN_MATCHES_MAX ids) should call mn_hnsw_search_ids with
 * it instead, and a filter matching nothing costs one call per node.
 *
 * Errors: MN_ERR_DIMENSION, MN_ERR_NON_FINITE, MN_ERR_ZERO_VECTOR, MN_ERR_INVALID (k = 0, k or
 * ef over the limit, NULL results, found or match), MN_ERR_NO_MEMORY (the thread's scratch
 * could not grow).
 * Blocking: never (an RCU read section), apart from what `match` does.
 */
mn_status mn_hnsw_search_filtered(const mn_hnsw *index, const float *query, uint32_t dimension,
                                  uint32_t k, uint32_t ef, mn_hnsw_filter_fn match, void *context,
                                  mn_hnsw_result *results, uint32_t *found,
                                  mn_hnsw_filter_stats *stats);

/**
 * Exact search over a set of ids: the k nearest to `query` among `ids[0 .. count)` that are live
 * members of the index, sorted by ascending distance, ties by ascending id; absent and removed
 * ids are skipped, a repeated id counts once. Distances are the index's metric as mn_hnsw_search
 * reports it, computed by the single-vector kernel (equal to mn_distance's at the best SIMD
 * level on the stored vector; cosine indexes store unit vectors). The strategy for small
 * matching sets (see MN_HNSW_FILTER_SCAN_MATCHES_MAX). Writes up to k results and their number
 * to *found.
 * Errors: MN_ERR_DIMENSION, MN_ERR_NON_FINITE, MN_ERR_ZERO_VECTOR, MN_ERR_INVALID (k = 0 or over
 * the limit, NULL results or found, NULL ids with count > 0), MN_ERR_NO_MEMORY.
 * Blocking: never (an RCU read section); takes the id table's lock once per MN_HNSW_IDS_CHUNK ids.
 */
mn_status mn_hnsw_search_ids(const mn_hnsw *index, const float *query, uint32_t dimension,
                             uint32_t k, const uint64_t *ids, size_t count,
                             mn_hnsw_result *results, uint32_t *found);

/**
 * Exact search over a set of ids given as a bitmap: as mn_hnsw_search_ids over the ids whose bit
 * is set (bit i is words[i / 64] >> (i % 64) & 1, for ids below `bits`), same results, distances
 * and order. `members` is the number of set bits (a hint that picks the walk; a wrong one costs
 * time, not correctness): when the set holds at least 1 / MN_HNSW_BITMAP_WALK_DIVISOR of the
 * index's slots, every slot is visited in order and its id tested against the bitmap (no id
 * table lookups, the vectors read in storage order); otherwise the set ids are looked up in the
 * id table as mn_hnsw_search_ids does, in ascending order. For callers that hold the matching set
 * as a bitmap (the engine's field indexes): no list of ids, no sort.
 * Errors: as mn_hnsw_search_ids (NULL words with bits > 0 is MN_ERR_INVALID).
 * Blocking: never (an RCU read section); the sparse walk takes the id table's lock once per
 * MN_HNSW_IDS_CHUNK ids.
 */
mn_status mn_hnsw_search_id_bitmap(const mn_hnsw *index, const float *query, uint32_t dimension,
                                   uint32_t k, const uint64_t *words, uint64_t bits,
                                   uint64_t members, mn_hnsw_result *results, uint32_t *found);

/** An id with the slot (the node's place in the index) it was found at by mn_hnsw_locate. */
typedef struct mn_hnsw_located {
    uint64_t id;
    uint32_t slot;
    uint32_t reserved; /**< 0 */
} mn_hnsw_located;

/**
 * Finds the slots of the ids set in a bitmap (as mn_hnsw_search_id_bitmap reads it): writes
 * one pair per id present in the index to `out` (room for `capacity`), in ascending slot
 * order, and their number to *count. For a caller that searches the same set many times
 * (mn_hnsw_search_located): the id table is read once instead of at every search.
 * Errors: MN_ERR_INVALID (NULL index, out or count; NULL words with bits > 0),
 * MN_ERR_TOO_LARGE (more ids present than `capacity`: nothing useful written).
 * Blocking: never (an RCU read section); takes the id table's lock once per
 * MN_HNSW_IDS_CHUNK ids.
 */
mn_status mn_hnsw_locate(const mn_hnsw *index, const uint64_t *words, uint64_t bits,
                         mn_hnsw_located *out, size_t capacity, size_t *count);

/**
 * Exact search over located ids: as mn_hnsw_search_ids over their ids, same results, distances
 * and order, without the id table when every slot still holds its id. A slot that no longer
 * does (its id was removed since mn_hnsw_locate, and the slot maybe reused) is never scored:
 * its id is looked up again, so an id present now is found wherever it is. Ids must be
 * distinct.
 * Errors: as mn_hnsw_search_ids (NULL located with count > 0 is MN_ERR_INVALID).
 * Blocking: never (an RCU read section).
 */
mn_status mn_hnsw_search_located(const mn_hnsw *index, const float *query, uint32_t dimension,
                                 uint32_t k, const mn_hnsw_located *located, size_t count,
                                 mn_hnsw_result *results, uint32_t *found);

/**
 * Compact codes of a located set, for a caller that scans the same set many times
 * (mn_hnsw_search_codes). Each vector is kept as one byte per dimension, scaled between the
 * set's least and greatest value of that dimension, along with the largest rounding error of
 * each dimension (and, for L2, each vector's squared norm). A scan reads a quarter of the bytes
 * of the float vectors, contiguous instead of one node record after another, and the error
 * bounds say which vectors must still be scored exactly. Immutable once built; safe to share
 * between threads.
 */
typedef struct mn_hnsw_codes mn_hnsw_codes;

/**
 * Builds the codes of the located ids (mn_hnsw_locate) present now, in the order given; an id
 * no longer in the index is left out. Bytes: about count * (dimension + 20).
 * Errors: MN_ERR_INVALID (NULL index or out; NULL located with count > 0), MN_ERR_NO_MEMORY.
 * Blocking: never (an RCU read section; allocates the codes).
 */
mn_status mn_hnsw_codes_build(const mn_hnsw *index, const mn_hnsw_located *located, size_t count,
                              mn_hnsw_codes **out);

/** Frees codes (NULL is a no-op). No search may be using them.
 *  Blocking: never. */
void mn_hnsw_codes_free(mn_hnsw_codes *codes);

/**
 * Exact search over the ids of `codes` (built from this index): the results, distances and
 * order of mn_hnsw_search_located over the same ids. Every vector is first bounded from its
 * codes; only those whose bound can still reach the k nearest are read and scored exactly.
 * The codes hold while no vector of the index has been replaced or removed since they were
 * built: then *coded is set to 1. Otherwise the search runs as mn_hnsw_search_located over the
 * codes' ids (same results) and *coded is 0: the caller may build them again.
 * Errors: as mn_hnsw_search_located (NULL codes or coded is MN_ERR_INVALID).
 * Blocking: never (an RCU read section).
 */
mn_status mn_hnsw_search_codes(const mn_hnsw *index, const float *query, uint32_t dimension,
                               uint32_t k, const mn_hnsw_codes *codes, mn_hnsw_result *results,
                               uint32_t *found, int *coded);

/**
 * Removes `id`: it never appears in a result after this returns, and its slot is reused by a
 * later insert once a repair pass has unlinked it. Errors: MN_ERR_NOT_FOUND.
 * Blocking: only on a node's lock for a few stores, and while a save runs.
 */
mn_status mn_hnsw_remove(mn_hnsw *index, uint64_t id);

/**
 * Replaces the vector of `id` in place: the node keeps its slot, id and level; its neighbour
 * lists on every level are chosen again from a search around the new vector plus its old
 * neighbours, and the old neighbours that link to it re-select their lists (hnswlib's
 * updatePoint). The index does not grow and leaves no removed node behind. A vector equal to
 * the stored one (after cosine normalisation) changes nothing. A concurrent search or get sees
 * the old vector or the new one, never a mix. Errors (the index is unchanged): MN_ERR_DIMENSION,
 * MN_ERR_NON_FINITE, MN_ERR_ZERO_VECTOR, MN_ERR_NOT_FOUND, MN_ERR_NO_MEMORY. Running out of
 * memory after the vector was replaced only leaves part of its neighbourhood unrepaired (every
 * list stays valid) and is not reported.
 * Blocking: while inserts in flight finish; once per MN_HNSW_SETTLE_BATCH updates, for a grace
 * period (the settle step, see mn_hnsw.c).
 */
mn_status mn_hnsw_update(mn_hnsw *index, uint64_t id, const float *vector, uint32_t dimension);

/** Copies the stored vector of `id` into `vector` (dimension floats). MN_ERR_NOT_FOUND if absent.
 *  Blocking: never (an RCU read section). */
mn_status mn_hnsw_get(const mn_hnsw *index, uint64_t id, float *vector, uint32_t dimension);

/** Writes 1 to *present if `id` is a live member of the index, else 0.
 *  Blocking: never (an RCU read section). */
mn_status mn_hnsw_contains(const mn_hnsw *index, uint64_t id, int *present);

/**
 * Copies the ids of `id`'s neighbours on `level` (at most `capacity`) to `neighbors` and their
 * number to *count; removed neighbours are skipped. Errors: MN_ERR_NOT_FOUND, MN_ERR_INVALID.
 * Blocking: never (an RCU read section).
 */
mn_status mn_hnsw_neighbors(const mn_hnsw *index, uint64_t id, uint32_t level,
                            uint64_t *neighbors, uint32_t capacity, uint32_t *count);

/**
 * Like mn_hnsw_neighbors, with each neighbour's distance to `id` (the index's metric, as
 * mn_hnsw_search reports it), read in one pass: one id lookup for `id`, none per neighbour.
 * Blocking: never (an RCU read section).
 */
mn_status mn_hnsw_neighbor_distances(const mn_hnsw *index, uint64_t id, uint32_t level,
                                     mn_hnsw_result *neighbors, uint32_t capacity, uint32_t *count);

/** Writes the number of live vectors to *out.
 *  Blocking: never. */
mn_status mn_hnsw_count(const mn_hnsw *index, uint64_t *out);

/** Writes the bytes the index holds (node storage, lists, id table) to *out.
 *  Blocking: never. */
mn_status mn_hnsw_bytes(const mn_hnsw *index, uint64_t *out);

/**
 * Writes the whole index (parameters, every node, every list, the entry point) through `write`
 * as one stream with a versioned header and an XXH64 checksum trailer. Runs concurrently with
 * searches; inserts wait. A stream loads into an index that answers every query identically.
 * Blocking: while inserts in flight finish, and in `write` (called on this thread).
 */
mn_status mn_hnsw_save(mn_hnsw *index, mn_write_fn write, void *context);

/**
 * Reads a stream written by mn_hnsw_save. Every field is validated; a truncated stream gives
 * MN_ERR_TRUNCATED, a wrong magic or version MN_ERR_VERSION, any inconsistency or a checksum
 * mismatch MN_ERR_CORRUPT; a failing callback's status is passed through. Never asserts on input.
 * The stream is read and its checksum checked before anything is allocated for its nodes, so
 * a damaged stream costs memory in proportion to its own size (a copy of it), not to the node
 * storage it declares.
 * Blocking: only in `read` (called on this thread).
 */
mn_status mn_hnsw_load(mn_read_fn read, void *context, mn_hnsw **out);

/** mn_hnsw_load over a byte buffer; the whole buffer must be consumed.
 *  Blocking: never. */
mn_status mn_hnsw_load_buffer(const void *data, size_t size, mn_hnsw **out);

#ifdef __cplusplus
}
#endif

#endif /* MN_HNSW_H */
