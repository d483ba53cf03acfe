/*
 * mn_engine_durable.c: durable engines: one write-ahead log per shard worker, group commit on
 * the worker's write path, space creation and drop records, and recovery by replay on open.
 *
 * Why one log per worker: workers never contend on a log, and a worker's group commit is one
 * write and one fdatasync of records it drained itself. Work stealing means a space's records
 * can land in several logs, so every record carries the space's id and a per-space sequence
 * number (given out by the worker running the space, one runner at a time); recovery
 * (mn_engine_replay.c) reads every log, sorts each space's records by sequence and replays them
 * in that order, up to each space's first gap.
 *
 * The write path (mn_engine_worker.c calls mn_durable_log_group): drain up to
 * MN_ENGINE_RUN_QUANTUM mailbox records of one space, encode each (barriers excepted) as one
 * WAL record, append them with one mn_wal_append (one write, one fdatasync in MN_WAL_SYNC),
 * then apply them and complete the callers. A record that cannot be logged is completed with
 * the error and not applied, so memory never holds a write the log lacks.
 *
 * Replay goes through the ordinary mailboxes and workers (with logging still off), so records
 * are applied by the same code, on the right worker's arena, in parallel across spaces. Open
 * (below) loads the checkpoints, replays the logs, opens the logs for appending, and
 * checkpoints before anything is logged when the log it read is over the automatic trigger
 * (the count survives restarts) or a space stopped at a gap.
 *
 * Record types: an operation's type is its kind (MN_OP_INSERT ... MN_OP_BATCH, and kinds added
 * later in mn_engine_internal.h that use the same packed layout, e.g. MN_OP_LINK; a delete by
 * filter (11) carries the filter's text as content, a field index's creation (12) the field
 * name as id and its kind as a u32 content, its drop (13) the name and no content, a batch of
 * upserts (14) is laid out as a batch insert); a space's
 * creation is MN_DURABLE_REC_CREATE with sequence 0, its drop MN_DURABLE_REC_DROP with sequence
 * MN_DURABLE_SEQUENCE_DROP (after everything). MN_DURABLE_REC_VOID (a sequence of its own) says
 * that the space's records with sequences first..last were in appends that failed and could not
 * be cut off their log: recovery skips them in every log (a drop's void names
 * MN_DURABLE_SEQUENCE_DROP). Payloads (little-endian host order; checked):
 *
 *   Void payload
 *   offset  size  field
 *   0       8     first voided sequence                            (MN_DURABLE_VOID_FIRST)
 *   8       8     last voided sequence                             (MN_DURABLE_VOID_LAST)
 *
 *   Operation payload
 *   offset  size              field
 *   0       4                 dimension (0 for a delete)           (MN_DURABLE_OP_DIMENSION)
 *   4       4                 flags: bit 0 metadata section        (MN_DURABLE_OP_FLAGS)
 *                             (MN_DURABLE_OP_FLAG_METADATA); other
 *                             bits 0. Earlier builds wrote 0 here
 *                             (a reserved word): their records read
 *                             as records without metadata.
 *   8       8                 count of memories                    (MN_DURABLE_OP_COUNT)
 *   16      8*(count+1)       id offsets                           (MN_DURABLE_OP_HEADER)
 *   ...     8*(count+1)       content offsets
 *   ...     8*count           creation times (ns since the epoch)
 *   ...     4*count*dimension vectors (float32)
 *   ...     id_offsets[count] ids, back to back
 *   ...     content_offsets[count] contents, back to back
 *   with flag bit 0 only:
 *   ...     8*(count+1)       metadata offsets
 *   ...     metadata_offsets[count] metadata documents (mn_meta.h) back to back, or for a
 *                             PATCH (type 10) the encoded patch
 *   A record is written with the flag only when it has metadata (a PATCH always), so a write
 *   without metadata is logged byte for byte as before.
 *
 *   Creation payload
 *   offset  size  field
 *   0       4     name bytes                                       (MN_DURABLE_CR_NAME_BYTES)
 *   4       4     dimension                                        (MN_DURABLE_CR_DIMENSION)
 *   8       4     metric                                           (MN_DURABLE_CR_METRIC)
 *   12      4     m                                                (MN_DURABLE_CR_M)
 *   16      4     ef_construction                                  (MN_DURABLE_CR_EF)
 *   20      4     reserved, 0                                      (MN_DURABLE_CR_RESERVED)
 *   24      8     seed                                             (MN_DURABLE_CR_SEED)
 *   32      n     name (UTF-8)                                     (MN_DURABLE_CR_HEADER)
 *
 * Every field read back is validated (counts, offsets, sizes, dimension against the space):
 * a record that passes its CRC but not these checks stops the open with MN_ERR_CORRUPT.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mn_bytes.h"
#include "engine/mn_engine_durable_internal.h"
#include "engine/mn_engine_internal.h"
#include "engine/mn_engine_vfs.h"
#include "engine/mn_engine_replay.h"
#include "wal/mn_wal_internal.h"
#include "mnemo/mn_engine_durable.h"
#include "wal/mn_wal.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the durable record payloads are written in host order, which must be little-endian"
#endif

/* MN_DURABLE_REC_CREATE, MN_DURABLE_REC_DROP and MN_DURABLE_REC_VOID: mn_engine_durable_internal.h */

#define MN_DURABLE_OP_DIMENSION 0u
#define MN_DURABLE_OP_FLAGS 4u
#define MN_DURABLE_OP_FLAG_METADATA 1u
#define MN_DURABLE_OP_COUNT 8u
#define MN_DURABLE_OP_HEADER 16u

#define MN_DURABLE_CR_NAME_BYTES 0u
#define MN_DURABLE_CR_DIMENSION 4u
#define MN_DURABLE_CR_METRIC 8u
#define MN_DURABLE_CR_M 12u
#define MN_DURABLE_CR_EF 16u
#define MN_DURABLE_CR_RESERVED 20u
#define MN_DURABLE_CR_SEED 24u
#define MN_DURABLE_CR_HEADER 32u

/* Format constants. A log names each record's kind by number, and logs written by earlier
 * builds must replay as they were written: the logged operation kinds (mn_engine_internal.h)
 * and the three engine record types are pinned here, so renumbering one is a build error, not a
 * log that replays as something else. docs/formats.md lists them; the log fixture in
 * Tests/fixtures/formats/ holds a record of each (test_formats). Kinds never logged (barrier 5,
 * export 8, restore 9) are not format constants; a new logged kind takes a fresh number. */
_Static_assert(MN_OP_INSERT == 1u, "WAL record type 1 is an insert: never renumber");
_Static_assert(MN_OP_UPSERT == 2u, "WAL record type 2 is an upsert: never renumber");
_Static_assert(MN_OP_DELETE == 3u, "WAL record type 3 is a delete: never renumber");
_Static_assert(MN_OP_BATCH == 4u, "WAL record type 4 is a batch insert: never renumber");
_Static_assert(MN_OP_LINK == 6u, "WAL record type 6 is a link: never renumber");
_Static_assert(MN_OP_UNLINK == 7u, "WAL record type 7 is an unlink: never renumber");
_Static_assert(MN_OP_PATCH == 10u, "WAL record type 10 is a metadata patch: never renumber");
_Static_assert(MN_OP_DELETE_FILTER == 11u, "WAL record type 11 is a delete by filter: never renumber");
_Static_assert(MN_OP_INDEX_CREATE == 12u, "WAL record type 12 creates a field index: never renumber");
_Static_assert(MN_OP_INDEX_DROP == 13u, "WAL record type 13 drops a field index: never renumber");
_Static_assert(MN_OP_UPSERT_BATCH == 14u, "WAL record type 14 is a batch of upserts: never renumber");
_Static_assert(MN_DURABLE_REC_CREATE == 0x100u, "WAL record type 0x100 creates a space");
_Static_assert(MN_DURABLE_REC_DROP == 0x101u, "WAL record type 0x101 drops a space");
_Static_assert(MN_DURABLE_REC_VOID == 0x102u, "WAL record type 0x102 voids failed records");
_Static_assert(MN_DURABLE_SEQUENCE_DROP == UINT64_MAX, "a drop record's sequence");
_Static_assert(MN_DURABLE_OP_COUNT + 8 == MN_DURABLE_OP_HEADER, "op payload header");
_Static_assert(MN_DURABLE_CR_SEED + 8 == MN_DURABLE_CR_HEADER, "creation payload header");

/* struct mn_durable and mn_durable_log: mn_engine_durable_internal.h */


/* ---- encoding ---- */

/* 1 when an op's record carries the metadata section: it has metadata, or is a patch. */
static int mn_durable_op_has_metadata(const mn_op *op) {
    return op->kind == MN_OP_PATCH || op->metadata_offsets[op->count] != 0;
}

/* Bytes of an op's payload, or 0 when it is over the record limit. */
static uint64_t mn_durable_op_bytes(const mn_op *op) {
    uint64_t n = op->count;
    uint64_t bytes = MN_DURABLE_OP_HEADER + 16u * (n + 1) + 8u * n +
                     4u * n * (uint64_t)op->dimension + op->id_offsets[n] +
                     op->content_offsets[n];
    if (mn_durable_op_has_metadata(op)) bytes += 8u * (n + 1) + op->metadata_offsets[n];
    return bytes > MN_WAL_PAYLOAD_BYTES_MAX ? 0 : bytes;
}

static void mn_durable_op_encode(const mn_op *op, uint8_t *out) {
    uint64_t n = op->count;
    int metadata = mn_durable_op_has_metadata(op);
    mn_put_u32(out + MN_DURABLE_OP_DIMENSION, op->dimension);
    mn_put_u32(out + MN_DURABLE_OP_FLAGS, metadata ? MN_DURABLE_OP_FLAG_METADATA : 0u);
    mn_put_u64(out + MN_DURABLE_OP_COUNT, n);
    uint8_t *p = out + MN_DURABLE_OP_HEADER;
    memcpy(p, op->id_offsets, 8u * (n + 1));
    p += 8u * (n + 1);
    memcpy(p, op->content_offsets, 8u * (n + 1));
    p += 8u * (n + 1);
    memcpy(p, op->created_ns, 8u * n);
    p += 8u * n;
    memcpy(p, op->vectors, 4u * n * op->dimension);
    p += 4u * n * op->dimension;
    memcpy(p, op->ids, op->id_offsets[n]);
    p += op->id_offsets[n];
    if (op->content_offsets[n]) memcpy(p, op->contents, op->content_offsets[n]);
    p += op->content_offsets[n];
    if (!metadata) return;
    memcpy(p, op->metadata_offsets, 8u * (n + 1));
    p += 8u * (n + 1);
    if (op->metadata_offsets[n]) memcpy(p, op->metadata, op->metadata_offsets[n]);
}

/* ---- the write path (workers) ---- */

/* Kinds that are writes: logged, and replayed on open. Barriers, exports and restores are not
 * writes and are never logged. */
int mn_durable_kind_is_write(uint32_t kind) {
    switch (kind) {
    case MN_OP_INSERT:
    case MN_OP_UPSERT:
    case MN_OP_DELETE:
    case MN_OP_BATCH:
    case MN_OP_UPSERT_BATCH:
    case MN_OP_PATCH:
    case MN_OP_DELETE_FILTER:
    case MN_OP_INDEX_CREATE:
    case MN_OP_INDEX_DROP:
#ifdef MN_OP_LINK
    case MN_OP_LINK:
#endif
#ifdef MN_OP_UNLINK
    case MN_OP_UNLINK:
#endif
        return 1;
    default:
        return 0;
    }
}


static int mn_durable_logging(const struct mn_durable *d) {
    return atomic_load_explicit(&((struct mn_durable *)d)->logging, memory_order_acquire) != 0;
}

/* Appends records[0 .. count) of the worker's log as one group commit; *residue as
 * mn_wal_append_checked's. */
static mn_status mn_durable_append(struct mn_durable *d, mn_durable_log *log, uint32_t count,
                                   int32_t *residue) {
    mn_wal_append_info info;
    mn_status status = mn_wal_append_checked(log->wal, log->records, count, &info, residue);
    if (status == MN_OK) {
        atomic_fetch_add_explicit(&d->logged_bytes, info.bytes, memory_order_relaxed);
    }
    return status;
}

/* Makes `record` durable in one of the logs, trying each from `start` on (a refused or failed
 * one is skipped): MN_OK once one has it on disk (in the page cache for MN_WAL_NONE). Used
 * for records that void failed ones, so a copy left behind by a failure is harmless. */
static mn_status mn_durable_append_any(struct mn_durable *d, uint32_t start,
                                       const mn_wal_record *record) {
    mn_status result = MN_ERR_IO;
    for (uint32_t k = 0; k < d->log_count; k++) {
        mn_wal *wal = d->logs[(start + k) % d->log_count].wal;
        mn_status status = mn_wal_append_checked(wal, record, 1, NULL, NULL);
        if (status == MN_OK && d->options.durability == MN_WAL_BATCHED) status = mn_wal_sync(wal);
        if (status == MN_OK) return MN_OK;
        result = status;
    }
    return result;
}

/* A space's drop record: no payload, the sequence after every other of the space. */
static mn_wal_record mn_durable_drop_record(uint64_t space_id) {
    return (mn_wal_record){
        .space = space_id,
        .sequence = MN_DURABLE_SEQUENCE_DROP,
        .type = MN_DURABLE_REC_DROP,
        .payload_bytes = 0,
        .payload = NULL,
    };
}

static void mn_durable_void_encode(uint64_t first, uint64_t last, uint8_t *out) {
    mn_put_u64(out + MN_DURABLE_VOID_FIRST, first);
    mn_put_u64(out + MN_DURABLE_VOID_LAST, last);
}

/* Tries to make the space's pending void durable in any log now (its runner, or a dropping
 * thread for a drop's void). Returns 1 when done (nothing pending any more). */
static int mn_durable_void_now(struct mn_durable *d, struct mn_space *space, uint32_t start) {
    if (space->void_first == 0) return 1;
    if (space->log_sequence >= MN_ENGINE_SEQUENCE_MAX) return 0; /* sequences used up */
    uint8_t payload[MN_DURABLE_VOID_BYTES];
    uint64_t sequence = ++space->log_sequence;
    mn_durable_void_encode(space->void_first, space->void_last, payload);
    mn_wal_record record = {
        .space = space->space_id,
        .sequence = sequence,
        .type = MN_DURABLE_REC_VOID,
        .payload_bytes = MN_DURABLE_VOID_BYTES,
        .payload = payload,
    };
    if (mn_durable_append_any(d, start, &record) == MN_OK) {
        space->void_first = 0;
        space->void_last = 0;
        return 1;
    }
    space->void_last = sequence; /* never given out again either */
    return 0;
}

void mn_durable_log_group(mn_worker *worker, struct mn_space *space, mn_op **group,
                          uint32_t count, mn_status *statuses) {
    struct mn_durable *d = worker->engine->durable;
    MN_ASSERT(d && "the WAL table's hooks run only on an engine it was chosen for");
    if (!mn_durable_logging(d)) return;
    mn_durable_log *log = &d->logs[worker->index];
    uint32_t start = 0;
    while (start < count) {
        /* One chunk: as many ops as fit in one group commit (nearly always the whole group). */
        uint64_t total = 0;
        uint64_t sequenced = 0; /* ops of this chunk that take a sequence */
        uint32_t stop = start;
        for (; stop < count; stop++) {
            mn_op *op = group[stop];
            if (!mn_durable_kind_is_write(op->kind) || statuses[stop] != MN_OK) continue;
            if (space->log_sequence + sequenced + (space->void_first != 0) >= MN_ENGINE_SEQUENCE_MAX) {
                statuses[stop] = MN_ERR_TOO_LARGE; /* sequences used up: never wrap */
                continue;
            }
            uint64_t bytes = mn_durable_op_bytes(op);
            if (bytes == 0) {
                statuses[stop] = MN_ERR_TOO_LARGE; /* cannot be one log record */
                continue;
            }
            if (total > 0 && total + bytes + MN_ENGINE_RUN_QUANTUM * 64ull > MN_WAL_BATCH_BYTES_MAX) {
                break;
            }
            total += bytes;
            sequenced++;
        }
        if (total > log->scratch_bytes) {
            uint8_t *grown = malloc((size_t)total);
            if (!grown) {
                for (uint32_t i = start; i < stop; i++) {
                    if (mn_durable_kind_is_write(group[i]->kind) && statuses[i] == MN_OK) {
                        statuses[i] = MN_ERR_NO_MEMORY;
                    }
                }
                start = stop;
                continue;
            }
            free(log->scratch);
            log->scratch = grown;
            log->scratch_bytes = (size_t)total;
        }
        uint32_t records = 0;
        uint64_t first_sequence = space->log_sequence;
        uint8_t void_payload[MN_DURABLE_VOID_BYTES];
        if (total > 0 && space->void_first != 0) {
            /* An earlier failure's void rides with this chunk: durable with it, or not at all. */
            mn_durable_void_encode(space->void_first, space->void_last, void_payload);
            log->records[records++] = (mn_wal_record){
                .space = space->space_id,
                .sequence = ++space->log_sequence,
                .type = MN_DURABLE_REC_VOID,
                .payload_bytes = MN_DURABLE_VOID_BYTES,
                .payload = void_payload,
            };
        }
        uint8_t *cursor = log->scratch;
        for (uint32_t i = start; i < stop; i++) {
            mn_op *op = group[i];
            if (!mn_durable_kind_is_write(op->kind) || statuses[i] != MN_OK) continue;
            if (op->expect_sequence != 0 && op->expect_sequence != space->log_sequence + 1) {
                /* A record from another node that does not continue this space's sequence
                 * (mn_replica_apply): refused, neither logged nor applied. */
                statuses[i] = MN_ERR_INVALID;
                continue;
            }
            uint64_t bytes = mn_durable_op_bytes(op);
            mn_durable_op_encode(op, cursor);
            log->records[records++] = (mn_wal_record){
                .space = space->space_id,
                .sequence = ++space->log_sequence,
                .type = op->kind,
                .payload_bytes = (uint32_t)bytes,
                .payload = cursor,
            };
            cursor += bytes;
        }
        if (records > 0) {
            int32_t residue = 0;
            mn_status status = mn_durable_append(d, log, records, &residue);
            if (status == MN_OK) {
                space->void_first = 0; /* the void went with the chunk */
                space->void_last = 0;
            } else if (!residue) {
                /* Cut off the log (or never written): nothing of the chunk is anywhere, so
                 * its sequences are given out again. */
                space->log_sequence = first_sequence;
            } else {
                /* The chunk may be in the log, which refuses appends from now on: its
                 * sequences are never given out again, and a void naming them is made durable
                 * elsewhere, or the writes' outcome is unknown (issue 9, item 4). */
                if (space->void_first == 0) space->void_first = first_sequence + 1;
                space->void_last = space->log_sequence;
                if (!mn_durable_void_now(d, space, worker->index + 1)) {
                    status = MN_DURABLE_STATUS_UNKNOWN;
                }
            }
            if (status != MN_OK) {
                for (uint32_t i = start; i < stop; i++) {
                    if (mn_durable_kind_is_write(group[i]->kind) && statuses[i] == MN_OK) {
                        statuses[i] = status;
                    }
                }
            }
        }
        start = stop;
    }
    if (log->scratch_bytes > MN_DURABLE_SCRATCH_KEEP_BYTES) {
        free(log->scratch);
        log->scratch = NULL;
        log->scratch_bytes = 0;
    }
}

int mn_durable_tick(mn_worker *worker) {
    struct mn_durable *d = worker->engine->durable;
    MN_ASSERT(d && "the WAL table's hooks run only on an engine it was chosen for");
    if (d->options.durability != MN_WAL_BATCHED || !mn_durable_logging(d)) return 0;
    if (worker->index >= d->log_count) return 0;
    int32_t synced = 1;
    /* A failed log syncs nothing more: no reason to look again soon. */
    if (mn_wal_tick(d->logs[worker->index].wal, &synced) != MN_OK) return 0;
    return !synced;
}

/* ---- creation and drop (caller threads) ---- */

mn_status mn_durable_log_create(struct mn_engine *engine, struct mn_space *space) {
    struct mn_durable *d = engine->durable;
    MN_ASSERT(d && "the WAL table's hooks run only on an engine it was chosen for");
    space->log_sequence = 0;
    space->checkpoint_enqueued = 0;
    space->checkpointed = 0;
    space->checkpoint_dead = 0;
    if (!mn_durable_logging(d)) { /* replay: the id comes from the log */
        space->space_id = d->replay_space_id;
        return MN_OK;
    }
    /* Held until the space is in the table (mn_durable_create_done): a checkpoint's cut
     * cannot fall between this creation record and the space's entry in the table. */
    pthread_rwlock_rdlock(&d->create_lock);
    space->space_id = atomic_fetch_add_explicit(&d->next_space_id, 1, memory_order_relaxed);
    uint8_t payload[MN_DURABLE_CR_HEADER + MN_ENGINE_NAME_BYTES_MAX];
    mn_put_u32(payload + MN_DURABLE_CR_NAME_BYTES, space->name_bytes);
    mn_put_u32(payload + MN_DURABLE_CR_DIMENSION, space->params.dimension);
    mn_put_u32(payload + MN_DURABLE_CR_METRIC, (uint32_t)space->params.metric);
    mn_put_u32(payload + MN_DURABLE_CR_M, space->params.m);
    mn_put_u32(payload + MN_DURABLE_CR_EF, space->params.ef_construction);
    mn_put_u32(payload + MN_DURABLE_CR_RESERVED, 0);
    mn_put_u64(payload + MN_DURABLE_CR_SEED, space->params.seed);
    memcpy(payload + MN_DURABLE_CR_HEADER, space->name, space->name_bytes);
    mn_wal_record record = {
        .space = space->space_id,
        .sequence = 0,
        .type = MN_DURABLE_REC_CREATE,
        .payload_bytes = MN_DURABLE_CR_HEADER + space->name_bytes,
        .payload = payload,
    };
    uint32_t home = space->home % d->log_count;
    int32_t residue = 0;
    mn_status status = mn_wal_append_checked(d->logs[home].wal, &record, 1, NULL, &residue);
    if (status != MN_OK && residue) {
        /* The creation may be in the log (which refuses appends now): a durable drop record
         * of the id, in any log, voids it (ids are never given out twice). Without one, the
         * empty space may be there after a restart. */
        mn_wal_record drop = mn_durable_drop_record(space->space_id);
        (void)mn_durable_append_any(d, home + 1, &drop);
    }
    if (status != MN_OK) pthread_rwlock_unlock(&d->create_lock); /* create returns at once */
    return status;
}

void mn_durable_create_done(struct mn_engine *engine) {
    struct mn_durable *d = engine->durable;
    MN_ASSERT(d && "the WAL table's hooks run only on an engine it was chosen for");
    if (!mn_durable_logging(d)) return;
    pthread_rwlock_unlock(&d->create_lock);
}

mn_status mn_durable_log_drop(struct mn_engine *engine, struct mn_space *space) {
    struct mn_durable *d = engine->durable;
    MN_ASSERT(d && "the WAL table's hooks run only on an engine it was chosen for");
    if (!mn_durable_logging(d)) return MN_OK;
    mn_wal_record record = mn_durable_drop_record(space->space_id);
    uint32_t home = space->home % d->log_count;
    mn_wal *wal = d->logs[home].wal;
    /* checkpoint_lock from the record to forgetting the space: a checkpoint builds its index
     * under it, so an index either predates the record (which then stays in the log: it lies
     * above that checkpoint's cut) or leaves the space out. */
    pthread_mutex_lock(&d->checkpoint_lock);
    int32_t residue = 0;
    mn_status status = mn_wal_append_checked(wal, &record, 1, NULL, &residue);
    /* The space may leave the checkpoints only once its drop record is durable. */
    if (status == MN_OK && d->options.durability == MN_WAL_BATCHED) {
        status = mn_wal_sync(wal);
        residue = status != MN_OK; /* in the file, maybe on the disk */
    }
    if (status != MN_OK && residue) {
        /* The record may be in the log, so the drop may happen at the next open whatever we
         * say: make it certain with a copy in another log, or say the outcome is unknown. */
        status = mn_durable_append_any(d, home + 1, &record) == MN_OK ? MN_OK
                                                                       : MN_DURABLE_STATUS_UNKNOWN;
    }
    /* Durable: the drop has happened, and nothing after this can fail (issue 9, item 7). */
    if (status == MN_OK) mn_ckpt_forget_locked(d, space);
    pthread_mutex_unlock(&d->checkpoint_lock);
    return status;
}

void mn_durable_close(struct mn_engine *engine) {
    struct mn_durable *d = engine->durable;
    MN_ASSERT(d && "the WAL table's hooks run only on an engine it was chosen for");
    if (d->lock_fd < 0) return;
    (void)mn_engine_sync(engine); /* a failed sync is the log's to report: it refuses writes */
    d->vfs->close(d->vfs->context, d->lock_fd); /* releases the lock */
    d->lock_fd = -1;
}

void mn_durable_free(struct mn_engine *engine) {
    struct mn_durable *d = engine->durable;
    MN_ASSERT(d && "the WAL table's hooks run only on an engine it was chosen for");
    for (uint32_t i = 0; i < MN_DURABLE_LOGS_MAX; i++) {
        mn_wal_close(d->logs[i].wal);
        free(d->logs[i].scratch);
    }
    if (d->lock_fd >= 0) d->vfs->close(d->vfs->context, d->lock_fd); /* releases the lock */
    engine->durable = NULL;
    mn_ckpt_state_free(d);
    mn_lazy_state_free(d);
    free(d);
}

/* ---- public: options, sync ---- */

mn_status mn_durable_options_default(const char *path, mn_durable_options *out) {
    if (!out) return MN_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    out->path = path;
    out->durability = MN_WAL_SYNC;
    out->sync_interval_ms = MN_WAL_SYNC_INTERVAL_MS_DEFAULT;
    out->segment_bytes = MN_WAL_SEGMENT_BYTES_DEFAULT;
    out->repair = 0;
    out->checkpoint_log_bytes = MN_DURABLE_CHECKPOINT_LOG_BYTES;
    return MN_OK;
}

mn_status mn_engine_is_durable(const mn_engine *engine, uint32_t *out) {
    if (!engine || !out) return MN_ERR_INVALID;
    *out = engine->durable != NULL;
    return MN_OK;
}

mn_status mn_engine_sync(mn_engine *engine) {
    if (!engine) return MN_ERR_INVALID;
    struct mn_durable *d = engine->durable;
    if (!d || !mn_durable_logging(d) || d->options.durability == MN_WAL_NONE) return MN_OK;
    mn_status result = MN_OK;
    for (uint32_t i = 0; i < d->log_count; i++) {
        mn_status status = mn_wal_sync(d->logs[i].wal);
        if (status != MN_OK) result = status;
    }
    return result;
}

mn_status mn_engine_durable_stats(const mn_engine *engine, mn_durable_stats *out) {
    if (!engine || !out) return MN_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    struct mn_durable *d = engine->durable;
    if (!d) return MN_OK; /* in memory: no log, no checkpoint, every counter 0 */
    out->durable = 1;
    /* log_count and the log handles are fixed once open has returned (the engine's caller
     * holds it), so they are read without a lock; the counters are relaxed atomics. */
    mn_wal_sync_stats sync;
    memset(&sync, 0, sizeof(sync));
    for (uint32_t i = 0; i < d->log_count; i++) {
        mn_status status = mn_wal_sync_stats_add(d->logs[i].wal, &sync);
        MN_ASSERT(status == MN_OK);
    }
    out->fsyncs = sync.syncs;
    out->fsync_ns = sync.sync_ns;
    memcpy(out->fsync_buckets, sync.buckets, sizeof(out->fsync_buckets));
    out->checkpoints = atomic_load_explicit(&d->checkpoints_done, memory_order_relaxed);
    out->checkpoint_failures = atomic_load_explicit(&d->checkpoint_failures, memory_order_relaxed);
    out->last_checkpoint_unix_ns =
        atomic_load_explicit(&d->checkpoint_last_unix_ns, memory_order_relaxed);
    out->last_checkpoint_ns = atomic_load_explicit(&d->checkpoint_last_ns, memory_order_relaxed);
    out->opened_unix_ns = d->opened_unix_ns;
    out->logged_bytes = atomic_load_explicit(&d->logged_bytes, memory_order_relaxed);
    uint64_t mark = atomic_load_explicit(&d->checkpoint_mark_bytes, memory_order_relaxed);
    /* A checkpoint may publish its mark between the two loads: never report a negative. */
    out->log_bytes_since_checkpoint = out->logged_bytes > mark ? out->logged_bytes - mark : 0;
    return MN_OK;
}

/* ---- recovery ---- */

/* Decodes and checks an operation payload against its space; MN_ERR_CORRUPT if it is bad. */
mn_status mn_durable_decode_op(const mn_wal_record *entry, const struct mn_space *space,
                               mn_op **out) {
    if (!mn_durable_kind_is_write(entry->type)) return MN_ERR_CORRUPT;
    const uint8_t *p = entry->payload;
    uint64_t size = entry->payload_bytes;
    if (size < MN_DURABLE_OP_HEADER + 8) return MN_ERR_CORRUPT;
    uint32_t dimension = mn_get_u32(p + MN_DURABLE_OP_DIMENSION);
    uint64_t n = mn_get_u64(p + MN_DURABLE_OP_COUNT);
    uint32_t flags = mn_get_u32(p + MN_DURABLE_OP_FLAGS);
    if ((flags & ~MN_DURABLE_OP_FLAG_METADATA) != 0) return MN_ERR_CORRUPT;
    int metadata = (flags & MN_DURABLE_OP_FLAG_METADATA) != 0;
    if (n > MN_ENGINE_BATCH_COUNT_MAX || dimension > MN_DIMENSION_MAX) return MN_ERR_CORRUPT;
    /* Each kind's shape: memories per record and vector width (see mn_engine_internal.h), and
     * whether it may carry metadata (a patch must). */
    int batch = entry->type == MN_OP_BATCH || entry->type == MN_OP_UPSERT_BATCH;
    uint64_t count_expected = batch ? n : 1;
    uint32_t dimension_expected = entry->type == MN_OP_DELETE ? 0 : space->params.dimension;
    int metadata_allowed = entry->type == MN_OP_INSERT || entry->type == MN_OP_UPSERT || batch ||
                           entry->type == MN_OP_PATCH;
    if (entry->type == MN_OP_PATCH) {
        dimension_expected = 0;
        if (!metadata) return MN_ERR_CORRUPT;
    }
#ifdef MN_OP_LINK
    if (entry->type == MN_OP_LINK) {
        count_expected = 2;
        dimension_expected = 1;
    }
#endif
#ifdef MN_OP_UNLINK
    if (entry->type == MN_OP_UNLINK) {
        count_expected = 2;
        dimension_expected = 0;
    }
#endif
    if (entry->type == MN_OP_DELETE_FILTER || entry->type == MN_OP_INDEX_CREATE ||
        entry->type == MN_OP_INDEX_DROP) {
        dimension_expected = 0;
    }
    if (n == 0 || n != count_expected || dimension != dimension_expected) return MN_ERR_CORRUPT;
    if (metadata && !metadata_allowed) return MN_ERR_CORRUPT;
    uint64_t fixed = MN_DURABLE_OP_HEADER + 16u * (n + 1) + 8u * n + 4u * n * dimension;
    if (fixed > size) return MN_ERR_CORRUPT;
    const uint8_t *ids_at = p + MN_DURABLE_OP_HEADER;
    const uint8_t *contents_at = ids_at + 8u * (n + 1);
    uint64_t id_total = mn_get_u64(ids_at + 8u * n);
    uint64_t content_total = mn_get_u64(contents_at + 8u * n);
    if (mn_get_u64(ids_at) != 0 || mn_get_u64(contents_at) != 0) return MN_ERR_CORRUPT;
    if (id_total > size || content_total > size || fixed + id_total + content_total > size) {
        return MN_ERR_CORRUPT;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a = mn_get_u64(ids_at + 8u * i), b = mn_get_u64(ids_at + 8u * (i + 1));
        if (b <= a || b - a > MN_ENGINE_ID_BYTES_MAX) return MN_ERR_CORRUPT;
        uint64_t c = mn_get_u64(contents_at + 8u * i), e = mn_get_u64(contents_at + 8u * (i + 1));
        if (e < c) return MN_ERR_CORRUPT;
    }
    /* The metadata section, after the contents: offsets, then the documents (or the patch). */
    uint64_t base = fixed + id_total + content_total; /* where the old layout ended */
    const uint8_t *meta_offsets_at = p + base;
    const uint8_t *meta_at = NULL;
    uint64_t meta_total = 0;
    if (!metadata) {
        if (base != size) return MN_ERR_CORRUPT;
    } else {
        if (size - base < 8u * (n + 1)) return MN_ERR_CORRUPT;
        meta_at = meta_offsets_at + 8u * (n + 1);
        meta_total = mn_get_u64(meta_offsets_at + 8u * n);
        if (mn_get_u64(meta_offsets_at) != 0 || meta_total != size - base - 8u * (n + 1)) {
            return MN_ERR_CORRUPT;
        }
        for (uint64_t i = 0; i < n; i++) {
            uint64_t a = mn_get_u64(meta_offsets_at + 8u * i);
            uint64_t b = mn_get_u64(meta_offsets_at + 8u * (i + 1));
            if (b < a || b > meta_total) return MN_ERR_CORRUPT;
            /* Checked as at submission: a record that passed its CRC but holds a document the
             * codec refuses was not written by this engine. */
            mn_status check = entry->type == MN_OP_PATCH
                                  ? mn_engine_meta_check_patch(meta_at + a, b - a, NULL)
                                  : mn_engine_meta_check_doc(meta_at + a, b - a, NULL);
            if (check != MN_OK) return MN_ERR_CORRUPT;
        }
    }
    /* A delete by filter carries its filter's text as content: checked as at submission. */
    if (entry->type == MN_OP_DELETE_FILTER) {
        mn_filter *filter = NULL;
        mn_status parsed = mn_filter_parse((const char *)(p + fixed + id_total),
                                           (size_t)content_total, &filter, NULL);
        if (parsed == MN_ERR_NO_MEMORY) return parsed;
        if (parsed != MN_OK) return MN_ERR_CORRUPT;
        mn_filter_free(filter);
    }
    /* A field index's creation or drop: its name (the id) and kind (the content). */
    if (entry->type == MN_OP_INDEX_CREATE || entry->type == MN_OP_INDEX_DROP) {
        if (mn_engine_index_check_op(entry->type, (const char *)(p + fixed), id_total,
                                     p + fixed + id_total, content_total) != MN_OK) {
            return MN_ERR_CORRUPT;
        }
    }
    /* One block holding the op header, its metadata offsets (aligned: in the payload they
     * follow byte strings) and the payload's arrays (freed by mn_space_apply). */
    size_t header = (sizeof(mn_op) + 7u) & ~(size_t)7u;
    size_t offsets = (size_t)(8u * (n + 1));
    uint8_t *block = malloc(header + offsets + (size_t)(size - MN_DURABLE_OP_HEADER));
    if (!block) return MN_ERR_NO_MEMORY;
    mn_op *op = (mn_op *)block;
    memset(op, 0, sizeof(*op));
    op->metadata_offsets = (uint64_t *)(block + header);
    if (metadata) memcpy(op->metadata_offsets, meta_offsets_at, offsets);
    else memset(op->metadata_offsets, 0, offsets);
    uint8_t *data = block + header + offsets;
    memcpy(data, p + MN_DURABLE_OP_HEADER, (size_t)(size - MN_DURABLE_OP_HEADER));
    op->kind = entry->type;
    op->dimension = dimension;
    op->count = n;
    op->id_offsets = (uint64_t *)data;
    op->content_offsets = (uint64_t *)(data + 8u * (n + 1));
    op->created_ns = (int64_t *)(data + 16u * (n + 1));
    op->vectors = (float *)(data + 16u * (n + 1) + 8u * n);
    op->ids = (char *)(data + 16u * (n + 1) + 8u * n + 4u * n * dimension);
    op->contents = (uint8_t *)op->ids + id_total;
    op->metadata = metadata ? data + (meta_at - (p + MN_DURABLE_OP_HEADER)) : op->contents;
    *out = op;
    return MN_OK;
}

/* Creates a space from its creation record (logging is off, so nothing is logged). */
mn_status mn_durable_replay_create(struct mn_engine *engine, const mn_wal_record *entry,
                                   mn_space **out) {
    if (entry->payload_bytes < MN_DURABLE_CR_HEADER) return MN_ERR_CORRUPT;
    const uint8_t *p = entry->payload;
    uint32_t name_bytes = mn_get_u32(p + MN_DURABLE_CR_NAME_BYTES);
    if (name_bytes == 0 || name_bytes > MN_ENGINE_NAME_BYTES_MAX ||
        MN_DURABLE_CR_HEADER + name_bytes != entry->payload_bytes) {
        return MN_ERR_CORRUPT;
    }
    mn_hnsw_params params;
    mn_status status = mn_hnsw_params_default(mn_get_u32(p + MN_DURABLE_CR_DIMENSION),
                                              (mn_metric)mn_get_u32(p + MN_DURABLE_CR_METRIC),
                                              &params);
    if (status != MN_OK) return MN_ERR_CORRUPT;
    params.m = mn_get_u32(p + MN_DURABLE_CR_M);
    params.ef_construction = mn_get_u32(p + MN_DURABLE_CR_EF);
    params.seed = mn_get_u64(p + MN_DURABLE_CR_SEED);
    engine->durable->replay_space_id = entry->space;
    status = mn_engine_space_create(engine, (const char *)p + MN_DURABLE_CR_HEADER,
                                              name_bytes, &params, out);
    /* A record that passed its CRC but names an impossible space is damage, not a bug. */
    if (status == MN_ERR_INVALID || status == MN_ERR_DIMENSION || status == MN_ERR_TOO_LARGE ||
        status == MN_ERR_DUPLICATE) {
        status = MN_ERR_CORRUPT;
    }
    return status;
}

/* The table's space_load: a closed durable engine no longer holds its directory's lock, so it
 * reads no checkpoint and, as this is a drop's first durability call, logs no drop
 * (MN_ERR_CLOSED; an open of a closed engine is refused before it gets here). */
static mn_status mn_durable_load(struct mn_engine *engine, const char *name,
                                 uint32_t name_bytes, struct mn_space **out) {
    *out = NULL;
    if (atomic_load_explicit(&engine->closed, memory_order_acquire)) return MN_ERR_CLOSED;
    return mn_lazy_space_load(engine, name, name_bytes, out);
}

/* The write-ahead-log durability table (mn_engine_durability.h): what the engine calls, at the
 * points and with the locks listed there, for an engine opened here. */
static const mn_durability_hooks mn_durable_table = {
    .log_group = mn_durable_log_group,
    .tick = mn_durable_tick,
    .stub_exists = mn_lazy_stub_exists,
    .log_create = mn_durable_log_create,
    .create_done = mn_durable_create_done,
    .log_drop = mn_durable_log_drop,
    .space_load = mn_durable_load,
    .space_count = mn_lazy_space_count,
    .space_list = mn_lazy_space_list,
    .publish_imported = mn_ckpt_publish_imported,
    .stop = mn_ckpt_stop,
    .close = mn_durable_close,
    .free = mn_durable_free,
};

/* Creates the data directory and takes the exclusive lock on <path>/LOCK; *fd gets the locked
 * handle. MN_ERR_LOCKED when another engine (this process or another) holds it: before any
 * recovery, so a second open changes nothing (it would otherwise cut the live log's tail). */
static mn_status mn_durable_lock(const mn_vfs *vfs, const char *path, int *fd) {
    *fd = -1;
    if (vfs->mkdir(vfs->context, path) != MN_OK) return MN_ERR_IO;
    char lock_path[MN_WAL_PATH_BYTES_MAX];
    int n = snprintf(lock_path, sizeof(lock_path), "%s/LOCK", path);
    if (n < 0 || (size_t)n >= sizeof(lock_path)) return MN_ERR_TOO_LARGE;
    int handle = -1;
    mn_status status = vfs->open(vfs->context, lock_path, MN_VFS_READ_WRITE | MN_VFS_CREATE, &handle);
    if (status != MN_OK) return status == MN_ERR_FULL ? status : MN_ERR_IO;
    status = vfs->lock(vfs->context, handle);
    if (status != MN_OK) {
        vfs->close(vfs->context, handle);
        return status == MN_ERR_LOCKED ? status : MN_ERR_IO;
    }
    *fd = handle;
    return MN_OK;
}

mn_status mn_engine_open(const mn_engine_options *options, const mn_durable_options *durable,
                         mn_engine **out, mn_durable_report *report) {
    return mn_engine_open_vfs(options, durable, mn_vfs_posix(), out, report);
}

mn_status mn_engine_open_vfs(const mn_engine_options *options, const mn_durable_options *durable,
                             const mn_vfs *vfs, mn_engine **out, mn_durable_report *report) {
    mn_durable_report scratch_report;
    if (!report) report = &scratch_report;
    memset(report, 0, sizeof(*report));
    if (!out || !durable || !durable->path || !vfs) return MN_ERR_INVALID;
    *out = NULL;
    size_t path_bytes = strlen(durable->path);
    if (path_bytes == 0) return MN_ERR_INVALID;
    if (path_bytes > MN_DURABLE_PATH_BYTES_MAX) return MN_ERR_TOO_LARGE;
    if (durable->durability != MN_WAL_SYNC && durable->durability != MN_WAL_BATCHED &&
        durable->durability != MN_WAL_NONE) {
        return MN_ERR_INVALID;
    }
    if (durable->durability == MN_WAL_BATCHED &&
        (durable->sync_interval_ms == 0 ||
         durable->sync_interval_ms > MN_WAL_SYNC_INTERVAL_MS_MAX)) {
        return MN_ERR_INVALID;
    }
    uint64_t segment_bytes = durable->segment_bytes ? durable->segment_bytes
                                                    : MN_WAL_SEGMENT_BYTES_DEFAULT;
    if (segment_bytes < MN_WAL_SEGMENT_BYTES_MIN || segment_bytes > MN_WAL_SEGMENT_BYTES_MAX) {
        return MN_ERR_INVALID;
    }
    int lock_fd = -1;
    mn_status status = mn_durable_lock(vfs, durable->path, &lock_fd);
    if (status != MN_OK) return status;
    struct mn_durable *d = calloc(1, sizeof(struct mn_durable));
    if (!d) {
        vfs->close(vfs->context, lock_fd);
        return MN_ERR_NO_MEMORY;
    }
    d->vfs = vfs;
    d->lock_fd = lock_fd;
    d->options = *durable;
    d->options.segment_bytes = segment_bytes;
    if (d->options.replay_bytes == 0) d->options.replay_bytes = MN_DURABLE_REPLAY_BYTES;
    memcpy(d->path, durable->path, path_bytes + 1);
    d->options.path = d->path;
    atomic_init(&d->next_space_id, 1);
    atomic_init(&d->logging, 0);
    atomic_init(&d->logged_bytes, 0);
    atomic_init(&d->checkpoints_done, 0);
    atomic_init(&d->checkpoint_failures, 0);
    atomic_init(&d->checkpoint_last_unix_ns, 0);
    atomic_init(&d->checkpoint_last_ns, 0);
    atomic_init(&d->checkpoint_mark_bytes, 0);
    d->opened_unix_ns = mn_engine_now_ns();
    mn_ckpt_state_init(d);
    mn_lazy_state_init(d);
    mn_engine *engine = NULL;
    status = mn_engine_create_with(options, &mn_durable_table, d, &engine);
    if (status != MN_OK) {
        vfs->close(vfs->context, lock_fd);
        mn_ckpt_state_free(d);
        mn_lazy_state_free(d);
        free(d);
        return status;
    }
    if (engine->worker_count > MN_DURABLE_LOGS_MAX) {
        status = MN_ERR_TOO_LARGE;
        goto fail;
    }
    /* Checkpoints first, then the logs on top of them. */
    mn_checkpoint_loaded *loaded = NULL;
    size_t loaded_count = 0;
    uint64_t max_id = 0, log_bytes = 0;
    int gaps = 0;
    status = mn_ckpt_load_all(engine, &loaded, &loaded_count, &max_id, report);
    if (status == MN_OK) {
        status = mn_replay_logs(engine, loaded, loaded_count, &max_id, &log_bytes, &gaps, report);
    }
    for (size_t i = 0; i < loaded_count; i++) {
        mn_space *space = loaded[i].space;
        if (status == MN_OK && loaded[i].dropped) {
            /* Dropped after its checkpoint: the next index leaves its entry out. */
            if (space) status = mn_engine_space_drop(engine, space->name, space->name_bytes);
            if (status == MN_OK) status = mn_ckpt_remove(d, loaded[i].space_id);
        } else if (status == MN_OK && !space) {
            /* Everything of it is in its entry: it stays a stub until first used. */
            status = mn_lazy_stub_add(d, &loaded[i]);
            continue;
        } else if (status == MN_OK && loaded[i].replayed == 0 && !loaded[i].gap) {
            /* Nothing above the checkpoint: it is current (the replay is finished). */
            space->checkpointed = 1;
            space->checkpoint_enqueued = atomic_load_explicit(&space->enqueue_pos,
                                                              memory_order_acquire);
        }
        if (space) mn_space_release(space);
    }
    free(loaded);
    if (status != MN_OK) goto fail;
    atomic_store_explicit(&d->next_space_id, max_id + 1, memory_order_relaxed);
    for (uint32_t i = 0; i < engine->worker_count; i++) {
        char log_path[MN_WAL_PATH_BYTES_MAX];
        snprintf(log_path, sizeof(log_path), "%s/wal-%03u", d->path, i);
        mn_wal_options wal_options;
        mn_wal_options_default(log_path, &wal_options);
        wal_options.segment_bytes = segment_bytes;
        wal_options.durability = durable->durability;
        wal_options.sync_interval_ms = durable->durability == MN_WAL_BATCHED
                                           ? durable->sync_interval_ms
                                           : MN_WAL_SYNC_INTERVAL_MS_DEFAULT;
        wal_options.vfs = vfs;
        status = mn_wal_open(&wal_options, &d->logs[i].wal);
        if (status != MN_OK) goto fail;
        d->log_count = i + 1;
    }
    /* spaces/ exists from here on, so its own name is made durable with the logs' below: a
     * checkpoint later renamed into it, and the log cut after it, would otherwise vanish with
     * the directory at a power loss (test_faultfs: test_checkpoint_power_loss). */
    char spaces[MN_WAL_PATH_BYTES_MAX];
    snprintf(spaces, sizeof(spaces), "%s/spaces", d->path);
    if (vfs->mkdir(vfs->context, spaces) != MN_OK) {
        status = MN_ERR_IO;
        goto fail;
    }
    status = vfs->sync_dir(vfs->context, d->path); /* wal-NNN, spaces (and LOCK) */
    if (status != MN_OK) goto fail;
    /* The log read at open counts as written since the last checkpoint, so that a process
     * restarted often still reaches the trigger. Over it (or with a space stopped at a gap,
     * whose dropped records must fall below a checkpoint before any new write is logged),
     * checkpoint now, before anything is logged: the next open replays little. */
    atomic_store_explicit(&d->logged_bytes, log_bytes, memory_order_relaxed);
    if (gaps || (d->options.checkpoint_log_bytes != 0 &&
                 log_bytes >= d->options.checkpoint_log_bytes)) {
        mn_checkpoint_report checkpoint;
        status = mn_ckpt_run_at_open(engine, &checkpoint);
        /* Only a gap makes it required; otherwise the log still holds everything. */
        if (status != MN_OK && gaps) goto fail;
        report->checkpointed = status == MN_OK;
        status = MN_OK;
    }
    mn_engine_space_count(engine, &report->spaces);
    atomic_store_explicit(&d->logging, 1, memory_order_release);
    status = mn_ckpt_thread_start(engine);
    if (status != MN_OK) goto fail;
    *out = engine;
    return MN_OK;
fail:
    mn_engine_destroy(engine); /* frees d through mn_durable_free */
    return status;
}
