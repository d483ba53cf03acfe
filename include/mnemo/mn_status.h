/*
 * mn_status.h: the status codes every public Mnemo C function returns.
 *
 * Mnemo follows SQLite and LMDB: a function returns a status and writes its results through
 * out-parameters. Zero is success; every error is negative and named here, so Swift maps them
 * to one typed error in one place. Bugs (broken invariants) are assertions, not statuses.
 */
#ifndef MN_STATUS_H
#define MN_STATUS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A status code: MN_OK or one of the negative MN_ERR_* values. */
typedef int32_t mn_status;

#define MN_OK                  0   /**< Success. */
#define MN_ERR_INVALID        (-1) /**< An argument is out of range (k = 0, M too small, NULL). */
#define MN_ERR_DIMENSION      (-2) /**< Dimension 0, over MN_DIMENSION_MAX, or not the index's. */
#define MN_ERR_NON_FINITE     (-3) /**< A vector component is NaN or infinite. */
#define MN_ERR_ZERO_VECTOR    (-4) /**< A zero vector under the cosine metric (no direction). */
#define MN_ERR_DUPLICATE      (-5) /**< The id is already present. */
#define MN_ERR_NOT_FOUND      (-6) /**< The id (or space) is unknown. */
#define MN_ERR_NO_MEMORY      (-7) /**< An allocation failed; nothing was changed. */
#define MN_ERR_TRUNCATED      (-8) /**< A stream ended before its declared end. */
#define MN_ERR_CORRUPT        (-9) /**< A stream's checksum or structure is wrong. */
#define MN_ERR_VERSION       (-10) /**< A stream has an unknown magic or format version. */
#define MN_ERR_IO            (-11) /**< A read or write callback failed. */
#define MN_ERR_FULL          (-12) /**< A bounded queue or table is full (back-pressure). */
#define MN_ERR_TOO_LARGE     (-13) /**< An id, payload or count is over its limit. */
#define MN_ERR_CLOSED        (-14) /**< The object is shutting down. */
#define MN_ERR_UNSUPPORTED   (-15) /**< Not available on this CPU or build. */
#define MN_ERR_UNKNOWN_SPACE (-16) /**< No memory space has that name. */
#define MN_ERR_LOCKED        (-17) /**< The data directory is open in another engine or process. */

/**
 * Returns a static, human-readable name for a status ("ok", "dimension mismatch", ...).
 * Unknown codes give "unknown status". Thread safe; never NULL.
 * Blocking: never.
 */
const char *mn_status_string(mn_status status);

#ifdef __cplusplus
}
#endif

#endif /* MN_STATUS_H */
