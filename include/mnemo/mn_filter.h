/*
 * mn_filter.h: metadata filters, parsed from their JSON form (docs/filters.md, "Filter JSON")
 * into a compiled, immutable mn_filter that search, recall, list, count and delete take.
 *
 * The JSON form is MongoDB/Chroma style: {"kind": "fact", "createdAt": {"$gte":
 * "2026-11-01T00:00:00Z"}, "$or": [{"tags": {"$contains": "x"}}, {"id": {"$in": ["a", "b"]}}]}.
 * Filter text is untrusted (it arrives over HTTP): the parser is a strict RFC 8259 parser with
 * bounded recursion, every limit below is checked, and every rejection is typed: a status plus
 * an mn_filter_error naming the code, the field or operator involved and the byte offset.
 *
 * Statuses of mn_filter_parse:
 *   MN_ERR_INVALID    malformed JSON or a filter that means nothing (codes SYNTAX ... NOT_OBJECT)
 *   MN_ERR_TOO_LARGE  a limit: MN_FILTER_BYTES_MAX, MN_FILTER_DEPTH_MAX, MN_FILTER_NODES_MAX,
 *                     MN_META_NAME_BYTES_MAX (codes BYTES, DEPTH, NODES, NAME_LENGTH)
 *   MN_ERR_NO_MEMORY  an allocation failed (code NO_MEMORY)
 *
 * Thread safety: parse and free are safe from any thread; a compiled filter is immutable, so
 * any number of threads may use one at once (free it only when none does).
 */
#ifndef MN_FILTER_H
#define MN_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "mn_limits.h"
#include "mn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A compiled filter (opaque; immutable once parsed). */
typedef struct mn_filter mn_filter;

/* mn_filter_error.code: why a filter was rejected. */
#define MN_FILTER_ERROR_NONE              0  /**< no error */
#define MN_FILTER_ERROR_ARGUMENT          1  /**< NULL text or out-parameter (MN_ERR_INVALID) */
#define MN_FILTER_ERROR_SYNTAX            2  /**< not strict JSON (RFC 8259): bad token, escape,
                                                  UTF-8, number out of range, trailing bytes */
#define MN_FILTER_ERROR_DUPLICATE_KEY     3  /**< the same key twice in one JSON object */
#define MN_FILTER_ERROR_NOT_OBJECT        4  /**< a filter (root, $and/$or element, $not operand)
                                                  that is not a JSON object */
#define MN_FILTER_ERROR_UNKNOWN_OPERATOR  5  /**< a "$..." key that is no operator, or an operator
                                                  in the wrong place (a field operator at filter
                                                  level, a logical one inside a field) */
#define MN_FILTER_ERROR_OPERAND_TYPE      6  /**< an operand of the wrong JSON type for its
                                                  operator or field ($gt with a bool, $in with a
                                                  non-array, $exists with a non-bool, id with a
                                                  number, null anywhere ...) */
#define MN_FILTER_ERROR_EMPTY             7  /**< $and/$or with no element, a field with {} */
#define MN_FILTER_ERROR_BAD_DATE          8  /**< createdAt string that is no RFC 3339 date-time
                                                  or is outside the int64 nanosecond range */
#define MN_FILTER_ERROR_FIELD_NAME        9  /**< an empty field name */
#define MN_FILTER_ERROR_BYTES            10  /**< text over MN_FILTER_BYTES_MAX (TOO_LARGE) */
#define MN_FILTER_ERROR_DEPTH            11  /**< nesting over MN_FILTER_DEPTH_MAX (TOO_LARGE) */
#define MN_FILTER_ERROR_NODES            12  /**< over MN_FILTER_NODES_MAX nodes (TOO_LARGE) */
#define MN_FILTER_ERROR_NAME_LENGTH      13  /**< field name over MN_META_NAME_BYTES_MAX
                                                  (TOO_LARGE) */
#define MN_FILTER_ERROR_NO_MEMORY        14  /**< allocation failed (MN_ERR_NO_MEMORY) */

/** Room for a field name in mn_filter_error (longer names are cut; always NUL-terminated). */
#define MN_FILTER_ERROR_FIELD_BYTES 256
/** Room for an operator name ("$icontains" and any unknown "$..." key, cut). */
#define MN_FILTER_ERROR_OPERATOR_BYTES 32
/** Room for the English message. */
#define MN_FILTER_ERROR_MESSAGE_BYTES 160

/** Why mn_filter_parse rejected a text. Every string member is NUL-terminated. */
typedef struct mn_filter_error {
    int32_t code;    /**< MN_FILTER_ERROR_* */
    uint32_t offset; /**< byte offset in the text where the problem was found: the bad byte for
                          SYNTAX, else the start of the offending key or value */
    char field[MN_FILTER_ERROR_FIELD_BYTES];       /**< the metadata field or built-in ("id",
                                                        "createdAt") the error is in; for a
                                                        logical operator's error its name
                                                        ("$and"); "" at the top level */
    char op[MN_FILTER_ERROR_OPERATOR_BYTES];       /**< the operator involved ("$gt"), or "" */
    char message[MN_FILTER_ERROR_MESSAGE_BYTES];   /**< one English sentence */
} mn_filter_error;

/**
 * Parses and compiles the filter JSON `json` (`bytes` bytes, not necessarily NUL-terminated)
 * into *out. On failure *out is NULL and, when `error` is not NULL, *error says why (on
 * success error->code is MN_FILTER_ERROR_NONE). Statuses: see the top of this file.
 * Pair with mn_filter_free.
 * Blocking: never (CPU only; linear in `bytes` up to sorting $in lists).
 */
mn_status mn_filter_parse(const char *json, size_t bytes, mn_filter **out, mn_filter_error *error);

/** Frees a filter from mn_filter_parse. NULL is accepted. No other call may be using it.
 *  Blocking: never. */
mn_status mn_filter_free(mn_filter *filter);

#ifdef __cplusplus
}
#endif

#endif /* MN_FILTER_H */
