/*
 * mn_engine_checkpoint.c: checkpoints of a durable engine: the spaces saved into pack files,
 * log segments deleted behind them, the packs read first on open, lazy spaces loaded from them
 * on first use, and a background thread that checkpoints when the log has grown.
 *
 * Why a checkpoint is an export: the export stream (mn_engine_export.c) already holds a whole
 * space exactly (memories with their labels, the HNSW graph, the associations, the space's log
 * sequence) and is taken between two of the space's writes, with the space frozen on an
 * MN_OP_EXPORT marker (its worker runs its other spaces meanwhile). So the sequence recorded in
 * it is exact: every log record of the space with a sequence at or below it is in the entry,
 * every record above it is not.
 *
 * Why packs: one file per space cost one create, one rename and one inode per changed space
 * (13-36 s for 100,000 small spaces on ext4). A checkpoint now writes ONE pack file holding the
 * entries of every changed space and, at its end, an index (a manifest) naming where the newest
 * entry of EVERY checkpointed space lives: in this pack or in an older one. It is written once,
 * fdatasynced once and renamed once. Older packs that the new index no longer points into are
 * deleted after it is durable.
 *
 * The registry (d->registry, under checkpoint_lock) is the in-memory copy of the next index:
 * space id -> (pack, offset, bytes) for every space whose entry is on disk and that is not
 * dropped. Checkpoints and imports add to it after their rename; drops remove from it.
 *
 * A database checkpoint (mn_engine_checkpoint):
 *   1. the cut: with creations held off (create_lock), read each worker log's current segment
 *      number and list the spaces. Every record in an earlier segment was appended before the
 *      cut, hence before the export marker of its space below, hence is in its entry.
 *   2. the spaces changed since their last checkpoint (their mailbox took an op) or never
 *      checkpointed are frozen MN_DURABLE_CHECKPOINT_FREEZE_BATCH at a time (one marker each,
 *      queued together, so a worker freezes a run of its small spaces back to back) and their
 *      streams appended one after the other to spaces/PACK.pack.tmp.
 *   3. under checkpoint_lock: take the next pack number and snapshot the registry, overlaid
 *      with this pack's entries (except spaces dropped meanwhile), as the index; write it and
 *      the header, fdatasync, and rename to spaces/PACK.pack (under checkpoint_lock again: the
 *      registry then points at the new entries). Skipped when nothing was written and no drop
 *      or import changed the registry since the last index.
 *   4. sync spaces/ (always: an earlier run's rename whose sync failed is made durable here,
 *      before the log that holds its spaces goes), delete every segment below the cut in each
 *      log (mn_wal_delete_before), then every pack older than the new one that it does not
 *      point into.
 *   Any failure in 2-4 stops before a deletion that needs it: the log still holds everything.
 *
 * Drops: the drop record is appended (and synced in `batched` mode) and the space removed from
 * the registry under checkpoint_lock, held across both (mn_durable_log_drop): an index built
 * after a cut that lies above the drop record therefore never names the space, and an index
 * built before it was written while the record is still in the log. Recovery drops a space
 * whose drop record it finds; its entry goes with the next index.
 * Imports: the space's entry is written to its own pack (kind "delta", holding no manifest),
 * synced and renamed under checkpoint_lock with the next pack number, and only then published.
 *
 * Recovery (mn_ckpt_load_all, called by mn_engine_open before the logs are read): the
 * newest "full" pack's index plus the indexes of any delta packs numbered above it, newest
 * last, give each space's entry; every entry's header is checked and its stream's XXH64
 * computed (the entry is read, not imported); leftover *.tmp files (a crash mid-checkpoint) are
 * deleted, and so (after a directory sync) are packs the index does not point into. A damaged
 * pack or entry stops the open with MN_ERR_CORRUPT and the pack's path in the report. A space
 * with log records above its entry is imported there and then (mn_ckpt_load_space); the
 * others stay stubs, each loaded on first use by reading only its own entry.
 *
 * Lazy spaces (mn_engine_lazy.c): a space that stays a stub is loaded from its checkpoint on
 * first use with mn_ckpt_load_space. Lock order: stub_lock, then the engine's table
 * lock, then checkpoint_lock.
 *
 * Pack file spaces/NNNNNNNNNNNNNNNN.pack (16 hex digits: the pack number, increasing;
 * little-endian; the header is written last, at offset 0):
 *
 *   offset  size  field                                            constant
 *   0       8     magic "MNEMOPAK"                                 MN_PACK_MAGIC
 *   8       4     format version, 2                                MN_PACK_VERSION
 *   12      4     kind: 1 full (indexes every checkpointed space), MN_PACK_KIND
 *                 2 delta (an import: indexes its one space)
 *   16      8     index offset i                                   MN_PACK_INDEX_OFFSET
 *   24      8     index entries c                                  MN_PACK_INDEX_COUNT
 *   32      8     the engine's next space id when written          MN_PACK_NEXT_SPACE_ID
 *   40      8     reserved, 0                                      MN_PACK_RESERVED
 *   48      8     XXH64 (seed 0) of the index (c * 32 bytes)       MN_PACK_INDEX_HASH
 *   56      8     XXH64 (seed 0) of bytes 0 ... 55                 MN_PACK_HEADER_HASH
 *   64      ...   entries, one after the other (below)             MN_PACK_HEADER_SIZE
 *   i       c*32  index, space ids strictly ascending; each:
 *                   +0   8  space id                               MN_PACK_IX_SPACE_ID
 *                   +8   8  pack holding its entry (0: this one)   MN_PACK_IX_PACK
 *                   +16  8  entry offset in that pack              MN_PACK_IX_OFFSET
 *                   +24  8  entry bytes                            MN_PACK_IX_BYTES
 *   i+c*32        end of file
 *
 * Entry (one space's checkpoint; version 1 was a whole file spaces/ID.ckpt of this layout):
 *
 *   offset  size  field                                            constant
 *   0       8     magic "MNEMOCKP"                                 MN_CKPT_MAGIC
 *   8       4     format version, 4 (2 and 3 are read too: below)  MN_CKPT_VERSION
 *   12      4     name bytes n (1 ... MN_ENGINE_NAME_BYTES_MAX)    MN_CKPT_NAME_BYTES
 *   16      8     space id (equals the index's)                    MN_CKPT_SPACE_ID
 *   24      8     sequence: the space's last log sequence in it    MN_CKPT_SEQUENCE
 *   32      8     the engine's next space id when written          MN_CKPT_NEXT_SPACE_ID
 *   40      8     stream bytes s                                   MN_CKPT_STREAM_BYTES
 *   48      8     XXH64 (seed 0) of the stream                     MN_CKPT_STREAM_HASH
 *   56      8     XXH64 (seed 0) of bytes 0 ... 55 and the name    MN_CKPT_HEADER_HASH
 *   64      n     space name (UTF-8)                               MN_CKPT_HEADER_SIZE
 *   64+n    s     the mn_space_export stream (its own XXH64 trailer included): export
 *                 format 3 (memories with metadata, field index definitions) in an entry of
 *                 version 4, format 2 in one of version 3, format 1 in one of version 2
 *
 * Version 3 entries (written before field indexes) are read as they are: their streams are
 * export format 2, which imports with no index but createdAt. Version 2 entries (written
 * before metadata) are read as they are: their streams are export
 * format 1, which imports as memories without metadata. The version is bumped with the stream's
 * so that an engine that cannot read the new stream stops at open naming the pack
 * (MN_ERR_VERSION) instead of failing later on a lazy load.
 *
 * Version 1 checkpoints (spaces/ID.ckpt) are not read: an open that finds one fails with
 * MN_ERR_VERSION naming it (its log may already be cut, so ignoring it would lose data).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "engine/mn_engine_durable_internal.h"
#include "engine/mn_engine_internal.h"
#include "util/mn_bytes.h"
#include "util/mn_vfs.h"

#define MN_PACK_VERSION_2 2u
#define MN_PACK_KIND_FULL 1u
#define MN_PACK_KIND_DELTA 2u
#define MN_PACK_MAGIC 0u
#define MN_PACK_VERSION 8u
#define MN_PACK_KIND 12u
#define MN_PACK_INDEX_OFFSET 16u
#define MN_PACK_INDEX_COUNT 24u
#define MN_PACK_NEXT_SPACE_ID 32u
#define MN_PACK_RESERVED 40u
#define MN_PACK_INDEX_HASH 48u
#define MN_PACK_HEADER_HASH 56u
#define MN_PACK_HEADER_SIZE 64u
#define MN_PACK_IX_SPACE_ID 0u
#define MN_PACK_IX_PACK 8u
#define MN_PACK_IX_OFFSET 16u
#define MN_PACK_IX_BYTES 24u
#define MN_PACK_IX_SIZE 32u

#define MN_CKPT_VERSION_2 2u
#define MN_CKPT_VERSION_3 3u
#define MN_CKPT_VERSION_4 4u
#define MN_CKPT_MAGIC 0u
#define MN_CKPT_VERSION 8u
#define MN_CKPT_NAME_BYTES 12u
#define MN_CKPT_SPACE_ID 16u
#define MN_CKPT_SEQUENCE 24u
#define MN_CKPT_NEXT_SPACE_ID 32u
#define MN_CKPT_STREAM_BYTES 40u
#define MN_CKPT_STREAM_HASH 48u
#define MN_CKPT_HEADER_HASH 56u
#define MN_CKPT_HEADER_SIZE 64u
/* Where the export stream's header keeps its version and the space's sequence
 * (mn_engine_export.c); an entry of version v holds a stream of version v - 1. */
#define MN_CKPT_EXPORT_VERSION 8u
#define MN_CKPT_EXPORT_SEQUENCE 56u
#define MN_CKPT_EXPORT_HEADER 64u

_Static_assert(MN_CKPT_HEADER_HASH + 8 == MN_CKPT_HEADER_SIZE, "entry header");
_Static_assert(MN_PACK_HEADER_HASH + 8 == MN_PACK_HEADER_SIZE, "pack header");
_Static_assert(MN_PACK_IX_BYTES + 8 == MN_PACK_IX_SIZE, "index entry");
_Static_assert(MN_DURABLE_CHECKPOINT_BUFFER_BYTES >= MN_CKPT_HEADER_SIZE + MN_ENGINE_NAME_BYTES_MAX,
               "an entry's header and name fit the write buffer");

static const char mn_ckpt_magic[8] = {'M', 'N', 'E', 'M', 'O', 'C', 'K', 'P'};
static const char mn_ckpt_pack_magic[8] = {'M', 'N', 'E', 'M', 'O', 'P', 'A', 'K'};

/* The space id a checkpoint being loaded on this thread gives its imported space (0: the
 * import is a user's, which gets a new id and a checkpoint). */
static _Thread_local uint64_t mn_ckpt_loading_id;

/* The file-system seam every checkpoint file operation goes through (the engine's). */
static const mn_vfs *mn_ckpt_vfs(const struct mn_durable *d) {
    return d->vfs;
}

static uint64_t mn_ckpt_header_hash(const uint8_t *header, const char *name, uint32_t name_bytes) {
    XXH64_state_t *state = XXH64_createState();
    if (!state) return 0;
    XXH64_reset(state, 0);
    XXH64_update(state, header, MN_CKPT_HEADER_HASH);
    XXH64_update(state, name, name_bytes);
    uint64_t digest = XXH64_digest(state);
    XXH64_freeState(state);
    return digest;
}

static void mn_ckpt_pack_path(const struct mn_durable *d, uint64_t pack, const char *suffix,
                              char *out, size_t size) {
    snprintf(out, size, "%s/spaces/%016llx.pack%s", d->path, (unsigned long long)pack, suffix);
}

static void mn_ckpt_dir(const struct mn_durable *d, char *out, size_t size) {
    snprintf(out, size, "%s/spaces", d->path);
}

/* ---- the registry: space id -> its entry (open addressing, under checkpoint_lock) ---- */

static uint64_t mn_ckpt_reg_slot(const struct mn_durable *d, uint64_t space_id) {
    return (space_id * 0x9e3779b97f4a7c15ull) >> 17 & (d->registry_capacity - 1);
}

static mn_ckpt_location *mn_ckpt_reg_find(struct mn_durable *d, uint64_t space_id) {
    if (d->registry_capacity == 0) return NULL;
    for (uint64_t i = mn_ckpt_reg_slot(d, space_id);; i = (i + 1) & (d->registry_capacity - 1)) {
        if (d->registry[i].space_id == space_id) return &d->registry[i];
        if (d->registry[i].space_id == 0) return NULL;
    }
}

/* Stores an id known to be absent in its first free slot (linear probing). */
static void mn_ckpt_reg_place(struct mn_durable *d, const mn_ckpt_location *location) {
    uint64_t j = mn_ckpt_reg_slot(d, location->space_id);
    while (d->registry[j].space_id != 0) j = (j + 1) & (d->registry_capacity - 1);
    d->registry[j] = *location;
}

/* Grows the registry so that `extra` more ids fit without allocating. A checkpoint reserves
 * before its rename (under checkpoint_lock): a rename must never be followed by an insertion
 * that can fail. */
static mn_status mn_ckpt_reg_reserve(struct mn_durable *d, uint64_t extra) {
    while ((d->registry_count + extra) * 2 > d->registry_capacity) {
        uint64_t capacity = d->registry_capacity ? d->registry_capacity * 2 : 64;
        mn_ckpt_location *grown = calloc((size_t)capacity, sizeof(*grown));
        if (!grown) return MN_ERR_NO_MEMORY;
        mn_ckpt_location *old = d->registry;
        uint64_t old_capacity = d->registry_capacity;
        d->registry = grown;
        d->registry_capacity = capacity;
        for (uint64_t i = 0; i < old_capacity; i++) {
            if (old[i].space_id != 0) mn_ckpt_reg_place(d, &old[i]);
        }
        free(old);
    }
    return MN_OK;
}

/* Inserts or replaces; grows at half full. */
static mn_status mn_ckpt_reg_put(struct mn_durable *d, const mn_ckpt_location *location) {
    MN_ASSERT(location->space_id != 0);
    mn_ckpt_location *found = mn_ckpt_reg_find(d, location->space_id);
    if (found) {
        *found = *location;
        return MN_OK;
    }
    mn_status status = mn_ckpt_reg_reserve(d, 1);
    if (status != MN_OK) return status;
    mn_ckpt_reg_place(d, location);
    d->registry_count++;
    return MN_OK;
}

/* Removes an id (backward-shift deletion keeps every probe chain whole). */
static void mn_ckpt_reg_remove(struct mn_durable *d, uint64_t space_id) {
    mn_ckpt_location *found = mn_ckpt_reg_find(d, space_id);
    if (!found) return;
    uint64_t mask = d->registry_capacity - 1;
    uint64_t hole = (uint64_t)(found - d->registry);
    for (uint64_t i = (hole + 1) & mask; d->registry[i].space_id != 0; i = (i + 1) & mask) {
        uint64_t home = mn_ckpt_reg_slot(d, d->registry[i].space_id);
        /* Move it into the hole unless its home lies cyclically in (hole, i]. */
        int stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (stays) continue;
        d->registry[hole] = d->registry[i];
        hole = i;
    }
    d->registry[hole].space_id = 0;
    d->registry_count--;
}

/* ---- state ---- */

void mn_ckpt_state_init(struct mn_durable *d) {
    pthread_mutex_init(&d->checkpoint_run, NULL);
    pthread_mutex_init(&d->checkpoint_lock, NULL);
    pthread_rwlock_init(&d->create_lock, NULL);
    pthread_mutex_init(&d->thread_lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    d->thread_started = 0;
    d->stop = 0;
    d->checkpoint_mark = 0;
    d->registry = NULL;
    d->registry_capacity = 0;
    d->registry_count = 0;
    d->next_pack = 1;
    d->index_pack = 0;
    d->registry_dirty = 0;
}

void mn_ckpt_state_free(struct mn_durable *d) {
    free(d->registry);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->thread_lock);
    pthread_rwlock_destroy(&d->create_lock);
    pthread_mutex_destroy(&d->checkpoint_lock);
    pthread_mutex_destroy(&d->checkpoint_run);
}

/* ---- writing a pack ---- */

typedef struct mn_ckpt_pack_writer {
    const mn_vfs *vfs;
    int fd;
    uint8_t *buffer;
    size_t used;
    uint64_t offset;              /* file offset of buffer[0] */
    XXH64_state_t *hash;          /* the current entry's stream, then the index */
    /* the entry being written */
    uint64_t entry_at;
    uint64_t stream_bytes;
    uint8_t export_header[MN_CKPT_EXPORT_HEADER];
} mn_ckpt_pack_writer;

static mn_status mn_ckpt_pack_flush(mn_ckpt_pack_writer *w) {
    mn_status status = mn_vfs_write_all(w->vfs, w->fd, w->buffer, w->used, w->offset);
    w->offset += w->used;
    w->used = 0;
    return status;
}

static mn_status mn_ckpt_pack_put(mn_ckpt_pack_writer *w, const void *data, size_t size) {
    const uint8_t *bytes = data;
    while (size > 0) {
        size_t room = MN_DURABLE_CHECKPOINT_BUFFER_BYTES - w->used;
        size_t take = size < room ? size : room;
        memcpy(w->buffer + w->used, bytes, take);
        w->used += take;
        bytes += take;
        size -= take;
        if (w->used == MN_DURABLE_CHECKPOINT_BUFFER_BYTES) {
            mn_status status = mn_ckpt_pack_flush(w);
            if (status != MN_OK) return status;
        }
    }
    return MN_OK;
}

/* Writes `size` bytes at file offset `at`, in the buffer when they are still there. */
static mn_status mn_ckpt_pack_patch(mn_ckpt_pack_writer *w, uint64_t at, const void *data,
                                     size_t size) {
    if (at >= w->offset) {
        MN_ASSERT(at + size <= w->offset + w->used);
        memcpy(w->buffer + (at - w->offset), data, size);
        return MN_OK;
    }
    return mn_vfs_write_all(w->vfs, w->fd, data, size, at);
}

static mn_status mn_ckpt_pack_open(const struct mn_durable *d, const char *path,
                                    mn_ckpt_pack_writer *w) {
    memset(w, 0, sizeof(*w));
    w->vfs = mn_ckpt_vfs(d);
    w->fd = -1;
    w->offset = MN_PACK_HEADER_SIZE;
    w->buffer = malloc(MN_DURABLE_CHECKPOINT_BUFFER_BYTES);
    w->hash = XXH64_createState();
    if (!w->buffer || !w->hash) return MN_ERR_NO_MEMORY;
    return w->vfs->open(w->vfs->context, path, MN_VFS_WRITE | MN_VFS_CREATE | MN_VFS_TRUNCATE,
                        &w->fd);
}

static void mn_ckpt_pack_close(mn_ckpt_pack_writer *w) {
    if (w->fd >= 0) w->vfs->close(w->vfs->context, w->fd);
    w->fd = -1;
    free(w->buffer);
    w->buffer = NULL;
    if (w->hash) XXH64_freeState(w->hash);
    w->hash = NULL;
}

/* The export's write callback: appends the stream to the pack. */
static mn_status mn_ckpt_pack_stream_write(void *context, const void *data, size_t size) {
    mn_ckpt_pack_writer *w = context;
    if (w->stream_bytes < MN_CKPT_EXPORT_HEADER) {
        size_t take = MN_CKPT_EXPORT_HEADER - (size_t)w->stream_bytes;
        if (take > size) take = size;
        memcpy(w->export_header + w->stream_bytes, data, take);
    }
    XXH64_update(w->hash, data, size);
    w->stream_bytes += size;
    return mn_ckpt_pack_put(w, data, size);
}

/* Appends one entry: the space (frozen by the caller) exported after its header and name.
 * *out gets where it lies (pack 0: this pack). */
static mn_status mn_ckpt_pack_entry(struct mn_durable *d, mn_ckpt_pack_writer *w,
                                    struct mn_space *space, mn_ckpt_location *out) {
    uint8_t header[MN_CKPT_HEADER_SIZE] = {0};
    /* The header and the name go in together so the patch below finds them in one place. */
    if (MN_DURABLE_CHECKPOINT_BUFFER_BYTES - w->used < sizeof(header) + space->name_bytes) {
        mn_status status = mn_ckpt_pack_flush(w);
        if (status != MN_OK) return status;
    }
    w->entry_at = w->offset + w->used;
    w->stream_bytes = 0;
    XXH64_reset(w->hash, 0);
    mn_status status = mn_ckpt_pack_put(w, header, sizeof(header));
    if (status == MN_OK) status = mn_ckpt_pack_put(w, space->name, space->name_bytes);
    if (status == MN_OK) status = mn_space_export_frozen(space, mn_ckpt_pack_stream_write, w);
    if (status == MN_OK && w->stream_bytes < MN_CKPT_EXPORT_HEADER) status = MN_ERR_IO;
    if (status != MN_OK) return status;
    memcpy(header + MN_CKPT_MAGIC, mn_ckpt_magic, 8);
    /* The export writes format 3 (with field index definitions), held by entries of version 4. */
    MN_ASSERT(mn_get_u32(w->export_header + MN_CKPT_EXPORT_VERSION) + 1u == MN_CKPT_VERSION_4);
    mn_put_u32(header + MN_CKPT_VERSION, MN_CKPT_VERSION_4);
    mn_put_u32(header + MN_CKPT_NAME_BYTES, space->name_bytes);
    mn_put_u64(header + MN_CKPT_SPACE_ID, space->space_id);
    mn_put_u64(header + MN_CKPT_SEQUENCE, mn_get_u64(w->export_header + MN_CKPT_EXPORT_SEQUENCE));
    mn_put_u64(header + MN_CKPT_NEXT_SPACE_ID,
               atomic_load_explicit(&d->next_space_id, memory_order_relaxed));
    mn_put_u64(header + MN_CKPT_STREAM_BYTES, w->stream_bytes);
    mn_put_u64(header + MN_CKPT_STREAM_HASH, XXH64_digest(w->hash));
    mn_put_u64(header + MN_CKPT_HEADER_HASH,
               mn_ckpt_header_hash(header, space->name, space->name_bytes));
    status = mn_ckpt_pack_patch(w, w->entry_at, header, sizeof(header));
    out->space_id = space->space_id;
    out->pack = 0;
    out->offset = w->entry_at;
    out->bytes = MN_CKPT_HEADER_SIZE + space->name_bytes + w->stream_bytes;
    return status;
}

/* Appends the index (sorted by id; pack `self` written as 0), the header, and syncs. */
static mn_status mn_ckpt_pack_finish(struct mn_durable *d, mn_ckpt_pack_writer *w, uint32_t kind,
                                     const mn_ckpt_location *index, uint64_t count, uint64_t self) {
    uint64_t index_at = w->offset + w->used;
    XXH64_reset(w->hash, 0);
    mn_status status = MN_OK;
    for (uint64_t i = 0; i < count && status == MN_OK; i++) {
        uint8_t item[MN_PACK_IX_SIZE];
        mn_put_u64(item + MN_PACK_IX_SPACE_ID, index[i].space_id);
        mn_put_u64(item + MN_PACK_IX_PACK, index[i].pack == self ? 0 : index[i].pack);
        mn_put_u64(item + MN_PACK_IX_OFFSET, index[i].offset);
        mn_put_u64(item + MN_PACK_IX_BYTES, index[i].bytes);
        XXH64_update(w->hash, item, sizeof(item));
        status = mn_ckpt_pack_put(w, item, sizeof(item));
    }
    if (status == MN_OK) status = mn_ckpt_pack_flush(w);
    if (status != MN_OK) return status;
    uint8_t header[MN_PACK_HEADER_SIZE] = {0};
    memcpy(header + MN_PACK_MAGIC, mn_ckpt_pack_magic, 8);
    mn_put_u32(header + MN_PACK_VERSION, MN_PACK_VERSION_2);
    mn_put_u32(header + MN_PACK_KIND, kind);
    mn_put_u64(header + MN_PACK_INDEX_OFFSET, index_at);
    mn_put_u64(header + MN_PACK_INDEX_COUNT, count);
    mn_put_u64(header + MN_PACK_NEXT_SPACE_ID,
               atomic_load_explicit(&d->next_space_id, memory_order_relaxed));
    mn_put_u64(header + MN_PACK_INDEX_HASH, XXH64_digest(w->hash));
    mn_put_u64(header + MN_PACK_HEADER_HASH, XXH64(header, MN_PACK_HEADER_HASH, 0));
    status = mn_vfs_write_all(w->vfs, w->fd, header, sizeof(header), 0);
    /* MN_WAL_NONE promises nothing across a power loss, its log is never synced either. */
    if (status == MN_OK && d->options.durability != MN_WAL_NONE) {
        status = w->vfs->fdatasync(w->vfs->context, w->fd);
    }
    return status;
}

/* ---- a database checkpoint ---- */

typedef struct mn_ckpt_list {
    struct mn_space **spaces;
    size_t count;
} mn_ckpt_list;

/* A space written into this run's pack. */
typedef struct mn_ckpt_written {
    struct mn_space *space;
    uint64_t enqueued;            /* enqueue_pos before its export marker was queued */
    mn_ckpt_location location;
} mn_ckpt_written;

static int mn_ckpt_stopping(struct mn_durable *d) {
    pthread_mutex_lock(&d->thread_lock);
    int stop = d->stop;
    pthread_mutex_unlock(&d->thread_lock);
    return stop;
}

typedef struct mn_ckpt_sweep {
    struct mn_durable *d;
    uint64_t below;               /* packs below this number ... */
    const uint64_t *keep;         /* ... unless listed here (sorted) */
    uint64_t keep_count;
    uint64_t *found;              /* the packs to delete */
    uint64_t found_count, found_capacity;
} mn_ckpt_sweep;

static int mn_ckpt_pack_name(const char *name, uint64_t *number, int *tmp) {
    size_t n = strlen(name);
    if (n == 16 + 5 && strcmp(name + 16, ".pack") == 0) *tmp = 0;
    else if (n == 16 + 9 && strcmp(name + 16, ".pack.tmp") == 0) *tmp = 1;
    else return 0;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        uint32_t digit;
        if (c >= '0' && c <= '9') digit = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') digit = (uint32_t)(c - 'a' + 10);
        else return 0;
        v = (v << 4) | digit;
    }
    *number = v;
    return 1;
}

static int mn_ckpt_keeps(const uint64_t *keep, uint64_t count, uint64_t pack) {
    uint64_t lo = 0, hi = count;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (keep[mid] == pack) return 1;
        if (keep[mid] < pack) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

/* Appends a pack number to a growable array (doubling from 16). */
static mn_status mn_ckpt_numbers_push(uint64_t **items, uint64_t *count, uint64_t *capacity,
                                      uint64_t number) {
    if (*count == *capacity) {
        uint64_t grown_capacity = *capacity ? *capacity * 2 : 16;
        uint64_t *grown = realloc(*items, (size_t)grown_capacity * sizeof(uint64_t));
        if (!grown) return MN_ERR_NO_MEMORY;
        *items = grown;
        *capacity = grown_capacity;
    }
    (*items)[(*count)++] = number;
    return MN_OK;
}

/* Collects packs below `below` that `keep` does not name (vfs list callback). */
static mn_status mn_ckpt_sweep_entry(void *context, const char *name) {
    mn_ckpt_sweep *sweep = context;
    uint64_t number = 0;
    int tmp = 0;
    if (!mn_ckpt_pack_name(name, &number, &tmp) || tmp || number >= sweep->below ||
        mn_ckpt_keeps(sweep->keep, sweep->keep_count, number)) {
        return MN_OK;
    }
    return mn_ckpt_numbers_push(&sweep->found, &sweep->found_count, &sweep->found_capacity,
                                number);
}

static int mn_ckpt_u64_order(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Deletes every pack below `below` that no entry of `index` points into. The caller made the
 * pack holding `index` durable first (renamed, directory synced). A deletion that fails is
 * left for the next checkpoint or open (nothing depends on it). */
static void mn_ckpt_delete_unused(struct mn_durable *d, const mn_ckpt_location *index,
                                  uint64_t count, uint64_t below) {
    const mn_vfs *vfs = mn_ckpt_vfs(d);
    uint64_t *keep = malloc((size_t)(count + 1) * sizeof(uint64_t));
    if (!keep) return;
    for (uint64_t i = 0; i < count; i++) keep[i] = index[i].pack;
    if (count > 1) qsort(keep, (size_t)count, sizeof(uint64_t), mn_ckpt_u64_order);
    mn_ckpt_sweep sweep;
    memset(&sweep, 0, sizeof(sweep));
    sweep.d = d;
    sweep.below = below;
    sweep.keep = keep;
    sweep.keep_count = count;
    char dir[MN_WAL_PATH_BYTES_MAX];
    mn_ckpt_dir(d, dir, sizeof(dir));
    if (vfs->list(vfs->context, dir, mn_ckpt_sweep_entry, &sweep) == MN_OK) {
        for (uint64_t i = 0; i < sweep.found_count; i++) {
            char path[MN_WAL_PATH_BYTES_MAX];
            mn_ckpt_pack_path(d, sweep.found[i], "", path, sizeof(path));
            (void)vfs->unlink(vfs->context, path);
        }
    }
    free(sweep.found);
    free(keep);
}

/* An entry of an older pack copied into this run's pack (compaction). */
typedef struct mn_ckpt_moved {
    mn_ckpt_location from;
    mn_ckpt_location to;          /* pack 0: this run's pack */
} mn_ckpt_moved;

static int mn_ckpt_pack_order(const void *a, const void *b) {
    const mn_ckpt_location *x = a, *y = b;
    if (x->pack != y->pack) return (x->pack > y->pack) - (x->pack < y->pack);
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static int mn_ckpt_moved_order(const void *a, const void *b) {
    const mn_ckpt_moved *x = a, *y = b;
    return (x->from.space_id > y->from.space_id) - (x->from.space_id < y->from.space_id);
}

/* One older pack the registry points into. */
typedef struct mn_ckpt_pack_use {
    uint64_t pack;
    uint64_t live;                /* bytes of the entries the registry points at */
    uint64_t size;                /* the file's size */
    uint64_t first, count;        /* its entries in the snapshot (sorted by pack) */
    int copy;
} mn_ckpt_pack_use;

static int mn_ckpt_use_by_live(const void *a, const void *b) {
    const mn_ckpt_pack_use *x = a, *y = b;
    return (x->live > y->live) - (x->live < y->live);
}

/* Compaction: copies, byte for byte, the entries of the older packs that are mostly dead or
 * that push the number of packs past MN_DURABLE_CHECKPOINT_PACKS_MAX into this run's pack;
 * *moved lists them (sorted by id). Spaces written in this run are skipped (their new entries
 * win anyway). A pack that cannot be sized is left alone. */
static mn_status mn_ckpt_compact(struct mn_durable *d, mn_ckpt_pack_writer *w,
                                 const mn_ckpt_written *written, uint64_t written_count,
                                 mn_ckpt_moved **moved, uint64_t *moved_count) {
    const mn_vfs *vfs = mn_ckpt_vfs(d);
    *moved = NULL;
    *moved_count = 0;
    pthread_mutex_lock(&d->checkpoint_lock);
    uint64_t n = 0;
    mn_ckpt_location *snapshot = malloc((size_t)(d->registry_count + 1) * sizeof(*snapshot));
    for (uint64_t i = 0; snapshot && i < d->registry_capacity; i++) {
        if (d->registry[i].space_id != 0) snapshot[n++] = d->registry[i];
    }
    pthread_mutex_unlock(&d->checkpoint_lock);
    uint64_t *skip = malloc((size_t)(written_count + 1) * sizeof(uint64_t));
    mn_ckpt_pack_use *uses = malloc((size_t)(n + 1) * sizeof(*uses));
    mn_ckpt_moved *out = malloc((size_t)(n + 1) * sizeof(*out));
    uint8_t *buffer = malloc(MN_DURABLE_CHECKPOINT_BUFFER_BYTES);
    mn_status status = snapshot && skip && uses && out && buffer ? MN_OK : MN_ERR_NO_MEMORY;
    uint64_t use_count = 0, out_count = 0;
    if (status == MN_OK) {
        for (uint64_t i = 0; i < written_count; i++) skip[i] = written[i].location.space_id;
        if (written_count > 1) qsort(skip, (size_t)written_count, sizeof(uint64_t), mn_ckpt_u64_order);
        if (n > 1) qsort(snapshot, (size_t)n, sizeof(*snapshot), mn_ckpt_pack_order);
        /* Entries of spaces written in this run are superseded: they do not count as live. */
        uint64_t live_n = 0;
        for (uint64_t i = 0; i < n; i++) {
            if (!mn_ckpt_keeps(skip, written_count, snapshot[i].space_id)) {
                snapshot[live_n++] = snapshot[i];
            }
        }
        n = live_n;
        for (uint64_t i = 0; i < n; i++) {
            if (use_count == 0 || uses[use_count - 1].pack != snapshot[i].pack) {
                uses[use_count++] = (mn_ckpt_pack_use){snapshot[i].pack, 0, 0, i, 0, 0};
            }
            uses[use_count - 1].live += snapshot[i].bytes;
            uses[use_count - 1].count++;
        }
    }
    uint64_t kept = 0;
    for (uint64_t u = 0; status == MN_OK && u < use_count; u++) {
        char path[MN_WAL_PATH_BYTES_MAX];
        mn_ckpt_pack_path(d, uses[u].pack, "", path, sizeof(path));
        int fd = -1;
        if (vfs->open(vfs->context, path, MN_VFS_READ, &fd) != MN_OK) {
            uses[u].size = 0; /* left alone */
            kept++;
            continue;
        }
        if (vfs->size(vfs->context, fd, &uses[u].size) != MN_OK) uses[u].size = 0;
        vfs->close(vfs->context, fd);
        /* Mostly dead, by at least a write buffer: small packs are left to the count rule
         * rather than copied at every checkpoint for their dead index. */
        uint64_t dead = uses[u].size > uses[u].live ? uses[u].size - uses[u].live : 0;
        uses[u].copy = dead > uses[u].live && dead >= MN_DURABLE_CHECKPOINT_DEAD_BYTES_MIN;
        if (!uses[u].copy) kept++;
    }
    if (status == MN_OK && kept > MN_DURABLE_CHECKPOINT_PACKS_MAX) {
        /* Too many: the ones with the fewest live bytes go, down to half the limit. */
        mn_ckpt_pack_use *order = malloc((size_t)(use_count + 1) * sizeof(*order));
        if (order) {
            memcpy(order, uses, (size_t)use_count * sizeof(*order));
            qsort(order, (size_t)use_count, sizeof(*order), mn_ckpt_use_by_live);
            for (uint64_t k = 0; k < use_count && kept > MN_DURABLE_CHECKPOINT_PACKS_MAX / 2; k++) {
                if (order[k].copy || order[k].size == 0) continue;
                for (uint64_t u = 0; u < use_count; u++) {
                    if (uses[u].pack == order[k].pack) uses[u].copy = 1;
                }
                kept--;
            }
            free(order);
        }
    }
    for (uint64_t u = 0; status == MN_OK && u < use_count; u++) {
        if (!uses[u].copy) continue;
        char path[MN_WAL_PATH_BYTES_MAX];
        mn_ckpt_pack_path(d, uses[u].pack, "", path, sizeof(path));
        int fd = -1;
        status = vfs->open(vfs->context, path, MN_VFS_READ, &fd);
        if (status == MN_ERR_NOT_FOUND) status = MN_ERR_IO;
        for (uint64_t i = uses[u].first; status == MN_OK && i < uses[u].first + uses[u].count; i++) {
            const mn_ckpt_location *from = &snapshot[i];
            if (mn_ckpt_keeps(skip, written_count, from->space_id)) continue;
            mn_ckpt_moved *m = &out[out_count];
            m->from = *from;
            m->to = *from;
            m->to.pack = 0;
            m->to.offset = w->offset + w->used;
            uint64_t at = from->offset, left = from->bytes;
            while (status == MN_OK && left > 0) {
                size_t want = left < MN_DURABLE_CHECKPOINT_BUFFER_BYTES
                                  ? (size_t)left
                                  : (size_t)MN_DURABLE_CHECKPOINT_BUFFER_BYTES;
                status = mn_vfs_read_all(vfs, fd, buffer, want, at);
                if (status == MN_ERR_TRUNCATED) status = MN_ERR_CORRUPT;
                if (status == MN_OK) status = mn_ckpt_pack_put(w, buffer, want);
                at += want;
                left -= want;
            }
            if (status == MN_OK) out_count++;
        }
        if (fd >= 0) vfs->close(vfs->context, fd);
    }
    free(buffer);
    free(uses);
    free(skip);
    free(snapshot);
    if (status != MN_OK) {
        free(out);
        return status;
    }
    if (out_count > 1) qsort(out, (size_t)out_count, sizeof(*out), mn_ckpt_moved_order);
    *moved = out;
    *moved_count = out_count;
    return MN_OK;
}

/* The moved entry of `space_id` whose old place is still the registry's, or NULL. */
static const mn_ckpt_moved *mn_ckpt_find_moved(const mn_ckpt_moved *moved, uint64_t count,
                                               const mn_ckpt_location *current) {
    uint64_t lo = 0, hi = count;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (moved[mid].from.space_id == current->space_id) {
            const mn_ckpt_location *from = &moved[mid].from;
            return from->pack == current->pack && from->offset == current->offset &&
                           from->bytes == current->bytes
                       ? &moved[mid]
                       : NULL;
        }
        if (moved[mid].from.space_id < current->space_id) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* Index order: by space id, the newest pack first (the dedupe below keeps it). */
static int mn_ckpt_index_order(const void *a, const void *b) {
    const mn_ckpt_location *x = a, *y = b;
    if (x->space_id != y->space_id) return (x->space_id > y->space_id) - (x->space_id < y->space_id);
    return (x->pack < y->pack) - (x->pack > y->pack);
}

/* Under checkpoint_lock: the registry overlaid with `written` (entries of pack `pack`), minus
 * spaces dropped meanwhile, sorted by id. */
static mn_status mn_ckpt_build_index(struct mn_durable *d, const mn_ckpt_written *written,
                                     uint64_t written_count, const mn_ckpt_moved *moved,
                                     uint64_t moved_count, uint64_t pack,
                                     mn_ckpt_location **out, uint64_t *count) {
    *out = NULL;
    *count = 0;
    mn_ckpt_location *index =
        malloc((size_t)(d->registry_count + written_count + 1) * sizeof(mn_ckpt_location));
    if (!index) return MN_ERR_NO_MEMORY;
    uint64_t n = 0;
    for (uint64_t i = 0; i < d->registry_capacity; i++) {
        if (d->registry[i].space_id == 0) continue;
        index[n] = d->registry[i];
        const mn_ckpt_moved *m = mn_ckpt_find_moved(moved, moved_count, &d->registry[i]);
        if (m) { /* copied into this pack by compaction */
            index[n] = m->to;
            index[n].pack = pack;
        }
        n++;
    }
    for (uint64_t i = 0; i < written_count; i++) {
        if (written[i].space->checkpoint_dead) continue; /* dropped: not in the registry */
        index[n] = written[i].location;
        index[n].pack = pack;
        n++;
    }
    if (n > 1) qsort(index, (size_t)n, sizeof(*index), mn_ckpt_index_order);
    uint64_t kept = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (kept > 0 && index[kept - 1].space_id == index[i].space_id) continue;
        index[kept++] = index[i];
    }
    *out = index;
    *count = kept;
    return MN_OK;
}

/* Publishes one finished run to the counters mn_engine_durable_stats reads (the caller holds
 * checkpoint_run, so each is stored by one thread at a time). A background run stopped by
 * close (MN_ERR_CLOSED) is neither a checkpoint nor a failure. */
static void mn_ckpt_count(struct mn_durable *d, mn_status status, int64_t started_ns,
                          uint64_t mark) {
    if (status == MN_OK) {
        int64_t now = mn_engine_now_ns();
        atomic_store_explicit(&d->checkpoint_last_ns,
                              now > started_ns ? (uint64_t)(now - started_ns) : 0,
                              memory_order_relaxed);
        atomic_store_explicit(&d->checkpoint_last_unix_ns, now, memory_order_relaxed);
        atomic_store_explicit(&d->checkpoint_mark_bytes, mark, memory_order_relaxed);
        atomic_fetch_add_explicit(&d->checkpoints_done, 1, memory_order_relaxed);
    } else if (status != MN_ERR_CLOSED) {
        atomic_fetch_add_explicit(&d->checkpoint_failures, 1, memory_order_relaxed);
    }
}

/* The whole checkpoint; the caller holds checkpoint_run. */
static mn_status mn_ckpt_run_locked(struct mn_engine *engine, int background,
                                    mn_checkpoint_report *report) {
    struct mn_durable *d = engine->durable;
    const mn_vfs *vfs = mn_ckpt_vfs(d);
    uint64_t cut[MN_DURABLE_LOGS_MAX];
    mn_ckpt_list list = {NULL, 0};
    mn_ckpt_written *written = NULL;
    uint64_t written_count = 0;
    mn_ckpt_location *index = NULL;
    uint64_t index_count = 0, pack = 0;
    mn_ckpt_pack_writer w;
    memset(&w, 0, sizeof(w));
    w.fd = -1;
    int pack_open = 0, renamed = 0;
    char dir[MN_WAL_PATH_BYTES_MAX], tmp[MN_WAL_PATH_BYTES_MAX], final[MN_WAL_PATH_BYTES_MAX];
    mn_ckpt_dir(d, dir, sizeof(dir));
    snprintf(tmp, sizeof(tmp), "%s/spaces/checkpoint.pack.tmp", d->path); /* one at a time */
    int64_t started_ns = mn_engine_now_ns();
    mn_status status = vfs->mkdir(vfs->context, dir);
    uint64_t mark = atomic_load_explicit(&d->logged_bytes, memory_order_relaxed);

    /* 1. The cut and the space list, with no creation between its record and the table. */
    pthread_rwlock_wrlock(&d->create_lock);
    for (uint32_t i = 0; i < d->log_count && status == MN_OK; i++) {
        mn_wal_position position;
        status = mn_wal_position_get(d->logs[i].wal, &position);
        cut[i] = position.segment;
    }
    pthread_mutex_lock(&engine->table_lock);
    if (status == MN_OK) {
        list.spaces = malloc((size_t)(engine->space_count + 1) * sizeof(struct mn_space *));
        if (!list.spaces) status = MN_ERR_NO_MEMORY;
    }
    for (uint64_t b = 0; status == MN_OK && b < engine->bucket_count; b++) {
        for (struct mn_space *space = engine->buckets[b]; space; space = space->table_next) {
            mn_space_acquire(space);
            list.spaces[list.count++] = space;
        }
    }
    pthread_mutex_unlock(&engine->table_lock);
    pthread_rwlock_unlock(&d->create_lock);
    if (status == MN_OK) {
        written = malloc((list.count + 1) * sizeof(*written));
        if (!written) status = MN_ERR_NO_MEMORY;
    }

    /* 2. The changed spaces, frozen a batch at a time, appended to the pack. */
    size_t next = 0;
    while (next < list.count && status == MN_OK) {
        if (background && mn_ckpt_stopping(d)) {
            status = MN_ERR_CLOSED;
            break;
        }
        mn_space_freeze *freezes[MN_DURABLE_CHECKPOINT_FREEZE_BATCH];
        struct mn_space *frozen[MN_DURABLE_CHECKPOINT_FREEZE_BATCH];
        uint64_t enqueued[MN_DURABLE_CHECKPOINT_FREEZE_BATCH];
        uint32_t n = 0;
        while (next < list.count && n < MN_DURABLE_CHECKPOINT_FREEZE_BATCH && status == MN_OK) {
            struct mn_space *space = list.spaces[next++];
            pthread_mutex_lock(&d->checkpoint_lock);
            int needed = !space->checkpoint_dead &&
                         (!space->checkpointed ||
                          space->checkpoint_enqueued !=
                              atomic_load_explicit(&space->enqueue_pos, memory_order_acquire));
            pthread_mutex_unlock(&d->checkpoint_lock);
            if (!needed) {
                report->spaces_unchanged++;
                continue;
            }
            /* Every op queued before the marker is in the entry; enqueue_pos equal to this
             * plus one later means nothing was queued after the marker (nor between). */
            enqueued[n] = atomic_load_explicit(&space->enqueue_pos, memory_order_acquire);
            mn_status begun = mn_space_freeze_begin(space, &freezes[n]);
            if (begun == MN_ERR_UNKNOWN_SPACE) continue; /* dropped: nothing to keep */
            if (begun != MN_OK) {
                status = begun;
                break;
            }
            frozen[n++] = space;
        }
        if (n > 0 && !pack_open && status == MN_OK) {
            status = mn_ckpt_pack_open(d, tmp, &w);
            pack_open = 1;
        }
        for (uint32_t k = 0; k < n; k++) { /* every frozen space is resumed, even on failure */
            mn_status one = mn_space_freeze_wait(freezes[k]);
            if (one == MN_OK && status == MN_OK) {
                one = mn_ckpt_pack_entry(d, &w, frozen[k], &written[written_count].location);
                if (one == MN_OK) {
                    written[written_count].space = frozen[k];
                    written[written_count].enqueued = enqueued[k];
                    written_count++;
                }
            }
            if (one == MN_ERR_UNKNOWN_SPACE) one = MN_OK; /* dropped before its marker */
            if (one != MN_OK && status == MN_OK) status = one;
            mn_space_freeze_end(freezes[k]);
        }
    }

    /* 2b. Compaction, when a pack is being written anyway. */
    mn_ckpt_moved *moved = NULL;
    uint64_t moved_count = 0;
    if (status == MN_OK && written_count > 0) {
        status = mn_ckpt_compact(d, &w, written, written_count, &moved, &moved_count);
    }

    /* 3. The index: this pack's entries over the registry; written, synced, renamed. */
    if (status == MN_OK) {
        pthread_mutex_lock(&d->checkpoint_lock);
        if (written_count > 0 || d->registry_dirty) {
            pack = d->next_pack++;
            status = mn_ckpt_build_index(d, written, written_count, moved, moved_count, pack,
                                         &index, &index_count);
            if (status == MN_OK) d->registry_dirty = 0; /* set again below on failure */
        }
        pthread_mutex_unlock(&d->checkpoint_lock);
    }
    if (status == MN_OK && index) {
        if (!pack_open) {
            status = mn_ckpt_pack_open(d, tmp, &w);
            pack_open = 1;
        }
        if (status == MN_OK) {
            status = mn_ckpt_pack_finish(d, &w, MN_PACK_KIND_FULL, index, index_count, pack);
        }
        uint64_t bytes = w.offset;
        mn_ckpt_pack_close(&w);
        mn_ckpt_pack_path(d, pack, "", final, sizeof(final));
        if (status == MN_OK) {
            pthread_mutex_lock(&d->checkpoint_lock);
            status = mn_ckpt_reg_reserve(d, written_count);
            if (status == MN_OK) status = vfs->rename(vfs->context, tmp, final);
            if (status == MN_OK) {
                renamed = 1;
                d->index_pack = pack;
                for (uint64_t i = 0; i < written_count; i++) {
                    struct mn_space *space = written[i].space;
                    if (space->checkpoint_dead) continue; /* dropped meanwhile */
                    mn_ckpt_location location = written[i].location;
                    location.pack = pack;
                    mn_status put = mn_ckpt_reg_put(d, &location);
                    MN_ASSERT(put == MN_OK); /* reserved above */
                    space->checkpointed = 1;
                    space->checkpoint_enqueued = written[i].enqueued + 1; /* + the marker */
                    report->spaces_written++;
                }
                for (uint64_t i = 0; i < moved_count; i++) {
                    mn_ckpt_location *current = mn_ckpt_reg_find(d, moved[i].from.space_id);
                    if (!current || !mn_ckpt_find_moved(&moved[i], 1, current)) continue;
                    *current = moved[i].to; /* unchanged since the copy: now in this pack */
                    current->pack = pack;
                }
                report->bytes_written += bytes;
            }
            pthread_mutex_unlock(&d->checkpoint_lock);
        }
        if (!renamed) {
            pthread_mutex_lock(&d->checkpoint_lock);
            d->registry_dirty = 1; /* this index never made it: the next run writes one */
            pthread_mutex_unlock(&d->checkpoint_lock);
        }
    }
    if (pack_open) mn_ckpt_pack_close(&w);
    if (pack_open && !renamed) (void)vfs->unlink(vfs->context, tmp);
    for (size_t i = 0; i < list.count; i++) mn_space_release(list.spaces[i]);
    free(list.spaces);
    free(written);
    free(moved);

    /* 4. Durable, then delete. The directory is synced even when this run renamed nothing: an
     * earlier run's rename whose directory sync failed (that run returned the error, but its
     * spaces count as checkpointed) is made durable here, before the log that holds their
     * records is deleted. */
    if (status == MN_OK) status = vfs->sync_dir(vfs->context, dir);
    for (uint32_t i = 0; i < d->log_count && status == MN_OK; i++) {
        uint32_t deleted = 0;
        status = mn_wal_delete_before(d->logs[i].wal, cut[i], &deleted);
        report->segments_deleted += deleted;
    }
    /* Logs of an earlier open with more workers: all their records predate this open. */
    for (uint32_t i = d->log_count; i < MN_DURABLE_LOGS_MAX && status == MN_OK; i++) {
        if (!d->stale_logs[i]) continue;
        uint32_t deleted = 0;
        status = mn_replay_delete_log(d, i, &deleted);
        report->segments_deleted += deleted;
        if (status == MN_OK) d->stale_logs[i] = 0;
    }
    if (status == MN_OK && renamed) mn_ckpt_delete_unused(d, index, index_count, pack);
    free(index);
    if (status == MN_OK) d->checkpoint_mark = mark;
    mn_ckpt_count(d, status, started_ns, mark);
    return status;
}

mn_status mn_ckpt_run_at_open(struct mn_engine *engine, mn_checkpoint_report *report) {
    struct mn_durable *d = engine->durable;
    memset(report, 0, sizeof(*report));
    pthread_mutex_lock(&d->checkpoint_run);
    mn_status status = mn_ckpt_run_locked(engine, 0, report);
    pthread_mutex_unlock(&d->checkpoint_run);
    return status;
}

mn_status mn_engine_checkpoint(mn_engine *engine, mn_checkpoint_report *report) {
    mn_checkpoint_report scratch;
    if (!report) report = &scratch;
    memset(report, 0, sizeof(*report));
    if (!engine) return MN_ERR_INVALID;
    struct mn_durable *d = engine->durable;
    if (!d) return MN_OK;
    if (atomic_load_explicit(&engine->closed, memory_order_acquire)) return MN_ERR_CLOSED;
    if (!atomic_load_explicit(&d->logging, memory_order_acquire)) return MN_ERR_CLOSED;
    pthread_mutex_lock(&d->checkpoint_run);
    mn_status status = mn_ckpt_run_locked(engine, 0, report);
    pthread_mutex_unlock(&d->checkpoint_run);
    return status;
}

/* ---- drops and imports ---- */

mn_status mn_ckpt_remove(struct mn_durable *d, uint64_t space_id) {
    pthread_mutex_lock(&d->checkpoint_lock);
    mn_ckpt_reg_remove(d, space_id);
    d->registry_dirty = 1; /* the next index leaves it out */
    pthread_mutex_unlock(&d->checkpoint_lock);
    return MN_OK;
}

void mn_ckpt_forget_locked(struct mn_durable *d, struct mn_space *space) {
    space->checkpoint_dead = 1;
    space->checkpointed = 0;
    mn_ckpt_reg_remove(d, space->space_id);
    d->registry_dirty = 1;
}

mn_status mn_ckpt_publish_imported(struct mn_engine *engine, struct mn_space *space,
                                   struct mn_space **out) {
    struct mn_durable *d = engine->durable;
    MN_ASSERT(d && "the WAL table's hooks run only on an engine it was chosen for");
    space->checkpoint_enqueued = 0;
    space->checkpointed = 0;
    space->checkpoint_dead = 0;
    if (mn_ckpt_loading_id != 0) {
        space->space_id = mn_ckpt_loading_id; /* loading a checkpoint (recovery or lazily) */
        return mn_engine_space_publish(engine, space, out);
    }
    if (mn_lazy_stub_exists(engine, space->name, space->name_bytes)) return MN_ERR_DUPLICATE;
    /* A new id, and the space's entry on disk (a delta pack of its own) before anyone can
     * write to it: a write logged under the id then always has its entry at recovery. */
    space->space_id = atomic_fetch_add_explicit(&d->next_space_id, 1, memory_order_relaxed);
    const mn_vfs *vfs = mn_ckpt_vfs(d);
    char dir[MN_WAL_PATH_BYTES_MAX], tmp[MN_WAL_PATH_BYTES_MAX], final[MN_WAL_PATH_BYTES_MAX];
    mn_ckpt_dir(d, dir, sizeof(dir));
    snprintf(tmp, sizeof(tmp), "%s/spaces/import-%016llx.tmp", d->path,
             (unsigned long long)space->space_id);
    final[0] = '\0';
    mn_ckpt_pack_writer w;
    mn_ckpt_location location;
    memset(&location, 0, sizeof(location));
    uint64_t enqueued = atomic_load_explicit(&space->enqueue_pos, memory_order_acquire);
    memset(&w, 0, sizeof(w));
    w.fd = -1;
    mn_status status = vfs->mkdir(vfs->context, dir);
    if (status == MN_OK) status = mn_ckpt_pack_open(d, tmp, &w);
    mn_space_freeze *freeze = NULL;
    if (status == MN_OK) status = mn_space_freeze_begin(space, &freeze);
    if (status == MN_OK) {
        status = mn_space_freeze_wait(freeze);
        if (status == MN_OK) status = mn_ckpt_pack_entry(d, &w, space, &location);
        mn_space_freeze_end(freeze);
    }
    if (status == MN_OK) status = mn_ckpt_pack_finish(d, &w, MN_PACK_KIND_DELTA, &location, 1, 0);
    mn_ckpt_pack_close(&w);
    int renamed = 0;
    if (status == MN_OK) {
        pthread_mutex_lock(&d->checkpoint_lock);
        status = mn_ckpt_reg_reserve(d, 1);
        uint64_t pack = d->next_pack;
        mn_ckpt_pack_path(d, pack, "", final, sizeof(final));
        /* Numbered at the rename: an index built before it cannot name this space, and the
         * delta pack is numbered above that index's pack, so recovery reads it too. */
        if (status == MN_OK) status = vfs->rename(vfs->context, tmp, final);
        if (status == MN_OK) {
            renamed = 1;
            d->next_pack++;
            location.pack = pack;
            mn_status put = mn_ckpt_reg_put(d, &location);
            MN_ASSERT(put == MN_OK); /* reserved above */
            space->checkpointed = 1;
            space->checkpoint_enqueued = enqueued + 1; /* + the marker */
            d->registry_dirty = 1; /* the next index takes it over */
        }
        pthread_mutex_unlock(&d->checkpoint_lock);
    }
    if (!renamed) (void)vfs->unlink(vfs->context, tmp);
    if (status == MN_OK) status = vfs->sync_dir(vfs->context, dir);
    if (status == MN_OK) status = mn_engine_space_publish(engine, space, out);
    if (status != MN_OK && renamed) {
        pthread_mutex_lock(&d->checkpoint_lock);
        mn_ckpt_forget_locked(d, space);
        pthread_mutex_unlock(&d->checkpoint_lock);
        /* Never published: its pack must not bring it back at recovery. */
        if (vfs->unlink(vfs->context, final) == MN_OK) (void)vfs->sync_dir(vfs->context, dir);
    }
    return status;
}

/* ---- recovery ---- */

/* Checks an entry header read into h[0 .. got) of an entry of `bytes` bytes that the index
 * gives to `space_id`, and fills *out. */
static mn_status mn_ckpt_check_entry(const uint8_t *h, size_t got, uint64_t bytes,
                                     uint64_t space_id, mn_checkpoint_loaded *out) {
    if (got < MN_CKPT_HEADER_SIZE) return MN_ERR_CORRUPT;
    if (memcmp(h + MN_CKPT_MAGIC, mn_ckpt_magic, 8) != 0) return MN_ERR_CORRUPT;
    uint32_t version = mn_get_u32(h + MN_CKPT_VERSION);
    if (version != MN_CKPT_VERSION_2 && version != MN_CKPT_VERSION_3 &&
        version != MN_CKPT_VERSION_4) {
        return MN_ERR_VERSION;
    }
    uint32_t name_bytes = mn_get_u32(h + MN_CKPT_NAME_BYTES);
    uint64_t stream_bytes = mn_get_u64(h + MN_CKPT_STREAM_BYTES);
    if (name_bytes == 0 || name_bytes > MN_ENGINE_NAME_BYTES_MAX ||
        MN_CKPT_HEADER_SIZE + (uint64_t)name_bytes > (uint64_t)got || stream_bytes > bytes ||
        MN_CKPT_HEADER_SIZE + name_bytes + stream_bytes != bytes ||
        mn_ckpt_header_hash(h, (const char *)h + MN_CKPT_HEADER_SIZE, name_bytes) !=
            mn_get_u64(h + MN_CKPT_HEADER_HASH) ||
        mn_get_u64(h + MN_CKPT_SPACE_ID) != space_id || space_id == 0 ||
        mn_get_u64(h + MN_CKPT_SEQUENCE) > MN_ENGINE_SEQUENCE_MAX) {
        return MN_ERR_CORRUPT; /* (a sequence past the limit would wrap at the next write) */
    }
    out->space_id = space_id;
    out->sequence = mn_get_u64(h + MN_CKPT_SEQUENCE);
    out->next_space_id = mn_get_u64(h + MN_CKPT_NEXT_SPACE_ID);
    out->replayed = 0;
    out->space = NULL;
    out->dropped = 0;
    out->name_bytes = name_bytes;
    memcpy(out->name, h + MN_CKPT_HEADER_SIZE, name_bytes);
    out->name[name_bytes] = '\0';
    return MN_OK;
}

/* XXH64 of `bytes` bytes of fd from `offset` (read in bounded chunks into `buffer`). */
static mn_status mn_ckpt_hash_range(const mn_vfs *vfs, int fd, uint64_t offset, uint64_t bytes,
                                    uint8_t *buffer, XXH64_state_t *state, uint64_t *out) {
    XXH64_reset(state, 0);
    while (bytes > 0) {
        size_t want = bytes < MN_DURABLE_CHECKPOINT_BUFFER_BYTES
                          ? (size_t)bytes
                          : (size_t)MN_DURABLE_CHECKPOINT_BUFFER_BYTES;
        mn_status status = mn_vfs_read_all(vfs, fd, buffer, want, offset);
        if (status == MN_ERR_TRUNCATED) return MN_ERR_CORRUPT; /* shorter than its index says */
        if (status != MN_OK) return status;
        XXH64_update(state, buffer, want);
        offset += want;
        bytes -= want;
    }
    *out = XXH64_digest(state);
    return MN_OK;
}

/* What an open finds in spaces/. */
typedef struct mn_ckpt_scan {
    uint64_t *packs;
    uint64_t pack_count, pack_capacity;
    char **tmps;                  /* leftovers to delete */
    uint64_t tmp_count, tmp_capacity;
    char old[64];                 /* a version 1 checkpoint file's name, if any */
} mn_ckpt_scan;

static mn_status mn_ckpt_scan_entry(void *context, const char *name) {
    mn_ckpt_scan *scan = context;
    size_t n = strlen(name);
    uint64_t number = 0;
    int tmp = 0;
    if (n > 4 && n <= 100 && strcmp(name + n - 4, ".tmp") == 0) {
        if (scan->tmp_count == scan->tmp_capacity) {
            uint64_t capacity = scan->tmp_capacity ? scan->tmp_capacity * 2 : 8;
            char **grown = realloc(scan->tmps, (size_t)capacity * sizeof(char *));
            if (!grown) return MN_ERR_NO_MEMORY;
            scan->tmps = grown;
            scan->tmp_capacity = capacity;
        }
        char *copy = strdup(name);
        if (!copy) return MN_ERR_NO_MEMORY;
        scan->tmps[scan->tmp_count++] = copy;
        return MN_OK;
    }
    if (n > 5 && strcmp(name + n - 5, ".ckpt") == 0) {
        if (scan->old[0] == '\0') snprintf(scan->old, sizeof(scan->old), "%s", name);
        return MN_OK;
    }
    if (!mn_ckpt_pack_name(name, &number, &tmp) || tmp) return MN_OK;
    return mn_ckpt_numbers_push(&scan->packs, &scan->pack_count, &scan->pack_capacity, number);
}

/* A pack header's fields (mn_ckpt_pack_header). */
typedef struct mn_ckpt_pack_info {
    uint32_t kind;
    uint64_t index_at, count, next_id, index_hash;
} mn_ckpt_pack_info;

/* Reads and checks a pack's header into *info. */
static mn_status mn_ckpt_pack_header(const mn_vfs *vfs, int fd, mn_ckpt_pack_info *info) {
    uint8_t h[MN_PACK_HEADER_SIZE];
    uint64_t size = 0;
    mn_status status = vfs->size(vfs->context, fd, &size);
    if (status != MN_OK) return status;
    status = mn_vfs_read_all(vfs, fd, h, sizeof(h), 0);
    if (status == MN_ERR_TRUNCATED) return MN_ERR_CORRUPT;
    if (status != MN_OK) return status;
    if (memcmp(h + MN_PACK_MAGIC, mn_ckpt_pack_magic, 8) != 0) return MN_ERR_CORRUPT;
    if (mn_get_u32(h + MN_PACK_VERSION) != MN_PACK_VERSION_2) return MN_ERR_VERSION;
    if (XXH64(h, MN_PACK_HEADER_HASH, 0) != mn_get_u64(h + MN_PACK_HEADER_HASH)) {
        return MN_ERR_CORRUPT;
    }
    info->kind = mn_get_u32(h + MN_PACK_KIND);
    info->index_at = mn_get_u64(h + MN_PACK_INDEX_OFFSET);
    info->count = mn_get_u64(h + MN_PACK_INDEX_COUNT);
    info->next_id = mn_get_u64(h + MN_PACK_NEXT_SPACE_ID);
    info->index_hash = mn_get_u64(h + MN_PACK_INDEX_HASH);
    if ((info->kind != MN_PACK_KIND_FULL && info->kind != MN_PACK_KIND_DELTA) ||
        mn_get_u64(h + MN_PACK_RESERVED) != 0 || info->index_at < MN_PACK_HEADER_SIZE ||
        info->index_at > size || info->count > (size - info->index_at) / MN_PACK_IX_SIZE ||
        info->index_at + info->count * MN_PACK_IX_SIZE != size) {
        return MN_ERR_CORRUPT;
    }
    return MN_OK;
}

/* 1 when `pack` is one of the sorted `packs`. */
static int mn_ckpt_has_pack(const mn_ckpt_scan *scan, uint64_t pack) {
    return mn_ckpt_keeps(scan->packs, scan->pack_count, pack);
}

/* Puts pack `number`'s index into the registry (later packs override earlier ones). */
static mn_status mn_ckpt_read_index(struct mn_durable *d, const mn_ckpt_scan *scan, int fd,
                                    uint64_t number, uint64_t index_at, uint64_t count,
                                    uint64_t index_hash) {
    const mn_vfs *vfs = mn_ckpt_vfs(d);
    uint8_t *items = malloc((size_t)(count * MN_PACK_IX_SIZE + 1));
    if (!items) return MN_ERR_NO_MEMORY;
    mn_status status = mn_vfs_read_all(vfs, fd, items, (size_t)(count * MN_PACK_IX_SIZE),
                                       index_at);
    if (status == MN_ERR_TRUNCATED) status = MN_ERR_CORRUPT;
    if (status == MN_OK && XXH64(items, (size_t)(count * MN_PACK_IX_SIZE), 0) != index_hash) {
        status = MN_ERR_CORRUPT;
    }
    uint64_t previous = 0;
    for (uint64_t i = 0; i < count && status == MN_OK; i++) {
        const uint8_t *item = items + i * MN_PACK_IX_SIZE;
        mn_ckpt_location location = {
            .space_id = mn_get_u64(item + MN_PACK_IX_SPACE_ID),
            .pack = mn_get_u64(item + MN_PACK_IX_PACK),
            .offset = mn_get_u64(item + MN_PACK_IX_OFFSET),
            .bytes = mn_get_u64(item + MN_PACK_IX_BYTES),
        };
        if (location.pack == 0) location.pack = number;
        if (location.space_id <= previous || location.pack > number ||
            !mn_ckpt_has_pack(scan, location.pack) || location.offset < MN_PACK_HEADER_SIZE ||
            location.bytes <= MN_CKPT_HEADER_SIZE ||
            location.bytes > MN_DURABLE_CHECKPOINT_BYTES_MAX ||
            location.offset > MN_DURABLE_CHECKPOINT_BYTES_MAX) {
            status = MN_ERR_CORRUPT; /* out of order, or pointing at no pack */
            break;
        }
        previous = location.space_id;
        status = mn_ckpt_reg_put(d, &location);
    }
    free(items);
    return status;
}

/* Open handles of the packs an open reads, by position in the sorted scan. */
typedef struct mn_ckpt_handles {
    const mn_vfs *vfs;
    int *fds;
    uint64_t count;
} mn_ckpt_handles;

static mn_status mn_ckpt_handle(struct mn_durable *d, const mn_ckpt_scan *scan,
                                mn_ckpt_handles *handles, uint64_t pack, int *fd) {
    uint64_t lo = 0, hi = scan->pack_count;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (scan->packs[mid] < pack) lo = mid + 1;
        else hi = mid;
    }
    MN_ASSERT(lo < scan->pack_count && scan->packs[lo] == pack); /* checked by read_index */
    if (handles->fds[lo] < 0) {
        char path[MN_WAL_PATH_BYTES_MAX];
        mn_ckpt_pack_path(d, pack, "", path, sizeof(path));
        mn_status status = handles->vfs->open(handles->vfs->context, path, MN_VFS_READ,
                                              &handles->fds[lo]);
        if (status != MN_OK) {
            handles->fds[lo] = -1;
            return status == MN_ERR_NOT_FOUND ? MN_ERR_IO : status;
        }
    }
    *fd = handles->fds[lo];
    return MN_OK;
}

/* The handle of `pack` (opened on first use) and its checked header. */
static mn_status mn_ckpt_pack_read_header(struct mn_durable *d, const mn_ckpt_scan *scan,
                                          mn_ckpt_handles *handles, uint64_t pack, int *fd,
                                          mn_ckpt_pack_info *info) {
    mn_status status = mn_ckpt_handle(d, scan, handles, pack, fd);
    if (status != MN_OK) return status;
    return mn_ckpt_pack_header(handles->vfs, *fd, info);
}

static int mn_ckpt_loaded_order(const void *a, const void *b) {
    const mn_checkpoint_loaded *x = a, *y = b;
    return (x->space_id > y->space_id) - (x->space_id < y->space_id);
}

static void mn_ckpt_scan_free(mn_ckpt_scan *scan) {
    for (uint64_t i = 0; i < scan->tmp_count; i++) free(scan->tmps[i]);
    free(scan->tmps);
    free(scan->packs);
}

mn_status mn_ckpt_load_all(struct mn_engine *engine, mn_checkpoint_loaded **out,
                           size_t *count, uint64_t *max_id, mn_durable_report *report) {
    struct mn_durable *d = engine->durable;
    const mn_vfs *vfs = mn_ckpt_vfs(d);
    *out = NULL;
    *count = 0;
    char dir[MN_WAL_PATH_BYTES_MAX], path[MN_WAL_PATH_BYTES_MAX];
    mn_ckpt_dir(d, dir, sizeof(dir));
    mn_ckpt_scan scan;
    memset(&scan, 0, sizeof(scan));
    mn_status status = vfs->list(vfs->context, dir, mn_ckpt_scan_entry, &scan);
    if (status == MN_ERR_NOT_FOUND) return MN_OK;
    if (status == MN_OK && scan.old[0] != '\0') {
        snprintf(report->damaged_file, sizeof(report->damaged_file), "%s/spaces/%.63s", d->path,
                 scan.old);
        report->damaged_offset = 0;
        status = MN_ERR_VERSION; /* a version 1 checkpoint: not read (see the file's top) */
    }
    for (uint64_t i = 0; status == MN_OK && i < scan.tmp_count; i++) {
        /* never reached its rename */
        snprintf(path, sizeof(path), "%s/spaces/%.100s", d->path, scan.tmps[i]);
        mn_status removed = vfs->unlink(vfs->context, path);
        if (removed != MN_OK && removed != MN_ERR_NOT_FOUND) status = removed;
    }
    if (status != MN_OK || scan.pack_count == 0) {
        mn_ckpt_scan_free(&scan);
        return status;
    }
    qsort(scan.packs, (size_t)scan.pack_count, sizeof(uint64_t), mn_ckpt_u64_order);
    d->next_pack = scan.packs[scan.pack_count - 1] + 1;
    mn_ckpt_handles handles = {vfs, calloc((size_t)scan.pack_count, sizeof(int)),
                               scan.pack_count};
    if (!handles.fds) status = MN_ERR_NO_MEMORY;
    for (uint64_t i = 0; handles.fds && i < scan.pack_count; i++) handles.fds[i] = -1;

    /* The newest full pack, and the delta packs above it (imports since), oldest first. */
    uint64_t first = scan.pack_count; /* position of the newest full pack, or of the first
                                       * delta when there is none */
    uint64_t full = 0;                /* its number, 0: none */
    uint64_t damaged_pack = 0;
    for (uint64_t p = scan.pack_count; status == MN_OK && p-- > 0;) {
        int fd = -1;
        mn_ckpt_pack_info info = {0};
        status = mn_ckpt_pack_read_header(d, &scan, &handles, scan.packs[p], &fd, &info);
        if (status != MN_OK) {
            damaged_pack = scan.packs[p];
            break;
        }
        if (info.next_id > 0 && info.next_id - 1 > *max_id) *max_id = info.next_id - 1;
        first = p;
        if (info.kind == MN_PACK_KIND_FULL) {
            full = scan.packs[p];
            break;
        }
    }
    for (uint64_t p = first; status == MN_OK && p < scan.pack_count; p++) {
        int fd = -1;
        mn_ckpt_pack_info info = {0};
        status = mn_ckpt_pack_read_header(d, &scan, &handles, scan.packs[p], &fd, &info);
        if (status == MN_OK) {
            status = mn_ckpt_read_index(d, &scan, fd, scan.packs[p], info.index_at, info.count,
                                        info.index_hash);
        }
        if (status != MN_OK) damaged_pack = scan.packs[p];
    }
    d->index_pack = full;

    /* Every entry: header and stream checksum (read, not imported). */
    mn_checkpoint_loaded *loaded = NULL;
    uint8_t *buffer = malloc(MN_DURABLE_CHECKPOINT_BUFFER_BYTES);
    XXH64_state_t *state = XXH64_createState();
    if (status == MN_OK) {
        loaded = malloc((size_t)(d->registry_count + 1) * sizeof(*loaded));
        if (!loaded || !buffer || !state) status = MN_ERR_NO_MEMORY;
    }
    for (uint64_t i = 0; status == MN_OK && i < d->registry_capacity; i++) {
        const mn_ckpt_location *location = &d->registry[i];
        if (location->space_id == 0) continue;
        int fd = -1;
        status = mn_ckpt_handle(d, &scan, &handles, location->pack, &fd);
        if (status != MN_OK) break;
        uint8_t h[MN_CKPT_HEADER_SIZE + MN_ENGINE_NAME_BYTES_MAX];
        size_t want = location->bytes < sizeof(h) ? (size_t)location->bytes : sizeof(h);
        status = mn_vfs_read_all(vfs, fd, h, want, location->offset);
        if (status == MN_ERR_TRUNCATED) status = MN_ERR_CORRUPT;
        mn_checkpoint_loaded *entry = &loaded[*count];
        if (status == MN_OK) {
            status = mn_ckpt_check_entry(h, want, location->bytes, location->space_id, entry);
        }
        uint64_t stream_at = location->offset + MN_CKPT_HEADER_SIZE + entry->name_bytes;
        uint64_t digest = 0;
        if (status == MN_OK) {
            status = mn_ckpt_hash_range(vfs, fd, stream_at,
                                        location->bytes - MN_CKPT_HEADER_SIZE - entry->name_bytes,
                                        buffer, state, &digest);
        }
        if (status == MN_OK && digest != mn_get_u64(h + MN_CKPT_STREAM_HASH)) {
            status = MN_ERR_CORRUPT;
        }
        if (status != MN_OK) {
            damaged_pack = location->pack;
            report->damaged_offset = location->offset;
            break;
        }
        uint64_t next = entry->next_space_id; /* ids are never given out twice */
        if (entry->space_id > *max_id) *max_id = entry->space_id;
        if (next > 0 && next - 1 > *max_id) *max_id = next - 1;
        (*count)++;
        report->checkpoints++;
    }
    free(buffer);
    if (state) XXH64_freeState(state);
    for (uint64_t i = 0; handles.fds && i < handles.count; i++) {
        if (handles.fds[i] >= 0) vfs->close(vfs->context, handles.fds[i]);
    }
    free(handles.fds);
    if ((status == MN_ERR_CORRUPT || status == MN_ERR_VERSION) && damaged_pack != 0) {
        mn_ckpt_pack_path(d, damaged_pack, "", report->damaged_file, sizeof(report->damaged_file));
    }
    /* Packs below the newest full one that it does not point into: leftovers of a crash
     * between a checkpoint's rename and its deletions. The directory is synced first, so the
     * newest index is durable before anything it replaced goes. */
    if (status == MN_OK && full != 0) {
        mn_ckpt_location *index = malloc((size_t)(d->registry_count + 1) * sizeof(*index));
        uint64_t n = 0;
        if (!index) status = MN_ERR_NO_MEMORY;
        for (uint64_t i = 0; index && i < d->registry_capacity; i++) {
            if (d->registry[i].space_id != 0) index[n++] = d->registry[i];
        }
        if (status == MN_OK) status = vfs->sync_dir(vfs->context, dir);
        if (status == MN_OK) mn_ckpt_delete_unused(d, index, n, full);
        free(index);
    }
    mn_ckpt_scan_free(&scan);
    if (status != MN_OK) {
        free(loaded);
        *count = 0;
        return status;
    }
    if (*count > 1) qsort(loaded, *count, sizeof(*loaded), mn_ckpt_loaded_order);
    *out = loaded;
    return MN_OK;
}

mn_status mn_ckpt_load_space(struct mn_engine *engine, mn_checkpoint_loaded *entry,
                             mn_durable_report *report) {
    struct mn_durable *d = engine->durable;
    const mn_vfs *vfs = mn_ckpt_vfs(d);
    entry->space = NULL;
    mn_ckpt_location location;
    char path[MN_WAL_PATH_BYTES_MAX];
    int fd = -1;
    mn_status status = MN_ERR_NOT_FOUND;
    /* A checkpoint may move the entry (compaction) and delete its old pack between the
     * lookup and the open: the registry then names the new place, so look again. */
    for (int attempt = 0; attempt < 8 && status == MN_ERR_NOT_FOUND; attempt++) {
        pthread_mutex_lock(&d->checkpoint_lock);
        const mn_ckpt_location *found = mn_ckpt_reg_find(d, entry->space_id);
        if (found) location = *found;
        pthread_mutex_unlock(&d->checkpoint_lock);
        if (!found) return MN_ERR_CORRUPT; /* a stub or a recovered entry is registered */
        mn_ckpt_pack_path(d, location.pack, "", path, sizeof(path));
        status = vfs->open(vfs->context, path, MN_VFS_READ, &fd);
    }
    if (status == MN_ERR_NOT_FOUND) status = MN_ERR_IO;
    uint64_t damage = location.offset;
    uint8_t *data = NULL;
    if (status == MN_OK) {
        data = malloc((size_t)location.bytes);
        if (!data) status = MN_ERR_NO_MEMORY;
    }
    /* Only this space's entry is read: one pread of its bytes. */
    if (status == MN_OK) status = mn_vfs_read_all(vfs, fd, data, (size_t)location.bytes,
                                                  location.offset);
    if (fd >= 0) vfs->close(vfs->context, fd);
    if (status == MN_ERR_TRUNCATED) status = MN_ERR_CORRUPT;
    mn_checkpoint_loaded header;
    if (status == MN_OK) {
        status = mn_ckpt_check_entry(data, (size_t)location.bytes, location.bytes,
                                     location.space_id, &header);
    }
    const uint8_t *stream = data + MN_CKPT_HEADER_SIZE + header.name_bytes;
    size_t stream_bytes = (size_t)(location.bytes - MN_CKPT_HEADER_SIZE - header.name_bytes);
    if (status == MN_OK && XXH64(stream, stream_bytes, 0) != mn_get_u64(data + MN_CKPT_STREAM_HASH)) {
        status = MN_ERR_CORRUPT;
        damage = location.offset + MN_CKPT_HEADER_SIZE + header.name_bytes;
    } else if (status == MN_OK &&
               (stream_bytes < MN_CKPT_EXPORT_HEADER ||
                mn_get_u64(stream + MN_CKPT_EXPORT_SEQUENCE) != header.sequence ||
                mn_get_u32(stream + MN_CKPT_EXPORT_VERSION) + 1u !=
                    mn_get_u32(data + MN_CKPT_VERSION))) {
        /* Replay skips the records at or below the header's sequence; the space continues
         * from the stream's: they must be one number. */
        status = MN_ERR_CORRUPT;
        damage = location.offset + MN_CKPT_HEADER_SIZE + header.name_bytes;
    }
    if (status == MN_OK) {
        mn_ckpt_loading_id = location.space_id;
        status = mn_engine_space_import_buffer(engine, header.name, header.name_bytes, stream,
                                               stream_bytes, &entry->space);
        mn_ckpt_loading_id = 0;
        if (status == MN_ERR_TRUNCATED || status == MN_ERR_VERSION ||
            status == MN_ERR_DUPLICATE || status == MN_ERR_INVALID ||
            status == MN_ERR_TOO_LARGE || status == MN_ERR_DIMENSION) {
            status = MN_ERR_CORRUPT; /* passed its checksums, but not the import's checks */
            damage = location.offset + MN_CKPT_HEADER_SIZE + header.name_bytes;
        }
    }
    free(data);
    if ((status == MN_ERR_CORRUPT || status == MN_ERR_VERSION) && report) {
        snprintf(report->damaged_file, sizeof(report->damaged_file), "%s", path);
        report->damaged_offset = damage;
    }
    return status;
}

/* ---- the background thread ---- */

static void *mn_ckpt_thread(void *context) {
    struct mn_engine *engine = context;
    struct mn_durable *d = engine->durable;
    /* Low priority: checkpoints yield the CPU to workers and callers (best effort). */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    pthread_mutex_lock(&d->thread_lock);
    while (!d->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)MN_DURABLE_CHECKPOINT_POLL_MS * 1000000L;
        while (until.tv_nsec >= 1000000000L) {
            until.tv_nsec -= 1000000000L;
            until.tv_sec++;
        }
        pthread_cond_timedwait(&d->wake, &d->thread_lock, &until);
        if (d->stop) break;
        pthread_mutex_unlock(&d->thread_lock);
        uint64_t logged = atomic_load_explicit(&d->logged_bytes, memory_order_relaxed);
        pthread_mutex_lock(&d->checkpoint_run);
        if (logged - d->checkpoint_mark >= d->options.checkpoint_log_bytes) {
            mn_checkpoint_report report;
            memset(&report, 0, sizeof(report));
            (void)mn_ckpt_run_locked(engine, 1, &report); /* a failure keeps the log: retried */
        }
        pthread_mutex_unlock(&d->checkpoint_run);
        pthread_mutex_lock(&d->thread_lock);
    }
    pthread_mutex_unlock(&d->thread_lock);
    return NULL;
}

mn_status mn_ckpt_thread_start(struct mn_engine *engine) {
    struct mn_durable *d = engine->durable;
    if (d->options.checkpoint_log_bytes == 0) return MN_OK; /* automatic checkpoints off */
    if (pthread_create(&d->thread, NULL, mn_ckpt_thread, engine) != 0) return MN_ERR_NO_MEMORY;
    d->thread_started = 1;
    return MN_OK;
}

void mn_ckpt_stop(struct mn_engine *engine) {
    struct mn_durable *d = engine->durable;
    MN_ASSERT(d && "the WAL table's hooks run only on an engine it was chosen for");
    pthread_mutex_lock(&d->thread_lock);
    d->stop = 1;
    pthread_cond_broadcast(&d->wake);
    int started = d->thread_started;
    d->thread_started = 0;
    pthread_mutex_unlock(&d->thread_lock);
    if (started) pthread_join(d->thread, NULL);
}
