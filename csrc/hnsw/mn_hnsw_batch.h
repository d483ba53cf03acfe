/*
 * mn_hnsw_batch.h: the batch insert of an index in three steps (begin, work, end), so the
 * engine's workers can share the linking of one large batch.
 *
 * Private to the core: mn_hnsw_insert_batch (mnemo/mn_hnsw.h) is the public form, with its own
 * threads. The engine (csrc/engine/) drives these steps from its shard workers: the running
 * worker begins a batch, idle workers join it through the engine's help list, and the last one
 * out ends it. Concurrency: as mn_hnsw_insert_batch (mnemo/mn_hnsw.h's contract table); begin
 * and end run on one thread, work on any number.
 */
#ifndef MN_HNSW_BATCH_H
#define MN_HNSW_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "mnemo/mn_hnsw.h"
#include "mnemo/mn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A prepared batch insert. Opaque; pair mn_hnsw_batch_begin with mn_hnsw_batch_end. */
typedef struct mn_hnsw_batch mn_hnsw_batch;

/**
 * The batch insert in three steps, so an external thread pool can share the linking:
 * begin validates and reserves (as mn_hnsw_insert_batch); any number of threads then call
 * mn_hnsw_batch_work, each returning when no item is left to claim; when every worker has
 * returned, mn_hnsw_batch_end frees the batch. On error begin changes nothing.
 */
mn_status mn_hnsw_batch_begin(mn_hnsw *index, const uint64_t *ids, const float *vectors,
                              size_t count, uint32_t dimension, mn_hnsw_batch **out,
                              size_t *failed_index);
/**
 * The same three steps for updates in place (mn_hnsw_update, hnswlib's updatePoint) of up to
 * MN_HNSW_SETTLE_BATCH distinct live ids: begin validates every vector, finds every id and takes
 * `writers` exclusively (so no insert or other update runs meanwhile); mn_hnsw_batch_work then
 * replaces vectors and repairs neighbourhoods on any number of threads, each item once, lists
 * re-selected under their nodes' locks; mn_hnsw_batch_end (on begin's thread) applies what is
 * left and lets go. Errors from begin, with the offender's position in *failed_index (the index
 * is unchanged): MN_ERR_DIMENSION, MN_ERR_NON_FINITE, MN_ERR_ZERO_VECTOR, MN_ERR_NOT_FOUND,
 * MN_ERR_DUPLICATE (an id twice), MN_ERR_TOO_LARGE (count), MN_ERR_NO_MEMORY. After begin an
 * update batch cannot fail: end returns MN_OK.
 */
mn_status mn_hnsw_update_batch_begin(mn_hnsw *index, const uint64_t *ids, const float *vectors,
                                     size_t count, uint32_t dimension, mn_hnsw_batch **out,
                                     size_t *failed_index);
/** Links items of the batch until none is left (or an item failed: MN_ERR_NO_MEMORY, after
 *  which no call links more); writes how many items this call took to *linked. */
mn_status mn_hnsw_batch_work(mn_hnsw_batch *batch, size_t *linked);
/** Frees a batch once every mn_hnsw_batch_work call has returned. When an item failed it
 *  returns that error (MN_ERR_NO_MEMORY) with the whole batch taken back out: no id of it is
 *  in the index (its nodes stay as deleted ones until the next repair pass). */
mn_status mn_hnsw_batch_end(mn_hnsw_batch *batch);

#ifdef __cplusplus
}
#endif

#endif /* MN_HNSW_BATCH_H */
