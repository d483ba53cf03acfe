/*
 * mn_engine_replica.h: the replication seam of a durable engine (private; nothing ships it
 * yet): read a space's log records since a sequence, and apply records that came from another
 * node's log, in sequence order, logged durably here before they are applied.
 *
 * Why here and in this shape: a replica of a space is the space's checkpoint (its export
 * stream, which records the space's sequence) plus every log record above that sequence,
 * applied in order. The engine's own records already carry exactly that (space id, per-space
 * sequence, CRC, the write's packed payload), so replication ships them as they are.
 *
 * Threads: both functions block and must not be called from a completion callback. While a
 * space is a replica, it must be written only through mn_replica_apply: a local write in
 * between takes the next sequence, and the rest of the batch is then refused.
 */
#ifndef MN_ENGINE_REPLICA_H
#define MN_ENGINE_REPLICA_H

#include <stdint.h>

#include "mnemo/mn_engine.h"
#include "mnemo/mn_status.h"
#include "wal/mn_wal.h"

/** Why mn_replica_apply refused a batch (MN_ERR_INVALID); MN_REPLICA_ACCEPTED otherwise. */
typedef int32_t mn_replica_refusal;
#define MN_REPLICA_ACCEPTED  0 /**< applied (or refused for another reason: see the status) */
#define MN_REPLICA_GAP       1 /**< a sequence is missing: before the first record, or within */
#define MN_REPLICA_DUPLICATE 2 /**< a sequence the space already holds, or one given twice */
#define MN_REPLICA_ORDER     3 /**< a sequence below the one before it in the batch */
#define MN_REPLICA_FOREIGN   4 /**< records of several spaces, or a record that is not a write */

/** Most records one mn_replica_apply takes. */
#define MN_REPLICA_BATCH_MAX 4096u

/** Called once per record, in sequence order; the payload is valid only during the call. A
 *  non-OK return stops the read with that status. */
typedef mn_status (*mn_replica_record_fn)(void *context, const mn_wal_record *record);

/**
 * Writes the last sequence the space has logged (every write through it, local or applied) to
 * *out: a barrier through the space's mailbox. Errors: MN_ERR_INVALID, MN_ERR_UNSUPPORTED (an
 * in-memory engine), MN_ERR_UNKNOWN_SPACE, MN_ERR_CLOSED, MN_ERR_NO_MEMORY.
 */
mn_status mn_replica_sequence(mn_space *space, uint64_t *out);

/**
 * Reads the space's log records with sequences above `after`, up to the last one logged when
 * the call began, from the logs (made durable first), and calls `callback` for each in
 * sequence order; all or none: a missing record is found before any is handed out. Writes the last sequence delivered (or `after`) to *last (may be NULL).
 * Checkpoints wait meanwhile (they would delete segments being read), so `callback` must not
 * checkpoint this engine. Memory: the positions of the space's records (48 bytes each) and
 * one record at a time. Errors: MN_ERR_NOT_FOUND
 * (a checkpoint has cut records after `after` from the logs: start from an export instead),
 * MN_ERR_INVALID (NULL, or `after` beyond the space's last sequence), MN_ERR_UNSUPPORTED,
 * MN_ERR_CORRUPT (a record present twice), MN_ERR_IO, MN_ERR_NO_MEMORY, the
 * callback's status.
 */
mn_status mn_replica_records_since(mn_space *space, uint64_t after, mn_replica_record_fn callback,
                                   void *context, uint64_t *last);

/**
 * Applies `count` write records of one space from another node's log: they must continue this
 * space's sequence exactly (the first is its last sequence plus one, each next one plus one).
 * Each is checked (type, payload, dimension), logged here with its own sequence (one group
 * commit per worker run, made durable in MN_WAL_BATCHED too) and applied. On a refusal nothing
 * is changed: MN_ERR_INVALID with *refusal set (may be NULL); a payload that is not a valid
 * write of this space gives MN_ERR_CORRUPT. A record that fails when applied (a duplicate id)
 * fails here as it failed on its origin, and stays logged. Errors besides: MN_ERR_TOO_LARGE
 * (over MN_REPLICA_BATCH_MAX), MN_ERR_UNSUPPORTED, MN_ERR_UNKNOWN_SPACE, MN_ERR_CLOSED,
 * MN_ERR_NO_MEMORY, MN_ERR_IO.
 */
mn_status mn_replica_apply(mn_space *space, const mn_wal_record *records, uint32_t count,
                           mn_replica_refusal *refusal);

#endif /* MN_ENGINE_REPLICA_H */
