/*
 * mn_assoc_io.c: saving an association table to a byte stream and loading it back.
 *
 * Only outgoing links are written (incoming ones are their mirror and are rebuilt by linking),
 * memories by ascending id and each memory's links by ascending target id, so the same links
 * always give the same bytes and a loader can check order instead of searching for duplicates.
 * Loading trusts nothing: every count, id and weight is checked before use, degrees are
 * enforced by the same code as mn_assoc_link, and an XXH64 of everything before the trailer
 * must match. Bad input returns a status; nothing on this path asserts.
 *
 * Stream layout (little-endian):
 *
 *   offset  size  field
 *   0       8     magic "MNEMOASC"                       (MN_ASSOC_IO_MAGIC)
 *   8       4     format version, 1                      (MN_ASSOC_IO_VERSION)
 *   12      4     reserved, 0                            (MN_ASSOC_IO_RESERVED)
 *   16      8     memories with outgoing links (n)       (MN_ASSOC_IO_NODES)
 *   24      8     links in total                         (MN_ASSOC_IO_LINKS)
 *   32      ...   n records, ids strictly ascending:
 *                   8 id, 4 count (1 ... MN_ASSOC_DEGREE_MAX), then count times
 *                   8 target id (strictly ascending, != id), 4 weight (float bits, in (0, 1])
 *   end-8   8     XXH64 (seed 0) of every byte before it
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/mn_bytes.h"
#include "assoc/mn_assoc_internal.h"

#define MN_ASSOC_IO_VERSION_1 1u
#define MN_ASSOC_IO_HEADER_SIZE 32u
#define MN_ASSOC_IO_MAGIC 0u
#define MN_ASSOC_IO_VERSION 8u
#define MN_ASSOC_IO_RESERVED 12u
#define MN_ASSOC_IO_NODES 16u
#define MN_ASSOC_IO_LINKS 24u
#define MN_ASSOC_IO_NODE_SIZE 12u
#define MN_ASSOC_IO_LINK_SIZE 12u
static const char mn_assoc_magic[8] = {'M', 'N', 'E', 'M', 'O', 'A', 'S', 'C'};


/* ---- writing ---- */

typedef struct mn_assoc_entry {
    uint64_t id;
    const mn_assoc_list *list;
} mn_assoc_entry;

typedef struct mn_assoc_collect {
    mn_assoc_entry *entries;
    size_t count, capacity;
    uint64_t links;
    int failed;
} mn_assoc_collect;

static void mn_assoc_collect_one(void *context, uint64_t id, const mn_assoc_list *list) {
    mn_assoc_collect *collect = context;
    if (collect->failed || list->out_count == 0) return;
    if (collect->count == collect->capacity) {
        size_t capacity = collect->capacity ? collect->capacity * 2 : 64;
        mn_assoc_entry *grown = realloc(collect->entries, capacity * sizeof(mn_assoc_entry));
        if (!grown) {
            collect->failed = 1;
            return;
        }
        collect->entries = grown;
        collect->capacity = capacity;
    }
    collect->entries[collect->count++] = (mn_assoc_entry){id, list};
    collect->links += list->out_count;
}

static int mn_assoc_compare_entry(const void *a, const void *b) {
    uint64_t x = ((const mn_assoc_entry *)a)->id, y = ((const mn_assoc_entry *)b)->id;
    return (x > y) - (x < y);
}

mn_status mn_assoc_save(const mn_assoc *assoc, mn_write_fn write, void *context) {
    if (!assoc || !write) return MN_ERR_INVALID;
    /* The writer calls this, so the lists cannot change underneath; a read section would only
     * matter to a concurrent writer, which the contract excludes. */
    mn_assoc_collect collect = {0};
    mn_assoc_visit(assoc, mn_assoc_collect_one, &collect);
    if (collect.failed) {
        free(collect.entries);
        return MN_ERR_NO_MEMORY;
    }
    if (collect.count > 1) qsort(collect.entries, collect.count, sizeof(mn_assoc_entry), mn_assoc_compare_entry);
    mn_hashed_writer writer = {write, context, XXH64_createState()};
    uint8_t *record = malloc(MN_ASSOC_IO_NODE_SIZE + (size_t)MN_ASSOC_DEGREE_MAX * MN_ASSOC_IO_LINK_SIZE);
    mn_status status = MN_OK;
    if (!writer.hash || !record) {
        status = MN_ERR_NO_MEMORY;
        goto done;
    }
    XXH64_reset(writer.hash, 0);
    uint8_t header[MN_ASSOC_IO_HEADER_SIZE] = {0};
    memcpy(header + MN_ASSOC_IO_MAGIC, mn_assoc_magic, 8);
    mn_put_u32(header + MN_ASSOC_IO_VERSION, MN_ASSOC_IO_VERSION_1);
    mn_put_u64(header + MN_ASSOC_IO_NODES, collect.count);
    mn_put_u64(header + MN_ASSOC_IO_LINKS, collect.links);
    status = mn_hashed_write(&writer, header, sizeof(header));
    for (size_t i = 0; i < collect.count && status == MN_OK; i++) {
        const mn_assoc_list *list = collect.entries[i].list;
        mn_put_u64(record, collect.entries[i].id);
        mn_put_u32(record + 8, list->out_count);
        size_t size = MN_ASSOC_IO_NODE_SIZE;
        for (uint32_t j = 0; j < list->out_count; j++, size += MN_ASSOC_IO_LINK_SIZE) {
            uint32_t bits;
            memcpy(&bits, &list->links[j].weight, 4);
            mn_put_u64(record + size, list->links[j].id);
            mn_put_u32(record + size + 8, bits);
        }
        status = mn_hashed_write(&writer, record, size);
    }
    if (status == MN_OK) {
        uint8_t trailer[8];
        mn_put_u64(trailer, XXH64_digest(writer.hash));
        status = write(context, trailer, sizeof(trailer));
    }
done:
    free(record);
    if (writer.hash) XXH64_freeState(writer.hash);
    free(collect.entries);
    return status;
}

/* ---- reading ---- */

mn_status mn_assoc_load(mn_read_fn read, void *context, mn_assoc **out) {
    if (!read || !out) return MN_ERR_INVALID;
    *out = NULL;
    mn_hashed_reader reader = {read, context, XXH64_createState()};
    uint8_t *buffer = malloc((size_t)MN_ASSOC_DEGREE_MAX * MN_ASSOC_IO_LINK_SIZE);
    mn_assoc *assoc = NULL;
    mn_status status = MN_OK;
    if (!reader.hash || !buffer) {
        status = MN_ERR_NO_MEMORY;
        goto fail;
    }
    XXH64_reset(reader.hash, 0);
    uint8_t header[MN_ASSOC_IO_HEADER_SIZE];
    if ((status = mn_hashed_read(&reader, header, sizeof(header))) != MN_OK) goto fail;
    if (memcmp(header + MN_ASSOC_IO_MAGIC, mn_assoc_magic, 8) != 0 ||
        mn_get_u32(header + MN_ASSOC_IO_VERSION) != MN_ASSOC_IO_VERSION_1) {
        status = MN_ERR_VERSION;
        goto fail;
    }
    uint64_t nodes = mn_get_u64(header + MN_ASSOC_IO_NODES);
    uint64_t links = mn_get_u64(header + MN_ASSOC_IO_LINKS);
    if (mn_get_u32(header + MN_ASSOC_IO_RESERVED) != 0 || nodes > MN_ASSOC_NODES_MAX ||
        links > nodes * MN_ASSOC_DEGREE_MAX || links < nodes) {
        status = MN_ERR_CORRUPT;
        goto fail;
    }
    if ((status = mn_assoc_create(&assoc)) != MN_OK) goto fail;
    uint64_t seen = 0, previous = 0;
    for (uint64_t n = 0; n < nodes; n++) {
        uint8_t record[MN_ASSOC_IO_NODE_SIZE];
        if ((status = mn_hashed_read(&reader, record, sizeof(record))) != MN_OK) goto fail;
        uint64_t id = mn_get_u64(record);
        uint32_t count = mn_get_u32(record + 8);
        if ((n > 0 && id <= previous) || count == 0 || count > MN_ASSOC_DEGREE_MAX || seen + count > links) {
            status = MN_ERR_CORRUPT;
            goto fail;
        }
        previous = id;
        if ((status = mn_hashed_read(&reader, buffer, (size_t)count * MN_ASSOC_IO_LINK_SIZE)) != MN_OK) goto fail;
        for (uint32_t j = 0; j < count; j++) {
            const uint8_t *p = buffer + (size_t)j * MN_ASSOC_IO_LINK_SIZE;
            uint64_t to = mn_get_u64(p);
            uint32_t bits = mn_get_u32(p + 8);
            float weight;
            memcpy(&weight, &bits, 4);
            if ((j > 0 && to <= mn_get_u64(p - MN_ASSOC_IO_LINK_SIZE)) || to == id ||
                !(weight > 0.0f && weight <= 1.0f)) {
                status = MN_ERR_CORRUPT;
                goto fail;
            }
            status = mn_assoc_link(assoc, id, to, weight);
            if (status == MN_ERR_FULL || status == MN_ERR_TOO_LARGE || status == MN_ERR_INVALID) status = MN_ERR_CORRUPT;
            if (status != MN_OK) goto fail;
        }
        seen += count;
    }
    if (seen != links) {
        status = MN_ERR_CORRUPT;
        goto fail;
    }
    uint64_t digest = XXH64_digest(reader.hash);
    uint8_t trailer[8];
    if ((status = read(context, trailer, sizeof(trailer))) != MN_OK) goto fail;
    if (mn_get_u64(trailer) != digest) {
        status = MN_ERR_CORRUPT;
        goto fail;
    }
    free(buffer);
    XXH64_freeState(reader.hash);
    *out = assoc;
    return MN_OK;

fail:
    mn_assoc_destroy(assoc);
    free(buffer);
    if (reader.hash) XXH64_freeState(reader.hash);
    return status;
}

mn_status mn_assoc_load_buffer(const void *data, size_t size, mn_assoc **out) {
    if ((!data && size > 0) || !out) return MN_ERR_INVALID;
    mn_buffer_reader buffer = {data, size, 0};
    mn_status status = mn_assoc_load(mn_buffer_read, &buffer, out);
    if (status == MN_OK && buffer.offset != size) {
        mn_assoc_destroy(*out);
        *out = NULL;
        status = MN_ERR_CORRUPT;
    }
    return status;
}
