/*
 * test_filter_support.h: random metadata documents for the filter tests (fuzz and oracle).
 *
 * Documents are built with the meta builder from small pools of names and values, so random
 * filters over the same pools hit, miss, and mix types often: the same name is a string in one
 * document, an int in the next and a list in a third. The description of a document is kept
 * beside its bytes only by the oracle test, which decodes the bytes itself.
 */
#ifndef TEST_FILTER_SUPPORT_H
#define TEST_FILTER_SUPPORT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_test.h"
#include "mnemo/mn_meta.h"

static const char *const mn_tf_names[] = {"a", "b", "kind", "tags", "n", "title"};
#define MN_TF_NAMES ((uint32_t)(sizeof mn_tf_names / sizeof mn_tf_names[0]))

static const char *const mn_tf_strings[] = {"", "x", "X", "ab", "Ab", "abc", "b", "fact", "Fact", "aXb", "zz"};
#define MN_TF_STRINGS ((uint32_t)(sizeof mn_tf_strings / sizeof mn_tf_strings[0]))

static const int64_t mn_tf_ints[] = {-2, -1, 0, 1, 2, 3, 9007199254740993LL, INT64_MIN, INT64_MAX};
#define MN_TF_INTS ((uint32_t)(sizeof mn_tf_ints / sizeof mn_tf_ints[0]))

static const double mn_tf_doubles[] = {-1.5, 0.0, 1.0, 2.5, 3.0, 9007199254740992.0, -9223372036854775808.0,
                                       9223372036854775808.0, 1e300};
#define MN_TF_DOUBLES ((uint32_t)(sizeof mn_tf_doubles / sizeof mn_tf_doubles[0]))

static inline uint32_t mn_tf_pick(mn_test_rng *rng, uint32_t n) { return (uint32_t)(mn_test_next(rng) % n); }

/* A random valid document (possibly empty: *bytes 0, *doc NULL). Free with mn_meta_free. */
static inline void mn_tf_random_doc(mn_test_rng *rng, void **doc, size_t *bytes) {
    mn_meta_builder *b = NULL;
    if (mn_meta_builder_create(&b) != MN_OK) abort();
    for (uint32_t f = 0; f < MN_TF_NAMES; f++) {
        if (mn_tf_pick(rng, 10) < 4) continue;
        const char *name = mn_tf_names[f];
        uint32_t name_bytes = (uint32_t)strlen(name);
        const char *s;
        switch (mn_tf_pick(rng, 5)) {
        case 0:
            s = mn_tf_strings[mn_tf_pick(rng, MN_TF_STRINGS)];
            mn_meta_builder_add_string(b, name, name_bytes, s, (uint32_t)strlen(s));
            break;
        case 1: mn_meta_builder_add_int(b, name, name_bytes, mn_tf_ints[mn_tf_pick(rng, MN_TF_INTS)]); break;
        case 2:
            mn_meta_builder_add_double(b, name, name_bytes, mn_tf_doubles[mn_tf_pick(rng, MN_TF_DOUBLES)]);
            break;
        case 3: mn_meta_builder_add_bool(b, name, name_bytes, (int)mn_tf_pick(rng, 2)); break;
        default: {
            const char *items[4];
            uint32_t lens[4];
            uint32_t n = mn_tf_pick(rng, 5);
            for (uint32_t i = 0; i < n; i++) {
                items[i] = mn_tf_strings[mn_tf_pick(rng, MN_TF_STRINGS)];
                lens[i] = (uint32_t)strlen(items[i]);
            }
            mn_meta_builder_add_strings(b, name, name_bytes, items, lens, n);
            break;
        }
        }
    }
    mn_status status = mn_meta_builder_finish(b, doc, bytes, NULL);
    if (status != MN_OK) {
        fprintf(stderr, "random document: %s\n", mn_status_string(status));
        abort();
    }
    mn_meta_builder_destroy(b);
}


/* ---- Random filters: a small AST, rendered to JSON in several equivalent spellings ---- */

#define MN_TF_AND 1
#define MN_TF_OR 2
#define MN_TF_NOT 3
#define MN_TF_LEAF 4
#define MN_TF_ID (-1)
#define MN_TF_CREATED (-2)
#define MN_TF_NODES_MAX 256
#define MN_TF_VALUES_MAX 6

/* Operators, numbered like MN_FILTER_OP_* but defined here: the oracle shares nothing. */
enum { TF_EQ = 1, TF_NE, TF_IN, TF_NIN, TF_GT, TF_GTE, TF_LT, TF_LTE, TF_CONTAINS, TF_ICONTAINS, TF_EXISTS };
static const char *const mn_tf_op_names[] = {"", "$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte",
                                             "$contains", "$icontains", "$exists"};

/* value types: 1 string, 2 int, 3 double, 4 bool; a createdAt string is type 1 with `date`. */
typedef struct mn_tf_value {
    int type;
    const char *s;
    int64_t i;
    double d;
    int b;
    int64_t date_ns; /* createdAt strings: the instant they name */
} mn_tf_value;

typedef struct mn_tf_node {
    int kind;
    int children[4];
    int count;
    int field; /* index into mn_tf_names, MN_TF_ID or MN_TF_CREATED */
    int op;
    mn_tf_value values[MN_TF_VALUES_MAX];
    int value_count;
} mn_tf_node;

typedef struct mn_tf_filter {
    mn_tf_node nodes[MN_TF_NODES_MAX];
    int count;
    int root;
} mn_tf_filter;

static const char *const mn_tf_ids[] = {"a", "mem-1", "X", "", "mem", "abc"};
#define MN_TF_IDS ((uint32_t)(sizeof mn_tf_ids / sizeof mn_tf_ids[0]))

static const struct {
    const char *text;
    int64_t ns;
} mn_tf_dates[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"1969-12-31T23:59:59.999999999Z", -1},
    {"1970-01-01T00:00:00.000000001Z", 1},
    {"1970-01-01T01:00:00+01:00", 0},
    {"1969-12-31T19:00:00.000000002-05:00", 2},
};
#define MN_TF_DATES ((uint32_t)(sizeof mn_tf_dates / sizeof mn_tf_dates[0]))

static inline mn_tf_value mn_tf_random_value(mn_test_rng *rng, int field, int numeric_or_string) {
    mn_tf_value v;
    memset(&v, 0, sizeof v);
    if (field == MN_TF_ID) {
        v.type = 1;
        v.s = mn_tf_ids[mn_tf_pick(rng, MN_TF_IDS)];
        return v;
    }
    if (field == MN_TF_CREATED) {
        if (mn_tf_pick(rng, 2)) {
            uint32_t k = mn_tf_pick(rng, MN_TF_DATES);
            v.type = 1;
            v.s = mn_tf_dates[k].text;
            v.date_ns = mn_tf_dates[k].ns;
        } else {
            v.type = 2;
            v.i = (int64_t)mn_tf_pick(rng, 5) - 2;
        }
        return v;
    }
    int type = numeric_or_string ? (int)mn_tf_pick(rng, 3) + 1 : (int)mn_tf_pick(rng, 4) + 1;
    v.type = type;
    switch (type) {
    case 1: v.s = mn_tf_strings[mn_tf_pick(rng, MN_TF_STRINGS)]; break;
    case 2: v.i = mn_tf_ints[mn_tf_pick(rng, MN_TF_INTS)]; break;
    case 3: v.d = mn_tf_doubles[mn_tf_pick(rng, MN_TF_DOUBLES)]; break;
    default: v.b = (int)mn_tf_pick(rng, 2); break;
    }
    return v;
}

static inline int mn_tf_random_node(mn_tf_filter *f, mn_test_rng *rng, int depth) {
    if (f->count >= MN_TF_NODES_MAX) abort();
    int index = f->count++;
    mn_tf_node *n = &f->nodes[index];
    memset(n, 0, sizeof *n);
    uint32_t roll = mn_tf_pick(rng, 10);
    if (depth < 4 && roll < 4) {
        n->kind = roll < 2 ? MN_TF_AND : roll < 3 ? MN_TF_OR : MN_TF_NOT;
        n->count = n->kind == MN_TF_NOT ? 1 : 1 + (int)mn_tf_pick(rng, 3);
        for (int c = 0; c < n->count; c++) {
            int child = mn_tf_random_node(f, rng, depth + 1);
            f->nodes[index].children[c] = child;
        }
        return index;
    }
    n->kind = MN_TF_LEAF;
    uint32_t which = mn_tf_pick(rng, MN_TF_NAMES + 2);
    n->field = which < MN_TF_NAMES ? (int)which : which == MN_TF_NAMES ? MN_TF_ID : MN_TF_CREATED;
    do n->op = 1 + (int)mn_tf_pick(rng, 11);
    while (n->field == MN_TF_CREATED && (n->op == TF_CONTAINS || n->op == TF_ICONTAINS));
    switch (n->op) {
    case TF_IN:
    case TF_NIN:
        n->value_count = (int)mn_tf_pick(rng, MN_TF_VALUES_MAX + 1);
        for (int i = 0; i < n->value_count; i++) n->values[i] = mn_tf_random_value(rng, n->field, 0);
        break;
    case TF_GT:
    case TF_GTE:
    case TF_LT:
    case TF_LTE:
        n->value_count = 1;
        n->values[0] = mn_tf_random_value(rng, n->field, 1);
        break;
    case TF_CONTAINS:
    case TF_ICONTAINS:
        n->value_count = 1;
        n->values[0].type = 1;
        n->values[0].s = n->field == MN_TF_ID ? mn_tf_ids[mn_tf_pick(rng, MN_TF_IDS)]
                                              : mn_tf_strings[mn_tf_pick(rng, MN_TF_STRINGS)];
        break;
    case TF_EXISTS:
        n->value_count = 1;
        n->values[0].type = 4;
        n->values[0].b = (int)mn_tf_pick(rng, 2);
        break;
    default:
        n->value_count = 1;
        n->values[0] = mn_tf_random_value(rng, n->field, 0);
        break;
    }
    return index;
}

typedef struct mn_tf_text {
    char *s;
    size_t n;
    size_t cap;
} mn_tf_text;

static inline void mn_tf_put(mn_tf_text *t, const char *format, ...) __attribute__((format(printf, 2, 3)));
static inline void mn_tf_put(mn_tf_text *t, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int w = vsnprintf(t->s + t->n, t->cap - t->n, format, args);
    va_end(args);
    if (w < 0 || (size_t)w >= t->cap - t->n) abort();
    t->n += (size_t)w;
}

static inline const char *mn_tf_field_name(int field) {
    return field == MN_TF_ID ? "id" : field == MN_TF_CREATED ? "createdAt" : mn_tf_names[field];
}

static inline void mn_tf_put_value(mn_tf_text *t, const mn_tf_value *v) {
    char number[64];
    switch (v->type) {
    case 1:
        mn_tf_put(t, "\"");
        for (const char *c = v->s; *c; c++) {
            if (*c == '"' || *c == '\\') mn_tf_put(t, "\\%c", *c);
            else if (*c == 'X') mn_tf_put(t, "\\u0058"); /* an escape now and then */
            else mn_tf_put(t, "%c", *c);
        }
        mn_tf_put(t, "\"");
        break;
    case 2: mn_tf_put(t, "%lld", (long long)v->i); break;
    case 3:
        snprintf(number, sizeof number, "%.17g", v->d);
        if (!strpbrk(number, ".eE")) strcat(number, ".0"); /* stays a double */
        mn_tf_put(t, "%s", number);
        break;
    default: mn_tf_put(t, v->b ? "true" : "false"); break;
    }
}

/* `"name": {"$op": value}` or, for $eq sometimes, `"name": value`. */
static inline void mn_tf_put_operator(mn_tf_text *t, const mn_tf_node *n) {
    mn_tf_put(t, "\"%s\": ", mn_tf_op_names[n->op]);
    if (n->op == TF_IN || n->op == TF_NIN) {
        mn_tf_put(t, "[");
        for (int i = 0; i < n->value_count; i++) {
            if (i) mn_tf_put(t, ", ");
            mn_tf_put_value(t, &n->values[i]);
        }
        mn_tf_put(t, "]");
    } else {
        mn_tf_put_value(t, &n->values[0]);
    }
}

static inline void mn_tf_put_member(mn_tf_text *t, const mn_tf_node *n, mn_test_rng *rng) {
    mn_tf_put(t, "\"%s\": ", mn_tf_field_name(n->field));
    if (n->op == TF_EQ && mn_tf_pick(rng, 2)) {
        mn_tf_put_value(t, &n->values[0]);
        return;
    }
    mn_tf_put(t, "{");
    mn_tf_put_operator(t, n);
    mn_tf_put(t, "}");
}

/* Renders node `index` as one filter object. An AND of leaves on distinct fields may become
 * one object with several keys, and an AND of leaves on one field with distinct operators one
 * operator object: both mean AND. */
static inline void mn_tf_render(const mn_tf_filter *f, int index, mn_tf_text *t, mn_test_rng *rng) {
    const mn_tf_node *n = &f->nodes[index];
    if (n->kind == MN_TF_LEAF) {
        mn_tf_put(t, "{");
        mn_tf_put_member(t, n, rng);
        mn_tf_put(t, "}");
        return;
    }
    if (n->kind == MN_TF_NOT) {
        mn_tf_put(t, "{\"$not\": ");
        mn_tf_render(f, n->children[0], t, rng);
        mn_tf_put(t, "}");
        return;
    }
    if (n->kind == MN_TF_AND && mn_tf_pick(rng, 2)) {
        int leaves = 1, distinct_fields = 1, one_field = 1, distinct_ops = 1;
        for (int a = 0; a < n->count; a++) {
            const mn_tf_node *x = &f->nodes[n->children[a]];
            if (x->kind != MN_TF_LEAF) leaves = 0;
            for (int b = 0; b < a && leaves; b++) {
                const mn_tf_node *y = &f->nodes[n->children[b]];
                if (x->field == y->field) distinct_fields = 0;
                else one_field = 0;
                if (x->op == y->op) distinct_ops = 0;
            }
        }
        if (leaves && distinct_fields) {
            mn_tf_put(t, "{");
            for (int a = 0; a < n->count; a++) {
                if (a) mn_tf_put(t, ", ");
                mn_tf_put_member(t, &f->nodes[n->children[a]], rng);
            }
            mn_tf_put(t, "}");
            return;
        }
        if (leaves && one_field && distinct_ops) {
            mn_tf_put(t, "{\"%s\": {", mn_tf_field_name(f->nodes[n->children[0]].field));
            for (int a = 0; a < n->count; a++) {
                if (a) mn_tf_put(t, ", ");
                mn_tf_put_operator(t, &f->nodes[n->children[a]]);
            }
            mn_tf_put(t, "}}");
            return;
        }
    }
    mn_tf_put(t, "{\"%s\": [", n->kind == MN_TF_AND ? "$and" : "$or");
    for (int c = 0; c < n->count; c++) {
        if (c) mn_tf_put(t, ", ");
        mn_tf_render(f, n->children[c], t, rng);
    }
    mn_tf_put(t, "]}");
}

/* A random filter and its JSON text (NUL-terminated in t). */
static inline void mn_tf_random_filter(mn_test_rng *rng, mn_tf_filter *f, mn_tf_text *t) {
    f->count = 0;
    f->root = mn_tf_random_node(f, rng, 0);
    t->n = 0;
    t->s[0] = '\0';
    mn_tf_render(f, f->root, t, rng);
}

#endif /* TEST_FILTER_SUPPORT_H */
