/*
 * mn_meta.h: a memory's metadata document, a small set of named, typed fields (string, int64,
 * double, bool, list of strings), in one canonical byte encoding.
 *
 * The engine stores a document as opaque bytes next to the memory (records, log, checkpoints,
 * exports); filters and field indexes read fields straight out of those bytes, without
 * decoding into a heap structure. So the encoding is compact, self-delimiting, bounded, and
 * canonical: one set of fields has exactly one valid encoding, and two documents are equal
 * exactly when their bytes are (memcmp).
 *
 * Encoding, version 1 (docs/formats.md, "Metadata document"). Little-endian; no alignment.
 * A memory without metadata has the EMPTY document: 0 bytes. Otherwise:
 *
 *   offset  size  field
 *   0       2     field_count, 1 ... MN_META_FIELDS_MAX
 *   2       ...   field_count fields, names strictly ascending (below), each:
 *                   1        name_bytes, 1 ... MN_META_NAME_BYTES_MAX
 *                   n        name: valid UTF-8, no U+0000, not starting with '$', not one of
 *                            the built-in names "id" and "createdAt"
 *                   1        type, MN_META_STRING ... MN_META_STRINGS
 *                   ...      value:
 *                     MN_META_STRING  (1): u32 len (<= MN_META_STRING_BYTES_MAX), len bytes UTF-8
 *                     MN_META_INT     (2): i64
 *                     MN_META_DOUBLE  (3): f64 bit pattern; finite; not -0.0 (write 0.0)
 *                     MN_META_BOOL    (4): u8, 0 or 1
 *                     MN_META_STRINGS (5): u16 n (<= MN_META_LIST_MAX), then n items, each
 *                                          u32 len (<= MN_META_STRING_BYTES_MAX) + len bytes UTF-8
 *   The whole document is at most MN_META_DOC_BYTES_MAX bytes; nothing follows the last field.
 *
 * Name order: bytewise, memcmp over the shorter length, then the shorter name first (so "a" <
 * "ab" < "b"). Strictly ascending means no two fields share a name. UTF-8 is strict (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF); string values may hold U+0000,
 * names may not (they travel as C strings in error reports and filters).
 *
 * Errors. Every function returns a status; the ones that check a document fill an optional
 * mn_meta_error naming the offending field. Statuses of a document that fails its checks:
 *   MN_ERR_TOO_LARGE   a limit of mn_limits.h is passed: more than MN_META_FIELDS_MAX fields, a
 *                      name over MN_META_NAME_BYTES_MAX bytes, a string over
 *                      MN_META_STRING_BYTES_MAX, a list over MN_META_LIST_MAX items, or a field
 *                      that ends past MN_META_DOC_BYTES_MAX (that field is named);
 *   MN_ERR_NON_FINITE  a double is NaN or infinite;
 *   MN_ERR_INVALID     anything else: truncated, trailing bytes, field_count 0, an empty, '$',
 *                      reserved or badly encoded name, names out of order or repeated, an unknown
 *                      type, bad UTF-8, a bool other than 0/1, -0.0.
 * Functions that walk a document already validated (get, iteration, lists) never read outside
 * [doc, doc + bytes) even when handed unchecked bytes: they bound every length they follow and
 * return MN_ERR_CORRUPT for a document that is not well formed (they do not check UTF-8, order
 * or values; validate does).
 *
 * Thread safety: documents are immutable bytes, so every function that only reads a document is
 * safe from any number of threads at once. A builder or cursor belongs to one thread at a time.
 * Nothing here blocks; the builder, patch and encode functions allocate.
 */
#ifndef MN_META_H
#define MN_META_H

#include <stddef.h>
#include <stdint.h>

#include "mn_limits.h"
#include "mn_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Field types (the type byte of the encoding). */
#define MN_META_STRING 1u  /**< UTF-8 string */
#define MN_META_INT 2u     /**< signed 64-bit integer */
#define MN_META_DOUBLE 3u  /**< finite IEEE-754 binary64 */
#define MN_META_BOOL 4u    /**< false or true */
#define MN_META_STRINGS 5u /**< list of UTF-8 strings (tags) */

/** mn_meta_error.field_index when the error concerns the whole document, not one field. */
#define MN_META_NO_FIELD UINT32_MAX

/**
 * What was wrong with a document, a builder's fields or a patch, and where.
 * field_index: the field's position in name order (for a builder: the order of the add calls;
 * for a patch's remove list: its position in that list), or MN_META_NO_FIELD.
 * name: the field's name, NUL-terminated, cut to MN_META_NAME_BYTES_MAX bytes (an overlong name
 * is reported by its first bytes); name_bytes: how many bytes of name are filled (0 when none).
 * reason: a static English phrase ("string over MN_META_STRING_BYTES_MAX bytes"); never NULL
 * after an error, "" after success.
 */
typedef struct mn_meta_error {
    uint32_t field_index;
    uint32_t name_bytes;
    char name[MN_META_NAME_BYTES_MAX + 1];
    const char *reason;
} mn_meta_error;

/**
 * One field's value, pointing into the document (valid while the document's bytes are).
 * type selects the members that are set; the others are zero:
 *   MN_META_STRING:  str, str_bytes (not NUL-terminated)
 *   MN_META_INT:     i
 *   MN_META_DOUBLE:  d
 *   MN_META_BOOL:    b (0 or 1)
 *   MN_META_STRINGS: list (the first item's length prefix), list_count items, list_bytes (the
 *                    items' encoded size: 4 + len each); read the items with mn_meta_list_next.
 */
typedef struct mn_meta_value {
    uint32_t type;
    int64_t i;
    double d;
    int b;
    const char *str;
    uint32_t str_bytes;
    const uint8_t *list;
    uint32_t list_count;
    uint32_t list_bytes;
} mn_meta_value;

/**
 * A cursor over a document's fields in name order (mn_meta_iter, mn_meta_next). Plain data:
 * copy it to remember a position.
 */
typedef struct mn_meta_cursor {
    const uint8_t *doc;
    size_t bytes;
    size_t offset;      /**< the next field's offset */
    uint32_t remaining; /**< fields not yet returned */
} mn_meta_cursor;

/**
 * Checks that doc[0 .. bytes) is one valid, canonical document (the encoding above). bytes 0 is
 * the empty document (doc may then be NULL). The work is bounded by MN_META_DOC_BYTES_MAX
 * whatever `bytes` is. error may be NULL.
 * Returns MN_OK, or MN_ERR_INVALID / MN_ERR_TOO_LARGE / MN_ERR_NON_FINITE (top of this file;
 * MN_ERR_INVALID also for doc NULL with bytes > 0).
 * Blocking: never.
 */
mn_status mn_meta_validate(const void *doc, size_t bytes, mn_meta_error *error);

/**
 * Checks one field name: 1 ... MN_META_NAME_BYTES_MAX bytes of UTF-8, no U+0000, not starting
 * with '$', not "id" or "createdAt". MN_OK, MN_ERR_TOO_LARGE (too long) or MN_ERR_INVALID
 * (error, may be NULL, says why).
 * Blocking: never.
 */
mn_status mn_meta_name_validate(const char *name, uint32_t name_bytes, mn_meta_error *error);

/**
 * Bytewise name order (the document's order): negative, 0 or positive into *order as a sorts
 * before, equal to or after b. MN_ERR_INVALID for NULL order (or NULL names with bytes > 0).
 * Blocking: never.
 */
mn_status mn_meta_name_compare(const char *a, uint32_t a_bytes, const char *b, uint32_t b_bytes, int *order);

/**
 * Finds field `name` in a validated document and fills *out. A linear walk that stops at the
 * first name sorting after `name`; at most MN_META_FIELDS_MAX fields.
 * Returns MN_OK, MN_ERR_NOT_FOUND (absent; the empty document has no field), MN_ERR_INVALID
 * (out NULL, or name NULL with name_bytes > 0), MN_ERR_CORRUPT (doc not well formed).
 * Blocking: never.
 */
mn_status mn_meta_get(const void *doc, size_t bytes, const char *name, uint32_t name_bytes, mn_meta_value *out);

/**
 * Reads the item of a MN_META_STRINGS value at *position_bytes (start at 0) into *str,
 * *str_bytes and advances *position_bytes past it. Returns MN_OK, MN_ERR_NOT_FOUND after the
 * last item (*position_bytes == list->list_bytes), MN_ERR_INVALID (NULL argument, not a list, a
 * position past the end), MN_ERR_CORRUPT (an item overruns list_bytes).
 *
 *     uint32_t at = 0; const char *s; uint32_t n;
 *     while (mn_meta_list_next(&value, &at, &s, &n) == MN_OK) use(s, n);
 *
 * Blocking: never.
 */
mn_status mn_meta_list_next(const mn_meta_value *list, uint32_t *position_bytes, const char **str, uint32_t *str_bytes);

/**
 * Starts *cursor at the first field of a validated document (bytes 0: no fields).
 * MN_ERR_INVALID for NULL cursor or doc NULL with bytes > 0; MN_ERR_CORRUPT if the header is
 * not well formed.
 * Blocking: never.
 */
mn_status mn_meta_iter(const void *doc, size_t bytes, mn_meta_cursor *cursor);

/**
 * Returns the cursor's next field in name order: its name (not NUL-terminated, points into the
 * document), name_bytes and value; name, name_bytes and value may each be NULL. MN_OK,
 * MN_ERR_NOT_FOUND after the last field, MN_ERR_INVALID (cursor NULL), MN_ERR_CORRUPT (a field
 * is not well formed; the cursor then stays at the end).
 *
 *     mn_meta_cursor c; const char *name; uint32_t n; mn_meta_value v;
 *     mn_meta_iter(doc, bytes, &c);
 *     while (mn_meta_next(&c, &name, &n, &v) == MN_OK) use(name, n, &v);
 *
 * Blocking: never.
 */
mn_status mn_meta_next(mn_meta_cursor *cursor, const char **name, uint32_t *name_bytes, mn_meta_value *value);

/**
 * Frees a document, patch or encoding returned by this module (NULL is fine).
 * Blocking: never.
 */
void mn_meta_free(void *doc);

/* ---- Builder: fields in any order in, one canonical document out ---- */

/** An opaque document under construction (heap; pair mn_meta_builder_create with _destroy). */
typedef struct mn_meta_builder mn_meta_builder;

/**
 * Creates an empty builder into *out. MN_ERR_INVALID (out NULL), MN_ERR_NO_MEMORY.
 * Blocking: never (allocates).
 */
mn_status mn_meta_builder_create(mn_meta_builder **out);

/**
 * Frees a builder (NULL is fine). Documents it returned stay valid.
 * Blocking: never.
 */
void mn_meta_builder_destroy(mn_meta_builder *builder);

/**
 * Adds one field. Each call checks what it can alone (the name, the value's limits, UTF-8,
 * finiteness, the field count and the running size) and returns that status; the first failure
 * is also kept and returned again, with the field named, by mn_meta_builder_finish, so a caller
 * may add everything and check once. After a failure later adds are ignored (they return the
 * kept status). -0.0 is stored as 0.0. Copies name and value.
 * MN_ERR_INVALID (builder NULL; bad name, bad UTF-8, a NULL pointer with a nonzero length),
 * MN_ERR_TOO_LARGE, MN_ERR_NON_FINITE, MN_ERR_NO_MEMORY.
 * Blocking: never (allocates).
 */
mn_status mn_meta_builder_add_string(mn_meta_builder *builder, const char *name, uint32_t name_bytes,
                                     const char *value, uint32_t value_bytes);
/** See mn_meta_builder_add_string. Blocking: never (allocates). */
mn_status mn_meta_builder_add_int(mn_meta_builder *builder, const char *name, uint32_t name_bytes, int64_t value);
/** See mn_meta_builder_add_string. Blocking: never (allocates). */
mn_status mn_meta_builder_add_double(mn_meta_builder *builder, const char *name, uint32_t name_bytes, double value);
/** See mn_meta_builder_add_string; value nonzero is true. Blocking: never (allocates). */
mn_status mn_meta_builder_add_bool(mn_meta_builder *builder, const char *name, uint32_t name_bytes, int value);
/**
 * Adds a list of n strings (items[i] of lens[i] bytes; items and lens may be NULL when n is 0).
 * See mn_meta_builder_add_string.
 * Blocking: never (allocates).
 */
mn_status mn_meta_builder_add_strings(mn_meta_builder *builder, const char *name, uint32_t name_bytes,
                                      const char *const *items, const uint32_t *lens, uint32_t n);

/**
 * Sorts the fields added so far and writes the canonical document: *doc (malloc'ed, free with
 * mn_meta_free) and *bytes. No fields gives the empty document: *doc NULL, *bytes 0. Fails with
 * the first add's failure, or MN_ERR_INVALID for two fields of one name (the later add is
 * named; field_index is its add position); nothing is returned then. The builder is unchanged
 * and may be finished again or destroyed. error may be NULL.
 * Blocking: never (allocates).
 */
mn_status mn_meta_builder_finish(mn_meta_builder *builder, void **doc, size_t *bytes, mn_meta_error *error);

/* ---- Patches: change some fields of a document ---- */

/**
 * Applies a patch to a document: every field of `set` (a valid document) replaces the field of
 * that name in `old` or is added; every name in remove[0 .. remove_count) is deleted (a name not
 * in `old` is ignored). The result is checked against every limit; on any failure nothing is
 * returned and error names the field. *out (malloc'ed; NULL when the result is empty) and
 * *out_bytes receive the new canonical document.
 *   remove: remove[i] of remove_bytes[i] bytes, any order, repeats allowed; each must be a valid
 *   name (mn_meta_name_validate) and must not be a field of `set` (MN_ERR_INVALID, named);
 *   remove_count <= MN_META_FIELDS_MAX (MN_ERR_TOO_LARGE): no document has more fields.
 * Limits on the result: more than MN_META_FIELDS_MAX fields names the field that would be the
 * 65th in name order; a result over MN_META_DOC_BYTES_MAX names the field, in name order, that
 * ends past it (MN_ERR_TOO_LARGE).
 * Returns MN_OK, the statuses of mn_meta_validate for a bad `set` (its field named),
 * MN_ERR_CORRUPT when `old` is not a valid document, MN_ERR_INVALID (NULL pointers),
 * MN_ERR_NO_MEMORY. error may be NULL.
 * Blocking: never (allocates).
 */
mn_status mn_meta_patch(const void *old, size_t old_bytes, const void *set, size_t set_bytes,
                        const char *const *remove, const uint32_t *remove_bytes, uint32_t remove_count, void **out,
                        size_t *out_bytes, mn_meta_error *error);

/**
 * Encodes a patch (the arguments of mn_meta_patch after `old`) as one byte string, which the
 * engine logs as one record (docs/formats.md, "Metadata patch"):
 *   u32 set_bytes, set_bytes bytes of a valid document, u16 remove_count (<= MN_META_FIELDS_MAX),
 *   remove_count x (u8 name_bytes, name), names valid, strictly ascending, none a field of set.
 * The remove names may come in any order (they are sorted); a repeated name is MN_ERR_INVALID
 * (named). *patch is malloc'ed (free with mn_meta_free). Statuses as mn_meta_patch.
 * Blocking: never (allocates).
 */
mn_status mn_meta_patch_encode(const void *set, size_t set_bytes, const char *const *remove,
                               const uint32_t *remove_bytes, uint32_t remove_count, void **patch,
                               size_t *patch_bytes, mn_meta_error *error);

/**
 * Checks that patch[0 .. bytes) is one valid, canonical encoded patch. MN_OK, or MN_ERR_INVALID /
 * MN_ERR_TOO_LARGE / MN_ERR_NON_FINITE (the set document's statuses, with its field named; a
 * remove name is named with field_index its position in the remove list). error may be NULL.
 * Blocking: never.
 */
mn_status mn_meta_patch_validate(const void *patch, size_t bytes, mn_meta_error *error);

/**
 * Validates an encoded patch and returns its parts, pointing into it: *set, *set_bytes, and the
 * remove names in remove[0 .. *remove_count), remove_bytes[...]; remove and remove_bytes must
 * have room for MN_META_FIELDS_MAX entries. Statuses as mn_meta_patch_validate.
 * Blocking: never.
 */
mn_status mn_meta_patch_decode(const void *patch, size_t bytes, const void **set, size_t *set_bytes,
                               const char **remove, uint32_t *remove_bytes, uint32_t *remove_count,
                               mn_meta_error *error);

/**
 * mn_meta_patch with the patch given encoded (mn_meta_patch_encode). Statuses as mn_meta_patch.
 * Blocking: never (allocates).
 */
mn_status mn_meta_patch_apply(const void *old, size_t old_bytes, const void *patch, size_t patch_bytes, void **out,
                              size_t *out_bytes, mn_meta_error *error);

#ifdef __cplusplus
}
#endif

#endif /* MN_META_H */
