/*
 * mn_meta.c: metadata documents (mn_meta.h): validation, field lookup and iteration straight
 * over the encoded bytes, a builder that sorts fields into the one canonical encoding, and
 * patches (set some fields, remove others) with their one-record encoding.
 *
 * Why read the bytes in place: a filter looks at one or two fields of every memory it passes
 * during a graph traversal, and the engine keeps each document as one allocation next to its
 * record. Decoding into a heap structure per look would allocate on the query path; walking at
 * most MN_META_FIELDS_MAX small headers does not.
 *
 * One structural reader (meta_read_field) bounds every length it follows, so lookups stay in
 * bounds even on bytes nobody validated; validation adds what makes a document canonical
 * (strict UTF-8, name rules and order, finite doubles, bools 0/1). Every length is checked
 * against the bytes present BEFORE the document limit, so a short buffer is "truncated"
 * (MN_ERR_INVALID) rather than "too large", and no check reads past MN_META_DOC_BYTES_MAX plus
 * one item: validation costs O(min(bytes, MN_META_DOC_BYTES_MAX)) whatever a header claims.
 */
#include "mnemo/mn_meta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/mn_assert.h"
#include "util/mn_bytes.h"

/* Byte sizes of the encoding's fixed parts (mn_meta.h draws the layout). */
#define MN_META_COUNT_SIZE 2u      /* u16 field_count */
#define MN_META_NAME_LEN_SIZE 1u   /* u8 name_bytes */
#define MN_META_TYPE_SIZE 1u       /* u8 type */
#define MN_META_STR_LEN_SIZE 4u    /* u32 string length */
#define MN_META_LIST_COUNT_SIZE 2u /* u16 list item count */
#define MN_META_SCALAR_SIZE 8u     /* i64 or f64 */
#define MN_META_BOOL_SIZE 1u       /* u8 bool */
/* Encoded patch: u32 set_bytes ... u16 remove_count ... */
#define MN_META_PATCH_SET_LEN_SIZE 4u
#define MN_META_PATCH_REMOVES_SIZE 2u

static const char MN_META_RESERVED_ID[] = "id";
static const char MN_META_RESERVED_CREATED_AT[] = "createdAt";

static uint16_t meta_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static void meta_put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* ---- errors ---- */

static void meta_error_clear(mn_meta_error *error) {
    if (!error) return;
    error->field_index = MN_META_NO_FIELD;
    error->name_bytes = 0;
    error->name[0] = '\0';
    error->reason = "";
}

/* Fills *error (if any) and returns status: the one way every function here reports. */
static mn_status meta_fail(mn_meta_error *error, mn_status status, uint32_t field_index, const void *name,
                           size_t name_bytes, const char *reason) {
    if (error) {
        size_t n = name ? (name_bytes < MN_META_NAME_BYTES_MAX ? name_bytes : MN_META_NAME_BYTES_MAX) : 0;
        if (n) memcpy(error->name, name, n);
        error->name[n] = '\0';
        error->name_bytes = (uint32_t)n;
        error->field_index = field_index;
        error->reason = reason;
    }
    return status;
}

/* ---- UTF-8 and names ---- */

/* Strict UTF-8 (RFC 3629): shortest forms only, no surrogates, nothing above U+10FFFF. */
static int meta_utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF; /* range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;      /* overlong below U+0800 */
            else if (c == 0xED) hi = 0x9F; /* surrogates U+D800 ... U+DFFF */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;      /* overlong below U+10000 */
            else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
        } else {
            return 0; /* continuation byte, overlong C0/C1, or F5 ... FF */
        }
        if (n - i <= need) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80) return 0;
        i += need + 1;
    }
    return 1;
}

static int meta_name_order(const uint8_t *a, size_t a_bytes, const uint8_t *b, size_t b_bytes) {
    size_t n = a_bytes < b_bytes ? a_bytes : b_bytes;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c;
    return a_bytes < b_bytes ? -1 : (a_bytes > b_bytes ? 1 : 0);
}

/* The name rules beyond length: NULL reason means the name is fine. */
static const char *meta_name_problem(const uint8_t *name, size_t name_bytes) {
    if (name_bytes == 0) return "empty field name";
    if (name_bytes > MN_META_NAME_BYTES_MAX) return "field name over MN_META_NAME_BYTES_MAX bytes";
    if (name[0] == '$') return "field name starts with '$' (reserved for operators)";
    if (memchr(name, 0, name_bytes)) return "field name contains U+0000";
    if (!meta_utf8_valid(name, name_bytes)) return "field name is not valid UTF-8";
    if ((name_bytes == sizeof MN_META_RESERVED_ID - 1 && !memcmp(name, MN_META_RESERVED_ID, name_bytes)) ||
        (name_bytes == sizeof MN_META_RESERVED_CREATED_AT - 1 &&
         !memcmp(name, MN_META_RESERVED_CREATED_AT, name_bytes)))
        return "field name is reserved for a built-in field (id, createdAt)";
    return NULL;
}

static mn_status meta_name_check(const uint8_t *name, size_t name_bytes, uint32_t field_index,
                                 mn_meta_error *error) {
    const char *problem = meta_name_problem(name, name_bytes);
    if (!problem) return MN_OK;
    return meta_fail(error, name_bytes > MN_META_NAME_BYTES_MAX ? MN_ERR_TOO_LARGE : MN_ERR_INVALID, field_index,
                     name, name_bytes, problem);
}

mn_status mn_meta_name_validate(const char *name, uint32_t name_bytes, mn_meta_error *error) {
    meta_error_clear(error);
    if (!name && name_bytes) return meta_fail(error, MN_ERR_INVALID, MN_META_NO_FIELD, NULL, 0, "name is NULL");
    return meta_name_check((const uint8_t *)name, name_bytes, MN_META_NO_FIELD, error);
}

mn_status mn_meta_name_compare(const char *a, uint32_t a_bytes, const char *b, uint32_t b_bytes, int *order) {
    if (!order || (!a && a_bytes) || (!b && b_bytes)) return MN_ERR_INVALID;
    int c = meta_name_order((const uint8_t *)a, a_bytes, (const uint8_t *)b, b_bytes);
    *order = c < 0 ? -1 : (c > 0 ? 1 : 0);
    return MN_OK;
}

/* ---- the structural reader ---- */

typedef struct meta_field {
    const uint8_t *name; /* NULL until the name is read */
    uint32_t name_bytes;
    mn_meta_value value;
    size_t end;   /* offset just past the field */
    uint8_t bool_byte; /* the raw bool byte, for validation */
} meta_field;

/* The reader's outcome: a status and, for validation's error report, why. */
typedef struct meta_read {
    mn_status status;
    const char *reason;
} meta_read;

/* Room for `need` more bytes at *at: truncated before too large (file comment). */
static int meta_room(size_t bytes, size_t at, size_t need, meta_read *r) {
    if (need > bytes - at) {
        r->status = MN_ERR_INVALID;
        r->reason = "document truncated inside a field";
        return 0;
    }
    if (at + need > MN_META_DOC_BYTES_MAX) {
        r->status = MN_ERR_TOO_LARGE;
        r->reason = "document over MN_META_DOC_BYTES_MAX bytes";
        return 0;
    }
    return 1;
}

/* Reads the field at doc + offset (offset <= bytes) into *f, checking only structure: every
 * length within the bytes present and within its limit, a known type. With fill 0 only the
 * name, end and raw bool byte are set (a lookup skipping a field it does not want). */
static meta_read meta_read_field(const uint8_t *doc, size_t bytes, size_t offset, meta_field *f, int fill) {
    meta_read r = {MN_OK, ""};
    f->name = NULL;
    f->name_bytes = 0;
    f->end = offset;
    f->bool_byte = 0;
    mn_meta_value scratch;
    mn_meta_value *v = fill ? &f->value : &scratch;
    memset(v, 0, sizeof *v);
    size_t at = offset;
    if (!meta_room(bytes, at, MN_META_NAME_LEN_SIZE, &r)) return r;
    uint32_t name_bytes = doc[at];
    at += MN_META_NAME_LEN_SIZE;
    if (name_bytes == 0) return (meta_read){MN_ERR_INVALID, "empty field name"};
    /* Name what we can even when the name is too long or cut short (validation reports it). */
    f->name = doc + at;
    f->name_bytes = (uint32_t)(name_bytes < bytes - at ? name_bytes : bytes - at);
    if (name_bytes > MN_META_NAME_BYTES_MAX)
        return (meta_read){MN_ERR_TOO_LARGE, "field name over MN_META_NAME_BYTES_MAX bytes"};
    if (!meta_room(bytes, at, name_bytes + MN_META_TYPE_SIZE, &r)) return r;
    f->name_bytes = name_bytes;
    at += name_bytes;
    uint8_t type = doc[at];
    at += MN_META_TYPE_SIZE;
    v->type = type;
    switch (type) {
    case MN_META_STRING: {
        if (!meta_room(bytes, at, MN_META_STR_LEN_SIZE, &r)) return r;
        uint32_t len = mn_get_u32(doc + at);
        at += MN_META_STR_LEN_SIZE;
        if (len > MN_META_STRING_BYTES_MAX)
            return (meta_read){MN_ERR_TOO_LARGE, "string over MN_META_STRING_BYTES_MAX bytes"};
        if (!meta_room(bytes, at, len, &r)) return r;
        v->str = (const char *)(doc + at);
        v->str_bytes = len;
        at += len;
        break;
    }
    case MN_META_INT:
        if (!meta_room(bytes, at, MN_META_SCALAR_SIZE, &r)) return r;
        v->i = (int64_t)mn_get_u64(doc + at);
        at += MN_META_SCALAR_SIZE;
        break;
    case MN_META_DOUBLE: {
        if (!meta_room(bytes, at, MN_META_SCALAR_SIZE, &r)) return r;
        uint64_t bits = mn_get_u64(doc + at);
        memcpy(&v->d, &bits, sizeof v->d);
        at += MN_META_SCALAR_SIZE;
        break;
    }
    case MN_META_BOOL:
        if (!meta_room(bytes, at, MN_META_BOOL_SIZE, &r)) return r;
        f->bool_byte = doc[at];
        v->b = doc[at] != 0;
        at += MN_META_BOOL_SIZE;
        break;
    case MN_META_STRINGS: {
        if (!meta_room(bytes, at, MN_META_LIST_COUNT_SIZE, &r)) return r;
        uint32_t n = meta_get_u16(doc + at);
        at += MN_META_LIST_COUNT_SIZE;
        if (n > MN_META_LIST_MAX) return (meta_read){MN_ERR_TOO_LARGE, "list over MN_META_LIST_MAX items"};
        size_t start = at;
        for (uint32_t k = 0; k < n; k++) {
            if (!meta_room(bytes, at, MN_META_STR_LEN_SIZE, &r)) return r;
            uint32_t len = mn_get_u32(doc + at);
            at += MN_META_STR_LEN_SIZE;
            if (len > MN_META_STRING_BYTES_MAX)
                return (meta_read){MN_ERR_TOO_LARGE, "list item over MN_META_STRING_BYTES_MAX bytes"};
            if (!meta_room(bytes, at, len, &r)) return r;
            at += len;
        }
        v->list = doc + start;
        v->list_count = n;
        v->list_bytes = (uint32_t)(at - start); /* <= MN_META_DOC_BYTES_MAX: meta_room */
        break;
    }
    default:
        return (meta_read){MN_ERR_INVALID, "unknown field type"};
    }
    f->end = at;
    return r;
}

/* The document header: field count, or a structural failure. bytes > 0. */
static meta_read meta_read_count(const uint8_t *doc, size_t bytes, uint32_t *count) {
    if (bytes < MN_META_COUNT_SIZE) return (meta_read){MN_ERR_INVALID, "document truncated in its field count"};
    *count = meta_get_u16(doc);
    if (*count == 0) return (meta_read){MN_ERR_INVALID, "field count 0 (an empty document has 0 bytes)"};
    if (*count > MN_META_FIELDS_MAX) return (meta_read){MN_ERR_TOO_LARGE, "more than MN_META_FIELDS_MAX fields"};
    return (meta_read){MN_OK, ""};
}

/* ---- validation ---- */

/* The value checks that make a structurally sound field canonical. */
static mn_status meta_check_value(const meta_field *f, const char **reason) {
    const mn_meta_value *v = &f->value;
    switch (v->type) {
    case MN_META_STRING:
        if (!meta_utf8_valid((const uint8_t *)v->str, v->str_bytes)) {
            *reason = "string is not valid UTF-8";
            return MN_ERR_INVALID;
        }
        return MN_OK;
    case MN_META_DOUBLE:
        if (!isfinite(v->d)) {
            *reason = "double is NaN or infinite";
            return MN_ERR_NON_FINITE;
        }
        if (v->d == 0.0 && signbit(v->d)) {
            *reason = "double is -0.0 (the canonical zero is 0.0)";
            return MN_ERR_INVALID;
        }
        return MN_OK;
    case MN_META_BOOL:
        if (f->bool_byte > 1) {
            *reason = "bool byte is not 0 or 1";
            return MN_ERR_INVALID;
        }
        return MN_OK;
    case MN_META_STRINGS: {
        const uint8_t *p = v->list;
        for (uint32_t k = 0; k < v->list_count; k++) {
            uint32_t len = mn_get_u32(p);
            if (!meta_utf8_valid(p + MN_META_STR_LEN_SIZE, len)) {
                *reason = "list item is not valid UTF-8";
                return MN_ERR_INVALID;
            }
            p += MN_META_STR_LEN_SIZE + len;
        }
        return MN_OK;
    }
    default:
        return MN_OK;
    }
}

mn_status mn_meta_validate(const void *doc, size_t bytes, mn_meta_error *error) {
    meta_error_clear(error);
    if (bytes == 0) return MN_OK;
    if (!doc) return meta_fail(error, MN_ERR_INVALID, MN_META_NO_FIELD, NULL, 0, "document is NULL");
    const uint8_t *p = doc;
    uint32_t count;
    meta_read r = meta_read_count(p, bytes, &count);
    if (r.status != MN_OK) return meta_fail(error, r.status, MN_META_NO_FIELD, NULL, 0, r.reason);
    size_t offset = MN_META_COUNT_SIZE;
    const uint8_t *previous = NULL;
    uint32_t previous_bytes = 0;
    for (uint32_t i = 0; i < count; i++) {
        meta_field f;
        r = meta_read_field(p, bytes, offset, &f, 1);
        if (r.status != MN_OK) return meta_fail(error, r.status, i, f.name, f.name_bytes, r.reason);
        mn_status status = meta_name_check(f.name, f.name_bytes, i, error);
        if (status != MN_OK) return status;
        if (previous) {
            int c = meta_name_order(previous, previous_bytes, f.name, f.name_bytes);
            if (c >= 0)
                return meta_fail(error, MN_ERR_INVALID, i, f.name, f.name_bytes,
                                 c == 0 ? "field name repeated" : "field names not in ascending order");
        }
        const char *reason = "";
        status = meta_check_value(&f, &reason);
        if (status != MN_OK) return meta_fail(error, status, i, f.name, f.name_bytes, reason);
        previous = f.name;
        previous_bytes = f.name_bytes;
        offset = f.end;
    }
    if (offset != bytes)
        return meta_fail(error, MN_ERR_INVALID, MN_META_NO_FIELD, NULL, 0, "bytes after the last field");
    return MN_OK;
}

/* ---- lookup and iteration ---- */

mn_status mn_meta_iter(const void *doc, size_t bytes, mn_meta_cursor *cursor) {
    if (!cursor || (!doc && bytes)) return MN_ERR_INVALID;
    memset(cursor, 0, sizeof *cursor);
    if (bytes == 0) return MN_OK;
    uint32_t count;
    if (meta_read_count(doc, bytes, &count).status != MN_OK) return MN_ERR_CORRUPT;
    cursor->doc = doc;
    cursor->bytes = bytes;
    cursor->offset = MN_META_COUNT_SIZE;
    cursor->remaining = count;
    return MN_OK;
}

mn_status mn_meta_next(mn_meta_cursor *cursor, const char **name, uint32_t *name_bytes, mn_meta_value *value) {
    if (!cursor) return MN_ERR_INVALID;
    if (cursor->remaining == 0) return MN_ERR_NOT_FOUND;
    if (!cursor->doc || cursor->offset > cursor->bytes) {
        cursor->remaining = 0;
        return MN_ERR_CORRUPT;
    }
    meta_field f;
    if (meta_read_field(cursor->doc, cursor->bytes, cursor->offset, &f, 1).status != MN_OK) {
        cursor->remaining = 0;
        return MN_ERR_CORRUPT;
    }
    cursor->offset = f.end;
    cursor->remaining--;
    if (name) *name = (const char *)f.name;
    if (name_bytes) *name_bytes = f.name_bytes;
    if (value) *value = f.value;
    return MN_OK;
}

mn_status mn_meta_get(const void *doc, size_t bytes, const char *name, uint32_t name_bytes, mn_meta_value *out) {
    if (!out || (!name && name_bytes) || (!doc && bytes)) return MN_ERR_INVALID;
    if (bytes == 0) return MN_ERR_NOT_FOUND;
    const uint8_t *p = doc;
    uint32_t count;
    if (meta_read_count(p, bytes, &count).status != MN_OK) return MN_ERR_CORRUPT;
    size_t offset = MN_META_COUNT_SIZE;
    /* Compare each name before reading its value: a field that sorts before `name` is only
     * skipped (its value is not decoded), and the first one after it ends the search. */
    for (uint32_t i = 0; i < count; i++) {
        if (offset >= bytes) return MN_ERR_CORRUPT;
        size_t field_bytes = p[offset];
        if (field_bytes > bytes - offset - MN_META_NAME_LEN_SIZE) return MN_ERR_CORRUPT;
        int c = meta_name_order(p + offset + MN_META_NAME_LEN_SIZE, field_bytes, (const uint8_t *)name, name_bytes);
        if (c > 0) return MN_ERR_NOT_FOUND;
        meta_field f;
        if (meta_read_field(p, bytes, offset, &f, c == 0).status != MN_OK) return MN_ERR_CORRUPT;
        if (c == 0) {
            *out = f.value;
            return MN_OK;
        }
        offset = f.end;
    }
    return MN_ERR_NOT_FOUND;
}

mn_status mn_meta_list_next(const mn_meta_value *list, uint32_t *position_bytes, const char **str,
                            uint32_t *str_bytes) {
    if (!list || !position_bytes || !str || !str_bytes || list->type != MN_META_STRINGS) return MN_ERR_INVALID;
    uint32_t at = *position_bytes;
    if (at > list->list_bytes) return MN_ERR_INVALID;
    if (at == list->list_bytes) return MN_ERR_NOT_FOUND;
    if (!list->list || list->list_bytes - at < MN_META_STR_LEN_SIZE) return MN_ERR_CORRUPT;
    uint32_t len = mn_get_u32(list->list + at);
    if (len > list->list_bytes - at - MN_META_STR_LEN_SIZE) return MN_ERR_CORRUPT;
    *str = (const char *)(list->list + at + MN_META_STR_LEN_SIZE);
    *str_bytes = len;
    *position_bytes = at + MN_META_STR_LEN_SIZE + len;
    return MN_OK;
}

void mn_meta_free(void *doc) { free(doc); }

/* ---- builder ---- */

/* A builder holds each added field already encoded, in add order, in one buffer no larger than
 * a whole document: adds past the limit fail, so a builder never grows without bound. */
typedef struct meta_entry {
    uint32_t offset; /* into data: the field's name_bytes byte */
    uint32_t bytes;  /* the whole field's encoded size */
} meta_entry;

struct mn_meta_builder {
    uint32_t count;
    uint32_t size; /* bytes of data used */
    mn_status failed;
    mn_meta_error error; /* the first failure, reported again by finish */
    meta_entry entries[MN_META_FIELDS_MAX];
    uint8_t data[MN_META_DOC_BYTES_MAX];
};

mn_status mn_meta_builder_create(mn_meta_builder **out) {
    if (!out) return MN_ERR_INVALID;
    *out = NULL;
    mn_meta_builder *builder = malloc(sizeof *builder);
    if (!builder) return MN_ERR_NO_MEMORY;
    builder->count = 0;
    builder->size = 0;
    builder->failed = MN_OK;
    meta_error_clear(&builder->error);
    *out = builder;
    return MN_OK;
}

void mn_meta_builder_destroy(mn_meta_builder *builder) { free(builder); }

/* Keeps the first failure (the add that caused it named) and returns it. */
static mn_status meta_builder_fail(mn_meta_builder *builder, mn_status status, const char *name, size_t name_bytes,
                                   const char *reason) {
    builder->failed = meta_fail(&builder->error, status, builder->count, name, name_bytes, reason);
    return status;
}

/* The checks every add shares; on success *at is where the field's encoding goes, with room for
 * value_bytes of value after the name and type. */
static mn_status meta_builder_begin(mn_meta_builder *builder, const char *name, uint32_t name_bytes,
                                    size_t value_bytes, uint8_t type, uint8_t **at) {
    if (builder->failed != MN_OK) return builder->failed;
    if (!name && name_bytes) return meta_builder_fail(builder, MN_ERR_INVALID, NULL, 0, "name is NULL");
    mn_status status = meta_name_check((const uint8_t *)name, name_bytes, builder->count, &builder->error);
    if (status != MN_OK) return builder->failed = status;
    if (builder->count == MN_META_FIELDS_MAX)
        return meta_builder_fail(builder, MN_ERR_TOO_LARGE, name, name_bytes, "more than MN_META_FIELDS_MAX fields");
    size_t field = MN_META_NAME_LEN_SIZE + name_bytes + MN_META_TYPE_SIZE + value_bytes;
    if (MN_META_COUNT_SIZE + builder->size + field > MN_META_DOC_BYTES_MAX)
        return meta_builder_fail(builder, MN_ERR_TOO_LARGE, name, name_bytes,
                                 "document over MN_META_DOC_BYTES_MAX bytes");
    uint8_t *p = builder->data + builder->size;
    builder->entries[builder->count] = (meta_entry){builder->size, (uint32_t)field};
    builder->count++;
    builder->size += (uint32_t)field;
    p[0] = (uint8_t)name_bytes;
    if (name_bytes) memcpy(p + MN_META_NAME_LEN_SIZE, name, name_bytes);
    p[MN_META_NAME_LEN_SIZE + name_bytes] = type;
    *at = p + MN_META_NAME_LEN_SIZE + name_bytes + MN_META_TYPE_SIZE;
    return MN_OK;
}

/* A string value's checks, shared by strings and list items. */
static mn_status meta_builder_check_string(mn_meta_builder *builder, const char *name, uint32_t name_bytes,
                                           const char *value, uint32_t value_bytes, int item) {
    if (!value && value_bytes)
        return meta_builder_fail(builder, MN_ERR_INVALID, name, name_bytes,
                                 item ? "list item is NULL" : "string is NULL");
    if (value_bytes > MN_META_STRING_BYTES_MAX)
        return meta_builder_fail(builder, MN_ERR_TOO_LARGE, name, name_bytes,
                                 item ? "list item over MN_META_STRING_BYTES_MAX bytes"
                                      : "string over MN_META_STRING_BYTES_MAX bytes");
    if (!meta_utf8_valid((const uint8_t *)value, value_bytes))
        return meta_builder_fail(builder, MN_ERR_INVALID, name, name_bytes,
                                 item ? "list item is not valid UTF-8" : "string is not valid UTF-8");
    return MN_OK;
}

mn_status mn_meta_builder_add_string(mn_meta_builder *builder, const char *name, uint32_t name_bytes,
                                     const char *value, uint32_t value_bytes) {
    if (!builder) return MN_ERR_INVALID;
    if (builder->failed != MN_OK) return builder->failed;
    mn_status status = meta_builder_check_string(builder, name, name_bytes, value, value_bytes, 0);
    if (status != MN_OK) return status;
    uint8_t *p;
    status = meta_builder_begin(builder, name, name_bytes, MN_META_STR_LEN_SIZE + (size_t)value_bytes,
                                MN_META_STRING, &p);
    if (status != MN_OK) return status;
    mn_put_u32(p, value_bytes);
    if (value_bytes) memcpy(p + MN_META_STR_LEN_SIZE, value, value_bytes);
    return MN_OK;
}

mn_status mn_meta_builder_add_int(mn_meta_builder *builder, const char *name, uint32_t name_bytes, int64_t value) {
    if (!builder) return MN_ERR_INVALID;
    uint8_t *p;
    mn_status status = meta_builder_begin(builder, name, name_bytes, MN_META_SCALAR_SIZE, MN_META_INT, &p);
    if (status != MN_OK) return status;
    mn_put_u64(p, (uint64_t)value);
    return MN_OK;
}

mn_status mn_meta_builder_add_double(mn_meta_builder *builder, const char *name, uint32_t name_bytes, double value) {
    if (!builder) return MN_ERR_INVALID;
    if (builder->failed != MN_OK) return builder->failed;
    if (!isfinite(value))
        return meta_builder_fail(builder, MN_ERR_NON_FINITE, name, name_bytes, "double is NaN or infinite");
    if (value == 0.0) value = 0.0; /* -0.0 == 0.0: store the one canonical zero */
    uint8_t *p;
    mn_status status = meta_builder_begin(builder, name, name_bytes, MN_META_SCALAR_SIZE, MN_META_DOUBLE, &p);
    if (status != MN_OK) return status;
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    mn_put_u64(p, bits);
    return MN_OK;
}

mn_status mn_meta_builder_add_bool(mn_meta_builder *builder, const char *name, uint32_t name_bytes, int value) {
    if (!builder) return MN_ERR_INVALID;
    uint8_t *p;
    mn_status status = meta_builder_begin(builder, name, name_bytes, MN_META_BOOL_SIZE, MN_META_BOOL, &p);
    if (status != MN_OK) return status;
    p[0] = value != 0;
    return MN_OK;
}

mn_status mn_meta_builder_add_strings(mn_meta_builder *builder, const char *name, uint32_t name_bytes,
                                      const char *const *items, const uint32_t *lens, uint32_t n) {
    if (!builder) return MN_ERR_INVALID;
    if (builder->failed != MN_OK) return builder->failed;
    if (n && (!items || !lens))
        return meta_builder_fail(builder, MN_ERR_INVALID, name, name_bytes, "list items are NULL");
    if (n > MN_META_LIST_MAX)
        return meta_builder_fail(builder, MN_ERR_TOO_LARGE, name, name_bytes, "list over MN_META_LIST_MAX items");
    size_t value_bytes = MN_META_LIST_COUNT_SIZE;
    for (uint32_t k = 0; k < n; k++) {
        mn_status status = meta_builder_check_string(builder, name, name_bytes, items[k], lens[k], 1);
        if (status != MN_OK) return status;
        value_bytes += MN_META_STR_LEN_SIZE + (size_t)lens[k]; /* <= 256 x 4100: no overflow */
    }
    uint8_t *p;
    mn_status status = meta_builder_begin(builder, name, name_bytes, value_bytes, MN_META_STRINGS, &p);
    if (status != MN_OK) return status;
    meta_put_u16(p, (uint16_t)n);
    p += MN_META_LIST_COUNT_SIZE;
    for (uint32_t k = 0; k < n; k++) {
        mn_put_u32(p, lens[k]);
        if (lens[k]) memcpy(p + MN_META_STR_LEN_SIZE, items[k], lens[k]);
        p += MN_META_STR_LEN_SIZE + lens[k];
    }
    return MN_OK;
}

/* Order of two encoded fields by name (each starts with its u8 name_bytes). */
static int meta_field_order(const uint8_t *a, const uint8_t *b) {
    return meta_name_order(a + MN_META_NAME_LEN_SIZE, a[0], b + MN_META_NAME_LEN_SIZE, b[0]);
}

mn_status mn_meta_builder_finish(mn_meta_builder *builder, void **doc, size_t *bytes, mn_meta_error *error) {
    meta_error_clear(error);
    if (!builder || !doc || !bytes) return MN_ERR_INVALID;
    *doc = NULL;
    *bytes = 0;
    if (builder->failed != MN_OK) {
        if (error) *error = builder->error;
        return builder->failed;
    }
    if (builder->count == 0) return MN_OK;
    /* Insertion sort of add positions (at most 64), stable: of two equal names the later add
     * sorts second, and that is the one named. */
    uint32_t order[MN_META_FIELDS_MAX];
    for (uint32_t i = 0; i < builder->count; i++) {
        uint32_t j = i;
        const uint8_t *field = builder->data + builder->entries[i].offset;
        while (j > 0 && meta_field_order(builder->data + builder->entries[order[j - 1]].offset, field) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (uint32_t j = 1; j < builder->count; j++) {
        const uint8_t *field = builder->data + builder->entries[order[j]].offset;
        if (meta_field_order(builder->data + builder->entries[order[j - 1]].offset, field) == 0)
            return meta_fail(error, MN_ERR_INVALID, order[j], field + MN_META_NAME_LEN_SIZE, field[0],
                             "field name repeated");
    }
    size_t total = MN_META_COUNT_SIZE + builder->size;
    uint8_t *out = malloc(total);
    if (!out) return meta_fail(error, MN_ERR_NO_MEMORY, MN_META_NO_FIELD, NULL, 0, "out of memory");
    meta_put_u16(out, (uint16_t)builder->count);
    uint8_t *p = out + MN_META_COUNT_SIZE;
    for (uint32_t j = 0; j < builder->count; j++) {
        const meta_entry *entry = &builder->entries[order[j]];
        memcpy(p, builder->data + entry->offset, entry->bytes);
        p += entry->bytes;
    }
    MN_ASSERT((size_t)(p - out) == total);
    MN_DEBUG_ASSERT(mn_meta_validate(out, total, NULL) == MN_OK);
    *doc = out;
    *bytes = total;
    return MN_OK;
}

/* ---- patches ---- */

/* Is `name` a field of the validated document? */
static int meta_has(const uint8_t *doc, size_t bytes, const uint8_t *name, size_t name_bytes) {
    mn_meta_value value;
    return mn_meta_get(doc, bytes, (const char *)name, (uint32_t)name_bytes, &value) == MN_OK;
}

/* Checks a patch's parts: `set` a valid document, remove_count within bounds, each remove name
 * valid and not set. Shared by mn_meta_patch and mn_meta_patch_encode. */
static mn_status meta_patch_check(const void *set, size_t set_bytes, const char *const *remove,
                                  const uint32_t *remove_bytes, uint32_t remove_count, mn_meta_error *error) {
    if (remove_count && (!remove || !remove_bytes))
        return meta_fail(error, MN_ERR_INVALID, MN_META_NO_FIELD, NULL, 0, "remove list is NULL");
    mn_status status = mn_meta_validate(set, set_bytes, error);
    if (status != MN_OK) return status;
    if (remove_count > MN_META_FIELDS_MAX)
        return meta_fail(error, MN_ERR_TOO_LARGE, MN_META_NO_FIELD, NULL, 0,
                         "more than MN_META_FIELDS_MAX names to remove");
    for (uint32_t i = 0; i < remove_count; i++) {
        const uint8_t *name = (const uint8_t *)remove[i];
        if (!name && remove_bytes[i]) return meta_fail(error, MN_ERR_INVALID, i, NULL, 0, "name is NULL");
        status = meta_name_check(name, remove_bytes[i], i, error);
        if (status != MN_OK) return status;
        if (meta_has(set, set_bytes, name, remove_bytes[i]))
            return meta_fail(error, MN_ERR_INVALID, i, name, remove_bytes[i], "field both set and removed");
    }
    return MN_OK;
}

/* One field of the result: its encoded bytes, copied whole from `old` or `set`. */
typedef struct meta_span {
    const uint8_t *at;
    size_t bytes;
} meta_span;

static mn_status meta_cursor_peek(const mn_meta_cursor *cursor, meta_field *f) {
    if (cursor->remaining == 0) return MN_ERR_NOT_FOUND;
    return meta_read_field(cursor->doc, cursor->bytes, cursor->offset, f, 1).status == MN_OK ? MN_OK : MN_ERR_CORRUPT;
}

static void meta_cursor_skip(mn_meta_cursor *cursor, const meta_field *f) {
    cursor->offset = f->end;
    cursor->remaining--;
}

mn_status mn_meta_patch(const void *old, size_t old_bytes, const void *set, size_t set_bytes,
                        const char *const *remove, const uint32_t *remove_bytes, uint32_t remove_count, void **out,
                        size_t *out_bytes, mn_meta_error *error) {
    meta_error_clear(error);
    if (!out || !out_bytes) return meta_fail(error, MN_ERR_INVALID, MN_META_NO_FIELD, NULL, 0, "out is NULL");
    *out = NULL;
    *out_bytes = 0;
    if (mn_meta_validate(old, old_bytes, NULL) != MN_OK)
        return meta_fail(error, MN_ERR_CORRUPT, MN_META_NO_FIELD, NULL, 0, "the old document is not valid");
    mn_status status = meta_patch_check(set, set_bytes, remove, remove_bytes, remove_count, error);
    if (status != MN_OK) return status;

    /* Merge the two sorted field sequences: set wins on equal names; removed old fields drop. */
    meta_span spans[MN_META_FIELDS_MAX];
    uint32_t count = 0;
    size_t total = MN_META_COUNT_SIZE;
    mn_meta_cursor a, b;
    if (mn_meta_iter(old, old_bytes, &a) != MN_OK || mn_meta_iter(set, set_bytes, &b) != MN_OK)
        return meta_fail(error, MN_ERR_CORRUPT, MN_META_NO_FIELD, NULL, 0, "the old document is not valid");
    for (;;) {
        meta_field fa, fb;
        mn_status sa = meta_cursor_peek(&a, &fa), sb = meta_cursor_peek(&b, &fb);
        MN_ASSERT(sa != MN_ERR_CORRUPT && sb != MN_ERR_CORRUPT); /* both validated above */
        if (sa != MN_OK && sb != MN_OK) break;
        const meta_field *take;
        if (sb != MN_OK || (sa == MN_OK && meta_name_order(fa.name, fa.name_bytes, fb.name, fb.name_bytes) < 0)) {
            meta_cursor_skip(&a, &fa);
            int removed = 0;
            for (uint32_t i = 0; i < remove_count && !removed; i++)
                removed = !meta_name_order(fa.name, fa.name_bytes, (const uint8_t *)remove[i], remove_bytes[i]);
            if (removed) continue;
            take = &fa;
        } else {
            if (sa == MN_OK && meta_name_order(fa.name, fa.name_bytes, fb.name, fb.name_bytes) == 0)
                meta_cursor_skip(&a, &fa); /* replaced */
            meta_cursor_skip(&b, &fb);
            take = &fb;
        }
        const uint8_t *start = take->name - MN_META_NAME_LEN_SIZE;
        size_t bytes = (size_t)((take == &fa ? a.doc : b.doc) + take->end - start);
        if (count == MN_META_FIELDS_MAX)
            return meta_fail(error, MN_ERR_TOO_LARGE, count, take->name, take->name_bytes,
                             "more than MN_META_FIELDS_MAX fields");
        if (total + bytes > MN_META_DOC_BYTES_MAX)
            return meta_fail(error, MN_ERR_TOO_LARGE, count, take->name, take->name_bytes,
                             "document over MN_META_DOC_BYTES_MAX bytes");
        spans[count++] = (meta_span){start, bytes};
        total += bytes;
    }
    if (count == 0) return MN_OK;
    uint8_t *doc = malloc(total);
    if (!doc) return meta_fail(error, MN_ERR_NO_MEMORY, MN_META_NO_FIELD, NULL, 0, "out of memory");
    meta_put_u16(doc, (uint16_t)count);
    size_t at = MN_META_COUNT_SIZE;
    for (uint32_t i = 0; i < count; i++) {
        memcpy(doc + at, spans[i].at, spans[i].bytes);
        at += spans[i].bytes;
    }
    MN_ASSERT(at == total);
    MN_DEBUG_ASSERT(mn_meta_validate(doc, total, NULL) == MN_OK);
    *out = doc;
    *out_bytes = total;
    return MN_OK;
}

mn_status mn_meta_patch_encode(const void *set, size_t set_bytes, const char *const *remove,
                               const uint32_t *remove_bytes, uint32_t remove_count, void **patch,
                               size_t *patch_bytes, mn_meta_error *error) {
    meta_error_clear(error);
    if (!patch || !patch_bytes) return meta_fail(error, MN_ERR_INVALID, MN_META_NO_FIELD, NULL, 0, "out is NULL");
    *patch = NULL;
    *patch_bytes = 0;
    mn_status status = meta_patch_check(set, set_bytes, remove, remove_bytes, remove_count, error);
    if (status != MN_OK) return status;
    /* Sort the remove names (insertion sort, at most 64; stable, so the later of two equal
     * names is the one named). */
    uint32_t order[MN_META_FIELDS_MAX];
    size_t total = MN_META_PATCH_SET_LEN_SIZE + set_bytes + MN_META_PATCH_REMOVES_SIZE;
    for (uint32_t i = 0; i < remove_count; i++) {
        uint32_t j = i;
        while (j > 0 && meta_name_order((const uint8_t *)remove[order[j - 1]], remove_bytes[order[j - 1]],
                                        (const uint8_t *)remove[i], remove_bytes[i]) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
        total += MN_META_NAME_LEN_SIZE + remove_bytes[i];
    }
    for (uint32_t j = 1; j < remove_count; j++)
        if (!meta_name_order((const uint8_t *)remove[order[j - 1]], remove_bytes[order[j - 1]],
                             (const uint8_t *)remove[order[j]], remove_bytes[order[j]]))
            return meta_fail(error, MN_ERR_INVALID, order[j], remove[order[j]], remove_bytes[order[j]],
                             "name to remove repeated");
    uint8_t *out = malloc(total);
    if (!out) return meta_fail(error, MN_ERR_NO_MEMORY, MN_META_NO_FIELD, NULL, 0, "out of memory");
    mn_put_u32(out, (uint32_t)set_bytes); /* <= MN_META_DOC_BYTES_MAX: validated */
    size_t at = MN_META_PATCH_SET_LEN_SIZE;
    if (set_bytes) memcpy(out + at, set, set_bytes);
    at += set_bytes;
    meta_put_u16(out + at, (uint16_t)remove_count);
    at += MN_META_PATCH_REMOVES_SIZE;
    for (uint32_t j = 0; j < remove_count; j++) {
        uint32_t n = remove_bytes[order[j]];
        out[at] = (uint8_t)n;
        memcpy(out + at + MN_META_NAME_LEN_SIZE, remove[order[j]], n);
        at += MN_META_NAME_LEN_SIZE + n;
    }
    MN_ASSERT(at == total);
    *patch = out;
    *patch_bytes = total;
    return MN_OK;
}

mn_status mn_meta_patch_decode(const void *patch, size_t bytes, const void **set, size_t *set_bytes,
                               const char **remove, uint32_t *remove_bytes, uint32_t *remove_count,
                               mn_meta_error *error) {
    meta_error_clear(error);
    if (!set || !set_bytes || !remove || !remove_bytes || !remove_count || (!patch && bytes))
        return meta_fail(error, MN_ERR_INVALID, MN_META_NO_FIELD, NULL, 0, "argument is NULL");
    const uint8_t *p = patch;
    if (bytes < MN_META_PATCH_SET_LEN_SIZE + MN_META_PATCH_REMOVES_SIZE)
        return meta_fail(error, MN_ERR_INVALID, MN_META_NO_FIELD, NULL, 0, "patch truncated");
    uint32_t n_set = mn_get_u32(p);
    if (n_set > bytes - MN_META_PATCH_SET_LEN_SIZE - MN_META_PATCH_REMOVES_SIZE)
        return meta_fail(error, MN_ERR_INVALID, MN_META_NO_FIELD, NULL, 0, "patch truncated in its set document");
    const uint8_t *doc = p + MN_META_PATCH_SET_LEN_SIZE;
    mn_status status = mn_meta_validate(doc, n_set, error);
    if (status != MN_OK) return status;
    size_t at = MN_META_PATCH_SET_LEN_SIZE + (size_t)n_set;
    uint32_t count = meta_get_u16(p + at);
    at += MN_META_PATCH_REMOVES_SIZE;
    if (count > MN_META_FIELDS_MAX)
        return meta_fail(error, MN_ERR_TOO_LARGE, MN_META_NO_FIELD, NULL, 0,
                         "more than MN_META_FIELDS_MAX names to remove");
    for (uint32_t i = 0; i < count; i++) {
        if (at == bytes) return meta_fail(error, MN_ERR_INVALID, i, NULL, 0, "patch truncated in its remove list");
        uint32_t n = p[at];
        const uint8_t *name = p + at + MN_META_NAME_LEN_SIZE;
        size_t present = bytes - at - MN_META_NAME_LEN_SIZE;
        if (n > present)
            return meta_fail(error, MN_ERR_INVALID, i, name, present, "patch truncated in its remove list");
        status = meta_name_check(name, n, i, error);
        if (status != MN_OK) return status;
        if (i > 0) {
            int c = meta_name_order((const uint8_t *)remove[i - 1], remove_bytes[i - 1], name, n);
            if (c >= 0)
                return meta_fail(error, MN_ERR_INVALID, i, name, n,
                                 c == 0 ? "name to remove repeated" : "names to remove not in ascending order");
        }
        if (meta_has(doc, n_set, name, n))
            return meta_fail(error, MN_ERR_INVALID, i, name, n, "field both set and removed");
        remove[i] = (const char *)name;
        remove_bytes[i] = n;
        at += MN_META_NAME_LEN_SIZE + n;
    }
    if (at != bytes)
        return meta_fail(error, MN_ERR_INVALID, MN_META_NO_FIELD, NULL, 0, "bytes after the patch's remove list");
    *set = n_set ? doc : NULL;
    *set_bytes = n_set;
    *remove_count = count;
    return MN_OK;
}

mn_status mn_meta_patch_validate(const void *patch, size_t bytes, mn_meta_error *error) {
    const void *set;
    size_t set_bytes;
    const char *remove[MN_META_FIELDS_MAX];
    uint32_t remove_bytes[MN_META_FIELDS_MAX], remove_count;
    return mn_meta_patch_decode(patch, bytes, &set, &set_bytes, remove, remove_bytes, &remove_count, error);
}

mn_status mn_meta_patch_apply(const void *old, size_t old_bytes, const void *patch, size_t patch_bytes, void **out,
                              size_t *out_bytes, mn_meta_error *error) {
    if (!out || !out_bytes) {
        meta_error_clear(error);
        return meta_fail(error, MN_ERR_INVALID, MN_META_NO_FIELD, NULL, 0, "out is NULL");
    }
    *out = NULL;
    *out_bytes = 0;
    const void *set;
    size_t set_bytes;
    const char *remove[MN_META_FIELDS_MAX];
    uint32_t remove_bytes[MN_META_FIELDS_MAX], remove_count;
    mn_status status =
        mn_meta_patch_decode(patch, patch_bytes, &set, &set_bytes, remove, remove_bytes, &remove_count, error);
    if (status != MN_OK) return status;
    return mn_meta_patch(old, old_bytes, set, set_bytes, (const char *const *)remove, remove_bytes, remove_count, out,
                         out_bytes, error);
}
