/*
 * mn_hnsw_io.c: saving an index to a byte stream and loading it back, exactly.
 *
 * The stream keeps slot numbers, deleted nodes and the entry point, so a loaded index walks
 * the same graph and answers every query exactly as the saved one. Loading trusts nothing:
 * every count, level, link and float is checked before use, and an XXH64 of everything before
 * the trailer must match. Bad input returns a status; nothing on this path asserts.
 *
 * Memory follows the stream: a free slot is one byte of stream but a whole node of storage
 * (16 KiB at dimension 4096), so a stream of a megabyte of free-slot records could make a
 * loader that allocated as it read demand tens of gigabytes before reaching the checksum.
 * Loading is therefore two passes: a scan walks the records' structure without allocating for
 * them (a stream read through a callback is copied into one buffer that grows with the bytes
 * actually read) and checks the trailer; only a stream whose checksum holds is then loaded
 * (from that buffer, or in place from a caller's buffer via mn_hnsw_load_view).
 *
 * Stream layout (little-endian):
 *
 *   offset  size  field
 *   0       8     magic "MNEMOHNS"
 *   8       4     format version (MN_HNSW_FORMAT_VERSION)
 *   12      4     dimension
 *   16      4     metric
 *   20      4     m
 *   24      4     ef_construction
 *   28      4     reserved, 0
 *   32      8     seed
 *   40      4     slot count
 *   44      4     live count
 *   48      8     entry point: (level << 32) | slot, or all ones when empty
 *   56      ...   one record per slot:
 *                   1 byte state (0 free, 2 live, 3 deleted); a free slot ends there, else
 *                   8 id, 4 level, 4*dimension vector, then for each layer 0..level:
 *                   4 count, 4*count slot numbers
 *   end-8   8     XXH64 (seed 0) of every byte before it
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/mn_bytes.h"
#include "hnsw/mn_hnsw_internal.h"

#define MN_HNSW_FORMAT_VERSION 1u
#define MN_HNSW_HEADER_SIZE 56
static const char mn_hnsw_magic[8] = {'M', 'N', 'E', 'M', 'O', 'H', 'N', 'S'};

/* ---- little-endian helpers ---- */


/* ---- writing ---- */


mn_status mn_hnsw_save(mn_hnsw *index, mn_write_fn write, void *context) {
    if (!index || !write) return MN_ERR_INVALID;
    mn_hashed_writer writer = {write, context, XXH64_createState()};
    if (!writer.hash) return MN_ERR_NO_MEMORY;
    XXH64_reset(writer.hash, 0);
    const uint32_t dimension = index->params.dimension;
    /* One record at a time: the largest is a node at MN_HNSW_LEVEL_MAX with full lists. */
    size_t record_max = 1 + 8 + 4 + (size_t)dimension * 4 +
                        (size_t)(MN_HNSW_LEVEL_MAX + 1) * (4 + (size_t)index->m_base * 4);
    size_t chunk_bytes = record_max > MN_HNSW_SAVE_CHUNK_BYTES ? record_max
                                                               : MN_HNSW_SAVE_CHUNK_BYTES;
    uint8_t *record = malloc(record_max);
    uint8_t *chunk = malloc(chunk_bytes);
    if (!record || !chunk) {
        free(record);
        free(chunk);
        XXH64_freeState(writer.hash);
        return MN_ERR_NO_MEMORY;
    }

    /* Exclusive against inserts and removes for the whole stream: a consistent graph.
     * Searches continue. The RCU read-side section covers only the filling of one chunk: the
     * callback is called outside it, so a slow callback holds up no grace period. */
    pthread_rwlock_wrlock(&index->writers);
    uint32_t slots = atomic_load(&index->next_slot);
    size_t used = 0;
    memcpy(chunk, mn_hnsw_magic, 8);
    mn_put_u32(chunk + 8, MN_HNSW_FORMAT_VERSION);
    mn_put_u32(chunk + 12, dimension);
    mn_put_u32(chunk + 16, (uint32_t)index->params.metric);
    mn_put_u32(chunk + 20, index->params.m);
    mn_put_u32(chunk + 24, index->params.ef_construction);
    mn_put_u32(chunk + 28, 0);
    mn_put_u64(chunk + 32, index->params.seed);
    mn_put_u32(chunk + 40, slots);
    mn_put_u32(chunk + 44, (uint32_t)atomic_load(&index->live_count));
    mn_put_u64(chunk + 48, atomic_load(&index->entry));
    used = MN_HNSW_HEADER_SIZE;
    mn_status status = MN_OK;

    mn_rcu_read_lock();
    for (uint32_t slot = 0; slot < slots && status == MN_OK; slot++) {
        mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
        uint32_t state = atomic_load(&node->state);
        size_t size = 0;
        record[size++] = (uint8_t)state;
        if (state != MN_HNSW_STATE_FREE) {
            mn_put_u64(record + size, node->id);
            mn_put_u32(record + size + 8, node->level);
            size += 12;
            const float *vector = mn_hnsw_vector_current(node); /* an update may not be settled */
            for (uint32_t i = 0; i < dimension; i++, size += 4) {
                uint32_t bits;
                memcpy(&bits, &vector[i], 4);
                mn_put_u32(record + size, bits);
            }
            for (uint32_t level = 0; level <= node->level; level++) {
                mn_hnsw_links *links = atomic_load(mn_hnsw_links_ref(node, level));
                uint32_t count = links ? links->count : 0;
                mn_put_u32(record + size, count);
                size += 4;
                for (uint32_t i = 0; i < count; i++, size += 4) mn_put_u32(record + size, links->slots[i]);
            }
        }
        if (used + size > chunk_bytes) { /* hand the full chunk over outside the section */
            mn_rcu_read_unlock();
            status = mn_hashed_write(&writer, chunk, used);
            used = 0;
            mn_rcu_read_lock();
        }
        memcpy(chunk + used, record, size);
        used += size;
    }
    mn_rcu_read_unlock();
    if (status == MN_OK) status = mn_hashed_write(&writer, chunk, used);
    pthread_rwlock_unlock(&index->writers);
    if (status == MN_OK) {
        uint8_t trailer[8];
        mn_put_u64(trailer, XXH64_digest(writer.hash));
        status = write(context, trailer, sizeof(trailer));
    }
    free(chunk);
    free(record);
    XXH64_freeState(writer.hash);
    return status;
}

/* ---- reading: the scan ---- */

/* Bytes of the stream so far: a caller's buffer (`read` NULL) or a copy that grows as a
 * callback delivers bytes (`owned`). */
typedef struct mn_hnsw_scan {
    const uint8_t *data;
    size_t size;
    size_t offset;
    mn_read_fn read;
    void *context;
    uint8_t *owned;
    size_t capacity;
} mn_hnsw_scan;

/* The next `n` bytes, at *out until the next take. Memory grows with bytes delivered only. */
static mn_status mn_scan_take(mn_hnsw_scan *scan, size_t n, const uint8_t **out) {
    if (!scan->read) {
        if (n > scan->size - scan->offset) return MN_ERR_TRUNCATED;
    } else {
        if (n > scan->capacity - scan->offset) {
            size_t capacity = scan->capacity ? scan->capacity : 4096;
            while (capacity - scan->offset < n) {
                if (capacity > SIZE_MAX / 2) return MN_ERR_NO_MEMORY;
                capacity *= 2;
            }
            uint8_t *grown = realloc(scan->owned, capacity);
            if (!grown) return MN_ERR_NO_MEMORY;
            scan->owned = grown;
            scan->capacity = capacity;
        }
        if (n > 0) {
            mn_status status = scan->read(scan->context, scan->owned + scan->offset, n);
            if (status != MN_OK) return status;
        }
        scan->data = scan->owned;
        scan->size = scan->offset + n;
    }
    *out = scan->data + scan->offset;
    scan->offset += n;
    return MN_OK;
}

/* Walks the stream's records (their sizes and the counts that give them) and checks its
 * trailer; *length gets the stream's bytes, trailer included. Allocates nothing per record. */
static mn_status mn_hnsw_scan_stream(mn_hnsw_scan *scan, size_t *length) {
    const uint8_t *p;
    mn_status status = mn_scan_take(scan, MN_HNSW_HEADER_SIZE, &p);
    if (status != MN_OK) return status;
    if (memcmp(p, mn_hnsw_magic, 8) != 0 || mn_get_u32(p + 8) != MN_HNSW_FORMAT_VERSION) {
        return MN_ERR_VERSION;
    }
    uint32_t dimension = mn_get_u32(p + 12);
    uint32_t m = mn_get_u32(p + 20);
    uint32_t slots = mn_get_u32(p + 40);
    if (dimension == 0 || dimension > MN_DIMENSION_MAX || m < MN_HNSW_M_MIN ||
        m > MN_HNSW_M_MAX || slots > MN_HNSW_NODES_MAX) {
        return MN_ERR_CORRUPT;
    }
    for (uint32_t slot = 0; slot < slots; slot++) {
        if ((status = mn_scan_take(scan, 1, &p)) != MN_OK) return status;
        uint8_t state = p[0];
        if (state == MN_HNSW_STATE_FREE) continue;
        if (state != MN_HNSW_STATE_LIVE && state != MN_HNSW_STATE_DELETED) return MN_ERR_CORRUPT;
        if ((status = mn_scan_take(scan, 12, &p)) != MN_OK) return status;
        uint32_t level = mn_get_u32(p + 8);
        if (level > MN_HNSW_LEVEL_MAX) return MN_ERR_CORRUPT;
        if ((status = mn_scan_take(scan, (size_t)dimension * 4, &p)) != MN_OK) return status;
        for (uint32_t l = 0; l <= level; l++) {
            if ((status = mn_scan_take(scan, 4, &p)) != MN_OK) return status;
            uint32_t count = mn_get_u32(p);
            if (count > (l == 0 ? 2 * m : m)) return MN_ERR_CORRUPT;
            if ((status = mn_scan_take(scan, (size_t)count * 4, &p)) != MN_OK) return status;
        }
    }
    size_t body = scan->offset;
    if ((status = mn_scan_take(scan, 8, &p)) != MN_OK) return status;
    if (mn_get_u64(p) != XXH64(scan->data, body, 0)) return MN_ERR_CORRUPT;
    *length = scan->offset;
    return MN_OK;
}

/* ---- reading: the load, of a stream whose scan passed ---- */


/* Reads and checks one node record (after its state byte) into `slot`. */
static mn_status mn_load_node(mn_hnsw *index, mn_hashed_reader *reader, uint32_t slot, uint32_t slots,
                              uint8_t *buffer) {
    const uint32_t dimension = index->params.dimension;
    mn_status status = mn_hashed_read(reader, buffer, 12);
    if (status != MN_OK) return status;
    mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
    node->id = mn_get_u64(buffer);
    uint32_t level = mn_get_u32(buffer + 8);
    if (level > MN_HNSW_LEVEL_MAX) return MN_ERR_CORRUPT;
    node->level = level;
    if ((status = mn_hashed_read(reader, buffer, (size_t)dimension * 4)) != MN_OK) return status;
    float *vector = mn_hnsw_vector(node);
    for (uint32_t i = 0; i < dimension; i++) {
        uint32_t bits = mn_get_u32(buffer + 4 * (size_t)i);
        memcpy(&vector[i], &bits, 4);
        if (!isfinite(vector[i])) return MN_ERR_CORRUPT;
    }
    if ((status = mn_hnsw_node_init_upper(node, level)) != MN_OK) return status;
    atomic_fetch_add_explicit(&index->list_bytes, (int64_t)(level * sizeof(void *)), memory_order_relaxed);
    for (uint32_t l = 0; l <= level; l++) {
        if ((status = mn_hashed_read(reader, buffer, 4)) != MN_OK) return status;
        uint32_t count = mn_get_u32(buffer);
        if (count > (l == 0 ? index->m_base : index->m_upper)) return MN_ERR_CORRUPT;
        if ((status = mn_hashed_read(reader, buffer, (size_t)count * 4)) != MN_OK) return status;
        if (count == 0) continue;
        mn_hnsw_links *links = mn_hnsw_links_new(index, count);
        if (!links) return MN_ERR_NO_MEMORY;
        atomic_store_explicit(mn_hnsw_links_ref(node, l), links, memory_order_relaxed);
        for (uint32_t i = 0; i < count; i++) {
            links->slots[i] = mn_get_u32(buffer + 4 * (size_t)i);
            if (links->slots[i] >= slots || links->slots[i] == slot) return MN_ERR_CORRUPT;
        }
    }
    return MN_OK;
}

/* Checks what needs every node loaded: links name used slots that reach their layer. */
static mn_status mn_load_check_links(mn_hnsw *index, uint32_t slots) {
    for (uint32_t slot = 0; slot < slots; slot++) {
        mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
        if (atomic_load_explicit(&node->state, memory_order_relaxed) == MN_HNSW_STATE_FREE) continue;
        for (uint32_t level = 0; level <= node->level; level++) {
            mn_hnsw_links *links = atomic_load_explicit(mn_hnsw_links_ref(node, level), memory_order_relaxed);
            for (uint32_t i = 0; links && i < links->count; i++) {
                mn_hnsw_node *target = mn_hnsw_node_at(index, links->slots[i]);
                if (atomic_load_explicit(&target->state, memory_order_relaxed) == MN_HNSW_STATE_FREE ||
                    target->level < level)
                    return MN_ERR_CORRUPT;
            }
        }
    }
    return MN_OK;
}

static mn_status mn_hnsw_load_scanned(mn_read_fn read, void *context, mn_hnsw **out) {
    mn_hashed_reader reader = {read, context, XXH64_createState()};
    if (!reader.hash) return MN_ERR_NO_MEMORY;
    XXH64_reset(reader.hash, 0);
    mn_hnsw *index = NULL;
    uint8_t *buffer = NULL;
    uint8_t header[MN_HNSW_HEADER_SIZE];
    mn_status status = mn_hashed_read(&reader, header, sizeof(header));
    if (status != MN_OK) goto fail;
    if (memcmp(header, mn_hnsw_magic, 8) != 0 || mn_get_u32(header + 8) != MN_HNSW_FORMAT_VERSION) {
        status = MN_ERR_VERSION;
        goto fail;
    }
    mn_hnsw_params params;
    mn_hnsw_params_default(mn_get_u32(header + 12), (mn_metric)mn_get_u32(header + 16), &params);
    params.m = mn_get_u32(header + 20);
    params.ef_construction = mn_get_u32(header + 24);
    params.seed = mn_get_u64(header + 32);
    uint32_t slots = mn_get_u32(header + 40);
    uint32_t live = mn_get_u32(header + 44);
    uint64_t entry = mn_get_u64(header + 48);
    if (mn_get_u32(header + 28) != 0 || slots > MN_HNSW_NODES_MAX || live > slots) {
        status = MN_ERR_CORRUPT;
        goto fail;
    }
    status = mn_hnsw_create_internal(&params, &index);
    if (status != MN_OK) {
        status = MN_ERR_CORRUPT; /* parameters out of range */
        goto fail;
    }
    size_t buffer_size = (size_t)params.dimension * 4;
    if (buffer_size < (size_t)index->m_base * 4) buffer_size = (size_t)index->m_base * 4;
    if (buffer_size < 12) buffer_size = 12;
    buffer = malloc(buffer_size);
    if (!buffer) {
        status = MN_ERR_NO_MEMORY;
        goto fail;
    }

    uint32_t live_seen = 0;
    uint32_t deleted_seen = 0;
    for (uint32_t slot = 0; slot < slots; slot++) {
        uint8_t state;
        if ((status = mn_hashed_read(&reader, &state, 1)) != MN_OK) goto fail;
        /* Storage grows as records arrive, so a forged slot count cannot reserve memory. */
        if ((status = mn_hnsw_ensure_slots(index, slot + 1)) != MN_OK) goto fail;
        atomic_store_explicit(&index->next_slot, slot + 1, memory_order_relaxed);
        mn_hnsw_node *node = mn_hnsw_node_at(index, slot);
        if (state == MN_HNSW_STATE_FREE) {
            if (index->free_count == index->free_capacity) {
                uint32_t capacity = index->free_capacity ? index->free_capacity * 2 : 64;
                uint32_t *grown = realloc(index->free_slots, (size_t)capacity * sizeof(uint32_t));
                if (!grown) {
                    status = MN_ERR_NO_MEMORY;
                    goto fail;
                }
                index->free_slots = grown;
                index->free_capacity = capacity;
            }
            index->free_slots[index->free_count++] = slot;
            continue;
        }
        if (state != MN_HNSW_STATE_LIVE && state != MN_HNSW_STATE_DELETED) {
            status = MN_ERR_CORRUPT;
            goto fail;
        }
        /* Mark the state first so destroy frees whatever the node holds if loading fails. */
        atomic_store_explicit(&node->state, state, memory_order_relaxed);
        atomic_store_explicit(&node->moved, NULL, memory_order_relaxed); /* loaded settled */
        if ((status = mn_load_node(index, &reader, slot, slots, buffer)) != MN_OK) goto fail;
        if (state == MN_HNSW_STATE_LIVE) {
            live_seen++;
            status = mn_hnsw_idmap_put(&index->idmap, node->id, slot);
            if (status == MN_ERR_DUPLICATE) status = MN_ERR_CORRUPT;
            if (status != MN_OK) goto fail;
        } else {
            deleted_seen++;
        }
    }
    uint8_t trailer[8];
    if ((status = read(context, trailer, sizeof(trailer))) != MN_OK) goto fail;
    if (mn_get_u64(trailer) != XXH64_digest(reader.hash)) {
        status = MN_ERR_CORRUPT;
        goto fail;
    }
    if (live_seen != live || (status = mn_load_check_links(index, slots)) != MN_OK) {
        status = MN_ERR_CORRUPT;
        goto fail;
    }
    if (entry != MN_HNSW_ENTRY_NONE) {
        uint32_t entry_slot = (uint32_t)entry;
        if (entry_slot >= slots) {
            status = MN_ERR_CORRUPT;
            goto fail;
        }
        mn_hnsw_node *node = mn_hnsw_node_at(index, entry_slot);
        if (atomic_load(&node->state) == MN_HNSW_STATE_FREE || node->level != (uint32_t)(entry >> 32)) {
            status = MN_ERR_CORRUPT;
            goto fail;
        }
    } else if (live_seen > 0) {
        /* No entry point with only deleted nodes is valid: a batch taken back out of an
         * empty index leaves that (mn_hnsw_batch_end). */
        status = MN_ERR_CORRUPT;
        goto fail;
    }
    atomic_store(&index->entry, entry);
    atomic_store(&index->live_count, live_seen);
    atomic_store(&index->deleted_count, deleted_seen);
    free(buffer);
    XXH64_freeState(reader.hash);
    *out = index;
    return MN_OK;

fail:
    free(buffer);
    XXH64_freeState(reader.hash);
    mn_hnsw_destroy(index);
    return status;
}

mn_status mn_hnsw_load_view(const void *data, size_t size, size_t *consumed, mn_hnsw **out) {
    if ((!data && size > 0) || !consumed || !out) return MN_ERR_INVALID;
    mn_hnsw_scan scan = {data, size, 0, NULL, NULL, NULL, 0};
    size_t length = 0;
    mn_status status = mn_hnsw_scan_stream(&scan, &length);
    if (status != MN_OK) return status;
    mn_buffer_reader reader = {data, length, 0};
    status = mn_hnsw_load_scanned(mn_buffer_read, &reader, out);
    if (status == MN_OK) *consumed = length;
    return status;
}

mn_status mn_hnsw_load(mn_read_fn read, void *context, mn_hnsw **out) {
    if (!read || !out) return MN_ERR_INVALID;
    mn_hnsw_scan scan = {NULL, 0, 0, read, context, NULL, 0};
    size_t length = 0;
    mn_status status = mn_hnsw_scan_stream(&scan, &length);
    if (status == MN_OK) {
        mn_buffer_reader reader = {scan.owned, length, 0};
        status = mn_hnsw_load_scanned(mn_buffer_read, &reader, out);
    }
    free(scan.owned);
    return status;
}

mn_status mn_hnsw_load_buffer(const void *data, size_t size, mn_hnsw **out) {
    if (!data && size > 0) return MN_ERR_INVALID;
    if (!out) return MN_ERR_INVALID;
    size_t consumed = 0;
    mn_hnsw *index = NULL;
    mn_status status = mn_hnsw_load_view(data, size, &consumed, &index);
    if (status != MN_OK) return status;
    if (consumed != size) {
        mn_hnsw_destroy(index);
        return MN_ERR_CORRUPT; /* trailing bytes */
    }
    *out = index;
    return MN_OK;
}
