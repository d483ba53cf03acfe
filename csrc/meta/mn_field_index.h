/*
 * mn_field_index.h: per-space field indexes over memory metadata (private to the C core).
 *
 * A space's filter leaves ("kind == fact", "priority >= 3", "tags contains x", "createdAt <
 * t") are answered from these indexes when the field is indexed: a cheap count (to estimate a
 * filter's selectivity and pick a search strategy) and an exact collection of the matching
 * labels (into a sorted buffer for an exact scan, or into a label bitmap to AND/OR leaves).
 *
 * Kinds:
 *   KEYWORD  STRING values, each item of a STRINGS (list) value, and BOOL values; answers eq
 *            and in. A STRING "x" and a list containing "x" are different keys: a STRING operand
 *            matches documents whose value is that string, a STRINGS operand (one item) matches
 *            documents whose list contains it; "in" over both forms gives either.
 *   NUMERIC  INT and DOUBLE values compared numerically and exactly (int 3 == double 3.0,
 *            2^63-1 > 9.2e18 as integers and doubles really compare); answers eq, in and
 *            ranges. NaN is never indexed (metadata rejects it).
 *   createdAt  a built-in NUMERIC index on the creation time (int64 ns), always present, which
 *            also serves as the set of live labels (collect it with an unbounded range).
 * Every index also keeps the labels whose document has the field at all, of any type
 * ("exists"): a keyword index cannot answer an INT operand (MN_ERR_UNSUPPORTED, so the caller
 * checks documents instead), but its exists set is exact.
 *
 * Threads: one writer at a time per set (the space's runner) calls the writer functions;
 * any number of readers call the reader functions concurrently, each between
 * mn_rcu_read_lock and mn_rcu_read_unlock, on one snapshot (mn_field_indexes_snapshot) that
 * stays valid, and unchanging, until that read section ends. Within one snapshot all indexes
 * agree (a write is published for every index at once), counts are exact and collections agree
 * with counts. See mn_field_index.c for the structure and its memory ordering.
 */
#ifndef MN_FIELD_INDEX_H
#define MN_FIELD_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mnemo/mn_limits.h"
#include "mnemo/mn_status.h"

/** Most field indexes one space may have (createdAt not counted): a snapshot copies them all. */
#define MN_FIELD_INDEXES_MAX MN_ENGINE_FIELD_INDEXES_MAX
/** Longest field name, bytes: the metadata documents'. */
#define MN_FIELD_NAME_BYTES_MAX MN_META_NAME_BYTES_MAX
/** Most operands of one "in" predicate (bounds a reader's stack). */
#define MN_FIELD_IN_MAX 1024u

/** Value types: the metadata encoding's type bytes. */
#define MN_FIELD_TYPE_STRING 1u
#define MN_FIELD_TYPE_INT 2u
#define MN_FIELD_TYPE_DOUBLE 3u
#define MN_FIELD_TYPE_BOOL 4u
#define MN_FIELD_TYPE_STRINGS 5u

/** Index kinds. */
typedef enum mn_field_index_kind {
    MN_FIELD_INDEX_KEYWORD = 1,
    MN_FIELD_INDEX_NUMERIC = 2,
} mn_field_index_kind;

/**
 * A typed operand. STRING: `string`/`length` equal to the value; STRINGS: `string`/`length` is
 * ONE item the list must contain; INT: `integer`; DOUBLE: `number` (finite); BOOL: `boolean`.
 * `string` need not be NUL-terminated and is only read during the call.
 */
typedef struct mn_field_value {
    uint32_t type;
    uint32_t length;
    const char *string;
    int64_t integer;
    double number;
    bool boolean;
} mn_field_value;

/** Predicate operators a field index answers (gt/gte/lt/lte are RANGE bounds). */
typedef enum mn_field_op {
    MN_FIELD_OP_EQ = 1,     /**< values[0] */
    MN_FIELD_OP_IN = 2,     /**< any of values[0 .. value_count) */
    MN_FIELD_OP_RANGE = 3,  /**< low/high bounds, NUMERIC only */
    MN_FIELD_OP_EXISTS = 4, /**< the field is present, any type */
} mn_field_op;

/** One side of a range: absent (unbounded), or a numeric value, inclusive or not. */
typedef struct mn_field_bound {
    bool present;
    bool inclusive;
    mn_field_value value; /**< INT or DOUBLE */
} mn_field_bound;

/** A predicate on one field. gt v: low {v, exclusive}; gte: low inclusive; lt/lte: high. */
typedef struct mn_field_predicate {
    mn_field_op op;
    const mn_field_value *values;
    uint32_t value_count;
    mn_field_bound low;
    mn_field_bound high;
} mn_field_predicate;

/** A set of dense labels [0, bits): for combining leaves (AND/OR/NOT) of one query. */
typedef struct mn_label_bitmap {
    uint64_t *words;
    uint64_t bits;
} mn_label_bitmap;

/** Allocates an all-zero bitmap for labels below `bits`. MN_ERR_NO_MEMORY. */
mn_status mn_label_bitmap_init(mn_label_bitmap *bitmap, uint64_t bits);
/** Frees the words (pair with mn_label_bitmap_init); the struct may be reused after init. */
void mn_label_bitmap_destroy(mn_label_bitmap *bitmap);
void mn_label_bitmap_clear(mn_label_bitmap *bitmap);
/** Sets one label; labels >= bits are ignored (written after the caller sized the bitmap). */
void mn_label_bitmap_set(mn_label_bitmap *bitmap, uint64_t label);
bool mn_label_bitmap_test(const mn_label_bitmap *bitmap, uint64_t label);
/** into &= other, into |= other, into &= ~other over the common length (into's bits beyond
 *  other's are cleared by and, kept by or and andnot). */
void mn_label_bitmap_and(mn_label_bitmap *into, const mn_label_bitmap *other);
void mn_label_bitmap_or(mn_label_bitmap *into, const mn_label_bitmap *other);
void mn_label_bitmap_andnot(mn_label_bitmap *into, const mn_label_bitmap *other);
/** Complements every bit below `bits`. AND the result with the live set (createdAt, EXISTS):
 *  the complement also holds labels that were never given out or were deleted. */
void mn_label_bitmap_not(mn_label_bitmap *bitmap);
/** Number of set bits. */
uint64_t mn_label_bitmap_count(const mn_label_bitmap *bitmap);
/** The first set label >= from into *label; false when there is none. */
bool mn_label_bitmap_next(const mn_label_bitmap *bitmap, uint64_t from, uint64_t *label);

/* ---- the set: writer side (one writer thread at a time) ---- */

typedef struct mn_field_indexes mn_field_indexes;

/** A caller's iteration over a space's documents, for backfilling a new index: each call
 *  gives the next (label, doc, doc_bytes) and *more = true, or *more = false at the end; a
 *  non-OK status aborts the creation with that status. A doc of 0 bytes has no fields. */
typedef mn_status (*mn_field_doc_next)(void *context, uint64_t *label, const uint8_t **doc,
                                       size_t *doc_bytes, bool *more);

/** Creates an empty set (createdAt index only). MN_ERR_NO_MEMORY. */
mn_status mn_field_indexes_create(mn_field_indexes **out);
/** Frees the set and everything in it; no reader or writer may be using it (after the space's
 *  readers have left: the engine destroys spaces after a grace period). */
void mn_field_indexes_destroy(mn_field_indexes *set);

/**
 * Creates an index of `kind` on field `name`, backfilled from `next`, and publishes it.
 * MN_ERR_DUPLICATE (already indexed, or "createdAt"), MN_ERR_INVALID (a name no document can
 * hold: mn_meta_name_validate; bad kind; label over MN_ENGINE_LABEL_MAX; a label given twice),
 * MN_ERR_TOO_LARGE (name over MN_META_NAME_BYTES_MAX), MN_ERR_FULL (MN_FIELD_INDEXES_MAX
 * indexes), MN_ERR_CORRUPT (a doc that does not decode), MN_ERR_NO_MEMORY, or next's status;
 * on any error the set is unchanged.
 */
mn_status mn_field_indexes_add(mn_field_indexes *set, const char *name, uint32_t name_length,
                               mn_field_index_kind kind, mn_field_doc_next next, void *context);
/** Drops the index on `name` (MN_ERR_NOT_FOUND if none); its memory is freed after a grace
 *  period. MN_ERR_NO_MEMORY (unchanged). */
mn_status mn_field_indexes_drop(mn_field_indexes *set, const char *name, uint32_t name_length);

/**
 * Applies one memory's document change to every index: insert (old_bytes 0), delete
 * (new_bytes 0) or replace (both). Fields whose values did not change cost nothing.
 * All-or-nothing: on MN_ERR_NO_MEMORY or MN_ERR_CORRUPT (a doc that does not decode) nothing
 * was published and the set is exactly as before; MN_ERR_INVALID for a label over
 * MN_ENGINE_LABEL_MAX. `old_doc` must be the document last applied for `label` (a mismatch is
 * a caller bug: MN_ERR_NOT_FOUND when an old value is not in the index, set unchanged).
 */
mn_status mn_field_indexes_update(mn_field_indexes *set, uint64_t label, const uint8_t *old_doc,
                                  size_t old_bytes, const uint8_t *new_doc, size_t new_bytes);
/** A new memory in one transaction: its createdAt entry and its document (0 bytes: none).
 *  Statuses as update and created_insert; all-or-nothing. */
mn_status mn_field_indexes_insert(mn_field_indexes *set, uint64_t label, int64_t created_at_ns,
                                  const uint8_t *doc, size_t doc_bytes);
/** A deleted memory in one transaction: its document's entries and its createdAt entry. */
mn_status mn_field_indexes_remove(mn_field_indexes *set, uint64_t label, int64_t created_at_ns,
                                  const uint8_t *doc, size_t doc_bytes);
/** Adds (label, created_at_ns) to the createdAt index. MN_ERR_DUPLICATE when the label is
 *  already there with that time, MN_ERR_INVALID, MN_ERR_NO_MEMORY (unchanged). */
mn_status mn_field_indexes_created_insert(mn_field_indexes *set, uint64_t label, int64_t created_at_ns);
/** Removes it. MN_ERR_NOT_FOUND, MN_ERR_NO_MEMORY (unchanged: a removal copies a path). */
mn_status mn_field_indexes_created_remove(mn_field_indexes *set, uint64_t label, int64_t created_at_ns);

/*
 * A caller's transaction: the changes of many memories (a batch, a group of writes, a delete
 * by filter), published together with one store, or not at all. The engine uses it to make a
 * write all-or-nothing across the indexes and its other structures: it stages every change,
 * prepares (the last step that can fail), makes its own changes that can fail, then publishes
 * (which cannot fail) or aborts.
 *
 *   mn_field_indexes_txn_begin       opens it (no other writer call may come until it closes)
 *   mn_field_indexes_txn_insert ...  stage one memory's change each, as mn_field_indexes_insert,
 *   _remove, _update                 _remove and _update do; on an error the WHOLE transaction
 *                                    is aborted and closed, the set unchanged (statuses as
 *                                    those functions')
 *   mn_field_indexes_txn_prepare     allocates what publishing needs: MN_ERR_NO_MEMORY aborts
 *                                    and closes it, the set unchanged
 *   mn_field_indexes_txn_publish     publishes every staged change at once; cannot fail
 *   mn_field_indexes_txn_abort       drops it (a no-op when already closed by an error)
 * Staged changes are invisible to readers until publish. Writer thread only.
 */
void mn_field_indexes_txn_begin(mn_field_indexes *set);
mn_status mn_field_indexes_txn_insert(mn_field_indexes *set, uint64_t label, int64_t created_at_ns,
                                      const uint8_t *doc, size_t doc_bytes);
mn_status mn_field_indexes_txn_remove(mn_field_indexes *set, uint64_t label, int64_t created_at_ns,
                                      const uint8_t *doc, size_t doc_bytes);
mn_status mn_field_indexes_txn_update(mn_field_indexes *set, uint64_t label, const uint8_t *old_doc,
                                      size_t old_bytes, const uint8_t *new_doc, size_t new_bytes);
mn_status mn_field_indexes_txn_prepare(mn_field_indexes *set);
void mn_field_indexes_txn_publish(mn_field_indexes *set);
void mn_field_indexes_txn_abort(mn_field_indexes *set);

/** Bytes the set holds (tree nodes, strings, snapshots): any thread, relaxed. */
uint64_t mn_field_indexes_bytes(const mn_field_indexes *set);

/* ---- readers: any thread, inside an RCU read section ---- */

/** An immutable view of every index of a set, valid until the read section ends. */
typedef struct mn_field_snapshot mn_field_snapshot;
/** One index inside a snapshot. */
typedef struct mn_field_index mn_field_index;

/** The set's current snapshot (acquire). Never NULL. */
const mn_field_snapshot *mn_field_indexes_snapshot(const mn_field_indexes *set);
/** The index on `name` in `snapshot`, or NULL when that field is not indexed. */
const mn_field_index *mn_field_snapshot_find(const mn_field_snapshot *snapshot, const char *name,
                                             uint32_t name_length);
/** The built-in createdAt index (NUMERIC over int64 ns). */
const mn_field_index *mn_field_snapshot_created_at(const mn_field_snapshot *snapshot);
/** The snapshot's version: a later snapshot of the same set has a larger one, so a result
 *  computed from one snapshot can be kept and reused while the set's current snapshot still
 *  has its version (snapshots are immutable). */
uint64_t mn_field_snapshot_version(const mn_field_snapshot *snapshot);
/** Number of user indexes in the snapshot, and the i-th one (createdAt excluded). */
uint32_t mn_field_snapshot_count(const mn_field_snapshot *snapshot);
const mn_field_index *mn_field_snapshot_at(const mn_field_snapshot *snapshot, uint32_t i);

/** An index's description: name, kind, entries (indexed values, list items counted one by
 *  one), labels having the field, distinct keyword keys (0 for NUMERIC) and bytes held. */
typedef struct mn_field_index_info {
    const char *name;
    uint32_t name_length;
    mn_field_index_kind kind;
    uint64_t entries;
    uint64_t present;
    uint64_t keys;
    uint64_t bytes;
} mn_field_index_info;
void mn_field_index_describe(const mn_field_index *index, mn_field_index_info *info);

/**
 * Number of labels matching `predicate`, in O(log n) per operand. Exact for EQ, RANGE and
 * EXISTS; for IN the sum over operands (exact unless one document matches several operands,
 * as a list holding two of them does). MN_ERR_UNSUPPORTED when the index cannot answer
 * (RANGE on KEYWORD, an INT/DOUBLE operand on KEYWORD, a STRING/BOOL/STRINGS one on NUMERIC):
 * the caller must check documents. MN_ERR_INVALID for a malformed predicate (no values, NaN,
 * more than MN_FIELD_IN_MAX values).
 */
mn_status mn_field_index_count(const mn_field_index *index, const mn_field_predicate *predicate,
                               uint64_t *count);
/**
 * Writes the matching labels, ascending and without duplicates, to labels[0 .. *count).
 * MN_ERR_FULL when more than `capacity` would be written: then *count is a capacity that is
 * enough for this snapshot. Errors as mn_field_index_count.
 */
mn_status mn_field_index_collect(const mn_field_index *index, const mn_field_predicate *predicate,
                                 uint64_t *labels, size_t capacity, size_t *count);
/** Sets the matching labels' bits in `bitmap` (OR; labels >= bitmap->bits are skipped).
 *  Errors as mn_field_index_count. */
mn_status mn_field_index_collect_bitmap(const mn_field_index *index,
                                        const mn_field_predicate *predicate, mn_label_bitmap *bitmap);

/** Checks the index's structure (sorted, counts agree, bounds): O(n), for tests; reader side.
 *  MN_ERR_CORRUPT when broken. */
mn_status mn_field_index_check(const mn_field_index *index);

#endif /* MN_FIELD_INDEX_H */
