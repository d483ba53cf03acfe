/*
 * mn_filter_match.c: evaluates a compiled filter against one memory (mn_filter_internal.h).
 *
 * This is the hot path of filtered search: it runs for every graph node a filtered traversal
 * visits, from many threads at once, so it allocates nothing, writes nothing shared, and does
 * no work the compiler could do once: operands arrive typed and converted, $in lists sorted
 * (binary search), substring operands folded and with their KMP tables (linear time whatever
 * the operand). Fields are read straight out of the document bytes with mn_meta_get; a
 * document that is not well formed (it should have been validated when written) reads as
 * having no such field rather than crashing the search.
 */
#include <string.h>

#include "meta/mn_filter_internal.h"
#include "mnemo/mn_meta.h"
#include "util/mn_assert.h"

_Static_assert(MN_FILTER_VALUE_STRING == MN_META_STRING && MN_FILTER_VALUE_INT == MN_META_INT &&
                   MN_FILTER_VALUE_DOUBLE == MN_META_DOUBLE && MN_FILTER_VALUE_BOOL == MN_META_BOOL,
               "operand types are the metadata scalar types");

static inline unsigned char mn_filter_fold(unsigned char c) {
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* value <=> operand: -1, 0, 1, or 2 when they are not ordered against each other (different
 * kinds, bools, NaN). */
static int mn_filter_order(const mn_meta_value *v, const mn_filter *f, const mn_filter_operand *o) {
    switch (v->type) {
    case MN_META_STRING: {
        if (o->type != MN_FILTER_VALUE_STRING) return 2;
        uint32_t n = v->str_bytes < o->bytes ? v->str_bytes : o->bytes;
        int c = n ? memcmp(v->str, f->pool + o->start, n) : 0;
        if (c) return c < 0 ? -1 : 1;
        return v->str_bytes < o->bytes ? -1 : v->str_bytes > o->bytes;
    }
    case MN_META_INT:
        if (o->type == MN_FILTER_VALUE_INT) return v->i < o->u.i ? -1 : v->i > o->u.i;
        if (o->type == MN_FILTER_VALUE_DOUBLE) return mn_filter_compare_int_double(v->i, o->u.d);
        return 2;
    case MN_META_DOUBLE:
        if (v->d != v->d) return 2;
        if (o->type == MN_FILTER_VALUE_DOUBLE) return v->d < o->u.d ? -1 : v->d > o->u.d;
        if (o->type == MN_FILTER_VALUE_INT) {
            int c = mn_filter_compare_int_double(o->u.i, v->d);
            return c == 2 ? 2 : -c;
        }
        return 2;
    default: return 2;
    }
}

static int mn_filter_equal(const mn_meta_value *v, const mn_filter *f, const mn_filter_operand *o) {
    if (v->type == MN_META_BOOL) return o->type == MN_FILTER_VALUE_BOOL && o->u.b == v->b;
    return mn_filter_order(v, f, o) == 0;
}

/* Binary search for `v` among operands [first, first + count), sorted by mn_filter_order. */
static int mn_filter_in_sorted(const mn_meta_value *v, const mn_filter *f, uint32_t first,
                               uint32_t count) {
    uint32_t lo = 0, hi = count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = mn_filter_order(v, f, &f->operands[first + mid]);
        if (c == 0) return 1;
        if (c == 2) return 0; /* NaN */
        if (c > 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

static int mn_filter_in(const mn_meta_value *v, const mn_filter *f, const mn_filter_node *node) {
    switch (v->type) {
    case MN_META_BOOL: return (node->in_bools >> (v->b ? 1 : 0)) & 1;
    case MN_META_INT:
    case MN_META_DOUBLE: return mn_filter_in_sorted(v, f, node->numbers_first, node->numbers_count);
    case MN_META_STRING: return mn_filter_in_sorted(v, f, node->strings_first, node->strings_count);
    default: return 0;
    }
}

/* Knuth-Morris-Pratt: is the operand a substring of s (s folded on the fly when asked)? */
static int mn_filter_substring(const char *s, uint32_t n, const mn_filter *f,
                               const mn_filter_operand *o, int fold) {
    uint32_t m = o->bytes;
    if (m == 0) return 1;
    if (m > n) return 0;
    const unsigned char *p = (const unsigned char *)f->pool + o->start;
    const uint32_t *fail = f->kmp + o->kmp;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (fold) c = mn_filter_fold(c);
        while (k > 0 && c != p[k]) k = fail[k - 1];
        if (c == p[k] && ++k == m) return 1;
    }
    return 0;
}

static int mn_filter_equal_folded(const char *s, uint32_t n, const mn_filter *f,
                                  const mn_filter_operand *o) {
    if (n != o->bytes) return 0;
    const unsigned char *p = (const unsigned char *)f->pool + o->start;
    for (uint32_t i = 0; i < n; i++)
        if (mn_filter_fold((unsigned char)s[i]) != p[i]) return 0;
    return 1;
}

/* The positive operator (EQ, IN, GT ... ICONTAINS) against one scalar value; `item` when the
 * value is an element of a STRINGS list, where CONTAINS means membership. */
static int mn_filter_scalar(const mn_filter *f, const mn_filter_node *node, uint32_t op,
                            const mn_meta_value *v, int item) {
    const mn_filter_operand *o = &f->operands[node->first];
    int c;
    switch (op) {
    case MN_FILTER_OP_EQ: return mn_filter_equal(v, f, o);
    case MN_FILTER_OP_IN: return mn_filter_in(v, f, node);
    case MN_FILTER_OP_GT: return (c = mn_filter_order(v, f, o)) == 1;
    case MN_FILTER_OP_GTE: return (c = mn_filter_order(v, f, o)) == 0 || c == 1;
    case MN_FILTER_OP_LT: return mn_filter_order(v, f, o) == -1;
    case MN_FILTER_OP_LTE: return (c = mn_filter_order(v, f, o)) == 0 || c == -1;
    case MN_FILTER_OP_CONTAINS:
        if (v->type != MN_META_STRING) return 0;
        return item ? mn_filter_equal(v, f, o) : mn_filter_substring(v->str, v->str_bytes, f, o, 0);
    case MN_FILTER_OP_ICONTAINS:
        if (v->type != MN_META_STRING) return 0;
        return item ? mn_filter_equal_folded(v->str, v->str_bytes, f, o)
                    : mn_filter_substring(v->str, v->str_bytes, f, o, 1);
    default: MN_ASSERT(0);
    }
    return 0;
}

static int mn_filter_leaf_value_match(const mn_filter *f, const mn_filter_node *node,
                                      const mn_meta_value *value);

static int mn_filter_leaf_match(const mn_filter *f, const mn_filter_node *node, const void *doc,
                                size_t doc_bytes, const char *id, uint32_t id_bytes,
                                int64_t created_ns) {
    mn_meta_value v;
    int present = 1;
    switch (node->field) {
    case MN_FILTER_FIELD_ID:
        memset(&v, 0, sizeof v);
        v.type = MN_META_STRING;
        v.str = id;
        v.str_bytes = id_bytes;
        break;
    case MN_FILTER_FIELD_CREATED_AT:
        memset(&v, 0, sizeof v);
        v.type = MN_META_INT;
        v.i = created_ns;
        break;
    default:
        present = doc_bytes > 0 &&
                  mn_meta_get(doc, doc_bytes, f->pool + node->name_start, node->name_bytes, &v) == MN_OK;
        break;
    }
    return mn_filter_leaf_value_match(f, node, present ? &v : NULL);
}

/* The leaf's condition for a field whose value is *v (NULL: absent). */
static int mn_filter_leaf_value_match(const mn_filter *f, const mn_filter_node *node,
                                      const mn_meta_value *v) {
    uint32_t op = node->op;
    if (op == MN_FILTER_OP_EXISTS) return (v != NULL) == f->operands[node->first].u.b;
    int negate = op == MN_FILTER_OP_NE || op == MN_FILTER_OP_NIN;
    if (op == MN_FILTER_OP_NE) op = MN_FILTER_OP_EQ;
    if (op == MN_FILTER_OP_NIN) op = MN_FILTER_OP_IN;
    int result = 0;
    if (v && v->type == MN_META_STRINGS) {
        /* A list matches when any element does (MongoDB's rule for arrays). */
        uint32_t at = 0;
        mn_meta_value item;
        memset(&item, 0, sizeof item);
        item.type = MN_META_STRING;
        while (!result && mn_meta_list_next(v, &at, &item.str, &item.str_bytes) == MN_OK)
            result = mn_filter_scalar(f, node, op, &item, 1);
    } else if (v) {
        result = mn_filter_scalar(f, node, op, v, 0);
    }
    return negate ? !result : result;
}

static int mn_filter_match_node(const mn_filter *f, uint32_t index, const void *doc,
                                size_t doc_bytes, const char *id, uint32_t id_bytes,
                                int64_t created_ns) {
    const mn_filter_node *node = &f->nodes[index];
    switch (node->kind) {
    case MN_FILTER_NODE_LEAF:
        return mn_filter_leaf_match(f, node, doc, doc_bytes, id, id_bytes, created_ns);
    case MN_FILTER_NODE_NOT:
        return !mn_filter_match_node(f, f->children[node->first], doc, doc_bytes, id, id_bytes,
                                     created_ns);
    case MN_FILTER_NODE_AND:
        for (uint32_t i = 0; i < node->count; i++)
            if (!mn_filter_match_node(f, f->children[node->first + i], doc, doc_bytes, id, id_bytes,
                                      created_ns))
                return 0;
        return 1;
    case MN_FILTER_NODE_OR:
        for (uint32_t i = 0; i < node->count; i++)
            if (mn_filter_match_node(f, f->children[node->first + i], doc, doc_bytes, id, id_bytes,
                                     created_ns))
                return 1;
        return 0;
    default: MN_ASSERT(0);
    }
    return 0;
}

int mn_filter_match(const mn_filter *filter, const void *doc, size_t doc_bytes, const char *id,
                    uint32_t id_bytes, int64_t created_ns) {
    MN_ASSERT(filter);
    if (!id) id_bytes = 0;
    return mn_filter_match_node(filter, filter->root, doc, doc_bytes, id ? id : "", id_bytes,
                                created_ns);
}

int mn_filter_leaf_match_value(const mn_filter *filter, uint32_t leaf, const mn_meta_value *value) {
    MN_ASSERT(leaf < filter->node_count && filter->nodes[leaf].kind == MN_FILTER_NODE_LEAF);
    return mn_filter_leaf_value_match(filter, &filter->nodes[leaf], value);
}
