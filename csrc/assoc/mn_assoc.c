/*
 * mn_assoc.c: the association table: linking, unlinking and removing a memory's links with
 * copy-on-write lists published under RCU, so recall reads without locks. See mn_assoc.h for
 * the contract and mn_assoc_internal.h for the structures.
 *
 * Every write builds all the new lists it needs before publishing any of them, so a failed
 * allocation changes nothing; then it publishes them (release stores) and retires the replaced
 * ones through mn_rcu_retire. The retire collector is kept across writes and handed to call_rcu
 * when full (MN_HNSW_RETIRE_BATCH blocks) or at destroy, so a write costs no call_rcu.
 * Each write runs inside a read-side section, as the index's writers do: the reclamation can
 * then only start after the section ends, and mn_rcu's ThreadSanitizer model of a grace period
 * (unlock releases, reclamation acquires) covers the collector and the lists it hands over.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assoc/mn_assoc_internal.h"
#include "util/mn_assert.h"

static inline uint64_t mn_assoc_hash(uint64_t id) {
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    id *= 0xc4ceb9fe1a85ec53ULL;
    id ^= id >> 33;
    return id;
}

static mn_assoc_table *mn_assoc_table_new(uint64_t capacity) {
    mn_assoc_table *table = calloc(1, sizeof(mn_assoc_table) + capacity * sizeof(mn_assoc_slot));
    if (table) table->capacity = capacity;
    return table;
}

mn_status mn_assoc_create(mn_assoc **out) {
    if (!out) return MN_ERR_INVALID;
    *out = NULL;
    mn_assoc *assoc = aligned_alloc(MN_CACHE_LINE_SIZE, sizeof(mn_assoc));
    if (!assoc) return MN_ERR_NO_MEMORY;
    memset(assoc, 0, sizeof(*assoc));
    mn_assoc_table *table = mn_assoc_table_new(MN_ASSOC_TABLE_MIN_CAPACITY);
    if (!table) {
        free(assoc);
        return MN_ERR_NO_MEMORY;
    }
    atomic_init(&assoc->table, table);
    atomic_init(&assoc->links, 0);
    *out = assoc;
    return MN_OK;
}

mn_status mn_assoc_destroy(mn_assoc *assoc) {
    if (!assoc) return MN_OK;
    mn_assoc_table *table = atomic_load_explicit(&assoc->table, memory_order_relaxed);
    for (uint64_t i = 0; i < table->capacity; i++) free(atomic_load_explicit(&table->slots[i].list, memory_order_relaxed));
    free(table);
    mn_rcu_read_lock(); /* see the file comment: orders the hand-off for ThreadSanitizer */
    mn_rcu_retire_flush(&assoc->retired);
    mn_rcu_read_unlock();
    free(assoc);
    return MN_OK;
}

/* Probes for `id`; returns its slot or NULL. Readers inside a read section, or the writer. */
static mn_assoc_slot *mn_assoc_probe(mn_assoc_table *table, uint64_t id) {
    uint64_t mask = table->capacity - 1;
    for (uint64_t i = mn_assoc_hash(id) & mask;; i = (i + 1) & mask) {
        mn_assoc_slot *slot = &table->slots[i];
        if (!atomic_load_explicit(&slot->used, memory_order_acquire)) return NULL;
        if (slot->id == id) return slot;
    }
}

const mn_assoc_list *mn_assoc_find(const mn_assoc *assoc, uint64_t id) {
    mn_assoc_table *table = atomic_load_explicit(&((mn_assoc *)assoc)->table, memory_order_acquire);
    mn_assoc_slot *slot = mn_assoc_probe(table, id);
    return slot ? atomic_load_explicit(&slot->list, memory_order_acquire) : NULL;
}

void mn_assoc_visit(const mn_assoc *assoc, mn_assoc_visit_fn fn, void *context) {
    mn_assoc_table *table = atomic_load_explicit(&((mn_assoc *)assoc)->table, memory_order_acquire);
    for (uint64_t i = 0; i < table->capacity; i++) {
        mn_assoc_slot *slot = &table->slots[i];
        if (!atomic_load_explicit(&slot->used, memory_order_acquire)) continue;
        mn_assoc_list *list = atomic_load_explicit(&slot->list, memory_order_acquire);
        if (list) fn(context, slot->id, list);
    }
}

/* Places id (known absent) in a table nobody reads yet, or (with release) in the live one. */
static mn_assoc_slot *mn_assoc_place(mn_assoc_table *table, uint64_t id, mn_assoc_list *list) {
    uint64_t mask = table->capacity - 1;
    uint64_t i = mn_assoc_hash(id) & mask;
    while (atomic_load_explicit(&table->slots[i].used, memory_order_relaxed)) i = (i + 1) & mask;
    mn_assoc_slot *slot = &table->slots[i];
    slot->id = id;
    atomic_store_explicit(&slot->list, list, memory_order_relaxed);
    atomic_store_explicit(&slot->used, 1, memory_order_release);
    return slot;
}

/* Rebuilds the slot array without tombstones, sized for `extra` more ids, and publishes it. */
static mn_status mn_assoc_rebuild(mn_assoc *assoc, uint64_t extra) {
    mn_assoc_table *old = atomic_load_explicit(&assoc->table, memory_order_relaxed);
    uint64_t want = (assoc->live + extra) * 2 + MN_ASSOC_TABLE_MIN_CAPACITY / 2;
    uint64_t capacity = MN_ASSOC_TABLE_MIN_CAPACITY;
    while (capacity < want) capacity *= 2;
    mn_assoc_table *table = mn_assoc_table_new(capacity);
    if (!table) return MN_ERR_NO_MEMORY;
    uint64_t live = 0;
    for (uint64_t i = 0; i < old->capacity; i++) {
        mn_assoc_slot *slot = &old->slots[i];
        if (!atomic_load_explicit(&slot->used, memory_order_relaxed)) continue;
        mn_assoc_list *list = atomic_load_explicit(&slot->list, memory_order_relaxed);
        if (!list) continue;
        mn_assoc_place(table, slot->id, list);
        live++;
    }
    MN_ASSERT(live == assoc->live);
    atomic_store_explicit(&assoc->table, table, memory_order_release);
    assoc->used = live;
    mn_rcu_retire(&assoc->retired, old); /* the lists moved to the new array; only the array goes */
    return MN_OK;
}

/* Makes room for `extra` new ids without a rebuild in between (so slots found stay valid). */
static mn_status mn_assoc_reserve(mn_assoc *assoc, uint64_t extra) {
    if (assoc->live + extra > MN_ASSOC_NODES_MAX) return MN_ERR_TOO_LARGE;
    mn_assoc_table *table = atomic_load_explicit(&assoc->table, memory_order_relaxed);
    if ((assoc->used + extra) * 100 <= table->capacity * MN_ASSOC_TABLE_LOAD_PERCENT) return MN_OK;
    return mn_assoc_rebuild(assoc, extra);
}

/* Returns id's slot, creating it (with a NULL list) if absent; room was reserved. */
static mn_assoc_slot *mn_assoc_slot_get(mn_assoc *assoc, uint64_t id) {
    mn_assoc_table *table = atomic_load_explicit(&assoc->table, memory_order_relaxed);
    mn_assoc_slot *slot = mn_assoc_probe(table, id);
    if (slot) return slot;
    MN_ASSERT((assoc->used + 1) * 100 <= table->capacity * MN_ASSOC_TABLE_LOAD_PERCENT);
    assoc->used++;
    return mn_assoc_place(table, id, NULL);
}

/* Binary search for `id` among n links sorted by id; returns its index or n + (insert position)
 * encoded as: *found = 0/1, return value the position. */
static uint32_t mn_assoc_search(const mn_assoc_edge *links, uint32_t n, uint64_t id, int *found) {
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (links[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < n && links[lo].id == id;
    return lo;
}

/* A copy of `list` (NULL: empty) with the link to `id` in `direction` set to `weight`
 * (inserted or updated), or removed when weight is 0. *out is NULL when the result is empty. */
static mn_status mn_assoc_edit(const mn_assoc_list *list, int32_t direction, uint64_t id, float weight,
                               mn_assoc_list **out) {
    uint32_t out_count = list ? list->out_count : 0, in_count = list ? list->in_count : 0;
    const mn_assoc_edge *part = list ? list->links + (direction == MN_ASSOC_OUT ? 0 : out_count) : NULL;
    uint32_t part_count = direction == MN_ASSOC_OUT ? out_count : in_count;
    int found = 0;
    uint32_t at = part ? mn_assoc_search(part, part_count, id, &found) : 0;
    uint32_t new_part = part_count + (weight > 0.0f && !found) - (weight == 0.0f && found);
    uint32_t new_out = direction == MN_ASSOC_OUT ? new_part : out_count;
    uint32_t new_in = direction == MN_ASSOC_IN ? new_part : in_count;
    *out = NULL;
    if (new_out + new_in == 0) return MN_OK;
    mn_assoc_list *copy = malloc(sizeof(mn_assoc_list) + (size_t)(new_out + new_in) * sizeof(mn_assoc_edge));
    if (!copy) return MN_ERR_NO_MEMORY;
    copy->out_count = new_out;
    copy->in_count = new_in;
    /* The untouched half, then the edited one, at their places. */
    const mn_assoc_edge *other = list ? list->links + (direction == MN_ASSOC_OUT ? out_count : 0) : NULL;
    uint32_t other_count = direction == MN_ASSOC_OUT ? in_count : out_count;
    mn_assoc_edge *edited = copy->links + (direction == MN_ASSOC_OUT ? 0 : new_out);
    mn_assoc_edge *kept = copy->links + (direction == MN_ASSOC_OUT ? new_part : 0);
    if (other_count) memcpy(kept, other, other_count * sizeof(mn_assoc_edge));
    if (at) memcpy(edited, part, at * sizeof(mn_assoc_edge));
    uint32_t w = at;
    if (weight > 0.0f) edited[w++] = (mn_assoc_edge){.id = id, .weight = weight, .reserved = 0};
    uint32_t rest = at + (uint32_t)found;
    if (rest < part_count) memcpy(edited + w, part + rest, (part_count - rest) * sizeof(mn_assoc_edge));
    *out = copy;
    return MN_OK;
}

/* Publishes `list` in `slot`, retiring the one it replaces and keeping `live` counted. */
static void mn_assoc_publish(mn_assoc *assoc, mn_assoc_slot *slot, mn_assoc_list *list) {
    mn_assoc_list *old = atomic_load_explicit(&slot->list, memory_order_relaxed);
    atomic_store_explicit(&slot->list, list, memory_order_release);
    assoc->live += (uint64_t)(list != NULL) - (uint64_t)(old != NULL);
    mn_rcu_retire(&assoc->retired, old);
}

static int mn_assoc_has(const mn_assoc_list *list, int32_t direction, uint64_t id) {
    if (!list) return 0;
    int found;
    if (direction == MN_ASSOC_OUT) mn_assoc_search(list->links, list->out_count, id, &found);
    else mn_assoc_search(list->links + list->out_count, list->in_count, id, &found);
    return found;
}

static mn_status mn_assoc_link_writing(mn_assoc *assoc, uint64_t from, uint64_t to, float weight) {
    if (!assoc || from == to || !(weight > 0.0f && weight <= 1.0f)) return MN_ERR_INVALID;
    mn_status status = mn_assoc_reserve(assoc, 2);
    if (status != MN_OK) return status;
    mn_assoc_slot *from_slot = mn_assoc_slot_get(assoc, from);
    mn_assoc_slot *to_slot = mn_assoc_slot_get(assoc, to);
    const mn_assoc_list *from_list = atomic_load_explicit(&from_slot->list, memory_order_relaxed);
    const mn_assoc_list *to_list = atomic_load_explicit(&to_slot->list, memory_order_relaxed);
    int exists = mn_assoc_has(from_list, MN_ASSOC_OUT, to);
    MN_ASSERT(exists == mn_assoc_has(to_list, MN_ASSOC_IN, from));
    if (!exists && ((from_list && from_list->out_count >= MN_ASSOC_DEGREE_MAX) ||
                    (to_list && to_list->in_count >= MN_ASSOC_DEGREE_MAX)))
        return MN_ERR_FULL;
    mn_assoc_list *new_from, *new_to;
    if ((status = mn_assoc_edit(from_list, MN_ASSOC_OUT, to, weight, &new_from)) != MN_OK) return status;
    if ((status = mn_assoc_edit(to_list, MN_ASSOC_IN, from, weight, &new_to)) != MN_OK) {
        free(new_from);
        return status;
    }
    mn_assoc_publish(assoc, to_slot, new_to);
    mn_assoc_publish(assoc, from_slot, new_from);
    if (!exists) atomic_fetch_add_explicit(&assoc->links, 1, memory_order_relaxed);
    return MN_OK;
}

static mn_status mn_assoc_unlink_writing(mn_assoc *assoc, uint64_t from, uint64_t to) {
    if (!assoc) return MN_ERR_INVALID;
    mn_assoc_table *table = atomic_load_explicit(&assoc->table, memory_order_relaxed);
    mn_assoc_slot *from_slot = mn_assoc_probe(table, from), *to_slot = mn_assoc_probe(table, to);
    if (!from_slot || !to_slot) return MN_ERR_NOT_FOUND;
    const mn_assoc_list *from_list = atomic_load_explicit(&from_slot->list, memory_order_relaxed);
    const mn_assoc_list *to_list = atomic_load_explicit(&to_slot->list, memory_order_relaxed);
    if (!mn_assoc_has(from_list, MN_ASSOC_OUT, to)) return MN_ERR_NOT_FOUND;
    MN_ASSERT(mn_assoc_has(to_list, MN_ASSOC_IN, from));
    mn_assoc_list *new_from, *new_to;
    mn_status status = mn_assoc_edit(from_list, MN_ASSOC_OUT, to, 0.0f, &new_from);
    if (status != MN_OK) return status;
    if ((status = mn_assoc_edit(to_list, MN_ASSOC_IN, from, 0.0f, &new_to)) != MN_OK) {
        free(new_from);
        return status;
    }
    mn_assoc_publish(assoc, from_slot, new_from);
    mn_assoc_publish(assoc, to_slot, new_to);
    atomic_fetch_sub_explicit(&assoc->links, 1, memory_order_relaxed);
    return MN_OK;
}

static int mn_assoc_compare_id(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A copy of `list` without any link (either direction) to `id`; NULL when empty. */
static mn_status mn_assoc_without(const mn_assoc_list *list, uint64_t id, mn_assoc_list **out) {
    *out = NULL;
    uint32_t out_count = 0, in_count = 0;
    for (uint32_t i = 0; i < list->out_count; i++) out_count += list->links[i].id != id;
    for (uint32_t i = 0; i < list->in_count; i++) in_count += list->links[list->out_count + i].id != id;
    if (out_count + in_count == 0) return MN_OK;
    mn_assoc_list *copy = malloc(sizeof(mn_assoc_list) + (size_t)(out_count + in_count) * sizeof(mn_assoc_edge));
    if (!copy) return MN_ERR_NO_MEMORY;
    copy->out_count = out_count;
    copy->in_count = in_count;
    uint32_t w = 0;
    for (uint32_t i = 0; i < list->out_count + list->in_count; i++)
        if (list->links[i].id != id) copy->links[w++] = list->links[i];
    *out = copy;
    return MN_OK;
}

static mn_status mn_assoc_remove_all_writing(mn_assoc *assoc, uint64_t id, uint32_t *removed) {
    if (!assoc) return MN_ERR_INVALID;
    if (removed) *removed = 0;
    mn_assoc_table *table = atomic_load_explicit(&assoc->table, memory_order_relaxed);
    mn_assoc_slot *slot = mn_assoc_probe(table, id);
    const mn_assoc_list *list = slot ? atomic_load_explicit(&slot->list, memory_order_relaxed) : NULL;
    if (!list) return MN_OK;
    /* The distinct other ends (a pair linked both ways appears twice). */
    uint32_t total = list->out_count + list->in_count;
    uint64_t neighbors[2 * MN_ASSOC_DEGREE_MAX];
    mn_assoc_list *replacements[2 * MN_ASSOC_DEGREE_MAX];
    for (uint32_t i = 0; i < total; i++) neighbors[i] = list->links[i].id;
    qsort(neighbors, total, sizeof(uint64_t), mn_assoc_compare_id);
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < total; i++)
        if (distinct == 0 || neighbors[distinct - 1] != neighbors[i]) neighbors[distinct++] = neighbors[i];
    /* Build every replacement first: on failure nothing is changed. */
    for (uint32_t i = 0; i < distinct; i++) {
        mn_assoc_slot *other = mn_assoc_probe(table, neighbors[i]);
        MN_ASSERT(other != NULL);
        const mn_assoc_list *other_list = atomic_load_explicit(&other->list, memory_order_relaxed);
        MN_ASSERT(other_list != NULL);
        mn_status status = mn_assoc_without(other_list, id, &replacements[i]);
        if (status != MN_OK) {
            for (uint32_t j = 0; j < i; j++) free(replacements[j]);
            return status;
        }
    }
    for (uint32_t i = 0; i < distinct; i++) mn_assoc_publish(assoc, mn_assoc_probe(table, neighbors[i]), replacements[i]);
    mn_assoc_publish(assoc, slot, NULL);
    atomic_fetch_sub_explicit(&assoc->links, list->out_count, memory_order_relaxed);
    atomic_fetch_sub_explicit(&assoc->links, list->in_count, memory_order_relaxed);
    if (removed) *removed = total;
    return MN_OK;
}

mn_status mn_assoc_links_of(const mn_assoc *assoc, uint64_t id, int32_t direction, mn_assoc_edge *links,
                            uint32_t capacity, uint32_t *count) {
    if (!assoc || !count || (capacity > 0 && !links) || (direction != MN_ASSOC_OUT && direction != MN_ASSOC_IN))
        return MN_ERR_INVALID;
    *count = 0;
    mn_rcu_read_lock();
    const mn_assoc_list *list = mn_assoc_find(assoc, id);
    if (list) {
        const mn_assoc_edge *part = list->links + (direction == MN_ASSOC_OUT ? 0 : list->out_count);
        uint32_t n = direction == MN_ASSOC_OUT ? list->out_count : list->in_count;
        if (n > capacity) n = capacity;
        memcpy(links, part, (size_t)n * sizeof(mn_assoc_edge));
        *count = n;
    }
    mn_rcu_read_unlock();
    return MN_OK;
}

mn_status mn_assoc_count(const mn_assoc *assoc, uint64_t *out) {
    if (!assoc || !out) return MN_ERR_INVALID;
    *out = atomic_load_explicit(&((mn_assoc *)assoc)->links, memory_order_relaxed);
    return MN_OK;
}

mn_status mn_assoc_link(mn_assoc *assoc, uint64_t from, uint64_t to, float weight) {
    mn_rcu_read_lock();
    mn_status status = mn_assoc_link_writing(assoc, from, to, weight);
    mn_rcu_read_unlock();
    return status;
}

mn_status mn_assoc_unlink(mn_assoc *assoc, uint64_t from, uint64_t to) {
    mn_rcu_read_lock();
    mn_status status = mn_assoc_unlink_writing(assoc, from, to);
    mn_rcu_read_unlock();
    return status;
}

mn_status mn_assoc_remove_all(mn_assoc *assoc, uint64_t id, uint32_t *removed) {
    mn_rcu_read_lock();
    mn_status status = mn_assoc_remove_all_writing(assoc, id, removed);
    mn_rcu_read_unlock();
    return status;
}
