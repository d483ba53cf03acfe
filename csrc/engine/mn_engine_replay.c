/*
 * mn_engine_replay.c: reading a durable engine's logs back, in bounded memory: recovery on open
 * (every space's records above its checkpoint, in sequence order, each space stopped at its
 * first gap) and the log reads of the replication seam (mn_engine_replica.c).
 *
 * Why an index, not the records: a space's records may lie in several workers' logs (work
 * stealing), so they must be ordered by sequence before any is applied, and holding every
 * payload until then makes the open's memory grow with the log. Recovery instead reads each
 * log once (mn_wal_recover checks every record and cuts torn tails) keeping only each record's
 * position (mn_log_entry, 48 bytes: space, sequence, type, log, segment, offset), sorts the
 * positions, and reads each payload back (one pread, its CRC checked again) just before it is
 * decoded and handed to its space's worker. Payload bytes read and not yet applied are counted;
 * the reader waits for the workers when the next record would take them past the bound
 * (mn_durable_options.replay_bytes, default MN_DURABLE_REPLAY_BYTES), so the open holds at most
 * the bound (or one record, when a record is larger) besides the index.
 *
 * Gaps: in MN_WAL_BATCHED mode a stolen space's records lie in logs that are synced
 * independently, so a power loss can keep sequences 6..10 and lose 1..5. A space's records are
 * applied up to its first missing sequence and none after it (a later write may depend on a
 * lost one); the report counts the spaces and records dropped. The space's next sequence is
 * set past the largest the logs hold, and the open checkpoints the space before anything is
 * logged (mn_engine_open), so the dropped records lie at or below its checkpoint's sequence and
 * are never replayed, and a new write never reuses one of their sequences.
 *
 * Logs of an earlier open with more workers (wal-NNN with NNN >= the worker count) are read
 * like the others and marked stale: the next checkpoint deletes all of their segments
 * (mn_replay_delete_log), as it deletes the live logs' segments before its cut.
 *
 * Every file call goes through the engine's mn_vfs (d->vfs); the segment walk itself is
 * mn_wal_recover_vfs's.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mn_engine_durable_internal.h"
#include "engine/mn_engine_internal.h"
#include "engine/mn_engine_replay.h"
#include "util/mn_bytes.h"
#include "util/mn_vfs.h"
#include "wal/mn_wal_internal.h"

/* ---- the index ---- */

static mn_status mn_replay_collect(void *context, const mn_wal_record *record,
                                   const mn_wal_position *position) {
    mn_log_index *index = context;
    index->bytes += MN_WAL_RECORD_HEADER_SIZE + (uint64_t)record->payload_bytes;
    if (index->only_space != 0 && record->space != index->only_space) return MN_OK;
    if (index->count == index->capacity) {
        size_t capacity = index->capacity ? index->capacity * 2 : 1024;
        mn_log_entry *grown = realloc(index->entries, capacity * sizeof(mn_log_entry));
        if (!grown) return MN_ERR_NO_MEMORY;
        index->entries = grown;
        index->capacity = capacity;
    }
    index->entries[index->count++] = (mn_log_entry){
        .space = record->space,
        .sequence = record->sequence,
        .segment = position->segment,
        .offset = position->offset,
        .type = record->type,
        .payload_bytes = record->payload_bytes,
        .log = index->log,
        .reserved = 0,
    };
    return MN_OK;
}

static int mn_replay_dir_index(const char *name, uint32_t *out) {
    if (strncmp(name, "wal-", 4) != 0 || strlen(name) != 7) return 0;
    uint32_t v = 0;
    for (int i = 4; i < 7; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        v = v * 10 + (uint32_t)(name[i] - '0');
    }
    *out = v;
    return 1;
}

static mn_status mn_replay_dir_seen(void *context, const char *name) {
    uint8_t *present = context;
    uint32_t index = 0;
    if (mn_replay_dir_index(name, &index) && index < MN_DURABLE_LOGS_MAX) present[index] = 1;
    return MN_OK;
}

void mn_replay_dir_path(const struct mn_durable *d, uint32_t log, char *out) {
    snprintf(out, MN_WAL_PATH_BYTES_MAX, "%s/wal-%03u", d->path, log);
}

mn_status mn_replay_dirs(const struct mn_durable *d, uint8_t *present) {
    memset(present, 0, MN_DURABLE_LOGS_MAX);
    const mn_vfs *vfs = d->vfs;
    mn_status status = vfs->list(vfs->context, d->path, mn_replay_dir_seen, present);
    return status == MN_ERR_NOT_FOUND ? MN_OK : status;
}

mn_status mn_replay_index_build(const struct mn_durable *d, uint32_t flags, mn_log_index *index,
                                mn_durable_report *report) {
    uint8_t present[MN_DURABLE_LOGS_MAX];
    mn_status status = mn_replay_dirs(d, present);
    for (uint32_t log = 0; log < MN_DURABLE_LOGS_MAX && status == MN_OK; log++) {
        if (!present[log]) continue;
        char path[MN_WAL_PATH_BYTES_MAX];
        mn_replay_dir_path(d, log, path);
        mn_wal_recovery *found = malloc(sizeof(mn_wal_recovery));
        if (!found) return MN_ERR_NO_MEMORY;
        index->log = log;
        status = mn_wal_recover_vfs(d->vfs, path, flags, mn_replay_collect, index, found);
        if (report) {
            report->logs++;
            report->records += found->records;
            report->torn_bytes += found->torn_bytes;
            if (found->repaired || status == MN_ERR_CORRUPT) {
                report->repaired |= found->repaired;
                report->dropped_bytes += found->dropped_bytes;
                report->dropped_segments += found->dropped_segments;
                report->damaged_offset = found->damaged_offset;
                snprintf(report->damaged_file, sizeof(report->damaged_file), "%s",
                         found->damaged_file);
            }
        }
        free(found);
    }
    return status;
}

static int mn_replay_entry_order(const void *a, const void *b) {
    const mn_log_entry *x = a, *y = b;
    if (x->space != y->space) return x->space < y->space ? -1 : 1;
    if (x->sequence != y->sequence) return x->sequence < y->sequence ? -1 : 1;
    return 0;
}

void mn_replay_index_sort(mn_log_index *index) {
    if (index->count > 1) {
        qsort(index->entries, index->count, sizeof(mn_log_entry), mn_replay_entry_order);
    }
}

void mn_replay_index_free(mn_log_index *index) {
    free(index->entries);
    memset(index, 0, sizeof(*index));
}

/* ---- reading one record back ---- */

void mn_replay_reader_init(mn_log_reader *reader, const struct mn_durable *d) {
    memset(reader, 0, sizeof(*reader));
    reader->d = d;
    for (uint32_t i = 0; i < MN_DURABLE_LOGS_MAX; i++) reader->fds[i] = -1;
}

void mn_replay_reader_free(mn_log_reader *reader) {
    const mn_vfs *vfs = reader->d->vfs;
    for (uint32_t i = 0; i < MN_DURABLE_LOGS_MAX; i++) {
        if (reader->fds[i] >= 0) vfs->close(vfs->context, reader->fds[i]);
        reader->fds[i] = -1;
    }
    free(reader->buffer);
    reader->buffer = NULL;
}

mn_status mn_replay_read(mn_log_reader *reader, const mn_log_entry *entry, mn_wal_record *out) {
    const mn_vfs *vfs = reader->d->vfs;
    if (entry->log >= MN_DURABLE_LOGS_MAX) return MN_ERR_INVALID;
    int *fd = &reader->fds[entry->log];
    if (*fd < 0 || reader->segments[entry->log] != entry->segment) {
        if (*fd >= 0) vfs->close(vfs->context, *fd);
        *fd = -1;
        char dir[MN_WAL_PATH_BYTES_MAX], path[MN_WAL_PATH_BYTES_MAX];
        mn_replay_dir_path(reader->d, entry->log, dir);
        mn_status status = mn_wal_segment_path(dir, entry->segment, path);
        if (status != MN_OK) return status;
        status = vfs->open(vfs->context, path, MN_VFS_READ, fd);
        if (status == MN_ERR_NOT_FOUND) return MN_ERR_CORRUPT; /* gone since it was read */
        if (status != MN_OK) {
            *fd = -1;
            return status;
        }
        reader->segments[entry->log] = entry->segment;
    }
    size_t size = MN_WAL_RECORD_HEADER_SIZE + (size_t)entry->payload_bytes;
    if (size > reader->capacity) {
        uint8_t *grown = malloc(size);
        if (!grown) return MN_ERR_NO_MEMORY;
        free(reader->buffer);
        reader->buffer = grown;
        reader->capacity = size;
    }
    mn_status status = mn_vfs_read_all(vfs, *fd, reader->buffer, size, entry->offset);
    if (status == MN_ERR_TRUNCATED) return MN_ERR_CORRUPT;
    if (status != MN_OK) return status;
    /* Checked again: the file must still hold the record the index was built from. */
    uint64_t record_size = 0;
    if (!mn_wal_check_record(reader->buffer, size, 0, out, &record_size) || record_size != size ||
        out->space != entry->space || out->sequence != entry->sequence || out->type != entry->type) {
        return MN_ERR_CORRUPT;
    }
    return MN_OK;
}

/* ---- replay on open ---- */

typedef struct mn_replay {
    pthread_mutex_t lock;
    pthread_cond_t idle;      /* signalled when in_flight or held bytes fall */
    uint64_t in_flight;       /* submitted ops not yet completed */
    uint64_t held;            /* their payload bytes */
    uint64_t peak;            /* most bytes held at once */
    uint64_t bound;           /* options.replay_bytes */
} mn_replay;

typedef struct mn_replay_ticket {
    mn_replay *replay;
    uint64_t bytes;
} mn_replay_ticket;

static void mn_replay_done(void *context, mn_status status, uint64_t detail) {
    (void)status; /* a replayed op ends as it ended the first time */
    (void)detail;
    mn_replay_ticket *ticket = context;
    mn_replay *replay = ticket->replay;
    pthread_mutex_lock(&replay->lock);
    replay->in_flight--;
    replay->held -= ticket->bytes;
    pthread_cond_broadcast(&replay->idle);
    pthread_mutex_unlock(&replay->lock);
    free(ticket);
}

/* Reads one record back, decodes it and submits it to its space once the bytes in flight
 * leave room for it (always when nothing is in flight: a record larger than the bound). */
static mn_status mn_replay_submit(mn_replay *replay, mn_log_reader *reader,
                                  const mn_log_entry *entry, struct mn_space *space) {
    uint64_t bytes = entry->payload_bytes;
    pthread_mutex_lock(&replay->lock);
    while (replay->in_flight > 0 && replay->held + bytes > replay->bound) {
        pthread_cond_wait(&replay->idle, &replay->lock);
    }
    replay->in_flight++;
    replay->held += bytes;
    if (replay->held > replay->peak) replay->peak = replay->held;
    pthread_mutex_unlock(&replay->lock);
    mn_replay_ticket *ticket = malloc(sizeof(*ticket));
    mn_status status = ticket ? MN_OK : MN_ERR_NO_MEMORY;
    mn_wal_record record;
    mn_op *op = NULL;
    if (status == MN_OK) status = mn_replay_read(reader, entry, &record);
    if (status == MN_OK) status = mn_durable_decode_op(&record, space, &op);
    if (status == MN_OK) {
        ticket->replay = replay;
        ticket->bytes = bytes;
        status = mn_engine_submit_op(space, op, MN_SUBMIT_WAIT, mn_replay_done, ticket);
        if (status == MN_OK) return MN_OK;
        ticket = NULL; /* mn_submit freed the op; the ticket is released below */
    }
    free(ticket);
    pthread_mutex_lock(&replay->lock);
    replay->in_flight--;
    replay->held -= bytes;
    pthread_cond_broadcast(&replay->idle);
    pthread_mutex_unlock(&replay->lock);
    return status;
}

static mn_checkpoint_loaded *mn_replay_find_checkpoint(mn_checkpoint_loaded *loaded,
                                                       size_t count, uint64_t space_id) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (loaded[mid].space_id == space_id) return &loaded[mid];
        if (loaded[mid].space_id < space_id) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* The VOID ranges of one space (mn_replay_voids_read). */
typedef struct mn_replay_voids {
    uint64_t (*ranges)[2];
    size_t count;
} mn_replay_voids;

/* Reads the VOID records among entries[first .. end) (one space) into *voids (free ranges). */
static mn_status mn_replay_voids_read(mn_log_reader *reader, const mn_log_entry *entries,
                                      size_t first, size_t end, mn_replay_voids *voids) {
    voids->ranges = NULL;
    voids->count = 0;
    size_t count = 0;
    for (size_t k = first; k < end; k++) count += entries[k].type == MN_DURABLE_REC_VOID;
    if (count == 0) return MN_OK;
    voids->ranges = malloc(count * sizeof(voids->ranges[0]));
    if (!voids->ranges) return MN_ERR_NO_MEMORY;
    for (size_t k = first; k < end; k++) {
        if (entries[k].type != MN_DURABLE_REC_VOID) continue;
        mn_wal_record record;
        mn_status status = mn_replay_read(reader, &entries[k], &record);
        if (status != MN_OK) return status;
        if (record.payload_bytes != MN_DURABLE_VOID_BYTES) return MN_ERR_CORRUPT;
        uint64_t a = mn_get_u64(record.payload + MN_DURABLE_VOID_FIRST);
        uint64_t b = mn_get_u64(record.payload + MN_DURABLE_VOID_LAST);
        if (a == 0 || a > b || b >= entries[k].sequence) return MN_ERR_CORRUPT; /* voids before itself */
        voids->ranges[voids->count][0] = a;
        voids->ranges[voids->count][1] = b;
        voids->count++;
    }
    return MN_OK;
}

/* The first sequence at or after `sequence` that no VOID range covers. */
static uint64_t mn_replay_unvoided(const mn_replay_voids *voids, uint64_t sequence) {
    for (size_t moved = 1; moved;) {
        moved = 0;
        for (size_t v = 0; v < voids->count; v++) {
            if (sequence >= voids->ranges[v][0] && sequence <= voids->ranges[v][1]) {
                sequence = voids->ranges[v][1] + 1;
                moved = 1;
            }
        }
    }
    return sequence;
}

/* Replays entries[first .. end) (one space, sorted, sequences above `base`) into `space` up to
 * the first gap; *gap gets 1 and the report the dropped records when one was found. Voided
 * records (and the VOID records) are skipped, and a voided sequence is no gap: it may be in a
 * log that refused appends after it, or in none. */
static mn_status mn_replay_space(mn_replay *replay, mn_log_reader *reader,
                                 const mn_log_entry *entries, size_t first, size_t end,
                                 uint64_t base, struct mn_space *space, uint64_t *replayed,
                                 int *gap, mn_durable_report *report) {
    mn_replay_voids voids;
    mn_status status = mn_replay_voids_read(reader, entries, first, end, &voids);
    uint64_t previous = base;
    for (size_t k = first; k < end && status == MN_OK; k++) {
        const mn_log_entry *entry = &entries[k];
        if (entry->sequence <= base) {
            report->skipped++; /* already in the checkpoint */
            continue;
        }
        if (mn_replay_unvoided(&voids, entry->sequence) != entry->sequence) {
            report->skipped++; /* a failed write that could not be cut off its log */
            continue;
        }
        int is_void = entry->type == MN_DURABLE_REC_VOID;
        if (entry->sequence == previous || (!is_void && !mn_durable_kind_is_write(entry->type))) {
            status = MN_ERR_CORRUPT; /* a repeated sequence, a second creation, a stray type */
            break;
        }
        if (entry->sequence != mn_replay_unvoided(&voids, previous + 1)) {
            /* The first gap: nothing after it is applied. */
            *gap = 1;
            report->gap_spaces++;
            report->gap_records += end - k;
            report->gap_space = entry->space;
            report->gap_sequence = mn_replay_unvoided(&voids, previous + 1);
            break;
        }
        previous = entry->sequence;
        if (is_void) {
            report->skipped++;
            /* Not current any more: its next checkpoint must carry the sequence past it. */
            (*replayed)++;
            continue;
        }
        status = mn_replay_submit(replay, reader, entry, space);
        if (status != MN_OK) break;
        report->replayed++;
        (*replayed)++;
    }
    free(voids.ranges);
    return status;
}

static mn_status mn_replay_apply(struct mn_engine *engine, mn_replay *replay,
                                 const mn_log_index *index, mn_checkpoint_loaded *loaded,
                                 size_t loaded_count, uint64_t *max_id, int *gaps,
                                 mn_durable_report *report) {
    mn_log_reader reader;
    mn_replay_reader_init(&reader, engine->durable);
    const mn_log_entry *entries = index->entries;
    mn_status status = MN_OK;
    size_t i = 0;
    while (i < index->count && status == MN_OK) {
        size_t j = i;
        while (j < index->count && entries[j].space == entries[i].space) j++;
        const mn_log_entry *first = &entries[i];
        const mn_log_entry *last = &entries[j - 1];
        if (first->space > *max_id) *max_id = first->space;
        mn_checkpoint_loaded *checkpoint = mn_replay_find_checkpoint(loaded, loaded_count, first->space);
        int dropped = last->type == MN_DURABLE_REC_DROP;
        if (checkpoint && dropped) {
            checkpoint->dropped = 1; /* dropped after its checkpoint: removed by open */
            report->skipped += j - i;
        } else if (checkpoint) {
            if (last->sequence > checkpoint->sequence && !checkpoint->space) {
                /* Records above its checkpoint: the space is loaded now, not lazily. */
                status = mn_ckpt_load_space(engine, checkpoint, report);
                if (status != MN_OK) break;
            }
            int gap = 0;
            status = mn_replay_space(replay, &reader, entries, i, j, checkpoint->sequence,
                                     checkpoint->space, &checkpoint->replayed, &gap, report);
            if (gap) {
                checkpoint->gap = 1;
                *gaps = 1;
            }
            /* Past every sequence the logs hold, dropped ones included (read by its workers
             * once logging is on). */
            if (status == MN_OK && last->sequence > checkpoint->sequence) {
                checkpoint->space->log_sequence = last->sequence;
            }
        } else if (first->type == MN_DURABLE_REC_CREATE && first->sequence == 0 && !dropped) {
            mn_wal_record record;
            struct mn_space *space = NULL;
            status = mn_replay_read(&reader, first, &record);
            if (status == MN_OK) status = mn_durable_replay_create(engine, &record, &space);
            if (status != MN_OK) break;
            report->replayed++;
            uint64_t replayed = 0;
            int gap = 0;
            status = mn_replay_space(replay, &reader, entries, i + 1, j, 0, space, &replayed, &gap,
                                     report);
            if (gap) *gaps = 1;
            space->log_sequence = last->sequence;
            mn_space_release(space);
        } else {
            report->skipped += j - i; /* dropped, or no creation and no checkpoint */
        }
        i = j;
    }
    pthread_mutex_lock(&replay->lock);
    while (replay->in_flight > 0) pthread_cond_wait(&replay->idle, &replay->lock);
    pthread_mutex_unlock(&replay->lock);
    mn_replay_reader_free(&reader);
    return status;
}

mn_status mn_replay_logs(struct mn_engine *engine, mn_checkpoint_loaded *loaded,
                         size_t loaded_count, uint64_t *max_id, uint64_t *log_bytes, int *gaps,
                         mn_durable_report *report) {
    struct mn_durable *d = engine->durable;
    *log_bytes = 0;
    *gaps = 0;
    mn_log_index index;
    memset(&index, 0, sizeof(index));
    uint32_t flags = d->options.repair ? MN_WAL_RECOVER_REPAIR : 0u;
    mn_status status = mn_replay_index_build(d, flags, &index, report);
    *log_bytes = index.bytes;
    report->log_bytes = index.bytes;
    if (status == MN_OK) {
        uint8_t present[MN_DURABLE_LOGS_MAX];
        status = mn_replay_dirs(d, present);
        for (uint32_t log = engine->worker_count; log < MN_DURABLE_LOGS_MAX; log++) {
            d->stale_logs[log] = present[log];
        }
    }
    if (status == MN_OK) {
        mn_replay_index_sort(&index);
        mn_replay replay;
        memset(&replay, 0, sizeof(replay));
        pthread_mutex_init(&replay.lock, NULL);
        pthread_cond_init(&replay.idle, NULL);
        replay.bound = d->options.replay_bytes;
        status = mn_replay_apply(engine, &replay, &index, loaded, loaded_count, max_id, gaps, report);
        report->replay_peak_bytes = replay.peak;
        pthread_cond_destroy(&replay.idle);
        pthread_mutex_destroy(&replay.lock);
    }
    mn_replay_index_free(&index);
    return status;
}

mn_status mn_replay_delete_log(struct mn_durable *d, uint32_t log, uint32_t *deleted) {
    *deleted = 0;
    const mn_vfs *vfs = d->vfs;
    char dir[MN_WAL_PATH_BYTES_MAX];
    mn_replay_dir_path(d, log, dir);
    uint64_t *numbers = NULL;
    size_t count = 0;
    mn_status status = mn_wal_list_segments(vfs, dir, &numbers, &count);
    /* Oldest first: a failure part-way leaves a gap-free suffix of the log. */
    for (size_t i = 0; i < count && status == MN_OK; i++) {
        char path[MN_WAL_PATH_BYTES_MAX];
        status = mn_wal_segment_path(dir, numbers[i], path);
        if (status == MN_OK) status = vfs->unlink(vfs->context, path);
        if (status == MN_ERR_NOT_FOUND) status = MN_OK;
        if (status == MN_OK) (*deleted)++;
    }
    free(numbers);
    if (status == MN_OK && count > 0) status = vfs->sync_dir(vfs->context, dir);
    return status;
}
