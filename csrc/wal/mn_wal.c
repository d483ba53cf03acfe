/*
 * mn_wal.c: the write-ahead log appender (group commit, durability modes, rotation, deletion of
 * old segments) and the segment helpers shared with recovery. See mn_wal.h for the contract and
 * mn_wal_internal.h for the byte layout.
 *
 * A batch is encoded into one buffer owned by the log and written with one pwrite (looped only
 * if the kernel writes short), then made durable with one fdatasync per the mode: the cost of a
 * sync is paid once per batch however many records it holds. A batch whose write or fdatasync
 * fails is cut back off the segment with ftruncate and the cut fdatasynced (mn_wal_take_back):
 * its caller is told it failed, so it must not come back at recovery, and after a failed
 * fdatasync its bytes are still in the page cache. If even that fails, the log refuses every
 * later append (only a recovery knows what reached the disk) and tells the caller the batch may
 * be left (mn_wal_append_checked), so the engine can void it elsewhere. A failed fdatasync with
 * no batch of its own (mn_wal_sync, mn_wal_tick, a rotation) also makes the log refuse appends.
 *
 * Every file call goes through the log's mn_vfs table (mn_vfs.h), chosen at open.
 *
 * Every fdatasync of a segment is timed into a fixed log2 histogram of nanoseconds (the
 * metrics page's log fsync latency): written by the appender under its lock, read by anyone
 * without it, so the counters are relaxed atomics (one writer; readers want figures, not
 * ordering with the log's contents).
 */
#include "wal/mn_wal_internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/mn_assert.h"
#include "wal/mn_crc32c.h"

const char mn_wal_segment_magic[8] = {'M', 'N', 'E', 'M', 'O', 'W', 'A', 'L'};

/* The appender. Every field is touched only with `lock` held (see the header's table). */
struct mn_wal {
    pthread_mutex_t lock;
    char directory[MN_WAL_PATH_BYTES_MAX];
    const mn_vfs *vfs;        /* every file call (immutable after open) */
    int fd;                   /* the current segment, open for writing */
    uint64_t segment;         /* its number */
    uint64_t offset;          /* bytes in it, header included: where the next record goes */
    uint64_t segment_bytes;   /* rotation limit */
    mn_wal_durability durability;
    uint64_t interval_ns;     /* MN_WAL_BATCHED: most time between fdatasyncs */
    uint64_t last_sync_ns;
    int dirty;                /* written since the last fdatasync */
    int failed;               /* an unrecoverable I/O error: refuse appends */
    uint8_t *buffer;          /* the encoded batch */
    size_t buffer_capacity;
    /* fdatasync latency (mn_wal_sync_stats): added under `lock`, loaded without it. */
    _Atomic uint64_t sync_count;
    _Atomic uint64_t sync_ns;
    _Atomic uint64_t sync_buckets[MN_WAL_SYNC_LATENCY_BUCKETS];
};

/* ---- shared helpers ---- */

mn_status mn_wal_segment_path(const char *directory, uint64_t number, char *path) {
    int n = snprintf(path, MN_WAL_PATH_BYTES_MAX, "%s/%020" PRIu64 ".wal", directory, number);
    if (n < 0 || (size_t)n >= MN_WAL_PATH_BYTES_MAX) return MN_ERR_TOO_LARGE;
    return MN_OK;
}

/* Parses a segment file name; returns 1 and the number for "<20 digits>.wal", else 0. */
static int mn_wal_parse_name(const char *name, uint64_t *number) {
    if (strlen(name) != MN_WAL_NAME_BYTES || strcmp(name + 20, ".wal") != 0) return 0;
    uint64_t value = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        uint64_t digit = (uint64_t)(name[i] - '0');
        if (value > (UINT64_MAX - digit) / 10) return 0;
        value = value * 10 + digit;
    }
    *number = value;
    return 1;
}

static int mn_wal_compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The listing under construction (mn_wal_list_segments' callback context). */
typedef struct mn_wal_listing {
    uint64_t *list;
    size_t size, capacity;
} mn_wal_listing;

static mn_status mn_wal_list_entry(void *context, const char *name) {
    mn_wal_listing *listing = context;
    uint64_t number;
    if (!mn_wal_parse_name(name, &number)) return MN_OK;
    if (listing->size == MN_WAL_SEGMENTS_MAX) return MN_ERR_TOO_LARGE;
    if (listing->size == listing->capacity) {
        size_t grown = listing->capacity ? listing->capacity * 2 : 16;
        uint64_t *bigger = realloc(listing->list, grown * sizeof(uint64_t));
        if (!bigger) return MN_ERR_NO_MEMORY;
        listing->list = bigger;
        listing->capacity = grown;
    }
    listing->list[listing->size++] = number;
    return MN_OK;
}

mn_status mn_wal_list_segments(const mn_vfs *vfs, const char *directory, uint64_t **numbers, size_t *count) {
    *numbers = NULL;
    *count = 0;
    mn_wal_listing listing = {NULL, 0, 0};
    mn_status status = vfs->list(vfs->context, directory, mn_wal_list_entry, &listing);
    if (status == MN_ERR_NOT_FOUND) status = MN_OK; /* no directory: no segments */
    if (status != MN_OK) {
        free(listing.list);
        return status == MN_ERR_NO_MEMORY || status == MN_ERR_TOO_LARGE ? status : MN_ERR_IO;
    }
    if (listing.size > 1) qsort(listing.list, listing.size, sizeof(uint64_t), mn_wal_compare_u64);
    *numbers = listing.list;
    *count = listing.size;
    return MN_OK;
}

void mn_wal_encode_segment_header(uint64_t number, uint64_t previous_size, uint8_t *out) {
    memset(out, 0, MN_WAL_SEGMENT_HEADER_SIZE);
    memcpy(out + MN_WAL_SH_MAGIC, mn_wal_segment_magic, 8);
    mn_put_u32(out + MN_WAL_SH_VERSION, MN_WAL_FORMAT_VERSION);
    mn_put_u64(out + MN_WAL_SH_NUMBER, number);
    mn_put_u64(out + MN_WAL_SH_PREVIOUS, previous_size);
    mn_put_u32(out + MN_WAL_SH_CRC, mn_crc32c(0, out, MN_WAL_SH_CRC));
}

size_t mn_wal_encode_record(const mn_wal_record *record, uint8_t *out) {
    mn_put_u32(out + MN_WAL_RH_MAGIC, MN_WAL_RECORD_MAGIC);
    mn_put_u32(out + MN_WAL_RH_LENGTH, record->payload_bytes);
    mn_put_u32(out + MN_WAL_RH_TYPE, record->type);
    mn_put_u64(out + MN_WAL_RH_SPACE, record->space);
    mn_put_u64(out + MN_WAL_RH_SEQUENCE, record->sequence);
    if (record->payload_bytes > 0)
        memcpy(out + MN_WAL_RECORD_HEADER_SIZE, record->payload, record->payload_bytes);
    size_t size = MN_WAL_RECORD_HEADER_SIZE + (size_t)record->payload_bytes;
    mn_put_u32(out + MN_WAL_RH_CRC, mn_crc32c(0, out + MN_WAL_RH_LENGTH, size - MN_WAL_RH_LENGTH));
    return size;
}

int mn_wal_check_record(const uint8_t *image, uint64_t size, uint64_t offset, mn_wal_record *record,
                        uint64_t *record_size) {
    if (offset > size || size - offset < MN_WAL_RECORD_HEADER_SIZE) return 0;
    const uint8_t *p = image + offset;
    if (mn_get_u32(p + MN_WAL_RH_MAGIC) != MN_WAL_RECORD_MAGIC) return 0;
    uint32_t length = mn_get_u32(p + MN_WAL_RH_LENGTH);
    if (length > MN_WAL_PAYLOAD_BYTES_MAX) return 0;
    uint64_t total = (uint64_t)MN_WAL_RECORD_HEADER_SIZE + length;
    if (size - offset < total) return 0;
    if (mn_crc32c(0, p + MN_WAL_RH_LENGTH, (size_t)total - MN_WAL_RH_LENGTH) != mn_get_u32(p + MN_WAL_RH_CRC))
        return 0;
    uint32_t type = mn_get_u32(p + MN_WAL_RH_TYPE);
    if (type == 0) return 0;
    record->type = type;
    record->payload_bytes = length;
    record->space = mn_get_u64(p + MN_WAL_RH_SPACE);
    record->sequence = mn_get_u64(p + MN_WAL_RH_SEQUENCE);
    record->payload = p + MN_WAL_RECORD_HEADER_SIZE;
    *record_size = total;
    return 1;
}

/* ---- the appender ---- */

static uint64_t mn_wal_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint32_t mn_wal_sync_bucket(uint64_t ns) {
    uint32_t bucket = 0;
    while (ns > 1 && bucket + 1 < MN_WAL_SYNC_LATENCY_BUCKETS) {
        ns >>= 1;
        bucket++;
    }
    return bucket;
}

/* One timed fdatasync of the current segment: every sync of the log goes through here, so the
 * histogram sees each one, failed or not (a failing disk is often a slow one first). */
static mn_status mn_wal_timed_fdatasync(mn_wal *wal) {
    uint64_t start = mn_wal_now_ns();
    mn_status status = wal->vfs->fdatasync(wal->vfs->context, wal->fd);
    uint64_t ns = mn_wal_now_ns() - start;
    atomic_fetch_add_explicit(&wal->sync_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wal->sync_ns, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&wal->sync_buckets[mn_wal_sync_bucket(ns)], 1, memory_order_relaxed);
    return status;
}

mn_status mn_wal_sync_stats_add(const mn_wal *wal, mn_wal_sync_stats *sum) {
    if (!wal || !sum) return MN_ERR_INVALID;
    /* The loads cast away const: C11 atomic loads take a pointer to non-const in older
     * compilers' headers, and they change nothing. */
    mn_wal *w = (mn_wal *)wal;
    sum->syncs += atomic_load_explicit(&w->sync_count, memory_order_relaxed);
    sum->sync_ns += atomic_load_explicit(&w->sync_ns, memory_order_relaxed);
    for (uint32_t i = 0; i < MN_WAL_SYNC_LATENCY_BUCKETS; i++) {
        sum->buckets[i] += atomic_load_explicit(&w->sync_buckets[i], memory_order_relaxed);
    }
    return MN_OK;
}

static mn_status mn_wal_fdatasync(mn_wal *wal) {
    mn_status status = mn_wal_timed_fdatasync(wal);
    if (status != MN_OK) {
        wal->failed = 1; /* the kernel may have dropped the dirty pages: nothing is certain */
        return status;
    }
    wal->dirty = 0;
    wal->last_sync_ns = mn_wal_now_ns();
    return MN_OK;
}

/* Creates segment `number` (its predecessor `previous_size` bytes long) with its header and
 * makes it the current one. */
static mn_status mn_wal_start_segment(mn_wal *wal, uint64_t number, uint64_t previous_size) {
    char path[MN_WAL_PATH_BYTES_MAX];
    mn_status status = mn_wal_segment_path(wal->directory, number, path);
    if (status != MN_OK) return status;
    const mn_vfs *vfs = wal->vfs;
    int fd = -1;
    status = vfs->open(vfs->context, path, MN_VFS_WRITE | MN_VFS_CREATE | MN_VFS_EXCL, &fd);
    if (status != MN_OK) return status == MN_ERR_FULL ? status : MN_ERR_IO;
    uint8_t header[MN_WAL_SEGMENT_HEADER_SIZE];
    mn_wal_encode_segment_header(number, previous_size, header);
    status = mn_vfs_write_all(vfs, fd, header, sizeof(header), 0);
    /* The directory entry must be durable before anything in the file is acknowledged; the
     * header itself becomes durable with the first batch's fdatasync. */
    if (status == MN_OK && wal->durability != MN_WAL_NONE) status = vfs->sync_dir(vfs->context, wal->directory);
    if (status != MN_OK) {
        vfs->close(vfs->context, fd);
        mn_status gone = vfs->unlink(vfs->context, path);
        /* A segment left behind names the current one's size in its header: the current one
         * must not grow past it, or recovery reads the difference as damage. */
        if (gone != MN_OK && gone != MN_ERR_NOT_FOUND) wal->failed = 1;
        return status;
    }
    wal->fd = fd;
    wal->segment = number;
    wal->offset = MN_WAL_SEGMENT_HEADER_SIZE;
    wal->dirty = 1;
    return MN_OK;
}

mn_status mn_wal_options_default(const char *directory, mn_wal_options *out) {
    if (!out) return MN_ERR_INVALID;
    out->directory = directory;
    out->segment_bytes = MN_WAL_SEGMENT_BYTES_DEFAULT;
    out->durability = MN_WAL_SYNC;
    out->sync_interval_ms = MN_WAL_SYNC_INTERVAL_MS_DEFAULT;
    out->vfs = NULL;
    return MN_OK;
}

mn_status mn_wal_open(const mn_wal_options *options, mn_wal **out) {
    if (!options || !out || !options->directory || options->directory[0] == '\0') return MN_ERR_INVALID;
    *out = NULL;
    if (options->segment_bytes < MN_WAL_SEGMENT_BYTES_MIN || options->segment_bytes > MN_WAL_SEGMENT_BYTES_MAX)
        return MN_ERR_INVALID;
    if (options->durability != MN_WAL_SYNC && options->durability != MN_WAL_BATCHED &&
        options->durability != MN_WAL_NONE)
        return MN_ERR_INVALID;
    if (options->durability == MN_WAL_BATCHED &&
        (options->sync_interval_ms == 0 || options->sync_interval_ms > MN_WAL_SYNC_INTERVAL_MS_MAX))
        return MN_ERR_INVALID;
    if (strlen(options->directory) + 1 + MN_WAL_NAME_BYTES >= MN_WAL_PATH_BYTES_MAX) return MN_ERR_TOO_LARGE;

    const mn_vfs *vfs = options->vfs ? options->vfs : mn_vfs_posix();
    if (vfs->mkdir(vfs->context, options->directory) != MN_OK) return MN_ERR_IO;
    uint64_t *numbers = NULL;
    size_t count = 0;
    mn_status status = mn_wal_list_segments(vfs, options->directory, &numbers, &count);
    if (status != MN_OK) return status;
    uint64_t next = count ? numbers[count - 1] + 1 : 1;
    uint64_t previous_size = 0;
    if (count > 0) {
        char path[MN_WAL_PATH_BYTES_MAX];
        int fd = -1;
        status = mn_wal_segment_path(options->directory, numbers[count - 1], path);
        if (status == MN_OK && vfs->open(vfs->context, path, MN_VFS_READ, &fd) != MN_OK) status = MN_ERR_IO;
        if (status == MN_OK) {
            if (vfs->size(vfs->context, fd, &previous_size) != MN_OK) status = MN_ERR_IO;
            vfs->close(vfs->context, fd);
        }
    }
    free(numbers);
    if (status != MN_OK) return status;
    if (next == 0) return MN_ERR_TOO_LARGE; /* 2^64 - 1 segments: not in this universe */

    mn_wal *wal = calloc(1, sizeof(mn_wal));
    if (!wal) return MN_ERR_NO_MEMORY;
    if (pthread_mutex_init(&wal->lock, NULL) != 0) {
        free(wal);
        return MN_ERR_NO_MEMORY;
    }
    strcpy(wal->directory, options->directory);
    wal->vfs = vfs;
    wal->fd = -1;
    wal->segment_bytes = options->segment_bytes;
    wal->durability = options->durability;
    wal->interval_ns = (uint64_t)options->sync_interval_ms * 1000000ull;
    wal->last_sync_ns = mn_wal_now_ns();
    status = mn_wal_start_segment(wal, next, previous_size);
    if (status == MN_OK && wal->durability != MN_WAL_NONE) status = mn_wal_fdatasync(wal);
    if (status != MN_OK) {
        if (wal->fd >= 0) vfs->close(vfs->context, wal->fd);
        pthread_mutex_destroy(&wal->lock);
        free(wal);
        return status;
    }
    *out = wal;
    return MN_OK;
}

mn_status mn_wal_close(mn_wal *wal) {
    if (!wal) return MN_OK;
    mn_status status = MN_OK;
    if (wal->fd >= 0) {
        if (wal->dirty && !wal->failed && wal->durability != MN_WAL_NONE) status = mn_wal_fdatasync(wal);
        wal->vfs->close(wal->vfs->context, wal->fd);
    }
    pthread_mutex_destroy(&wal->lock);
    free(wal->buffer);
    free(wal);
    return status;
}

/* Validates a batch and computes its encoded size. */
static mn_status mn_wal_batch_size(const mn_wal_record *records, uint32_t count, uint64_t *bytes) {
    if (count == 0) return MN_ERR_INVALID;
    if (count > MN_WAL_BATCH_RECORDS_MAX) return MN_ERR_TOO_LARGE;
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
        const mn_wal_record *r = &records[i];
        if (r->type == 0 || (r->payload_bytes > 0 && !r->payload)) return MN_ERR_INVALID;
        if (r->payload_bytes > MN_WAL_PAYLOAD_BYTES_MAX) return MN_ERR_TOO_LARGE;
        total += MN_WAL_RECORD_HEADER_SIZE + (uint64_t)r->payload_bytes;
        if (total > MN_WAL_BATCH_BYTES_MAX) return MN_ERR_TOO_LARGE;
    }
    *bytes = total;
    return MN_OK;
}

/* Closes the current segment (synced first unless MN_WAL_NONE) and starts the next. */
static mn_status mn_wal_rotate(mn_wal *wal) {
    mn_status status = MN_OK;
    if (wal->dirty && wal->durability != MN_WAL_NONE) status = mn_wal_fdatasync(wal);
    if (status != MN_OK) return status;
    int old = wal->fd;
    uint64_t old_segment = wal->segment, old_offset = wal->offset;
    status = mn_wal_start_segment(wal, wal->segment + 1, old_offset);
    if (status != MN_OK) {
        wal->segment = old_segment; /* keep appending to the old one */
        wal->offset = old_offset;
        return status;
    }
    wal->vfs->close(wal->vfs->context, old);
    return MN_OK;
}

/* Takes back a batch that failed (its write, or its fdatasync) at `first`: the segment is cut
 * there and, unless MN_WAL_NONE, the cut made durable with an fdatasync. On success the batch
 * is gone from the file and from the disk, and the log goes on (the bytes before `first` were
 * durable already in MN_WAL_SYNC; in MN_WAL_BATCHED this fdatasync makes them so). Otherwise
 * the log refuses every later append and the batch may be in the file: returns 1 then. */
static int mn_wal_take_back(mn_wal *wal, uint64_t first) {
    mn_status status = wal->vfs->truncate(wal->vfs->context, wal->fd, first);
    if (status == MN_OK && wal->durability != MN_WAL_NONE) {
        status = mn_wal_timed_fdatasync(wal);
    }
    if (status != MN_OK) {
        wal->failed = 1;
        return 1;
    }
    wal->failed = 0; /* a failed fdatasync set it; the cut was made durable since */
    wal->offset = first;
    wal->dirty = 0;
    wal->last_sync_ns = mn_wal_now_ns();
    return 0;
}

mn_status mn_wal_append(mn_wal *wal, const mn_wal_record *records, uint32_t count, mn_wal_append_info *info) {
    return mn_wal_append_checked(wal, records, count, info, NULL);
}

mn_status mn_wal_append_checked(mn_wal *wal, const mn_wal_record *records, uint32_t count,
                                mn_wal_append_info *info, int32_t *residue) {
    if (residue) *residue = 0;
    if (!wal || !records) return MN_ERR_INVALID;
    uint64_t bytes = 0;
    mn_status status = mn_wal_batch_size(records, count, &bytes);
    if (status != MN_OK) return status;
    pthread_mutex_lock(&wal->lock);
    if (wal->failed) {
        status = MN_ERR_IO;
        goto done;
    }
    if (bytes > wal->buffer_capacity) {
        size_t capacity = wal->buffer_capacity ? wal->buffer_capacity : 4096;
        while (capacity < bytes) capacity *= 2;
        uint8_t *grown = malloc(capacity);
        if (!grown) {
            status = MN_ERR_NO_MEMORY;
            goto done;
        }
        free(wal->buffer);
        wal->buffer = grown;
        wal->buffer_capacity = capacity;
    }
    int rotated = 0;
    if (wal->offset > MN_WAL_SEGMENT_HEADER_SIZE && wal->offset + bytes > wal->segment_bytes) {
        if ((status = mn_wal_rotate(wal)) != MN_OK) goto done;
        rotated = 1;
    }
    size_t used = 0;
    for (uint32_t i = 0; i < count; i++) used += mn_wal_encode_record(&records[i], wal->buffer + used);
    MN_ASSERT(used == bytes);
    uint64_t first = wal->offset;
    status = mn_vfs_write_all(wal->vfs, wal->fd, wal->buffer, used, first);
    if (status != MN_OK) {
        /* Roll the partial batch back; if that fails the tail is unknown until recovery. */
        int left = mn_wal_take_back(wal, first);
        if (residue) *residue = left;
        goto done;
    }
    wal->offset += used;
    wal->dirty = 1;
    if (wal->durability == MN_WAL_SYNC ||
        (wal->durability == MN_WAL_BATCHED && mn_wal_now_ns() - wal->last_sync_ns >= wal->interval_ns)) {
        status = mn_wal_fdatasync(wal);
        if (status != MN_OK) {
            /* The batch is in the page cache and maybe on the disk: reported failed, it must
             * not come back at recovery, so it is cut off (issue 9, item 4). */
            int left = mn_wal_take_back(wal, first);
            if (residue) *residue = left;
        }
    }
    if (info) {
        info->first.segment = wal->segment;
        info->first.offset = first;
        info->bytes = used;
        info->synced = !wal->dirty;
        info->rotated = rotated;
    }
done:
    pthread_mutex_unlock(&wal->lock);
    return status;
}

mn_status mn_wal_tick(mn_wal *wal, int32_t *synced) {
    if (!wal) return MN_ERR_INVALID;
    mn_status status = MN_OK;
    pthread_mutex_lock(&wal->lock);
    if (wal->failed) {
        status = MN_ERR_IO;
    } else if (wal->durability == MN_WAL_BATCHED && wal->dirty &&
               mn_wal_now_ns() - wal->last_sync_ns >= wal->interval_ns) {
        status = mn_wal_fdatasync(wal);
    }
    if (synced) *synced = !wal->dirty && !wal->failed;
    pthread_mutex_unlock(&wal->lock);
    return status;
}

mn_status mn_wal_sync(mn_wal *wal) {
    if (!wal) return MN_ERR_INVALID;
    mn_status status = MN_OK;
    pthread_mutex_lock(&wal->lock);
    if (wal->failed) status = MN_ERR_IO;
    else if (wal->dirty) status = mn_wal_fdatasync(wal);
    pthread_mutex_unlock(&wal->lock);
    return status;
}

mn_status mn_wal_position_get(mn_wal *wal, mn_wal_position *out) {
    if (!wal || !out) return MN_ERR_INVALID;
    pthread_mutex_lock(&wal->lock);
    out->segment = wal->segment;
    out->offset = wal->offset;
    pthread_mutex_unlock(&wal->lock);
    return MN_OK;
}

mn_status mn_wal_delete_before(mn_wal *wal, uint64_t segment, uint32_t *deleted) {
    if (!wal) return MN_ERR_INVALID;
    if (deleted) *deleted = 0;
    pthread_mutex_lock(&wal->lock);
    if (segment > wal->segment) segment = wal->segment;
    uint64_t *numbers = NULL;
    size_t count = 0;
    const mn_vfs *vfs = wal->vfs;
    mn_status status = mn_wal_list_segments(vfs, wal->directory, &numbers, &count);
    uint32_t removed = 0;
    /* Oldest first, so a failure part-way leaves a gap-free suffix. */
    for (size_t i = 0; status == MN_OK && i < count && numbers[i] < segment; i++) {
        char path[MN_WAL_PATH_BYTES_MAX];
        status = mn_wal_segment_path(wal->directory, numbers[i], path);
        if (status == MN_OK) {
            mn_status gone = vfs->unlink(vfs->context, path);
            if (gone != MN_OK && gone != MN_ERR_NOT_FOUND) status = MN_ERR_IO;
        }
        if (status == MN_OK) removed++;
    }
    free(numbers);
    if (removed > 0 && wal->durability != MN_WAL_NONE) {
        mn_status synced = vfs->sync_dir(vfs->context, wal->directory);
        if (status == MN_OK) status = synced;
    }
    pthread_mutex_unlock(&wal->lock);
    if (deleted) *deleted = removed;
    return status;
}
