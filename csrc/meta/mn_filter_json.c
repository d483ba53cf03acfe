/*
 * mn_filter_json.c: a strict, bounded JSON reader for filter text (see mn_filter_json.h).
 *
 * Filter JSON comes from agents and over HTTP, so it is untrusted: every byte is checked
 * against RFC 8259 (no comments, no trailing commas, no NaN/Infinity, no leading zeros, no
 * control characters or invalid UTF-8 in strings, nothing after the value), recursion is
 * bounded by the caller's depth, and the two allocations (the value array and the string pool)
 * are bounded by the text size, itself bounded by MN_FILTER_BYTES_MAX. Decoded strings never
 * grow (an escape is at least as long as its UTF-8), so the pool is sized once.
 */
#include "meta/mn_filter_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/mn_filter_internal.h"
#include "util/mn_assert.h"

void mn_filter_error_set(mn_filter_error *error, int32_t code, uint32_t offset, const char *field,
                         size_t field_bytes, const char *op, const char *format, ...) {
    if (!error) return;
    error->code = code;
    error->offset = offset;
    size_t n = field ? field_bytes : 0;
    if (n > MN_FILTER_ERROR_FIELD_BYTES - 1) n = MN_FILTER_ERROR_FIELD_BYTES - 1;
    if (n) memcpy(error->field, field, n);
    error->field[n] = '\0';
    n = op ? strlen(op) : 0;
    if (n > MN_FILTER_ERROR_OPERATOR_BYTES - 1) n = MN_FILTER_ERROR_OPERATOR_BYTES - 1;
    if (n) memcpy(error->op, op, n);
    error->op[n] = '\0';
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof error->message, format, args);
    va_end(args);
}

/* Heapsort: O(n log n) with no recursion and no allocation, for lists an attacker sizes. */
static void mn_filter_sift(uint32_t *items, uint32_t start, uint32_t end, mn_filter_less_fn less,
                           const void *context) {
    uint32_t root = start;
    for (;;) {
        uint64_t child = 2ull * root + 1;
        if (child >= end) return;
        uint32_t c = (uint32_t)child;
        if (c + 1 < end && less(context, items[c], items[c + 1])) c++;
        if (!less(context, items[root], items[c])) return;
        uint32_t t = items[root];
        items[root] = items[c];
        items[c] = t;
        root = c;
    }
}

void mn_filter_sort(uint32_t *items, uint32_t count, mn_filter_less_fn less, const void *context) {
    if (count < 2) return;
    for (uint32_t i = count / 2; i-- > 0;) mn_filter_sift(items, i, count, less, context);
    for (uint32_t end = count - 1; end > 0; end--) {
        uint32_t t = items[0];
        items[0] = items[end];
        items[end] = t;
        mn_filter_sift(items, 0, end, less, context);
    }
}

typedef struct mn_json_parser {
    const unsigned char *text;
    size_t bytes;
    size_t pos;
    uint32_t depth_max;
    mn_json *json;
    mn_filter_error *error;
    uint32_t key_start; /* the innermost key being read, for error reports */
    uint32_t key_bytes;
    int has_key;
} mn_json_parser;

static mn_status mn_json_fail(mn_json_parser *p, size_t offset, const char *what) {
    mn_filter_error_set(p->error, MN_FILTER_ERROR_SYNTAX, (uint32_t)offset,
                        p->has_key ? p->json->pool + p->key_start : NULL, p->key_bytes, NULL,
                        "malformed JSON at byte %zu: %s", offset, what);
    return MN_ERR_INVALID;
}

static void mn_json_skip_space(mn_json_parser *p) {
    while (p->pos < p->bytes) {
        unsigned char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
        p->pos++;
    }
}

static mn_status mn_json_new(mn_json_parser *p, uint8_t type, uint32_t *index) {
    mn_json *json = p->json;
    if (json->count == json->capacity) {
        uint32_t capacity = json->capacity ? json->capacity * 2 : 16;
        mn_json_value *grown = realloc(json->values, (size_t)capacity * sizeof *grown);
        if (!grown) {
            mn_filter_error_set(p->error, MN_FILTER_ERROR_NO_MEMORY, (uint32_t)p->pos, NULL, 0, NULL,
                                "out of memory");
            return MN_ERR_NO_MEMORY;
        }
        json->values = grown;
        json->capacity = capacity;
    }
    mn_json_value *v = &json->values[json->count];
    memset(v, 0, sizeof *v);
    v->type = type;
    v->offset = (uint32_t)p->pos;
    *index = json->count++;
    return MN_OK;
}

static int mn_json_hex(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads the four hex digits of a \u escape at p->pos (after "\u"). */
static int mn_json_u16(mn_json_parser *p, uint32_t *unit) {
    if (p->bytes - p->pos < 4) return 0;
    uint32_t value = 0;
    for (int i = 0; i < 4; i++) {
        int h = mn_json_hex(p->text[p->pos + (size_t)i]);
        if (h < 0) return 0;
        value = value * 16 + (uint32_t)h;
    }
    p->pos += 4;
    *unit = value;
    return 1;
}

/* Length of the valid UTF-8 sequence starting at s (lead byte >= 0x80), or 0 when invalid:
 * no overlong forms, no encoded surrogates, nothing above U+10FFFF (RFC 3629). */
static size_t mn_json_utf8(const unsigned char *s, size_t left) {
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) n = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) n = 3;
    else if (c == 0xED) n = 3, hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF) n = 3;
    else if (c == 0xF0) n = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) n = 4, hi = 0x8F;
    else return 0;
    if (left < n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return n;
}

/* Reads a string at p->pos (its opening quote) into the pool, located by *start and *bytes. */
static mn_status mn_json_string(mn_json_parser *p, uint32_t *start, uint32_t *bytes) {
    mn_json *json = p->json;
    MN_ASSERT(p->text[p->pos] == '"');
    p->pos++;
    uint32_t begin = json->pool_bytes;
    char *out = json->pool;
    uint32_t w = begin;
    for (;;) {
        if (p->pos >= p->bytes) return mn_json_fail(p, p->pos, "unterminated string");
        unsigned char c = p->text[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) return mn_json_fail(p, p->pos, "control character in a string (escape it)");
        if (c >= 0x80) {
            size_t n = mn_json_utf8(p->text + p->pos, p->bytes - p->pos);
            if (!n) return mn_json_fail(p, p->pos, "invalid UTF-8 in a string");
            memcpy(out + w, p->text + p->pos, n);
            w += (uint32_t)n;
            p->pos += n;
            continue;
        }
        if (c != '\\') {
            out[w++] = (char)c;
            p->pos++;
            continue;
        }
        size_t escape = p->pos;
        p->pos++;
        if (p->pos >= p->bytes) return mn_json_fail(p, escape, "unterminated escape");
        c = p->text[p->pos++];
        switch (c) {
        case '"': out[w++] = '"'; break;
        case '\\': out[w++] = '\\'; break;
        case '/': out[w++] = '/'; break;
        case 'b': out[w++] = '\b'; break;
        case 'f': out[w++] = '\f'; break;
        case 'n': out[w++] = '\n'; break;
        case 'r': out[w++] = '\r'; break;
        case 't': out[w++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (!mn_json_u16(p, &cp)) return mn_json_fail(p, escape, "\\u needs four hex digits");
            if (cp >= 0xDC00 && cp <= 0xDFFF) return mn_json_fail(p, escape, "lone low surrogate");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t low;
                if (p->bytes - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
                    return mn_json_fail(p, escape, "high surrogate without a low surrogate");
                p->pos += 2;
                if (!mn_json_u16(p, &low) || low < 0xDC00 || low > 0xDFFF)
                    return mn_json_fail(p, escape, "high surrogate without a low surrogate");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            /* Each form below is no longer than the escape text it replaces (6 or 12 bytes),
             * which keeps the pool within the text size. */
            if (cp < 0x80) {
                out[w++] = (char)cp;
            } else if (cp < 0x800) {
                out[w++] = (char)(0xC0 | (cp >> 6));
                out[w++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                out[w++] = (char)(0xE0 | (cp >> 12));
                out[w++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[w++] = (char)(0x80 | (cp & 0x3F));
            } else {
                out[w++] = (char)(0xF0 | (cp >> 18));
                out[w++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                out[w++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[w++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: return mn_json_fail(p, escape, "unknown escape");
        }
    }
    MN_ASSERT(w <= p->bytes + 1);
    json->pool_bytes = w;
    *start = begin;
    *bytes = w - begin;
    return MN_OK;
}

static int mn_json_digit(mn_json_parser *p) {
    return p->pos < p->bytes && p->text[p->pos] >= '0' && p->text[p->pos] <= '9';
}

static mn_status mn_json_number(mn_json_parser *p, uint32_t index) {
    size_t begin = p->pos;
    int negative = 0, integral = 1;
    if (p->text[p->pos] == '-') {
        negative = 1;
        p->pos++;
    }
    if (!mn_json_digit(p)) return mn_json_fail(p, p->pos, "a number needs a digit");
    if (p->text[p->pos] == '0') {
        p->pos++;
        if (mn_json_digit(p)) return mn_json_fail(p, p->pos, "leading zero in a number");
    } else {
        while (mn_json_digit(p)) p->pos++;
    }
    if (p->pos < p->bytes && p->text[p->pos] == '.') {
        integral = 0;
        p->pos++;
        if (!mn_json_digit(p)) return mn_json_fail(p, p->pos, "a fraction needs a digit");
        while (mn_json_digit(p)) p->pos++;
    }
    if (p->pos < p->bytes && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
        integral = 0;
        p->pos++;
        if (p->pos < p->bytes && (p->text[p->pos] == '+' || p->text[p->pos] == '-')) p->pos++;
        if (!mn_json_digit(p)) return mn_json_fail(p, p->pos, "an exponent needs a digit");
        while (mn_json_digit(p)) p->pos++;
    }
    size_t length = p->pos - begin;
    if (length > MN_JSON_NUMBER_BYTES_MAX) return mn_json_fail(p, begin, "number too long");
    mn_json_value *v = &p->json->values[index];
    if (integral) {
        /* Accumulate negatively: INT64_MIN has no positive counterpart. */
        int64_t value = 0;
        int fits = 1;
        for (size_t i = begin + (size_t)negative; i < p->pos; i++) {
            int digit = p->text[i] - '0';
            if (value < (INT64_MIN + digit) / 10) {
                fits = 0;
                break;
            }
            value = value * 10 - digit;
        }
        if (fits && !negative && value == INT64_MIN) fits = 0;
        if (fits) {
            v->type = MN_JSON_INT;
            v->u.i = negative ? value : -value;
            return MN_OK;
        }
    }
    char buffer[MN_JSON_NUMBER_BYTES_MAX + 1];
    memcpy(buffer, p->text + begin, length);
    buffer[length] = '\0';
    char *end = NULL;
    double d = strtod(buffer, &end);
    if (end != buffer + length) {
        /* strtod reads the decimal point of the C locale; a host that set a locale with a
         * decimal comma stops it at the '.', so read the token again in that spelling. */
        char *point = strchr(buffer, '.');
        if (point) *point = ',';
        d = strtod(buffer, &end);
        if (end != buffer + length) return mn_json_fail(p, begin, "number not readable");
    }
    if (d - d != 0) return mn_json_fail(p, begin, "number out of the double range");
    v->type = MN_JSON_DOUBLE;
    v->u.d = d;
    return MN_OK;
}

static mn_status mn_json_literal(mn_json_parser *p, const char *word, uint8_t type, uint32_t *index) {
    size_t n = strlen(word);
    if (p->bytes - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return mn_json_fail(p, p->pos, "unexpected character");
    mn_status status = mn_json_new(p, type, index);
    p->pos += n;
    return status;
}

static mn_status mn_json_value_at(mn_json_parser *p, uint32_t depth, uint32_t *index);

static mn_status mn_json_container(mn_json_parser *p, uint32_t depth, uint32_t *index) {
    int object = p->text[p->pos] == '{';
    if (depth + 1 > p->depth_max) {
        mn_filter_error_set(p->error, MN_FILTER_ERROR_DEPTH, (uint32_t)p->pos,
                            p->has_key ? p->json->pool + p->key_start : NULL, p->key_bytes, NULL,
                            "JSON nested deeper than %u levels (filters nest at most %d deep)",
                            p->depth_max, MN_FILTER_DEPTH_MAX);
        return MN_ERR_TOO_LARGE;
    }
    uint32_t self;
    mn_status status = mn_json_new(p, object ? MN_JSON_OBJECT : MN_JSON_ARRAY, &self);
    if (status != MN_OK) return status;
    p->pos++;
    mn_json_skip_space(p);
    char close = object ? '}' : ']';
    if (p->pos < p->bytes && p->text[p->pos] == close) {
        p->pos++;
        *index = self;
        return MN_OK;
    }
    uint32_t last = 0, count = 0;
    uint32_t saved_start = p->key_start, saved_bytes = p->key_bytes;
    int saved_has = p->has_key;
    for (;;) {
        uint32_t key_start = 0, key_bytes = 0, key_offset = (uint32_t)p->pos;
        if (object) {
            if (p->pos >= p->bytes || p->text[p->pos] != '"')
                return mn_json_fail(p, p->pos, "expected a string key");
            status = mn_json_string(p, &key_start, &key_bytes);
            if (status != MN_OK) return status;
            p->key_start = key_start;
            p->key_bytes = key_bytes;
            p->has_key = 1;
            mn_json_skip_space(p);
            if (p->pos >= p->bytes || p->text[p->pos] != ':')
                return mn_json_fail(p, p->pos, "expected ':' after a key");
            p->pos++;
        }
        uint32_t child;
        status = mn_json_value_at(p, depth + 1, &child);
        if (status != MN_OK) return status;
        mn_json_value *c = &p->json->values[child];
        c->key_offset = key_offset;
        c->key_start = key_start;
        c->key_bytes = key_bytes;
        if (last) p->json->values[last].next = child;
        else p->json->values[self].first = child;
        last = child;
        count++;
        mn_json_skip_space(p);
        if (p->pos >= p->bytes) return mn_json_fail(p, p->pos, "unterminated object or array");
        unsigned char c2 = p->text[p->pos];
        if (c2 == ',') {
            p->pos++;
            mn_json_skip_space(p);
            continue;
        }
        if (c2 == close) {
            p->pos++;
            break;
        }
        return mn_json_fail(p, p->pos, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    p->key_start = saved_start;
    p->key_bytes = saved_bytes;
    p->has_key = saved_has;
    p->json->values[self].count = count;
    *index = self;
    return MN_OK;
}

static mn_status mn_json_value_at(mn_json_parser *p, uint32_t depth, uint32_t *index) {
    mn_json_skip_space(p);
    if (p->pos >= p->bytes) return mn_json_fail(p, p->pos, "unexpected end of text");
    unsigned char c = p->text[p->pos];
    mn_status status;
    switch (c) {
    case '{':
    case '[': return mn_json_container(p, depth, index);
    case '"': {
        status = mn_json_new(p, MN_JSON_STRING, index);
        if (status != MN_OK) return status;
        uint32_t start, bytes;
        status = mn_json_string(p, &start, &bytes);
        if (status != MN_OK) return status;
        p->json->values[*index].u.s.start = start;
        p->json->values[*index].u.s.bytes = bytes;
        return MN_OK;
    }
    case 't': return mn_json_literal(p, "true", MN_JSON_TRUE, index);
    case 'f': return mn_json_literal(p, "false", MN_JSON_FALSE, index);
    case 'n': return mn_json_literal(p, "null", MN_JSON_NULL, index);
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            status = mn_json_new(p, MN_JSON_INT, index);
            if (status != MN_OK) return status;
            return mn_json_number(p, *index);
        }
        return mn_json_fail(p, p->pos, "unexpected character");
    }
}

typedef struct mn_json_key_order {
    const mn_json *json;
} mn_json_key_order;

/* Orders members by key bytes, then by position, so a duplicate is found next to its first. */
static int mn_json_key_less(const void *context, uint32_t a, uint32_t b) {
    const mn_json *json = ((const mn_json_key_order *)context)->json;
    const mn_json_value *x = &json->values[a], *y = &json->values[b];
    uint32_t n = x->key_bytes < y->key_bytes ? x->key_bytes : y->key_bytes;
    int c = memcmp(json->pool + x->key_start, json->pool + y->key_start, n);
    if (c) return c < 0;
    if (x->key_bytes != y->key_bytes) return x->key_bytes < y->key_bytes;
    return x->key_offset < y->key_offset;
}

/* Rejects a key given twice in one object: JSON leaves its meaning open (other readers keep
 * the first or the last), so a proxy and Mnemo could read different filters from one text. */
static mn_status mn_json_check_keys(mn_json *json, mn_filter_error *error) {
    uint32_t *scratch = NULL;
    mn_status status = MN_OK;
    for (uint32_t i = 0; i < json->count; i++) {
        const mn_json_value *object = &json->values[i];
        if (object->type != MN_JSON_OBJECT || object->count < 2) continue;
        if (!scratch) {
            scratch = malloc((size_t)json->count * sizeof *scratch);
            if (!scratch) {
                mn_filter_error_set(error, MN_FILTER_ERROR_NO_MEMORY, 0, NULL, 0, NULL, "out of memory");
                return MN_ERR_NO_MEMORY;
            }
        }
        uint32_t n = 0;
        for (uint32_t m = object->first; m; m = json->values[m].next) scratch[n++] = m;
        MN_ASSERT(n == object->count);
        mn_json_key_order order = {json};
        mn_filter_sort(scratch, n, mn_json_key_less, &order);
        for (uint32_t k = 1; k < n; k++) {
            const mn_json_value *a = &json->values[scratch[k - 1]], *b = &json->values[scratch[k]];
            if (a->key_bytes == b->key_bytes &&
                memcmp(json->pool + a->key_start, json->pool + b->key_start, a->key_bytes) == 0) {
                /* An operator given twice ({"a": {"$gt": 1, "$gt": 2}}) is reported in its
                 * field; any other key names itself. */
                const char *key = json->pool + b->key_start;
                char op[MN_FILTER_ERROR_OPERATOR_BYTES] = "";
                if (b->key_bytes && key[0] == '$' && object->key_bytes) {
                    size_t n = b->key_bytes < sizeof op - 1 ? b->key_bytes : sizeof op - 1;
                    memcpy(op, key, n);
                    op[n] = '\0';
                    mn_filter_error_set(error, MN_FILTER_ERROR_DUPLICATE_KEY, b->key_offset,
                                        json->pool + object->key_start, object->key_bytes, op,
                                        "%s given twice in one object (byte %u)", op, b->key_offset);
                } else {
                    mn_filter_error_set(error, MN_FILTER_ERROR_DUPLICATE_KEY, b->key_offset, key,
                                        b->key_bytes, NULL, "key given twice in one object (byte %u)",
                                        b->key_offset);
                }
                status = MN_ERR_INVALID;
                goto done;
            }
        }
    }
done:
    free(scratch);
    return status;
}

mn_status mn_json_parse(const char *text, size_t bytes, uint32_t depth_max, mn_json *json,
                        mn_filter_error *error) {
    MN_ASSERT(bytes <= MN_FILTER_BYTES_MAX);
    memset(json, 0, sizeof *json);
    json->pool = malloc(bytes + 1);
    if (!json->pool) {
        mn_filter_error_set(error, MN_FILTER_ERROR_NO_MEMORY, 0, NULL, 0, NULL, "out of memory");
        return MN_ERR_NO_MEMORY;
    }
    mn_json_parser p = {(const unsigned char *)text, bytes, 0, depth_max, json, error, 0, 0, 0};
    uint32_t root;
    mn_status status = mn_json_value_at(&p, 0, &root);
    if (status == MN_OK) {
        MN_ASSERT(root == 0);
        mn_json_skip_space(&p);
        if (p.pos != bytes) status = mn_json_fail(&p, p.pos, "trailing characters after the value");
    }
    if (status == MN_OK) status = mn_json_check_keys(json, error);
    if (status != MN_OK) mn_json_free(json);
    return status;
}

void mn_json_free(mn_json *json) {
    free(json->values);
    free(json->pool);
    memset(json, 0, sizeof *json);
}
