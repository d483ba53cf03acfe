/*
 * mn_recall.h: the parameters of recall by spreading activation (mn_space_recall in
 * mn_engine.h), and the precise definition of what a recall returns.
 *
 * Recall, precisely:
 *   similarity s(d) of a distance d from mn_distance (mn_distance.h):
 *       MN_METRIC_COSINE, MN_METRIC_IP:  s = min(1, max(0, 1 - d))   (cosine similarity, or the
 *                                                                     dot product, clamped)
 *       MN_METRIC_L2:                     s = 1 / (1 + d)            (d the SQUARED distance)
 *   seeds: the `seeds` nearest memories to the cue (mn_hnsw_search, beam max(ef, seeds)); a
 *       seed's activation is s(distance(cue, seed)), at hop 0.
 *   edges of a memory u: its outgoing association links (weight w) and, unless
 *       MN_RECALL_NO_SIMILARITY, its layer-0 HNSW neighbours v (weight s(distance(u, v)));
 *       an id reachable both ways keeps the larger weight. u expands only its `fan_out` edges of
 *       highest weight, ties broken by smaller id.
 *   spreading: rounds h = 1 ... hops. In round h every memory whose activation rose in round
 *       h-1 (the seeds for h = 1) offers each expanded edge (u, v, w) the candidate
 *           a(u) * w * decay      (a(u) as it stood at the end of round h-1; float arithmetic)
 *       A candidate below `threshold` is dropped. A memory keeps the MAXIMUM over candidates
 *       and its previous activation; its hop count is the round in which that maximum was first
 *       reached. So a(v) is the best product over paths of at most `hops` expanded edges, and
 *       the result does not depend on iteration order. Spreading stops after `hops` rounds or
 *       when no activation rose.
 *   bounds: at most nodes_max memories are activated; once full, memories not yet activated
 *       are ignored (frontiers are processed in (activation desc, id asc) order, so the cut is
 *       deterministic too). Work is at most seeds + nodes_max expansions of fan_out edges.
 *   results: every activated memory, by activation descending, then id ascending.
 * Associations to ids not in the index are followed like any other (the engine removes a
 * memory's links when it removes the memory); similarity edges only exist between live members.
 *
 * Thread safety: mn_recall_params_default is safe from any thread.
 */
#ifndef MN_RECALL_H
#define MN_RECALL_H

#include <stdint.h>

#include "mn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Recall flags. */
#define MN_RECALL_NO_SIMILARITY 1u /**< spread over association links only */

/** Parameters of one recall (see the definitions at the top of this file). */
typedef struct mn_recall_params {
    uint32_t seeds;     /**< nearest memories to start from, 1 ... MN_ASSOC_SEEDS_MAX (10) */
    uint32_t ef;        /**< search beam for the seeds, 0 ... MN_HNSW_EF_MAX (0: max(seeds, 64)) */
    uint32_t hops;      /**< rounds of spreading, 0 ... MN_ASSOC_HOPS_MAX (3) */
    uint32_t fan_out;   /**< edges a memory expands, 1 ... MN_ASSOC_FAN_OUT_MAX (8) */
    float decay;        /**< factor per hop, (0, 1] (0.5) */
    float threshold;    /**< smallest activation kept, [0, 1] (0.01) */
    uint32_t nodes_max; /**< most memories activated, seeds ... MN_ASSOC_RECALL_NODES_MAX
                             (0: MN_ASSOC_RECALL_NODES_DEFAULT) */
    uint32_t flags;     /**< MN_RECALL_* */
} mn_recall_params;

/** Fills *out with the defaults shown in mn_recall_params. MN_ERR_INVALID for NULL.
 *  Blocking: never. */
mn_status mn_recall_params_default(mn_recall_params *out);

#ifdef __cplusplus
}
#endif

#endif /* MN_RECALL_H */
