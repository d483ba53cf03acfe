/*
 * test_filter_fuzz.c: the filter JSON parser on hostile input (run under AddressSanitizer).
 *
 * Feeds mn_filter_parse random bytes, random sequences of JSON tokens, valid filters mutated
 * (bytes flipped, inserted, deleted, duplicated, cut, spliced together) and random valid
 * filters from the generator of test_filter_support.h, whole or mutated once. Every input
 * lies in a buffer of exactly its size, so a read one byte past the end is an ASan report.
 * Proves: no crash, leak or overread; every result is well formed (OK with a filter, or an
 * error with no filter, a code that fits the status, an offset inside the text and
 * NUL-terminated strings); every filter that parses can be walked through the tree API,
 * estimated, and evaluated against random valid documents built with the meta builder, and
 * against damaged copies of them (cut, bytes changed) without reading out of bounds.
 * MN_FUZZ_ITERATIONS (environment) scales the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/mn_filter_internal.h"
#include "mn_test.h"
#include "mnemo/mn_filter.h"
#include "mnemo/mn_meta.h"
#include "test_filter_support.h"

static const char *const corpus[] = {
    "{}",
    "{\"kind\": \"fact\"}",
    "{\"kind\": {\"$eq\": \"fact\"}, \"n\": {\"$gt\": 1, \"$lte\": 2.5}}",
    "{\"tags\": {\"$contains\": \"x\"}, \"title\": {\"$icontains\": \"AB\"}}",
    "{\"a\": {\"$in\": [1, 2.5, \"x\", true, false, -3]}, \"b\": {\"$nin\": []}}",
    "{\"$or\": [{\"kind\": {\"$ne\": \"chat\"}}, {\"$not\": {\"n\": {\"$exists\": false}}}]}",
    "{\"$and\": [{\"id\": {\"$gte\": \"m\"}}, {\"createdAt\": {\"$lt\": \"2026-11-01T00:00:00.5+01:00\"}}]}",
    "{\"id\": {\"$in\": [\"a\", \"b\"]}, \"createdAt\": {\"$in\": [0, \"1970-01-01T00:00:00Z\"]}}",
    "{\"s\\u00e9\": \"\\ud83d\\ude00\\n\\\"\", \"b\": {\"$lt\": \"zz\"}}",
    "{\"$not\": {\"$not\": {\"$or\": [{\"a\": 1e3}, {\"b\": -0.5e-2}, {\"kind\": {\"$gt\": \"a\"}}]}}}",
};
#define CORPUS ((uint32_t)(sizeof corpus / sizeof corpus[0]))

static const char *const tokens[] = {
    "{", "}", "[", "]", ":", ",", " ", "\"", "\"a\"", "\"kind\"", "\"tags\"", "\"id\"", "\"createdAt\"",
    "\"$and\"", "\"$or\"", "\"$not\"", "\"$eq\"", "\"$ne\"", "\"$in\"", "\"$nin\"", "\"$gt\"", "\"$gte\"",
    "\"$lt\"", "\"$lte\"", "\"$contains\"", "\"$icontains\"", "\"$exists\"", "\"$x\"", "1", "-0", "2.5",
    "1e309", "9223372036854775808", "-9223372036854775809", "true", "false", "null", "\"x\"", "\"\\u0041\"",
    "\"\\ud800\"", "\"2026-11-01T00:00:00Z\"", "\"\\", "\xff", "\xc3", "\xe2\x82\xac", "0", "01", "\t\n",
};
#define TOKENS ((uint32_t)(sizeof tokens / sizeof tokens[0]))

typedef struct docs {
    void *bytes[8];
    size_t sizes[8];
} docs;

static uint64_t matches_seen, parsed_ok;

static mn_status fraction_half(void *context, const mn_filter *filter, uint32_t leaf, double *fraction) {
    (void)context;
    mn_filter_leaf l;
    mn_filter_node_leaf(filter, leaf, &l);
    *fraction = l.op == MN_FILTER_OP_EQ ? 0.1 : 0.5;
    return MN_OK;
}

/* Walks every node reachable from `node`, reading every value; returns nodes seen. */
static uint32_t walk(const mn_filter *f, uint32_t node, uint32_t depth) {
    CHECK(node < mn_filter_node_count(f), "node %u of %u", node, mn_filter_node_count(f));
    CHECK(depth <= MN_FILTER_TREE_DEPTH_MAX, "tree depth %u", depth);
    if (node >= mn_filter_node_count(f) || depth > MN_FILTER_TREE_DEPTH_MAX) return 0;
    uint32_t kind = mn_filter_node_kind(f, node), seen = 1;
    if (kind == MN_FILTER_NODE_LEAF) {
        mn_filter_leaf leaf;
        mn_filter_node_leaf(f, node, &leaf);
        CHECK(leaf.op >= MN_FILTER_OP_EQ && leaf.op <= MN_FILTER_OP_EXISTS, "op %u", leaf.op);
        CHECK(leaf.name_bytes > 0 && leaf.name_bytes <= MN_META_NAME_BYTES_MAX, "name bytes %u", leaf.name_bytes);
        CHECK(leaf.op == MN_FILTER_OP_IN || leaf.op == MN_FILTER_OP_NIN || leaf.value_count == 1, "values %u",
              leaf.value_count);
        volatile uint64_t sink = 0;
        for (uint32_t i = 0; i < leaf.value_count; i++) {
            mn_filter_value v;
            mn_filter_leaf_value(f, node, i, &v);
            CHECK(v.type >= MN_FILTER_VALUE_STRING && v.type <= MN_FILTER_VALUE_BOOL, "value type %u", v.type);
            for (uint32_t k = 0; v.type == MN_FILTER_VALUE_STRING && k < v.bytes; k++) sink += (unsigned char)v.string[k];
        }
        sink += leaf.name[leaf.name_bytes - 1];
        (void)sink;
        return seen;
    }
    CHECK(kind == MN_FILTER_NODE_AND || kind == MN_FILTER_NODE_OR || kind == MN_FILTER_NODE_NOT, "kind %u", kind);
    uint32_t n = mn_filter_node_child_count(f, node);
    CHECK(kind != MN_FILTER_NODE_NOT || n == 1, "not with %u children", n);
    CHECK(kind != MN_FILTER_NODE_OR || n >= 1, "empty or");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t child = mn_filter_node_child(f, node, i);
        CHECK(kind != MN_FILTER_NODE_AND || mn_filter_node_kind(f, child) != MN_FILTER_NODE_AND, "AND under AND");
        seen += walk(f, child, depth + 1);
    }
    return seen;
}

static void run(const uint8_t *input, size_t bytes, const docs *d, mn_test_rng *rng) {
    /* An exact-size copy: reading input[bytes] is an ASan error. */
    char *text = malloc(bytes ? bytes : 1);
    if (bytes) memcpy(text, input, bytes);
    mn_filter *f = (mn_filter *)1;
    mn_filter_error error;
    memset(&error, 0x7f, sizeof error);
    mn_status status = mn_filter_parse(text, bytes, &f, &error);
    CHECK(memchr(error.field, 0, sizeof error.field) && memchr(error.op, 0, sizeof error.op) &&
              memchr(error.message, 0, sizeof error.message),
          "unterminated error strings");
    if (status == MN_OK) {
        parsed_ok++;
        CHECK(f != NULL && error.code == MN_FILTER_ERROR_NONE, "ok without a filter or with code %d", error.code);
        uint32_t seen = walk(f, mn_filter_root(f), 1);
        CHECK(seen <= mn_filter_node_count(f) && seen >= 1, "walked %u of %u", seen, mn_filter_node_count(f));
        double p = -1;
        CHECK_STATUS(mn_filter_estimate(f, fraction_half, NULL, &p), MN_OK);
        CHECK(p >= 0 && p <= 1, "estimate %g", p);
        for (int i = 0; i < 8; i++) {
            static const char *const ids[] = {"a", "mem-1", "X", ""};
            const char *id = ids[mn_tf_pick(rng, 4)];
            int m = mn_filter_match(f, d->bytes[i], d->sizes[i], id, (uint32_t)strlen(id),
                                    (int64_t)(mn_test_next(rng) % 3) - 1);
            CHECK(m == 0 || m == 1, "match %d", m);
            matches_seen += (uint64_t)m;
        }
        /* Damaged document bytes (never validated) must not make a match read out of bounds:
         * a valid document cut short, or with bytes changed, in an exact-size buffer. */
        int victim = (int)mn_tf_pick(rng, 8);
        if (d->sizes[victim]) {
            size_t size = mn_test_next(rng) % (d->sizes[victim] + 1);
            uint8_t *damaged = malloc(size ? size : 1);
            if (size) memcpy(damaged, d->bytes[victim], size);
            if (size && mn_tf_pick(rng, 2)) damaged[mn_test_next(rng) % size] = (uint8_t)mn_test_next(rng);
            int m = mn_filter_match(f, damaged, size, "a", 1, 0);
            CHECK(m == 0 || m == 1, "match %d on damaged bytes", m);
            free(damaged);
        }
        mn_filter_free(f);
    } else {
        CHECK(f == NULL, "error with a filter");
        CHECK(error.offset <= bytes, "offset %u past %zu", error.offset, bytes);
        int invalid = error.code >= MN_FILTER_ERROR_SYNTAX && error.code <= MN_FILTER_ERROR_FIELD_NAME;
        int large = error.code >= MN_FILTER_ERROR_BYTES && error.code <= MN_FILTER_ERROR_NAME_LENGTH;
        CHECK((status == MN_ERR_INVALID && invalid) || (status == MN_ERR_TOO_LARGE && large),
              "status %d with code %d (%s)", status, error.code, error.message);
    }
    free(text);
}

static size_t mutate(mn_test_rng *rng, uint8_t *buffer, size_t bytes, size_t capacity, uint32_t rounds) {
    for (uint32_t r = 0; r < rounds; r++) {
        size_t at = bytes ? mn_test_next(rng) % bytes : 0;
        switch (mn_tf_pick(rng, 7)) {
        case 0: /* flip a bit */
            if (bytes) buffer[at] ^= (uint8_t)(1u << mn_tf_pick(rng, 8));
            break;
        case 1: /* random byte */
            if (bytes) buffer[at] = (uint8_t)mn_test_next(rng);
            break;
        case 2: { /* insert a token */
            const char *t = tokens[mn_tf_pick(rng, TOKENS)];
            size_t n = strlen(t);
            if (bytes + n > capacity) break;
            memmove(buffer + at + n, buffer + at, bytes - at);
            memcpy(buffer + at, t, n);
            bytes += n;
            break;
        }
        case 3: { /* delete a range */
            size_t n = bytes ? 1 + mn_test_next(rng) % (bytes - at < 8 ? bytes - at : 8) : 0;
            if (at + n > bytes) n = bytes - at;
            memmove(buffer + at, buffer + at + n, bytes - at - n);
            bytes -= n;
            break;
        }
        case 4: { /* duplicate a range (nests deeper, repeats keys) */
            size_t n = bytes - at < 24 ? bytes - at : 24;
            if (bytes + n > capacity) break;
            memmove(buffer + at + n, buffer + at, bytes - at);
            bytes += n;
            break;
        }
        case 5: /* cut */
            bytes = at;
            break;
        default: { /* splice another corpus entry in */
            const char *t = corpus[mn_tf_pick(rng, CORPUS)];
            size_t n = strlen(t);
            size_t from = n ? mn_test_next(rng) % n : 0;
            size_t take = n - from;
            if (bytes + take > capacity) break;
            memmove(buffer + at + take, buffer + at, bytes - at);
            memcpy(buffer + at, t + from, take);
            bytes += take;
            break;
        }
        }
    }
    return bytes;
}

int main(void) {
    uint64_t iterations = 500000;
    const char *env = getenv("MN_FUZZ_ITERATIONS");
    if (env && atoll(env) > 0) iterations = (uint64_t)atoll(env);
    mn_test_rng rng = {0x9E3779B97F4A7C15ull};
    docs d;
    for (int i = 0; i < 8; i++) mn_tf_random_doc(&rng, &d.bytes[i], &d.sizes[i]);
    enum { CAPACITY = 4096 };
    uint8_t *buffer = malloc(CAPACITY);
    static mn_tf_filter generated;
    mn_tf_text text = {malloc(1u << 16), 0, 1u << 16};
    /* The corpus itself parses. */
    for (uint32_t i = 0; i < CORPUS; i++) {
        mn_filter *f = NULL;
        mn_filter_error error;
        mn_status status = mn_filter_parse(corpus[i], strlen(corpus[i]), &f, &error);
        CHECK(status == MN_OK, "corpus %u: %s", i, error.message);
        mn_filter_free(f);
    }
    for (uint64_t it = 0; it < iterations; it++) {
        if (it % 512 == 0) {
            for (int i = 0; i < 8; i++) mn_meta_free(d.bytes[i]);
            for (int i = 0; i < 8; i++) mn_tf_random_doc(&rng, &d.bytes[i], &d.sizes[i]);
        }
        size_t bytes;
        switch (it % 4) {
        case 0: /* random bytes */
            bytes = mn_test_next(&rng) % 64;
            for (size_t i = 0; i < bytes; i++) buffer[i] = (uint8_t)mn_test_next(&rng);
            if (bytes && mn_tf_pick(&rng, 2)) buffer[0] = '{';
            break;
        case 1: /* random tokens */
            bytes = 0;
            for (uint32_t n = mn_tf_pick(&rng, 40); n > 0; n--) {
                const char *t = tokens[mn_tf_pick(&rng, TOKENS)];
                size_t len = strlen(t);
                if (bytes + len > CAPACITY) break;
                memcpy(buffer + bytes, t, len);
                bytes += len;
            }
            break;
        case 2: { /* a mutated corpus entry */
            const char *t = corpus[mn_tf_pick(&rng, CORPUS)];
            bytes = strlen(t);
            memcpy(buffer, t, bytes);
            bytes = mutate(&rng, buffer, bytes, CAPACITY, 1 + mn_tf_pick(&rng, 4));
            break;
        }
        case 3: { /* a random valid filter, cut or mutated once half of the time */
            mn_tf_random_filter(&rng, &generated, &text);
            bytes = text.n < CAPACITY ? text.n : CAPACITY;
            memcpy(buffer, text.s, bytes);
            if (mn_tf_pick(&rng, 2)) bytes = mutate(&rng, buffer, bytes, CAPACITY, 1);
            break;
        }
        }
        run(buffer, bytes, &d, &rng);
    }
    for (int i = 0; i < 8; i++) mn_meta_free(d.bytes[i]);
    free(buffer);
    free(text.s);
    printf("test_filter_fuzz: %llu inputs, %llu parsed, %llu matches\n", (unsigned long long)iterations,
           (unsigned long long)parsed_ok, (unsigned long long)matches_seen);
    CHECK(parsed_ok > iterations / 8, "only %llu of %llu inputs parsed: the mutations are too blunt",
          (unsigned long long)parsed_ok, (unsigned long long)iterations);
    return mn_test_finish("test_filter_fuzz");
}
