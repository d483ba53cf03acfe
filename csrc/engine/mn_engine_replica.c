/*
 * mn_engine_replica.c: the replication seam (include/mnemo/mn_replica.h): a space's log records since
 * a sequence, read from the logs, and records from another node applied in sequence order.
 *
 * Reading: a barrier through the space's mailbox gives the last sequence logged (read on the
 * runner, which alone writes it); the logs are synced so that nothing handed out can be lost
 * here by a power loss; then, with checkpoints held off (checkpoint_run), the logs are indexed
 * for this space only (mn_engine_replay.c, read-only: a record being appended concurrently is
 * a torn tail, not damage) and each record above `after` is read back and handed out in
 * sequence order. Records up to the barrier's sequence were all appended before it completed,
 * so a missing one means a checkpoint cut it (MN_ERR_NOT_FOUND, found before anything is handed
 * out: the reader must start again from an export); one present twice is damage.
 *
 * Applying: every check that does not depend on the space's state is made first (one space,
 * write types, consecutive sequences, payloads decoded and checked against the space), then the
 * barrier's sequence must be one below the first record's. The ops carry their sequence
 * (mn_op.expect_sequence): the worker that logs them refuses one whose sequence is not the
 * space's next, so a local write racing in cannot make a record land under another sequence.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mn_engine_durable_internal.h"
#include "engine/mn_engine_internal.h"
#include "engine/mn_engine_replay.h"
#include "mnemo/mn_replica.h"

/* ---- waiting for completions ---- */

typedef struct mn_replica_wait {
    pthread_mutex_t lock;
    pthread_cond_t done;
    uint64_t pending;
    struct mn_space *space;
    uint64_t sequence;   /* the barrier's reading */
    mn_status status;    /* the barrier's status */
} mn_replica_wait;

static void mn_replica_wait_init(mn_replica_wait *w, struct mn_space *space) {
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->done, NULL);
    w->pending = 0;
    w->space = space;
    w->sequence = 0;
    w->status = MN_OK;
}

static void mn_replica_wait_free(mn_replica_wait *w) {
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->lock);
}

static void mn_replica_wait_for(mn_replica_wait *w) {
    pthread_mutex_lock(&w->lock);
    while (w->pending > 0) pthread_cond_wait(&w->done, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

/* A barrier's completion: runs on the space's runner, the only writer of log_sequence. */
static void mn_replica_barrier_done(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    mn_replica_wait *w = context;
    uint64_t sequence = w->space->log_sequence;
    pthread_mutex_lock(&w->lock);
    w->sequence = sequence;
    w->status = status;
    w->pending--;
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->lock);
}

/* An applied record's completion: its own result is the origin's, and is not an error here. */
static void mn_replica_op_done(void *context, mn_status status, uint64_t detail) {
    (void)status;
    (void)detail;
    mn_replica_wait *w = context;
    pthread_mutex_lock(&w->lock);
    w->pending--;
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->lock);
}

mn_status mn_replica_sequence(mn_space *space, uint64_t *out) {
    if (!space || !out) return MN_ERR_INVALID;
    if (!space->engine->durable) return MN_ERR_UNSUPPORTED;
    mn_replica_wait w;
    mn_replica_wait_init(&w, space);
    w.pending = 1;
    mn_status status = mn_space_barrier(space, MN_SUBMIT_WAIT, mn_replica_barrier_done, &w);
    if (status == MN_OK) {
        mn_replica_wait_for(&w);
        status = w.status;
        *out = w.sequence;
    }
    mn_replica_wait_free(&w);
    return status;
}

/* ---- reading ---- */

mn_status mn_replica_records_since(mn_space *space, uint64_t after, mn_replica_record_fn callback,
                                   void *context, uint64_t *last) {
    if (last) *last = after;
    if (!space || !callback) return MN_ERR_INVALID;
    struct mn_engine *engine = space->engine;
    struct mn_durable *d = engine->durable;
    if (!d) return MN_ERR_UNSUPPORTED;
    uint64_t current = 0;
    mn_status status = mn_replica_sequence(space, &current);
    if (status != MN_OK) return status;
    if (after > current) return MN_ERR_INVALID;
    if (after == current) return MN_OK;
    status = mn_engine_sync(engine); /* hand out only what this node keeps */
    if (status != MN_OK) return status;

    pthread_mutex_lock(&d->checkpoint_run); /* no segment is deleted while it is read */
    mn_log_index index;
    memset(&index, 0, sizeof(index));
    index.only_space = space->space_id;
    status = mn_replay_index_build(d, MN_WAL_RECOVER_READ_ONLY, &index, NULL);
    mn_log_reader reader;
    mn_replay_reader_init(&reader, d);
    if (status == MN_OK) {
        mn_replay_index_sort(&index);
        /* First the positions: every sequence after+1 .. current exactly once, before any
         * record is handed out. A checkpoint cuts each log before its own current segment, so
         * a cut can leave some of the early records and not others: any missing one is a cut. */
        size_t first = index.count;
        uint64_t expected = after + 1;
        for (size_t i = 0; i < index.count && status == MN_OK; i++) {
            const mn_log_entry *entry = &index.entries[i];
            if (entry->sequence <= after || entry->type == MN_DURABLE_REC_CREATE) continue;
            if (entry->sequence > current) break; /* logged after the call began */
            if (entry->sequence < expected) status = MN_ERR_CORRUPT; /* twice */
            else if (entry->sequence > expected) status = MN_ERR_NOT_FOUND;
            if (first == index.count) first = i;
            expected++;
        }
        if (status == MN_OK && expected != current + 1) status = MN_ERR_NOT_FOUND;
        for (size_t i = first; status == MN_OK && i < index.count; i++) {
            const mn_log_entry *entry = &index.entries[i];
            if (entry->sequence > current) break;
            mn_wal_record record;
            status = mn_replay_read(&reader, entry, &record);
            if (status == MN_OK) status = callback(context, &record);
            if (status == MN_OK && last) *last = entry->sequence;
        }
    }
    mn_replay_reader_free(&reader);
    mn_replay_index_free(&index);
    pthread_mutex_unlock(&d->checkpoint_run);
    return status;
}

/* ---- applying ---- */

/* Checks what does not depend on the space: one space, writes only, consecutive sequences. */
static mn_replica_refusal mn_replica_check_batch(const mn_wal_record *records, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        if (records[i].space != records[0].space || !mn_durable_kind_is_write(records[i].type)) {
            return MN_REPLICA_FOREIGN;
        }
        if (i == 0) continue;
        uint64_t previous = records[i - 1].sequence, sequence = records[i].sequence;
        if (sequence == previous) return MN_REPLICA_DUPLICATE;
        if (sequence < previous) return MN_REPLICA_ORDER;
        if (sequence != previous + 1) return MN_REPLICA_GAP;
    }
    return MN_REPLICA_ACCEPTED;
}

mn_status mn_replica_apply(mn_space *space, const mn_wal_record *records, uint32_t count,
                           mn_replica_refusal *refusal) {
    mn_replica_refusal scratch;
    if (!refusal) refusal = &scratch;
    *refusal = MN_REPLICA_ACCEPTED;
    if (!space || !records || count == 0) return MN_ERR_INVALID;
    if (count > MN_REPLICA_BATCH_MAX) return MN_ERR_TOO_LARGE;
    struct mn_engine *engine = space->engine;
    if (!engine->durable) return MN_ERR_UNSUPPORTED;
    *refusal = mn_replica_check_batch(records, count);
    if (*refusal != MN_REPLICA_ACCEPTED) return MN_ERR_INVALID;
    if (records[0].sequence == 0 || records[count - 1].sequence < records[0].sequence) {
        *refusal = MN_REPLICA_ORDER; /* sequence 0 is a creation's; the last one wrapped */
        return MN_ERR_INVALID;
    }
    mn_op **ops = calloc(count, sizeof(mn_op *));
    if (!ops) return MN_ERR_NO_MEMORY;
    mn_status status = MN_OK;
    for (uint32_t i = 0; i < count && status == MN_OK; i++) {
        status = mn_durable_decode_op(&records[i], space, &ops[i]);
        if (status == MN_OK) ops[i]->expect_sequence = records[i].sequence;
    }
    uint64_t current = 0;
    if (status == MN_OK) status = mn_replica_sequence(space, &current);
    if (status == MN_OK && records[0].sequence != current + 1) {
        *refusal = records[0].sequence <= current ? MN_REPLICA_DUPLICATE : MN_REPLICA_GAP;
        status = MN_ERR_INVALID;
    }
    if (status != MN_OK) {
        for (uint32_t i = 0; i < count; i++) free(ops[i]);
        free(ops);
        return status;
    }
    mn_replica_wait w;
    mn_replica_wait_init(&w, space);
    uint32_t submitted = 0;
    for (; submitted < count && status == MN_OK; submitted++) {
        pthread_mutex_lock(&w.lock);
        w.pending++;
        pthread_mutex_unlock(&w.lock);
        status = mn_engine_submit_op(space, ops[submitted], MN_SUBMIT_WAIT, mn_replica_op_done, &w);
        if (status != MN_OK) { /* not queued (and freed): no completion comes */
            pthread_mutex_lock(&w.lock);
            w.pending--;
            pthread_mutex_unlock(&w.lock);
        }
    }
    for (uint32_t i = submitted; i < count; i++) free(ops[i]);
    free(ops);
    mn_replica_wait_for(&w);
    mn_replica_wait_free(&w);
    /* Every record logged under its own sequence? (A local write racing in refuses the rest.) */
    mn_status check = mn_replica_sequence(space, &current);
    if (status == MN_OK) status = check;
    if (status == MN_OK && current != records[count - 1].sequence) {
        *refusal = MN_REPLICA_GAP;
        status = MN_ERR_INVALID;
    }
    if (status == MN_OK) status = mn_engine_sync(engine); /* durable in MN_WAL_BATCHED too */
    return status;
}
