/*
 * test_filter.c: the filter JSON form and its evaluation (mn_filter.h, mn_filter_internal.h).
 *
 * Proves: every operator on every field type, including absent fields, lists (any element)
 * and int/double mixing, matches the table of docs/filters.md; the built-ins id and createdAt
 * (RFC 3339 dates converted at parse time, checked against known instants and the int64
 * edges); every rejection is typed with its code, the field and operator named and, for
 * syntax, the byte offset; the depth limit holds at exactly 16 (accepted) and 17 (rejected)
 * for $and, $or and $not chains; the node, byte and name limits; the tree API shows what was
 * parsed ($in lists sorted), the estimate combines leaf fractions as documented, and a leaf
 * tested against one value (mn_filter_leaf_match_value) agrees with a match.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/mn_filter_internal.h"
#include "mn_test.h"
#include "mnemo/mn_filter.h"
#include "mnemo/mn_meta.h"

static mn_filter *parse_ok(const char *json) {
    mn_filter *filter = NULL;
    mn_filter_error error;
    mn_status status = mn_filter_parse(json, strlen(json), &filter, &error);
    CHECK(status == MN_OK && filter, "%s: status %d code %d at %u: %s", json, status, error.code,
          error.offset, error.message);
    CHECK(error.code == MN_FILTER_ERROR_NONE, "%s: code %d on success", json, error.code);
    return filter;
}

/* Expects a rejection with this status, code, field and operator (NULL: not checked). */
static void expect_error(const char *json, size_t bytes, mn_status status, int32_t code,
                         const char *field, const char *op, long offset) {
    mn_filter *filter = (mn_filter *)1;
    mn_filter_error error;
    memset(&error, 0x55, sizeof error);
    mn_status got = mn_filter_parse(json, bytes, &filter, &error);
    CHECK(got == status, "%.80s: status %d, expected %d (%s)", json, got, status, error.message);
    CHECK(filter == NULL, "%.80s: *out not NULL on error", json);
    CHECK(error.code == code, "%.80s: code %d, expected %d (%s)", json, error.code, code, error.message);
    CHECK(memchr(error.field, 0, sizeof error.field) && memchr(error.op, 0, sizeof error.op) &&
              memchr(error.message, 0, sizeof error.message),
          "%.80s: unterminated error strings", json);
    CHECK(error.message[0] != '\0', "%.80s: empty message", json);
    CHECK(error.offset <= bytes, "%.80s: offset %u past %zu", json, error.offset, bytes);
    if (field) CHECK(strcmp(error.field, field) == 0, "%.80s: field \"%s\", expected \"%s\"", json, error.field, field);
    if (op) CHECK(strcmp(error.op, op) == 0, "%.80s: op \"%s\", expected \"%s\"", json, error.op, op);
    if (offset >= 0) CHECK(error.offset == (uint32_t)offset, "%.80s: offset %u, expected %ld", json, error.offset, offset);
    if (got == MN_OK) mn_filter_free(filter);
}

#define ERR(json, status, code, field, op) expect_error(json, strlen(json), status, code, field, op, -1)
#define ERR_AT(json, code, offset) expect_error(json, strlen(json), MN_ERR_INVALID, code, NULL, NULL, offset)

typedef struct doc {
    void *bytes;
    size_t size;
} doc;

/* The document most tests run against. */
static doc doc_sample(void) {
    mn_meta_builder *b;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    const char *tags[] = {"x", "Project-X", "b"};
    uint32_t lens[] = {1, 9, 1};
    CHECK_STATUS(mn_meta_builder_add_string(b, "title", 5, "Travel to Rome", 14), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_string(b, "kind", 4, "fact", 4), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_string(b, "empty", 5, "", 0), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_int(b, "n", 1, 5), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_int(b, "big", 3, 9007199254740993LL), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_int(b, "neg", 3, -3), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_double(b, "d", 1, 2.5), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_double(b, "whole", 5, 7.0), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_bool(b, "ok", 2, 1), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_bool(b, "no", 2, 0), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_strings(b, "tags", 4, tags, lens, 3), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_strings(b, "none", 4, NULL, NULL, 0), MN_OK);
    doc d = {0};
    CHECK_STATUS(mn_meta_builder_finish(b, &d.bytes, &d.size, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    return d;
}

#define SAMPLE_ID "mem-Alpha-42"
#define SAMPLE_CREATED 1793491200000000000LL /* 2026-11-01T00:00:00Z */

static void expect_match(const char *json, const doc *d, int expected) {
    mn_filter *filter = parse_ok(json);
    if (!filter) return;
    int got = mn_filter_match(filter, d->bytes, d->size, SAMPLE_ID, (uint32_t)strlen(SAMPLE_ID),
                              SAMPLE_CREATED);
    CHECK(got == expected, "%s: matched %d, expected %d", json, got, expected);
    mn_filter_free(filter);
}

typedef struct row {
    const char *json;
    int sample; /* against the sample document */
    int empty;  /* against the empty document (every metadata field absent) */
} row;

/* The semantics table of docs/filters.md, row by row. */
static const row table[] = {
    /* $eq and its shorthand, across types */
    {"{}", 1, 1},
    {"{\"kind\": \"fact\"}", 1, 0},
    {"{\"kind\": {\"$eq\": \"fact\"}}", 1, 0},
    {"{\"kind\": \"Fact\"}", 0, 0},
    {"{\"kind\": 1}", 0, 0},
    {"{\"n\": 5}", 1, 0},
    {"{\"n\": 5.0}", 1, 0},
    {"{\"n\": \"5\"}", 0, 0},
    {"{\"whole\": 7}", 1, 0},
    {"{\"d\": 2.5}", 1, 0},
    {"{\"d\": 2}", 0, 0},
    {"{\"ok\": true}", 1, 0},
    {"{\"ok\": 1}", 0, 0},
    {"{\"no\": false}", 1, 0},
    {"{\"big\": 9007199254740993}", 1, 0},
    {"{\"big\": 9007199254740992.0}", 0, 0}, /* exact: 2^53 + 1 is not the double 2^53 */
    {"{\"big\": {\"$gt\": 9007199254740992.0}}", 1, 0},
    {"{\"big\": {\"$lt\": 9007199254740994.0}}", 1, 0},
    {"{\"tags\": \"x\"}", 1, 0},            /* a list equals when any element does */
    {"{\"tags\": \"project-x\"}", 0, 0},
    {"{\"none\": \"x\"}", 0, 0},
    {"{\"empty\": \"\"}", 1, 0},
    /* $ne: not $eq, so absent fields and other types match */
    {"{\"kind\": {\"$ne\": \"fact\"}}", 0, 1},
    {"{\"kind\": {\"$ne\": \"chat\"}}", 1, 1},
    {"{\"kind\": {\"$ne\": 3}}", 1, 1},
    {"{\"n\": {\"$ne\": 5.0}}", 0, 1},
    {"{\"tags\": {\"$ne\": \"x\"}}", 0, 1},
    {"{\"tags\": {\"$ne\": \"y\"}}", 1, 1},
    {"{\"none\": {\"$ne\": \"y\"}}", 1, 1},
    {"{\"ok\": {\"$ne\": false}}", 1, 1},
    /* $in / $nin */
    {"{\"kind\": {\"$in\": [\"chat\", \"fact\"]}}", 1, 0},
    {"{\"kind\": {\"$in\": []}}", 0, 0},
    {"{\"kind\": {\"$nin\": []}}", 1, 1},
    {"{\"kind\": {\"$in\": [1, true, \"fac\"]}}", 0, 0},
    {"{\"n\": {\"$in\": [1, 5.0, \"5\"]}}", 1, 0},
    {"{\"d\": {\"$in\": [2, 3, 2.5]}}", 1, 0},
    {"{\"ok\": {\"$in\": [false, 1]}}", 0, 0},
    {"{\"ok\": {\"$in\": [true]}}", 1, 0},
    {"{\"tags\": {\"$in\": [\"q\", \"b\"]}}", 1, 0},
    {"{\"kind\": {\"$nin\": [\"chat\", \"fact\"]}}", 0, 1},
    {"{\"kind\": {\"$nin\": [\"chat\"]}}", 1, 1},
    {"{\"tags\": {\"$nin\": [\"Project-X\"]}}", 0, 1},
    /* order: numbers with numbers, strings with strings, nothing else */
    {"{\"n\": {\"$gt\": 4}}", 1, 0},
    {"{\"n\": {\"$gt\": 5}}", 0, 0},
    {"{\"n\": {\"$gte\": 5}}", 1, 0},
    {"{\"n\": {\"$gt\": 4.5}}", 1, 0},
    {"{\"n\": {\"$lt\": 5.5}}", 1, 0},
    {"{\"n\": {\"$lte\": 4.999}}", 0, 0},
    {"{\"neg\": {\"$lt\": -2.5}}", 1, 0},
    {"{\"neg\": {\"$gt\": -3.5, \"$lt\": -2}}", 1, 0},
    {"{\"d\": {\"$gte\": 2.5, \"$lte\": 2.5}}", 1, 0},
    {"{\"d\": {\"$gt\": 2}}", 1, 0},
    {"{\"d\": {\"$lt\": 3}}", 1, 0},
    {"{\"n\": {\"$gt\": \"4\"}}", 0, 0},
    {"{\"kind\": {\"$gt\": \"fac\"}}", 1, 0},
    {"{\"kind\": {\"$gt\": \"fact\"}}", 0, 0},
    {"{\"kind\": {\"$gte\": \"fact\"}}", 1, 0},
    {"{\"kind\": {\"$lt\": \"g\"}}", 1, 0},
    {"{\"kind\": {\"$lt\": \"F\"}}", 0, 0},   /* byte order: 'F' < 'f' */
    {"{\"kind\": {\"$gt\": 1}}", 0, 0},
    {"{\"ok\": {\"$gt\": 0}}", 0, 0},
    {"{\"tags\": {\"$gt\": \"w\"}}", 1, 0},   /* "x" */
    {"{\"tags\": {\"$gt\": \"x\"}}", 0, 0},
    {"{\"tags\": {\"$lt\": \"Q\"}}", 1, 0},   /* "Project-X" */
    /* $contains / $icontains */
    {"{\"title\": {\"$contains\": \"to Ro\"}}", 1, 0},
    {"{\"title\": {\"$contains\": \"travel\"}}", 0, 0},
    {"{\"title\": {\"$contains\": \"\"}}", 1, 0},
    {"{\"title\": {\"$icontains\": \"TRAVEL\"}}", 1, 0},
    {"{\"title\": {\"$icontains\": \"ROMEO\"}}", 0, 0},
    {"{\"title\": {\"$icontains\": \"o rO\"}}", 1, 0},
    {"{\"tags\": {\"$contains\": \"Project-X\"}}", 1, 0},
    {"{\"tags\": {\"$contains\": \"Project\"}}", 0, 0}, /* membership, not substring */
    {"{\"tags\": {\"$contains\": \"project-x\"}}", 0, 0},
    {"{\"tags\": {\"$icontains\": \"project-x\"}}", 1, 0},
    {"{\"tags\": {\"$icontains\": \"PROJECT\"}}", 0, 0},
    {"{\"none\": {\"$contains\": \"\"}}", 0, 0},
    {"{\"n\": {\"$contains\": \"5\"}}", 0, 0},
    {"{\"empty\": {\"$contains\": \"\"}}", 1, 0},
    {"{\"empty\": {\"$contains\": \"a\"}}", 0, 0},
    /* $exists */
    {"{\"kind\": {\"$exists\": true}}", 1, 0},
    {"{\"kind\": {\"$exists\": false}}", 0, 1},
    {"{\"none\": {\"$exists\": true}}", 1, 0},
    {"{\"missing\": {\"$exists\": false}}", 1, 1},
    {"{\"missing\": {\"$exists\": true}}", 0, 0},
    {"{\"id\": {\"$exists\": true}}", 1, 1},
    {"{\"createdAt\": {\"$exists\": false}}", 0, 0},
    /* logic */
    {"{\"kind\": \"fact\", \"n\": 5}", 1, 0},
    {"{\"kind\": \"fact\", \"n\": 6}", 0, 0},
    {"{\"$and\": [{\"kind\": \"fact\"}, {\"n\": {\"$gte\": 5}}]}", 1, 0},
    {"{\"$or\": [{\"kind\": \"chat\"}, {\"n\": 5}]}", 1, 0},
    {"{\"$or\": [{\"kind\": \"chat\"}, {\"n\": 6}]}", 0, 0},
    {"{\"$or\": [{\"kind\": \"chat\"}, {\"missing\": {\"$exists\": false}}]}", 1, 1},
    {"{\"$not\": {\"kind\": \"fact\"}}", 0, 1},
    {"{\"$not\": {\"n\": {\"$gt\": 100}}}", 1, 1},
    {"{\"$not\": {\"$not\": {\"kind\": \"fact\"}}}", 1, 0},
    {"{\"$and\": [{}], \"$or\": [{}, {\"kind\": \"x\"}]}", 1, 1},
    {"{\"$not\": {}}", 0, 0},
    {"{\"kind\": \"fact\", \"$not\": {\"tags\": \"x\"}}", 0, 0},
    /* built-ins */
    {"{\"id\": \"mem-Alpha-42\"}", 1, 1},
    {"{\"id\": {\"$ne\": \"mem-Alpha-42\"}}", 0, 0},
    {"{\"id\": {\"$in\": [\"a\", \"mem-Alpha-42\"]}}", 1, 1},
    {"{\"id\": {\"$nin\": [\"a\", \"mem-Alpha-42\"]}}", 0, 0},
    {"{\"id\": {\"$contains\": \"Alpha\"}}", 1, 1},
    {"{\"id\": {\"$contains\": \"alpha\"}}", 0, 0},
    {"{\"id\": {\"$icontains\": \"ALPHA-4\"}}", 1, 1},
    {"{\"id\": {\"$gt\": \"mem-A\", \"$lt\": \"mem-B\"}}", 1, 1},
    {"{\"id\": {\"$gte\": \"mem-b\"}}", 0, 0},
    {"{\"createdAt\": 1793491200000000000}", 1, 1},
    {"{\"createdAt\": \"2026-11-01T00:00:00Z\"}", 1, 1},
    {"{\"createdAt\": \"2026-11-01T01:00:00+01:00\"}", 1, 1},
    {"{\"createdAt\": {\"$gte\": \"2026-10-31T23:59:59.999999999Z\"}}", 1, 1},
    {"{\"createdAt\": {\"$gt\": \"2026-11-01T00:00:00Z\"}}", 0, 0},
    {"{\"createdAt\": {\"$lt\": \"2026-11-01T00:00:00.000000001Z\"}}", 1, 1},
    {"{\"createdAt\": {\"$in\": [1, \"2026-11-01T00:00:00Z\"]}}", 1, 1},
    {"{\"createdAt\": {\"$nin\": [\"2026-10-31T19:00:00-05:00\"]}}", 0, 0},
};

static void test_table(void) {
    doc sample = doc_sample();
    doc empty = {NULL, 0};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        expect_match(table[i].json, &sample, table[i].sample);
        expect_match(table[i].json, &empty, table[i].empty);
    }
    mn_meta_free(sample.bytes);
}

static void test_syntax_errors(void) {
    ERR_AT("", MN_FILTER_ERROR_SYNTAX, 0);
    ERR_AT("   ", MN_FILTER_ERROR_SYNTAX, 3);
    ERR_AT("{", MN_FILTER_ERROR_SYNTAX, 1);
    ERR_AT("{\"a\":}", MN_FILTER_ERROR_SYNTAX, 5);
    ERR_AT("{\"a\": 1,}", MN_FILTER_ERROR_SYNTAX, 8);
    ERR_AT("{\"a\": 01}", MN_FILTER_ERROR_SYNTAX, 7);
    ERR_AT("{\"a\": 1} x", MN_FILTER_ERROR_SYNTAX, 9);
    ERR_AT("{\"a\": 1}{}", MN_FILTER_ERROR_SYNTAX, 8);
    ERR_AT("{\"a\": NaN}", MN_FILTER_ERROR_SYNTAX, 6);
    ERR_AT("{\"a\": Infinity}", MN_FILTER_ERROR_SYNTAX, 6);
    ERR_AT("{\"a\": -Infinity}", MN_FILTER_ERROR_SYNTAX, 7);
    ERR_AT("{\"a\": 1e999}", MN_FILTER_ERROR_SYNTAX, 6);
    ERR_AT("{\"a\": -1e400}", MN_FILTER_ERROR_SYNTAX, 6);
    ERR_AT("{\"a\": 1.}", MN_FILTER_ERROR_SYNTAX, 8);
    ERR_AT("{\"a\": .5}", MN_FILTER_ERROR_SYNTAX, 6);
    ERR_AT("{\"a\": 1e}", MN_FILTER_ERROR_SYNTAX, 8);
    ERR_AT("{\"a\": +1}", MN_FILTER_ERROR_SYNTAX, 6);
    ERR_AT("{\"a\": tru}", MN_FILTER_ERROR_SYNTAX, 6);
    ERR_AT("{'a': 1}", MN_FILTER_ERROR_SYNTAX, 1);
    ERR_AT("{\"a\" 1}", MN_FILTER_ERROR_SYNTAX, 5);
    ERR_AT("{\"a\": \"x}", MN_FILTER_ERROR_SYNTAX, 9);
    ERR_AT("{\"a\": \"\\ud800\"}", MN_FILTER_ERROR_SYNTAX, 7);
    ERR_AT("{\"a\": \"\\udc00\"}", MN_FILTER_ERROR_SYNTAX, 7);
    ERR_AT("{\"a\": \"\\ud800\\u0041\"}", MN_FILTER_ERROR_SYNTAX, 7);
    ERR_AT("{\"a\": \"\\u12G4\"}", MN_FILTER_ERROR_SYNTAX, 7);
    ERR_AT("{\"a\": \"\\x\"}", MN_FILTER_ERROR_SYNTAX, 7);
    ERR_AT("{\"a\": \"\xff\"}", MN_FILTER_ERROR_SYNTAX, 7);
    ERR_AT("{\"a\": \"\xc0\xaf\"}", MN_FILTER_ERROR_SYNTAX, 7);       /* overlong '/' */
    ERR_AT("{\"a\": \"\xed\xa0\x80\"}", MN_FILTER_ERROR_SYNTAX, 7);   /* encoded surrogate */
    ERR_AT("{\"a\": \"\xf4\x90\x80\x80\"}", MN_FILTER_ERROR_SYNTAX, 7); /* above U+10FFFF */
    ERR_AT("{\"a\": \"\xe2\x82\"}", MN_FILTER_ERROR_SYNTAX, 7);       /* cut sequence */
    ERR_AT("{\"a\": \"tab\there\"}", MN_FILTER_ERROR_SYNTAX, 10);
    ERR_AT("\xef\xbb\xbf{}", MN_FILTER_ERROR_SYNTAX, 0);                 /* no BOM */
    ERR_AT("{\"a\": [1, 2}", MN_FILTER_ERROR_SYNTAX, 11);
    /* A syntax error names the innermost key it is in. */
    ERR("{\"kind\": {\"$in\": [1, 2,]}}", MN_ERR_INVALID, MN_FILTER_ERROR_SYNTAX, "$in", "");
    ERR("{\"kind\": tru}", MN_ERR_INVALID, MN_FILTER_ERROR_SYNTAX, "kind", "");
    /* A NUL byte inside the given length is a control character, not an end. */
    expect_error("{\"a\": \"x\0\"}", 11, MN_ERR_INVALID, MN_FILTER_ERROR_SYNTAX, "a", NULL, 8);
    /* Duplicate keys, anywhere. */
    ERR("{\"a\": {\"$gt\": 1, \"$gt\": 2}}", MN_ERR_INVALID, MN_FILTER_ERROR_DUPLICATE_KEY, "a", "$gt");
    ERR("{\"a\": 1, \"b\": 2, \"a\": 1}", MN_ERR_INVALID, MN_FILTER_ERROR_DUPLICATE_KEY, "a", "");
    ERR("{\"$or\": [{\"k\": 1, \"k\": 2}]}", MN_ERR_INVALID, MN_FILTER_ERROR_DUPLICATE_KEY, "k", "");
    expect_error("{\"a\": 1, \"b\": 2, \"a\": 1}", 24, MN_ERR_INVALID, MN_FILTER_ERROR_DUPLICATE_KEY,
                 "a", NULL, 17);
    /* Whitespace of all four kinds is fine; numbers in every legal form read. */
    mn_filter *f = parse_ok(" \t\r\n{ \"a\" : -0.5e+2 , \"b\":1E-2,\"c\":-0 } \n");
    mn_filter_free(f);
}

static void test_semantic_errors(void) {
    ERR("[]", MN_ERR_INVALID, MN_FILTER_ERROR_NOT_OBJECT, "", "");
    ERR("\"kind\"", MN_ERR_INVALID, MN_FILTER_ERROR_NOT_OBJECT, "", "");
    ERR("{\"$and\": [1]}", MN_ERR_INVALID, MN_FILTER_ERROR_NOT_OBJECT, "$and", "");
    ERR("{\"$or\": [{}, []]}", MN_ERR_INVALID, MN_FILTER_ERROR_NOT_OBJECT, "$or", "");
    ERR("{\"$not\": [{}]}", MN_ERR_INVALID, MN_FILTER_ERROR_NOT_OBJECT, "$not", "");
    ERR("{\"$not\": true}", MN_ERR_INVALID, MN_FILTER_ERROR_NOT_OBJECT, "$not", "");
    ERR("{\"$and\": {}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "$and", "$and");
    ERR("{\"$or\": \"x\"}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "$or", "$or");
    ERR("{\"$and\": []}", MN_ERR_INVALID, MN_FILTER_ERROR_EMPTY, "$and", "$and");
    ERR("{\"$or\": []}", MN_ERR_INVALID, MN_FILTER_ERROR_EMPTY, "$or", "$or");
    ERR("{\"kind\": {}}", MN_ERR_INVALID, MN_FILTER_ERROR_EMPTY, "kind", "");
    ERR("{\"kind\": {\"$foo\": 1}}", MN_ERR_INVALID, MN_FILTER_ERROR_UNKNOWN_OPERATOR, "kind", "$foo");
    ERR("{\"kind\": {\"eq\": 1}}", MN_ERR_INVALID, MN_FILTER_ERROR_UNKNOWN_OPERATOR, "kind", "eq");
    ERR("{\"kind\": {\"$and\": [{}]}}", MN_ERR_INVALID, MN_FILTER_ERROR_UNKNOWN_OPERATOR, "kind", "$and");
    ERR("{\"kind\": {\"$eq\": 1, \"$regex\": \"x\"}}", MN_ERR_INVALID, MN_FILTER_ERROR_UNKNOWN_OPERATOR, "kind",
        "$regex");
    ERR("{\"$foo\": 1}", MN_ERR_INVALID, MN_FILTER_ERROR_UNKNOWN_OPERATOR, "", "$foo");
    ERR("{\"$eq\": 1}", MN_ERR_INVALID, MN_FILTER_ERROR_UNKNOWN_OPERATOR, "", "$eq");
    ERR("{\"$or\": [{\"$where\": 1}]}", MN_ERR_INVALID, MN_FILTER_ERROR_UNKNOWN_OPERATOR, "$or", "$where");
    /* Operand types decidable at parse time. */
    ERR("{\"n\": {\"$gt\": true}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$gt");
    ERR("{\"n\": {\"$gte\": [1]}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$gte");
    ERR("{\"n\": {\"$lt\": {}}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$lt");
    ERR("{\"n\": {\"$lte\": null}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$lte");
    ERR("{\"n\": {\"$in\": 1}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$in");
    ERR("{\"n\": {\"$nin\": \"a\"}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$nin");
    ERR("{\"n\": {\"$in\": [1, [2]]}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$in");
    ERR("{\"n\": {\"$in\": [null]}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$in");
    ERR("{\"tags\": {\"$contains\": 1}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "tags", "$contains");
    ERR("{\"tags\": {\"$icontains\": [\"a\"]}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "tags",
        "$icontains");
    ERR("{\"n\": {\"$exists\": 1}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$exists");
    ERR("{\"n\": {\"$exists\": \"true\"}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$exists");
    ERR("{\"n\": {\"$eq\": {\"a\": 1}}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$eq");
    ERR("{\"n\": {\"$ne\": null}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$ne");
    ERR("{\"n\": null}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$eq");
    ERR("{\"n\": [1, 2]}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "n", "$eq");
    ERR("{\"id\": 5}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "id", "$eq");
    ERR("{\"id\": {\"$in\": [\"a\", 2]}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "id", "$in");
    ERR("{\"id\": {\"$gt\": 1.5}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "id", "$gt");
    ERR("{\"id\": true}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "id", "$eq");
    ERR("{\"createdAt\": 1.5}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "createdAt", "$eq");
    ERR("{\"createdAt\": true}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "createdAt", "$eq");
    ERR("{\"createdAt\": {\"$contains\": \"2026\"}}", MN_ERR_INVALID, MN_FILTER_ERROR_OPERAND_TYPE, "createdAt",
        "$contains");
    ERR("{\"createdAt\": \"yesterday\"}", MN_ERR_INVALID, MN_FILTER_ERROR_BAD_DATE, "createdAt", "$eq");
    ERR("{\"createdAt\": {\"$in\": [\"2026-02-29T00:00:00Z\"]}}", MN_ERR_INVALID, MN_FILTER_ERROR_BAD_DATE,
        "createdAt", "$in");
    ERR("{\"createdAt\": {\"$gte\": \"2026-11-01\"}}", MN_ERR_INVALID, MN_FILTER_ERROR_BAD_DATE, "createdAt",
        "$gte");
    ERR("{\"createdAt\": {\"$lt\": \"2262-04-11T23:47:16.854775808Z\"}}", MN_ERR_INVALID,
        MN_FILTER_ERROR_BAD_DATE, "createdAt", "$lt");
    /* Field names. */
    ERR("{\"\": 1}", MN_ERR_INVALID, MN_FILTER_ERROR_FIELD_NAME, "", "");
    expect_error("{\"a\\u0000b\": 1}", 15, MN_ERR_INVALID, MN_FILTER_ERROR_FIELD_NAME, "a", NULL, 1);
    char name[MN_META_NAME_BYTES_MAX + 2];
    memset(name, 'n', sizeof name);
    name[MN_META_NAME_BYTES_MAX + 1] = '\0';
    char json[256];
    snprintf(json, sizeof json, "{\"%s\": 1}", name);
    ERR(json, MN_ERR_TOO_LARGE, MN_FILTER_ERROR_NAME_LENGTH, name, "");
    name[MN_META_NAME_BYTES_MAX] = '\0';
    snprintf(json, sizeof json, "{\"%s\": 1}", name);
    mn_filter_free(parse_ok(json));
    /* Arguments. */
    mn_filter *f = NULL;
    mn_filter_error error;
    CHECK_STATUS(mn_filter_parse(NULL, 2, &f, &error), MN_ERR_INVALID);
    CHECK(error.code == MN_FILTER_ERROR_ARGUMENT, "code %d", error.code);
    CHECK_STATUS(mn_filter_parse("{}", 2, NULL, &error), MN_ERR_INVALID);
    CHECK_STATUS(mn_filter_parse("{}", 2, &f, NULL), MN_OK); /* error is optional */
    mn_filter_free(f);
    CHECK_STATUS(mn_filter_parse("{\"a\": 1", 7, &f, NULL), MN_ERR_INVALID);
    CHECK(f == NULL, "out not cleared");
    CHECK_STATUS(mn_filter_free(NULL), MN_OK);
}

/* A chain of `depth` filter objects: kind 0 $and, 1 $or, 2 $not, 3 mixed. */
static char *chain(int depth, int kind) {
    size_t cap = (size_t)depth * 32 + 64;
    char *s = malloc(cap);
    size_t n = 0;
    for (int i = 1; i < depth; i++) {
        int k = kind == 3 ? i % 3 : kind;
        n += (size_t)snprintf(s + n, cap - n, k == 0 ? "{\"$and\": [" : k == 1 ? "{\"$or\": [" : "{\"$not\": ");
    }
    n += (size_t)snprintf(s + n, cap - n, "{\"n\": {\"$in\": [5, 6]}}");
    for (int i = depth - 1; i >= 1; i--) {
        int k = kind == 3 ? i % 3 : kind;
        n += (size_t)snprintf(s + n, cap - n, k == 2 ? "}" : "]}");
    }
    return s;
}

static void test_limits(void) {
    for (int kind = 0; kind < 4; kind++) {
        char *ok = chain(MN_FILTER_DEPTH_MAX, kind);
        mn_filter *f = parse_ok(ok);
        if (f && kind != 3) {
            doc sample = doc_sample();
            int not_count = kind == 2 ? MN_FILTER_DEPTH_MAX - 1 : 0;
            int got = mn_filter_match(f, sample.bytes, sample.size, "x", 1, 0);
            CHECK(got == (not_count % 2 == 0), "depth-16 chain %d matched %d", kind, got);
            mn_meta_free(sample.bytes);
        }
        mn_filter_free(f);
        char *deep = chain(MN_FILTER_DEPTH_MAX + 1, kind);
        ERR(deep, MN_ERR_TOO_LARGE, MN_FILTER_ERROR_DEPTH, NULL, NULL);
        free(ok);
        free(deep);
    }
    /* Very deep JSON is refused by the reader before any recursion gets far. */
    size_t deep_bytes = 100000 > MN_FILTER_BYTES_MAX ? MN_FILTER_BYTES_MAX : 100000;
    char *brackets = malloc(deep_bytes);
    memset(brackets, '[', deep_bytes);
    expect_error(brackets, deep_bytes, MN_ERR_TOO_LARGE, MN_FILTER_ERROR_DEPTH, "", "", -1);
    free(brackets);
    /* Bytes: exactly at the limit parses (whitespace padding), one more is refused. */
    char *big = malloc(MN_FILTER_BYTES_MAX + 1);
    memset(big, ' ', MN_FILTER_BYTES_MAX + 1);
    memcpy(big, "{}", 2);
    mn_filter *f = NULL;
    CHECK_STATUS(mn_filter_parse(big, MN_FILTER_BYTES_MAX, &f, NULL), MN_OK);
    mn_filter_free(f);
    expect_error(big, MN_FILTER_BYTES_MAX + 1, MN_ERR_TOO_LARGE, MN_FILTER_ERROR_BYTES, "", "", 0);
    free(big);
    /* Nodes: an $or of MN_FILTER_NODES_MAX - 1 leaves is MN_FILTER_NODES_MAX nodes. */
    for (int extra = 0; extra < 2; extra++) {
        int leaves = MN_FILTER_NODES_MAX - 1 + extra;
        size_t cap = (size_t)leaves * 16 + 32;
        char *s = malloc(cap);
        size_t n = (size_t)snprintf(s, cap, "{\"$or\": [");
        for (int i = 0; i < leaves; i++) n += (size_t)snprintf(s + n, cap - n, "%s{\"n\": %d}", i ? "," : "", i);
        n += (size_t)snprintf(s + n, cap - n, "]}");
        if (extra == 0) {
            f = parse_ok(s);
            CHECK(f && mn_filter_node_count(f) == MN_FILTER_NODES_MAX, "node count %u",
                  f ? mn_filter_node_count(f) : 0);
            mn_filter_free(f);
        } else {
            ERR(s, MN_ERR_TOO_LARGE, MN_FILTER_ERROR_NODES, NULL, NULL);
        }
        free(s);
    }
}

static void test_dates(void) {
    static const struct {
        const char *text;
        int ok;
        int64_t ns;
    } dates[] = {
        {"1970-01-01T00:00:00Z", 1, 0},
        {"1970-01-01t00:00:01z", 1, 1000000000LL},
        {"1970-01-01 00:00:00.5Z", 1, 500000000LL},
        {"1969-12-31T23:59:59.999999999Z", 1, -1},
        {"1970-01-01T00:00:00.0000000019Z", 1, 1}, /* finer than 1 ns: truncated */
        {"2026-11-01T00:00:00Z", 1, 1793491200000000000LL},
        {"2026-11-01T05:30:00+05:30", 1, 1793491200000000000LL},
        {"2026-10-31T20:00:00-04:00", 1, 1793491200000000000LL},
        {"2000-02-29T12:00:00Z", 1, 951825600000000000LL},
        {"2024-02-29T00:00:00Z", 1, 1709164800000000000LL},
        {"2016-12-31T23:59:60Z", 1, 1483228800000000000LL}, /* leap second: next minute */
        {"2262-04-11T23:47:16.854775807Z", 1, INT64_MAX},
        {"1677-09-21T00:12:43.145224192Z", 1, INT64_MIN},
        {"2262-04-11T23:47:16.854775808Z", 0, 0},
        {"1677-09-21T00:12:43.145224191Z", 0, 0},
        {"9999-12-31T23:59:59Z", 0, 0},
        {"2023-02-29T00:00:00Z", 0, 0},
        {"1900-02-29T00:00:00Z", 0, 0},
        {"2026-13-01T00:00:00Z", 0, 0},
        {"2026-00-01T00:00:00Z", 0, 0},
        {"2026-04-31T00:00:00Z", 0, 0},
        {"2026-11-01T24:00:00Z", 0, 0},
        {"2026-11-01T00:60:00Z", 0, 0},
        {"2026-11-01T00:00:61Z", 0, 0},
        {"2026-11-01T00:00:00", 0, 0},
        {"2026-11-01T00:00:00.Z", 0, 0},
        {"2026-11-01T00:00:00+0100", 0, 0},
        {"2026-11-01T00:00:00+24:00", 0, 0},
        {"2026-11-01T00:00:00Zx", 0, 0},
        {"2026-11-01", 0, 0},
        {"26-11-01T00:00:00Z", 0, 0},
        {"2026-11-01X00:00:00Z", 0, 0},
        {"", 0, 0},
    };
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        int64_t ns = 12345;
        int ok = mn_filter_parse_rfc3339(dates[i].text, strlen(dates[i].text), &ns);
        CHECK(ok == dates[i].ok, "%s: ok %d", dates[i].text, ok);
        if (ok && dates[i].ok) CHECK(ns == dates[i].ns, "%s: %lld, expected %lld", dates[i].text, (long long)ns,
                                     (long long)dates[i].ns);
    }
}

static void test_strings(void) {
    /* Escapes decode to UTF-8: a field equal to "é😀\"\\/\b\f\n\r\t" matches its escaped form. */
    mn_meta_builder *b;
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    const char value[] = "\xc3\xa9\xf0\x9f\x98\x80\"\\/\b\f\n\r\t";
    CHECK_STATUS(mn_meta_builder_add_string(b, "s\xc3\xa9", 3, value, (uint32_t)strlen(value)), MN_OK);
    doc d = {0};
    CHECK_STATUS(mn_meta_builder_finish(b, &d.bytes, &d.size, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    expect_match("{\"s\\u00e9\": \"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", &d, 1);
    expect_match("{\"s\xc3\xa9\": \"\xc3\xa9\xf0\x9f\x98\x80\\\"\\\\/\\b\\f\\n\\r\\t\"}", &d, 1);
    expect_match("{\"s\xc3\xa9\": {\"$contains\": \"\\uD83D\\uDE00\"}}", &d, 1);
    /* ASCII folding only: É is not folded to é. */
    expect_match("{\"s\xc3\xa9\": {\"$icontains\": \"\xc3\x89\"}}", &d, 0);
    mn_meta_free(d.bytes);
    /* Substring search is KMP: a pattern with self-overlap is found after a false start. */
    CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_string(b, "t", 1, "aabaabaaab", 10), MN_OK);
    CHECK_STATUS(mn_meta_builder_finish(b, &d.bytes, &d.size, NULL), MN_OK);
    mn_meta_builder_destroy(b);
    expect_match("{\"t\": {\"$contains\": \"aabaaab\"}}", &d, 1);
    expect_match("{\"t\": {\"$icontains\": \"AABAAAB\"}}", &d, 1);
    expect_match("{\"t\": {\"$contains\": \"aabaaaa\"}}", &d, 0);
    expect_match("{\"t\": {\"$contains\": \"aabaabaaabb\"}}", &d, 0);
    mn_meta_free(d.bytes);
}

static mn_status fraction_by_field(void *context, const mn_filter *filter, uint32_t leaf, double *fraction) {
    int *calls = context;
    (*calls)++;
    mn_filter_leaf l;
    mn_filter_node_leaf(filter, leaf, &l);
    if (l.name_bytes == 1 && l.name[0] == 'a') *fraction = 0.5;
    else if (l.name_bytes == 1 && l.name[0] == 'b') *fraction = 0.2;
    else if (l.name_bytes == 1 && l.name[0] == 'x') return MN_ERR_UNSUPPORTED;
    else *fraction = 7; /* clamped to 1 */
    return MN_OK;
}

static void test_tree(void) {
    mn_filter *f = parse_ok("{\"a\": {\"$in\": [\"z\", 3, true, 1.5, \"b\", false, -2]}, \"$and\": [{\"b\": {\"$gt\": "
                            "1, \"$lt\": 9}}], \"$or\": [{\"createdAt\": \"1970-01-01T00:00:01Z\"}, {\"id\": "
                            "{\"$icontains\": \"AbC\"}}], \"$not\": {\"c\": {\"$exists\": false}}}");
    if (!f) return;
    uint32_t root = mn_filter_root(f);
    CHECK(mn_filter_node_kind(f, root) == MN_FILTER_NODE_AND, "root kind");
    /* Flattened: a, b>1, b<9, OR, NOT. */
    CHECK(mn_filter_node_child_count(f, root) == 5, "root children %u", mn_filter_node_child_count(f, root));
    mn_filter_leaf leaf;
    mn_filter_value v;
    uint32_t a = mn_filter_node_child(f, root, 0);
    mn_filter_node_leaf(f, a, &leaf);
    CHECK(leaf.field == MN_FILTER_FIELD_META && leaf.op == MN_FILTER_OP_IN && leaf.value_count == 7 &&
              leaf.name_bytes == 1 && leaf.name[0] == 'a',
          "leaf a");
    static const struct {
        uint32_t type;
        double number;
        const char *string;
    } sorted[] = {{MN_FILTER_VALUE_BOOL, 0, NULL},    {MN_FILTER_VALUE_BOOL, 1, NULL},
                  {MN_FILTER_VALUE_INT, -2, NULL},    {MN_FILTER_VALUE_DOUBLE, 1.5, NULL},
                  {MN_FILTER_VALUE_INT, 3, NULL},     {MN_FILTER_VALUE_STRING, 0, "b"},
                  {MN_FILTER_VALUE_STRING, 0, "z"}};
    for (uint32_t i = 0; i < 7 && leaf.value_count == 7; i++) {
        mn_filter_leaf_value(f, a, i, &v);
        double number = v.type == MN_FILTER_VALUE_INT ? (double)v.i : v.type == MN_FILTER_VALUE_DOUBLE ? v.d : v.b;
        CHECK(v.type == sorted[i].type, "value %u type %u", i, v.type);
        if (sorted[i].string)
            CHECK(v.bytes == 1 && v.string[0] == sorted[i].string[0], "value %u string", i);
        else
            CHECK(number == sorted[i].number, "value %u = %g", i, number);
    }
    uint32_t b1 = mn_filter_node_child(f, root, 1), b2 = mn_filter_node_child(f, root, 2);
    mn_filter_node_leaf(f, b1, &leaf);
    CHECK(leaf.op == MN_FILTER_OP_GT && leaf.value_count == 1, "b > 1");
    mn_filter_leaf_value(f, b1, 0, &v);
    CHECK(v.type == MN_FILTER_VALUE_INT && v.i == 1, "b > 1 operand");
    mn_filter_node_leaf(f, b2, &leaf);
    CHECK(leaf.op == MN_FILTER_OP_LT, "b < 9");
    uint32_t or = mn_filter_node_child(f, root, 3);
    CHECK(mn_filter_node_kind(f, or) == MN_FILTER_NODE_OR && mn_filter_node_child_count(f, or) == 2, "or");
    uint32_t created = mn_filter_node_child(f, or, 0), id = mn_filter_node_child(f, or, 1);
    mn_filter_node_leaf(f, created, &leaf);
    mn_filter_leaf_value(f, created, 0, &v);
    CHECK(leaf.field == MN_FILTER_FIELD_CREATED_AT && leaf.op == MN_FILTER_OP_EQ && v.type == MN_FILTER_VALUE_INT &&
              v.i == 1000000000LL,
          "createdAt leaf");
    mn_filter_node_leaf(f, id, &leaf);
    mn_filter_leaf_value(f, id, 0, &v);
    CHECK(leaf.field == MN_FILTER_FIELD_ID && leaf.op == MN_FILTER_OP_ICONTAINS && v.bytes == 3 &&
              memcmp(v.string, "abc", 3) == 0,
          "id leaf (folded operand)");
    uint32_t not = mn_filter_node_child(f, root, 4);
    CHECK(mn_filter_node_kind(f, not) == MN_FILTER_NODE_NOT && mn_filter_node_child_count(f, not) == 1, "not");
    uint32_t c = mn_filter_node_child(f, not, 0);
    mn_filter_node_leaf(f, c, &leaf);
    mn_filter_leaf_value(f, c, 0, &v);
    CHECK(leaf.op == MN_FILTER_OP_EXISTS && v.type == MN_FILTER_VALUE_BOOL && v.b == 0, "exists false");
    CHECK(mn_filter_node_count(f) == 9, "node count %u", mn_filter_node_count(f));
    /* Estimate: a 0.5, b 0.2 twice, OR(1, 1) = 1, NOT(1) = 0 -> 0. */
    int calls = 0;
    double p = -1;
    CHECK_STATUS(mn_filter_estimate(f, fraction_by_field, &calls, &p), MN_OK);
    CHECK(p == 0 && calls == 6, "estimate %g after %d calls", p, calls);
    mn_filter_free(f);
    f = parse_ok("{\"a\": 1, \"$or\": [{\"b\": 1}, {\"a\": 2}], \"$not\": {\"b\": 2}}");
    calls = 0;
    CHECK_STATUS(mn_filter_estimate(f, fraction_by_field, &calls, &p), MN_OK);
    double expected = 0.5 * (1 - (1 - 0.2) * (1 - 0.5)) * (1 - 0.2);
    CHECK(fabs(p - expected) < 1e-12 && calls == 4, "estimate %g, expected %g", p, expected);
    CHECK_STATUS(mn_filter_estimate(f, NULL, NULL, &p), MN_ERR_INVALID);
    mn_filter_free(f);
    f = parse_ok("{\"$or\": [{\"b\": 1}, {\"x\": 2}]}");
    CHECK_STATUS(mn_filter_estimate(f, fraction_by_field, &calls, &p), MN_ERR_UNSUPPORTED);
    mn_filter_free(f);
    f = parse_ok("{}");
    CHECK(mn_filter_node_kind(f, mn_filter_root(f)) == MN_FILTER_NODE_AND &&
              mn_filter_node_child_count(f, mn_filter_root(f)) == 0,
          "empty filter is an empty AND");
    CHECK_STATUS(mn_filter_estimate(f, fraction_by_field, &calls, &p), MN_OK);
    CHECK(p == 1, "empty estimate %g", p);
    mn_filter_free(f);
    /* A single condition is the root itself; a lone $and's elements become the root AND. */
    f = parse_ok("{\"$and\": [{\"a\": 1}]}");
    CHECK(mn_filter_node_kind(f, mn_filter_root(f)) == MN_FILTER_NODE_LEAF, "single leaf root");
    mn_filter_free(f);
}

/* Integers that fit int64 stay ints (both ends), everything else is a double. */
static void test_numbers(void) {
    static const struct {
        const char *json;
        uint32_t type;
        int64_t i;
        double d;
    } cases[] = {
        {"{\"a\": -9223372036854775808}", MN_FILTER_VALUE_INT, INT64_MIN, 0},
        {"{\"a\": 9223372036854775807}", MN_FILTER_VALUE_INT, INT64_MAX, 0},
        {"{\"a\": 9223372036854775808}", MN_FILTER_VALUE_DOUBLE, 0, 9223372036854775808.0},
        {"{\"a\": -9223372036854775809}", MN_FILTER_VALUE_DOUBLE, 0, -9223372036854775808.0},
        {"{\"a\": -0}", MN_FILTER_VALUE_INT, 0, 0},
        {"{\"a\": 1.0}", MN_FILTER_VALUE_DOUBLE, 0, 1.0},
        {"{\"a\": 1e2}", MN_FILTER_VALUE_DOUBLE, 0, 100.0},
        {"{\"a\": -2.5E-1}", MN_FILTER_VALUE_DOUBLE, 0, -0.25},
        {"{\"a\": 4.9e-324}", MN_FILTER_VALUE_DOUBLE, 0, 4.9e-324},
        {"{\"a\": 1e-400}", MN_FILTER_VALUE_DOUBLE, 0, 0.0}, /* underflow to zero is finite */
        {"{\"a\": 0.1}", MN_FILTER_VALUE_DOUBLE, 0, 0.1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mn_filter *f = parse_ok(cases[c].json);
        if (!f) continue;
        mn_filter_value v;
        mn_filter_leaf_value(f, mn_filter_root(f), 0, &v);
        CHECK(v.type == cases[c].type, "%s: type %u", cases[c].json, v.type);
        if (v.type == MN_FILTER_VALUE_INT) CHECK(v.i == cases[c].i, "%s: %lld", cases[c].json, (long long)v.i);
        else CHECK(v.d == cases[c].d, "%s: %.17g", cases[c].json, v.d);
        mn_filter_free(f);
    }
    /* 128 characters of number is the most the reader takes. */
    char json[300];
    char digits[130];
    memset(digits, '1', 128);
    digits[128] = '\0';
    snprintf(json, sizeof json, "{\"a\": %s}", digits);
    mn_filter_free(parse_ok(json));
    snprintf(json, sizeof json, "{\"a\": 1%s}", digits);
    ERR_AT(json, MN_FILTER_ERROR_SYNTAX, 6);
}

static void test_compare(void) {
    CHECK(mn_filter_compare_int_double(0, 0.0) == 0, "0");
    CHECK(mn_filter_compare_int_double(1, 0.5) == 1 && mn_filter_compare_int_double(0, 0.5) == -1, "halves");
    CHECK(mn_filter_compare_int_double(-1, -0.5) == -1 && mn_filter_compare_int_double(0, -0.5) == 1, "neg halves");
    CHECK(mn_filter_compare_int_double(INT64_MAX, 9223372036854775808.0) == -1, "max vs 2^63");
    CHECK(mn_filter_compare_int_double(INT64_MIN, -9223372036854775808.0) == 0, "min");
    CHECK(mn_filter_compare_int_double(INT64_MIN, -9223372036854777856.0) == 1, "below min");
    CHECK(mn_filter_compare_int_double(9007199254740993LL, 9007199254740992.0) == 1, "2^53+1");
    CHECK(mn_filter_compare_int_double(5, NAN) == 2, "nan");
    CHECK(mn_filter_compare_int_double(5, INFINITY) == -1 && mn_filter_compare_int_double(5, -INFINITY) == 1, "inf");
}

static void test_leaf_value(void) {
    mn_filter *f = parse_ok("{\"title\": {\"$icontains\": \"rOm\"}, \"n\": {\"$ne\": 5}, \"t\": \"x\"}");
    if (!f) return;
    uint32_t root = mn_filter_root(f);
    uint32_t title = mn_filter_node_child(f, root, 0), n = mn_filter_node_child(f, root, 1),
             t = mn_filter_node_child(f, root, 2);
    mn_meta_value v;
    memset(&v, 0, sizeof v);
    v.type = MN_META_STRING;
    v.str = "To ROME";
    v.str_bytes = 7;
    CHECK(mn_filter_leaf_match_value(f, title, &v) == 1, "icontains on a key");
    v.str = "Paris";
    v.str_bytes = 5;
    CHECK(mn_filter_leaf_match_value(f, title, &v) == 0, "icontains miss");
    CHECK(mn_filter_leaf_match_value(f, title, NULL) == 0, "absent");
    CHECK(mn_filter_leaf_match_value(f, n, NULL) == 1, "absent matches $ne");
    memset(&v, 0, sizeof v);
    v.type = MN_META_DOUBLE;
    v.d = 5.0;
    CHECK(mn_filter_leaf_match_value(f, n, &v) == 0, "5.0 is 5");
    v.type = MN_META_INT;
    v.i = 4;
    CHECK(mn_filter_leaf_match_value(f, n, &v) == 1, "4 is not 5");
    /* A list value from a real document: any item. */
    doc sample = doc_sample();
    CHECK_STATUS(mn_meta_get(sample.bytes, sample.size, "tags", 4, &v), MN_OK);
    CHECK(mn_filter_leaf_match_value(f, t, &v) == 1, "tags contain x");
    mn_meta_free(sample.bytes);
    mn_filter_free(f);
}

int main(void) {
    test_table();
    test_syntax_errors();
    test_semantic_errors();
    test_limits();
    test_dates();
    test_strings();
    test_tree();
    test_compare();
    test_numbers();
    test_leaf_value();
    return mn_test_finish("test_filter");
}
