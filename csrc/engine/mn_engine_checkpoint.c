/*
 * mn_engine_checkpoint.c: checkpoints of a durable engine: each space saved to its own file,
 * log segments deleted behind them, the files loaded first on open, and a background thread
 * that checkpoints when the log has grown.
 *
 * Why a checkpoint is an export: the export stream (mn_engine_export.c) already holds a whole
 * space exactly (memories with their labels, the HNSW graph, the associations, the space's log
 * sequence) and is taken between two of the space's writes, with the worker parked on an
 * MN_OP_EXPORT marker. So the sequence recorded in it is exact: every log record of the space
 * with a sequence at or below it is in the file, every record above it is not.
 *
 * A database checkpoint (mn_engine_checkpoint):
 *   1. the cut: with creations held off (create_lock), read each worker log's current segment
 *      number and list the spaces. Every record in an earlier segment was appended before the
 *      cut, hence before the export barrier of its space below, hence is in its checkpoint.
 *   2. for each space changed since its last checkpoint (its mailbox took an op) or never
 *      checkpointed: export into spaces/ID.ckpt.tmp, fdatasync, and rename it to spaces/ID.ckpt
 *      under checkpoint_lock unless the space was dropped meanwhile; one space at a time, so a
 *      worker pauses for one space's serialisation at most and other spaces keep being written.
 *   3. fsync spaces/, then delete every segment below the cut in each log (mn_wal_delete_before).
 *   Any failure in 2 or 3 stops before deletion: the log still holds everything.
 * A space's drop record is made durable before its file is deleted (mn_checkpoint_forget);
 * recovery deletes the file of a space whose drop record it finds after a crash in between.
 *
 * Recovery (mn_checkpoint_load_all, called by mn_engine_open before the logs are read): the
 * header of every *.ckpt is checked and its stream's XXH64 computed (the file is read, not
 * imported); leftover *.tmp files (a crash mid-checkpoint) are deleted. A damaged file stops
 * the open with MN_ERR_CORRUPT and the file's path in the report. A space with log records
 * above its checkpoint is imported under its id there and then (mn_checkpoint_load_space);
 * the others stay stubs.
 *
 * Lazy spaces: a stub (id and name) per unloaded space, in a hash table under stub_lock; the
 * first open of the name imports the file (mn_durable_space_load, stub_lock held until the
 * space is in the table), and mn_engine_unload_idle turns idle, checkpointed spaces back into
 * stubs. Lock order: stub_lock, then the engine's table lock, then checkpoint_lock.
 *
 * Checkpoint file layout (little-endian; the header is written last, at offset 0):
 *
 *   offset  size  field                                            constant
 *   0       8     magic "MNEMOCKP"                                 MN_CKPT_MAGIC
 *   8       4     format version, 1                                MN_CKPT_VERSION
 *   12      4     name bytes n (1 ... MN_ENGINE_NAME_BYTES_MAX)    MN_CKPT_NAME_BYTES
 *   16      8     space id (equals the file name's)                MN_CKPT_SPACE_ID
 *   24      8     sequence: the space's last log sequence in it    MN_CKPT_SEQUENCE
 *   32      8     the engine's next space id when written          MN_CKPT_NEXT_SPACE_ID
 *   40      8     stream bytes s                                   MN_CKPT_STREAM_BYTES
 *   48      8     XXH64 (seed 0) of the stream                     MN_CKPT_STREAM_HASH
 *   56      8     XXH64 (seed 0) of bytes 0 ... 55 and the name    MN_CKPT_HEADER_HASH
 *   64      n     space name (UTF-8)                               MN_CKPT_HEADER_SIZE
 *   64+n    s     the mn_space_export stream (its own XXH64 trailer included)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "engine/mn_engine_durable_internal.h"
#include "engine/mn_engine_internal.h"
#include "util/mn_bytes.h"

#define MN_CKPT_VERSION_1 1u
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
/* Where the export stream's header keeps the space's sequence (mn_engine_export.c). */
#define MN_CKPT_EXPORT_SEQUENCE 56u
#define MN_CKPT_EXPORT_HEADER 64u

_Static_assert(MN_CKPT_HEADER_HASH + 8 == MN_CKPT_HEADER_SIZE, "checkpoint header");

static const char mn_ckpt_magic[8] = {'M', 'N', 'E', 'M', 'O', 'C', 'K', 'P'};

/* The space id a checkpoint being loaded on this thread gives its imported space (0: the
 * import is a user's, which gets a new id and a checkpoint). */
static _Thread_local uint64_t mn_ckpt_loading_id;

/** An unloaded space: what the open engine keeps of it until first use (about 40 bytes plus
 *  the name, against ~21 KiB for a loaded space). */
struct mn_space_stub {
    struct mn_space_stub *next;
    uint64_t space_id;
    uint64_t hash;
    uint32_t name_bytes;
    char name[];
};

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

static void mn_ckpt_path(const struct mn_durable *d, uint64_t space_id, const char *suffix,
                         char *out, size_t size) {
    snprintf(out, size, "%s/spaces/%016llx.ckpt%s", d->path, (unsigned long long)space_id,
             suffix);
}

static mn_status mn_ckpt_spaces_dir(const struct mn_durable *d, char *out, size_t size) {
    snprintf(out, size, "%s/spaces", d->path);
    return d->vfs->mkdir(d->vfs->context, out) == MN_OK ? MN_OK : MN_ERR_IO;
}

/* fsyncs <path>/spaces: the checkpoint names created, renamed or removed there are durable. */
static mn_status mn_ckpt_sync_spaces(const struct mn_durable *d) {
    char dir[MN_WAL_PATH_BYTES_MAX];
    snprintf(dir, sizeof(dir), "%s/spaces", d->path);
    return d->vfs->sync_dir(d->vfs->context, dir);
}

/* ---- state ---- */

void mn_checkpoint_state_init(struct mn_durable *d) {
    pthread_mutex_init(&d->checkpoint_run, NULL);
    pthread_mutex_init(&d->checkpoint_lock, NULL);
    pthread_rwlock_init(&d->create_lock, NULL);
    pthread_mutex_init(&d->thread_lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    d->thread_started = 0;
    d->stop = 0;
    d->checkpoint_mark = 0;
    pthread_mutex_init(&d->stub_lock, NULL);
    d->stubs = NULL;
    d->stub_buckets = 0;
    d->stub_count = 0;
}

void mn_checkpoint_state_free(struct mn_durable *d) {
    for (uint64_t b = 0; b < d->stub_buckets; b++) {
        struct mn_space_stub *stub = d->stubs[b];
        while (stub) {
            struct mn_space_stub *next = stub->next;
            free(stub);
            stub = next;
        }
    }
    free(d->stubs);
    pthread_mutex_destroy(&d->stub_lock);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->thread_lock);
    pthread_rwlock_destroy(&d->create_lock);
    pthread_mutex_destroy(&d->checkpoint_lock);
    pthread_mutex_destroy(&d->checkpoint_run);
}

/* ---- writing one space ---- */

typedef struct mn_ckpt_writer {
    const mn_vfs *vfs;
    int fd;
    struct mn_space *space;
    uint8_t *buffer;
    size_t used;
    uint64_t offset;              /* file offset of buffer[0] */
    uint64_t stream_bytes;
    XXH64_state_t *hash;
    uint8_t export_header[MN_CKPT_EXPORT_HEADER];
} mn_ckpt_writer;

static mn_status mn_ckpt_flush(mn_ckpt_writer *w) {
    mn_status status = mn_vfs_write_all(w->vfs, w->fd, w->buffer, w->used, w->offset);
    w->offset += w->used;
    w->used = 0;
    return status;
}

/* The export's write callback: runs on the checkpointing thread while the runner is parked. */
static mn_status mn_ckpt_write(void *context, const void *data, size_t size) {
    mn_ckpt_writer *w = context;
    const uint8_t *bytes = data;
    if (w->stream_bytes < MN_CKPT_EXPORT_HEADER) {
        size_t take = MN_CKPT_EXPORT_HEADER - (size_t)w->stream_bytes;
        if (take > size) take = size;
        memcpy(w->export_header + w->stream_bytes, bytes, take);
    }
    XXH64_update(w->hash, data, size);
    w->stream_bytes += size;
    while (size > 0) {
        size_t room = MN_DURABLE_CHECKPOINT_BUFFER_BYTES - w->used;
        size_t take = size < room ? size : room;
        memcpy(w->buffer + w->used, bytes, take);
        w->used += take;
        bytes += take;
        size -= take;
        if (w->used == MN_DURABLE_CHECKPOINT_BUFFER_BYTES) {
            mn_status status = mn_ckpt_flush(w);
            if (status != MN_OK) return status;
        }
    }
    return MN_OK;
}

/* Writes, syncs and renames one space's checkpoint; *written gets the file's size (0 when the
 * space was dropped meanwhile and nothing was kept). */
static mn_status mn_ckpt_space(struct mn_engine *engine, struct mn_space *space,
                               uint64_t *written) {
    struct mn_durable *d = engine->durable;
    *written = 0;
    char tmp[MN_WAL_PATH_BYTES_MAX], final[MN_WAL_PATH_BYTES_MAX];
    mn_status status = mn_ckpt_spaces_dir(d, tmp, sizeof(tmp));
    if (status != MN_OK) return status;
    mn_ckpt_path(d, space->space_id, ".tmp", tmp, sizeof(tmp));
    mn_ckpt_path(d, space->space_id, "", final, sizeof(final));
    mn_ckpt_writer w;
    memset(&w, 0, sizeof(w));
    w.space = space;
    w.offset = MN_CKPT_HEADER_SIZE + space->name_bytes;
    w.buffer = malloc(MN_DURABLE_CHECKPOINT_BUFFER_BYTES);
    w.hash = XXH64_createState();
    w.vfs = d->vfs;
    w.fd = -1;
    const mn_vfs *vfs = d->vfs;
    if (!w.buffer || !w.hash) status = MN_ERR_NO_MEMORY;
    else status = vfs->open(vfs->context, tmp, MN_VFS_WRITE | MN_VFS_CREATE | MN_VFS_TRUNCATE, &w.fd);
    if (status == MN_ERR_NOT_FOUND || status == MN_ERR_DUPLICATE) status = MN_ERR_IO;
    /* Every op queued before the export marker is in the checkpoint; enqueue_pos equal to
     * this plus one later means nothing was queued after the marker (nor between). */
    uint64_t enqueued = atomic_load_explicit(&space->enqueue_pos, memory_order_acquire);
    if (status == MN_OK) {
        XXH64_reset(w.hash, 0);
        status = mn_space_export(space, mn_ckpt_write, &w);
    }
    if (status == MN_OK) status = mn_ckpt_flush(&w);
    if (status == MN_OK && w.stream_bytes < MN_CKPT_EXPORT_HEADER) status = MN_ERR_IO;
    if (status == MN_OK) {
        uint8_t header[MN_CKPT_HEADER_SIZE] = {0};
        memcpy(header + MN_CKPT_MAGIC, mn_ckpt_magic, 8);
        mn_put_u32(header + MN_CKPT_VERSION, MN_CKPT_VERSION_1);
        mn_put_u32(header + MN_CKPT_NAME_BYTES, space->name_bytes);
        mn_put_u64(header + MN_CKPT_SPACE_ID, space->space_id);
        mn_put_u64(header + MN_CKPT_SEQUENCE,
                    mn_get_u64(w.export_header + MN_CKPT_EXPORT_SEQUENCE));
        mn_put_u64(header + MN_CKPT_NEXT_SPACE_ID,
                    atomic_load_explicit(&d->next_space_id, memory_order_relaxed));
        mn_put_u64(header + MN_CKPT_STREAM_BYTES, w.stream_bytes);
        mn_put_u64(header + MN_CKPT_STREAM_HASH, XXH64_digest(w.hash));
        mn_put_u64(header + MN_CKPT_HEADER_HASH,
                    mn_ckpt_header_hash(header, space->name, space->name_bytes));
        status = mn_vfs_write_all(vfs, w.fd, header, sizeof(header), 0);
        if (status == MN_OK) {
            status = mn_vfs_write_all(vfs, w.fd, space->name, space->name_bytes,
                                      MN_CKPT_HEADER_SIZE);
        }
    }
    /* MN_WAL_NONE promises nothing across a power loss, its log is never synced either. */
    if (status == MN_OK && d->options.durability != MN_WAL_NONE) {
        status = vfs->fdatasync(vfs->context, w.fd);
    }
    if (w.fd >= 0) vfs->close(vfs->context, w.fd);
    free(w.buffer);
    if (w.hash) XXH64_freeState(w.hash);
    if (status == MN_ERR_UNKNOWN_SPACE) { /* dropped before the export: nothing to keep */
        vfs->unlink(vfs->context, tmp);
        return MN_OK;
    }
    if (status != MN_OK) {
        vfs->unlink(vfs->context, tmp);
        return status;
    }
    pthread_mutex_lock(&d->checkpoint_lock);
    if (space->checkpoint_dead) {
        vfs->unlink(vfs->context, tmp); /* dropped meanwhile: its drop record is durable, keep no file */
    } else if ((status = vfs->rename(vfs->context, tmp, final)) != MN_OK) {
        vfs->unlink(vfs->context, tmp);
    } else {
        space->checkpointed = 1;
        space->checkpoint_enqueued = enqueued + 1; /* the export marker itself */
        *written = w.offset;
    }
    pthread_mutex_unlock(&d->checkpoint_lock);
    return status;
}

/* ---- a database checkpoint ---- */

typedef struct mn_ckpt_list {
    struct mn_space **spaces;
    size_t count;
} mn_ckpt_list;

static int mn_ckpt_stopping(struct mn_durable *d) {
    pthread_mutex_lock(&d->thread_lock);
    int stop = d->stop;
    pthread_mutex_unlock(&d->thread_lock);
    return stop;
}

/* The whole checkpoint; the caller holds checkpoint_run. */
static mn_status mn_ckpt_run_locked(struct mn_engine *engine, int background,
                                    mn_checkpoint_report *report) {
    struct mn_durable *d = engine->durable;
    uint64_t cut[MN_DURABLE_LOGS_MAX];
    mn_ckpt_list list = {NULL, 0};
    mn_status status = MN_OK;
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

    /* 2. Each changed space, one at a time. */
    uint64_t written_any = 0;
    for (size_t i = 0; i < list.count && status == MN_OK; i++) {
        struct mn_space *space = list.spaces[i];
        if (background && mn_ckpt_stopping(d)) {
            status = MN_ERR_CLOSED;
            break;
        }
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
        uint64_t bytes = 0;
        status = mn_ckpt_space(engine, space, &bytes);
        if (status == MN_OK && bytes > 0) {
            report->spaces_written++;
            report->bytes_written += bytes;
            written_any = 1;
        }
    }
    for (size_t i = 0; i < list.count; i++) mn_space_release(list.spaces[i]);
    free(list.spaces);

    /* 3. The renames are durable, then the segments before the cut go. The directory is
     * synced even when this run renamed nothing: an earlier run's rename whose directory sync
     * failed (that run returned the error, but its space counts as checkpointed) is made
     * durable here, before the log holding that space's records is deleted. */
    (void)written_any;
    if (status == MN_OK) status = mn_ckpt_sync_spaces(d);
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
    if (status == MN_OK) d->checkpoint_mark = mark;
    return status;
}

mn_status mn_checkpoint_run_at_open(struct mn_engine *engine, mn_checkpoint_report *report) {
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

mn_status mn_checkpoint_remove(struct mn_durable *d, uint64_t space_id) {
    char path[MN_WAL_PATH_BYTES_MAX];
    mn_ckpt_path(d, space_id, "", path, sizeof(path));
    mn_status status = d->vfs->unlink(d->vfs->context, path);
    if (status == MN_ERR_NOT_FOUND) return MN_OK;
    if (status != MN_OK) return MN_ERR_IO;
    return mn_ckpt_sync_spaces(d);
}

mn_status mn_checkpoint_forget(struct mn_engine *engine, struct mn_space *space) {
    struct mn_durable *d = engine->durable;
    pthread_mutex_lock(&d->checkpoint_lock);
    space->checkpoint_dead = 1;
    int had = space->checkpointed;
    space->checkpointed = 0;
    mn_status status = had ? mn_checkpoint_remove(d, space->space_id) : MN_OK;
    pthread_mutex_unlock(&d->checkpoint_lock);
    return status;
}

mn_status mn_durable_publish_imported(struct mn_engine *engine, struct mn_space *space,
                                      struct mn_space **out) {
    struct mn_durable *d = engine->durable;
    if (!d) return mn_engine_space_publish(engine, space, out);
    space->checkpoint_enqueued = 0;
    space->checkpointed = 0;
    space->checkpoint_dead = 0;
    if (mn_ckpt_loading_id != 0) {
        space->space_id = mn_ckpt_loading_id; /* loading a checkpoint (recovery or lazily) */
        return mn_engine_space_publish(engine, space, out);
    }
    if (mn_durable_stub_exists(engine, space->name, space->name_bytes)) return MN_ERR_DUPLICATE;
    /* A new id, and the space's checkpoint on disk before anyone can write to it: a write
     * logged under the id then always has its space's file to land on at recovery. */
    space->space_id = atomic_fetch_add_explicit(&d->next_space_id, 1, memory_order_relaxed);
    uint64_t bytes = 0;
    mn_status status = mn_ckpt_space(engine, space, &bytes);
    if (status == MN_OK) status = mn_ckpt_sync_spaces(d);
    if (status == MN_OK) status = mn_engine_space_publish(engine, space, out);
    if (status != MN_OK) {
        pthread_mutex_lock(&d->checkpoint_lock);
        space->checkpoint_dead = 1;
        mn_checkpoint_remove(d, space->space_id);
        pthread_mutex_unlock(&d->checkpoint_lock);
    }
    return status;
}

/* ---- recovery ---- */

static int mn_ckpt_name_id(const char *name, uint64_t *id, int *tmp) {
    size_t n = strlen(name);
    if (n == 16 + 5 && strcmp(name + 16, ".ckpt") == 0) *tmp = 0;
    else if (n == 16 + 9 && strcmp(name + 16, ".ckpt.tmp") == 0) *tmp = 1;
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
    *id = v;
    return 1;
}

static mn_status mn_ckpt_read_file(const mn_vfs *vfs, const char *path, uint8_t **out,
                                   uint64_t *size) {
    *out = NULL;
    int fd = -1;
    if (vfs->open(vfs->context, path, MN_VFS_READ, &fd) != MN_OK) return MN_ERR_IO;
    uint64_t bytes = 0;
    mn_status status = MN_OK;
    if (vfs->size(vfs->context, fd, &bytes) != MN_OK) status = MN_ERR_IO;
    else if (bytes < MN_CKPT_HEADER_SIZE) status = MN_ERR_CORRUPT;
    else if (bytes > MN_DURABLE_CHECKPOINT_BYTES_MAX) status = MN_ERR_CORRUPT;
    uint8_t *data = NULL;
    if (status == MN_OK) {
        data = malloc((size_t)bytes);
        if (!data) status = MN_ERR_NO_MEMORY;
    }
    if (status == MN_OK && mn_vfs_read_all(vfs, fd, data, (size_t)bytes, 0) != MN_OK) {
        status = MN_ERR_IO;
    }
    vfs->close(vfs->context, fd);
    if (status != MN_OK) {
        free(data);
        return status;
    }
    *out = data;
    *size = bytes;
    return MN_OK;
}

static mn_status mn_ckpt_check_header(const uint8_t *h, size_t got, uint64_t size,
                                      uint64_t file_id, mn_checkpoint_loaded *out);

/* XXH64 of `bytes` bytes of fd from `offset` (read in bounded chunks). */
static mn_status mn_ckpt_hash_range(const mn_vfs *vfs, int fd, uint64_t offset, uint64_t bytes,
                                    uint64_t *out) {
    XXH64_state_t *state = XXH64_createState();
    uint8_t *buffer = malloc(MN_DURABLE_CHECKPOINT_BUFFER_BYTES);
    mn_status status = state && buffer ? MN_OK : MN_ERR_NO_MEMORY;
    if (state) XXH64_reset(state, 0);
    while (status == MN_OK && bytes > 0) {
        size_t want = bytes < MN_DURABLE_CHECKPOINT_BUFFER_BYTES
                          ? (size_t)bytes
                          : (size_t)MN_DURABLE_CHECKPOINT_BUFFER_BYTES;
        size_t n = 0;
        if (vfs->pread(vfs->context, fd, buffer, want, offset, &n) != MN_OK) {
            status = MN_ERR_IO;
            break;
        }
        if (n == 0) {
            status = MN_ERR_CORRUPT; /* shorter than its header says */
            break;
        }
        XXH64_update(state, buffer, n);
        offset += (uint64_t)n;
        bytes -= (uint64_t)n;
    }
    if (status == MN_OK) *out = XXH64_digest(state);
    free(buffer);
    if (state) XXH64_freeState(state);
    return status;
}

/* Reads and checks a checkpoint's header, name and stream checksum; the space itself is
 * imported only when it is first used (or has log records above the checkpoint). */
static mn_status mn_ckpt_read_header(const mn_vfs *vfs, const char *path, uint64_t file_id,
                                     mn_checkpoint_loaded *out, uint64_t *damage) {
    *damage = 0;
    int fd = -1;
    if (vfs->open(vfs->context, path, MN_VFS_READ, &fd) != MN_OK) return MN_ERR_IO;
    uint8_t h[MN_CKPT_HEADER_SIZE + MN_ENGINE_NAME_BYTES_MAX];
    uint64_t size = 0;
    size_t got = 0;
    mn_status status = vfs->size(vfs->context, fd, &size);
    /* Up to sizeof(h) bytes: a file shorter than that is read whole. */
    if (status == MN_OK) {
        status = mn_vfs_read_all(vfs, fd, h, size < sizeof(h) ? (size_t)size : sizeof(h), 0);
        got = size < sizeof(h) ? (size_t)size : sizeof(h);
    }
    if (status != MN_OK) {
        vfs->close(vfs->context, fd);
        return status == MN_ERR_TRUNCATED ? MN_ERR_CORRUPT : MN_ERR_IO;
    }
    status = mn_ckpt_check_header(h, got, size, file_id, out);
    if (status == MN_OK) {
        uint64_t stream_at = MN_CKPT_HEADER_SIZE + out->name_bytes, digest = 0;
        status = mn_ckpt_hash_range(vfs, fd, stream_at, size - stream_at, &digest);
        if (status == MN_OK && digest != mn_get_u64(h + MN_CKPT_STREAM_HASH)) {
            status = MN_ERR_CORRUPT;
        }
        if (status == MN_ERR_CORRUPT) *damage = stream_at;
    }
    vfs->close(vfs->context, fd);
    return status;
}

/* Checks a header read into h[0 .. got) of a file of `size` bytes and fills *out. */
static mn_status mn_ckpt_check_header(const uint8_t *h, size_t got, uint64_t size,
                                      uint64_t file_id, mn_checkpoint_loaded *out) {
    if (got < MN_CKPT_HEADER_SIZE) return MN_ERR_CORRUPT;
    if (memcmp(h + MN_CKPT_MAGIC, mn_ckpt_magic, 8) != 0) return MN_ERR_CORRUPT;
    if (mn_get_u32(h + MN_CKPT_VERSION) != MN_CKPT_VERSION_1) return MN_ERR_VERSION;
    uint32_t name_bytes = mn_get_u32(h + MN_CKPT_NAME_BYTES);
    uint64_t stream_bytes = mn_get_u64(h + MN_CKPT_STREAM_BYTES);
    if (name_bytes == 0 || name_bytes > MN_ENGINE_NAME_BYTES_MAX ||
        MN_CKPT_HEADER_SIZE + (uint64_t)name_bytes > (uint64_t)got || stream_bytes > size ||
        MN_CKPT_HEADER_SIZE + name_bytes + stream_bytes != size ||
        size > MN_DURABLE_CHECKPOINT_BYTES_MAX ||
        mn_ckpt_header_hash(h, (const char *)h + MN_CKPT_HEADER_SIZE, name_bytes) !=
            mn_get_u64(h + MN_CKPT_HEADER_HASH) ||
        mn_get_u64(h + MN_CKPT_SPACE_ID) != file_id || file_id == 0 ||
        mn_get_u64(h + MN_CKPT_SEQUENCE) > MN_ENGINE_SEQUENCE_MAX) {
        return MN_ERR_CORRUPT; /* (a sequence past the limit would wrap at the next write) */
    }
    out->space_id = file_id;
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

/* Reads a whole checkpoint, checks it and imports its space under its id; *offset gets where a
 * damage was found. */
static mn_status mn_ckpt_import(struct mn_engine *engine, const char *path, uint64_t file_id,
                                struct mn_space **out, uint64_t *offset) {
    *out = NULL;
    *offset = 0;
    uint8_t *data = NULL;
    uint64_t size = 0;
    mn_status status = mn_ckpt_read_file(engine->durable->vfs, path, &data, &size);
    if (status != MN_OK) return status;
    const uint8_t *h = data;
    uint32_t name_bytes = mn_get_u32(h + MN_CKPT_NAME_BYTES);
    uint64_t stream_bytes = mn_get_u64(h + MN_CKPT_STREAM_BYTES);
    if (memcmp(h + MN_CKPT_MAGIC, mn_ckpt_magic, 8) != 0) {
        status = MN_ERR_CORRUPT;
    } else if (mn_get_u32(h + MN_CKPT_VERSION) != MN_CKPT_VERSION_1) {
        status = MN_ERR_VERSION;
    } else if (name_bytes == 0 || name_bytes > MN_ENGINE_NAME_BYTES_MAX ||
               stream_bytes > size || MN_CKPT_HEADER_SIZE + name_bytes + stream_bytes != size ||
               mn_ckpt_header_hash(h, (const char *)h + MN_CKPT_HEADER_SIZE, name_bytes) !=
                   mn_get_u64(h + MN_CKPT_HEADER_HASH) ||
               mn_get_u64(h + MN_CKPT_SPACE_ID) != file_id || file_id == 0) {
        status = MN_ERR_CORRUPT;
    } else if (XXH64(h + MN_CKPT_HEADER_SIZE + name_bytes, (size_t)stream_bytes, 0) !=
               mn_get_u64(h + MN_CKPT_STREAM_HASH)) {
        status = MN_ERR_CORRUPT;
        *offset = MN_CKPT_HEADER_SIZE + name_bytes;
    } else if (stream_bytes < MN_CKPT_EXPORT_HEADER ||
               mn_get_u64(h + MN_CKPT_HEADER_SIZE + name_bytes + MN_CKPT_EXPORT_SEQUENCE) !=
                   mn_get_u64(h + MN_CKPT_SEQUENCE)) {
        /* Replay skips the records at or below the header's sequence; the space continues
         * from the stream's: they must be one number. */
        status = MN_ERR_CORRUPT;
        *offset = MN_CKPT_HEADER_SIZE + name_bytes;
    }
    if (status == MN_OK) {
        mn_ckpt_loading_id = file_id;
        status = mn_engine_space_import_buffer(engine, (const char *)h + MN_CKPT_HEADER_SIZE,
                                               name_bytes, h + MN_CKPT_HEADER_SIZE + name_bytes,
                                               (size_t)stream_bytes, out);
        mn_ckpt_loading_id = 0;
        if (status == MN_ERR_TRUNCATED || status == MN_ERR_VERSION ||
            status == MN_ERR_DUPLICATE || status == MN_ERR_INVALID ||
            status == MN_ERR_TOO_LARGE || status == MN_ERR_DIMENSION) {
            status = MN_ERR_CORRUPT; /* passed its checksums, but not the import's checks */
            *offset = MN_CKPT_HEADER_SIZE + name_bytes;
        }
    }
    free(data);
    return status;
}

mn_status mn_checkpoint_load_space(struct mn_engine *engine, mn_checkpoint_loaded *entry,
                                   mn_durable_report *report) {
    char path[MN_WAL_PATH_BYTES_MAX];
    mn_ckpt_path(engine->durable, entry->space_id, "", path, sizeof(path));
    uint64_t offset = 0;
    mn_status status = mn_ckpt_import(engine, path, entry->space_id, &entry->space, &offset);
    if ((status == MN_ERR_CORRUPT || status == MN_ERR_VERSION) && report) {
        snprintf(report->damaged_file, sizeof(report->damaged_file), "%s", path);
        report->damaged_offset = offset;
    }
    return status;
}

static int mn_ckpt_loaded_order(const void *a, const void *b) {
    const mn_checkpoint_loaded *x = a, *y = b;
    return (x->space_id > y->space_id) - (x->space_id < y->space_id);
}

/* mn_checkpoint_load_all's listing state (the callback context). */
typedef struct mn_ckpt_listing {
    struct mn_durable *d;
    mn_checkpoint_loaded *loaded;
    size_t count, capacity;
    uint64_t *max_id;
    mn_durable_report *report;
} mn_ckpt_listing;

/* One entry of spaces/: a leftover .tmp is removed, a checkpoint's header is read and checked. */
static mn_status mn_ckpt_list_entry(void *context, const char *name) {
    mn_ckpt_listing *l = context;
    struct mn_durable *d = l->d;
    uint64_t id = 0;
    int tmp = 0;
    if (!mn_ckpt_name_id(name, &id, &tmp)) return MN_OK;
    char path[MN_WAL_PATH_BYTES_MAX];
    mn_ckpt_path(d, id, tmp ? ".tmp" : "", path, sizeof(path)); /* the name, re-made */
    if (tmp) { /* a checkpoint that never reached its rename */
        mn_status gone = d->vfs->unlink(d->vfs->context, path);
        return gone == MN_OK || gone == MN_ERR_NOT_FOUND ? MN_OK : MN_ERR_IO;
    }
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? l->capacity * 2 : 64;
        mn_checkpoint_loaded *grown = realloc(l->loaded, capacity * sizeof(*grown));
        if (!grown) return MN_ERR_NO_MEMORY;
        l->loaded = grown;
        l->capacity = capacity;
    }
    uint64_t damage = 0;
    mn_status status = mn_ckpt_read_header(d->vfs, path, id, &l->loaded[l->count], &damage);
    if (status == MN_OK) {
        uint64_t next = l->loaded[l->count].next_space_id; /* ids are never given out twice */
        if (id > *l->max_id) *l->max_id = id;
        if (next > 0 && next - 1 > *l->max_id) *l->max_id = next - 1;
        l->count++;
        l->report->checkpoints++;
    } else if (status == MN_ERR_CORRUPT || status == MN_ERR_VERSION) {
        snprintf(l->report->damaged_file, sizeof(l->report->damaged_file), "%s", path);
        l->report->damaged_offset = damage;
    }
    return status;
}

mn_status mn_checkpoint_load_all(struct mn_engine *engine, mn_checkpoint_loaded **out,
                                 size_t *count, uint64_t *max_id, mn_durable_report *report) {
    struct mn_durable *d = engine->durable;
    *out = NULL;
    *count = 0;
    char dir_path[MN_WAL_PATH_BYTES_MAX];
    snprintf(dir_path, sizeof(dir_path), "%s/spaces", d->path);
    mn_ckpt_listing l = {d, NULL, 0, 0, max_id, report};
    mn_status status = d->vfs->list(d->vfs->context, dir_path, mn_ckpt_list_entry, &l);
    if (status == MN_ERR_NOT_FOUND && l.count == 0) status = MN_OK; /* no spaces/ yet */
    if (status != MN_OK) {
        free(l.loaded);
        return status;
    }
    if (l.count > 1) qsort(l.loaded, l.count, sizeof(*l.loaded), mn_ckpt_loaded_order);
    *out = l.loaded;
    *count = l.count;
    return MN_OK;
}

/* ---- lazy spaces: stubs ---- */

static struct mn_space_stub **mn_stub_find_locked(struct mn_durable *d, const char *name,
                                                  uint32_t name_bytes, uint64_t hash) {
    if (d->stub_buckets == 0) return NULL;
    struct mn_space_stub **link = &d->stubs[hash & (d->stub_buckets - 1)];
    while (*link) {
        if ((*link)->hash == hash && (*link)->name_bytes == name_bytes &&
            memcmp((*link)->name, name, name_bytes) == 0) {
            return link;
        }
        link = &(*link)->next;
    }
    return NULL;
}

/* Adds a stub for (id, name); the caller holds stub_lock. */
static mn_status mn_stub_add_locked(struct mn_durable *d, uint64_t space_id, const char *name,
                                    uint32_t name_bytes) {
    struct mn_space_stub *stub = malloc(sizeof(*stub) + name_bytes);
    if (!stub) return MN_ERR_NO_MEMORY;
    stub->space_id = space_id;
    stub->name_bytes = name_bytes;
    stub->hash = XXH64(name, name_bytes, 0);
    memcpy(stub->name, name, name_bytes);
    if (d->stub_count + 1 > d->stub_buckets) { /* grow: load factor at most 1 */
        uint64_t buckets = d->stub_buckets ? d->stub_buckets * 2 : 64;
        struct mn_space_stub **grown = calloc((size_t)buckets, sizeof(*grown));
        if (!grown) {
            free(stub);
            return MN_ERR_NO_MEMORY;
        }
        for (uint64_t b = 0; b < d->stub_buckets; b++) {
            struct mn_space_stub *item = d->stubs[b];
            while (item) {
                struct mn_space_stub *next = item->next;
                item->next = grown[item->hash & (buckets - 1)];
                grown[item->hash & (buckets - 1)] = item;
                item = next;
            }
        }
        free(d->stubs);
        d->stubs = grown;
        d->stub_buckets = buckets;
    }
    stub->next = d->stubs[stub->hash & (d->stub_buckets - 1)];
    d->stubs[stub->hash & (d->stub_buckets - 1)] = stub;
    d->stub_count++;
    return MN_OK;
}

mn_status mn_checkpoint_stub_add(struct mn_durable *d, const mn_checkpoint_loaded *entry) {
    pthread_mutex_lock(&d->stub_lock);
    mn_status status = mn_stub_add_locked(d, entry->space_id, entry->name, entry->name_bytes);
    pthread_mutex_unlock(&d->stub_lock);
    return status;
}

mn_status mn_engine_unload_idle(mn_engine *engine, uint64_t *unloaded) {
    if (unloaded) *unloaded = 0;
    if (!engine) return MN_ERR_INVALID;
    struct mn_durable *d = engine->durable;
    if (!d) return MN_OK;
    if (atomic_load_explicit(&engine->closed, memory_order_acquire)) return MN_ERR_CLOSED;
    mn_status status = MN_OK;
    struct mn_space *freed = NULL; /* unloaded spaces, chained through table_next */
    uint64_t count = 0;
    /* Lock order as a load's: stub_lock, then the table (publish), then checkpoint_lock. */
    pthread_mutex_lock(&d->stub_lock);
    pthread_mutex_lock(&engine->table_lock);
    for (uint64_t b = 0; b < engine->bucket_count && status == MN_OK; b++) {
        struct mn_space **link = &engine->buckets[b];
        while (*link && status == MN_OK) {
            struct mn_space *space = *link;
            /* Idle: only the table holds it (no handle, not scheduled, no checkpoint in
             * progress), its mailbox is empty and its file holds every op it ever took. */
            pthread_mutex_lock(&d->checkpoint_lock);
            int idle = atomic_load_explicit(&space->refs, memory_order_acquire) == 1 &&
                       atomic_load_explicit(&space->scheduled, memory_order_acquire) == 0 &&
                       mn_mailbox_empty(space) && space->checkpointed &&
                       !space->checkpoint_dead &&
                       space->checkpoint_enqueued ==
                           atomic_load_explicit(&space->enqueue_pos, memory_order_acquire);
            pthread_mutex_unlock(&d->checkpoint_lock);
            if (!idle) {
                link = &space->table_next;
                continue;
            }
            status = mn_stub_add_locked(d, space->space_id, space->name, space->name_bytes);
            if (status != MN_OK) break;
            *link = space->table_next;
            engine->space_count--;
            space->table_next = freed;
            freed = space;
            count++;
        }
    }
    pthread_mutex_unlock(&engine->table_lock);
    pthread_mutex_unlock(&d->stub_lock);
    while (freed) {
        struct mn_space *next = freed->table_next;
        freed->table_next = NULL;
        mn_space_unref(freed); /* the table's reference: frees it */
        freed = next;
    }
    if (unloaded) *unloaded = count;
    return status;
}

mn_status mn_durable_space_load(struct mn_engine *engine, const char *name, uint32_t name_bytes,
                                struct mn_space **out) {
    *out = NULL;
    struct mn_durable *d = engine->durable;
    if (!d) return MN_OK;
    uint64_t hash = XXH64(name, name_bytes, 0);
    pthread_mutex_lock(&d->stub_lock); /* held until the space is in the table */
    struct mn_space_stub **link = mn_stub_find_locked(d, name, name_bytes, hash);
    mn_status status = MN_OK;
    if (link) {
        struct mn_space_stub *stub = *link;
        mn_checkpoint_loaded entry;
        memset(&entry, 0, sizeof(entry));
        entry.space_id = stub->space_id;
        status = mn_checkpoint_load_space(engine, &entry, NULL);
        if (status == MN_OK) {
            struct mn_space *space = entry.space;
            space->checkpointed = 1; /* its file holds all of it */
            space->checkpoint_enqueued =
                atomic_load_explicit(&space->enqueue_pos, memory_order_acquire);
            *link = stub->next;
            d->stub_count--;
            free(stub);
            *out = space;
        }
    } else {
        /* No stub: a load may just have put it in the table. Looked up before stub_lock is
         * released, so an unload cannot turn it back into a stub in between. */
        pthread_mutex_lock(&engine->table_lock);
        struct mn_space *space = mn_engine_table_find_locked(engine, name, name_bytes);
        if (space) mn_space_acquire(space);
        pthread_mutex_unlock(&engine->table_lock);
        *out = space;
    }
    pthread_mutex_unlock(&d->stub_lock);
    return status;
}

int mn_durable_stub_exists(struct mn_engine *engine, const char *name, uint32_t name_bytes) {
    struct mn_durable *d = engine->durable;
    if (!d) return 0;
    uint64_t hash = XXH64(name, name_bytes, 0);
    pthread_mutex_lock(&d->stub_lock);
    int exists = mn_stub_find_locked(d, name, name_bytes, hash) != NULL;
    pthread_mutex_unlock(&d->stub_lock);
    return exists;
}

mn_status mn_durable_space_count(struct mn_engine *engine, uint64_t *out) {
    struct mn_durable *d = engine->durable;
    pthread_mutex_lock(&d->stub_lock);
    pthread_mutex_lock(&engine->table_lock);
    *out = engine->space_count + d->stub_count;
    pthread_mutex_unlock(&engine->table_lock);
    pthread_mutex_unlock(&d->stub_lock);
    return MN_OK;
}

mn_status mn_durable_space_list(struct mn_engine *engine, mn_name_visit_fn visit, void *context) {
    struct mn_durable *d = engine->durable;
    pthread_mutex_lock(&d->stub_lock);
    pthread_mutex_lock(&engine->table_lock);
    for (uint64_t b = 0; b < engine->bucket_count; b++) {
        for (struct mn_space *space = engine->buckets[b]; space; space = space->table_next) {
            visit(context, space->name, space->name_bytes);
        }
    }
    pthread_mutex_unlock(&engine->table_lock);
    for (uint64_t b = 0; b < d->stub_buckets; b++) {
        for (struct mn_space_stub *stub = d->stubs[b]; stub; stub = stub->next) {
            visit(context, stub->name, stub->name_bytes);
        }
    }
    pthread_mutex_unlock(&d->stub_lock);
    return MN_OK;
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

mn_status mn_checkpoint_thread_start(struct mn_engine *engine) {
    struct mn_durable *d = engine->durable;
    if (d->options.checkpoint_log_bytes == 0) return MN_OK; /* automatic checkpoints off */
    if (pthread_create(&d->thread, NULL, mn_ckpt_thread, engine) != 0) return MN_ERR_NO_MEMORY;
    d->thread_started = 1;
    return MN_OK;
}

void mn_durable_stop(struct mn_engine *engine) {
    struct mn_durable *d = engine->durable;
    if (!d) return;
    pthread_mutex_lock(&d->thread_lock);
    d->stop = 1;
    pthread_cond_broadcast(&d->wake);
    int started = d->thread_started;
    d->thread_started = 0;
    pthread_mutex_unlock(&d->thread_lock);
    if (started) pthread_join(d->thread, NULL);
}
