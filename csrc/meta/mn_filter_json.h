/*
 * mn_filter_json.h: the strict JSON reader under mn_filter_parse (private).
 *
 * It turns untrusted text into a small tree of values (a DOM in one growing array) that the
 * filter compiler then walks. Strict RFC 8259: one value with optional whitespace around it,
 * strings in valid UTF-8 with their escapes decoded (\uXXXX surrogate pairs become one 4-byte
 * UTF-8 sequence; a lone surrogate is an error), numbers that are integers fitting int64 stay
 * integers and the rest become doubles (an overflow to infinity is an error), no duplicate key
 * in any object. Recursion is bounded by a depth given by the caller, so no input can exhaust
 * the stack. Every error fills the caller's mn_filter_error (code, offset, innermost key).
 */
#ifndef MN_FILTER_JSON_H
#define MN_FILTER_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "mnemo/mn_filter.h"

#define MN_JSON_NULL   1
#define MN_JSON_FALSE  2
#define MN_JSON_TRUE   3
#define MN_JSON_INT    4
#define MN_JSON_DOUBLE 5
#define MN_JSON_STRING 6
#define MN_JSON_ARRAY  7
#define MN_JSON_OBJECT 8

/** Longest number token read (digits, sign, point, exponent): RFC 8259 lets a parser limit
 *  the range and precision of numbers, and a bounded token converts in a stack buffer. */
#define MN_JSON_NUMBER_BYTES_MAX 128

/** One JSON value. Indices refer to mn_json.values; index 0 is the root, so 0 also means
 *  "none" for `next` and `first`. Strings and keys live, decoded, in mn_json.pool. */
typedef struct mn_json_value {
    uint8_t type;        /* MN_JSON_* */
    uint32_t offset;     /* byte offset of the value's first character in the text */
    uint32_t key_offset; /* as an object member: offset of its key's opening quote */
    uint32_t key_start;  /* as an object member: the decoded key in the pool */
    uint32_t key_bytes;
    uint32_t next;       /* next element or member of the parent, 0 for the last */
    uint32_t first;      /* ARRAY, OBJECT: first element or member, 0 when empty */
    uint32_t count;      /* ARRAY, OBJECT: number of elements or members */
    union {
        int64_t i;       /* INT */
        double d;        /* DOUBLE */
        struct {
            uint32_t start; /* STRING: decoded bytes in the pool */
            uint32_t bytes;
        } s;
    } u;
} mn_json_value;

typedef struct mn_json {
    mn_json_value *values;
    uint32_t count;
    uint32_t capacity;
    char *pool;          /* decoded strings and keys: never longer than the text */
    uint32_t pool_bytes;
} mn_json;

/**
 * Parses `bytes` bytes of `text` (bytes <= MN_FILTER_BYTES_MAX, checked by the caller) into
 * *json, nesting at most `depth_max` arrays and objects. Errors: MN_ERR_INVALID (SYNTAX,
 * DUPLICATE_KEY), MN_ERR_TOO_LARGE (DEPTH), MN_ERR_NO_MEMORY; *error is filled. On error
 * *json holds nothing to free; on success pair with mn_json_free.
 */
mn_status mn_json_parse(const char *text, size_t bytes, uint32_t depth_max, mn_json *json,
                        mn_filter_error *error);

void mn_json_free(mn_json *json);

/** Fills *error (code, offset, field as the given bytes cut to fit, op, formatted message);
 *  shared by the reader and the compiler. `error` may be NULL. */
void mn_filter_error_set(mn_filter_error *error, int32_t code, uint32_t offset, const char *field,
                         size_t field_bytes, const char *op, const char *format, ...)
    __attribute__((format(printf, 7, 8)));

#endif /* MN_FILTER_JSON_H */
