/*
 * mn_hnsw_idmap.c: the id -> slot table of an index.
 *
 * Open addressing with linear probing over a power-of-two table; removed entries become
 * tombstones so probe chains stay intact, and the table is rebuilt (tombstones dropped) when
 * live entries plus tombstones pass 70%. The caller holds the index's idmap_lock: the table is
 * touched once per insert, remove or get, never on the search path.
 */
#include <stdlib.h>
#include <string.h>

#include "hnsw/mn_hnsw_internal.h"
#include "util/mn_assert.h"

#define MN_HNSW_IDMAP_MIN_CAPACITY 64
#define MN_HNSW_IDMAP_LOAD_PERCENT 70

static inline size_t mn_idmap_hash(uint64_t id) {
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    id *= 0xc4ceb9fe1a85ec53ULL;
    id ^= id >> 33;
    return (size_t)id;
}

mn_status mn_hnsw_idmap_find(const mn_hnsw_idmap *map, uint64_t id, uint32_t *slot) {
    if (map->capacity == 0) return MN_ERR_NOT_FOUND;
    size_t mask = map->capacity - 1;
    for (size_t i = mn_idmap_hash(id) & mask;; i = (i + 1) & mask) {
        uint32_t s = map->slots[i];
        if (s == MN_HNSW_SLOT_NONE) return MN_ERR_NOT_FOUND;
        if (s != MN_HNSW_IDMAP_TOMBSTONE && map->ids[i] == id) {
            *slot = s;
            return MN_OK;
        }
    }
}

static mn_status mn_idmap_rebuild(mn_hnsw_idmap *map, size_t capacity) {
    uint64_t *ids = malloc(capacity * sizeof(uint64_t));
    uint32_t *slots = malloc(capacity * sizeof(uint32_t));
    if (!ids || !slots) {
        free(ids);
        free(slots);
        return MN_ERR_NO_MEMORY;
    }
    memset(slots, 0xff, capacity * sizeof(uint32_t));
    size_t mask = capacity - 1;
    for (size_t j = 0; j < map->capacity; j++) {
        uint32_t s = map->slots[j];
        if (s == MN_HNSW_SLOT_NONE || s == MN_HNSW_IDMAP_TOMBSTONE) continue;
        size_t i = mn_idmap_hash(map->ids[j]) & mask;
        while (slots[i] != MN_HNSW_SLOT_NONE) i = (i + 1) & mask;
        ids[i] = map->ids[j];
        slots[i] = s;
    }
    free(map->ids);
    free(map->slots);
    map->ids = ids;
    map->slots = slots;
    map->capacity = capacity;
    map->used = map->live;
    return MN_OK;
}

mn_status mn_hnsw_idmap_reserve(mn_hnsw_idmap *map, size_t extra) {
    size_t needed = map->used + extra;
    if (needed * 100 < map->capacity * MN_HNSW_IDMAP_LOAD_PERCENT) return MN_OK;
    size_t capacity = map->capacity ? map->capacity : MN_HNSW_IDMAP_MIN_CAPACITY;
    while ((map->live + extra) * 100 >= capacity * MN_HNSW_IDMAP_LOAD_PERCENT / 2) capacity *= 2;
    return mn_idmap_rebuild(map, capacity);
}

mn_status mn_hnsw_idmap_put(mn_hnsw_idmap *map, uint64_t id, uint32_t slot) {
    MN_ASSERT(slot < MN_HNSW_IDMAP_TOMBSTONE);
    mn_status status = mn_hnsw_idmap_reserve(map, 1);
    if (status != MN_OK) return status;
    size_t mask = map->capacity - 1;
    size_t i = mn_idmap_hash(id) & mask;
    size_t tombstone = SIZE_MAX;
    for (;; i = (i + 1) & mask) {
        uint32_t s = map->slots[i];
        if (s == MN_HNSW_SLOT_NONE) break;
        if (s == MN_HNSW_IDMAP_TOMBSTONE) {
            if (tombstone == SIZE_MAX) tombstone = i;
        } else if (map->ids[i] == id) {
            return MN_ERR_DUPLICATE;
        }
    }
    if (tombstone != SIZE_MAX) {
        i = tombstone;
    } else {
        map->used++;
    }
    map->ids[i] = id;
    map->slots[i] = slot;
    map->live++;
    return MN_OK;
}

mn_status mn_hnsw_idmap_remove(mn_hnsw_idmap *map, uint64_t id) {
    if (map->capacity == 0) return MN_ERR_NOT_FOUND;
    size_t mask = map->capacity - 1;
    for (size_t i = mn_idmap_hash(id) & mask;; i = (i + 1) & mask) {
        uint32_t s = map->slots[i];
        if (s == MN_HNSW_SLOT_NONE) return MN_ERR_NOT_FOUND;
        if (s != MN_HNSW_IDMAP_TOMBSTONE && map->ids[i] == id) {
            map->slots[i] = MN_HNSW_IDMAP_TOMBSTONE;
            map->live--;
            return MN_OK;
        }
    }
}

void mn_hnsw_idmap_free(mn_hnsw_idmap *map) {
    free(map->ids);
    free(map->slots);
    memset(map, 0, sizeof(*map));
}

size_t mn_hnsw_idmap_bytes(const mn_hnsw_idmap *map) {
    return map->capacity * (sizeof(uint64_t) + sizeof(uint32_t));
}
