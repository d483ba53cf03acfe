/*
 * test_filter_oracle.c: property test of filter evaluation against an independent oracle.
 *
 * Random filters (an AST of the test's own, rendered to JSON in the spellings the format
 * allows: $and lists, several keys or operators in one object, $eq shorthand, escapes) are
 * parsed by mn_filter_parse and evaluated by mn_filter_match on random documents built with
 * the meta builder. The oracle evaluates the AST directly, on fields it decodes from the
 * document bytes itself (from the encoding in mn_meta.h, not with mn_meta_get), with naive
 * algorithms: linear $in, naive (case-folded) substring search, and an int/double comparison
 * done another way than the library's. Proves: every random filter parses, and both agree on
 * every (filter, document, id, createdAt), including absent fields, type mismatches, lists,
 * int/double mixing at 2^53 and 2^63, and createdAt dates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/mn_filter_internal.h"
#include "mn_test.h"
#include "mnemo/mn_filter.h"
#include "mnemo/mn_meta.h"
#include "test_filter_support.h"

#define ORACLE_FIELDS_MAX 16
#define ORACLE_ITEMS_MAX 8

/* A decoded field: type 1 string, 2 int, 3 double, 4 bool, 5 list of strings. */
typedef struct oracle_field {
    char name[MN_META_NAME_BYTES_MAX + 1];
    int type;
    const uint8_t *s;
    uint32_t s_bytes;
    int64_t i;
    double d;
    int b;
    uint32_t items;
    const uint8_t *item[ORACLE_ITEMS_MAX];
    uint32_t item_bytes[ORACLE_ITEMS_MAX];
} oracle_field;

typedef struct oracle_doc {
    oracle_field fields[ORACLE_FIELDS_MAX];
    uint32_t count;
    const char *id;
    int64_t created;
} oracle_doc;

static uint64_t le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Decodes the document bytes by the layout drawn in mn_meta.h. */
static void oracle_decode(const uint8_t *p, size_t bytes, oracle_doc *doc) {
    doc->count = 0;
    if (bytes == 0) return;
    const uint8_t *end = p + bytes;
    uint32_t count = (uint32_t)le(p, 2);
    p += 2;
    if (count > ORACLE_FIELDS_MAX) abort();
    for (uint32_t f = 0; f < count; f++) {
        oracle_field *field = &doc->fields[doc->count++];
        memset(field, 0, sizeof *field);
        uint32_t name_bytes = *p++;
        memcpy(field->name, p, name_bytes);
        field->name[name_bytes] = '\0';
        p += name_bytes;
        field->type = *p++;
        switch (field->type) {
        case 1:
            field->s_bytes = (uint32_t)le(p, 4);
            field->s = p + 4;
            p += 4 + field->s_bytes;
            break;
        case 2:
            field->i = (int64_t)le(p, 8);
            p += 8;
            break;
        case 3: {
            uint64_t bits = le(p, 8);
            memcpy(&field->d, &bits, sizeof bits);
            p += 8;
            break;
        }
        case 4: field->b = *p++; break;
        case 5:
            field->items = (uint32_t)le(p, 2);
            p += 2;
            if (field->items > ORACLE_ITEMS_MAX) abort();
            for (uint32_t k = 0; k < field->items; k++) {
                field->item_bytes[k] = (uint32_t)le(p, 4);
                field->item[k] = p + 4;
                p += 4 + field->item_bytes[k];
            }
            break;
        default: abort();
        }
    }
    if (p != end) abort();
}

/* A scalar under test: a field's value, a list item, or a built-in. */
typedef struct scalar {
    int type; /* 1 string, 2 int, 3 double, 4 bool */
    const uint8_t *s;
    uint32_t s_bytes;
    int64_t i;
    double d;
    int b;
} scalar;

static scalar operand_scalar(const mn_tf_value *v, int field) {
    scalar o;
    memset(&o, 0, sizeof o);
    if (field == MN_TF_CREATED && v->type == 1) {
        o.type = 2;
        o.i = v->date_ns;
        return o;
    }
    o.type = v->type;
    o.s = (const uint8_t *)v->s;
    o.s_bytes = v->s ? (uint32_t)strlen(v->s) : 0;
    o.i = v->i;
    o.d = v->d;
    o.b = v->b;
    return o;
}

/* i <=> d, exactly, without the library's method: integral doubles in range compare as
 * integers; a fractional double is below 2^53 in magnitude, where rounding i to a double
 * cannot cross it. */
static int oracle_int_double(int64_t i, double d) {
    if (d >= 9223372036854775808.0) return -1;
    if (d < -9223372036854775808.0) return 1;
    if (d == (double)(int64_t)d) {
        int64_t k = (int64_t)d;
        return i < k ? -1 : i > k;
    }
    double x = (double)i;
    return x < d ? -1 : x > d ? 1 : 0;
}

/* a <=> b: -1, 0, 1, or 2 when not ordered. */
static int oracle_compare(const scalar *a, const scalar *b) {
    if (a->type == 1 && b->type == 1) {
        for (uint32_t k = 0; k < a->s_bytes && k < b->s_bytes; k++)
            if (a->s[k] != b->s[k]) return a->s[k] < b->s[k] ? -1 : 1;
        return a->s_bytes < b->s_bytes ? -1 : a->s_bytes > b->s_bytes;
    }
    int an = a->type == 2 || a->type == 3, bn = b->type == 2 || b->type == 3;
    if (!an || !bn) return 2;
    if (a->type == 2 && b->type == 2) return a->i < b->i ? -1 : a->i > b->i;
    if (a->type == 3 && b->type == 3) return a->d < b->d ? -1 : a->d > b->d;
    if (a->type == 2) return oracle_int_double(a->i, b->d);
    return -oracle_int_double(b->i, a->d);
}

static int oracle_equal(const scalar *a, const scalar *b) {
    if (a->type == 4 || b->type == 4) return a->type == b->type && a->b == b->b;
    return oracle_compare(a, b) == 0;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int oracle_substring(const scalar *hay, const scalar *needle, int fold) {
    if (needle->s_bytes > hay->s_bytes) return 0;
    for (uint32_t start = 0; start + needle->s_bytes <= hay->s_bytes; start++) {
        uint32_t k = 0;
        while (k < needle->s_bytes &&
               (fold ? lower(hay->s[start + k]) == lower(needle->s[k]) : hay->s[start + k] == needle->s[k]))
            k++;
        if (k == needle->s_bytes) return 1;
    }
    return 0;
}

static int oracle_scalar(const mn_tf_node *n, int op, const scalar *v, int item) {
    scalar o = operand_scalar(&n->values[0], n->field);
    int c;
    switch (op) {
    case TF_EQ: return oracle_equal(v, &o);
    case TF_IN:
        for (int k = 0; k < n->value_count; k++) {
            scalar x = operand_scalar(&n->values[k], n->field);
            if (oracle_equal(v, &x)) return 1;
        }
        return 0;
    case TF_GT: return oracle_compare(v, &o) == 1;
    case TF_GTE: return (c = oracle_compare(v, &o)) == 1 || c == 0;
    case TF_LT: return oracle_compare(v, &o) == -1;
    case TF_LTE: return (c = oracle_compare(v, &o)) == -1 || c == 0;
    case TF_CONTAINS:
    case TF_ICONTAINS:
        if (v->type != 1) return 0;
        if (item) return v->s_bytes == o.s_bytes && oracle_substring(v, &o, op == TF_ICONTAINS);
        return oracle_substring(v, &o, op == TF_ICONTAINS);
    default: abort();
    }
}

static int oracle_leaf(const mn_tf_node *n, const oracle_doc *doc) {
    const oracle_field *field = NULL;
    scalar v;
    memset(&v, 0, sizeof v);
    int present = 1;
    if (n->field == MN_TF_ID) {
        v.type = 1;
        v.s = (const uint8_t *)doc->id;
        v.s_bytes = (uint32_t)strlen(doc->id);
    } else if (n->field == MN_TF_CREATED) {
        v.type = 2;
        v.i = doc->created;
    } else {
        present = 0;
        for (uint32_t k = 0; k < doc->count; k++)
            if (strcmp(doc->fields[k].name, mn_tf_names[n->field]) == 0) {
                field = &doc->fields[k];
                present = 1;
            }
        if (field && field->type != 5) {
            v.type = field->type;
            v.s = field->s;
            v.s_bytes = field->s_bytes;
            v.i = field->i;
            v.d = field->d;
            v.b = field->b;
        }
    }
    if (n->op == TF_EXISTS) return present == n->values[0].b;
    int op = n->op == TF_NE ? TF_EQ : n->op == TF_NIN ? TF_IN : n->op;
    int result = 0;
    if (present && field && field->type == 5) {
        for (uint32_t k = 0; k < field->items && !result; k++) {
            scalar item = {1, field->item[k], field->item_bytes[k], 0, 0, 0};
            result = oracle_scalar(n, op, &item, 1);
        }
    } else if (present) {
        result = oracle_scalar(n, op, &v, 0);
    }
    return n->op == TF_NE || n->op == TF_NIN ? !result : result;
}

static int oracle(const mn_tf_filter *f, int index, const oracle_doc *doc) {
    const mn_tf_node *n = &f->nodes[index];
    switch (n->kind) {
    case MN_TF_LEAF: return oracle_leaf(n, doc);
    case MN_TF_NOT: return !oracle(f, n->children[0], doc);
    case MN_TF_AND:
        for (int c = 0; c < n->count; c++)
            if (!oracle(f, n->children[c], doc)) return 0;
        return 1;
    default:
        for (int c = 0; c < n->count; c++)
            if (oracle(f, n->children[c], doc)) return 1;
        return 0;
    }
}

int main(void) {
    enum { FILTERS = 6000, DOCS = 48 };
    mn_test_rng rng = {0xD1B54A32D192ED03ull};
    void *bytes[DOCS];
    size_t sizes[DOCS];
    static oracle_doc docs[DOCS];
    static mn_tf_filter generated;
    mn_tf_text text = {malloc(1u << 16), 0, 1u << 16};
    uint64_t agreements = 0, matched = 0, shown = 0;
    for (int round = 0; round < 4; round++) {
        for (int d = 0; d < DOCS; d++) {
            mn_tf_random_doc(&rng, &bytes[d], &sizes[d]);
            oracle_decode(bytes[d], sizes[d], &docs[d]);
            docs[d].id = mn_tf_ids[mn_tf_pick(&rng, MN_TF_IDS)];
            docs[d].created = (int64_t)mn_tf_pick(&rng, 5) - 2;
        }
        for (int i = 0; i < FILTERS / 4; i++) {
            mn_tf_random_filter(&rng, &generated, &text);
            mn_filter *filter = NULL;
            mn_filter_error error;
            mn_status status = mn_filter_parse(text.s, text.n, &filter, &error);
            CHECK(status == MN_OK, "%s: %s (field %s, op %s, at %u)", text.s, error.message, error.field, error.op,
                  error.offset);
            if (status != MN_OK) continue;
            for (int d = 0; d < DOCS; d++) {
                int want = oracle(&generated, generated.root, &docs[d]);
                int got = mn_filter_match(filter, bytes[d], sizes[d], docs[d].id, (uint32_t)strlen(docs[d].id),
                                          docs[d].created);
                if (got == want) {
                    agreements++;
                } else if (shown++ < 10) {
                    fprintf(stderr, "disagree: filter %s on document %d (id \"%s\", createdAt %lld): match %d, "
                                    "oracle %d\n",
                            text.s, d, docs[d].id, (long long)docs[d].created, got, want);
                }
                CHECK(got == want, "filter and oracle disagree");
                matched += (uint64_t)want;
            }
            mn_filter_free(filter);
        }
        for (int d = 0; d < DOCS; d++) mn_meta_free(bytes[d]);
    }
    free(text.s);
    printf("test_filter_oracle: %llu evaluations agree, %llu of them matches\n", (unsigned long long)agreements,
           (unsigned long long)matched);
    /* Both outcomes must be common, or the property says little. */
    CHECK(matched > agreements / 10 && matched < agreements - agreements / 10, "%llu matches of %llu",
          (unsigned long long)matched, (unsigned long long)agreements);
    return mn_test_finish("test_filter_oracle");
}
