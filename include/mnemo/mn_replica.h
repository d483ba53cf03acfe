/*
 * mn_replica.h: the replication seam of a durable engine: read a space's log records since a
 * sequence, and apply records that came from another node's log, in sequence order, logged
 * durably here before they are applied. Space moves (issue 14) ship a space as its export plus
 * these records; replication will ship them the same way.
 *
 * Why here and in this shape: a replica of a space is the space's checkpoint (its export
 * stream, which records the space's sequence) plus every log record above that sequence,
 * applied in order. The engine's own records already carry exactly that (space id, per-space
 * sequence, CRC, the write's packed payload), so replication ships them as they are. The record
 * type below IS the write-ahead log's record (the private log module, csrc/wal/mn_wal.h, names
 * it mn_wal_record): what the seam hands out is what the log holds, with no copy or re-encoding.
 * Payload layouts and record types: docs/formats.md ("The engine's WAL records"); the frame the server and
 * the Swift module ship them in: docs/formats.md ("Log record frames").
 *
 * Threads: every function blocks and must not be called from a completion callback. While a
 * space is a replica, it must be written only through mn_replica_apply: a local write in
 * between takes the next sequence, and the rest of the batch is then refused.
 */
#ifndef MN_REPLICA_H
#define MN_REPLICA_H

#include <stdint.h>

#include "mn_engine.h"
#include "mn_limits.h"
#include "mn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One log record, as the log appends and replays it and as the seam ships it. */
typedef struct mn_replica_record {
    uint64_t space;        /**< the engine's id of the space it belongs to (it differs from
                                node to node); the records of one mn_replica_apply must
                                share it, whatever its value */
    uint64_t sequence;     /**< the space's sequence number of this write (1, 2, ...) */
    uint32_t type;         /**< the record type (docs/formats.md), nonzero */
    uint32_t payload_bytes;/**< 0 ... MN_WAL_PAYLOAD_BYTES_MAX */
    const void *payload;   /**< may be NULL when payload_bytes is 0; as handed out, valid only
                                during the callback */
} mn_replica_record;

/** Why mn_replica_apply refused a batch (MN_ERR_INVALID); MN_REPLICA_ACCEPTED otherwise. */
typedef int32_t mn_replica_refusal;
#define MN_REPLICA_ACCEPTED  0 /**< applied (or refused for another reason: see the status) */
#define MN_REPLICA_GAP       1 /**< a sequence is missing: before the first record, or within */
#define MN_REPLICA_DUPLICATE 2 /**< a sequence the space already holds, or one given twice */
#define MN_REPLICA_ORDER     3 /**< a sequence below the one before it in the batch */
#define MN_REPLICA_FOREIGN   4 /**< records of several spaces, or a record that is not a write */

/** Most records one mn_replica_apply takes (its decoded ops are all held at once). */
#define MN_REPLICA_BATCH_MAX 4096u

/** The most payload bytes one record carries (MN_WAL_PAYLOAD_BYTES_MAX), for callers that
 *  cannot expand that macro's expression (Swift imports only simple macros).
 *  Blocking: never. */
static inline uint32_t mn_replica_payload_bytes_max(void) { return MN_WAL_PAYLOAD_BYTES_MAX; }

/** Called once per record, in sequence order; the payload is valid only during the call. A
 *  non-OK return stops the read with that status. */
typedef mn_status (*mn_replica_record_fn)(void *context, const mn_replica_record *record);

/**
 * Writes the last sequence the space has logged (every write through it, local or applied) to
 * *out. A space imported from an export starts at the sequence the export recorded. Errors:
 * MN_ERR_INVALID, MN_ERR_UNSUPPORTED (an in-memory engine), MN_ERR_UNKNOWN_SPACE,
 * MN_ERR_CLOSED, MN_ERR_NO_MEMORY.
 * Blocking: until a barrier through the space's mailbox has run (after every write queued
 * before it).
 */
mn_status mn_replica_sequence(mn_space *space, uint64_t *out);

/**
 * Reads the space's log records with sequences above `after`, up to the last one logged when
 * the call began, from the logs (made durable first), and calls `callback` for each in
 * sequence order; all or none: a missing record is found before any is handed out. Writes the
 * last sequence delivered (or `after`) to *last (may be NULL).
 * Checkpoints wait meanwhile (they would delete segments being read), so `callback` must not
 * checkpoint this engine. Memory: the positions of the space's records (48 bytes each) and
 * one record at a time. Errors: MN_ERR_NOT_FOUND
 * (a checkpoint has cut records after `after` from the logs: start from an export instead),
 * MN_ERR_INVALID (NULL, or `after` beyond the space's last sequence), MN_ERR_UNSUPPORTED,
 * MN_ERR_CORRUPT (a record present twice), MN_ERR_IO, MN_ERR_NO_MEMORY, the
 * callback's status.
 * Blocking: a barrier, an fdatasync of the logs, reading the logs' segments, and the callbacks.
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
 * Blocking: until every record is logged, applied and synced.
 */
mn_status mn_replica_apply(mn_space *space, const mn_replica_record *records, uint32_t count,
                           mn_replica_refusal *refusal);

#ifdef __cplusplus
}
#endif

#endif /* MN_REPLICA_H */
