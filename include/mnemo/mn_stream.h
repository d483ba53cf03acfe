/*
 * mn_stream.h: the two callbacks every stream of the core goes through: exports of a space
 * (mn_space_export, mn_engine_space_import) and of an index (mn_hnsw_save, mn_hnsw_load).
 *
 * A stream is written and read in pieces of any size through a caller's function, so the core
 * never decides where bytes live (a buffer, a file, a socket). The callbacks run on the thread
 * that called the save or load function; they may block (that call then blocks with them).
 */
#ifndef MN_STREAM_H
#define MN_STREAM_H

#include <stddef.h>

#include "mn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Writes `size` bytes of `data`; returns MN_OK once all are taken, any error to stop the save
 *  (that status is returned by the save). */
typedef mn_status (*mn_write_fn)(void *context, const void *data, size_t size);

/** Reads exactly `size` bytes into `data`; returns MN_OK, MN_ERR_TRUNCATED when the stream
 *  ends first, or any error to stop the load (that status is returned by the load). */
typedef mn_status (*mn_read_fn)(void *context, void *data, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* MN_STREAM_H */
