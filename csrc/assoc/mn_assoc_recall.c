/*
 * mn_assoc_recall.c: recall by spreading activation from the cue's nearest memories over
 * association links and the index's layer-0 similarity neighbours. The rule is defined in
 * mn_assoc.h; this file is its direct, bounded implementation.
 *
 * Rounds are synchronous: the frontier of round h is a snapshot (id, activation) of the memories
 * that rose in round h-1, so a path never grows by two edges in one round and the outcome is
 * the maximum over paths whatever the order of updates. Frontiers are still processed in a
 * fixed order (activation desc, id asc) so the nodes_max cut, when it is hit, is deterministic.
 *
 * Similarity edges come through the public index API (mn_hnsw_neighbor_distances, the same
 * distances mn_hnsw_search reports), so this module depends on nothing inside the index; each
 * expansion costs one id lookup and one pass over a neighbour list. Scratch (activated memories, an
 * id -> memory hash, frontiers) grows by doubling up to nodes_max and is freed at the end.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assoc/mn_assoc_internal.h"
#include "util/mn_assert.h"

#define MN_RECALL_SEEDS_DEFAULT 10u
#define MN_RECALL_EF_MIN 64u
#define MN_RECALL_HOPS_DEFAULT 3u
#define MN_RECALL_FAN_OUT_DEFAULT 8u
#define MN_RECALL_DECAY_DEFAULT 0.5f
#define MN_RECALL_THRESHOLD_DEFAULT 0.01f
#define MN_RECALL_INITIAL_NODES 256u
#define MN_RECALL_NEIGHBORS_MAX (2u * MN_HNSW_M_MAX)

_Static_assert(MN_ASSOC_FAN_OUT_MAX == MN_ASSOC_DEGREE_MAX + MN_RECALL_NEIGHBORS_MAX,
               "fan_out can reach every association link and every similarity neighbour");

typedef struct mn_recall_node {
    uint64_t id;
    float activation;
    uint32_t hops;
    uint32_t round; /* last round it rose in (to put it in the next frontier once) */
} mn_recall_node;

typedef struct mn_recall_entry {
    uint64_t id;
    float activation;
    uint32_t node;
} mn_recall_entry;

typedef struct mn_recall_edge {
    uint64_t id;
    float weight;
} mn_recall_edge;

typedef struct mn_recall_state {
    const mn_assoc *assoc;
    const mn_hnsw *index;
    const mn_recall_params *params;
    mn_metric metric;
    uint32_t dimension;
    uint32_t nodes_max;
    mn_recall_node *nodes;
    uint32_t count, capacity;
    uint32_t *map; /* node index + 1, 0 for empty; capacity 2 * capacity */
    uint64_t map_mask;
    mn_recall_entry *frontier, *next;
    uint32_t frontier_count, next_count;
    mn_recall_edge edges[MN_ASSOC_DEGREE_MAX + MN_RECALL_NEIGHBORS_MAX];
    mn_hnsw_result neighbors[MN_RECALL_NEIGHBORS_MAX];
} mn_recall_state;

mn_status mn_recall_params_default(mn_recall_params *out) {
    if (!out) return MN_ERR_INVALID;
    out->seeds = MN_RECALL_SEEDS_DEFAULT;
    out->ef = 0;
    out->hops = MN_RECALL_HOPS_DEFAULT;
    out->fan_out = MN_RECALL_FAN_OUT_DEFAULT;
    out->decay = MN_RECALL_DECAY_DEFAULT;
    out->threshold = MN_RECALL_THRESHOLD_DEFAULT;
    out->nodes_max = 0;
    out->flags = 0;
    return MN_OK;
}

/* The similarity of a distance, as defined in mn_assoc.h. */
static float mn_recall_similarity(mn_metric metric, float distance) {
    if (metric == MN_METRIC_L2) return 1.0f / (1.0f + distance);
    float s = 1.0f - distance;
    return s < 0.0f ? 0.0f : (s > 1.0f ? 1.0f : s);
}

static inline uint64_t mn_recall_hash(uint64_t id) {
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return id;
}

/* Index of id's node, or UINT32_MAX. */
static uint32_t mn_recall_lookup(const mn_recall_state *state, uint64_t id) {
    for (uint64_t i = mn_recall_hash(id) & state->map_mask;; i = (i + 1) & state->map_mask) {
        uint32_t entry = state->map[i];
        if (entry == 0) return UINT32_MAX;
        if (state->nodes[entry - 1].id == id) return entry - 1;
    }
}

static void mn_recall_map_put(mn_recall_state *state, uint32_t node) {
    uint64_t i = mn_recall_hash(state->nodes[node].id) & state->map_mask;
    while (state->map[i] != 0) i = (i + 1) & state->map_mask;
    state->map[i] = node + 1;
}

/* Grows node storage (and its hash, rebuilt) to hold at least one more node. */
static mn_status mn_recall_grow(mn_recall_state *state) {
    uint32_t capacity = state->capacity ? state->capacity * 2 : MN_RECALL_INITIAL_NODES;
    if (capacity > state->nodes_max) capacity = state->nodes_max;
    mn_recall_node *nodes = realloc(state->nodes, (size_t)capacity * sizeof(mn_recall_node));
    if (!nodes) return MN_ERR_NO_MEMORY;
    state->nodes = nodes;
    mn_recall_entry *next = realloc(state->next, (size_t)capacity * sizeof(mn_recall_entry));
    if (!next) return MN_ERR_NO_MEMORY;
    state->next = next;
    uint64_t map_capacity = 1;
    while (map_capacity < (uint64_t)capacity * 2) map_capacity *= 2;
    uint32_t *map = calloc(map_capacity, sizeof(uint32_t));
    if (!map) return MN_ERR_NO_MEMORY;
    free(state->map);
    state->map = map;
    state->map_mask = map_capacity - 1;
    state->capacity = capacity;
    for (uint32_t i = 0; i < state->count; i++) mn_recall_map_put(state, i);
    return MN_OK;
}

/* Offers activation `a` at hop `hops` to `id` in round `round`; the node joins the next
 * frontier when it rises. A full budget ignores ids not yet activated. */
static mn_status mn_recall_offer(mn_recall_state *state, uint64_t id, float a, uint32_t hops, uint32_t round) {
    uint32_t node = mn_recall_lookup(state, id);
    if (node == UINT32_MAX) {
        if (state->count == state->nodes_max) return MN_OK;
        if (state->count == state->capacity) {
            mn_status status = mn_recall_grow(state);
            if (status != MN_OK) return status;
        }
        node = state->count++;
        state->nodes[node] = (mn_recall_node){.id = id, .activation = a, .hops = hops, .round = UINT32_MAX};
        mn_recall_map_put(state, node);
    } else if (a > state->nodes[node].activation) {
        state->nodes[node].activation = a;
        state->nodes[node].hops = hops;
    } else {
        return MN_OK;
    }
    if (state->nodes[node].round != round) {
        state->nodes[node].round = round;
        state->next[state->next_count++] = (mn_recall_entry){.id = id, .activation = 0.0f, .node = node};
    }
    return MN_OK;
}

static int mn_recall_compare_entry(const void *a, const void *b) {
    const mn_recall_entry *x = a, *y = b;
    if (x->activation != y->activation) return x->activation > y->activation ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int mn_recall_compare_edge(const void *a, const void *b) {
    const mn_recall_edge *x = a, *y = b;
    if (x->weight != y->weight) return x->weight > y->weight ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int mn_recall_compare_node(const void *a, const void *b) {
    const mn_recall_node *x = a, *y = b;
    if (x->activation != y->activation) return x->activation > y->activation ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Collects u's edges (association links, then similarity neighbours merged by id, keeping the
 * larger weight), sorted by weight desc then id; returns their number. */
static uint32_t mn_recall_edges(mn_recall_state *state, uint64_t u) {
    uint32_t n = 0;
    mn_rcu_read_lock();
    const mn_assoc_list *list = mn_assoc_find(state->assoc, u);
    if (list) {
        for (uint32_t i = 0; i < list->out_count; i++)
            state->edges[n++] = (mn_recall_edge){.id = list->links[i].id, .weight = list->links[i].weight};
    }
    mn_rcu_read_unlock();
    const uint32_t links = n; /* sorted by id: binary-searchable below */

    uint32_t neighbors = 0;
    if (!(state->params->flags & MN_RECALL_NO_SIMILARITY) &&
        mn_hnsw_neighbor_distances(state->index, u, 0, state->neighbors, MN_RECALL_NEIGHBORS_MAX, &neighbors) ==
            MN_OK) {
        for (uint32_t i = 0; i < neighbors; i++) {
            uint64_t v = state->neighbors[i].id;
            float w = mn_recall_similarity(state->metric, state->neighbors[i].distance);
            if (!(w > 0.0f)) continue;
            uint32_t lo = 0, hi = links;
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (state->edges[mid].id < v) lo = mid + 1;
                else hi = mid;
            }
            if (lo < links && state->edges[lo].id == v) {
                if (w > state->edges[lo].weight) state->edges[lo].weight = w;
            } else {
                state->edges[n++] = (mn_recall_edge){.id = v, .weight = w};
            }
        }
    }
    if (n > 1) qsort(state->edges, n, sizeof(mn_recall_edge), mn_recall_compare_edge);
    return n;
}

static mn_status mn_recall_check(const mn_recall_params *p) {
    if (p->seeds == 0 || p->seeds > MN_ASSOC_SEEDS_MAX || p->ef > MN_HNSW_EF_MAX || p->hops > MN_ASSOC_HOPS_MAX ||
        p->fan_out == 0 || p->fan_out > MN_ASSOC_FAN_OUT_MAX || !(p->decay > 0.0f && p->decay <= 1.0f) ||
        !(p->threshold >= 0.0f && p->threshold <= 1.0f) || (p->flags & ~MN_RECALL_NO_SIMILARITY) != 0)
        return MN_ERR_INVALID;
    if (p->nodes_max != 0 && (p->nodes_max < p->seeds || p->nodes_max > MN_ASSOC_RECALL_NODES_MAX))
        return MN_ERR_INVALID;
    return MN_OK;
}

mn_status mn_assoc_recall(const mn_assoc *assoc, const mn_hnsw *index, const float *cue, uint32_t dimension,
                          const mn_recall_params *params, mn_recall_result *results, uint32_t capacity,
                          uint32_t *found) {
    if (!assoc || !index || !cue || !params || !found || (capacity > 0 && !results)) return MN_ERR_INVALID;
    *found = 0;
    mn_status status = mn_recall_check(params);
    if (status != MN_OK) return status;
    mn_hnsw_params index_params;
    if ((status = mn_hnsw_params_get(index, &index_params)) != MN_OK) return status;
    if (dimension != index_params.dimension) return MN_ERR_DIMENSION;

    mn_recall_state *state = calloc(1, sizeof(mn_recall_state));
    if (!state) return MN_ERR_NO_MEMORY;
    state->assoc = assoc;
    state->index = index;
    state->params = params;
    state->metric = index_params.metric;
    state->dimension = dimension;
    state->nodes_max = params->nodes_max ? params->nodes_max : MN_ASSOC_RECALL_NODES_DEFAULT;
    mn_hnsw_result *seeds = malloc((size_t)params->seeds * sizeof(mn_hnsw_result));
    if (!seeds) {
        status = MN_ERR_NO_MEMORY;
        goto done;
    }
    if ((status = mn_recall_grow(state)) != MN_OK) goto done;

    /* Seeds: hop 0, activation = similarity to the cue. */
    uint32_t ef = params->ef ? params->ef : (params->seeds > MN_RECALL_EF_MIN ? params->seeds : MN_RECALL_EF_MIN);
    uint32_t seed_count = 0;
    status = mn_hnsw_search(index, cue, dimension, params->seeds, ef, seeds, &seed_count);
    if (status != MN_OK) goto done;
    state->next_count = 0;
    for (uint32_t i = 0; i < seed_count; i++) {
        float a = mn_recall_similarity(state->metric, seeds[i].distance);
        if (!(a > 0.0f) || a < params->threshold) continue;
        if ((status = mn_recall_offer(state, seeds[i].id, a, 0, 0)) != MN_OK) goto done;
    }

    for (uint32_t round = 1; round <= params->hops && state->next_count > 0; round++) {
        /* Snapshot the memories that rose last round: this round's frontier. */
        mn_recall_entry *frontier = state->next;
        uint32_t frontier_count = state->next_count;
        for (uint32_t i = 0; i < frontier_count; i++) frontier[i].activation = state->nodes[frontier[i].node].activation;
        qsort(frontier, frontier_count, sizeof(mn_recall_entry), mn_recall_compare_entry);
        state->next = malloc((size_t)state->capacity * sizeof(mn_recall_entry));
        if (!state->next) {
            state->next = frontier;
            status = MN_ERR_NO_MEMORY;
            goto done;
        }
        state->next_count = 0;
        for (uint32_t f = 0; f < frontier_count && status == MN_OK; f++) {
            uint32_t edges = mn_recall_edges(state, frontier[f].id);
            if (edges > params->fan_out) edges = params->fan_out;
            for (uint32_t e = 0; e < edges; e++) {
                float candidate = frontier[f].activation * state->edges[e].weight * params->decay;
                /* Edges are sorted by weight: once one falls short, all the rest do. */
                if (!(candidate > 0.0f) || candidate < params->threshold) break;
                if ((status = mn_recall_offer(state, state->edges[e].id, candidate, round, round)) != MN_OK) break;
            }
        }
        free(frontier);
        if (status != MN_OK) goto done;
    }

    /* Results: every activated memory by activation desc, id asc. */
    qsort(state->nodes, state->count, sizeof(mn_recall_node), mn_recall_compare_node);
    uint32_t n = state->count < capacity ? state->count : capacity;
    for (uint32_t i = 0; i < n; i++)
        results[i] = (mn_recall_result){.id = state->nodes[i].id, .activation = state->nodes[i].activation,
                                        .hops = state->nodes[i].hops};
    *found = n;

done:
    free(seeds);
    free(state->nodes);
    free(state->map);
    free(state->next);
    free(state);
    return status;
}
