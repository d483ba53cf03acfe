/*
 * mn_assoc.h: one space's associations between memories, and recall by spreading activation
 * over them and over the index's similarity graph.
 *
 * Private to the core (the engine and the C tests use it): applications reach associations
 * through a space (mn_space_link, mn_space_recall in mnemo/mn_engine.h), which keys them by
 * string ids and orders them with the space's other writes.
 *
 * Associations are directed, weighted links between memory ids (the uint64 labels of the
 * space's HNSW index): link(from, to, w) lets activation flow from `from` to `to`. Each memory
 * keeps its outgoing and its incoming links, so removing a memory removes every link that
 * touches it in both directions; both are bounded by MN_ASSOC_DEGREE_MAX.
 *
 * Recall (mn_assoc_recall) spreads activation as defined precisely in include/mnemo/mn_recall.h
 * (the engine's mn_space_recall is the same function over a space).
 *
 * Concurrency contract
 * --------------------
 * | operation                          | may run concurrently with         | notes                  |
 * |------------------------------------|-----------------------------------|------------------------|
 * | links_of, count, recall            | everything but destroy            | RCU read sections      |
 * | link, unlink, remove_all, save     | readers only: one writer at a     | the space's worker;    |
 * |                                    | time (callers serialise writers)  | hand-offs need a       |
 * |                                    |                                   | happens-before edge    |
 * | destroy                            | nothing                           |                        |
 * Each memory's links are one immutable array published with a release store into an
 * open-addressing table that is itself replaced (never edited in place when it grows) and
 * published the same way; replaced arrays and tables are freed through mn_rcu_retire after a
 * grace period. A reader therefore sees each memory's links either entirely before or entirely
 * after a write; a link's two ends (out at `from`, in at `to`) are published one after the other.
 */
#ifndef MN_ASSOC_PRIVATE_H
#define MN_ASSOC_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "mnemo/mn_hnsw.h"
#include "mnemo/mn_limits.h"
#include "mnemo/mn_recall.h"
#include "mnemo/mn_status.h"
#include "mnemo/mn_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One space's association table. Opaque; pair mn_assoc_create/_load with mn_assoc_destroy. */
typedef struct mn_assoc mn_assoc;

/** One link as seen from a memory: the other end and the weight. */
typedef struct mn_assoc_edge {
    uint64_t id;
    float weight; /**< in (0, 1] */
    uint32_t reserved;
} mn_assoc_edge;

/** Which links of a memory mn_assoc_links_of returns. */
#define MN_ASSOC_OUT 0 /**< links from this memory */
#define MN_ASSOC_IN  1 /**< links to this memory */

/** Creates an empty table. Errors: MN_ERR_INVALID (NULL out), MN_ERR_NO_MEMORY. */
mn_status mn_assoc_create(mn_assoc **out);

/** Frees the table. No other call may run concurrently or follow. NULL is accepted. */
mn_status mn_assoc_destroy(mn_assoc *assoc);

/**
 * Links `from` to `to` with `weight`, or sets the weight of an existing link. Errors (nothing
 * changed): MN_ERR_INVALID (NULL, from == to, weight NaN, <= 0 or > 1), MN_ERR_FULL (from has
 * MN_ASSOC_DEGREE_MAX outgoing links or to has as many incoming), MN_ERR_TOO_LARGE (the table
 * holds MN_ASSOC_NODES_MAX memories), MN_ERR_NO_MEMORY.
 */
mn_status mn_assoc_link(mn_assoc *assoc, uint64_t from, uint64_t to, float weight);

/** Removes the link from `from` to `to`. Errors: MN_ERR_NOT_FOUND, MN_ERR_NO_MEMORY. */
mn_status mn_assoc_unlink(mn_assoc *assoc, uint64_t from, uint64_t to);

/**
 * Removes every link from and to `id` (call when the memory is removed); writes how many were
 * removed to *removed (may be NULL). An id without links is not an error (0 removed).
 * Errors (nothing changed): MN_ERR_NO_MEMORY.
 */
mn_status mn_assoc_remove_all(mn_assoc *assoc, uint64_t id, uint32_t *removed);

/**
 * Copies `id`'s outgoing (MN_ASSOC_OUT) or incoming (MN_ASSOC_IN) links, by ascending id, at most
 * `capacity` of them (MN_ASSOC_DEGREE_MAX always suffices), and their number to *count.
 * An id without links gives 0. Errors: MN_ERR_INVALID (NULL, unknown direction).
 */
mn_status mn_assoc_links_of(const mn_assoc *assoc, uint64_t id, int32_t direction, mn_assoc_edge *links,
                            uint32_t capacity, uint32_t *count);

/** Writes the number of links (each directed link once) to *out. */
mn_status mn_assoc_count(const mn_assoc *assoc, uint64_t *out);

/**
 * Writes every link through `write` as one stream with a versioned header and an XXH64
 * checksum trailer; the same links always give the same bytes. Runs concurrently with readers,
 * not with writers (call it from the writer).
 */
mn_status mn_assoc_save(const mn_assoc *assoc, mn_write_fn write, void *context);

/**
 * Reads a stream written by mn_assoc_save into a new table. Everything is validated: a truncated
 * stream gives MN_ERR_TRUNCATED, a wrong magic or version MN_ERR_VERSION, any inconsistency
 * (weights, order, duplicates, self links, degrees, counts) or a checksum mismatch
 * MN_ERR_CORRUPT; a failing callback's status is passed through. Never asserts on input.
 */
mn_status mn_assoc_load(mn_read_fn read, void *context, mn_assoc **out);

/** mn_assoc_load over a byte buffer; the whole buffer must be consumed (else MN_ERR_CORRUPT). */
mn_status mn_assoc_load_buffer(const void *data, size_t size, mn_assoc **out);

/* ---- recall by spreading activation (parameters in mnemo/mn_recall.h) ---- */

/** One recalled memory. */
typedef struct mn_recall_result {
    uint64_t id;
    float activation; /**< in [threshold, 1] */
    uint32_t hops;    /**< 0 for a seed; else the round that gave its activation */
} mn_recall_result;

/**
 * Recalls the memories most activated by `cue` (a vector of `dimension` floats) in the space
 * made of `index` and `assoc`, writing at most `capacity` results in order (activation desc, id
 * asc) and their number to *found. Deterministic for a given index and table; bounded by the
 * params; allocates its scratch per call (proportional to the memories it activates). Runs on
 * any thread, concurrently with writers of both. Errors: MN_ERR_INVALID (NULL, a parameter out
 * of range, results NULL with capacity > 0), MN_ERR_DIMENSION, MN_ERR_NON_FINITE,
 * MN_ERR_ZERO_VECTOR (cosine), MN_ERR_NO_MEMORY.
 */
mn_status mn_assoc_recall(const mn_assoc *assoc, const mn_hnsw *index, const float *cue, uint32_t dimension,
                          const mn_recall_params *params, mn_recall_result *results, uint32_t capacity,
                          uint32_t *found);

#ifdef __cplusplus
}
#endif

#endif /* MN_ASSOC_PRIVATE_H */
