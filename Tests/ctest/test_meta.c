/*
 * test_meta.c: metadata documents (mn_meta.h). Proves that
 *   - every type round-trips through the builder, mn_meta_get and iteration, and the bytes are
 *     exactly the layout documented in mn_meta.h and docs/formats.md (hand-encoded here);
 *   - every limit is accepted AT the limit and refused one past it, with MN_ERR_TOO_LARGE and the
 *     offending field named, by the builder, by validation and by patches;
 *   - validation refuses every non-canonical encoding: names out of order or repeated ("a" <
 *     "ab" < "b"), trailing bytes, field count 0, every truncation, unknown types, bools other
 *     than 0/1, -0.0, NaN and infinities (MN_ERR_NON_FINITE), reserved and '$' names;
 *   - UTF-8 is strict at every boundary (overlongs, surrogates, > U+10FFFF, truncated
 *     sequences), in names, strings and list items; U+0000 is allowed in values, not names;
 *   - patches replace, add and remove fields, refuse to push a document over a limit (naming the
 *     field, returning nothing), and their one-string encoding round-trips and is canonical.
 */
#include "mn_test.h"
#include "mnemo/mn_limits.h"
#include "mnemo/mn_meta.h"

/* ---- a hand encoder, independent of the code under test ---- */

typedef struct enc {
    uint8_t data[MN_META_DOC_BYTES_MAX * 2];
    size_t size;
} enc;

static void enc_u8(enc *e, uint8_t v) { e->data[e->size++] = v; }
static void enc_u16(enc *e, uint16_t v) {
    enc_u8(e, (uint8_t)v);
    enc_u8(e, (uint8_t)(v >> 8));
}
static void enc_u32(enc *e, uint32_t v) {
    for (int i = 0; i < 4; i++) enc_u8(e, (uint8_t)(v >> (8 * i)));
}
static void enc_u64(enc *e, uint64_t v) {
    for (int i = 0; i < 8; i++) enc_u8(e, (uint8_t)(v >> (8 * i)));
}
static void enc_raw(enc *e, const void *p, size_t n) {
    memcpy(e->data + e->size, p, n);
    e->size += n;
}
static void enc_name(enc *e, const char *name, size_t n, uint8_t type) {
    enc_u8(e, (uint8_t)n);
    enc_raw(e, name, n);
    enc_u8(e, type);
}
static void enc_string_field(enc *e, const char *name, const char *s, size_t n) {
    enc_name(e, name, strlen(name), MN_META_STRING);
    enc_u32(e, (uint32_t)n);
    enc_raw(e, s, n);
}
static void enc_int_field(enc *e, const char *name, int64_t v) {
    enc_name(e, name, strlen(name), MN_META_INT);
    enc_u64(e, (uint64_t)v);
}
static void enc_double_field(enc *e, const char *name, double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    enc_name(e, name, strlen(name), MN_META_DOUBLE);
    enc_u64(e, bits);
}

static mn_status validate_enc(const enc *e, mn_meta_error *error) { return mn_meta_validate(e->data, e->size, error); }

/* A one-field document whose only field is a string field named `name` (n bytes) with value "v". */
static void enc_named(enc *e, const void *name, size_t n) {
    e->size = 0;
    enc_u16(e, 1);
    enc_name(e, name, n, MN_META_STRING);
    enc_u32(e, 1);
    enc_u8(e, 'v');
}

/* A one-field document: field "s" holding the string s (n bytes). */
static void enc_string_doc(enc *e, const void *s, size_t n) {
    e->size = 0;
    enc_u16(e, 1);
    enc_string_field(e, "s", s, n);
}

/* A one-field document: field "t" holding a one-item list of s (n bytes). */
static void enc_item_doc(enc *e, const void *s, size_t n) {
    e->size = 0;
    enc_u16(e, 1);
    enc_name(e, "t", 1, MN_META_STRINGS);
    enc_u16(e, 1);
    enc_u32(e, (uint32_t)n);
    enc_raw(e, s, n);
}

static int error_names(const mn_meta_error *error, uint32_t index, const char *name) {
    return error->field_index == index && error->name_bytes == strlen(name) && !strcmp(error->name, name) &&
           error->reason && error->reason[0];
}

/* ---- round trips ---- */

static void test_round_trip(void) {
    mn_meta_builder *b;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    const char *tags[] = {"travel", "", "project-x\xE2\x82\xAC"};
    uint32_t lens[] = {6, 0, 12};
    /* Added out of order: the document sorts them. */
    CHECK_STATUS(mn_meta_builder_add_strings(b, "tags", 4, tags, lens, 3), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_int(b, "n", 1, INT64_MIN), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_string(b, "kind", 4, "fact", 4), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_bool(b, "ok", 2, 7), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_double(b, "score", 5, -1.5e300), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_int(b, "big", 3, INT64_MAX), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_string(b, "empty", 5, NULL, 0), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_strings(b, "none", 4, NULL, NULL, 0), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_bool(b, "no", 2, 0), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_double(b, "zero", 4, -0.0), MN_OK);
    void *doc;
    size_t bytes;
    mn_meta_error error;
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, &error), MN_OK);
    CHECK(error.field_index == MN_META_NO_FIELD && error.reason && !error.reason[0], "error cleared on success");
    CHECK_STATUS(mn_meta_validate(doc, bytes, &error), MN_OK);

    /* Iteration: name order. */
    const char *expected[] = {"big", "empty", "kind", "n", "no", "none", "ok", "score", "tags", "zero"};
    mn_meta_cursor c;
    CHECK_STATUS(mn_meta_iter(doc, bytes, &c), MN_OK);
    const char *name;
    uint32_t name_bytes;
    mn_meta_value v;
    for (size_t i = 0; i < 10; i++) {
        CHECK_STATUS(mn_meta_next(&c, &name, &name_bytes, &v), MN_OK);
        CHECK(name_bytes == strlen(expected[i]) && !memcmp(name, expected[i], name_bytes), "field %zu in order", i);
    }
    CHECK_STATUS(mn_meta_next(&c, &name, &name_bytes, &v), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_meta_next(&c, NULL, NULL, NULL), MN_ERR_NOT_FOUND);

    CHECK_STATUS(mn_meta_get(doc, bytes, "kind", 4, &v), MN_OK);
    CHECK(v.type == MN_META_STRING && v.str_bytes == 4 && !memcmp(v.str, "fact", 4), "string value");
    CHECK(v.i == 0 && v.d == 0 && v.b == 0 && v.list == NULL && v.list_count == 0, "other members zero");
    CHECK_STATUS(mn_meta_get(doc, bytes, "empty", 5, &v), MN_OK);
    CHECK(v.type == MN_META_STRING && v.str_bytes == 0, "empty string");
    CHECK_STATUS(mn_meta_get(doc, bytes, "n", 1, &v), MN_OK);
    CHECK(v.type == MN_META_INT && v.i == INT64_MIN, "int min");
    CHECK_STATUS(mn_meta_get(doc, bytes, "big", 3, &v), MN_OK);
    CHECK(v.type == MN_META_INT && v.i == INT64_MAX, "int max");
    CHECK_STATUS(mn_meta_get(doc, bytes, "score", 5, &v), MN_OK);
    CHECK(v.type == MN_META_DOUBLE && v.d == -1.5e300, "double");
    CHECK_STATUS(mn_meta_get(doc, bytes, "zero", 4, &v), MN_OK);
    CHECK(v.type == MN_META_DOUBLE && v.d == 0.0 && !signbit(v.d), "-0.0 stored as 0.0");
    CHECK_STATUS(mn_meta_get(doc, bytes, "ok", 2, &v), MN_OK);
    CHECK(v.type == MN_META_BOOL && v.b == 1, "bool true (7 normalised)");
    CHECK_STATUS(mn_meta_get(doc, bytes, "no", 2, &v), MN_OK);
    CHECK(v.type == MN_META_BOOL && v.b == 0, "bool false");
    CHECK_STATUS(mn_meta_get(doc, bytes, "none", 4, &v), MN_OK);
    CHECK(v.type == MN_META_STRINGS && v.list_count == 0 && v.list_bytes == 0, "empty list");
    uint32_t at = 0;
    const char *s;
    uint32_t n;
    CHECK_STATUS(mn_meta_list_next(&v, &at, &s, &n), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_meta_get(doc, bytes, "tags", 4, &v), MN_OK);
    CHECK(v.type == MN_META_STRINGS && v.list_count == 3 && v.list_bytes == 3 * 4 + 18, "list");
    at = 0;
    for (uint32_t k = 0; k < 3; k++) {
        CHECK_STATUS(mn_meta_list_next(&v, &at, &s, &n), MN_OK);
        CHECK(n == lens[k] && !memcmp(s, tags[k], n), "list item %u in order", k);
    }
    CHECK(at == v.list_bytes, "cursor at the end");
    CHECK_STATUS(mn_meta_list_next(&v, &at, &s, &n), MN_ERR_NOT_FOUND);
    at = v.list_bytes + 1;
    CHECK_STATUS(mn_meta_list_next(&v, &at, &s, &n), MN_ERR_INVALID);
    at = 2; /* inside the first item's length: an item that overruns the list */
    CHECK_STATUS(mn_meta_list_next(&v, &at, &s, &n), MN_ERR_CORRUPT);
    mn_meta_value not_list;
    CHECK_STATUS(mn_meta_get(doc, bytes, "kind", 4, &not_list), MN_OK);
    at = 0;
    CHECK_STATUS(mn_meta_list_next(&not_list, &at, &s, &n), MN_ERR_INVALID);

    /* Absent names: before the first, between two, after the last, prefixes and extensions. */
    const char *absent[] = {"a", "bi", "bigg", "kin", "kinds", "m", "o", "zz", "zero\x01"};
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
        CHECK_STATUS(mn_meta_get(doc, bytes, absent[i], (uint32_t)strlen(absent[i]), &v), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_meta_get(doc, bytes, "kind", 4, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_meta_get(doc, bytes, NULL, 1, &v), MN_ERR_INVALID);

    /* A second finish gives the same bytes (canonical), and so does another add order. */
    void *again;
    size_t again_bytes;
    CHECK_STATUS(mn_meta_builder_finish(b, &again, &again_bytes, NULL), MN_OK);
    CHECK(again_bytes == bytes && !memcmp(again, doc, bytes), "finish twice: same bytes");
    mn_meta_free(again);
    mn_meta_builder_destroy(b);
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    mn_meta_builder_add_double(b, "zero", 4, 0.0);
    mn_meta_builder_add_bool(b, "no", 2, 0);
    mn_meta_builder_add_strings(b, "none", 4, NULL, NULL, 0);
    mn_meta_builder_add_string(b, "empty", 5, "", 0);
    mn_meta_builder_add_int(b, "big", 3, INT64_MAX);
    mn_meta_builder_add_double(b, "score", 5, -1.5e300);
    mn_meta_builder_add_bool(b, "ok", 2, 1);
    mn_meta_builder_add_string(b, "kind", 4, "fact", 4);
    mn_meta_builder_add_int(b, "n", 1, INT64_MIN);
    mn_meta_builder_add_strings(b, "tags", 4, tags, lens, 3);
    CHECK_STATUS(mn_meta_builder_finish(b, &again, &again_bytes, NULL), MN_OK);
    CHECK(again_bytes == bytes && !memcmp(again, doc, bytes), "another add order: same bytes");
    mn_meta_free(again);
    mn_meta_builder_destroy(b);
    mn_meta_free(doc);
}

/* The exact bytes of the documented layout. */
static void test_layout(void) {
    mn_meta_builder *b;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    const char *items[] = {"x", "yz"};
    uint32_t lens[] = {1, 2};
    mn_meta_builder_add_string(b, "b", 1, "hi", 2);
    mn_meta_builder_add_strings(b, "t", 1, items, lens, 2);
    mn_meta_builder_add_bool(b, "c", 1, 1);
    mn_meta_builder_add_double(b, "d", 1, 1.0);
    mn_meta_builder_add_int(b, "a", 1, -2);
    void *doc;
    size_t bytes;
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, NULL), MN_OK);
    static const uint8_t expected[] = {
        5,    0,                                                     /* field_count */
        1,    'a',  2,    0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, /* a: int -2 */
        1,    'b',  1,    2,    0,    0,    0,    'h',  'i',          /* b: string "hi" */
        1,    'c',  4,    1,                                          /* c: bool true */
        1,    'd',  3,    0,    0,    0,    0,    0,    0,    0xF0, 0x3F, /* d: double 1.0 */
        1,    't',  5,    2,    0,    1,    0,    0,    0,    'x',  2, 0, 0, 0, 'y', 'z', /* t: list */
    };
    CHECK(bytes == sizeof expected && !memcmp(doc, expected, bytes), "documented layout (%zu bytes)", bytes);
    mn_meta_free(doc);

    /* The example of docs/formats.md, "Metadata document". */
    mn_meta_builder_destroy(b);
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    mn_meta_builder_add_strings(b, "t", 1, items, lens, 1);
    mn_meta_builder_add_string(b, "b", 1, "hi", 2);
    mn_meta_builder_add_int(b, "a", 1, -2);
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, NULL), MN_OK);
    static const uint8_t documented[] = {0x03, 0x00, 0x01, 0x61, 0x02, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0x01, 0x62, 0x01, 0x02, 0x00, 0x00, 0x00, 0x68, 0x69,
                                         0x01, 0x74, 0x05, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78};
    CHECK(bytes == sizeof documented && !memcmp(doc, documented, bytes), "docs/formats.md example");
    mn_meta_free(doc);
    /* The empty patch of docs/formats.md, "Metadata patch". */
    CHECK_STATUS(mn_meta_patch_encode(NULL, 0, NULL, NULL, 0, &doc, &bytes, NULL), MN_OK);
    CHECK(bytes == 6 && !memcmp(doc, "\0\0\0\0\0\0", 6), "empty patch bytes");
    mn_meta_free(doc);

    /* No fields: the empty document, 0 bytes and no allocation. */
    mn_meta_builder_destroy(b);
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    doc = (void *)1;
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, NULL), MN_OK);
    CHECK(doc == NULL && bytes == 0, "empty builder: empty document");
    mn_meta_builder_destroy(b);
    CHECK_STATUS(mn_meta_validate(NULL, 0, NULL), MN_OK);
    CHECK_STATUS(mn_meta_validate("", 0, NULL), MN_OK);
    CHECK_STATUS(mn_meta_validate(NULL, 2, NULL), MN_ERR_INVALID);
    mn_meta_value v;
    CHECK_STATUS(mn_meta_get(NULL, 0, "a", 1, &v), MN_ERR_NOT_FOUND);
    mn_meta_cursor c;
    CHECK_STATUS(mn_meta_iter(NULL, 0, &c), MN_OK);
    CHECK_STATUS(mn_meta_next(&c, NULL, NULL, &v), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_meta_iter(NULL, 0, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_meta_builder_create(NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_meta_builder_add_int(NULL, "a", 1, 1), MN_ERR_INVALID);
    mn_meta_builder_destroy(NULL);
    mn_meta_free(NULL);
}

/* ---- limits: at the limit accepted, one past refused with the field named ---- */

static void name_of(char *out, uint32_t i) { snprintf(out, 8, "f%02u", i); }

static void test_limit_fields(void) {
    mn_meta_builder *b;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    char name[8];
    for (uint32_t i = 0; i < MN_META_FIELDS_MAX; i++) {
        name_of(name, MN_META_FIELDS_MAX - 1 - i); /* descending adds */
        CHECK_STATUS(mn_meta_builder_add_int(b, name, 3, i), MN_OK);
    }
    void *doc;
    size_t bytes;
    mn_meta_error error;
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, &error), MN_OK);
    CHECK_STATUS(mn_meta_validate(doc, bytes, NULL), MN_OK);
    mn_meta_value v;
    CHECK_STATUS(mn_meta_get(doc, bytes, "f63", 3, &v), MN_OK);
    CHECK(v.i == 0, "last field found");
    CHECK_STATUS(mn_meta_builder_add_int(b, "g", 1, 1), MN_ERR_TOO_LARGE);
    CHECK_STATUS(mn_meta_builder_add_int(b, "h", 1, 1), MN_ERR_TOO_LARGE); /* kept */
    void *none = (void *)1;
    CHECK_STATUS(mn_meta_builder_finish(b, &none, &bytes, &error), MN_ERR_TOO_LARGE);
    CHECK(none == NULL && bytes == 0, "nothing returned");
    CHECK(error_names(&error, MN_META_FIELDS_MAX, "g"), "65th field named: %u %s", error.field_index, error.name);
    mn_meta_builder_destroy(b);

    /* The same document with field_count 65 and one more field. */
    enc e = {.size = 0};
    enc_raw(&e, doc, bytes);
    e.data[0] = MN_META_FIELDS_MAX + 1;
    enc_int_field(&e, "g", 1);
    CHECK_STATUS(validate_enc(&e, &error), MN_ERR_TOO_LARGE);
    CHECK(error.field_index == MN_META_NO_FIELD && error.name_bytes == 0, "count is not a field");
    mn_meta_free(doc);
}

static void test_limit_name(void) {
    char name[MN_META_NAME_BYTES_MAX + 2];
    memset(name, 'n', sizeof name);
    mn_meta_builder *b;
    mn_meta_error error;
    void *doc;
    size_t bytes;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_int(b, name, MN_META_NAME_BYTES_MAX, 1), MN_OK);
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, NULL), MN_OK);
    CHECK_STATUS(mn_meta_validate(doc, bytes, NULL), MN_OK);
    mn_meta_value v;
    CHECK_STATUS(mn_meta_get(doc, bytes, name, MN_META_NAME_BYTES_MAX, &v), MN_OK);
    mn_meta_free(doc);
    CHECK_STATUS(mn_meta_builder_add_int(b, name, MN_META_NAME_BYTES_MAX + 1, 1), MN_ERR_TOO_LARGE);
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, &error), MN_ERR_TOO_LARGE);
    CHECK(error.field_index == 1 && error.name_bytes == MN_META_NAME_BYTES_MAX && !memcmp(error.name, name, 64) &&
              error.name[MN_META_NAME_BYTES_MAX] == '\0',
          "overlong name reported by its first 64 bytes");
    mn_meta_builder_destroy(b);
    CHECK_STATUS(mn_meta_name_validate(name, MN_META_NAME_BYTES_MAX, NULL), MN_OK);
    CHECK_STATUS(mn_meta_name_validate(name, MN_META_NAME_BYTES_MAX + 1, &error), MN_ERR_TOO_LARGE);

    enc e;
    enc_named(&e, name, MN_META_NAME_BYTES_MAX);
    CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
    enc_named(&e, name, MN_META_NAME_BYTES_MAX + 1);
    CHECK_STATUS(validate_enc(&e, &error), MN_ERR_TOO_LARGE);
    CHECK(error.field_index == 0 && error.name_bytes == MN_META_NAME_BYTES_MAX, "validate names it");
    enc_named(&e, name, 0);
    CHECK_STATUS(validate_enc(&e, &error), MN_ERR_INVALID);
}

static void test_limit_string_and_list(void) {
    static char big[MN_META_STRING_BYTES_MAX + 1];
    memset(big, 'x', sizeof big);
    mn_meta_builder *b;
    mn_meta_error error;
    void *doc;
    size_t bytes;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_string(b, "s", 1, big, MN_META_STRING_BYTES_MAX), MN_OK);
    const char *items[MN_META_LIST_MAX + 1];
    uint32_t lens[MN_META_LIST_MAX + 1];
    for (uint32_t i = 0; i <= MN_META_LIST_MAX; i++) {
        items[i] = "ab";
        lens[i] = 2;
    }
    CHECK_STATUS(mn_meta_builder_add_strings(b, "t", 1, items, lens, MN_META_LIST_MAX), MN_OK);
    const char *one[] = {big};
    uint32_t one_len[] = {MN_META_STRING_BYTES_MAX};
    CHECK_STATUS(mn_meta_builder_add_strings(b, "u", 1, one, one_len, 1), MN_OK);
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, NULL), MN_OK);
    CHECK_STATUS(mn_meta_validate(doc, bytes, NULL), MN_OK);
    mn_meta_value v;
    CHECK_STATUS(mn_meta_get(doc, bytes, "t", 1, &v), MN_OK);
    CHECK(v.list_count == MN_META_LIST_MAX, "list at its limit");
    uint32_t at = 0, count = 0, n;
    const char *s;
    while (mn_meta_list_next(&v, &at, &s, &n) == MN_OK) count++;
    CHECK(count == MN_META_LIST_MAX, "all %u items iterated", count);
    mn_meta_free(doc);
    mn_meta_builder_destroy(b);

    struct {
        int kind; /* 0 string, 1 list count, 2 list item */
        const char *name;
    } over[] = {{0, "s"}, {1, "t"}, {2, "u"}};
    for (int k = 0; k < 3; k++) {
        CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
        CHECK_STATUS(mn_meta_builder_add_int(b, "a", 1, 1), MN_OK);
        mn_status st = over[k].kind == 0 ? mn_meta_builder_add_string(b, "s", 1, big, MN_META_STRING_BYTES_MAX + 1)
                       : over[k].kind == 1 ? mn_meta_builder_add_strings(b, "t", 1, items, lens, MN_META_LIST_MAX + 1)
                                           : mn_meta_builder_add_strings(b, "u", 1, one, (uint32_t[]){4097}, 1);
        CHECK(st == MN_ERR_TOO_LARGE, "over limit %d: %d", k, st);
        CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, &error), MN_ERR_TOO_LARGE);
        CHECK(error_names(&error, 1, over[k].name), "limit %d names its field", k);
        mn_meta_builder_destroy(b);
    }

    /* Validation: hand-encoded, at and over. */
    enc e;
    enc_string_doc(&e, big, MN_META_STRING_BYTES_MAX);
    CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
    enc_string_doc(&e, big, MN_META_STRING_BYTES_MAX + 1);
    CHECK_STATUS(validate_enc(&e, &error), MN_ERR_TOO_LARGE);
    CHECK(error_names(&error, 0, "s"), "string over: named");
    enc_item_doc(&e, big, MN_META_STRING_BYTES_MAX);
    CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
    enc_item_doc(&e, big, MN_META_STRING_BYTES_MAX + 1);
    CHECK_STATUS(validate_enc(&e, &error), MN_ERR_TOO_LARGE);
    CHECK(error_names(&error, 0, "t"), "item over: named");
    for (uint32_t count_items = MN_META_LIST_MAX; count_items <= MN_META_LIST_MAX + 1; count_items++) {
        e.size = 0;
        enc_u16(&e, 1);
        enc_name(&e, "t", 1, MN_META_STRINGS);
        enc_u16(&e, (uint16_t)count_items);
        for (uint32_t i = 0; i < count_items; i++) {
            enc_u32(&e, 1);
            enc_u8(&e, 'q');
        }
        CHECK_STATUS(validate_enc(&e, &error), count_items == MN_META_LIST_MAX ? MN_OK : MN_ERR_TOO_LARGE);
    }
    CHECK(error_names(&error, 0, "t"), "list over: named");
}

/* A document of exactly MN_META_DOC_BYTES_MAX + extra bytes: f0..f3, strings, the last shorter. */
static void doc_of_size(enc *e, size_t extra) {
    static char fill[MN_META_STRING_BYTES_MAX];
    memset(fill, 'd', sizeof fill);
    e->size = 0;
    enc_u16(e, 4);
    size_t last = MN_META_DOC_BYTES_MAX - 2 - 4 * 8 - 3 * MN_META_STRING_BYTES_MAX + extra;
    enc_string_field(e, "f0", fill, MN_META_STRING_BYTES_MAX);
    enc_string_field(e, "f1", fill, MN_META_STRING_BYTES_MAX);
    enc_string_field(e, "f2", fill, MN_META_STRING_BYTES_MAX);
    enc_string_field(e, "f3", fill, last);
}

static void test_limit_doc_bytes(void) {
    static char fill[MN_META_STRING_BYTES_MAX];
    memset(fill, 'd', sizeof fill);
    mn_meta_error error;
    for (size_t extra = 0; extra <= 1; extra++) {
        enc e;
        doc_of_size(&e, extra);
        CHECK(e.size == MN_META_DOC_BYTES_MAX + extra, "document of %zu bytes", e.size);
        CHECK_STATUS(validate_enc(&e, &error), extra ? MN_ERR_TOO_LARGE : MN_OK);
        if (extra) CHECK(error_names(&error, 3, "f3"), "the field past the limit is named");

        mn_meta_builder *b;
        CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
        size_t last = MN_META_DOC_BYTES_MAX - 2 - 4 * 8 - 3 * MN_META_STRING_BYTES_MAX + extra;
        CHECK_STATUS(mn_meta_builder_add_string(b, "f3", 2, fill, (uint32_t)last), MN_OK);
        CHECK_STATUS(mn_meta_builder_add_string(b, "f1", 2, fill, MN_META_STRING_BYTES_MAX), MN_OK);
        CHECK_STATUS(mn_meta_builder_add_string(b, "f2", 2, fill, MN_META_STRING_BYTES_MAX), MN_OK);
        CHECK_STATUS(mn_meta_builder_add_string(b, "f0", 2, fill, MN_META_STRING_BYTES_MAX),
                     extra ? MN_ERR_TOO_LARGE : MN_OK);
        void *doc;
        size_t bytes;
        CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, &error), extra ? MN_ERR_TOO_LARGE : MN_OK);
        if (extra) {
            CHECK(error_names(&error, 3, "f0"), "builder names the add that passed the limit");
        } else {
            CHECK(bytes == e.size && !memcmp(doc, e.data, bytes), "builder gives the same document");
            mn_meta_free(doc);
        }
        mn_meta_builder_destroy(b);
    }
}

/* ---- canonical form ---- */

static void test_canonical(void) {
    mn_meta_error error;
    enc e;
    /* Order: "a" < "ab" < "b". */
    e.size = 0;
    enc_u16(&e, 3);
    enc_int_field(&e, "a", 1);
    enc_int_field(&e, "ab", 2);
    enc_int_field(&e, "b", 3);
    CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
    mn_meta_value v;
    CHECK_STATUS(mn_meta_get(e.data, e.size, "ab", 2, &v), MN_OK);
    CHECK(v.i == 2, "get ab");
    CHECK_STATUS(mn_meta_get(e.data, e.size, "aa", 2, &v), MN_ERR_NOT_FOUND);
    int order = 9;
    CHECK_STATUS(mn_meta_name_compare("a", 1, "ab", 2, &order), MN_OK);
    CHECK(order < 0, "a < ab");
    CHECK_STATUS(mn_meta_name_compare("b", 1, "ab", 2, &order), MN_OK);
    CHECK(order > 0, "b > ab");
    CHECK_STATUS(mn_meta_name_compare("\xC3\xA9", 2, "z", 1, &order), MN_OK);
    CHECK(order > 0, "bytewise: e-acute after z");
    CHECK_STATUS(mn_meta_name_compare("ab", 2, "ab", 2, &order), MN_OK);
    CHECK(order == 0, "equal");
    CHECK_STATUS(mn_meta_name_compare("ab", 2, "ab", 2, NULL), MN_ERR_INVALID);

    e.size = 0;
    enc_u16(&e, 3);
    enc_int_field(&e, "ab", 2);
    enc_int_field(&e, "a", 1);
    enc_int_field(&e, "b", 3);
    CHECK_STATUS(validate_enc(&e, &error), MN_ERR_INVALID);
    CHECK(error_names(&error, 1, "a"), "out of order: the second named");

    e.size = 0;
    enc_u16(&e, 2);
    enc_int_field(&e, "a", 1);
    enc_double_field(&e, "a", 1.0);
    CHECK_STATUS(validate_enc(&e, &error), MN_ERR_INVALID);
    CHECK(error_names(&error, 1, "a"), "repeated name named");

    /* Builder: duplicates refused, the later add named. */
    mn_meta_builder *b;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    mn_meta_builder_add_int(b, "x", 1, 1);
    mn_meta_builder_add_int(b, "dup", 3, 1);
    mn_meta_builder_add_string(b, "dup", 3, "s", 1);
    void *doc = (void *)1;
    size_t bytes = 7;
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, &error), MN_ERR_INVALID);
    CHECK(doc == NULL && bytes == 0, "nothing returned");
    CHECK(error_names(&error, 2, "dup"), "duplicate: later add named (%u)", error.field_index);
    mn_meta_builder_destroy(b);

    /* Trailing bytes, count 0, truncation at every length. */
    e.size = 0;
    enc_u16(&e, 1);
    enc_int_field(&e, "a", 1);
    CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
    enc_u8(&e, 0);
    CHECK_STATUS(validate_enc(&e, &error), MN_ERR_INVALID);
    CHECK(error.field_index == MN_META_NO_FIELD, "trailing bytes: no field");
    uint8_t zero[2] = {0, 0};
    CHECK_STATUS(mn_meta_validate(zero, 2, &error), MN_ERR_INVALID);
    CHECK_STATUS(mn_meta_validate(zero, 1, &error), MN_ERR_INVALID);

    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    const char *items[] = {"x", "yz"};
    uint32_t lens[] = {1, 2};
    mn_meta_builder_add_string(b, "b", 1, "hi", 2);
    mn_meta_builder_add_strings(b, "t", 1, items, lens, 2);
    mn_meta_builder_add_bool(b, "c", 1, 1);
    mn_meta_builder_add_double(b, "d", 1, 1.0);
    mn_meta_builder_add_int(b, "a", 1, -2);
    CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    int truncations_refused = 1;
    for (size_t cut = 1; cut < bytes; cut++)
        if (mn_meta_validate(doc, cut, NULL) != MN_ERR_INVALID) truncations_refused = 0;
    CHECK(truncations_refused, "every truncation is MN_ERR_INVALID");
    /* get/iterate on a truncated (unvalidated) document stay in bounds and say corrupt. */
    uint8_t *copy = malloc(bytes);
    memcpy(copy, doc, bytes);
    mn_meta_free(doc);
    int corrupt_seen = 1;
    for (size_t cut = 1; cut < bytes; cut++) {
        uint8_t *part = malloc(cut);
        memcpy(part, copy, cut);
        mn_status st = mn_meta_get(part, cut, "t", 1, &v);
        if (st != MN_ERR_CORRUPT) corrupt_seen = 0;
        free(part);
    }
    CHECK(corrupt_seen, "get on a truncated document: corrupt");

    /* Types and values. */
    size_t type_at = 2 + 1 + 1; /* field a's type byte */
    uint8_t bad_types[] = {0, 6, 255};
    for (size_t i = 0; i < sizeof bad_types; i++) {
        copy[type_at] = bad_types[i];
        CHECK_STATUS(mn_meta_validate(copy, bytes, &error), MN_ERR_INVALID);
        CHECK(error_names(&error, 0, "a"), "unknown type named");
    }
    free(copy);

    e.size = 0;
    enc_u16(&e, 1);
    enc_name(&e, "flag", 4, MN_META_BOOL);
    enc_u8(&e, 2);
    CHECK_STATUS(validate_enc(&e, &error), MN_ERR_INVALID);
    CHECK(error_names(&error, 0, "flag"), "bool 2 named");
    e.data[e.size - 1] = 1;
    CHECK_STATUS(validate_enc(&e, NULL), MN_OK);

    double specials[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        e.size = 0;
        enc_u16(&e, 1);
        enc_double_field(&e, "x", specials[i]);
        CHECK_STATUS(validate_enc(&e, &error), MN_ERR_NON_FINITE);
        CHECK(error_names(&error, 0, "x"), "non-finite named");
        CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
        CHECK_STATUS(mn_meta_builder_add_double(b, "x", 1, specials[i]), MN_ERR_NON_FINITE);
        CHECK_STATUS(mn_meta_builder_finish(b, &doc, &bytes, &error), MN_ERR_NON_FINITE);
        CHECK(error_names(&error, 0, "x"), "builder names non-finite");
        mn_meta_builder_destroy(b);
    }
    e.size = 0;
    enc_u16(&e, 1);
    enc_double_field(&e, "x", -0.0);
    CHECK_STATUS(validate_enc(&e, &error), MN_ERR_INVALID);
    e.size = 0;
    enc_u16(&e, 1);
    enc_double_field(&e, "x", 4.9e-324); /* subnormals are finite */
    CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
}

static void test_reserved_names(void) {
    const char *refused[] = {"id", "createdAt", "$and", "$", "a\0b"};
    uint32_t refused_len[] = {2, 9, 4, 1, 3};
    const char *allowed[] = {"ID", "createdat", "idx", "i", "createdAt2", "x$", "_id", "a b", "\xE2\x82\xAC"};
    mn_meta_error error;
    enc e;
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        CHECK_STATUS(mn_meta_name_validate(refused[i], refused_len[i], &error), MN_ERR_INVALID);
        enc_named(&e, refused[i], refused_len[i]);
        CHECK_STATUS(validate_enc(&e, &error), MN_ERR_INVALID);
        CHECK(error.field_index == 0 && error.name_bytes == refused_len[i] &&
                  !memcmp(error.name, refused[i], refused_len[i]),
              "refused name %zu named", i);
        mn_meta_builder *b;
        CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
        CHECK_STATUS(mn_meta_builder_add_int(b, refused[i], refused_len[i], 1), MN_ERR_INVALID);
        mn_meta_builder_destroy(b);
    }
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++) {
        CHECK_STATUS(mn_meta_name_validate(allowed[i], (uint32_t)strlen(allowed[i]), NULL), MN_OK);
        enc_named(&e, allowed[i], strlen(allowed[i]));
        CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
    }
    CHECK_STATUS(mn_meta_name_validate("", 0, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_meta_name_validate(NULL, 1, NULL), MN_ERR_INVALID);
}

static void test_utf8(void) {
    static const char *valid[] = {
        "\x7F",             /* U+007F */
        "\xC2\x80",         /* U+0080 */
        "\xDF\xBF",         /* U+07FF */
        "\xE0\xA0\x80",     /* U+0800 */
        "\xED\x9F\xBF",     /* U+D7FF, below the surrogates */
        "\xEE\x80\x80",     /* U+E000, above them */
        "\xEF\xBF\xBF",     /* U+FFFF */
        "\xF0\x90\x80\x80", /* U+10000 */
        "\xF4\x8F\xBF\xBF", /* U+10FFFF */
        ("a\xE2\x82\xAC" "b"),
    };
    static const char *invalid[] = {
        "\x80",             /* lone continuation */
        "\xBF",             /* lone continuation */
        "\xC0\x80",         /* overlong NUL */
        "\xC1\xBF",         /* overlong U+007F */
        "\xE0\x9F\xBF",     /* overlong U+07FF */
        "\xED\xA0\x80",     /* U+D800 */
        "\xED\xBF\xBF",     /* U+DFFF */
        "\xF0\x8F\xBF\xBF", /* overlong U+FFFF */
        "\xF4\x90\x80\x80", /* U+110000 */
        "\xF5\x80\x80\x80", /* beyond */
        "\xFF",
        "\xFE",
        "\xE2\x82",         /* truncated */
        "\xC2",             /* truncated */
        "\xF0\x90\x80",     /* truncated */
        "\xC2\x41",         /* bad continuation */
        "\xE2\x28\xA1",     /* bad continuation */
        "ok\xF0\x90\x80",   /* truncated at the end */
    };
    enc e;
    mn_meta_error error;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        size_t n = strlen(valid[i]);
        enc_named(&e, valid[i], n);
        CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
        enc_string_doc(&e, valid[i], n);
        CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
        enc_item_doc(&e, valid[i], n);
        CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
    }
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        size_t n = strlen(invalid[i]);
        enc_named(&e, invalid[i], n);
        CHECK(validate_enc(&e, &error) == MN_ERR_INVALID, "invalid UTF-8 name %zu accepted", i);
        enc_string_doc(&e, invalid[i], n);
        CHECK(validate_enc(&e, &error) == MN_ERR_INVALID && error_names(&error, 0, "s"),
              "invalid UTF-8 string %zu", i);
        enc_item_doc(&e, invalid[i], n);
        CHECK(validate_enc(&e, &error) == MN_ERR_INVALID && error_names(&error, 0, "t"), "invalid UTF-8 item %zu",
              i);
        mn_meta_builder *b;
        CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
        CHECK_STATUS(mn_meta_builder_add_string(b, "s", 1, invalid[i], (uint32_t)n), MN_ERR_INVALID);
        mn_meta_builder_destroy(b);
        CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
        const char *items[] = {"fine", invalid[i]};
        uint32_t lens[] = {4, (uint32_t)n};
        CHECK_STATUS(mn_meta_builder_add_strings(b, "t", 1, items, lens, 2), MN_ERR_INVALID);
        mn_meta_builder_destroy(b);
    }
    /* U+0000 is a valid value, not a valid name. */
    enc_string_doc(&e, "a\0b", 3);
    CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
    enc_item_doc(&e, "\0", 1);
    CHECK_STATUS(validate_enc(&e, NULL), MN_OK);
}

/* ---- patches ---- */

static void *build(size_t *bytes, int kind_fact, int with_tags) {
    mn_meta_builder *b;
    mn_meta_builder_create(&b);
    mn_meta_builder_add_string(b, "kind", 4, kind_fact ? "fact" : "chat", 4);
    mn_meta_builder_add_int(b, "turn", 4, 3);
    if (with_tags) {
        const char *tags[] = {"a", "b"};
        uint32_t lens[] = {1, 1};
        mn_meta_builder_add_strings(b, "tags", 4, tags, lens, 2);
    }
    void *doc;
    mn_meta_builder_finish(b, &doc, bytes, NULL);
    mn_meta_builder_destroy(b);
    return doc;
}

static void test_patch(void) {
    size_t old_bytes;
    void *old = build(&old_bytes, 0, 1);
    mn_meta_error error;
    /* Set: kind replaced (string), turn replaced by a double (types may change), new field. */
    mn_meta_builder *b;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    mn_meta_builder_add_string(b, "kind", 4, "fact", 4);
    mn_meta_builder_add_double(b, "turn", 4, 2.5);
    mn_meta_builder_add_bool(b, "pinned", 6, 1);
    void *set;
    size_t set_bytes;
    CHECK_STATUS(mn_meta_builder_finish(b, &set, &set_bytes, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    const char *remove[] = {"tags", "absent"};
    uint32_t remove_bytes[] = {4, 6};
    void *out;
    size_t out_bytes;
    CHECK_STATUS(mn_meta_patch(old, old_bytes, set, set_bytes, remove, remove_bytes, 2, &out, &out_bytes, &error),
                 MN_OK);
    CHECK_STATUS(mn_meta_validate(out, out_bytes, NULL), MN_OK);
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    mn_meta_builder_add_double(b, "turn", 4, 2.5);
    mn_meta_builder_add_string(b, "kind", 4, "fact", 4);
    mn_meta_builder_add_bool(b, "pinned", 6, 1);
    void *want;
    size_t want_bytes;
    CHECK_STATUS(mn_meta_builder_finish(b, &want, &want_bytes, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    CHECK(out_bytes == want_bytes && !memcmp(out, want, want_bytes), "patched document as built directly");

    /* Encoded: same result; canonical (removes sorted). */
    void *patch;
    size_t patch_bytes;
    CHECK_STATUS(mn_meta_patch_encode(set, set_bytes, remove, remove_bytes, 2, &patch, &patch_bytes, &error), MN_OK);
    CHECK(patch_bytes == 4 + set_bytes + 2 + 7 + 5, "encoded size %zu", patch_bytes);
    CHECK(!memcmp((uint8_t *)patch + 4 + set_bytes + 2, "\x06" "absent" "\x04" "tags", 12), "removes sorted");
    CHECK_STATUS(mn_meta_patch_validate(patch, patch_bytes, &error), MN_OK);
    const void *dset;
    size_t dset_bytes;
    const char *dremove[MN_META_FIELDS_MAX];
    uint32_t dremove_bytes[MN_META_FIELDS_MAX], dcount;
    CHECK_STATUS(
        mn_meta_patch_decode(patch, patch_bytes, &dset, &dset_bytes, dremove, dremove_bytes, &dcount, &error), MN_OK);
    CHECK(dset_bytes == set_bytes && !memcmp(dset, set, set_bytes) && dcount == 2 && dremove_bytes[0] == 6 &&
              !memcmp(dremove[0], "absent", 6) && dremove_bytes[1] == 4 && !memcmp(dremove[1], "tags", 4),
          "decoded parts");
    void *out2;
    size_t out2_bytes;
    CHECK_STATUS(mn_meta_patch_apply(old, old_bytes, patch, patch_bytes, &out2, &out2_bytes, &error), MN_OK);
    CHECK(out2_bytes == out_bytes && !memcmp(out2, out, out_bytes), "apply == patch");
    int truncations_refused = 1;
    for (size_t cut = 0; cut < patch_bytes; cut++)
        if (mn_meta_patch_validate(patch, cut, NULL) != MN_ERR_INVALID) truncations_refused = 0;
    CHECK(truncations_refused, "every truncated patch refused");
    uint8_t *grown = malloc(patch_bytes + 1);
    memcpy(grown, patch, patch_bytes);
    grown[patch_bytes] = 0;
    CHECK_STATUS(mn_meta_patch_validate(grown, patch_bytes + 1, &error), MN_ERR_INVALID);
    /* Swap the two remove names: out of order. */
    uint8_t *swapped = grown;
    size_t at = 4 + set_bytes + 2;
    memcpy(swapped + at, "\x04" "tags" "\x06" "absent", 12);
    CHECK_STATUS(mn_meta_patch_validate(swapped, patch_bytes, &error), MN_ERR_INVALID);
    CHECK(error_names(&error, 1, "absent"), "unsorted remove named");
    free(grown);
    mn_meta_free(out2);
    mn_meta_free(patch);
    mn_meta_free(out);
    mn_meta_free(want);

    /* Empty patch: unchanged document. Remove everything: empty document. */
    CHECK_STATUS(mn_meta_patch(old, old_bytes, NULL, 0, NULL, NULL, 0, &out, &out_bytes, &error), MN_OK);
    CHECK(out_bytes == old_bytes && !memcmp(out, old, old_bytes), "empty patch: same bytes");
    mn_meta_free(out);
    const char *all[] = {"turn", "tags", "kind"};
    uint32_t all_bytes[] = {4, 4, 4};
    CHECK_STATUS(mn_meta_patch(old, old_bytes, NULL, 0, all, all_bytes, 3, &out, &out_bytes, &error), MN_OK);
    CHECK(out == NULL && out_bytes == 0, "all removed: empty document");
    /* Patch of the empty document: the set itself. */
    CHECK_STATUS(mn_meta_patch(NULL, 0, set, set_bytes, NULL, NULL, 0, &out, &out_bytes, &error), MN_OK);
    CHECK(out_bytes == set_bytes && !memcmp(out, set, set_bytes), "patch of nothing = set");
    mn_meta_free(out);
    CHECK_STATUS(mn_meta_patch_encode(NULL, 0, NULL, NULL, 0, &patch, &patch_bytes, NULL), MN_OK);
    CHECK(patch_bytes == 6, "empty patch is 6 bytes");
    CHECK_STATUS(mn_meta_patch_apply(old, old_bytes, patch, patch_bytes, &out, &out_bytes, NULL), MN_OK);
    CHECK(out_bytes == old_bytes && !memcmp(out, old, old_bytes), "empty encoded patch: same bytes");
    mn_meta_free(out);
    mn_meta_free(patch);

    /* Refusals: set and remove one name, bad remove names, too many removes, bad old, bad set. */
    const char *both[] = {"pinned"};
    uint32_t both_bytes[] = {6};
    out = (void *)1;
    CHECK_STATUS(mn_meta_patch(old, old_bytes, set, set_bytes, both, both_bytes, 1, &out, &out_bytes, &error),
                 MN_ERR_INVALID);
    CHECK(out == NULL && error_names(&error, 0, "pinned"), "set and removed named");
    CHECK_STATUS(mn_meta_patch_encode(set, set_bytes, both, both_bytes, 1, &patch, &patch_bytes, &error),
                 MN_ERR_INVALID);
    const char *bad[] = {"ok", "id"};
    uint32_t bad_bytes[] = {2, 2};
    CHECK_STATUS(mn_meta_patch(old, old_bytes, NULL, 0, bad, bad_bytes, 2, &out, &out_bytes, &error), MN_ERR_INVALID);
    CHECK(error_names(&error, 1, "id"), "reserved remove name named");
    const char *twice[] = {"b", "a", "b"};
    uint32_t twice_bytes[] = {1, 1, 1};
    CHECK_STATUS(mn_meta_patch(old, old_bytes, NULL, 0, twice, twice_bytes, 3, &out, &out_bytes, &error), MN_OK);
    mn_meta_free(out);
    CHECK_STATUS(mn_meta_patch_encode(NULL, 0, twice, twice_bytes, 3, &patch, &patch_bytes, &error), MN_ERR_INVALID);
    CHECK(error_names(&error, 2, "b"), "repeated remove named (the later)");
    const char *many[MN_META_FIELDS_MAX + 1];
    uint32_t many_bytes[MN_META_FIELDS_MAX + 1];
    for (uint32_t i = 0; i <= MN_META_FIELDS_MAX; i++) {
        many[i] = "zz";
        many_bytes[i] = 2;
    }
    CHECK_STATUS(mn_meta_patch(old, old_bytes, NULL, 0, many, many_bytes, MN_META_FIELDS_MAX, &out, &out_bytes, NULL),
                 MN_OK);
    mn_meta_free(out);
    CHECK_STATUS(mn_meta_patch(old, old_bytes, NULL, 0, many, many_bytes, MN_META_FIELDS_MAX + 1, &out, &out_bytes,
                               NULL),
                 MN_ERR_TOO_LARGE);
    uint8_t broken[] = {1, 0, 1, 'a', 9};
    CHECK_STATUS(mn_meta_patch(broken, sizeof broken, set, set_bytes, NULL, NULL, 0, &out, &out_bytes, &error),
                 MN_ERR_CORRUPT);
    CHECK_STATUS(mn_meta_patch(old, old_bytes, broken, sizeof broken, NULL, NULL, 0, &out, &out_bytes, &error),
                 MN_ERR_INVALID);
    CHECK(error_names(&error, 0, "a"), "bad set field named");
    CHECK_STATUS(mn_meta_patch(old, old_bytes, set, set_bytes, NULL, NULL, 0, NULL, &out_bytes, NULL), MN_ERR_INVALID);
    mn_meta_free(set);
    mn_meta_free(old);
}

/* A patch that pushes a document over a limit is refused, naming the field, returning nothing. */
static void test_patch_limits(void) {
    mn_meta_error error;
    char name[8];
    /* 63 fields f00..f62, then a set of two new ones: g0 fits (64), g1 is the 65th. */
    mn_meta_builder *b;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    for (uint32_t i = 0; i < MN_META_FIELDS_MAX - 1; i++) {
        name_of(name, i);
        mn_meta_builder_add_int(b, name, 3, i);
    }
    void *old;
    size_t old_bytes;
    CHECK_STATUS(mn_meta_builder_finish(b, &old, &old_bytes, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    mn_meta_builder_add_int(b, "g0", 2, 1);
    mn_meta_builder_add_int(b, "g1", 2, 1);
    mn_meta_builder_add_int(b, "f00", 3, 99); /* a replacement does not add */
    void *set;
    size_t set_bytes;
    CHECK_STATUS(mn_meta_builder_finish(b, &set, &set_bytes, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    void *out = (void *)1;
    size_t out_bytes = 1;
    CHECK_STATUS(mn_meta_patch(old, old_bytes, set, set_bytes, NULL, NULL, 0, &out, &out_bytes, &error),
                 MN_ERR_TOO_LARGE);
    CHECK(out == NULL && out_bytes == 0, "nothing returned");
    CHECK(error_names(&error, MN_META_FIELDS_MAX, "g1"), "65th field named: %u %s", error.field_index, error.name);
    /* Removing one old field makes room. */
    const char *rm[] = {"f05"};
    uint32_t rm_bytes[] = {3};
    CHECK_STATUS(mn_meta_patch(old, old_bytes, set, set_bytes, rm, rm_bytes, 1, &out, &out_bytes, &error), MN_OK);
    mn_meta_cursor c;
    mn_meta_iter(out, out_bytes, &c);
    CHECK(c.remaining == MN_META_FIELDS_MAX, "64 fields after the patch");
    mn_meta_value v;
    CHECK_STATUS(mn_meta_get(out, out_bytes, "f00", 3, &v), MN_OK);
    CHECK(v.i == 99, "replaced");
    CHECK_STATUS(mn_meta_get(out, out_bytes, "f05", 3, &v), MN_ERR_NOT_FOUND);
    mn_meta_free(out);
    mn_meta_free(set);
    mn_meta_free(old);

    /* Bytes: the document of exactly MN_META_DOC_BYTES_MAX; growing f1 by one byte is refused. */
    enc e;
    doc_of_size(&e, 0);
    static char fill[MN_META_STRING_BYTES_MAX];
    memset(fill, 'd', sizeof fill);
    size_t last = MN_META_DOC_BYTES_MAX - 2 - 4 * 8 - 3 * MN_META_STRING_BYTES_MAX;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    mn_meta_builder_add_string(b, "f3", 2, fill, (uint32_t)last + 1);
    CHECK_STATUS(mn_meta_builder_finish(b, &set, &set_bytes, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    CHECK_STATUS(mn_meta_patch(e.data, e.size, set, set_bytes, NULL, NULL, 0, &out, &out_bytes, &error),
                 MN_ERR_TOO_LARGE);
    CHECK(out == NULL && error_names(&error, 3, "f3"), "field past the byte limit named");
    mn_meta_free(set);
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    mn_meta_builder_add_string(b, "f3", 2, fill, (uint32_t)last - 1);
    mn_meta_builder_add_bool(b, "a", 1, 1); /* 4 bytes more: over again, now at "f0" */
    CHECK_STATUS(mn_meta_builder_finish(b, &set, &set_bytes, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    CHECK_STATUS(mn_meta_patch(e.data, e.size, set, set_bytes, NULL, NULL, 0, &out, &out_bytes, &error),
                 MN_ERR_TOO_LARGE);
    CHECK(error_names(&error, 4, "f3"), "byte limit: named in result order (%u %s)", error.field_index, error.name);
    const char *rm0[] = {"f0"};
    uint32_t rm0_bytes[] = {2};
    CHECK_STATUS(mn_meta_patch(e.data, e.size, set, set_bytes, rm0, rm0_bytes, 1, &out, &out_bytes, &error), MN_OK);
    mn_meta_free(out);
    mn_meta_free(set);
}

int main(void) {
    test_round_trip();
    test_layout();
    test_limit_fields();
    test_limit_name();
    test_limit_string_and_list();
    test_limit_doc_bytes();
    test_canonical();
    test_reserved_names();
    test_utf8();
    test_patch();
    test_patch_limits();
    return mn_test_finish("test_meta");
}
